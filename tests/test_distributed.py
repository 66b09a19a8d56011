"The training loop under torchrun: two CPU processes (gloo) learn what one process learns from the same data."
import json, subprocess, sys
from pathlib import Path
import torch

COMMON = ['--model', 'conv-learned', '--data', 'sample', '--epochs', '2', '--batch-size', '20', '--size', 'tiny',
          '--eval-res', '128,160', '--workers', '0', '--lr', '2e-3']

def run(args, cwd, ok=True):
    p = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=900)
    assert (p.returncode == 0) == ok, p.stdout[-2000:] + p.stderr[-4000:]
    return p.stdout if ok else p.stderr

TORCHRUN = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', '-m', 'rivit.train']

def test_two_processes_match_one(tmp_path):
    one = tmp_path/'one'; two = tmp_path/'two'
    run([sys.executable, '-m', 'rivit.train', *COMMON, '--out', str(one)], tmp_path)
    out = run([*TORCHRUN, *COMMON, '--out', str(two)], tmp_path)
    assert out.count('accuracy per evaluation resolution') == 1           # only rank 0 reports
    r1, r2 = (json.loads((d/'results.json').read_text()) for d in (one, two))
    assert r2['environment']['world_size'] == 2 and r1['environment']['world_size'] == 1
    assert (r1['environment']['launcher'], r2['environment']['launcher']) == ('python', 'torchrun')
    assert 'torch.distributed.run' in r2['command'] and '--nproc_per_node 2' in r2['command'], r2['command']   # the command that ran
    for a, b in zip(r1['eval'], r2['eval']):                               # 50 validation images: one image is 0.02
        assert abs(a['acc'] - b['acc']) <= 0.02, (r1['eval'], r2['eval'])
    for a, b in zip(r1['history'], r2['history']):
        assert abs(a['train_loss'] - b['train_loss']) < 1e-3, (r1['history'], r2['history'])
    w1, w2 = (torch.load(d/'checkpoint.pt', weights_only=True)['model'] for d in (one, two))
    for k in w1:                                                            # same gradients up to summation order
        torch.testing.assert_close(w1[k], w2[k], atol=1e-4, rtol=1e-3, msg=k)
    # a resumed run keeps its number of processes, and every error line is said once, by rank 0
    err = run([sys.executable, '-m', 'rivit.train', '--resume', '--out', str(two)], tmp_path, ok=False)
    assert err.strip().splitlines()[-1].startswith(f'rivit-train: error: {two}/checkpoint.pt was trained by 2 process(es) and this run has 1')
    err = run([*TORCHRUN, *COMMON, '--out', str(one)], tmp_path, ok=False)
    assert err.count('already holds a run') == 1, err[-3000:]
    assert json.loads((two/'results.json').read_text())['sittings'][0]['processes'] == 2

def test_killing_torchrun_ends_its_workers(tmp_path):
    "A second torchrun job on the folder is refused; kill -9 of torchrun itself: its workers get SIGTERM (PR_SET_PDEATHSIG) and stop."
    import os, signal, time
    out = tmp_path/'run'
    p = subprocess.Popen([*TORCHRUN, *COMMON[:5], '1000', *COMMON[6:], '--out', str(out)], cwd=tmp_path,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while not (out/'checkpoint.pt').exists() and time.time() < deadline: time.sleep(0.5)
    workers = subprocess.run(['pgrep', '-P', str(p.pid)], capture_output=True, text=True).stdout.split()
    assert len(workers) == 2, workers
    # a second torchrun job into the same folder is refused while the first holds it, said once
    err = run([*TORCHRUN, *COMMON, '--out', str(out)], tmp_path, ok=False)
    assert err.count('is in use by another run') == 1, err[-3000:]
    os.kill(p.pid, signal.SIGKILL); p.wait()
    deadline = time.time() + 60
    while any(Path(f'/proc/{w}').exists() and 'zombie' not in Path(f'/proc/{w}/status').read_text() for w in workers) \
            and time.time() < deadline: time.sleep(0.5)
    alive = [w for w in workers if Path(f'/proc/{w}').exists() and 'zombie' not in Path(f'/proc/{w}/status').read_text()]
    os.killpg(p.pid, signal.SIGKILL) if alive else None
    assert not alive, f'workers {alive} outlived torchrun'
