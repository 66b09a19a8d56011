"""`rivit.core.fetch` outside a checkout (as in Colab): every download is checked against the manifest of hashes.

The downloads come from a small HTTP server on 127.0.0.1 (a thread of this process), which `RIVIT_ASSETS_URL` points
at; `RIVIT_CACHE` is a temporary folder. The tests call `download`, the part of `fetch` that runs when the file is not
in the checkout, with a manifest of their own. No network is used.
"""
import hashlib, http.server, json, re, subprocess, sys, threading
from pathlib import Path
import pytest
import rivit, rivit.core
from rivit.core import assets_manifest, download, fetch, pretrained_results, verify
from conftest import ROOT

PATH = 'results/experiments/cpu/some-run/results.json'
GOOD = json.dumps({'eval': [{'res': r, 'acc': 0.5} for r in range(64, 225, 16)]}, indent=1).encode()
MANIFEST = {PATH: {'sha256': hashlib.sha256(GOOD).hexdigest(), 'size': len(GOOD)}}
ERROR_PAGE = b'<!DOCTYPE html>\n<html><head><title>Rate limit exceeded</title></head><body>Later</body></html>'

class Handler(http.server.BaseHTTPRequestHandler):
    "Serves `server.files` ({path: (body, content_length)}); HTTP/1.0, so a body without a length ends at the close."
    def do_GET(self):
        self.server.hits.append(self.path)
        path = self.path.lstrip('/')
        if path not in self.server.files: return self.send_error(404)
        body, length = self.server.files[path]
        self.send_response(200)
        if length is not None: self.send_header('Content-Length', str(length))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args): pass

@pytest.fixture
def server(monkeypatch, tmp_path):
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    srv.files, srv.hits, srv.daemon_threads = {}, [], True
    thread = threading.Thread(target=srv.serve_forever, kwargs=dict(poll_interval=0.05), daemon=True)
    thread.start()
    monkeypatch.setenv('RIVIT_ASSETS_URL', f'http://127.0.0.1:{srv.server_port}/')
    monkeypatch.setenv('RIVIT_CACHE', str(tmp_path/'cache'))
    for proxy in ('http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY'): monkeypatch.delenv(proxy, raising=False)
    yield srv
    srv.shutdown(); srv.server_close(); thread.join(timeout=5)

def cached(tmp_path) -> list:
    "Every file left in the cache, temporary ones included."
    return sorted(p.relative_to(tmp_path/'cache').as_posix() for p in (tmp_path/'cache').rglob('*') if p.is_file())

def one_line(e) -> str:
    msg = str(e.value)
    assert '\n' not in msg, msg
    return msg

def test_good_file_is_downloaded_checked_and_cached(server, tmp_path):
    server.files[PATH] = (GOOD, len(GOOD))
    got = download(PATH, manifest=MANIFEST)
    assert got == (tmp_path/'cache'/PATH).resolve() and got.read_bytes() == GOOD
    assert download(PATH, manifest=MANIFEST) == got and server.hits == ['/' + PATH]   # the second call reads the cache
    assert cached(tmp_path) == [PATH]

def test_truncated_download_is_discarded(server, tmp_path):
    server.files[PATH] = (GOOD[:100], None)   # cut short, and no Content-Length to tell
    with pytest.raises(OSError) as e: download(PATH, manifest=MANIFEST)
    msg = one_line(e)
    assert msg.startswith(f'{PATH} has 100 bytes') and f"manifest says {len(GOOD):,} bytes" in msg, msg
    assert 'cut short' in msg and 'it was discarded' in msg and 'RIVIT_ASSETS_URL' in msg, msg
    assert cached(tmp_path) == []

def test_download_shorter_than_its_content_length_is_reported(server, tmp_path):
    server.files[PATH] = (GOOD[:100], len(GOOD))
    with pytest.raises(OSError) as e: download(PATH, manifest=MANIFEST)
    assert 'could not be downloaded' in one_line(e) or 'cut short' in one_line(e)
    assert cached(tmp_path) == []

def test_error_page_served_with_200_is_discarded(server, tmp_path):
    server.files[PATH] = (ERROR_PAGE, len(ERROR_PAGE))
    with pytest.raises(OSError) as e: download(PATH, manifest=MANIFEST)
    msg = one_line(e)
    assert 'an HTML page' in msg and 'it was discarded' in msg and server.hits == ['/' + PATH], msg
    assert cached(tmp_path) == []

def test_missing_file_is_reported_in_one_line(server, tmp_path):
    with pytest.raises(FileNotFoundError) as e: download(PATH, manifest=MANIFEST)
    assert '404' in one_line(e) and 'RIVIT_ASSETS_URL' in one_line(e)
    assert cached(tmp_path) == []

def test_cached_file_that_does_not_match_is_downloaded_again(server, tmp_path):
    stale = tmp_path/'cache'/PATH
    stale.parent.mkdir(parents=True); stale.write_bytes(b'{"eval": []}')   # e.g. cached by an older rivit
    server.files[PATH] = (GOOD, len(GOOD))
    assert download(PATH, manifest=MANIFEST).read_bytes() == GOOD and len(server.hits) == 1
    assert cached(tmp_path) == [PATH]

def test_path_not_in_the_manifest_is_refused(server, tmp_path):
    server.files['results/secret.txt'] = (b'x', 1)
    with pytest.raises(FileNotFoundError) as e: download('results/secret.txt', manifest=MANIFEST)
    assert 'is not a committed file' in one_line(e)
    with pytest.raises(FileNotFoundError) as e: download('results/experiments/cpu/some-run/result.json', manifest=MANIFEST)
    assert one_line(e).endswith(f'did you mean {PATH}?')
    with pytest.raises(FileNotFoundError) as e: fetch('results/no-such-run/results.json')   # not in the checkout either
    assert 'is not a committed file' in one_line(e)
    assert server.hits == [] and cached(tmp_path) == []

def test_the_shipped_manifest_is_used_by_default(server, tmp_path):
    path = 'benchmarks/results/step_time_cpu.json'
    body = (ROOT/path).read_bytes()
    server.files[path] = (body, len(body))
    assert download(path).read_bytes() == body
    assert assets_manifest()[path] == {'sha256': hashlib.sha256(body).hexdigest(), 'size': len(body)}

def test_verify_passes_the_right_file(tmp_path):
    (tmp_path/'f.json').write_bytes(GOOD)
    assert verify(tmp_path/'f.json', PATH, MANIFEST) == tmp_path/'f.json'
    (tmp_path/'f.json').write_bytes(GOOD.replace(b'0.5', b'0.6'))   # same size, other content
    with pytest.raises(OSError, match='another version'): verify(tmp_path/'f.json', PATH, MANIFEST)

def test_bad_results_json_names_the_file(tmp_path, monkeypatch):
    bad = tmp_path/'results.json'
    bad.write_text('{"eval": [')
    monkeypatch.setattr(rivit.core, 'fetch', lambda path: bad)
    with pytest.raises(ValueError) as e: pretrained_results('conv-relative')
    assert one_line(e).startswith(f'{bad} is not valid JSON')

@pytest.mark.skipif(not (ROOT/'.git').exists(), reason='not a git checkout')
def test_manifest_is_fresh():
    "Every file git tracks under results/ and benchmarks/results/ is in rivit/assets.json with its hash and size."
    out = subprocess.run([sys.executable, 'scripts/write_manifest.py', '--check'], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr

def test_manifest_ships_with_the_package_and_lists_what_chapters_fetch():
    "rivit/assets.json sits in the package; each fetch('...') of a chapter names (with {…}: matches) a file of it."
    assert (Path(rivit.__file__).parent/'assets.json').is_file()
    files = assets_manifest()
    sources = [*ROOT.glob('nbs/*.ipynb'), *ROOT.glob('rivit/*.py')]
    fetched = r"""(?<!lambda: )fetch\(f?['"]([^'"]+)['"]\)"""   # not the refusals tested with test_fail(lambda: ...)
    calls = {m for f in sources for m in re.findall(fetched, f.read_text().replace('\\"', '"'))}
    assert len(calls) > 10, calls
    for call in calls:
        pattern = re.compile(re.sub(r'\\\{[^}]*\\\}', '.+', re.escape(call)) + '$')
        assert any(pattern.match(p) for p in files), call
