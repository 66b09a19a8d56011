"""Peak memory of the gpu scale's final evaluation (chapter 7): 320 px, batch 128, the report's six models at base size.

For each model: the peak memory of `rivit.train.evaluate` on one batch of 128 images at 320 px, measured on this
machine's CPU (the process's peak resident set above the level before the batch, as in `speed_memory.py`), once
with evaluation in chunks of `EVAL_CHUNK` images (what rivit-train does now) and once with the whole batch in one
forward pass (what it did before); beside them the estimate `rivit.train.eval_memory` makes before training starts
(a trace of the forward pass on the meta device, which materialises attention as the math path does). The verdict
compares each with a T4's 15 GB (Colab's GPU): on CUDA, `F.scaled_dot_product_attention` without a mask runs flash or
memory-efficient kernels that never hold the N×N attention matrix, so the CPU numbers are an upper bound there, while
the relative encoding's bias (heads × N × N) is held either way.

    python benchmarks/eval_memory.py --out benchmarks/results/eval_memory_cpu.json
"""
import argparse, datetime, gc, json, os, platform, sys, time, types
from pathlib import Path

if sys.platform.startswith('linux') and 'MALLOC_MMAP_THRESHOLD_' not in os.environ:
    os.environ['MALLOC_MMAP_THRESHOLD_'] = '65536'   # freed tensors leave the resident set (see speed_memory.py)
    os.execv(sys.executable, [sys.executable] + sys.argv)

import torch
sys.path.insert(0, str(Path(__file__).parent))
from speed_memory import PeakMemory
from rivit.core import create_model
from rivit.experiments import MODELS, SCALES
from rivit.train import EVAL_CHUNK, eval_memory, evaluate
from rivit.checkpoint import environment

T4_BYTES = 15e9   # a Tesla T4's 16 GB card shows about 15 GB to PyTorch

class Loader:
    "One batch of random images, shaped as `evaluate` reads a loader."
    def __init__(self, images:int, res:int):
        x, y = torch.randn(images, 3, res, res), torch.randint(0, 10, (images,))
        self.batches, self.sampler = [(x, y)], range(images)
        self.dataset = types.SimpleNamespace(samples=[(None, int(label)) for label in y])
    def __iter__(self): return iter(self.batches)

def measure(model, loader, chunk:int) -> float:
    "Peak MB of one `evaluate` call above the level before it."
    gc.collect()
    with PeakMemory(torch.device('cpu')) as peak: evaluate(model, loader, torch.device('cpu'), amp=False, chunk=chunk)
    return peak.peak

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--res', type=int, default=max(SCALES['gpu'].eval_res))
    p.add_argument('--batch-size', type=int, default=SCALES['gpu'].batch_size)
    p.add_argument('--out', default='benchmarks/results/eval_memory_cpu.json')
    a = p.parse_args()
    torch.manual_seed(0)
    rows, s = [], SCALES['gpu']
    for name in MODELS:
        model = create_model(name, s.size, train_res=s.train_res, patch_size=s.patch_size, latent_size=s.latent_size).eval()
        loader, t = Loader(a.batch_size, a.res), time.time()
        row = {'model': name, 'estimate_chunked_mb': round(eval_memory(model, a.res, min(EVAL_CHUNK, a.batch_size)) / 2**20),
               'estimate_whole_batch_mb': round(eval_memory(model, a.res, a.batch_size) / 2**20),
               'measured_chunked_mb': round(measure(model, loader, EVAL_CHUNK)),
               'measured_whole_batch_mb': round(measure(model, loader, a.batch_size))}
        row['fits_t4_chunked'] = max(row['estimate_chunked_mb'], row['measured_chunked_mb']) * 2**20 < T4_BYTES
        row['seconds'] = round(time.time() - t, 1)
        rows.append(row); print(json.dumps(row), flush=True)
        del model, loader
    result = {'command': 'python ' + ' '.join(sys.argv), 'date': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
              'environment': environment(torch.device('cpu')), 'res': a.res, 'batch_size': a.batch_size, 'eval_chunk': EVAL_CHUNK,
              'size': s['size'], 't4_bytes': T4_BYTES, 'rows': rows}
    Path(a.out).write_text(json.dumps(result, indent=1))
    head = f"{'model':20} {'est. chunked':>12} {'est. whole':>11} {'meas. chunked':>13} {'meas. whole':>12}  fits a T4 (chunked)"
    lines = [head] + [f"{r['model']:20} {r['estimate_chunked_mb']:>9} MB {r['estimate_whole_batch_mb']:>8} MB "
                      f"{r['measured_chunked_mb']:>10} MB {r['measured_whole_batch_mb']:>9} MB  {'yes' if r['fits_t4_chunked'] else 'no'}"
                      for r in rows]
    Path(a.out).with_suffix('.txt').write_text('\n'.join([result['command'], *lines]) + '\n')
    print('\n'.join(lines))

if __name__ == '__main__': main()
