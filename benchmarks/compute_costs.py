"""The report's compute claim (§5.2), measured: plain patches vs the convolutional embedding in the report's recipe.

For each positional encoding, the plain-patch model and the conv-embedding model (same width, depth, heads) are
timed on the same random batch, alternating step by step so that the machine's drift hits both alike:

- a multi-resolution training step: the batch at each training resolution (default 96, 128, 160), forward and
  backward per resolution, one AdamW step (what `rivit.train` does);
- an inference batch (no_grad forward) at each test resolution (default 96, 128, 160, 256, 320).

Reported: the median over the timed rounds, and the peak memory of one training step and of one inference batch
per resolution (CPU: peak resident set size above the level before the step; CUDA: torch.cuda.max_memory_allocated
above the allocation before it; see speed_memory.py).

    python benchmarks/compute_costs.py --out benchmarks/results/compute_costs_cpu.json
"""
import argparse, gc, time
from speed_memory import PeakMemory, sync, write_result  # also fixes glibc's mmap threshold (re-executes this script once)

import torch
import torch.nn.functional as F
from rivit.core import RIViT, list_models

def ints(s): return [int(v) for v in s.split(',') if v]

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--pos', default='learned,sinusoidal,relative', help='positional encodings to compare')
    p.add_argument('--train-res', type=ints, default=[96, 128, 160])
    p.add_argument('--eval-res', type=ints, default=[96, 128, 160, 256, 320])
    p.add_argument('--batch-size', type=int, default=16)
    p.add_argument('--dim', type=int, default=192); p.add_argument('--depth', type=int, default=6); p.add_argument('--heads', type=int, default=3)
    p.add_argument('--rounds', type=int, default=3, help='timed rounds (median reported), after one warm-up round')
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--out', help='write the results JSON here')
    a = p.parse_args()
    device = torch.device(a.device)
    embeds = ('patch', 'conv')
    med = lambda v: sorted(v)[len(v) // 2]
    rows = []
    print(f'batch {a.batch_size}, dim {a.dim}, depth {a.depth}, heads {a.heads}, {device}; times are medians of {a.rounds} rounds', flush=True)
    for pos in a.pos.split(','):
        torch.manual_seed(0)
        models = {e: RIViT(num_classes=10, patch_embed=e, pos_enc=pos, dim=a.dim, depth=a.depth, heads=a.heads,
                           image_size=sorted(a.train_res)[len(a.train_res) // 2]).to(device) for e in embeds}
        opts = {e: torch.optim.AdamW(m.parameters(), lr=1e-4) for e, m in models.items()}
        y = torch.randint(0, 10, (a.batch_size,), device=device)
        train_x = [torch.randn(a.batch_size, 3, r, r, device=device) for r in a.train_res]
        eval_x = {r: torch.randn(a.batch_size, 3, r, r, device=device) for r in a.eval_res}

        def train_step(e):
            m, o = models[e], opts[e]
            m.train(); o.zero_grad(set_to_none=True)
            for x in train_x: (F.cross_entropy(m(x), y) / len(train_x)).backward()
            o.step()

        def infer(e, r):
            models[e].eval()
            with torch.no_grad(): models[e](eval_x[r])

        def timed(fn):
            sync(device); t = time.perf_counter(); fn(); sync(device); return time.perf_counter() - t

        times = {e: {'train': [], **{r: [] for r in a.eval_res}} for e in embeds}
        for rnd in range(1 + a.rounds):
            for e in embeds:                                    # alternate: patch, conv, patch, conv, ...
                t = timed(lambda: train_step(e))
                if rnd: times[e]['train'].append(t)
                for r in a.eval_res:
                    t = timed(lambda: infer(e, r))
                    if rnd: times[e][r].append(t)
        for e in embeds:
            with PeakMemory(device) as mem: train_step(e); sync(device)
            train_mb = mem.peak
            infer_mb = {}
            for r in a.eval_res:
                with PeakMemory(device) as mem: infer(e, r); sync(device)
                infer_mb[r] = round(mem.peak, 1)
            row = {'pos': pos, 'embed': e, 'model': list_models(family='report', embedding=e, pos_enc=pos)[0],
                   'tokens': {r: models[e].patch_embed.grid_size(r, r)[0] * models[e].patch_embed.grid_size(r, r)[1] for r in a.eval_res},
                   'train_step_s': round(med(times[e]['train']), 4), 'train_peak_mb': round(train_mb, 1),
                   'infer_s': {r: round(med(times[e][r]), 4) for r in a.eval_res}, 'infer_peak_mb': infer_mb}
            rows.append(row)
            print(f"{row['model']:20s} train step {row['train_step_s']:7.3f} s  {row['train_peak_mb']:7.1f} MB | infer " +
                  '  '.join(f"{r}px {row['infer_s'][r]:.3f}s/{infer_mb[r]:.0f}MB" for r in a.eval_res), flush=True)
        del models, opts, train_x, eval_x
        gc.collect()

    print('\nconv embedding vs plain patches (negative = conv is cheaper):')
    summary = {}
    for pos in a.pos.split(','):
        p_, c_ = (next(r for r in rows if r['pos'] == pos and r['embed'] == e) for e in embeds)
        total = lambda r: r['train_step_s'] + sum(r['infer_s'].values())
        peak = lambda r: max(r['train_peak_mb'], *r['infer_peak_mb'].values())
        change = lambda new, old: round(new / old - 1, 4) if old > 0 else None   # None: too small to measure (e.g. 0 MB above baseline)
        summary[pos] = {'train_step_time': change(c_['train_step_s'], p_['train_step_s']),
                        'inference_time': change(sum(c_['infer_s'].values()), sum(p_['infer_s'].values())),
                        'train_plus_inference_time': change(total(c_), total(p_)),
                        'peak_memory': change(peak(c_), peak(p_))}
        print(f'  {pos:10s} ' + '  '.join(f'{k} ' + (f'{100 * v:+.1f}%' if v is not None else 'not measurable')
                                          for k, v in summary[pos].items()), flush=True)
    print('  the report: train+inference time -64.3%, memory -32.8%')
    write_result(a.out, device, a, rows=rows, conv_vs_patch=summary)

if __name__ == '__main__': main()
