"""Chapter 12's evaluation of a trained FlexiViT under every patch policy ('fixed', 'scaled') at each of its run's test
resolutions, on the validation images of the run's data; writes RUN/policies.json (command, hardware, accuracy, and
every image's prediction).

    python scripts/flexivit_policies.py results/experiments/cpu/flexivit
"""
import argparse
from rivit.flexivit import evaluate_policies

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('run', help='a finished FlexiViT run folder (results.json and weights.pt)')
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--workers', type=int, default=None)
    a = p.parse_args()
    out = evaluate_policies(a.run, a.batch_size, a.workers)
    for policy, acc in out['accuracy'].items():
        print(f'{policy:7s} ' + '  '.join(f'{r} px {100 * v:.2f}' for r, v in acc.items()))
    print(f"wrote {a.run}/policies.json")
