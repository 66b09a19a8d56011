"The project's promises about itself: the README's commands are the ones CI runs and the landing page shows."
import json, re, subprocess
from conftest import ROOT

def readme_block(heading):
    lines = (ROOT/'README.md').read_text().splitlines()
    i = lines.index(heading)
    start = next(j for j in range(i, len(lines)) if lines[j].startswith('```sh'))
    return lines[start + 1]

def test_ci_reads_the_readme_commands():
    out = subprocess.run(['bash', '-c', 'source <(sed -n "/^readme_cmd()/,/^}/p" .ci/run); readme_cmd "## Install"; readme_cmd "## Run the tests"'],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == [readme_block('## Install'), readme_block('## Run the tests')]
    assert out[0].startswith('pip install -e') and 'colab_sim.py --check' in out[1] and 'pytest' in out[1]

def test_landing_page_shows_the_same_commands():
    index = ''.join(''.join(c['source']) for c in json.loads((ROOT/'nbs'/'index.ipynb').read_text())['cells'])
    for heading in ['## Install', '## Run the tests']:
        assert readme_block(heading) in index

def test_every_chapter_has_title_badge_and_colab_install():
    "The badge is a cell of its own after the title (nbdev drops the rest of the title cell from the page)."
    for nb in sorted((ROOT/'nbs').glob('[0-9]*.ipynb')):
        cells = json.loads(nb.read_text())['cells']
        assert ''.join(cells[0]['source']).startswith('# ') and 'colab' not in ''.join(cells[0]['source']), nb.name
        assert re.search(rf'colab.research.google.com/github/[^/]+/[^/]+/blob/main/nbs/{nb.name}', ''.join(cells[1]['source'])), nb.name
        install = [c for c in cells[:5] if c['cell_type'] == 'code' and 'google.colab' in ''.join(c['source'])]
        assert install and ''.join(install[0]['source']).startswith('#| hide'), nb.name

def test_repository_url_is_stated_once():
    "Badges and Colab install cells agree with pyproject.toml's Repository URL (scripts/sync_repo_url.py writes them)."
    out = subprocess.run(['python', 'scripts/sync_repo_url.py', '--check'], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr

def test_readme_states_the_measured_runtimes():
    "The README's longest chapter run time is the longest in nbs/runtimes.json, in whole minutes rounded up."
    import math
    secs = json.loads((ROOT/'nbs'/'runtimes.json').read_text())['seconds']
    longest = math.ceil(max(v for k, v in secs.items() if k[0].isdigit()) / 60)
    assert f'at most {longest} minutes each on a 2-core CPU' in (ROOT/'README.md').read_text().replace('\n', ' ')

def test_readme_quotes_the_committed_measurements():
    "The README's data pipeline and slow-cell figures are those of the committed result files (rounded as written)."
    readme = (ROOT/'README.md').read_text().replace('\n', ' ')
    rows = [r for f in sorted((ROOT/'benchmarks'/'results').glob('data_pipeline*_cpu.json'))
            for r in json.loads(f.read_text())['rows'] if r['resolutions'] == [96, 128, 160]]
    span = lambda key, digits: [round(f(r[key]['median'] for r in rows), digits) for f in (min, max)]
    assert span('ratio_fused_to_pil', 1) == [2.6, 4.0] and '2.6–4.0 times the PIL path' in readme
    assert span('ratio_fused_to_device', 2) == [1.35, 1.84] and '1.35–1.84 times the default eager' in readme
    fused = sorted(round(r['median_images_per_s']['fused']) for r in rows)
    assert fused[:2] == [863, 906] and (fused[2], fused[-1]) == (1290, 1513), fused
    assert '1,290–1,513 images per second' in readme and '863–906 on another AMD EPYC' in readme
    epochs = [h['seconds'] / 60 for h in json.loads((ROOT/'results'/'slow-test-conv-relative-tiny'/'results.json').read_text())['history']]
    assert [round(min(epochs), 1), round(max(epochs), 1)] == [5.5, 6.6] and '5.5 to 6.6 minutes an epoch' in readme

def test_library_lines_fit_in_120_characters():
    "Every line of the library within 120 characters, but line 1 (nbdev writes the chapter's description there) and nbdev's `__all__`."
    long = []
    for py in sorted((ROOT/'rivit').glob('*.py')):
        if py.name == '_modidx.py': continue
        in_all = False
        for n, line in enumerate(py.read_text().splitlines(), 1):
            in_all = line.startswith('__all__') or (in_all and not line.startswith(('#', 'import', 'from')) and line != '')
            if n > 1 and not in_all and len(line) > 120: long.append(f'{py.name}:{n} ({len(line)})')
    assert not long, f'lines over 120 characters: {long}'
