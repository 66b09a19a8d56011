"""Check the docs site without Quarto: what a reader would see, as far as it can be built here.

1. nbdev's docs processors (`nbdev.serve.proc_nbs`) over every chapter, into `_proc/` (what Quarto would render),
   scanned for what a reader would miss or trip over: the chapter's teaching code hidden (e.g. `def patchify` in
   chapter 1), no Colab badge, no recap / exercises / link to the next chapter, no runtime, no links, `/tmp/` paths
   in outputs, `__main__.` in signatures, a widget shown as its repr without a picture, a frozen progress bar, a widget
   output whose model id is not in the notebook's saved widget state (a blank on the page: save the picture alone),
   inline code over 70 characters (cut off at the column: code to type goes in a fenced block), an image over 300 KB
   or a page with over 1.5 MB of images, a developer's path (`../shared`, `/work/`) in the text or an output, and
   Quarto's page navigation off;
2. `jupyter nbconvert --to html` of every processed chapter, into `_check/html/`;
3. assertions on that HTML: no error outputs anywhere; the landing page has its chapter map and a results table
   drawn from committed results; the experiments chapter has Tables 4.1 and 4.2 with the report's columns and its
   figures; the compute-costs chapter has its tables and figure; the model chapters have figures and API docs;
4. headless Chromium screenshots of the landing page, the experiments chapter and one model chapter into
   `_check/screenshots/`, each checked to be a rendered page (not blank). Look at them.

    python scripts/check_docs.py            # needs the dev extra and a `chromium` (or google-chrome) binary
    python scripts/check_docs.py --no-screenshots
"""
import argparse, base64, json, re, shutil, subprocess, tempfile
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT/'_check'

class Page(HTMLParser):
    "Counts what a reader sees: tables (with their text), images, and API doc headings."
    def __init__(self, html):
        super().__init__(); self.tables, self.images, self.text, self._table = [], [], [], None
        self.feed(html)
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'table': self._table = []
        if tag == 'img' and (a.get('src') or '').startswith('data:image/'): self.images.append(len(a['src']))
    def handle_endtag(self, tag):
        if tag == 'table' and self._table is not None: self.tables.append(' '.join(self._table)); self._table = None
    def handle_data(self, data):
        self.text.append(data)
        if self._table is not None: self._table.append(data.strip())

def process() -> Path:
    from nbdev.serve import proc_nbs
    return Path(proc_nbs(path=str(ROOT/'nbs'), force=True, n_workers=0))

def to_html(proc:Path) -> dict:
    "nbconvert every processed notebook (after dropping the keys nbdev adds that nbformat rejects); {stem: html}."
    import nbformat
    from nbconvert import HTMLExporter
    (OUT/'html').mkdir(parents=True, exist_ok=True)
    pages, errors = {}, []
    for path in sorted(proc.glob('*.ipynb')):
        nb = json.loads(path.read_text())
        nb['metadata'].pop('execution', None)
        for c in nb['cells']:
            for k in [k for k in c if k not in ('id', 'cell_type', 'metadata', 'source', 'outputs', 'execution_count', 'attachments')]: c.pop(k)
            c.get('metadata', {}).pop('execution', None)
            if c['cell_type'] != 'code': c.pop('outputs', None); c.pop('execution_count', None)
            errors += [f"{path.name}: {o.get('ename')}: {o.get('evalue')}" for o in c.get('outputs', []) if o.get('output_type') == 'error']
        node = nbformat.reads(json.dumps(nb), as_version=4)
        html, _ = HTMLExporter(template_name='lab').from_notebook_node(node)
        (OUT/'html'/f'{path.stem}.html').write_text(html)
        pages[path.stem] = html
    assert not errors, f'error outputs in the docs: {errors}'
    return pages

def check(pages:dict):
    "Assert the tables and figures a reader comes for are in the rendered pages."
    found = {k: Page(v) for k, v in pages.items()}
    def need(cond, msg):
        if not cond: raise AssertionError(msg)
    idx = found['index']
    need(any('experiments' in t.lower() and 'rivit.train' in t for t in idx.tables), 'index: chapter map table missing')
    from rivit.experiments import MODELS, BEYOND, report_model
    answer = pages['index'].find('The answer, at CPU scale')
    need(0 < answer < pages['index'].find('The chapters') and idx.images and 'Beats resizing down' in ' '.join(idx.text),
         'index: the answer (the accuracy-against-resolution figure and the short answer under it) must come before the chapters')
    exp = found['07_experiments']
    t41 = [t for t in exp.tables if 'positional encoding' in t and 'report: conv' in t]
    t42 = [t for t in exp.tables if 'report: 320 px' in t]
    need(t41 and t42, 'experiments: Table 4.1 or 4.2 missing')
    for m in MODELS:
        # each model's row starts with our numbers (a model without results would show *not run*)
        need(re.search(re.escape(m) + r'\s+\d{1,2}\.\d\d\s+\d{1,2}\.\d\d', t42[0]), f'experiments: Table 4.2 has no numbers of ours for {m}')
    need(len(exp.images) >= 2, f'experiments: expected the resolution plot and the curves, found {len(exp.images)} images')
    need(all(any(m in t for t in exp.tables) for m in BEYOND),
         'experiments: the beyond-the-report runs (PiT, ViTAR, ResFormer) are missing from the tables')
    need('resizing down wins' in ' '.join(exp.text).lower(), "experiments: the reading of the results is missing")
    cc = found['08_compute_costs']
    need(any(all(m in t for m in BEYOND) and 'img/s' in t for t in cc.tables), 'compute costs: the PiT / ViTAR / ResFormer table is missing')
    need(any('the report' in t and '64.3' in t for t in cc.tables), 'compute costs: claim table missing')
    need(len(cc.images) >= 1, 'compute costs: figure missing')
    for ch in ('01_vit', '02_conv_embedding', '03_positional_encodings'):
        need(len(found[ch].images) >= 1, f'{ch}: no figures')
    flexi = found['12_flexivit']
    need(any('FlexiViT (b) scaled' in t and 'resized down' in t for t in flexi.tables) and len(flexi.images) >= 2,
         '12_flexivit: the experiments (accuracy table of the three ways, figures) are missing')
    vit_text = ' '.join(found['01_vit'].text)
    need('PatchEmbedding' in vit_text and 'TransformerBlock' in vit_text, '01_vit: API docs missing')
    for k, p in found.items():
        print(f'{k:28s} {len(p.tables):3d} tables {len(p.images):3d} figures')
    return found

TEACHING_CODE = {'01_vit': 'def patchify', '02_conv_embedding': 'class ConvPatchEmbedding', '03_positional_encodings': 'def relative_position_index',
                 '04_rivit': 'class RIViT', '05_data': 'def crop_flip_rotate', '06_train': 'def train_one_epoch',
                 '07_experiments': 'def table_4_1', '09_pit': 'class PiT', '10_vitar': 'class GridAttention', '11_resformer': 'class ResFormer',
                 '12_flexivit': 'def pi_resize', '13_rope': 'def rotate_pairs'}

WIDGET = 'application/vnd.jupyter.widget-view+json'
MAX_CODE_SPAN, MAX_IMAGE, MAX_PAGE_IMAGES = 70, 300_000, 1_500_000   # characters; bytes of one PNG or JPEG; bytes of a page's images
MAX_OUTPUT_LINE = 120   # characters of one printed output line (the page's code column shows about 100)
DEV_PATHS = ('../shared', '/work/')

def code_spans(md:str) -> list[str]:
    "The inline code spans of markdown `md` (fenced blocks and indented code left out)."
    md = re.sub(r'(?ms)^[ \t]*(`{3,}|~{3,}).*?^[ \t]*\1[`~]*[ \t]*$', '', md)    # fenced code blocks, in a list item too
    return [m.group(2) for p in re.split(r'\n[ \t]*\n', md)                      # a span never crosses a blank line
            for m in re.finditer(r'(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)', p, re.S)]

def image_bytes(mime:str, v) -> int:
    v = ''.join(v) if isinstance(v, list) else v
    return len(v.encode()) if mime == 'image/svg+xml' else len(base64.b64decode(v))

HIDDEN = re.compile(r'#\|\s*hide\b')

def _tree(src:str):
    "The cell's source as an `ast` tree (IPython magics and shell lines dropped), or None if it is not Python."
    import ast
    try: return ast.parse('\n'.join('' if l.lstrip().startswith(('%', '!')) else l for l in src.split('\n')))
    except SyntaxError: return None

def bound_names(tree, top_only:bool) -> tuple[set, set]:
    "(names bound by import statements, names bound by def, class, assignment or as arguments) in `tree`: module level only if `top_only`."
    import ast
    scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
    def walk(node):          # like ast.walk, but without entering functions, classes, lambdas and comprehensions if `top_only`
        yield node
        if not (top_only and node is not tree and isinstance(node, scopes)):
            for child in ast.iter_child_nodes(node): yield from walk(child)
    imported, defined = set(), set()
    for node in walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)): imported.update((a.asname or a.name).split('.')[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): defined.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)): defined.add(node.id)
        elif isinstance(node, ast.arg): defined.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name: defined.add(node.name)
    return imported, defined

def hidden_definitions(cells:list) -> list[tuple[str, str]]:
    """(cell id, name) for each name a visible code cell uses that only a hidden cell (`#| hide`) defines, by def, class or
    assignment: a reader who copies the visible code gets a NameError. Names a hidden cell imports are fine."""
    import ast
    hidden_defined, hidden_imported, visible_bound, uses = set(), set(), set(), []
    for c in cells:
        if c['cell_type'] != 'code' or (tree := _tree(src := ''.join(c['source']))) is None: continue
        if HIDDEN.match(src.lstrip()):
            imported, defined = bound_names(tree, top_only=True)
            hidden_imported |= imported; hidden_defined |= defined
        else:
            imported, defined = bound_names(tree, top_only=False)
            visible_bound |= imported | defined
            uses += [(c.get('id'), n.id) for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
    seen, found = set(), []
    for cid, name in uses:
        if name in hidden_defined and name not in visible_bound and name not in hidden_imported and (cid, name) not in seen:
            seen.add((cid, name)); found.append((cid, name))
    return found

def defects(proc:Path) -> list[str]:
    "What a reader of the processed notebooks (what Quarto renders) would miss or trip over."
    found = []
    for path in sorted((ROOT/'nbs').glob('*.ipynb')):   # nbdev's docs kernel re-runs such cells: their saved outputs would be replaced
        cells = json.loads(path.read_text())['cells']
        for cid, name in hidden_definitions(cells):
            found.append(f'{path.stem}: cell {cid} uses {name!r}, which only a hidden cell defines (a reader who copies the '
                         f'visible code gets a NameError: define it in a visible cell)')
        for c in cells:
            src = ''.join(c['source'])
            lines = [l for l in src.split('\n') if l.strip() and not l.startswith('#')]
            imports = [l for l in lines if re.match(r'(from \S+ import |import )', l)]
            if c['cell_type'] == 'code' and imports and len(imports) < len(lines) and not src.startswith('#| export') and 'google.colab' not in src:
                found.append(f'{path.stem}: cell {c.get("id")} mixes imports and other code (move the imports to the imports cell)')
    for path in sorted(proc.glob('*.ipynb')):
        nb = json.loads(path.read_text())
        stem, cells = path.stem, nb['cells']
        state = nb['metadata'].get('widgets', {}).get('application/vnd.jupyter.widget-state+json', {}).get('state', {})
        page_images = 0
        code = '\n'.join(''.join(c['source']) for c in cells if c['cell_type'] == 'code')
        md = '\n'.join(''.join(c['source']) for c in cells if c['cell_type'] == 'markdown')
        if stem in TEACHING_CODE and TEACHING_CODE[stem] not in code: found.append(f'{stem}: the teaching code ({TEACHING_CODE[stem]}) is hidden')
        if f'blob/main/nbs/{stem}.ipynb' not in md or 'colab-badge.svg' not in md: found.append(f'{stem}: no Colab badge on the page')
        if stem != 'index':
            for part in ('## Recap', '## Exercises', 'Next: ['): 
                if part not in md: found.append(f'{stem}: no {part.strip("#[ ")}')
            if 'Runs top to bottom in about' not in md: found.append(f'{stem}: no runtime')
            if 'https://' not in md.replace('colab.research.google.com', ''): found.append(f'{stem}: no links to papers or pages')
        for c in cells:
            if c['cell_type'] == 'markdown':
                src = ''.join(c['source'])
                for span in code_spans(src):
                    if len(span.strip()) > MAX_CODE_SPAN:
                        found.append(f'{stem}: inline code of {len(span.strip())} characters, cut off at the column (over {MAX_CODE_SPAN}: code to type goes in '
                                     f'a ```sh or ```python block; cell {c.get("id")}): `{span.strip()[:50]}...`')
                for dev in DEV_PATHS:
                    if dev in src: found.append(f'{stem}: the text names a developer path {dev} (cell {c.get("id")})')
                for name, a in (c.get('attachments') or {}).items():
                    page_images += sum(image_bytes(m, v) for m, v in a.items() if m.startswith('image/'))
            shown_md = [''.join(o.get('data', {}).get('text/markdown', '')) for o in c.get('outputs', [])]   # what a cell prints as Markdown
            for span in [s for m in shown_md for s in code_spans(m)]:
                if len(span.strip()) > MAX_CODE_SPAN:
                    found.append(f'{stem}: an output shows inline code of {len(span.strip())} characters (over {MAX_CODE_SPAN}: shorten the docstring, or print a fenced block; '
                                 f'cell {c.get("id")}): `{span.strip()[:50]}...`')
            for o in c.get('outputs', []):
                data, text = o.get('data', {}), json.dumps(o)
                if WIDGET in data and data[WIDGET].get('model_id') not in state:
                    found.append(f'{stem}: a widget output whose model id is not in the saved widget state shows blank '
                                 f'(save its picture only: image/png without the widget mime; cell {c.get("id")})')
                for mime, v in data.items():
                    if not mime.startswith('image/'): continue
                    n = image_bytes(mime, v); page_images += n
                    if mime != 'image/svg+xml' and n > MAX_IMAGE:
                        found.append(f'{stem}: a {mime[6:].upper()} of {n / 1e3:.0f} KB (over {MAX_IMAGE / 1e3:.0f} KB: save it at a sensible dpi and size; cell {c.get("id")})')
                shown_text = json.dumps({k: v for k, v in data.items() if not k.startswith('image/')}) + ''.join(o.get('text', '')) + json.dumps(o.get('traceback', ''))
                for dev in DEV_PATHS:
                    if dev in shown_text: found.append(f'{stem}: an output names a developer path {dev} (cell {c.get("id")})')
                if '/tmp/' in text: found.append(f'{stem}: an output shows a /tmp/ path (cell {c.get("id")})')
                shown = ''.join(data.get('text/markdown', '')) if isinstance(data.get('text/markdown', ''), (str, list)) else ''
                if '```python' in shown and '__main__.' in shown: found.append(f'{stem}: a signature shows __main__. (cell {c.get("id")})')
                plain = ''.join(data.get('text/plain', ''))
                if re.match(r'(VBox|HBox|interactive)\(children', plain) and not any(k.startswith('image/') for k in data):
                    found.append(f'{stem}: a widget shows as its repr, with no picture (cell {c.get("id")})')
                stream = ''.join(o.get('text', '')) if o.get('output_type') == 'stream' else ''
                printed = stream if o.get('output_type') == 'stream' else '' if 'text/markdown' in data or any(k.startswith('image/') for k in data) else plain
                if (longest := max(map(len, printed.split('\n')), default=0)) > MAX_OUTPUT_LINE:
                    found.append(f'{stem}: an output line of {longest} characters needs sideways scrolling (over {MAX_OUTPUT_LINE}: '
                                 f'print it over several lines; cell {c.get("id")})')
                if re.search(r'\d+/\d+ \[\d\d:\d\d<', plain + stream): found.append(f'{stem}: a frozen progress bar (cell {c.get("id")})')
        if page_images > MAX_PAGE_IMAGES: found.append(f'{stem}: {page_images / 1e6:.2f} MB of images on the page (over {MAX_PAGE_IMAGES / 1e6:.1f} MB)')
        if state and not any(WIDGET in o.get('data', {}) for c in cells for o in c.get('outputs', [])):
            found.append(f"{stem}: the notebook saves a widget state that no output uses (delete metadata.widgets: the page would load the widget scripts for nothing)")
    if not re.search(r'(?m)^  page-navigation: true', (ROOT/'nbs'/'_quarto.yml').read_text()): found.append("_quarto.yml: page navigation is off (website: page-navigation: true)")
    if not re.search(r'(?m)^  commonmark:\n    variant: \+tex_math_dollars', (ROOT/'nbs'/'_quarto.yml').read_text()):
        found.append("_quarto.yml: the Markdown version of each page must keep math as TeX (format: commonmark: variant: +tex_math_dollars), "
                     "or pandoc warns 'Could not convert TeX math' and writes it out as text")
    return found

def browser() -> str:
    for name in ('chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'):
        if shutil.which(name): return shutil.which(name)
    raise SystemExit('no chromium or google-chrome binary found: install one (Debian: apt-get install chromium) or pass --no-screenshots')

def screenshots(stems=('index', '02_conv_embedding', '03_positional_encodings', '05_data', '07_experiments', '12_flexivit'),
                widths=(1280, 800), height=2400):
    "A headless browser's picture of each page at each window width, for a person to look at (and a check that none is blank)."
    from PIL import Image, ImageStat
    (OUT/'screenshots').mkdir(parents=True, exist_ok=True)
    exe = browser()
    for stem, width in [(s, w) for s in stems for w in widths]:
        png = OUT/'screenshots'/f'{stem}-{width}.png'
        png.unlink(missing_ok=True)
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run([exe, '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                            '--disable-component-update', f'--user-data-dir={profile}', f'--screenshot={png}',
                            f'--window-size={width},{height}', (OUT/'html'/f'{stem}.html').resolve().as_uri()],
                           check=True, capture_output=True, timeout=120)
        img = Image.open(png).convert('L')
        spread = ImageStat.Stat(img).stddev[0]
        assert spread > 10, f'{png}: looks blank (pixel std {spread:.1f})'
        print(f'screenshot {png.relative_to(ROOT)}: {img.size[0]}x{img.size[1]}, pixel std {spread:.0f}')

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--no-screenshots', action='store_true')
    a = p.parse_args()
    proc = process()
    problems = defects(proc)
    if problems: raise SystemExit('docs defects:\n  ' + '\n  '.join(problems))
    pages = to_html(proc)
    check(pages)
    if not a.no_screenshots: screenshots()
    print('docs check passed')

if __name__ == '__main__': main()
