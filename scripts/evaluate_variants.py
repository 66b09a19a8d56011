"""Evaluate a finished run once per variant of its model at each of the run's test resolutions, on the validation
images of the run's data, and write RUN/<what>.json beside it (command, hardware, accuracy, and every image's
prediction per variant; chapter 7's `evaluate_variants`):

- `policies`: chapter 12's FlexiViT under each patch policy ('fixed', 'scaled'), written to policies.json;
- `positions`: chapter 13's RoPE models with extrapolated and interpolated positions, written to positions.json.

    python scripts/evaluate_variants.py policies results/experiments/cpu/flexivit
    python scripts/evaluate_variants.py positions results/experiments/cpu/RUN
"""
import argparse, importlib
from rivit.core import MODEL_MODULES

EVALUATIONS = {'policies': 'evaluate_policies', 'positions': 'evaluate_positions'}   # functions of the model modules

def evaluation(what:str):
    "The function that evaluates `what`: found among the modules that register models (chapters 9-13)."
    return next(getattr(m, EVALUATIONS[what]) for m in map(importlib.import_module, MODEL_MODULES) if hasattr(m, EVALUATIONS[what]))

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('what', choices=EVALUATIONS, help='which variants: the patch policies or the RoPE positions')
    p.add_argument('run', help='a finished run folder (results.json and weights.pt)')
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--workers', type=int, default=None)
    a = p.parse_args()
    try: out = evaluation(a.what)(a.run, a.batch_size, a.workers)
    except (ValueError, FileNotFoundError) as e: raise SystemExit(f'error: {e}')
    for variant, acc in out['accuracy'].items():
        print(f'{variant:11s} ' + '  '.join(f'{r} px {100 * v:.2f}' for r, v in acc.items()))
    print(f"wrote {a.run}/{a.what}.json")
