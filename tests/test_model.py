"""The Keras model: names, shapes, semantics and serialisation round trips."""

import keras
import numpy as np
import pytest

import soundnet_keras as sk


def test_layer_names():
    names = [l.name for l in sk.SoundNet8(weights=None).layers]
    for i in range(1, 8):
        for suffix in ("", "_bn", "_relu"):
            assert f"conv{i}{suffix}" in names
    for name in ("pool1", "pool2", "pool5", "conv8", "conv8_2", "objects",
                 "places"):
        assert name in names


def test_original_semantics():
    model = sk.SoundNet8(weights=None)
    assert model.get_layer("conv1_pad").padding == (32, 32)
    assert model.get_layer("conv8").kernel_size == (8,)
    assert model.get_layer("conv8").strides == (2,)
    for i in range(1, 8):
        assert model.get_layer(f"conv{i}_bn").epsilon == 1e-5
        assert model.get_layer(f"conv{i}").dilation_rate == (1,)
    assert model.get_layer("pool5").pool_size == (4,)


def test_outputs_with_top_are_softmaxes():
    model = sk.SoundNet8(weights=None)
    x = np.random.default_rng(0).uniform(-256, 256, (2, 441000, 1))
    objects, places = (keras.ops.convert_to_numpy(o) for o in model(x.astype("float32")))
    assert objects.shape == (2, 4, 1000) and places.shape == (2, 4, 401)
    assert np.allclose(objects.sum(-1), 1, atol=1e-5)
    assert np.allclose(places.sum(-1), 1, atol=1e-5)
    assert model.output_names == ["objects", "places"]


@pytest.mark.parametrize("pooling,shape", [(None, (1, 15, 1024)),
                                           ("avg", (1, 1024)),
                                           ("max", (1, 1024))])
def test_without_top(pooling, shape):
    model = sk.SoundNet8(include_top=False, weights=None, pooling=pooling)
    out = keras.ops.convert_to_numpy(model(np.zeros((1, 441000, 1), "float32")))
    assert out.shape == shape


def test_bad_pooling():
    with pytest.raises(ValueError, match="pooling must be one of"):
        sk.SoundNet8(include_top=False, weights=None, pooling="mean")
    with pytest.raises(ValueError, match="only with include_top=False"):
        sk.SoundNet8(weights=None, pooling="avg")


def test_fixed_input_shape():
    model = sk.SoundNet8(weights=None, input_shape=(441000, 1))
    assert model.outputs[0].shape == (None, 4, 1000)


def test_get_config_round_trip(random_weights):
    _, path = random_weights
    model = sk.SoundNet8(weights=str(path))
    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(1).uniform(-256, 256, (1, 220500, 1))
    x = x.astype("float32")
    for a, b in zip(model(x), clone(x)):
        # The same float32 ops on the same input: a few ulps of the scale.
        b = keras.ops.convert_to_numpy(b)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), b, rtol=1e-5,
                                   atol=1e-6 * np.abs(b).max())


def test_keras_save_load_round_trip(random_weights, tmp_path):
    _, path = random_weights
    model = sk.SoundNet8(include_top=False, weights=str(path))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    x = np.random.default_rng(2).uniform(-256, 256, (1, 50001, 1))
    x = x.astype("float32")
    # The same float32 ops on the same input: a few ulps of the scale.
    expected = keras.ops.convert_to_numpy(loaded(x))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x)), expected, rtol=1e-5,
                               atol=1e-6 * np.abs(expected).max())
    assert loaded.get_layer("conv3_bn").epsilon == 1e-5
