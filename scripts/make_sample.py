"""Rebuild the real-image sample shipped inside the package (rivit/sample/).

The sample is the first N files (sorted by name) of every class of the shared Imagenette copy,
copied byte for byte. Run from the repository root:

    python scripts/make_sample.py --src ../shared/data/imagenette2-224 --train 20 --val 5
"""
import argparse, shutil
from pathlib import Path

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--src', default='../shared/data/imagenette2-224', help='ImageFolder root with train/ and val/')
    p.add_argument('--dst', default='rivit/sample', help='where the sample goes')
    p.add_argument('--train', type=int, default=20, help='images per class from train/')
    p.add_argument('--val', type=int, default=5, help='images per class from val/')
    a = p.parse_args()
    src, dst = Path(a.src), Path(a.dst)
    if not (src/'train').is_dir(): raise SystemExit(f'{src}/train not found: pass --src pointing at an ImageFolder copy of Imagenette')
    for split, n in (('train', a.train), ('val', a.val)):
        for cls in sorted(d for d in (src/split).iterdir() if d.is_dir()):
            out = dst/split/cls.name
            out.mkdir(parents=True, exist_ok=True)
            for f in sorted(cls.iterdir())[:n]: shutil.copyfile(f, out/f.name)
    files = list(dst.rglob('*.JPEG'))
    print(f'{len(files)} images, {sum(f.stat().st_size for f in files)/1e6:.1f} MB in {dst}')

if __name__ == '__main__': main()
