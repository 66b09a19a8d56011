"""The pilot runs of results/pilots/cpu/ as a Markdown table (written into results/pilots/README.md).

    python scripts/pilots_table.py            # print it
    python scripts/pilots_table.py --write    # replace the table in results/pilots/README.md
"""
import argparse, json, re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PILOTS = ROOT/'results'/'pilots'/'cpu'

def table() -> str:
    lines = ['| pilot | model, size | parameters | epochs | val acc. per epoch (mean of 64/80/96 px, %) | 96 px | 192 px | 192 px resized to 96 |',
             '|---|---|---:|---:|---|---:|---:|---:|']
    for run in sorted(PILOTS.glob('*/results.json')):
        r = json.loads(run.read_text())
        acc = {e['res']: 100 * e['acc'] for e in r['eval']}
        down = {e['res']: 100 * e['acc'] for e in r.get('eval_downscaled', [])}
        curve = ', '.join(f"{100 * h['val_acc']:.1f}" for h in r['history'])
        lines.append(f"| {run.parent.name} | {r['config']['model']}, {r['config']['size']} | {r['parameters']:,} | {len(r['history'])} | "
                     f"{curve} | {acc[96]:.1f} | {acc[192]:.1f} | {down.get(192, float('nan')):.1f} |")
    return '\n'.join(lines)

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--write', action='store_true')
    a = p.parse_args()
    t = table()
    if a.write:
        readme = ROOT/'results'/'pilots'/'README.md'
        text = readme.read_text()
        readme.write_text(re.sub(r'<!-- table -->.*<!-- /table -->', f'<!-- table -->\n{t}\n<!-- /table -->', text, flags=re.S))
    print(t)
