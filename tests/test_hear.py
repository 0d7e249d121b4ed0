"""The HEAR API (soundnet_keras.hear): the contract hear-validator checks,
tested on its own; hear-validator itself where installed (slow)."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import soundnet_keras as sk
from soundnet_keras.hear import (get_scene_embeddings,
                                 get_timestamp_embeddings, load_model)
from soundnet_keras.weights import preset_path

STUDENTS = ["snf_scratch_pool", "snr_scratch_pool"]
MODELS = STUDENTS + (["" ] if preset_path("soundnet8_flickr").exists()
                     else [])


@pytest.fixture(scope="module", params=MODELS,
                ids=lambda m: m or "soundnet8")
def model(request):
    return load_model(request.param)


def test_the_model_object(model):
    assert isinstance(model, tf.Module)
    assert model.sample_rate in (16000, 22050)
    assert model.scene_embedding_size == model.timestamp_embedding_size > 0


def test_timestamp_embeddings_and_their_times(model):
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal((3, 2 * model.sample_rate))
             ).astype(np.float32)
    emb, ts = get_timestamp_embeddings(tf.constant(audio), model)
    assert isinstance(emb, tf.Tensor) and isinstance(ts, tf.Tensor)
    n, frames, dim = emb.shape
    assert (n, dim) == (3, model.timestamp_embedding_size)
    assert ts.shape == (3, frames)
    # milliseconds, the centres of the frames' spans (the network geometry)
    want = 1000 * sk.frame_times(model.spec, model.layer, frames)
    np.testing.assert_allclose(ts.numpy(), np.tile(want, (3, 1)), rtol=1e-6)
    assert np.all(np.diff(ts.numpy(), axis=1) > 0)
    # each sound's embedding is the extractor's, alone or in a batch
    alone = sk.extract_features(audio[1], model.sample_rate, model.layer,
                                model=model.model)[0]
    np.testing.assert_allclose(emb.numpy()[1], alone, rtol=1e-4,
                               atol=1e-5 * np.abs(alone).max())
    scene = get_scene_embeddings(audio, model)
    assert scene.shape == (3, model.scene_embedding_size)
    np.testing.assert_allclose(scene.numpy(), emb.numpy().mean(axis=1),
                               rtol=1e-5, atol=1e-6)


def test_short_sounds_are_padded_and_bad_shapes_refused(model):
    emb, ts = get_timestamp_embeddings(np.zeros((2, 10), np.float32), model)
    assert emb.shape[:2] == ts.shape and emb.shape[1] >= 1
    with pytest.raises(ValueError, match=r"\(n_sounds, n_samples\)"):
        get_timestamp_embeddings(np.zeros(100, np.float32), model)


def test_load_model_refuses_what_it_cannot_load():
    with pytest.raises(ValueError, match="load_model takes ''"):
        load_model("model.onnx")
    with pytest.raises(ValueError, match="has no feature layer 'conv9'"):
        load_model("snf_scratch_pool", layer="conv9")


def test_load_model_takes_a_preset_folder(tmp_path):
    """A user's preset folder (a fine-tuned student, say) is a HEAR model
    too, with the same embedding as the model it was saved from."""
    from soundnet_keras import load_preset, save_preset
    folder = save_preset(load_preset("snf_scratch_pool"), tmp_path / "mine")
    mine, shipped = load_model(str(folder)), load_model("snf_scratch_pool")
    audio = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 16000)) \
        .astype(np.float32)
    np.testing.assert_array_equal(get_scene_embeddings(audio, mine),
                                  get_scene_embeddings(audio, shipped))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="not a preset folder"):
        load_model(str(tmp_path / "empty"))


def _validator():
    """hear-validator beside this Python, else on the PATH."""
    beside = Path(sys.executable).with_name("hear-validator")
    return str(beside) if beside.is_file() else shutil.which("hear-validator")


@pytest.mark.slow
@pytest.mark.parametrize("model", ["soundnet8_flickr", "snf_trunk_pool",
                                   "snr_scratch_pool"])
def test_hear_validator(model):
    if not _validator():
        pytest.skip("hear-validator is not installed (pip install "
                    "hearvalidator; it needs torch)")
    if model == "soundnet8_flickr" and "" not in MODELS:
        pytest.skip("the released SoundNet-8 weights are not fetched")
    done = subprocess.run([_validator(), "soundnet_keras.hear",
                           "--model", model],
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Looks good!" in done.stdout
