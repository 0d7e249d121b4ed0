"""The built-in presets: preset folders in the top-level ``weights/``,
loaded and checked as a user's preset folder, and packaged into the wheel."""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import soundnet_keras as sk
from soundnet_keras import weights as W
from soundnet_keras.cards import model_card
from soundnet_keras.preset_folders import load_preset_folder

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = [name for name, preset in W.PRESETS.items() if preset["shipped"]]
FETCHED = W.preset_path("soundnet8_flickr").exists()
FACTORIES = {"soundnet8": sk.SoundNet8, "snf": sk.SoundNetF,
             "snr": sk.SoundNetR}


def _loadable(name):
    if not W.PRESETS[name]["shipped"] and not FETCHED:
        pytest.skip("the released weights are not fetched")


def _same_weights(a, b):
    assert len(a.weights) == len(b.weights)
    for x, y in zip(a.weights, b.weights):
        assert np.array_equal(np.asarray(x), np.asarray(y)), x.path


def test_the_folder_is_the_checkout_s_and_holds_every_preset():
    assert W.WEIGHTS_DIR == ROOT / "weights"
    folders = {p.name for p in W.WEIGHTS_DIR.iterdir()
               if (p / "config.json").is_file()}
    assert folders == set(W.PRESETS)
    assert list(W.PRESETS)[0] == "soundnet8_flickr"
    assert [n for n in W.PRESETS if W.PRESETS[n]["shipped"]] == sorted(
        n for n in W.PRESETS if n != "soundnet8_flickr")


@pytest.mark.parametrize("name", list(W.PRESETS))
def test_every_folder_loads_as_a_user_folder_would(name):
    """``load_preset_folder``, ``load_preset(name)`` and the factory with
    ``weights=name`` give the same model."""
    _loadable(name)
    folder = load_preset_folder(W.WEIGHTS_DIR / name)
    preset = W.PRESETS[name]
    factory = FACTORIES[preset["model"].split("_")[0]](
        weights=name, **preset["config"])
    for model in (sk.load_preset(name), factory):
        assert model.name == folder.name == preset["model"]
        _same_weights(folder, model)
    # the weights file by path passes too: the package records it
    assert W.check_weights_file(W.preset_path(name)) == \
        W.recorded_sha256(preset["file"])


@pytest.mark.parametrize("name", list(W.PRESETS))
def test_metadata_records_the_files_sha256(name):
    config, metadata = W.read_preset_folder(W.WEIGHTS_DIR / name)
    assert metadata["name"] == name
    assert metadata["description"] == W.PRESETS[name]["description"]
    assert config["config"] == W.PRESETS[name]["config"]
    path = W.preset_path(name)
    if path.exists():
        assert W.sha256(path) == metadata["weights_sha256"] == \
            W.recorded_sha256(W.PRESETS[name]["file"])
    if W.PRESETS[name]["shipped"]:
        assert metadata["provenance"]["command"]
    else:
        for label, digest in metadata["labels_sha256"].items():
            assert W.sha256(W.WEIGHTS_DIR / name / label) == digest


@pytest.mark.parametrize("name", list(W.PRESETS))
def test_each_folder_s_readme_is_its_model_card(name):
    """``python scripts/write_docs.py`` writes them."""
    assert (W.WEIGHTS_DIR / name / "README.md").read_text() == \
        model_card(name)


@pytest.mark.parametrize("name", SHIPPED)
def test_a_tampered_copy_is_refused_naming_the_file(name, tmp_path):
    copy = Path(shutil.copytree(W.WEIGHTS_DIR / name, tmp_path / name))
    load_preset_folder(copy)                    # an exact copy loads
    weights = copy / "model.weights.h5"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 1
    weights.write_bytes(bytes(data))
    with pytest.raises(W.ChecksumError, match=f"sha256 mismatch for "
                       f"{weights}: .*metadata.json records"):
        load_preset_folder(copy)
    with pytest.raises(W.ChecksumError, match="sha256 mismatch"):
        sk.load_preset(str(copy))


def test_the_released_weights_are_checked_in_the_cache(tmp_path,
                                                       monkeypatch):
    """soundnet8_flickr's folder holds no weights: they are read from the
    cache and checked against its metadata; missing, the error gives the
    command that fetches them."""
    monkeypatch.setenv("SOUNDNET_KERAS_HOME", str(tmp_path))
    folder = W.WEIGHTS_DIR / "soundnet8_flickr"
    assert not (folder / "model.weights.h5").exists()
    with pytest.raises(FileNotFoundError, match="soundnet-keras "
                       "fetch-weights"):
        load_preset_folder(folder)
    cached = tmp_path / "soundnet8_flickr.weights.h5"
    cached.write_bytes(b"not the released weights")
    with pytest.raises(W.ChecksumError, match=f"sha256 mismatch for "
                       f"{cached}: .*delete it and run"):
        sk.load_preset("soundnet8_flickr")


def test_changed_category_names_are_refused(tmp_path, monkeypatch):
    copy = shutil.copytree(W.WEIGHTS_DIR, tmp_path / "weights",
                           ignore=shutil.ignore_patterns("*.h5"))
    monkeypatch.setattr(W, "WEIGHTS_DIR", Path(copy))
    assert W.load_labels()[1][0] == "abbey"
    places = Path(copy) / "soundnet8_flickr" / "places.txt"
    places.write_text(places.read_text().replace("abbey", "abbot"))
    with pytest.raises(W.ChecksumError, match="places.txt: .*reinstall"):
        W.load_labels()


def _tracked(paths):
    """The files under ``paths`` (space-separated) that git tracks or would
    (not ignored), relative to the checkout."""
    listed = subprocess.run(["git", "ls-files", "-z", "-co",
                             "--exclude-standard", *paths.split()], cwd=ROOT,
                            capture_output=True, check=True).stdout
    return sorted(p for p in listed.decode().split("\0") if p)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_wheel_packages_weights_as_soundnet_keras_presets(tmp_path):
    """A wheel built from the checkout's files (a few seconds) holds every
    file of ``weights/`` under ``soundnet_keras/presets/``, and the
    installed package finds its presets there (run from another folder).
    ``scripts/wheel_smoke.sh`` installs such a wheel into a fresh
    environment and uses the presets."""
    from importlib.util import find_spec
    pytest.importorskip("build")
    if not (find_spec("wheel") or find_spec("setuptools.command.bdist_wheel")):
        pytest.skip("needs the wheel package (setuptools < 70.1)")
    src = tmp_path / "src"        # what the build reads, as committed
    for path in _tracked("setup.py README.md LICENSE NOTICE soundnet_keras "
                         "sed weights"):
        if Path(ROOT / path).is_file():
            (src / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / path, src / path)
    subprocess.run([sys.executable, "-m", "build", "--wheel",
                    "--no-isolation", "--outdir", str(tmp_path / "dist"),
                    str(src)], check=True, capture_output=True)
    wheel, = (tmp_path / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    packaged = sorted(n[len("soundnet_keras/presets/"):] for n in names
                      if n.startswith("soundnet_keras/presets/"))
    assert packaged == [p[len("weights/"):] for p in _tracked("weights")]
    assert not [n for n in names if n.startswith("weights/")]
    zipfile.ZipFile(wheel).extractall(tmp_path / "installed")
    code = ("from soundnet_keras.weights import PRESETS, WEIGHTS_DIR, "
            "preset_weights, load_labels; "
            "print(WEIGHTS_DIR); print(sorted(PRESETS)); "
            "print(preset_weights(WEIGHTS_DIR / 'snf_standin')); "
            "print(len(load_labels()[0]))")
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
        text=True, check=True,
        env=dict(os.environ, PYTHONPATH=str(tmp_path / "installed"))
    ).stdout.splitlines()
    presets = tmp_path / "installed" / "soundnet_keras" / "presets"
    assert out == [str(presets), str(sorted(W.PRESETS)),
                   str(presets / "snf_standin" / "model.weights.h5"),
                   "1000"]
    assert json.loads((presets / "snf_standin" / "metadata.json")
                      .read_text()) == W.read_preset_folder(
        W.WEIGHTS_DIR / "snf_standin")[1]
