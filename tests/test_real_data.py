"Cross-chapter checks on real Imagenette images from the shared copy, loaded with rivit.data."
import torch
import torch.nn.functional as F
from rivit.core import create_model, list_models
from rivit.data import ImageFolderDataset, eval_transform, IMAGENETTE_CLASSES

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
