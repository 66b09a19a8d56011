"""Write the repository URL of `pyproject.toml` ([project.urls] Repository) into every place a notebook needs it.

The URL is stated once, in pyproject.toml. Its two copies in the notebooks cannot be computed when the notebook
runs, because Colab opens the bare notebook from GitHub. They are:

- the "Open in Colab" badge of every chapter: a markdown cell of its own, right after the title cell (nbdev turns
  the title cell into the page's front matter, and anything else in that cell would not be shown);
- the hidden first code cell that, in Colab, pip-installs rivit from the repository.

It also writes the measured run times of nbs/runtimes.json (each badge's, and the README's table of them).

nbdev takes the docs and source links from pyproject.toml itself, and the installed package reads the URL from
its own metadata (`rivit.core.repository_url`).

    python scripts/sync_repo_url.py           # rewrite the notebooks to match pyproject.toml
    python scripts/sync_repo_url.py --check   # list what does not match; exit 1 if anything does (tests/test_project.py)
"""
import argparse, json, re, sys, tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BADGE_ID = 'colab-badge'
INSTALL_MARK = "if 'google.colab' in sys.modules:"

def repository() -> tuple[str, str]:
    "(owner, name) of the GitHub repository in pyproject.toml."
    url = tomllib.loads((ROOT/'pyproject.toml').read_text())['project']['urls']['Repository']
    m = re.fullmatch(r'https://github\.com/([^/]+)/([^/]+?)/?', url)
    if not m: sys.exit(f'pyproject.toml: [project.urls] Repository must be https://github.com/OWNER/NAME, got {url!r}')
    return m.group(1), m.group(2)

def runtimes() -> dict:
    "nbs/runtimes.json (written by scripts/execute_nbs.py when it re-executes a notebook), or no times if it is missing."
    path = ROOT/'nbs'/'runtimes.json'
    return json.loads(path.read_text()) if path.exists() else {'machines': {}, 'seconds': {}}

def machine(data:dict, notebook:str) -> dict:
    "The machine a notebook's run time was measured on: {'cpu': 'AMD EPYC, 2 cores', 'build': kernel release, '' where not recorded}."
    return data['machines'][notebook]

def has_slow_cells(nb:dict) -> bool: return any(l.strip() == '#| slow' for c in nb['cells'] if c['cell_type'] == 'code' for l in ''.join(c['source']).splitlines())

def runtime(notebook:str, slow:bool=False) -> str:
    "How long the chapter takes, from nbs/runtimes.json; `slow`: it has cells marked slow, which that time leaves out."
    data = runtimes()
    secs = data['seconds'].get(notebook)
    if secs is None: return ''
    minutes = max(1, round(secs / 60))
    return (f" Runs top to bottom in about {minutes} min on a CPU ({machine(data, notebook)['cpu']}; measured" + ('; without the cells marked slow' if slow else '') +
            f"). In Colab, its code runs on the CPU as well (2 cores), so expect about the same plus a minute to install rivit"
            + ('; Colab also runs the slow cells, which take longer (see the chapter)' if slow else '') + '; the chapter itself needs no GPU.')

README_BLOCK = ('<!-- run times: written by scripts/sync_repo_url.py from nbs/runtimes.json -->', '<!-- end of run times -->')

def readme_runtimes(readme:str) -> str:
    "README.md with its table of each notebook's measured run time (between README_BLOCK's two lines) as nbs/runtimes.json says."
    data = runtimes()
    special = {'00_configurable.ipynb': 'appendix', '06_checkpoint.ipynb': '6, checkpoints', '06_config.ipynb': '6, configuration'}   # pages beside the chapters
    names = sorted((n for n in data['seconds'] if (ROOT/'nbs'/n).exists()),   # chapters, the appendix, the landing page
                   key=lambda n: (not n[0].isdigit(), n.startswith('00_'), n[:2], n in special, n))
    label = lambda n: special.get(n) or (f'{int(n[:2])}' if n[0].isdigit() else 'landing page')
    fmt = lambda s: f'{s} s' if s < 90 else f'{s / 60:.1f} min'
    where = lambda m: m['cpu'] + (f" (Linux {m['build']})" if m['build'] else '')
    machines = list(dict.fromkeys(where(machine(data, n)) for n in names))   # one row per machine: times from two machines are not compared
    table = ('| notebook | ' + ' | '.join(label(n) for n in names) + ' |\n|---|' + '---:|' * len(names) + '\n' + '\n'.join(
             f"| top to bottom, {m} | " + ' | '.join(fmt(data['seconds'][n]) if where(machine(data, n)) == m else '' for n in names) + ' |' for m in machines))
    block = f'{README_BLOCK[0]}\n{table}\n{README_BLOCK[1]}'
    start = readme.find(README_BLOCK[0]); end = readme.find(README_BLOCK[1], start + 1)
    if start < 0 or end < 0: sys.exit(f'README.md lacks the run-time table\'s two marker lines: {README_BLOCK[0]} and {README_BLOCK[1]}')
    return readme[:start] + block + readme[end + len(README_BLOCK[1]):]

def badge(owner, name, notebook:str, branch='main', slow:bool=False) -> str:
    return (f'[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]'
            f'(https://colab.research.google.com/github/{owner}/{name}/blob/{branch}/nbs/{notebook})' + runtime(notebook, slow))

def install_cell(owner, name) -> str:
    return ('#| hide\n'
            '# In Colab: install rivit (and what it needs that Colab lacks) from the course repository.\n'
            'import sys, subprocess\n'
            f'{INSTALL_MARK}\n'
            f"    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', 'rivit @ git+https://github.com/{owner}/{name}'], check=True)")

def lines(text:str) -> list: return text.splitlines(True)

def synced(nb:dict, notebook:str, owner, name) -> dict:
    "The notebook with its badge cell and Colab install cell as pyproject.toml says."
    cells = nb['cells']
    title = ''.join(cells[0]['source'])
    cells[0]['source'] = lines(re.sub(r'\n*\[!\[Open In Colab\][^\n]*', '', title).rstrip('\n'))
    cells[:] = [c for c in cells if c.get('id') != BADGE_ID]
    cells.insert(1, {'cell_type': 'markdown', 'id': BADGE_ID, 'metadata': {}, 'source': lines(badge(owner, name, notebook, slow=has_slow_cells(nb)))})
    for c in cells[:5]:
        if c['cell_type'] == 'code' and INSTALL_MARK in ''.join(c['source']): c['source'] = lines(install_cell(owner, name))
    return nb

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--check', action='store_true', help='only report notebooks that do not match')
    a = p.parse_args()
    owner, name = repository()
    stale = []
    for path in sorted((ROOT/'nbs').glob('*.ipynb')):
        text = path.read_text()
        nb = synced(json.loads(text), path.name, owner, name)
        if not any(INSTALL_MARK in ''.join(c['source']) for c in nb['cells'][:5]): stale.append(f'{path.name}: no Colab install cell')
        new = json.dumps(nb, indent=1, ensure_ascii=False) + '\n'
        if new != text:
            stale.append(path.name)
            if not a.check: path.write_text(new)
    readme = ROOT/'README.md'
    text = readme.read_text(); new = readme_runtimes(text)
    if new != text:
        stale.append('README.md (run times)')
        if not a.check: readme.write_text(new)
    if a.check and stale:
        sys.exit(f'not in sync with pyproject.toml ({owner}/{name}) or nbs/runtimes.json: {", ".join(stale)}. Run: python scripts/sync_repo_url.py')
    print(f'{"checked" if a.check else "synced"} {owner}/{name}' + (f'; rewrote {", ".join(stale)}' if stale and not a.check else ''))

if __name__ == '__main__': main()
