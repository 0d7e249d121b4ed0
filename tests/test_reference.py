"""Every layer of the port against the independent NumPy implementation."""

import keras
import numpy as np
import pytest

import soundnet_keras as sk
from numpy_reference import reference_forward

LAYERS = ([f"conv{i}{s}" for i in range(1, 8) for s in ("", "_bn", "_relu")]
          + ["pool1", "pool2", "pool5", "conv8", "conv8_2", "objects",
             "places"])


def _computable(n):
    """The layers that give at least one frame for ``n`` input samples."""
    base = {"objects": "conv8", "places": "conv8_2"}
    return [name for name in LAYERS if sk.output_length(
        "soundnet8", base.get(name, name.split("_")[0]), n) > 0]


def _probe(model, names):
    return keras.Model(model.input, [model.get_layer(n).output for n in names])


def _max_rel_error(ours, ref):
    return float(np.max(np.abs(ours - ref)) / max(np.max(np.abs(ref)), 1e-12))


def _input(batch, n, seed):
    rng = np.random.default_rng(seed)
    # Band-limited noise with a speech-like envelope, scaled as the network
    # expects ([-1, 1] times 256).
    x = rng.standard_normal((batch, n))
    x = np.apply_along_axis(lambda v: np.convolve(v, np.ones(9) / 9, "same"),
                            1, x)
    x *= np.abs(np.sin(np.linspace(0, 7, n)))[None]
    return (x / np.abs(x).max() * 0.8 * 256).astype(np.float32)


@pytest.mark.parametrize("batch,n", [(2, 220501), (1, 40001), (3, 1777)])
def test_every_layer_matches_numpy_reference(any_weights, batch, n):
    params, weights = any_weights
    model = sk.SoundNet8(weights=str(weights))
    x = _input(batch, n, seed=n)
    names = _computable(n)
    ours = dict(zip(names, (keras.ops.convert_to_numpy(o) for o in _probe(model, names)(
        x[..., None], training=False))))
    ref = reference_forward(x.astype(np.float64), params)
    assert ref, "reference computed nothing"
    compared = 0
    for name, expected in ref.items():
        assert ours[name].shape == expected.shape, name
        assert _max_rel_error(ours[name], expected) <= 1e-4, name
        compared += 1
    assert compared == len(names)
    assert (compared == len(LAYERS)) == (n >= sk.min_samples("soundnet8",
                                                              "conv8"))


def test_reference_test_detects_a_wrong_epsilon(random_weights):
    # The comparison must catch Keras' default batch-norm epsilon (1e-3).
    params, path = random_weights
    params = {k: dict(v) for k, v in params.items()}
    params["conv3"]["var"] = np.full_like(params["conv3"]["var"], 1e-3)
    from soundnet_keras.port import params_to_variables
    from soundnet_keras.weights import write_weights
    import tempfile, os
    tmp = os.path.join(tempfile.mkdtemp(), "w.weights.h5")
    write_weights(tmp, params_to_variables(params))
    model = sk.SoundNet8(weights=tmp)
    model.get_layer("conv3_bn").epsilon = 1e-3
    x = _input(1, 40001, seed=1)
    ours = keras.ops.convert_to_numpy(keras.Model(model.input, model.get_layer(
        "conv3_bn").output)(x[..., None], training=False))
    ref = reference_forward(x.astype(np.float64), params)["conv3_bn"]
    assert _max_rel_error(ours, ref) > 1e-2


FAST_LAYERS = ["conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5",
               "pool5", "conv6", "conv7", "conv8", "conv8_2"]


@pytest.mark.parametrize("batch,n", [(2, 220501), (1, 40001), (3, 1777)])
def test_fast_extraction_matches_numpy_reference(any_weights, batch, n):
    # The folded plan (batch norm in the convolutions, conv1 polyphase with
    # pool1 fused) that feature extraction runs by default.
    params, weights = any_weights
    model = sk.SoundNet8(weights=str(weights))
    x = _input(batch, n, seed=n)
    ref = reference_forward(x.astype(np.float64), params)
    compared = 0
    for layer in FAST_LAYERS:
        key = f"{layer}_relu" if layer in [f"conv{i}" for i in range(1, 8)] \
            else layer
        if key not in ref:
            continue
        ex = sk.FeatureExtractor(layer, model)
        assert ex.plan is not None, layer
        ours = ex(x / 256.0)
        assert ours.shape == ref[key].shape, layer
        assert _max_rel_error(ours, ref[key]) <= 1e-4, layer
        compared += 1
    assert compared == len([k for k in FAST_LAYERS if sk.output_length(
        "soundnet8", k, n) > 0])
