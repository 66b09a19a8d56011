"""Chapter 13's evaluation of a trained RoPE model with extrapolated and interpolated positions at each of its run's
test resolutions, on the validation images of the run's data; writes RUN/positions.json (command, hardware, accuracy,
and every image's prediction per placement).

    python scripts/rope_positions.py results/experiments/cpu/RUN
"""
import argparse
from rivit.rope import evaluate_positions

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('run', help='a finished run folder of a RoPE model (results.json and weights.pt)')
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--workers', type=int, default=None)
    a = p.parse_args()
    out = evaluate_positions(a.run, a.batch_size, a.workers)
    for mode, acc in out['accuracy'].items():
        print(f'{mode:11s} ' + '  '.join(f'{r} px {100 * v:.2f}' for r, v in acc.items()))
    print(f"wrote {a.run}/positions.json")
