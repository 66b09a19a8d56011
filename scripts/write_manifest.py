"""Write rivit/assets.json, the manifest of the files `rivit.core.fetch` may download: path -> SHA-256 and size.

In Colab only the installed package exists, so `fetch` downloads committed results (results.json, predictions.json,
weights.pt, curves.png, benchmark tables) from the repository, checks each one against this manifest, and discards a
file that does not match. The manifest ships inside the package (package data) and lists every file under `results/`
and `benchmarks/results/` that git tracks, except `checkpoint.pt` (an unfinished run's, which no chapter fetches).
Each line is one file, sorted, so that a diff shows which results changed.

Rewrite it whenever files under those folders change, in the same commit as them (`git add` new files first: only
tracked files are listed):

    python scripts/write_manifest.py           # rewrite rivit/assets.json from the tracked files as they are on disk
    python scripts/write_manifest.py --check   # exit 1, a line per stale, missing or extra entry (tests/test_fetch.py)
"""
import argparse, hashlib, json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT/'rivit'/'assets.json'
FOLDERS = ('results', 'benchmarks/results')
LEFT_OUT = ('checkpoint.pt',)   # file names nobody fetches

def tracked() -> list[str]:
    "The files git tracks under FOLDERS that exist on disk, sorted (a file deleted but not yet committed is left out)."
    out = subprocess.run(['git', 'ls-files', '-z', '--', *FOLDERS], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    return sorted(p for p in out.split('\0') if p and Path(p).name not in LEFT_OUT and (ROOT/p).is_file())

def entry(path:str) -> dict:
    data = (ROOT/path).read_bytes()
    return {'sha256': hashlib.sha256(data).hexdigest(), 'size': len(data)}

def render(files:dict) -> str:
    "Stable JSON, one file a line."
    lines = [f'  {json.dumps(p)}: {json.dumps(files[p], sort_keys=True)}' for p in sorted(files)]
    return '{\n' + ',\n'.join(lines) + '\n}\n'

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--check', action='store_true', help='compare instead of writing; exit 1 if the manifest is stale')
    args = p.parse_args(argv)
    files = {path: entry(path) for path in tracked()}
    if not args.check:
        MANIFEST.write_text(render(files))
        print(f'{MANIFEST.relative_to(ROOT)}: {len(files)} files, {sum(e["size"] for e in files.values()):,} bytes')
        return 0
    saved = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}
    rel, fix = MANIFEST.relative_to(ROOT), 'run python scripts/write_manifest.py'
    problems = ([f'{rel}: {p} is missing ({fix})' for p in files if p not in saved]
                + [f'{rel}: {p} is stale, its SHA-256 or size differs from the file ({fix})'
                   for p in files if p in saved and saved[p] != files[p]]
                + [f'{rel}: {p} is listed but not a tracked file ({fix})' for p in saved if p not in files])
    if not MANIFEST.exists(): problems = [f'{rel} does not exist ({fix})']
    for line in problems: print(line, file=sys.stderr)
    return 1 if problems else 0

if __name__ == '__main__': sys.exit(main())
