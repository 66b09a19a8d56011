"Files you can trust: no file runs code, no run is lost or mixed up, and nothing fails after the compute is spent."
import json, os, shutil, signal, subprocess, sys, time
from pathlib import Path
from unittest import mock
import pytest
import torch
from rivit.core import list_models
from rivit.data import sample_dir
from rivit.config import TrainConfig
from rivit.train import TrainingInterrupted, fit
from rivit.checkpoint import CheckpointError, load_model, locked_output
from rivit.experiments import run_experiment, experiment_config

PLAIN = list_models(family='report', embedding='patch', pos_enc='learned')[0]   # the cheapest model to train
SMALL = dict(model=PLAIN, size='tiny', epochs=1, batch_size=50, train_res=(64,), eval_res=(64,), workers=0)
ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'TQDM_DISABLE': '1'}

def train_cli(*args, cwd, env=ENV):
    return subprocess.run([sys.executable, '-m', 'rivit.train', *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env=env)

def last_line(p): return p.stderr.strip().splitlines()[-1]

def one_line_error(p, expected):
    assert p.returncode == 1, (p.stdout[-1000:], p.stderr[-2000:])
    assert 'Traceback' not in p.stderr and expected in last_line(p), p.stderr[-2000:]

@pytest.fixture(scope='module')
def data(tmp_path_factory):
    "A copy of the shipped sample that a test may change."
    root = tmp_path_factory.mktemp('data')/'sample'
    shutil.copytree(sample_dir(), root)
    return root

@pytest.fixture(scope='module')
def finished(tmp_path_factory, data):
    "A finished one-epoch run on the copy of the sample."
    out = tmp_path_factory.mktemp('runs')/'done'
    fit(TrainConfig(**SMALL, data=str(data), out=str(out)))
    return out

# --- no code runs from a file -----------------------------------------------------------------------------------
def crafted_files(folder):
    class Payload:
        def __reduce__(self): return (os.system, (f'touch {folder}/pwned',))
    torch.save({'model': {}, 'model_config': {}, 'payload': Payload()}, folder/'pickled.pt')
    torch.save({'model': {}, 'model_class': 'subprocess.getoutput', 'model_config': {'cmd': f'touch {folder}/pwned'}},
               folder/'recipe.pt')

@pytest.mark.parametrize('name, expected', [('pickled.pt', 'holds a Python object (posix.system)'),
                                            ('recipe.pt', 'subprocess.getoutput is not a class rivit can rebuild')])
def test_a_weights_file_runs_no_code(tmp_path, name, expected):
    crafted_files(tmp_path)
    with mock.patch.dict(os.environ, TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD='1'):   # as torch < 2.6 behaved
        with pytest.raises(CheckpointError, match=expected.replace('(', r'\(').replace(')', r'\)')): load_model(tmp_path/name)
    assert not (tmp_path/'pwned').exists()

def test_resume_from_a_pickle_payload_runs_no_code(tmp_path, data):
    crafted_files(tmp_path)
    (tmp_path/'run').mkdir(); shutil.copy(tmp_path/'pickled.pt', tmp_path/'run'/'checkpoint.pt')
    p = train_cli('--resume', '--data', str(data), '--out', str(tmp_path/'run'), cwd=tmp_path,
                  env={**ENV, 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD': '1'})
    one_line_error(p, 'holds a Python object (posix.system)')
    assert not (tmp_path/'pwned').exists()

# --- no run is lost or mixed up ----------------------------------------------------------------------------------
def test_two_runs_on_one_folder(tmp_path, data):
    out, args = tmp_path/'run', ['--model', PLAIN, '--size', 'tiny', '--data', str(data), '--epochs', '100000',
                                 '--batch-size', '50', '--train-res', '64', '--eval-res', '64', '--workers', '0']
    first = subprocess.Popen([sys.executable, '-m', 'rivit.train', *args, '--out', str(out)], cwd=tmp_path, env=ENV,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.time() + 300
        while not (out/'checkpoint.pt').exists() and first.poll() is None and time.time() < deadline: time.sleep(0.2)
        assert first.poll() is None, first.communicate()
        for extra in ([], ['--resume'], ['--overwrite']):
            one_line_error(train_cli(*args, *extra, '--out', str(out), cwd=tmp_path), 'is in use by another run')
    finally:
        os.killpg(first.pid, signal.SIGKILL); first.wait()
    with locked_output(out): pass     # kill -9 leaves no stale lock: the OS released it with the process

def change_data(root, how):
    train = root/'train'
    a, b = sorted(p for p in train.iterdir() if p.is_dir())[:2]
    if how == 'swap two class folders': a.rename(train/'tmp'); b.rename(a); (train/'tmp').rename(b)
    if how == 'rename a class folder':
        for split in ('train', 'val'): (root/split/a.name).rename(root/split/'n99999999')
    if how == 'add 16 images':
        for i, f in enumerate(sorted(a.iterdir())[:16]): shutil.copy(f, a/f'copy{i}.JPEG')
    if how == 'delete 4 images':
        for f in sorted(a.iterdir())[:4]: f.unlink()

@pytest.mark.parametrize('how, expected', [('swap two class folders', 'train/ has the same number of images (200) but other'),
                                           ('rename a class folder', 'the class folders differ'),
                                           ('add 16 images', 'train/ has 216 images, the run used 200'),
                                           ('delete 4 images', 'train/ has 196 images, the run used 200')])
def test_resume_on_other_data_is_refused(tmp_path, data, finished, how, expected):
    changed = tmp_path/'data'                                 # the run's own data folder, changed in place
    shutil.copytree(data, changed); shutil.copytree(finished, tmp_path/'run')
    fit_config = json.loads((finished/'results.json').read_text())['config']
    cfg = TrainConfig(**{**fit_config, 'data': str(changed), 'out': str(tmp_path/'run'), 'train_res': (64,), 'eval_res': (64,)})
    ckpt = torch.load(tmp_path/'run'/'checkpoint.pt', weights_only=True)
    ckpt['config']['data'] = str(changed)                     # as if it had been trained on `changed`
    torch.save(ckpt, tmp_path/'run'/'checkpoint.pt')
    change_data(changed, how)
    p = train_cli('--resume', '--out', str(tmp_path/'run'), cwd=tmp_path)
    one_line_error(p, 'was trained on other data')
    assert expected in last_line(p), last_line(p)
    with pytest.raises(CheckpointError, match='was trained on other data'): fit(cfg, resume=True)

def test_overwrite_keeps_the_old_run_until_the_new_one_finishes(tmp_path, data, finished):
    out = tmp_path/'run'; shutil.copytree(finished, out)
    old = (out/'results.json').read_text()
    def interrupt(epoch): raise KeyboardInterrupt
    cfg = TrainConfig(**{**SMALL, 'epochs': 2}, data=str(data), out=str(out))
    with pytest.raises(TrainingInterrupted): fit(cfg, overwrite=True, on_epoch_end=interrupt)
    assert (out/'replaced'/'results.json').read_text() == old and not (out/'results.json').exists()
    with pytest.raises(ValueError, match='give only one of them'): fit(cfg, resume=True, overwrite=True)
    fit(cfg, resume=True)
    assert not (out/'replaced').exists() and json.loads((out/'results.json').read_text())['config']['epochs'] == 2

def test_stale_and_cut_short_results_under_rivit_experiments(tmp_path, data):
    run = lambda **kw: run_experiment(experiment_config('cpu', PLAIN, root=str(tmp_path), data=str(data), workers=0,
                                                        train_res=(64,), eval_res=(64,), batch_size=50, **kw))
    first = run(epochs=1)
    with pytest.raises(CheckpointError, match=r'other settings or data: --epochs 1 \(now 2\).*--overwrite'): run(epochs=2)
    results = tmp_path/'cpu'/PLAIN/'results.json'
    results.write_text('')                                    # what a full disk left behind
    again = run(epochs=1)                                    # unfinished: resumed, so only the evaluation runs again
    assert again['eval'] == first['eval'] and json.loads(results.read_text())['eval'] == first['eval']
    cli = subprocess.run([sys.executable, '-m', 'rivit.experiments', '--models', PLAIN, '--data', str(data), '--epochs', '3',
                          '--root', str(tmp_path)], cwd=tmp_path, capture_output=True, text=True, env=ENV, timeout=600)
    assert cli.returncode == 1 and last_line(cli).startswith(f'rivit-experiments: {PLAIN}: error:') and '--out' not in cli.stderr

# --- nothing fails after the compute is spent ----------------------------------------------------------------------
def test_bad_input_is_refused_before_training(tmp_path, data):
    mismatched = tmp_path/'mismatched'; shutil.copytree(data, mismatched)
    first = sorted((mismatched/'val').iterdir())[0]; first.rename(first.parent/'n00000001')
    one_line_error(train_cli('--data', str(mismatched), '--out', 'x', cwd=tmp_path),
                   f'different class folders (only in train/: {first.name}; only in val/: n00000001)')
    one_line_error(train_cli('--model', PLAIN, '--data', str(data), '--train-res', '60', '--out', 'x', cwd=tmp_path),
                   '--train-res 60 px is not a multiple of the 8 px patches')
    one_line_error(train_cli('--model', PLAIN, '--data', str(data), '--eval-res', '96,4096', '--out', 'x', cwd=tmp_path),
                   '--eval-res 4096 px needs about')
    one_line_error(train_cli('--resume', '--overwrite', '--out', 'x', cwd=tmp_path), 'give only one of them')

def test_interrupted_evaluation_is_finished_by_resume(tmp_path, data):
    cfg = TrainConfig(**SMALL, data=str(data), out=str(tmp_path/'run'))
    with mock.patch('rivit.train.finish', side_effect=KeyboardInterrupt):   # Ctrl-C in the final evaluation
        with pytest.raises(TrainingInterrupted, match='interrupted in the final evaluation, after epoch 1: rerun with --resume'):
            fit(cfg)
    assert not (tmp_path/'run'/'results.json').exists()
    assert fit(cfg, resume=True)['history'][0]['epoch'] == 1

def test_sigterm_is_an_interruption(tmp_path, data):
    out = tmp_path/'run'
    p = subprocess.Popen([sys.executable, '-m', 'rivit.train', *[a for k, v in SMALL.items() for a in
                         (f"--{k.replace('_', '-')}", ','.join(map(str, v)) if isinstance(v, tuple) else str(v))],
                          '--epochs', '100000', '--data', str(data), '--out', str(out)], cwd=tmp_path, env=ENV,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while not (out/'checkpoint.pt').exists() and p.poll() is None and time.time() < deadline: time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=300)
    assert p.returncode == 130 and 'Traceback' not in err, err[-2000:]
    assert err.strip().splitlines()[-1].startswith('rivit-train: interrupted after epoch'), err[-500:]

def small_tmpfs(path, megabytes):
    path.mkdir()
    if os.geteuid() != 0 or subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={megabytes}m', 'tmpfs', str(path)]).returncode:
        pytest.skip('mounting a small tmpfs needs root')
    return path

def test_full_disk_while_writing_results(tmp_path, data):
    disk = small_tmpfs(tmp_path/'disk', 40)
    try:
        out, filler = disk/'run', disk/'filler'
        def fill(epoch):                                     # the disk fills up after the last epoch's checkpoint
            with open(filler, 'wb') as f:
                try:
                    while True: f.write(b'0' * 2**20); f.flush()
                except OSError: pass
        cfg = TrainConfig(**SMALL, data=str(data), out=str(out))
        with pytest.raises(CheckpointError, match=r'could not write .*predictions.json \(the disk is full\).*--resume'):
            fit(cfg, on_epoch_end=fill)
        assert not (out/'results.json').exists() and not list(out.glob('.*.tmp'))   # no 0-byte or half-written file
        filler.unlink()
        fit(cfg, resume=True)                                # --resume evaluates the trained model again
        assert json.loads((out/'results.json').read_text())['history'][0]['epoch'] == 1
    finally:
        subprocess.run(['umount', str(disk)])
