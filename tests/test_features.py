"""Feature extraction: chunked equals whole, times, batches, errors."""

import keras
import numpy as np
import pytest

import soundnet_keras as sk
from soundnet_keras.features import FeatureExtractor


@pytest.fixture(scope="module")
def model(any_weights):
    _, weights = any_weights
    return sk.SoundNet8(weights=str(weights))


def _audio(seconds, seed=0, rate=22050):
    rng = np.random.default_rng(seed)
    x = np.convolve(rng.standard_normal(int(seconds * rate)), np.ones(5) / 5,
                    "same")
    return (0.9 * x / np.abs(x).max()).astype(np.float32)


def _whole(model, layer, waveform):
    name = layer + "_relu" if layer.startswith("conv") and layer not in (
        "conv8", "conv8_2") else layer
    sub = keras.Model(model.input, model.get_layer(name).output)
    return keras.ops.convert_to_numpy(sub(256 * waveform[None, :, None], training=False))[0]


@pytest.mark.parametrize("layer", ["conv1", "pool2", "conv5", "pool5",
                                   "conv7", "conv8_2"])
@pytest.mark.parametrize("fast", [True, False])
def test_chunked_equals_whole(model, layer, fast):
    waveform = _audio(31.37, seed=1)
    ex = FeatureExtractor(layer, model, fast=fast)
    assert (ex.plan is not None) == fast
    whole = ex(waveform[None])[0]
    n_chunks = len(list(ex.chunks(waveform.size, chunk_seconds=4.0)))
    assert n_chunks >= 3
    values, times = sk.extract_features(waveform, 22050, layer, model=ex,
                                        chunk_seconds=4.0)
    assert values.shape == whole.shape and values.dtype == np.float32
    # 1e-5 relative to the layer's scale: chunks change the order of
    # float32 sums; deep activations (conv7 with random weights ~10, the
    # heads' logits ~50) carry ~1e-6 relative rounding.
    scale = max(1.0, float(np.max(np.abs(whole))))
    assert np.max(np.abs(values - whole)) <= 1e-5 * scale
    assert times.shape == (len(values),)
    # The folded plan and the Keras model agree to float32 rounding
    # (their sums run in other orders), relative to the layer's scale.
    keras_whole = _whole(model, layer, waveform)
    assert np.max(np.abs(whole - keras_whole)) <= 1e-5 * max(
        1.0, float(np.max(np.abs(keras_whole))))


def test_a_keras_model_is_compiled_once_and_followed():
    # model= a keras.Model: its extractor is made once and kept; it reads
    # the weights as they are at each call.
    from soundnet_keras.features import extractor
    model = sk.SoundNet8(include_top=False, weights=None)
    assert extractor("conv5", model) is extractor("conv5", model)
    x = _audio(3)
    before, _ = sk.extract_features(x, 22050, "conv3", model=model)
    layer = model.get_layer("conv2_bn")
    layer.gamma.assign(2 * keras.ops.convert_to_numpy(layer.gamma))
    after, _ = sk.extract_features(x, 22050, "conv3", model=model)
    expected = _whole(model, "conv3", x)
    assert np.max(np.abs(after - expected)) <= 1e-5 * np.max(np.abs(expected))
    assert np.max(np.abs(after - before)) > 1e-2


def test_chunk_plan_covers_every_frame_once():
    ex = FeatureExtractor("conv5", sk.SoundNet8(weights=None))
    n = 1_234_567
    covered = []
    for start, stop, first, last in ex.chunks(n, chunk_seconds=7.0):
        assert start % ex.geometry["jump"] == 0 and 0 <= start < stop <= n
        covered.extend(range(first, last))
    assert covered == list(range(ex.n_frames(n)))


def test_times_are_frame_centres(model):
    values, times = sk.extract_features(_audio(20), 22050, "conv5",
                                        model=model)
    assert values.shape == (217, 256)
    np.testing.assert_allclose(times, sk.frame_times("soundnet8", "conv5",
                                                     217))
    assert np.allclose(np.diff(times), 2048 / 22050)  # 10.77 Hz


def test_other_sample_rates_are_resampled(model):
    at_44k = np.repeat(_audio(12, seed=3), 2)  # 12 s at 44,100 Hz
    values, times = sk.extract_features(at_44k, 44100, "conv5", model=model)
    assert len(values) == sk.output_length("soundnet8", "conv5", 12 * 22050)


def test_batch_equals_single(model):
    clips = [_audio(20, seed=s) for s in range(3)] + [_audio(11.3, seed=9)]
    batch = sk.extract_features_batch(clips, 22050, "pool5", model=model,
                                      batch_size=2)
    for clip, (values, times) in zip(clips, batch):
        single, single_times = sk.extract_features(clip, 22050, "pool5",
                                                   model=model)
        np.testing.assert_allclose(values, single, atol=1e-5, rtol=1e-5)
        np.testing.assert_array_equal(times, single_times)


def test_errors(model):
    with pytest.raises(ValueError, match="Unknown layer 'conv9'"):
        sk.extract_features(_audio(1), 22050, "conv9", model=model)
    with pytest.raises(ValueError, match="too short for layer 'conv8'"):
        sk.extract_features(_audio(3), 22050, "conv8", model=model)
    values, _ = sk.extract_features(_audio(3), 22050, "conv8", model=model,
                                    pad=True)
    assert values.shape == (1, 1000)
    without_top = sk.SoundNet8(include_top=False, weights=None)
    with pytest.raises(ValueError, match="no layer 'conv8' .*include_top=True"):
        sk.extract_features(_audio(12), 22050, "conv8", model=without_top)
    with pytest.raises(ValueError, match="waveform 1: the audio has zero"):
        sk.extract_features_batch([_audio(1), np.zeros(0)], 22050, "conv5",
                                  model=model)
