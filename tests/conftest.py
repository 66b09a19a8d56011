import os
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]

def shared_imagenette():
    "The shared Imagenette copy: $RIVIT_DATA, else ../shared/data/imagenette2-224 beside the repository."
    return Path(os.environ.get('RIVIT_DATA', ROOT.parent/'shared'/'data'/'imagenette2-224'))

@pytest.fixture
def imagenette_root():
    root = shared_imagenette()
    if not (root/'train').is_dir():
        msg = f'shared Imagenette copy not found at {root} (set RIVIT_DATA to its folder)'
        if os.environ.get('RIVIT_REQUIRE_DATA'): pytest.fail(msg)
        pytest.skip(msg)
    return root
