"`rivit-train` as a user runs it, in a subprocess: Ctrl-C and resume; and the registry is the only place that spells model names."
import ast, json, os, re, signal, subprocess, sys, time
from pathlib import Path
from conftest import ROOT
from rivit.core import list_models, model_entry, MODEL_MODULES

ARGS = ['--model', list_models(family='report', embedding='conv', pos_enc='learned')[0], '--data', 'sample', '--size', 'tiny',
        '--epochs', '3', '--batch-size', '50', '--eval-res', '96', '--workers', '1']

def test_ctrl_c_says_what_is_safe_and_resume_finishes(tmp_path):
    out = tmp_path/'run'
    p = subprocess.Popen([sys.executable, '-m', 'rivit.train', *ARGS, '--out', str(out)], cwd=tmp_path, start_new_session=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as in a terminal (a background job ignores it)
    deadline = time.time() + 600
    while not (out/'checkpoint.pt').exists() and p.poll() is None and time.time() < deadline: time.sleep(0.2)
    assert p.poll() is None, p.communicate()
    os.killpg(p.pid, signal.SIGINT)                      # Ctrl-C in a terminal reaches the whole process group
    stdout, stderr = p.communicate(timeout=120)
    assert p.returncode == 130, (stdout, stderr)
    assert 'Traceback' not in stderr, stderr
    assert stderr.strip().splitlines()[-1] == f'rivit-train: interrupted after epoch 1: rerun with --resume to continue from {out}/checkpoint.pt'
    assert not (out/'results.json').exists()
    # the same command with --resume and no settings repeated: the checkpoint's settings are used
    done = subprocess.run([sys.executable, '-m', 'rivit.train', '--resume', '--out', str(out)], cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert 'resuming' in done.stdout and 'after epoch 1' in done.stdout
    r = json.loads((out/'results.json').read_text())
    assert [h['epoch'] for h in r['history']] == [1, 2, 3] and [s['first_epoch'] for s in r['sittings']] == [1, 2]
    assert r['config']['model'] == ARGS[1]

def _strings(path):
    "The string constants of a Python file, without docstrings (prose)."
    tree = ast.parse(path.read_text())
    docs = {id(n.body[0].value) for n in ast.walk(tree) if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef))
            and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]

def test_model_names_live_in_the_registry():
    names = list_models()
    registering = {'core', *(m.split('.')[-1] for m in MODEL_MODULES)}   # chapter 4 and its explicit list of modules
    assert {model_entry(n).cls.__module__.split('.')[-1] for n in names} <= registering
    spelled = re.compile(r'(?<![\w-])(' + '|'.join(map(re.escape, names)) + r'|vanilla)(?![\w-])')
    files = [f for f in (ROOT/'rivit').glob('*.py') if f.stem not in registering | {'_modidx'}]
    files += sorted((ROOT/'benchmarks').glob('*.py')) + sorted((ROOT/'scripts').glob('*.py'))
    found = {f.name: s for f in files for s in _strings(f) if spelled.search(s)}
    assert not found, f'model names spelled outside the registry: {found}'
    shell = [l for l in (ROOT/'scripts'/'run_cpu_experiments.sh').read_text().splitlines() if not l.lstrip().startswith('#')]
    assert not [l for l in shell if spelled.search(l)]
