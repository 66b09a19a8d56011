"benchmarks/gpu_check.py's shrunk CPU mode, run as a user runs it (a subprocess, CUDA hidden): what its JSON holds."
import importlib.util, json, math, os, subprocess, sys
from dataclasses import asdict
from conftest import ROOT
from rivit.experiments import MODELS, SCALES

SCRIPT = ROOT/'benchmarks'/'gpu_check.py'

def load_script():
    "The script as a module (benchmarks/ is no package), for its settings and its projection formula."
    spec = importlib.util.spec_from_file_location('gpu_check', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

def test_shrunk_cpu_run_records_every_model(tmp_path):
    out = tmp_path/'check.json'
    # one thread: on a busy machine torch's second thread spins on a shared core (there it took 45 s instead of 6 s)
    env = {**os.environ, 'CUDA_VISIBLE_DEVICES': '', 'TQDM_DISABLE': '1', 'OMP_NUM_THREADS': '1'}
    run = subprocess.run([sys.executable, str(SCRIPT), '--steps', '2', '--warmup-steps', '1', '--workers', '0',
                          '--data', str(tmp_path/'no-such-folder'), '--out', str(out)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    r, gc = json.loads(out.read_text()), load_script()
    shrunk = gc.SETTINGS['shrunk']

    assert r['device'] == 'cpu' and r['shrunk'] is True and r['complete'] is True and r['gpu'] is None
    assert r['data']['used'] == 'sample' and r['data']['train_images'] > 0 and r['data']['val_images'] > 0
    assert r['eval_res'] == max(shrunk.overrides['eval_res'])
    assert r['settings']['steps'] == 2 and r['settings']['warmup_steps'] == 1
    assert r['torch'] and r['command'].endswith(f'--out {out}') and len(r['git_commit']) == 40
    assert out.with_suffix('.txt').read_text().count('\n') >= len(MODELS) + 2

    assert [row['model'] for row in r['models']] == list(MODELS)
    run_cfg = {**asdict(SCALES['gpu']), **shrunk.overrides}   # the projection prices the run the check's settings describe
    final_passes = len(run_cfg['eval_res']) + sum(res > max(run_cfg['train_res']) for res in run_cfg['eval_res'])
    for row in r['models']:
        assert 'error' not in row and 'skipped' not in row, row
        assert row['steps_done'] == 2 and row['steps_timed'] == 1 and row['stopped_early'] is False
        assert row['train_images_per_s'] > 0 and row['eval_images_per_s'] > 0 and row['val_seconds_per_epoch'] > 0
        assert row['eval_res'] == r['eval_res'] and row['amp'] is False
        assert row['train_peak_mib'] is None and row['eval_peak_mib'] is None        # no GPU memory to measure
        assert math.isclose(row['train_images_per_s'], shrunk.overrides['batch_size'] / row['timed_s'], rel_tol=0.01)
        assert math.isclose(row['eval_images_per_s'], r['data']['val_images'] / row['eval_seconds'], rel_tol=0.01)
        p = row['projection']
        assert (p['epochs'], p['train_images'], p['val_images'], p['final_eval_passes']) == \
               (run_cfg['epochs'], r['data']['train_images'], r['data']['val_images'], final_passes)
        seconds = (p['epochs'] * p['train_images'] / row['train_images_per_s']
                   + p['epochs'] * row['val_seconds_per_epoch']
                   + p['final_eval_passes'] * p['val_images'] / row['eval_images_per_s'])
        assert math.isfinite(p['hours']) and p['hours'] > 0
        assert math.isclose(p['hours'], seconds / 3600, rel_tol=1e-3, abs_tol=1e-4)
        assert math.isclose(gc.projected_hours(row, p), seconds / 3600)
