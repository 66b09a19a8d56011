"""Images per second delivered by the training data paths of `rivit.data`, all feeding nothing.

- `pil`: the reference. `ImageFolderDataset` + `MultiResolution` in a `DataLoader` with `--workers` worker processes:
  every image decoded from its JPEG and augmented with PIL, every epoch.
- `device`: `DecodedImages` (every image decoded once into a uint8 tensor) + `DeviceLoader`, which augments whole
  batches with tensor ops in the main process (here on the CPU, with torch's threads).
- `fused`: the device path with `fused=True`: its colour jitter, quantization and normalization compiled by
  `torch.compile` into fused kernels.

Before the timed rounds each path makes one untimed pass (the fused path's compiles its kernels).

All deliver the same images (the first `--images` of the training split), in batches of `--batch-size`, each at
every training resolution, normalized. They take turns within every round, the order rotated from round to round,
so that a busy machine slows all alike. Reported per resolution set: the median images/s of each path over the
rounds, and the medians of the per-round ratios (each path to pil, fused to device). The cache's one-time decoding is timed separately.

    python benchmarks/data_pipeline.py --out benchmarks/results/data_pipeline_cpu.json

writes the JSON and, next to it, the printed text (data_pipeline_cpu.txt).
"""
import argparse, os, statistics, time
from pathlib import Path
os.environ.setdefault('MALLOC_MMAP_THRESHOLD_', 'unchanged')  # speed_memory re-executes the script with a fixed threshold unless it is set
from speed_memory import write_result, report_end, glibc_allocator
if os.environ['MALLOC_MMAP_THRESHOLD_'] == 'unchanged': del os.environ['MALLOC_MMAP_THRESHOLD_']

import torch
from rivit.data import ImageFolderDataset, MultiResolution, DecodedImages, DeviceLoader, make_loader, find_images

def images_per_s(loader, skip_first:bool) -> float:
    "Images/s over one pass of `loader`; with `skip_first`, timed from the end of the first batch (worker start-up excluded)."
    it, n = iter(loader), 0
    if skip_first: next(it)
    t = time.perf_counter()
    for _, y in it: n += len(y)
    return n / (time.perf_counter() - t)

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', default=os.environ.get('RIVIT_DATA', '../shared/data/imagenette2-224'), help='an ImageFolder root with train/')
    p.add_argument('--images', type=int, default=2048, help='the first N training images')
    p.add_argument('--res', default='96,128,160;64,80,96', help='resolution sets, ";"-separated')
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--workers', type=int, default=2, help="the pil path's DataLoader workers")
    p.add_argument('--rounds', type=int, default=6, help='a multiple of 3: each path goes first, second and third equally often')
    p.add_argument('--out', help='write the results JSON here (and the printed text next to it, .txt)')
    a = p.parse_args()
    if a.rounds % 3: p.error(f'--rounds must be a multiple of 3 (each path first, second and third equally often), got {a.rounds}')
    printed = []
    def say(line=''):
        print(line, flush=True); printed.append(line)

    classes, samples = find_images(Path(a.data)/'train')
    say(f'{a.images} images of {a.data}/train, batch {a.batch_size}, pil path with {a.workers} DataLoader workers, '
        f'device path on the CPU with {torch.get_num_threads()} torch threads; {a.rounds} rounds, paths taking turns')
    rows = []
    for res in [tuple(int(r) for r in s.split(',')) for s in a.res.split(';')]:
        pil_ds = ImageFolderDataset(Path(a.data)/'train', MultiResolution(res))
        pil_ds.samples = pil_ds.samples[:a.images]
        t = time.perf_counter()
        cache = DecodedImages(samples[:a.images], classes, max(res), workers=a.workers)
        decode = time.perf_counter() - t
        loaders = {'pil': lambda: make_loader(pil_ds, a.batch_size, num_workers=a.workers),
                   'device': lambda: DeviceLoader(cache, a.batch_size, resolutions=res),
                   'fused': lambda: DeviceLoader(cache, a.batch_size, resolutions=res, fused=True)}
        warmup_s = {}
        for k in loaders:   # one untimed pass each: first touches of the cache and the allocator; the fused path compiles
            t = time.perf_counter(); images_per_s(loaders[k](), skip_first=False); warmup_s[k] = round(time.perf_counter() - t, 1)
        speeds = {k: [] for k in loaders}
        for r in range(a.rounds):
            names = list(loaders)[r % 3:] + list(loaders)[:r % 3]          # each path goes first, second and third in turn
            for k in names: speeds[k].append(images_per_s(loaders[k](), skip_first=k == 'pil'))
        ratios = {f'{k}_to_pil': [d / p for d, p in zip(speeds[k], speeds['pil'])] for k in ('device', 'fused')}
        ratios['fused_to_device'] = [f / d for f, d in zip(speeds['fused'], speeds['device'])]
        row = {'resolutions': list(res), 'images': a.images, 'cache_decode_s': round(decode, 1),
               'cache_decode_images_per_s': round(a.images / decode, 1), 'cache_mb': round(cache.pixels.numel() / 1e6, 1),
               'images_per_s': {k: [round(v, 1) for v in s] for k, s in speeds.items()},
               'median_images_per_s': {k: round(statistics.median(s), 1) for k, s in speeds.items()},
               'warmup_pass_s': warmup_s,
               **{f'ratio_{k}': {'median': round(statistics.median(v), 2), 'min_max': [round(min(v), 2), round(max(v), 2)]} for k, v in ratios.items()}}
        rows.append(row)
        m, rd, rf, rfd = row['median_images_per_s'], row['ratio_device_to_pil'], row['ratio_fused_to_pil'], row['ratio_fused_to_device']
        say(f"\n{'/'.join(map(str, res))} px: pil {m['pil']:.0f} img/s, device {m['device']:.0f} img/s, fused {m['fused']:.0f} img/s; "
            f"to pil: device {rd['median']:.2f} (range {rd['min_max'][0]:.2f} to {rd['min_max'][1]:.2f}), fused {rf['median']:.2f} (range {rf['min_max'][0]:.2f} to {rf['min_max'][1]:.2f}); "
            f"fused to device {rfd['median']:.2f} (range {rfd['min_max'][0]:.2f} to {rfd['min_max'][1]:.2f}); fused path's untimed first pass (compiling) {warmup_s['fused']:.1f} s; decoding the cache once: {decode:.1f} s ({row['cache_decode_images_per_s']:.0f} img/s), {row['cache_mb']} MB")
    table = ['| training resolutions | PIL path, ' + f'{a.workers} workers (img/s) | device path (img/s) | fused device path (img/s) | device / PIL | fused / PIL | fused / device | decoding once (img/s) | cache (MB per {a.images} images) |',
             '|---|---:|---:|---:|---:|---:|---:|---:|---:|']
    for row in rows:
        m = row['median_images_per_s']
        table.append(f"| {'/'.join(map(str, row['resolutions']))} px | {m['pil']:,.0f} | {m['device']:,.0f} | {m['fused']:,.0f} | "
                     f"{row['ratio_device_to_pil']['median']:.2f}× | {row['ratio_fused_to_pil']['median']:.2f}× | {row['ratio_fused_to_device']['median']:.2f}× | {row['cache_decode_images_per_s']:.0f} | {row['cache_mb']} |")
    result = write_result(a.out, torch.device('cpu'), a, rows=rows, table='\n'.join(table), allocator=glibc_allocator())
    say(f"allocator: {result['allocator']}")
    report_end(result, printed, a.out, say, f", torchvision {result['hardware'].get('torchvision', '?')}")

if __name__ == '__main__': main()
