"""What each way of meeting a larger test image costs, chapter 12: tokens and inference time per image against the
test resolution, for FlexiViT under its two patch policies and with the image resized down first, beside the conv
embedding and ResFormer (the models of chapter 12's comparison), as built for the CPU-scale runs (`tiny`, trained at
64/80/96 px, 8 px patches, a 40 px latent).

For every test resolution: the tokens that enter the first transformer block, and the seconds of one no_grad forward
pass of a batch of `--batch-size` random images, ms per image. "resized down" times the antialiased bilinear resize
of the batch to the largest training resolution plus the forward pass there (at that resolution itself, no resize: the
same work as the direct way). Within every round each way runs once,
in an order rotated from round to round, so that a busy machine slows them alike; reported: the median over the
rounds, and the median of the per-round ratios to FlexiViT resized down. Before the timed rounds of each resolution
every way runs once untimed (three times before the first resolution: first touches of memory and threads).

    python benchmarks/flexivit_cost.py --out benchmarks/results/flexivit_cost_cpu.json
"""
import argparse, os, statistics, time
os.environ.setdefault('MALLOC_MMAP_THRESHOLD_', 'unchanged')  # speed_memory re-executes the script with a fixed threshold unless it is set
from speed_memory import write_result, report_end
if os.environ['MALLOC_MMAP_THRESHOLD_'] == 'unchanged': del os.environ['MALLOC_MMAP_THRESHOLD_']
import torch
import torch.nn.functional as F
from rivit.core import create_model, list_models
from rivit.vit import TransformerBlock

TRAIN_RES = (64, 80, 96)

def ways() -> tuple[dict, str]:
    "({name: (model, policy or None, resize down first)}: FlexiViT three ways, then every other chapter-12 rival two ways; the reference way's name: FlexiViT resized down)."
    build = lambda name: create_model(name, 'tiny', train_res=TRAIN_RES, patch_size=8, latent_size=40).eval()
    flexi = list_models(chapter=12)[0]
    conv = list_models(family='report', embedding='conv', pos_enc='sinusoidal')[0]
    resformer = list_models(family='beyond', chapter=11)[0]
    ref = f'{flexi} resized down'
    out = {f'{flexi} fixed': (build(flexi), 'fixed', False), f'{flexi} scaled': (build(flexi), 'scaled', False),
           ref: (build(flexi), 'fixed', True)}
    for name in (conv, resformer):
        m = build(name)
        out[name], out[f'{name} resized down'] = (m, None, False), (m, None, True)
    return out, ref

def tokens(model, res:int) -> int:
    "Tokens entering the first transformer block for a res×res image, class token included."
    seen = []
    hook = next(m for m in model.modules() if isinstance(m, TransformerBlock)).register_forward_hook(lambda mod, args, out: seen.append(args[0].shape[1]))
    with torch.no_grad(): model(torch.randn(1, 3, res, res))
    hook.remove()
    return seen[0]

def run(model, policy, down:bool, x):
    if policy is not None: model.eval_patch = policy
    if down and x.shape[-1] != max(TRAIN_RES): x = F.interpolate(x, size=(max(TRAIN_RES),) * 2, mode='bilinear', antialias=True, align_corners=False)
    with torch.no_grad(): model(x)

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--res', default='96,128,160,192,224')
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--rounds', type=int, default=15)
    p.add_argument('--out')
    a = p.parse_args()
    printed = []
    def say(line=''):
        print(line, flush=True); printed.append(line)
    torch.manual_seed(0)
    w, ref = ways()
    say(f'inference, batch {a.batch_size}, {a.rounds} rounds, ways alternating; ms per image (median over rounds), tokens per image')
    rows = []
    for res in [int(r) for r in a.res.split(',')]:
        x = torch.randn(a.batch_size, 3, res, res)
        for _ in range(3 if not rows else 1):                          # untimed warm-up: 3 passes before the first resolution
            for m, policy, down in w.values(): run(m, policy, down, x)
        times = {k: [] for k in w}
        for r in range(a.rounds):
            names = list(w)[r % len(w):] + list(w)[:r % len(w)]
            for k in names:
                t = time.perf_counter(); run(*w[k], x); times[k].append(time.perf_counter() - t)
        for k, (m, policy, down) in w.items():
            if policy is not None: m.eval_patch = policy
            n = tokens(m, max(TRAIN_RES) if down else res)
            ratios = [t / b for t, b in zip(times[k], times[ref])]
            rows.append({'res': res, 'way': k, 'tokens': n, 'ms_per_image': round(1000 * statistics.median(times[k]) / a.batch_size, 3),
                         'ratio_to_flexivit_resized_down': round(statistics.median(ratios), 3)})
        say(f'\n{res} px')
        for row in rows[-len(w):]:
            say(f"  {row['way']:28s} {row['tokens']:5d} tokens  {row['ms_per_image']:7.3f} ms/image  {row['ratio_to_flexivit_resized_down']:5.2f}× FlexiViT resized down")
    table = ['| test resolution | ' + ' | '.join(w) + ' |', '|---|' + '---:|' * len(w)]
    for res in sorted({r['res'] for r in rows}):
        table.append(f'| {res} px | ' + ' | '.join(f"{r['tokens']} tokens, {r['ms_per_image']:.2f} ms" for r in rows if r['res'] == res) + ' |')
    result = write_result(a.out, torch.device('cpu'), a, rows=rows, table='\n'.join(table))
    report_end(result, printed, a.out, say)

if __name__ == '__main__': main()
