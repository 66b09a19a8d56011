"Cross-chapter checks on real Imagenette images from the shared copy, loaded with rivit.data."
import json
import pytest
import torch
import torch.nn.functional as F
from conftest import ROOT
from rivit.core import create_model, list_models
from rivit.data import ImageFolderDataset, eval_transform, IMAGENETTE_CLASSES
from rivit.train import autocast
from rivit.checkpoint import load_model
from rivit.rope import grid_grows

def real_batch(root, n_per_class=6, res=96):
    "A fixed batch: the first `n_per_class` training images of every class, resized and center-cropped to `res`."
    ds = ImageFolderDataset(root/'train', eval_transform(res))
    first = {}
    for i, (_, c) in enumerate(ds.samples): first.setdefault(c, []).append(i)
    xs, ys = zip(*(ds[i] for c in sorted(first) for i in first[c][:n_per_class]))
    return torch.stack(xs), torch.tensor(ys), ds

def test_batch_is_real_imagenette(imagenette_root):
    x, y, ds = real_batch(imagenette_root)
    assert ds.classes == sorted(IMAGENETTE_CLASSES) and len(ds) == 9469
    assert x.shape == (60, 3, 96, 96) and sorted(set(y.tolist())) == list(range(10))
    assert x.std() > 0.5  # normalized natural images, not a constant

def test_optimizer_steps_lower_the_loss_on_real_images(imagenette_root):
    torch.manual_seed(0)
    x, y, _ = real_batch(imagenette_root)
    for name in list_models(family='report', pos_enc='relative')[-1:] + list_models(family='report', embedding='patch')[:1]:
        model = create_model(name, 'tiny', dim=64, depth=2, heads=2)
        opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
        losses = []
        for _ in range(25):
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(); loss.backward(); opt.step()
            losses.append(loss.item())
        assert losses[0] > 2.0                       # starts near chance, ln(10) = 2.30
        assert losses[-1] < 0.85 * losses[0], (name, losses)

def committed_runs():
    "Every finished run of chapter 7's results root that the chapters read: a folder with weights.pt and predictions.json."
    runs = sorted(p.parent for p in (ROOT/'results'/'experiments').glob('*/*/weights.pt'))
    return [r for r in runs if (r/'predictions.json').exists()]

@pytest.mark.parametrize('run', committed_runs(), ids=lambda r: f'{r.parent.name}/{r.name}')
def test_committed_weights_reproduce_their_predictions(imagenette_root, run, step=40):
    """A committed run's weights.pt, loaded with today's code, predicts what its predictions.json says, image by image
    (every `step`-th validation image, at the largest training resolution and at twice it). Catches code that no longer
    computes what the runs were trained with, and results files that do not belong to their weights. CPUs of other
    builds round bfloat16 differently, which may flip an image whose two best classes nearly tie: one image in 50 may differ."""
    saved, cfg = json.loads((run/'predictions.json').read_text()), json.loads((run/'results.json').read_text())['config']
    model = load_model(run/'weights.pt').eval()
    top = max(cfg['train_res'])
    for res in (top, 2 * top):
        ds = ImageFolderDataset(imagenette_root/'val', eval_transform(res))
        idx = list(range(0, len(ds), step))
        assert [ds.samples[i][1] for i in idx] == [saved['labels'][i] for i in idx], 'predictions.json has other labels than the shared copy'
        x = torch.stack([ds[i][0] for i in idx])
        with torch.no_grad(), autocast(torch.device('cpu'), cfg['amp']): preds = model(x).argmax(-1).tolist()
        differ = [i for p, i in zip(preds, idx) if p != saved['eval'][str(res)][i]]
        assert len(differ) <= len(idx) // 50, f'{run.name} at {res} px: {len(differ)} of {len(idx)} images predicted differently, e.g. image {differ[0]}'

@pytest.mark.parametrize('run', sorted(p.parent for p in (ROOT/'results'/'experiments').glob('*/*/positions.json')),
                         ids=lambda r: f'{r.parent.name}/{r.name}')
def test_positions_file_belongs_to_its_run(run):
    """A RoPE run's positions.json (chapter 13, scripts/evaluate_variants.py) and its predictions.json: the same labels,
    the extrapolated placement equal to what the trainer predicted at every test resolution, and interpolation a
    change only where the token grid outgrows the training grid: beyond the largest training resolution, and never
    for the conv stem, whose grid does not grow with the image."""
    placed = json.loads((run/'positions.json').read_text())['positions']
    saved, cfg = json.loads((run/'predictions.json').read_text()), json.loads((run/'results.json').read_text())['config']
    ext, inter = placed['extrapolate'], placed['interpolate']
    assert ext['labels'] == inter['labels'] == saved['labels']
    assert ext['eval'] == saved['eval'], 'extrapolated positions are what the model does as trained: the same predictions'
    grows = grid_grows(cfg['model'])
    top = max(cfg['train_res'])
    for res, preds in ext['eval'].items():
        assert (inter['eval'][res] != preds) == (grows and int(res) > top), (res, grows)
