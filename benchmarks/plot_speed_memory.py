"""Draw a results file of speed_memory.py: training images/s and peak training memory against resolution.

    python benchmarks/plot_speed_memory.py benchmarks/results/speed_memory_cpu.json images/speed_memory_cpu.png
"""
import json, sys
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
from rivit.core import model_entry

def main(src, dst):
    d = json.load(open(src))
    models = list(dict.fromkeys(r['model'] for r in d['rows']))
    fig, axs = plt.subplots(1, 2, figsize=(11, 4))
    for m in models:
        rows = sorted((r for r in d['rows'] if r['model'] == m), key=lambda r: r['res'])
        style = dict(ls=':' if m == 'timm-vit' else '--' if model_entry(m).tags.get('embedding') == 'patch' else '-', marker='o')
        axs[0].plot([r['res'] for r in rows], [r['train_img_per_s'] for r in rows], label=m, **style)
        axs[1].plot([r['res'] for r in rows], [r['train_peak_mb'] for r in rows], label=m, **style)
    axs[0].set_ylabel('training images/s'); axs[1].set_ylabel('peak training memory above baseline (MB)')
    for ax in axs: ax.set_xlabel('input resolution (px)'); ax.set_yscale('log'); ax.grid(alpha=0.3)
    axs[1].legend(fontsize=8)
    hw = d['hardware']
    fig.suptitle(f"batch {d['settings']['batch_size']}, {hw['cpu']} ({hw['cpu_count']} cores, CPU-scale), torch {hw['torch']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(dst, dpi=100)
    print(f'wrote {dst}')

if __name__ == '__main__': main(*sys.argv[1:3])
