"""Colab, simulated: every chapter and the landing page run top to bottom from an installed wheel of rivit.

A reader who opens a chapter from its badge has only what Colab preinstalls (torch, torchvision, matplotlib,
ipywidgets 7.7, Jupyter's kernel) and what `pip install rivit` brings. Nothing of the repository is there. This
script builds that situation here:

1. builds rivit's wheel and installs it (not editable) into a fresh virtual environment without nbdev or the dev
   extras. torch, torchvision and their dependencies are linked in from this interpreter, so that the 3 GB CUDA
   build is not copied. ipywidgets is pinned to 7.7.x, as in Colab;
2. serves this checkout on a loopback port and points `RIVIT_ASSETS_URL` at it. That is what `rivit.core.fetch`
   downloads committed results and weights from, in place of GitHub's raw URLs, because CI has no internet;
3. copies each notebook into an empty folder outside the repository and executes it with nbclient in that
   environment. Cells marked `#| slow` or `#| notest` are left out, as nbdev-test leaves them out.

    python scripts/colab_sim.py                      # every notebook in nbs/
    python scripts/colab_sim.py nbs/04_rivit.ipynb   # some
"""
import argparse, functools, http.server, importlib.metadata as md, json, os, re, shutil, subprocess, sys, tempfile, threading, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLAB = ['ipywidgets>=7.7,<7.8', 'matplotlib', 'ipykernel', 'nbclient', 'nbformat', 'tqdm']

RUNNER = r'''
import json, sys, time, nbformat
from nbclient import NotebookClient
path, timeout = sys.argv[1], int(sys.argv[2])
nb = nbformat.read(path, as_version=4)
skip = lambda c: c.cell_type == 'code' and any(l.strip() in ('#| slow', '#| notest') for l in c.source.splitlines() if l.startswith('#|'))
nb.cells = [c for c in nb.cells if not skip(c)]
t = time.time()
try: NotebookClient(nb, timeout=timeout, kernel_name='python3', resources={'metadata': {'path': str(__import__('pathlib').Path(path).parent)}}).execute()
except Exception as e:
    print(json.dumps({'ok': False, 'seconds': round(time.time() - t), 'error': f'{type(e).__name__}: {str(e)[-3000:]}'})); sys.exit(0)
print(json.dumps({'ok': True, 'seconds': round(time.time() - t)}))
'''

def closure(names) -> set:
    "These installed distributions and everything they require (installed here), by normalized name."
    norm = lambda n: re.sub(r'[-_.]+', '-', n).lower()
    todo, seen = [norm(n) for n in names], set()
    while todo:
        n = todo.pop()
        if n in seen: continue
        try: dist = md.distribution(n)
        except md.PackageNotFoundError: continue
        seen.add(n)
        for req in dist.requires or []:
            if 'extra ==' in req: continue
            todo.append(norm(re.match(r'[A-Za-z0-9_.-]+', req).group(0)))
    return seen

def link_from_here(site:Path):
    "Symlink torch, torchvision and everything they need from this interpreter into `site` (no 3 GB copy)."
    wanted = closure(['torch', 'torchvision', 'pillow', 'numpy']) - {'setuptools', 'pip'}
    for dist in md.distributions():
        name = re.sub(r'[-_.]+', '-', dist.metadata['Name'] or '').lower()
        if name not in wanted: continue
        base = Path(dist.locate_file(''))
        tops = {Path(f).parts[0] for f in dist.files or [] if not Path(f).parts[0].startswith('..')}
        for top in tops:
            src, dst = base/top, site/top
            if src.exists() and not dst.exists() and top != '__pycache__': dst.symlink_to(src)

def make_env(work:Path) -> Path:
    "The simulated Colab environment; returns its python."
    dist = work/'dist'
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '-q', '--disable-pip-version-check', '-w', str(dist), str(ROOT)], check=True, capture_output=True)
    wheel = next(dist.glob('rivit-*.whl'))
    subprocess.run([sys.executable, '-m', 'venv', str(work/'venv')], check=True)
    py = work/'venv'/'bin'/'python'
    site = Path(subprocess.run([str(py), '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], capture_output=True, text=True, check=True).stdout.strip())
    link_from_here(site)
    pip = subprocess.run([str(py), '-m', 'pip', 'install', '-q', '--disable-pip-version-check', str(wheel), *COLAB], capture_output=True, text=True)
    if pip.returncode: sys.exit(f'installing rivit into the simulated Colab failed:\n{pip.stdout[-3000:]}\n{pip.stderr[-3000:]}')
    check = 'import importlib.util as u, rivit; assert u.find_spec("nbdev") is None, "nbdev is installed"; print(rivit.__file__)'
    where = subprocess.run([str(py), '-c', check], capture_output=True, text=True, check=True, cwd=work).stdout.strip()
    assert str(ROOT) not in where, f'rivit is imported from the checkout ({where}), not from the wheel'
    return py

def serve(folder:Path) -> str:
    "Serve `folder` on a loopback port in a background thread; its base URL."
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args): pass
    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f'http://127.0.0.1:{server.server_address[1]}'

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('notebooks', nargs='*')
    p.add_argument('--timeout', type=int, default=900, help='seconds per cell')
    p.add_argument('--keep', action='store_true', help='keep the working folder (its path is printed)')
    a = p.parse_args()
    nbs = [Path(n).resolve() for n in a.notebooks] or sorted((ROOT/'nbs').glob('*.ipynb'))
    work = Path(tempfile.mkdtemp(prefix='rivit-colab-'))
    t = time.time()
    py = make_env(work)
    print(f'environment ready in {time.time() - t:.0f} s: {work/"venv"} (rivit from its wheel, ipywidgets 7.7, no nbdev)', flush=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(('RIVIT_DATA', 'PYTHONPATH', 'VIRTUAL_ENV'))}
    env.update(RIVIT_ASSETS_URL=serve(ROOT), RIVIT_CACHE=str(work/'cache'))
    (work/'runner.py').write_text(RUNNER)
    failed = []
    for nb in nbs:
        run = work/'run'/nb.stem; run.mkdir(parents=True)
        shutil.copy(nb, run/nb.name)
        out = subprocess.run([str(py), str(work/'runner.py'), str(run/nb.name), str(a.timeout)], capture_output=True, text=True, env=env, cwd=run)
        try: r = json.loads(out.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError): r = {'ok': False, 'seconds': 0, 'error': out.stderr[-3000:]}
        print(f"{nb.name}: {'ok' if r['ok'] else 'FAILED'} ({r['seconds']} s)", flush=True)
        if not r['ok']: print('  ' + r['error'].replace('\n', '\n  ')); failed.append(nb.name)
    if not a.keep: shutil.rmtree(work, ignore_errors=True)
    else: print(f'kept {work}')
    print(f'Colab simulation: {len(nbs) - len(failed)} of {len(nbs)} notebooks ran top to bottom in {time.time() - t:.0f} s')
    if failed: sys.exit(f'failed in the simulated Colab: {", ".join(failed)}')

if __name__ == '__main__': main()
