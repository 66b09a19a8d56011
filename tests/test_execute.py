"""The freshness check of the notebooks (`scripts/execute_nbs.py`'s `compare`, which `scripts/colab_sim.py --check` runs in CI
on a Jupyter kernel's outputs): it gives up only what differs between nbdev's test shell and a kernel, and still sees a
stale output. Fed outputs as dicts; nothing is executed."""
import base64, io, sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]/'scripts'))
from execute_nbs import compare

def stream(text, name='stdout'): return {'output_type': 'stream', 'name': name, 'text': text}
def result(plain, **data): return {'output_type': 'execute_result', 'execution_count': 3, 'metadata': {}, 'data': {'text/plain': plain, **data}}
def display(**data): return {'output_type': 'display_data', 'metadata': {}, 'data': data}
def cell(outputs, source='x', id='c1'): return {'cell_type': 'code', 'id': id, 'source': source, 'outputs': outputs, 'metadata': {}}

def png(shade:int) -> str:
    from PIL import Image
    b = io.BytesIO(); Image.new('RGB', (20, 10), (shade, 40, 90)).save(b, format='PNG')
    return base64.b64encode(b.getvalue()).decode() + '\n'

FIG = '<Figure size 900x300 with 3 Axes>'
# as nbdev's test shell records a cell: one stdout, one stderr (where tqdm draws), the displays, then the result
SAVED = [stream(['epoch 1: loss 2.31\n', 'epoch 2: loss 1.87\n']),
         stream('100%|██████████| 3/3 [00:02<00:00,  1.20it/s]\n', 'stderr'),
         display(**{'image/png': png(120), 'text/plain': [FIG]}),
         result(['tensor(0.0251)'])]
# the same cell in a Jupyter kernel: stdout in chunks around the bar, tqdm as a widget, the result before the figure
# that the inline backend shows when the cell ends, a fresh execution count
KERNEL = [stream('epoch 1: loss 2.31\n'),
          display(**{'application/vnd.jupyter.widget-view+json': {'model_id': 'f3a1', 'version_major': 2, 'version_minor': 0},
                     'text/plain': '  0%|          | 0/3 [00:00<?, ?it/s]'}),
          stream('epoch 2: loss 1.87\n'),
          {**result('tensor(0.0251)'), 'execution_count': 9},
          display(**{'image/png': png(120), 'text/plain': FIG})]

def test_a_kernels_record_of_the_same_outputs_passes():
    assert compare([cell(SAVED)], {'c1': KERNEL}) == []
    assert compare([cell(SAVED)], {'c1': SAVED}) == []

def test_only_progress_bars_are_dropped_from_widgets():
    bar = lambda plain: display(**{'application/vnd.jupyter.widget-view+json': {'model_id': 'a1'}, 'text/plain': plain})
    for plain in ['decoding 250 images at 96 px:   0%|          | 0/250 [00:00<?, ?it/s]', '0it [00:00, ?it/s]',
                  'epoch 2: 100%|██████████| 8/8 [01:02<00:00,  7.81s/it, loss=1.87]']:
        assert compare([cell(SAVED)], {'c1': KERNEL + [bar(plain)]}) == [], plain
    assert compare([cell(SAVED)], {'c1': KERNEL + [bar('VBox(children=(HBox(children=(Dropdown(...')]}) != []   # another widget

def test_a_changed_result_fails():
    fresh = KERNEL[:3] + [result('tensor(0.0252)')] + KERNEL[4:]
    [problem] = compare([cell(SAVED)], {'c1': fresh})
    assert problem.startswith('cell c1: text/plain changed') and 'tensor(0.0252)' in problem

def test_a_changed_stream_fails():
    fresh = [stream('epoch 1: loss 2.31\n'), stream('epoch 2: loss 1.86\n')] + KERNEL[3:]
    assert compare([cell(SAVED)], {'c1': fresh}) != []

def test_a_missing_or_extra_output_fails():
    assert compare([cell(SAVED)], {'c1': KERNEL[:-1]}) != []                                           # the figure is gone
    assert compare([cell(SAVED)], {'c1': KERNEL + [display(**{'text/markdown': '**new**', 'text/plain': 'md'})]}) != []
    assert compare([cell(SAVED)], {'c1': KERNEL + [stream('a warning\n', 'stderr')]}) != []              # a new warning

def test_a_changed_image_fails_a_redrawn_one_passes():
    other = lambda shade: KERNEL[:4] + [display(**{'image/png': png(shade), 'text/plain': FIG})]
    assert compare([cell(SAVED)], {'c1': other(120)}) == []
    assert compare([cell(SAVED)], {'c1': other(200)}) == ['cell c1: the image/png image changed']

def test_the_order_of_displays_among_themselves_is_kept():
    a, b = display(**{'text/markdown': 'first', 'text/plain': 'a'}), display(**{'text/markdown': 'second', 'text/plain': 'b'})
    assert compare([cell([a, b])], {'c1': [b, a]}) != []

def test_timings_are_ignored_and_a_timings_cell_compares_kinds_only():
    assert compare([cell([stream('took 3.2 s, 40 img/s\n')])], {'c1': [stream('took 2.9 s, 51 img/s\n')]}) == []
    saved, fresh = [result('speedup 1.93x')], [result('speedup 2.41x')]
    assert compare([cell(saved)], {'c1': fresh}) != []
    assert compare([cell(saved, source='#| timings\nprofile()')], {'c1': fresh}) == []
    assert compare([cell(saved, source='#| timings\nprofile()')], {'c1': [stream('speedup 2.41x\n')]}) != []   # another kind

def test_cells_that_did_not_run_are_not_compared():
    cells = [cell(SAVED), cell([result('old')], source='#| slow\ntrain()', id='slow')]
    assert compare(cells, {'c1': KERNEL}) == []
    assert compare(cells, {'c1': KERNEL, 'slow': [result('new')]}) != []
