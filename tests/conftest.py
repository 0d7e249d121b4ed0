"""Shared fixtures: paths, real and random SoundNet parameters, markers."""

import os
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).parent))

from numpy_reference import random_params  # noqa: E402

from soundnet_keras.port import SDIST_FILE  # noqa: E402
from soundnet_keras.weights import cache_dir  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# ../shared/golden beside the checkout; SOUNDNET_KERAS_GOLDEN overrides it
# (a worktree elsewhere).
GOLDEN = Path(os.environ.get("SOUNDNET_KERAS_GOLDEN",
                             ROOT.parent / "shared" / "golden"))
SDIST = cache_dir() / SDIST_FILE


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true",
                     help="also run tests marked slow")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: slow; run with --runslow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow; run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def golden():
    if not GOLDEN.is_dir():
        pytest.skip("../shared/golden is absent")
    return GOLDEN


@pytest.fixture(scope="session")
def real_params():
    """The released parameters, read from the cached sdist."""
    if not SDIST.exists():
        pytest.skip("released weights not fetched (soundnet-keras "
                    "fetch-weights)")
    from soundnet_keras.port import read_sdist
    return read_sdist(SDIST)[0]


@pytest.fixture(scope="session")
def random_weights(tmp_path_factory):
    """Random parameters and their ported .weights.h5 file."""
    from soundnet_keras.port import params_to_variables
    from soundnet_keras.weights import write_weights
    params = random_params(np.random.default_rng(0))
    path = tmp_path_factory.mktemp("weights") / "random.weights.h5"
    write_weights(path, params_to_variables(params))
    return params, path


@pytest.fixture(scope="session")
def real_weights(real_params):
    """The released parameters and the preset name that loads them."""
    return real_params, "soundnet8_flickr"


@pytest.fixture(scope="session", params=["random", "released"])
def any_weights(request):
    """Parameterises a test over random and (when fetched) real weights."""
    if request.param == "random":
        return request.getfixturevalue("random_weights")
    return request.getfixturevalue("real_weights")


def write_tones(folder, durations, rate=16000):
    """Writes ``f<i>.wav``: a tone of 150 + 90 i Hz plus noise, of each
    duration in seconds; returns their paths (str)."""
    import soundfile
    rng = np.random.default_rng(0)
    paths = []
    for i, seconds in enumerate(durations):
        t = np.arange(int(seconds * rate)) / rate
        x = 0.2 * np.sin(2 * np.pi * (150 + 90 * i) * t)
        x += 0.05 * rng.standard_normal(t.size)
        path = Path(folder) / f"f{i}.wav"
        soundfile.write(path, x, rate)
        paths.append(str(path))
    return paths


def load_script(name):
    """A module of ``scripts/`` (not a package), by file name."""
    import importlib.util
    path = Path(__file__).resolve().parent.parent / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
