"Chapter 12's PI-resize against timm's `resample_patch_embed`, the reference implementation of FlexiViT's kernel resize (timm is a dev dependency)."
import pytest
import torch
from rivit.flexivit import pi_resize

timm_layers = pytest.importorskip('timm.layers')

@pytest.mark.parametrize('old, new', [(8, 9), (8, 10), (8, 12), (8, 16), (8, 27), (16, 32), (4, 7),    # the patch grows
                                      (8, 7), (8, 6), (8, 4), (8, 1), (16, 8), (16, 10)])              # the patch shrinks
def test_pi_resize_matches_timm(old, new):
    torch.manual_seed(old * 100 + new)
    weight = torch.randn(12, 3, old, old)
    ours = pi_resize(weight, new)
    theirs = timm_layers.resample_patch_embed(weight, [new, new], interpolation='bilinear', antialias=False)
    assert ours.shape == theirs.shape == (12, 3, new, new)
    torch.testing.assert_close(ours, theirs, atol=1e-5 * weight.abs().max().item(), rtol=1e-4)

def test_same_size_is_the_kernel_itself():
    weight = torch.randn(4, 3, 8, 8)
    assert pi_resize(weight, 8) is weight
    assert timm_layers.resample_patch_embed(weight, [8, 8], interpolation='bilinear', antialias=False) is weight
