"""A prepared check of chapter 7's gpu scale on a GPU: can its six models train and evaluate there, and in how long?

Run it as one command on a CUDA machine (one H100 or similar; no internet needed; about 6-7 minutes):

    python benchmarks/gpu_check.py --data ../shared/data/imagenette2-224

`--data` is an ImageFolder root with train/ and val/ (default: $RIVIT_DATA, else ../shared/data/imagenette2-224 beside
the repository); when it does not exist the check falls back to the sample shipped with rivit and records that.

For each of the report's six models (`rivit.experiments.MODELS`), built and trained as the gpu scale's `rivit-train`
run builds and trains it (`SCALES['gpu']`: base size, 96/128/160 px, batch 128, AdamW with its warm-up schedule,
mixed precision, the device data pipeline of `training_loaders`), it takes `--steps` optimizer steps with rivit's own
`train_one_epoch`, stopping early when the model's time budget runs out (recorded), then evaluates with rivit's
`evaluate`. It records per model:

- training images/s: images per optimizer step (each seen at every training resolution) over the wall time of the
  steps after the warm-up steps, batches fetched and augmented by the real loader included;
- validation seconds per epoch: one pass of `evaluate_resolutions` at the training resolutions, as every epoch runs;
- evaluation images/s at the largest test resolution (320 px), on the device path (the last of `eval_repeats` passes);
- peak GPU memory (`torch.cuda.max_memory_allocated`, reset before each phase) in training and in that evaluation;
- the projected hours of the model's whole gpu-scale run (`projected_hours`; shrunk: of the shrunk settings' run).

The JSON (default benchmarks/results/gpu_check_<gpu-name>.json, and the printed table beside it as .txt) also holds the
GPU name, torch/CUDA versions, the command line, the git commit and the data used. It is rewritten after every model,
so a run cut short keeps what it measured (`"complete": false`).

Without CUDA the same code runs SHRUNK (`SETTINGS['shrunk']`: tiny models, the shipped sample, a few steps, a small
evaluation resolution, CPU timings, peak memory null): a smoke run of the code path (tests/test_gpu_check.py), whose
JSON says `"device": "cpu", "shrunk": true`. `--shrunk` forces it on CUDA too (a one-minute dry run).
"""
import argparse, datetime, json, os, re, resource, shlex, sys, time, traceback
from dataclasses import dataclass, field, asdict, replace
from pathlib import Path
import torch
import rivit.train
from rivit.core import create_model, model_entry
from rivit.data import get_datasets, set_epoch, DecodedImages, DeviceLoader
from rivit.experiments import MODELS, SCALES
from rivit.config import TrainConfig
from rivit.data import training_loaders
from rivit.train import MultiResolutionLoss, make_optimizer, train_one_epoch, evaluate, evaluate_resolutions, finite
from rivit.checkpoint import environment

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = os.environ.get('RIVIT_DATA', str(ROOT.parent/'shared'/'data'/'imagenette2-224'))


@dataclass(frozen=True)
class CheckSettings:
    "What one mode of the check runs: `rivit-train` settings over the gpu scale's; the check's own steps and budgets."
    overrides: dict = field(default_factory=dict)   # TrainConfig fields over SCALES['gpu']; the top eval_res is timed
    steps: int = 300                 # optimizer steps per model
    warmup_steps: int = 30           # steps not timed (kernel selection, allocator growth)
    train_budget_s: float = 35.      # seconds of training per model at most (but at least warm-up + MIN_TIMED steps)
    total_budget_s: float = 360.     # seconds from start after which no further model is started (recorded as skipped)
    eval_repeats: int = 2            # passes of each evaluation; the last is timed
    sample: bool = False             # always use the shipped sample


SETTINGS = {
    'full': CheckSettings(),
    'shrunk': CheckSettings(overrides=dict(size='tiny', train_res=(64, 80, 96), eval_res=(64, 80, 96, 128),
                                           batch_size=8, latent_size=40),
                            steps=4, warmup_steps=1, train_budget_s=60., total_budget_s=600., eval_repeats=1,
                            sample=True),
}
MIN_TIMED = 5  # steps timed after the warm-up even when the budget has run out


# --- settings and data ------------------------------------------------------------------------------------------

def train_config(model:str, settings:CheckSettings, data:str, workers:int|None) -> TrainConfig:
    "The gpu scale's `rivit-train` config of `model` (the model's own settings included), with the mode's overrides."
    cfg = replace(SCALES['gpu'], model=model, **{**model_entry(model).train_settings, **settings.overrides,
                                                 'data': data, 'workers': workers, 'out': os.devnull})
    cfg.check()
    return cfg


def choose_data(requested:str, settings:CheckSettings) -> dict:
    "Which data the check uses: the requested ImageFolder, or the shipped sample when shrunk or when it is missing."
    found = (Path(requested)/'train').is_dir() and (Path(requested)/'val').is_dir()
    used = requested if found and not settings.sample else 'sample'
    return {'requested': requested, 'used': used, 'fallback': used == 'sample' and not settings.sample}


@dataclass
class Loaders:
    "What every model sees: `training_loaders`' training and per-epoch validation loaders, and the evaluation loader."
    train: DeviceLoader
    val: dict
    eval: DeviceLoader
    train_images: int
    val_images: int
    num_classes: int
    decode_s: float


def build_loaders(cfg:TrainConfig, device, workers:int) -> Loaders:
    "The images decoded once (rivit-train's device pipeline) for all models; the evaluation cache at the top eval_res."
    t, top = time.perf_counter(), max(cfg.eval_res)
    train_ds, eval_ds = get_datasets(cfg.data, cfg.train_res, sorted({*cfg.train_res, top}), cfg.download_dir, cfg.seed)
    train, val = training_loaders(train_ds, eval_ds, pipeline=cfg.pipeline, train_res=cfg.train_res,
                                  batch_size=cfg.batch_size, workers=cfg.workers, seed=cfg.seed, device=device)
    test = eval_ds[top]   # cached as training_loaders caches its validation images
    cache = DecodedImages(test.samples, test.classes, top, crop=True, workers=workers)
    test = DeviceLoader(cache, cfg.batch_size, False, (top,), device, cfg.seed)
    return Loaders(train, val, test, len(train_ds), len(eval_ds[top]), len(train_ds.classes), time.perf_counter() - t)


# --- clocks and memory ------------------------------------------------------------------------------------------

def sync(device):
    if device.type == 'cuda': torch.cuda.synchronize(device)


def reset_peak(device):
    "Start a phase: wait for the GPU, forget the previous peak."
    sync(device)
    if device.type == 'cuda': torch.cuda.reset_peak_memory_stats(device)


def mib(n:float) -> float: return round(n / 2**20, 1)


def peak_mib(device) -> float|None:
    "The phase's peak of allocated GPU memory in MiB (None on CPU)."
    return mib(torch.cuda.max_memory_allocated(device)) if device.type == 'cuda' else None


def allocated_mib(device) -> float|None:
    return mib(torch.cuda.memory_allocated(device)) if device.type == 'cuda' else None


class StepClock:
    "Batches of `loader`, epoch after epoch, for `steps` steps or until `budget_s` runs out; when each step ended."
    def __init__(self, loader, steps:int, warmup:int, budget_s:float, device):
        self.loader, self.steps, self.warmup, self.budget_s, self.device = loader, steps, warmup, budget_s, device
        self.marks = []   # marks[k]: when step k-1 had finished, before batch k is fetched (marks[0]: the start)

    def __len__(self): return self.steps

    def _batches(self):
        epoch = 0
        while True:
            epoch += 1
            set_epoch(self.loader, epoch)   # a new shuffle and new augmentations, as each epoch of rivit-train
            n = 0
            for n, batch in enumerate(self.loader, 1): yield batch
            if not n: raise ValueError('the training loader gave no batch')

    def _stop(self) -> bool:
        done = len(self.marks) - 1
        out_of_time = self.marks[-1] - self.marks[0] > self.budget_s and done >= self.warmup + MIN_TIMED
        return done >= self.steps or out_of_time

    def __iter__(self):
        self.marks, batches = [], self._batches()
        while True:
            sync(self.device); self.marks.append(time.perf_counter())
            if self._stop(): return
            yield next(batches)

    def timing(self) -> dict:
        "Steps done, steps timed (after the warm-up), their seconds, and whether the budget stopped the training."
        done = len(self.marks) - 1
        return {'steps_done': done, 'steps_timed': done - self.warmup, 'stopped_early': done < self.steps,
                'timed_s': round(self.marks[-1] - self.marks[self.warmup], 3),
                'train_s': round(self.marks[-1] - self.marks[0], 3)}


def timed(fn, device, repeats:int):
    "fn() `repeats` times; (its last result, the seconds of the last call)."
    for _ in range(repeats):
        sync(device); t = time.perf_counter()
        result = fn()
        sync(device); seconds = time.perf_counter() - t
    return result, seconds


# --- one model --------------------------------------------------------------------------------------------------

def train_phase(model, cfg:TrainConfig, data:Loaders, settings:CheckSettings, budget_s:float, device) -> dict:
    "Train with rivit's optimizer, schedule and loop for the mode's steps (or the budget); speed and peak memory."
    optimizer, scheduler, scaler, amp = make_optimizer(model, cfg, len(data.train), device)
    clock = StepClock(data.train, settings.steps, settings.warmup_steps, budget_s, device)
    reset_peak(device)
    loss_fn = MultiResolutionLoss(cfg.label_smoothing, cfg.distill)
    loss, acc = train_one_epoch(model, clock, optimizer, scheduler, device, loss_fn=loss_fn, scaler=scaler, amp=amp,
                                grad_clip=cfg.grad_clip, desc=cfg.model)
    t = clock.timing()
    return {'steps_asked': settings.steps, 'warmup_steps': settings.warmup_steps, **t, 'budget_s': round(budget_s, 1),
            'train_images_per_s': round(cfg.batch_size * t['steps_timed'] / t['timed_s'], 2),
            'train_peak_mib': peak_mib(device), 'train_loss': loss, 'train_acc': acc, 'amp': amp}


def eval_phase(model, cfg:TrainConfig, data:Loaders, settings:CheckSettings, amp:bool, device) -> dict:
    "An epoch's validation at the training resolutions, then the evaluation at the top test resolution: speed, memory."
    val, val_s = timed(lambda: evaluate_resolutions(model, data.val, device, amp)[0], device, settings.eval_repeats)
    reset_peak(device)
    base = allocated_mib(device)
    (loss, acc, _), eval_s = timed(lambda: evaluate(model, data.eval, device, amp), device, settings.eval_repeats)
    return {'val_seconds_per_epoch': round(val_s, 4), 'val_acc': {r['res']: r['acc'] for r in val},
            'eval_res': max(cfg.eval_res), 'eval_seconds': round(eval_s, 4),
            'eval_images_per_s': round(data.val_images / eval_s, 2), 'eval_peak_mib': peak_mib(device),
            'eval_allocated_before_mib': base, 'eval_loss': loss, 'eval_acc': acc}


def final_eval_passes(cfg:TrainConfig) -> int:
    "Passes over the validation set after training (`finish`): each test resolution, and resized down above training's."
    return len(cfg.eval_res) + sum(r > max(cfg.train_res) for r in cfg.eval_res)


def projected_hours(row:dict, p:dict) -> float:
    """Hours of one model's whole run at the check's settings (the gpu scale unless shrunk), from its measured speeds:
    (epochs × train_images / train_images_per_s + epochs × val_seconds_per_epoch
     + final_eval_passes × val_images / eval_images_per_s) / 3600.
    The final passes are priced at the largest test resolution's speed (an upper bound); decoding is not included."""
    seconds = (p['epochs'] * p['train_images'] / row['train_images_per_s'] + p['epochs'] * row['val_seconds_per_epoch']
               + p['final_eval_passes'] * p['val_images'] / row['eval_images_per_s'])
    return seconds / 3600


def check_model(name:str, settings:CheckSettings, data:Loaders, data_used:str, workers:int, budget_s:float,
                device) -> dict:
    "Build, train and evaluate one model as the gpu scale would; its row of measurements."
    cfg = train_config(name, settings, data_used, workers)
    torch.manual_seed(cfg.seed)
    model = create_model(cfg.model, cfg.size_name(), num_classes=data.num_classes, train_res=cfg.train_res,
                         patch_size=cfg.patch_size, latent_size=cfg.latent_size).to(device)
    row = {'model': name, 'parameters': sum(p.numel() for p in model.parameters())}
    row |= train_phase(model, cfg, data, settings, budget_s, device)
    row |= eval_phase(model, cfg, data, settings, row['amp'], device)
    p = {'epochs': cfg.epochs, 'train_images': data.train_images, 'val_images': data.val_images,
         'final_eval_passes': final_eval_passes(cfg)}
    row['projection'] = {**p, 'hours': round(projected_hours(row, p), 4)}
    return row


# --- the run ----------------------------------------------------------------------------------------------------

def slug(text:str) -> str: return re.sub(r'[^a-z0-9]+', '-', text.lower()).strip('-')


def default_out(device, shrunk:bool) -> Path:
    name = slug(torch.cuda.get_device_name(device)) if device.type == 'cuda' else 'cpu'
    return ROOT/'benchmarks'/'results'/f"gpu_check_{name}{'_shrunk' if shrunk else ''}.json"


def header(device, shrunk:bool, settings:CheckSettings, data:dict, argv:list) -> dict:
    "What the JSON records besides the rows: device, versions, command, commit, data and settings."
    env = environment(device)
    return {'device': device.type, 'shrunk': shrunk, 'gpu': env.get('gpu'), 'torch': torch.__version__,
            'cuda': torch.version.cuda, 'cudnn': torch.backends.cudnn.version() if device.type == 'cuda' else None,
            'command': shlex.join(['python', 'benchmarks/gpu_check.py', *argv]), 'git_commit': env.get('git_commit'),
            'git_dirty': env.get('git_dirty'), 'environment': env,
            'started_utc': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S'),
            'data': data, 'settings': asdict(settings), 'min_timed_steps': MIN_TIMED,
            'eval_chunk': getattr(rivit.train, 'EVAL_CHUNK', None),   # images per forward pass of `evaluate`
            'projection_formula': ' '.join(projected_hours.__doc__.split()), 'models': [], 'complete': False}


def table(result:dict) -> str:
    "The printed summary: one line per model."
    lines = [f"{'model':<20} {'steps':>9} {'train img/s':>11} {'train MiB':>9} {'eval img/s':>10} {'eval MiB':>8} "
             f"{'hours':>6}"]
    for r in result['models']:
        if 'error' in r or 'skipped' in r:
            lines.append(f"{r['model']:<20} {r.get('error') or r['skipped']}"); continue
        steps = f"{r['steps_done']}/{r['steps_asked']}" + ('*' if r['stopped_early'] else '')
        mem = lambda v, w: f'{v:{w}.0f}' if v is not None else '-'.rjust(w)
        lines.append(f"{r['model']:<20} {steps:>9} {r['train_images_per_s']:11.1f} {mem(r['train_peak_mib'], 9)} "
                     f"{r['eval_images_per_s']:10.1f} {mem(r['eval_peak_mib'], 8)} {r['projection']['hours']:6.2f}")
    lines.append(f"eval at {result.get('eval_res')} px; hours: the whole run projected (projection_formula); "
                 f"*: stopped by the time budget")
    return '\n'.join(lines)


def write(result:dict, out:Path):
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(finite(result), indent=1, allow_nan=False) + '\n')


def parse_args(argv:list):
    full = SETTINGS['full']
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', default=DEFAULT_DATA, help='ImageFolder root with train/ and val/ (missing: the sample)')
    p.add_argument('--out', type=Path, help='the JSON to write (default benchmarks/results/gpu_check_<gpu>.json)')
    p.add_argument('--steps', type=int, help=f'optimizer steps per model (default {full.steps}; shrunk: '
                   f"{SETTINGS['shrunk'].steps})")
    p.add_argument('--warmup-steps', type=int, help=f'steps not timed (default {full.warmup_steps})')
    p.add_argument('--train-budget', type=float, help=f'training seconds per model (default {full.train_budget_s})')
    p.add_argument('--total-budget', type=float,
                   help=f'seconds from the start after which no model starts (default {full.total_budget_s})')
    p.add_argument('--models', help='comma-separated registered models (default: the report\'s six)')
    p.add_argument('--workers', type=int, default=min(16, os.cpu_count() or 1), help='image decoding workers')
    p.add_argument('--shrunk', action='store_true', help='the shrunk CPU settings, even on CUDA')
    a = p.parse_args(argv)
    if a.steps is not None and a.steps < 2: p.error('--steps must be at least 2')
    a.models = a.models.split(',') if a.models else list(MODELS)
    for name in a.models:
        try: model_entry(name)
        except ValueError as e: p.error(str(e))
    return a


def mode_settings(a, shrunk:bool) -> CheckSettings:
    "The mode's settings with the command line's changes."
    s, given = SETTINGS['shrunk' if shrunk else 'full'], {}
    for arg, name in [('steps', 'steps'), ('warmup_steps', 'warmup_steps'), ('train_budget', 'train_budget_s'),
                      ('total_budget', 'total_budget_s')]:
        if getattr(a, arg) is not None: given[name] = getattr(a, arg)
    s = CheckSettings(**{**asdict(s), **given})
    if s.warmup_steps >= s.steps: raise SystemExit(f'gpu_check: --warmup-steps {s.warmup_steps} leaves no step to time '
                                                   f'of --steps {s.steps}')
    return s


def main(argv:list|None=None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    a, start = parse_args(argv), time.perf_counter()
    if not sys.stderr.isatty(): os.environ.setdefault('TQDM_DISABLE', '1')   # a log file: one line per model instead
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    shrunk = a.shrunk or device.type != 'cuda'
    settings, models = mode_settings(a, shrunk), a.models
    data = choose_data(a.data, settings)
    out = a.out or default_out(device, shrunk)
    result = header(device, shrunk, settings, data, argv)
    cfg = train_config(models[0], settings, data['used'], a.workers)
    print(f"gpu_check on {result['gpu'] or 'cpu'}{' (shrunk)' if shrunk else ''}: data {data['used']}"
          f"{' (fallback: ' + data['requested'] + ' not found)' if data['fallback'] else ''}", flush=True)
    loaders = build_loaders(cfg, device, a.workers)
    data.update(train_images=loaders.train_images, val_images=loaders.val_images,
                decode_seconds=round(loaders.decode_s, 1))
    result['eval_res'] = max(cfg.eval_res)
    failed = False
    for i, name in enumerate(models):
        left = settings.total_budget_s - (time.perf_counter() - start)
        if left <= 0:
            result['models'].append({'model': name, 'skipped': 'total budget spent'}); continue
        budget = min(settings.train_budget_s, 0.7 * left / (len(models) - i))
        try: row = check_model(name, settings, loaders, data['used'], a.workers, budget, device)
        except Exception as e:   # one model's failure (e.g. out of memory) must not lose the others' measurements
            traceback.print_exc(); failed = True
            row = {'model': name, 'error': f"{type(e).__name__}: {(str(e).strip().splitlines() or [''])[0][:300]}"}
        result['models'].append(row)
        print(table({**result, 'models': [row]}).splitlines()[1], flush=True)
        if device.type == 'cuda': torch.cuda.empty_cache()
        write(result, out)
    result.update(complete=True, seconds_total=round(time.perf_counter() - start, 1),
                  max_rss_mib=mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024),
                  finished_utc=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S'))
    write(result, out)
    text = table(result)
    out.with_suffix('.txt').write_text(text + f"\ncommand: {result['command']}\n")
    print(text, f'\nwrote {out} and {out.with_suffix(".txt").name} ({result["seconds_total"]:.0f} s)', sep='\n')
    if failed: sys.exit(1)
    return result


if __name__ == '__main__': main()
