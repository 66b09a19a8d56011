"""Training-step time of the relative positional encoding against the learned one, with the new and the old S_rel path.

Three models at base size (dim 192, depth 6, 3 heads), built with the same seed: conv-learned, conv-relative (S_rel
computed the way `RelativePositionBias(method='auto')` chooses, the pairs path at these shapes) and conv-relative
forced to the table path (`method='table'`, how S_rel was computed before). They get the same random batch and take
full training steps (forward, backward, AdamW step), alternating model by model within every round, with the order
rotated from round to round, so that a busy machine slows them all alike. Reported per resolution: the median
seconds per step of each model, and the median and interquartile range of the per-round time ratios
relative / learned. The conv embedding gives 16x16 tokens (N = 257 with the class token) at every resolution.

Before timing, the script checks that the two relative models, which have the same weights, give the same loss
and gradients on the batch.

    python benchmarks/relative_pe.py --out benchmarks/results/relative_pe_cpu.json

writes the JSON and, next to it, the printed text (relative_pe_cpu.txt).

This script measures time only, with the process's ordinary allocator, as training runs. (`speed_memory.py` fixes
glibc's mmap threshold so that the resident set tracks live memory, which makes every large tensor fault in fresh pages:
slower for all models, and most for the ones with the most temporaries.) To time in that setting instead, start it
with MALLOC_MMAP_THRESHOLD_=65536; the JSON records the setting under 'allocator'.
"""
import argparse, os, statistics, time
from pathlib import Path
ALLOCATOR = os.environ.get('MALLOC_MMAP_THRESHOLD_')
os.environ.setdefault('MALLOC_MMAP_THRESHOLD_', 'unchanged')  # speed_memory re-executes the script with a fixed threshold unless it is set
from speed_memory import sync, write_result, report_end
if ALLOCATOR is None: del os.environ['MALLOC_MMAP_THRESHOLD_']

import torch
import torch.nn.functional as F
from rivit.core import create_model, list_models
from rivit.posenc import RelativePositionBias

def models_compared() -> dict:
    "{label: (registered model, S_rel method)}: the conv models with learned and relative encodings, the latter on both paths."
    learned, relative = (list_models(family='report', embedding='conv', pos_enc=p)[0] for p in ('learned', 'relative'))
    return {learned: (learned, None), relative: (relative, 'auto'), f'{relative}-table': (relative, 'table')}

def build(label, dim, depth, heads, seed=0):
    "The model of `label` at the given size; for the relative models every layer's S_rel path is set to the label's method."
    name, method = models_compared()[label]
    torch.manual_seed(seed)
    model = create_model(name, 'base', num_classes=10, dim=dim, depth=depth, heads=heads)
    for m in model.modules():
        if isinstance(m, RelativePositionBias): m.method = method
    return model

def methods_used(model, batch_size, heads, dim):
    "The S_rel path each relative layer takes at this batch size (conv embedding: 257 tokens)."
    q = torch.empty(batch_size, heads, 257, dim // heads, device='meta')
    return sorted({m.resolve(q) for m in model.modules() if isinstance(m, RelativePositionBias)})

def check_same(a, b, x, y):
    "The pairs and table models (same weights) give the same loss and gradients on the batch."
    grads = []
    for m in (a, b):
        m.zero_grad(set_to_none=True)
        loss = F.cross_entropy(m(x), y); loss.backward()
        grads.append((loss.detach(), [p.grad.clone() for p in m.parameters()]))
    torch.testing.assert_close(grads[0][0], grads[1][0], rtol=1e-5, atol=1e-5)
    for g0, g1 in zip(grads[0][1], grads[1][1]): torch.testing.assert_close(g0, g1, rtol=1e-3, atol=1e-5)
    for m in (a, b): m.zero_grad(set_to_none=True)

def quartiles(v):
    q1, med, q3 = statistics.quantiles(v, n=4, method='inclusive')
    return q1, med, q3

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--res', default='96,160', help='comma-separated square resolutions')
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--dim', type=int, default=192); p.add_argument('--depth', type=int, default=6); p.add_argument('--heads', type=int, default=3)
    p.add_argument('--rounds', type=int, default=12, help='timed rounds per resolution (each: one step of every model)')
    p.add_argument('--warmup', type=int, default=2, help='untimed rounds first')
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--out', help='write the results JSON here (and the printed text next to it, .txt)')
    a = p.parse_args()
    device = torch.device(a.device)
    printed = []
    def say(line=''):
        print(line, flush=True); printed.append(line)

    names = list(models_compared())
    models = {n: build(n, a.dim, a.depth, a.heads).to(device) for n in names}
    opts = {n: torch.optim.AdamW(m.parameters(), lr=1e-4) for n, m in models.items()}
    learned = names[0]
    say(f'training step (forward, backward, AdamW), batch {a.batch_size}, dim {a.dim}, depth {a.depth}, heads {a.heads}, {device}, '
        f'{torch.get_num_threads()} torch threads; {a.warmup} warm-up + {a.rounds} timed rounds per resolution, models alternating')
    for n in names[1:]: say(f'{n}: S_rel path {methods_used(models[n], a.batch_size, a.heads, a.dim)}')

    def step(n, x, y):
        sync(device); t = time.perf_counter()
        loss = F.cross_entropy(models[n](x), y)
        opts[n].zero_grad(set_to_none=True); loss.backward(); opts[n].step()
        sync(device); return time.perf_counter() - t

    rows = []
    for res in [int(r) for r in a.res.split(',')]:
        torch.manual_seed(res)
        x = torch.randn(a.batch_size, 3, res, res, device=device)
        y = torch.randint(0, 10, (a.batch_size,), device=device)
        if not rows: check_same(models[names[1]], models[names[2]], x, y)
        times = {n: [] for n in names}
        for r in range(a.warmup + a.rounds):
            order = names[r % len(names):] + names[:r % len(names)]  # rotate who goes first
            for n in order:
                t = step(n, x, y)
                if r >= a.warmup: times[n].append(t)
        row = {'res': res, 'tokens': 257, 'batch_size': a.batch_size, 'times_s': {n: [round(t, 4) for t in v] for n, v in times.items()},
               'median_s_per_step': {n: round(statistics.median(v), 4) for n, v in times.items()}, 'ratio_to_learned': {}}
        for n in names[1:]:
            ratios = [t / l for t, l in zip(times[n], times[learned])]
            q1, med, q3 = quartiles(ratios)
            row['ratio_to_learned'][n] = {'median': round(med, 3), 'iqr': [round(q1, 3), round(q3, 3)],
                                          'min_max': [round(min(ratios), 3), round(max(ratios), 3)]}
        rows.append(row)
        say(f'\n{res} px ({row["tokens"]} tokens):')
        for n in names:
            line = f'  {n:20s} {row["median_s_per_step"][n]:6.3f} s per step'
            if n in row['ratio_to_learned']:
                r = row['ratio_to_learned'][n]
                line += f'   / {learned}: median {r["median"]:.3f} (IQR {r["iqr"][0]:.3f} to {r["iqr"][1]:.3f}, range {r["min_max"][0]:.3f} to {r["min_max"][1]:.3f})'
            say(line)
    allocator = 'glibc default' if ALLOCATOR is None else f'MALLOC_MMAP_THRESHOLD_={ALLOCATOR}'
    result = write_result(a.out, device, a, allocator=allocator, rows=rows)
    report_end(result, printed, a.out, say, f', allocator: {allocator}')

if __name__ == '__main__': main()
