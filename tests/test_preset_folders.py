"""Preset folders: save, load, share by URL with its hash; the same checks
as the built-in presets."""

import json

import numpy as np
import pytest

import soundnet_keras as sk
from soundnet_keras.preset_folders import architecture, load_preset_folder
from soundnet_keras.weights import ChecksumError

RNG = np.random.default_rng(0)
AUDIO = (0.1 * RNG.standard_normal((1, 48000, 1))).astype("float32")


def _perturbed(model):
    """The model with every weight changed, as a fine-tuned one would be."""
    rng = np.random.default_rng(1)
    for variable in model.weights:
        variable.assign(np.asarray(variable) + 0.01 * rng.standard_normal(
            variable.shape).astype("float32"))
    return model


@pytest.mark.parametrize("preset", ["snf_trunk_pool", "snr_scratch_pool"])
def test_a_fine_tuned_student_round_trips(preset, tmp_path):
    model = _perturbed(sk.load_preset(preset))
    folder = sk.save_preset(model, tmp_path / "mine", base=preset,
                            description="fine-tuned for a test")
    loaded = sk.load_preset(str(folder))
    assert architecture(loaded) == architecture(model)
    for a, b in zip(model(AUDIO), loaded(AUDIO)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    card = (folder / "README.md").read_text()
    assert card.startswith("# mine\n\nfine-tuned for a test.")
    assert f"Started from the preset `{preset}`" in card
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["weights_sha256"] in card


def test_soundnet8_without_its_top(tmp_path):
    model = sk.SoundNet8(include_top=False)
    folder = sk.save_preset(model, tmp_path / "sn8")
    loaded = sk.load_preset(folder)
    assert architecture(loaded) == ("soundnet8", {}, False)
    np.testing.assert_array_equal(np.asarray(model(AUDIO)),
                                  np.asarray(loaded(AUDIO)))


def test_a_url_needs_and_checks_its_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("SOUNDNET_KERAS_HOME", str(tmp_path / "cache"))
    model = _perturbed(sk.SoundNetF(include_top=False))
    folder = sk.save_preset(model, tmp_path / "shared" / "my_snf")
    archive, digest = sk.archive_preset(folder)
    assert archive.name == "my_snf.tar.gz"
    url = archive.as_uri()
    loaded = sk.load_preset(url, sha256=digest)
    np.testing.assert_array_equal(np.asarray(model(AUDIO)),
                                  np.asarray(loaded(AUDIO)))
    with pytest.raises(ValueError, match="needs its sha256"):
        sk.load_preset(url)
    other = tmp_path / "other" / "my_snf2.tar.gz"
    other.parent.mkdir()
    other.write_bytes(archive.read_bytes())
    with pytest.raises(ChecksumError, match="sha256"):
        sk.load_preset(other.as_uri(), sha256="0" * 64)


def test_changed_weights_and_other_folders_are_refused(tmp_path):
    folder = sk.save_preset(sk.SoundNetF(include_top=False), tmp_path / "p")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        sk.save_preset(sk.SoundNetF(include_top=False), folder)
    weights = folder / "model.weights.h5"
    weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ChecksumError, match="metadata.json records"):
        load_preset_folder(folder)
    (folder / "config.json").write_text('{"format": "keras-hub"}')
    with pytest.raises(ValueError, match="config.json has format "
                       "'keras-hub', not 'soundnet_keras preset 1'"):
        load_preset_folder(folder)
    (folder / "config.json").unlink()
    with pytest.raises(ValueError, match="not a preset folder: no "
                       "config.json"):
        sk.load_preset(str(folder))
    with pytest.raises(ValueError, match="Unknown preset 'nowhere'"):
        sk.load_preset("nowhere")


def test_only_soundnet_models_are_saved(tmp_path):
    import keras
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="not a SoundNet-8, SN-F or SN-R"):
        sk.save_preset(other, tmp_path / "x")
    assert not (tmp_path / "x").exists()
