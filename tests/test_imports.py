"""The import graph of rivit follows the chapters: a module may use what earlier chapters built, never what a later one
builds, and no two modules import each other (directly or around a loop).

Each module's chapter is read from the notebooks: `nbs/NN_name.ipynb` with `#| default_exp mod` makes `rivit.mod` chapter
NN. Imports are read with `ast` from every rivit/*.py, those at the top of a module and those inside a function alike:
a function-level import is still a dependency (it only postpones it), so it has to follow the order as well."""
import ast, json, re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = 'rivit'
NOT_CHAPTERS = {'__init__', '_modidx'}   # the package itself and nbdev's index of symbols

def directive_values(nb:dict, *keys) -> list[str]:
    "The first argument of each `#| key arg` directive (one of `keys`) at the top of `nb`'s code cells."
    found = []
    for c in nb['cells']:
        if c['cell_type'] != 'code': continue
        for line in ''.join(c['source']).splitlines():
            if not line.strip(): continue
            if not line.startswith('#|'): break
            words = line[2:].split()
            if len(words) > 1 and words[0] in keys: found.append(words[1])
    return found

def chapters() -> dict[str, int]:
    "{'rivit.core': 4, ...}: each module and the number of the notebook whose `#| default_exp` it is."
    out, where = {}, {}
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        if not (m := re.match(r'(\d+)_', nb.name)): continue
        for mod in directive_values(json.loads(nb.read_text()), 'default_exp'):
            name = f'{PKG}.{mod}'
            assert name not in out, f'{name} is the default_exp of both {where[name]} and {nb.name}'
            out[name], where[name] = int(m.group(1)), nb.name
    return out

def modules() -> dict[str, Path]:
    return {(PKG if f.stem == '__init__' else f'{PKG}.{f.stem}'): f for f in sorted((ROOT/PKG).glob('*.py')) if f.stem != '_modidx'}

def imports(path:Path, name:str) -> list[tuple[str, str, int, str]]:
    "The rivit modules that module `name` (file `path`) imports: (module, where: 'module level' or 'f()', line, the statement)."
    tree, src, known = ast.parse(path.read_text()), path.read_text(), set(modules())
    package = name if path.stem == '__init__' else name.rpartition('.')[0]
    found = []
    def visit(node, scope, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                visit(child, f'{scope}.{child.name}' if scope else child.name, not isinstance(child, ast.ClassDef)); continue
            targets = []
            if isinstance(child, ast.Import): targets = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ''
                if child.level:   # relative: from the package that holds this module
                    parts = package.split('.')
                    base = '.'.join(parts[:len(parts) - child.level + 1] + ([base] if base else []))
                # `from rivit import train` imports the module rivit.train; `from rivit.core import fetch`, rivit.core
                targets = [f'{base}.{a.name}' if f'{base}.{a.name}' in known else base for a in child.names]
            for t in dict.fromkeys(targets):
                mod = next((m for m in (t, *(t.rsplit('.', k)[0] for k in range(1, t.count('.') + 1))) if m in known), None)
                if mod and mod != name:
                    where = f'in {scope}()' if in_function else f'in class {scope}' if scope else 'at module level'
                    found.append((mod, where, child.lineno, ast.get_source_segment(src, child).splitlines()[0]))
            visit(child, scope, in_function)
    visit(tree, '', False)
    return found

def edges():
    return {name: imports(path, name) for name, path in modules().items()}

def test_every_module_belongs_to_a_chapter():
    chapter = chapters()
    assert len(chapter) >= 12, f'only {sorted(chapter)} found as default_exp in nbs/NN_*.ipynb'
    unplaced = [n for n in modules() if n != PKG and n not in chapter]
    assert not unplaced, f'no notebook nbs/NN_*.ipynb has `#| default_exp` for {unplaced}, so their place in the chapter order is unknown'

def test_no_module_imports_a_later_chapter():
    chapter = chapters()
    bad = [f'{name} (chapter {chapter[name]}) imports {mod} (chapter {chapter[mod]}) {where}: line {line}: {stmt.strip()}'
           for name, found in edges().items() if name in chapter
           for mod, where, line, stmt in found if mod in chapter and chapter[mod] > chapter[name]]
    assert not bad, 'modules import a later chapter (move the code that needs it into that chapter or later):\n' + '\n'.join(bad)

def cycles(graph:dict[str, set]) -> list[list[str]]:
    "The strongly connected components of `graph` with more than one module (Tarjan), each as a list of modules."
    index, low, stack, on, out = {}, {}, [], set(), []
    def connect(v):
        index[v] = low[v] = len(index); stack.append(v); on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index: connect(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: out.append(sorted(comp))
    for v in sorted(graph):
        if v not in index: connect(v)
    return out

def test_the_import_graph_has_no_cycles():
    found = edges()
    graph = {name: {mod for mod, *_ in f} for name, f in found.items()}
    bad = []
    for comp in cycles(graph):
        inside = [f'{name} imports {mod} {where}: line {line}: {stmt.strip()}'
                  for name in comp for mod, where, line, stmt in found[name] if mod in comp]
        bad.append(f'cycle among {", ".join(comp)}:\n  ' + '\n  '.join(dict.fromkeys(inside)))
    assert not bad, 'the import graph has cycles:\n' + '\n'.join(bad)

def test_the_checks_see_imports_inside_functions():
    "The parser itself: relative, absolute, package-level and function-level imports are all found."
    src = ("from .vit import ViT\nimport rivit.data as d\nfrom rivit import train\nimport rivit\n"
           "def pretrained():\n    from rivit.experiments import x\n"
           "class A:\n    def f(self):\n        from . import rope\n")
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp)/'core.py').write_text(src)
        got = [(m, w) for m, w, *_ in imports(Path(tmp)/'core.py', 'rivit.core')]
    assert got == [('rivit.vit', 'at module level'), ('rivit.data', 'at module level'), ('rivit.train', 'at module level'),
                   ('rivit', 'at module level'), ('rivit.experiments', 'in pretrained()'), ('rivit.rope', 'in A.f()')], got
