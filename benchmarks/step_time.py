"""Seconds per multi-resolution training step of the CPU-scale candidates: what a size costs per epoch on this machine.

For each registered model and size preset: one training step (forward and backward at 64, 80 and 96 px on the
same random batch, then AdamW), as `rivit-train` takes it at the CPU scale (batch 64, 8 px patches, a 40 px latent).
The models take turns within every round, the order rotated from round to round, so that a busy machine slows them
alike; the median over rounds is reported, and the minutes per epoch of the 9,469 training images (147 steps,
validation not included).

    python benchmarks/step_time.py --out benchmarks/results/step_time_cpu.json

With `--ratio-to MODEL`, each row also gets the median over rounds of its step time divided by MODEL's (same size,
same round): a paired ratio, which a busy machine changes far less than the times themselves.
"""
import argparse, statistics, time
from pathlib import Path
import os
os.environ.setdefault('MALLOC_MMAP_THRESHOLD_', 'unchanged')  # speed_memory re-executes the script with a fixed threshold unless it is set
from speed_memory import write_result, glibc_allocator
if os.environ['MALLOC_MMAP_THRESHOLD_'] == 'unchanged': del os.environ['MALLOC_MMAP_THRESHOLD_']
import torch
import torch.nn.functional as F
from rivit.core import create_model, list_models

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--models', default=None, help='comma-separated registered models (default: conv and plain-patch '
                   'sinusoidal, conv relative)')
    p.add_argument('--sizes', default='tiny,mini,small')
    p.add_argument('--res', default='64,80,96')
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--rounds', type=int, default=5)
    p.add_argument('--ratio-to', help='a registered model among --models: add each model\'s paired step-time ratio to it')
    p.add_argument('--out')
    a = p.parse_args()
    if a.models is None:
        a.models = ','.join(list_models(family='report', embedding=e, pos_enc=p)[0]
                            for e, p in (('conv', 'sinusoidal'), ('patch', 'sinusoidal'), ('conv', 'relative')))
    res = [int(r) for r in a.res.split(',')]
    xs, y = [torch.randn(a.batch_size, 3, r, r) for r in res], torch.randint(0, 10, (a.batch_size,))
    runs = {}
    for m in a.models.split(','):
        for s in a.sizes.split(','):
            torch.manual_seed(0)
            model = create_model(m, s, train_res=res, patch_size=8, latent_size=40)
            runs[f'{m} {s}'] = (model, torch.optim.AdamW(model.parameters()))
    def step(name):
        model, opt = runs[name]
        t = time.perf_counter()
        for x in xs: F.cross_entropy(model(x), y).div(len(xs)).backward()
        opt.step(); opt.zero_grad(set_to_none=True)
        return time.perf_counter() - t
    names, times = list(runs), {n: [] for n in runs}
    for n in names: step(n)                                  # warm-up
    for r in range(a.rounds):
        for n in names[r % len(names):] + names[:r % len(names)]: times[n].append(step(n))
    steps = 9469 // a.batch_size                              # full batches per epoch (drop_last)
    rows = [{'model': n.split()[0], 'size': n.split()[1], 'parameters': sum(p.numel() for p in runs[n][0].parameters()),
             'median_s_per_step': round(statistics.median(v), 3), 'times_s': [round(t, 3) for t in v],
             'min_per_epoch': round(steps * statistics.median(v) / 60, 1)} for n, v in times.items()]
    table = ['| model | size | parameters | s per step (median) | min per epoch (147 steps) |', '|---|---|---:|---:|---:|']
    table += [f"| {r['model']} | {r['size']} | {r['parameters']:,} | {r['median_s_per_step']:.2f} | {r['min_per_epoch']:.1f} |" for r in rows]
    if a.ratio_to:
        for r in rows:
            base = times[f"{a.ratio_to} {r['size']}"]
            r['median_ratio'] = round(statistics.median(t / b for t, b in zip(times[f"{r['model']} {r['size']}"], base)), 3)
        table[0] += f' step time / {a.ratio_to} (paired median) |'; table[1] += '---:|'
        table[2:] = [f"{line} {r['median_ratio']:.3f} |" for line, r in zip(table[2:], rows)]
    print('\n'.join(table))
    result = write_result(a.out, torch.device('cpu'), a, rows=rows, table='\n'.join(table), allocator=glibc_allocator())
    print(f"allocator: {result['allocator']}")
    print(f"command: {result['command']}")

if __name__ == '__main__': main()
