"""Execute the chapters as `nbdev-test` does, and keep their saved outputs equal to what a fresh run prints.

Each notebook runs top to bottom in its own folder, in nbdev's test shell, with nbdev's skip flags (`tst_flags` in
pyproject.toml: cells marked `#| slow` or `#| notest` are skipped and keep the outputs they have).

    python scripts/execute_nbs.py                       # re-execute every chapter and save the outputs (then nbdev-clean)
    python scripts/execute_nbs.py nbs/05_data.ipynb     # only these
    python scripts/execute_nbs.py --check               # execute; fail if a cell's outputs differ from the saved ones

`--check` fails on an exception, like `nbdev-test`, and also when a saved output is stale. Outputs are compared
(`compare`) after removing what legitimately changes from run to run: progress bars, memory addresses and widget
ids. Images are compared by size and pixels (mean difference below 1 gray level). A cell whose outputs contain
timings is marked `#| timings`: only the kinds of its outputs are compared. CI runs this comparison on the outputs of
the Colab simulation (`scripts/colab_sim.py --check`), so each notebook is executed once there; `--check` here is
the same check in this environment, for local use.
"""
import argparse, base64, io, json, multiprocessing, os, re, subprocess, sys, time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def test_cells(path:Path):
    "Notebook `path` as nbdev-test reads it, and nbdev's own predicate for the cells it leaves out (tst_flags, eval: false)."
    from nbdev.process import NBProcessor
    from nbdev.test import _skip_cell
    from nbdev.config import get_config
    nb = NBProcessor(path, rm_directives=False, process=True).nb
    return nb, _skip_cell(nb, get_config().tst_flags.split())

def execute(path:Path, timeout:int=600) -> tuple[dict, list, float]:
    "Run notebook `path` as nbdev-test does: (its outputs by cell id, the ids of the cells that ran, seconds)."
    from execnb.shell import CaptureShell
    from fastcore.xtras import working_directory
    os.environ['IN_TEST'] = '1'
    nb, skip = test_cells(path)
    shell, ran, t = CaptureShell(path), [], time.time()
    with working_directory(path.parent):
        shell.run_all(nb, exc_stop=True, preproc=skip, postproc=lambda c: ran.append(c.id), cell_timeout=timeout)
    return {c.id: [dict(o) for o in c.outputs] for c in nb.cells if c.id in ran}, ran, time.time() - t

TIMES = re.compile(r'\d+(\.\d+)?\s?(s|ms|us|µs|min|img/s|it/s|s/it)(?![\w/])')   # '(3s)', '12.5 ms', '40 img/s'
PROGRESS = re.compile(r'(\x1b\[[0-9;]*[A-Za-z]|\r[^\n]*|[^\n]*\|[█▏▎▍▌▋▊▉ ]*\|[^\n]*it/s\][^\n]*)')
TQDM_BAR = re.compile(r'^[^\n]*\[(\d+:)?\d\d:\d\d(<[^,\]\n]*)?, [^\]\n]*\]$')   # a tqdm meter: 'x:  40%|████  | 4/10 [00:01<00:02, 3.1it/s]', '0it [00:00, ?it/s]'
WIDGET = 'application/vnd.jupyter.widget-view+json'

def text(o:dict) -> str:
    t = o.get('text', '')
    return ''.join(t) if isinstance(t, list) else t

def is_timings(cell:dict) -> bool:
    "Is `cell` marked `#| timings` (its outputs contain timings: only their kinds are compared)?"
    src = ''.join(cell.get('source', ''))
    return src.lstrip().startswith('#| timings') or '\n#| timings' in src

def is_progress_widget(o:dict) -> bool:
    "A tqdm bar drawn as a widget (tqdm.auto in a Jupyter kernel); outside a kernel the same bar is a stderr stream."
    data = o.get('data', {})
    plain = data.get('text/plain', ''); plain = ''.join(plain) if isinstance(plain, list) else plain
    return WIDGET in data and bool(TQDM_BAR.match(plain.strip()))

def canonical(outputs:list) -> list:
    """`outputs` in the order nbdev's test shell records them: all of stdout as one stream, all of stderr as one, errors,
    the displays in their order, then the cell's result. A Jupyter kernel (nbclient, Colab) records the same outputs
    interleaved as they happened, a stream split in chunks, the result before the figures that the inline backend
    shows when the cell ends, and tqdm bars as widgets: only that order, that split and the bars' form are given up;
    each stream's text, each display, and the order of the displays among themselves are kept."""
    streams, errors, shown, result = {}, [], [], []
    for o in outputs:
        kind = o.get('output_type')
        if kind == 'stream': streams[o.get('name')] = streams.get(o.get('name'), '') + text(o)
        elif kind == 'error': errors.append(o)
        elif kind == 'execute_result': result.append(o)
        elif kind == 'display_data' and not is_progress_widget(o): shown.append(o)
    return [{'output_type': 'stream', 'name': n, 'text': streams[n]} for n in ('stdout', 'stderr') if n in streams] + errors + shown + result

def normalized(outputs:list, timings:bool) -> list:
    "What must not change between two runs of a cell."
    out = []
    for o in canonical(outputs):
        kind = o.get('output_type')
        if kind == 'stream':
            t = PROGRESS.sub('', text(o))
            t = re.sub(r'(?m)^[WIE]\d{4} \d\d:\d\d:\d\d\.\d+ .*\n?', '', t)   # log lines of torch and friends carry timestamps
            if not t.strip(): continue
            out.append(('stream', o.get('name'), None if timings else TIMES.sub('…', re.sub(r'0x[0-9a-f]{6,}', '0x…', t))))
        elif kind in ('display_data', 'execute_result'):
            data = o.get('data', {})
            for mime in sorted(data):
                v = data[mime]; v = ''.join(v) if isinstance(v, list) else v
                if mime == WIDGET: v = 'widget'
                elif mime.startswith('image/'): v = ('image', v)
                elif isinstance(v, str): v = TIMES.sub('…', re.sub(r'0x[0-9a-f]{6,}', '0x…', v))
                out.append((kind, mime, None if timings and not mime.startswith('image/') else v))
        elif kind == 'error': out.append(('error', o.get('ename'), o.get('evalue')))
    return out

def same_image(a:str, b:str) -> bool:
    if a == b: return True
    import numpy as np
    from PIL import Image
    x, y = (np.asarray(Image.open(io.BytesIO(base64.b64decode(v))).convert('RGB'), dtype=float) for v in (a, b))
    return x.shape == y.shape and np.abs(x - y).mean() < 1.0

def differences(saved:list, fresh:list) -> str|None:
    "Why the normalized outputs `fresh` differ from `saved`, or None."
    if len(saved) != len(fresh): return f'{len(saved)} saved outputs, {len(fresh)} now'
    for s, f in zip(saved, fresh):
        if s[:2] != f[:2]: return f'output {s[:2]} became {f[:2]}'
        if isinstance(s[2], tuple) and isinstance(f[2], tuple):
            if not same_image(s[2][1], f[2][1]): return f'the {s[1]} image changed'
        elif s[2] != f[2]:
            a, b = str(s[2]), str(f[2])
            i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
            return f'{s[1]} changed at character {i}: saved {a[max(0, i - 40):i + 60]!r}, now {b[max(0, i - 40):i + 60]!r}'
    return None

def compare(cells:list, fresh:dict) -> list[str]:
    """The check: for each of the saved `cells` (a notebook's cells, as dicts) that ran, why its saved outputs differ
    from `fresh[its id]` (the outputs of that run, from nbdev's test shell or from a Jupyter kernel); [] if none do.
    Cells that did not run (skipped by their flags, markdown) are not compared."""
    problems = []
    for c in cells:
        if c.get('id') not in fresh: continue
        t = is_timings(c)
        if why := differences(normalized(c.get('outputs', []), t), normalized(fresh[c['id']], t)): problems.append(f'cell {c["id"]}: {why}')
    return problems

def run(path:str, check:bool, timeout:int) -> tuple[str, list[str], float]:
    "Execute one notebook; save its outputs, or compare them with the saved ones. (name, problems, seconds)"
    multiprocessing.set_start_method('fork', force=True)   # DataLoader workers in the notebooks fork, as under nbdev-test
    path = Path(path)
    nb = json.loads(path.read_text())
    # outputs are matched to cells by id: a cell without one (e.g. added by a script) would be neither saved nor checked
    if missing := [i for i, c in enumerate(nb['cells']) if 'id' not in c]:
        return path.name, [f'cells {missing} have no id, so their outputs can be neither saved nor checked: run nbdev-clean --fname {path} first'], 0.
    try: fresh, ran, secs = execute(path, timeout)
    except Exception as e: return path.name, [f'raised {type(e).__name__}: {str(e)[-2000:]}'], 0.
    if check: return path.name, compare(nb['cells'], fresh), secs
    for c in nb['cells']:
        if c.get('id') in fresh: c['outputs'] = fresh[c['id']]
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
    return path.name, [], secs

RUNTIMES = ROOT/'nbs'/'runtimes.json'

def record_runtimes(times:dict):
    "Write each chapter's measured run time (seconds, top to bottom, slow cells skipped) and its machine into nbs/runtimes.json."
    import platform
    data = json.loads(RUNTIMES.read_text()) if RUNTIMES.exists() else {'machines': {}, 'seconds': {}}
    cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), platform.processor()) \
        if Path('/proc/cpuinfo').exists() else platform.processor()
    machine = {'cpu': f'{cpu}, {os.cpu_count()} cores', 'build': platform.release()}   # the build tells apart machines of one CPU name
    data['seconds'].update({k: round(v) for k, v in times.items()})
    data['machines'].update({k: machine for k in times})
    RUNTIMES.write_text(json.dumps(data, indent=1, sort_keys=True) + '\n')
    if len({json.dumps(m, sort_keys=True) for m in data['machines'].values()}) > 1:
        print('note: nbs/runtimes.json now holds run times from more than one machine (the README lists each machine on its own row); '
              're-execute every notebook on one quiet machine to compare them: python scripts/execute_nbs.py', flush=True)

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('notebooks', nargs='*', help='default: every notebook in nbs/')
    p.add_argument('--check', action='store_true', help='compare with the saved outputs instead of saving')
    p.add_argument('--n-workers', type=int, default=1, help='notebooks executed at once')
    p.add_argument('--timeout', type=int, default=600, help='seconds per cell')
    a = p.parse_args()
    nbs = a.notebooks or [str(f) for f in sorted((ROOT/'nbs').glob('*.ipynb'))]
    failed, times = [], {}
    # one fresh process per notebook: IPython's shell is a per-process singleton
    with ProcessPoolExecutor(a.n_workers, mp_context=multiprocessing.get_context('spawn'), max_tasks_per_child=1) as pool:
        for name, problems, secs in pool.map(run, nbs, [a.check] * len(nbs), [a.timeout] * len(nbs)):
            print(f"{name}: {'ok' if not problems else 'FAILED'} ({secs:.0f} s)", flush=True)
            for pr in problems: print(f'  {pr}', flush=True)
            if problems: failed.append(name)
            elif secs: times[name] = secs
    if not a.check:
        for nb in nbs: subprocess.run(['nbdev-clean', '--fname', nb], cwd=ROOT, check=True)
        record_runtimes(times)
        subprocess.run([sys.executable, str(ROOT/'scripts'/'sync_repo_url.py')], cwd=ROOT, check=True)   # the badges state the runtimes
    if failed:
        sys.exit(f"{len(failed)} notebook(s) {'have stale outputs or fail' if a.check else 'fail'}: {', '.join(failed)}. "
                 f"Re-execute with: python scripts/execute_nbs.py {' '.join('nbs/' + f for f in failed)}")

if __name__ == '__main__': main()
