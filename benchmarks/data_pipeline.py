"""Images per second delivered by the two training data paths of `rivit.data`, both feeding nothing.

- `pil`: the reference. `ImageFolderDataset` + `MultiResolution` in a `DataLoader` with `--workers` worker processes:
  every image decoded from its JPEG and augmented with PIL, every epoch.
- `device`: `DecodedImages` (every image decoded once into a uint8 tensor) + `DeviceLoader`, which augments whole
  batches with tensor ops in the main process (here on the CPU, with torch's threads).

Both deliver the same images (the first `--images` of the training split), in batches of `--batch-size`, each at
every training resolution, normalized. They take turns within every round, the order rotated from round to round,
so that a busy machine slows both alike. Reported per resolution set: the median images/s of each path over the
rounds, and the median of the per-round ratios device / pil. The cache's one-time decoding is timed separately.

    python benchmarks/data_pipeline.py --out benchmarks/results/data_pipeline_cpu.json

writes the JSON and, next to it, the printed text (data_pipeline_cpu.txt).
"""
import argparse, os, statistics, time
from pathlib import Path
os.environ.setdefault('MALLOC_MMAP_THRESHOLD_', 'unchanged')  # speed_memory re-executes the script with a fixed threshold unless it is set
from speed_memory import write_result, report_end
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
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--out', help='write the results JSON here (and the printed text next to it, .txt)')
    a = p.parse_args()
    printed = []
    def say(line=''):
        print(line, flush=True); printed.append(line)

    classes, samples = find_images(Path(a.data)/'train')
    say(f'{a.images} images of {a.data}/train, batch {a.batch_size}, pil path with {a.workers} DataLoader workers, '
        f'device path on the CPU with {torch.get_num_threads()} torch threads; {a.rounds} rounds, paths alternating')
    rows = []
    for res in [tuple(int(r) for r in s.split(',')) for s in a.res.split(';')]:
        pil_ds = ImageFolderDataset(Path(a.data)/'train', MultiResolution(res))
        pil_ds.samples = pil_ds.samples[:a.images]
        t = time.perf_counter()
        cache = DecodedImages(samples[:a.images], classes, max(res), workers=a.workers)
        decode = time.perf_counter() - t
        loaders = {'pil': lambda: make_loader(pil_ds, a.batch_size, num_workers=a.workers),
                   'device': lambda: DeviceLoader(cache, a.batch_size, resolutions=res)}
        speeds = {k: [] for k in loaders}
        for r in range(a.rounds):
            for k in (list(loaders) if r % 2 == 0 else list(loaders)[::-1]):
                speeds[k].append(images_per_s(loaders[k](), skip_first=k == 'pil'))
        ratios = [d / p for d, p in zip(speeds['device'], speeds['pil'])]
        row = {'resolutions': list(res), 'images': a.images, 'cache_decode_s': round(decode, 1),
               'cache_decode_images_per_s': round(a.images / decode, 1), 'cache_mb': round(cache.pixels.numel() / 1e6, 1),
               'images_per_s': {k: [round(v, 1) for v in s] for k, s in speeds.items()},
               'median_images_per_s': {k: round(statistics.median(s), 1) for k, s in speeds.items()},
               'ratio_device_to_pil': {'median': round(statistics.median(ratios), 2), 'min_max': [round(min(ratios), 2), round(max(ratios), 2)]}}
        rows.append(row)
        say(f"\n{'/'.join(map(str, res))} px: pil {row['median_images_per_s']['pil']:.0f} img/s, device {row['median_images_per_s']['device']:.0f} img/s, "
            f"ratio {row['ratio_device_to_pil']['median']:.2f} (range {row['ratio_device_to_pil']['min_max'][0]:.2f} to {row['ratio_device_to_pil']['min_max'][1]:.2f}); "
            f"decoding the cache once: {decode:.1f} s ({row['cache_decode_images_per_s']:.0f} img/s), {row['cache_mb']} MB")
    table = ['| training resolutions | PIL path, ' + f'{a.workers} workers (img/s) | device path (img/s) | device / PIL | decoding once (img/s) | cache (MB per {a.images} images) |',
             '|---|---:|---:|---:|---:|---:|']
    for row in rows:
        table.append(f"| {'/'.join(map(str, row['resolutions']))} px | {row['median_images_per_s']['pil']:.0f} | {row['median_images_per_s']['device']:.0f} | "
                     f"{row['ratio_device_to_pil']['median']:.2f}× | {row['cache_decode_images_per_s']:.0f} | {row['cache_mb']} |")
    result = write_result(a.out, torch.device('cpu'), a, rows=rows, table='\n'.join(table))
    report_end(result, printed, a.out, say, f", torchvision {result['hardware'].get('torchvision', '?')}")

if __name__ == '__main__': main()
