"""Train-step and inference throughput and peak memory of rivit's six models, beside timm's VisionTransformer.

For every model and resolution: images/s of a training step (forward, backward, AdamW step) and of an
inference batch (no_grad forward), and the peak memory of one training step and one inference batch.
timm's `VisionTransformer` is built with the same width, depth, heads, MLP ratio, class token and 8 px
patches as rivit's plain-patch model, i.e. the same tokens at every resolution.

Memory: on CUDA `torch.cuda.max_memory_allocated` above what was allocated before the step; on CPU the
process's peak resident set size above the resident size before the step (Linux: the peak is reset through
/proc/self/clear_refs, and glibc's mmap threshold is fixed so that freed tensors leave the resident set).

    python benchmarks/speed_memory.py --out benchmarks/results/speed_memory_cpu.json

Timing two models one after the other is at the mercy of whatever else the machine does in between. For the
rivit-vs-timm goal (vanilla-learned train step within 1.1x of timm's) `--paired` alternates the two models step
by step, on the same batch, and reports the median of the per-round time ratios:

    python benchmarks/speed_memory.py --paired vanilla-learned,timm-vit --out benchmarks/results/paired_vs_timm_cpu.json
"""
import argparse, datetime, gc, json, os, sys, time
from pathlib import Path

if sys.platform.startswith('linux') and 'MALLOC_MMAP_THRESHOLD_' not in os.environ:
    # Tensors above 64 KiB get their own mmap and are returned to the OS when freed, so RSS tracks live memory.
    os.environ['MALLOC_MMAP_THRESHOLD_'] = '65536'
    os.execv(sys.executable, [sys.executable] + sys.argv)

import torch
import torch.nn.functional as F

def rss_mb(field='VmRSS'):
    for line in open('/proc/self/status'):
        if line.startswith(field): return int(line.split()[1]) / 1024
    raise RuntimeError(f'{field} not in /proc/self/status')

class PeakMemory:
    "Peak memory (MB) above the level at entry: CUDA allocator stats, or the CPU process's peak RSS."
    def __init__(self, device): self.device = device
    def __enter__(self):
        gc.collect()
        if self.device.type == 'cuda':
            torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated() / 2**20
        else:
            with open('/proc/self/clear_refs', 'w') as f: f.write('5')  # reset VmHWM to the current RSS
            self.base = rss_mb('VmRSS')
        return self
    def __exit__(self, *exc):
        if self.device.type == 'cuda':
            torch.cuda.synchronize(); self.peak = torch.cuda.max_memory_allocated() / 2**20 - self.base
        else: self.peak = rss_mb('VmHWM') - self.base

def sync(device):
    if device.type == 'cuda': torch.cuda.synchronize()

def make_model(name, num_classes=10, dim=192, depth=6, heads=3, res=128):
    if name == 'timm-vit':
        from timm.models.vision_transformer import VisionTransformer
        return VisionTransformer(img_size=res, patch_size=8, embed_dim=dim, depth=depth, num_heads=heads, mlp_ratio=4.0,
                                 num_classes=num_classes, class_token=True, global_pool='token')
    from rivit.core import create_model, model_entry
    if model_entry(name).tags.get('family') != 'report':  # PiT, ViTAR, ResFormer at their 'base' size, as rivit-train builds them
        return create_model(name, 'base', num_classes=num_classes, train_res=(96, 128, 160))
    return create_model(name, 'base', num_classes=num_classes, train_res=(96, 128, 160), dim=dim, depth=depth, heads=heads)

def measure(name, res, batch_size, device, steps, warmup):
    torch.manual_seed(0)
    model = make_model(name, res=res).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randn(batch_size, 3, res, res, device=device)
    y = torch.randint(0, 10, (batch_size,), device=device)

    def train_step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()

    def infer():
        with torch.no_grad(): model(x)

    out = {'model': name, 'res': res, 'batch_size': batch_size, 'parameters': sum(p.numel() for p in model.parameters())}
    for kind, fn in (('train', train_step), ('infer', infer)):
        model.train(kind == 'train')
        for _ in range(warmup): fn()
        sync(device)
        with PeakMemory(device) as mem: fn(); sync(device)
        times = []
        for _ in range(steps):
            t = time.perf_counter(); fn(); sync(device); times.append(time.perf_counter() - t)
        best = min(times)
        out[f'{kind}_s_per_batch'] = round(best, 4)
        out[f'{kind}_img_per_s'] = round(batch_size / best, 1)
        out[f'{kind}_peak_mb'] = round(mem.peak, 1)
    del model, opt, x, y
    gc.collect()
    return out

def paired(names, res, batch_size, device, rounds, warmup):
    "Alternate training steps of two models on the same batch; median per-round time ratio first/second."
    torch.manual_seed(0)
    models = [make_model(n, res=res).to(device) for n in names]
    opts = [torch.optim.AdamW(m.parameters(), lr=1e-4) for m in models]
    x = torch.randn(batch_size, 3, res, res, device=device)
    y = torch.randint(0, 10, (batch_size,), device=device)
    times = [[], []]
    for r in range(warmup + rounds):
        for i, (m, o) in enumerate(zip(models, opts)):
            sync(device); t = time.perf_counter()
            loss = F.cross_entropy(m(x), y); o.zero_grad(set_to_none=True); loss.backward(); o.step()
            sync(device)
            if r >= warmup: times[i].append(time.perf_counter() - t)
    ratios = sorted(a / b for a, b in zip(*times))
    med = lambda v: sorted(v)[len(v) // 2]
    return {'res': res, 'batch_size': batch_size, 'models': names, 'rounds': rounds,
            'median_s_per_step': [round(med(t), 4) for t in times], 'median_ratio': round(med(ratios), 3),
            'ratio_min_max': [round(ratios[0], 3), round(ratios[-1], 3)]}

def hardware(device):
    "rivit's environment record (hardware, library versions), plus timm's version."
    from rivit.checkpoint import environment
    info = environment(device)
    try:
        import timm; info['timm'] = timm.__version__
    except ImportError: pass
    return info

def glibc_allocator():
    "glibc's allocator settings this process runs with, as the result files record them: the variables that keep freed memory for reuse (scripts/run_cpu_experiments.sh), or 'glibc defaults'."
    return {k: os.environ[k] for k in ('MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_') if k in os.environ} or 'glibc defaults'

def write_result(path, device, settings, **measured):
    "A benchmark's result: the exact command, hardware and versions, the settings, then what was measured; written to `path` as JSON if given."
    result = {'command': ' '.join([Path(sys.executable).name] + sys.argv), 'hardware': hardware(device),
              'finished_utc': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M'), 'settings': vars(settings), **measured}
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(result, indent=1))
        print(f'\nwrote {path}')
    return result

def report_end(result:dict, printed:list, out, say, extra:str=''):
    "The closing lines every benchmark prints (hardware and versions, then the command), and its printed text beside the JSON (.txt)."
    env = result['hardware']
    say(f"\n{env['cpu']}, {env['cpu_count']} cores, {env['torch_threads']} torch threads, torch {env['torch']}, python {env['python']}{extra}; finished {result['finished_utc']} UTC")
    say(f"command: {result['command']}")
    if out:
        txt = Path(out).with_suffix('.txt')
        txt.write_text('\n'.join(printed) + '\n')
        print(f'wrote {txt}')

def default_models():
    "The report's six models (from rivit's registry) and timm's VisionTransformer."
    from rivit.core import list_models
    return list_models(family='report') + ['timm-vit']

def plain_vit():
    "The registry's name for the report's baseline: plain patches with a learned encoding (compared with timm's ViT)."
    from rivit.core import list_models
    return list_models(family='report', embedding='patch', pos_enc='learned')[0]

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--models', default=None, help='comma-separated registered models (rivit-train --list-models) or timm-vit (default: the report\'s six and timm-vit)')
    p.add_argument('--res', default='96,128,160,256,320', help='comma-separated square resolutions')
    p.add_argument('--batch-size', type=int, default=16)
    p.add_argument('--steps', type=int, default=3, help='timed repetitions (the fastest is reported)')
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--paired', help='two comma-separated models: alternate their training steps and report time ratios')
    p.add_argument('--rounds', type=int, default=10, help='--paired: timed rounds per resolution')
    p.add_argument('--out', help='write the results JSON here')
    a = p.parse_args()
    device = torch.device(a.device)
    if a.paired:
        names = a.paired.split(',')
        rows = []
        print(f'{names[0]} / {names[1]} training-step time, alternating steps, batch {a.batch_size}')
        for res in [int(r) for r in a.res.split(',')]:
            r = paired(names, res, a.batch_size, device, a.rounds, max(a.warmup, 2))
            rows.append(r)
            print(f"{res:4d} px: {r['median_s_per_step'][0]:.3f} s vs {r['median_s_per_step'][1]:.3f} s per step, "
                  f"median ratio {r['median_ratio']:.3f} (rounds: {r['ratio_min_max'][0]:.3f} to {r['ratio_min_max'][1]:.3f})", flush=True)
        write_result(a.out, device, a, rows=rows)
        return
    rows = []
    print(f"{'model':20s} {'px':>4s} {'train img/s':>11s} {'infer img/s':>11s} {'train MB':>9s} {'infer MB':>9s}", flush=True)
    for res in [int(r) for r in a.res.split(',')]:
        for name in (a.models.split(',') if a.models else default_models()):
            r = measure(name, res, a.batch_size, device, a.steps, a.warmup)
            rows.append(r)
            print(f"{name:20s} {res:4d} {r['train_img_per_s']:11.1f} {r['infer_img_per_s']:11.1f} {r['train_peak_mb']:9.1f} {r['infer_peak_mb']:9.1f}", flush=True)
    ratios = {}
    for res in sorted({r['res'] for r in rows}):
        get = {r['model']: r for r in rows if r['res'] == res}
        if 'timm-vit' in get and plain_vit() in get:
            ratios[res] = round(get[plain_vit()]['train_s_per_batch'] / get['timm-vit']['train_s_per_batch'], 3)
    if ratios:
        print(f'\nrivit {plain_vit()} train-step time / timm VisionTransformer train-step time, measured one after the other')
        print('(noisy: see --paired for the alternating comparison):')
        for res, v in ratios.items(): print(f'  {res:4d} px: {v:.3f}')
    write_result(a.out, device, a, rows=rows, vanilla_over_timm_train_time=ratios)

if __name__ == '__main__': main()
