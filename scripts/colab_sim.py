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
   environment. Cells marked with nbdev's skip flags (`tst_flags` in pyproject.toml: `#| slow`, `#| notest`) or
   `#| eval: false` are left out, as nbdev-test leaves them out.

    python scripts/colab_sim.py                        # every notebook in nbs/
    python scripts/colab_sim.py nbs/04_rivit.ipynb     # some (a notebook may be anywhere: its copy is what runs)
    python scripts/colab_sim.py --check                # also fail when a saved output is stale (CI runs this)

`--check` makes this run the notebooks' freshness check too, so that CI executes each notebook once: each cell's
outputs from the kernel are compared with the outputs saved in the notebook by `execute_nbs.py`'s `compare` (the
same normalization as `execute_nbs.py --check`; cells are matched by id, skipped cells are not compared). Three
things make a Jupyter kernel's outputs comparable with those of nbdev's test shell, which the saved ones come from:

- `IN_TEST=1` is set in the kernel's environment, as nbdev-test sets it. The saved outputs are defined as what a
  run under nbdev-test shows (the rendered site shows them), and a chapter may print differently when it is unset:
  `rivit.posenc.figure_explorer` adds the live widget to its picture only outside a test. In Colab `IN_TEST` is
  unset, so there the picture also carries the widget's view; that one branch is the part of Colab's behaviour that
  `--check` does not execute (run without `--check` to execute it: `IN_TEST` is then removed, as in Colab).
- the kernel's inline backend draws figures as retina PNGs, as nbdev's shell does (`CaptureShell(mpl_format='retina')`):
  Colab draws plain PNGs, half as many pixels a side, of the same figure. A chapter that chooses a format itself
  (`set_matplotlib_formats('png')`, chapter 2) gets it in both.
- `execute_nbs.canonical` gives up only what differs by the way outputs are captured: a kernel records streams in
  chunks interleaved with displays as they happen, and draws tqdm bars as widgets, where nbdev's shell records
  one stdout, one stderr, then the displays, and the bars on stderr (which the comparison ignores anyway).

A notebook that passes `execute_nbs.py --check` but fails here prints differently in Colab's environment (for
instance ipywidgets 7.7, or a package version that warns) and is a finding of its own.
"""
import argparse, functools, http.server, importlib.metadata as md, json, os, re, shutil, subprocess, sys, tempfile, threading, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from execute_nbs import compare, test_cells   # the freshness check of `execute_nbs.py --check`, and nbdev's skip rule
COLAB = ['ipywidgets>=7.7,<7.8', 'matplotlib', 'ipykernel', 'nbclient', 'nbformat', 'tqdm']

RUNNER = r'''
import json, sys, time, nbformat
from nbclient import NotebookClient
path, timeout, executed = sys.argv[1], int(sys.argv[2]), sys.argv[3]
nb = nbformat.read(path, as_version=4)   # its skipped cells already left out (`kept_copy`)
t = time.time()
try: NotebookClient(nb, timeout=timeout, kernel_name='python3', resources={'metadata': {'path': str(__import__('pathlib').Path(path).parent)}}).execute()
except Exception as e:
    print(json.dumps({'ok': False, 'seconds': round(time.time() - t), 'error': f'{type(e).__name__}: {str(e)[-3000:]}'})); sys.exit(0)
nbformat.write(nb, executed)
print(json.dumps({'ok': True, 'seconds': round(time.time() - t)}))
'''

def kept_copy(src:Path, dst:Path):
    "Copy notebook `src` to `dst` without the code cells nbdev-test leaves out (`execute_nbs.test_cells`: nbdev's rule)."
    nb, skip = test_cells(src)
    drop = {c.id for c in nb.cells if c.cell_type == 'code' and skip(c)}
    raw = json.loads(Path(src).read_text())
    raw['cells'] = [c for c in raw['cells'] if c.get('id') not in drop]
    Path(dst).write_text(json.dumps(raw, indent=1, ensure_ascii=False))

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
    # Colab's matplotlib has its font cache: building it here would print a warning into the first notebook's outputs
    subprocess.run([str(py), '-c', 'import matplotlib.font_manager'], check=True, capture_output=True, cwd=work)
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
    p.add_argument('--check', action='store_true', help="also fail when a cell's outputs differ from the saved ones (runs with IN_TEST=1)")
    a = p.parse_args()
    nbs = [Path(n).resolve() for n in a.notebooks] or sorted((ROOT/'nbs').glob('*.ipynb'))
    work = Path(tempfile.mkdtemp(prefix='rivit-colab-'))
    t = time.time()
    py = make_env(work)
    print(f'environment ready in {time.time() - t:.0f} s: {work/"venv"} (rivit from its wheel, ipywidgets 7.7, no nbdev)', flush=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(('RIVIT_DATA', 'PYTHONPATH', 'VIRTUAL_ENV'))}
    env.update(RIVIT_ASSETS_URL=serve(ROOT), RIVIT_CACHE=str(work/'cache'))
    ipython = work/'ipython'/'profile_default'; ipython.mkdir(parents=True)   # the kernel's IPython profile: none of this user's
    env['IPYTHONDIR'] = str(work/'ipython')
    if a.check:   # as nbdev-test runs a notebook: the saved outputs are those of a test run (see above)
        env['IN_TEST'] = '1'
        (ipython/'ipython_kernel_config.py').write_text("c.InlineBackend.figure_formats = {'retina'}\n")
    else: env.pop('IN_TEST', None)     # as in Colab
    (work/'runner.py').write_text(RUNNER)
    failed, stale = [], []
    for i, nb in enumerate(nbs):
        run = work/'run'/f'{i:02d}-{nb.stem}'; run.mkdir(parents=True)
        kept_copy(nb, run/nb.name)
        executed = work/'executed'/f'{i:02d}-{nb.name}'; executed.parent.mkdir(exist_ok=True)
        started = time.time()
        out = subprocess.run([str(py), str(work/'runner.py'), str(run/nb.name), str(a.timeout), str(executed)],
                             capture_output=True, text=True, env=env, cwd=run)
        try: r = json.loads(out.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError): r = {'ok': False, 'seconds': 0, 'error': out.stderr[-3000:]}
        problems = []
        if r['ok'] and a.check:   # matched by cell id: the kernel ran the cells that were not skipped
            saved = json.loads(nb.read_text())['cells']
            if missing := [i for i, c in enumerate(saved) if 'id' not in c]:
                problems = [f'cells {missing} have no id, so their outputs cannot be checked: run nbdev-clean --fname {nb} first']
            else: problems = compare(saved, {c['id']: c.get('outputs', []) for c in json.loads(executed.read_text())['cells'] if c['cell_type'] == 'code'})
        print(f"{nb.name}: {'FAILED' if not r['ok'] else 'STALE' if problems else 'ok'} ({r['seconds']} s; {time.time() - started:.0f} s with "
              f"the kernel's start and stop{' and the check' if a.check else ''})", flush=True)
        if not r['ok']: print('  ' + r['error'].replace('\n', '\n  ')); failed.append(nb.name)
        for pr in problems: print(f'  {pr}', flush=True)
        if problems: stale.append(nb)
    print(f'Colab simulation: {len(nbs) - len(failed)} of {len(nbs)} notebooks ran top to bottom in {time.time() - t:.0f} s'
          + (f', {len(nbs) - len(failed) - len(stale)} with the saved outputs' if a.check else ''), flush=True)
    if a.keep: print(f'kept {work}')
    else:
        t = time.time(); shutil.rmtree(work, ignore_errors=True)   # the venv's 20,000-odd files
        print(f'working folder removed in {time.time() - t:.0f} s')
    msg = [f'failed in the simulated Colab: {", ".join(failed)}'] if failed else []
    if stale:
        rel = ' '.join(os.path.relpath(n) for n in stale)
        msg.append(f'saved outputs differ from a fresh run: {", ".join(n.name for n in stale)}. Re-execute with: python scripts/execute_nbs.py {rel} '
                   f'(if `python scripts/execute_nbs.py --check {rel}` passes, the difference is the simulated Colab\'s)')
    if msg: sys.exit('\n'.join(msg))

if __name__ == '__main__': main()
