"""SN-F and SN-R: Tables 2 and 3, shapes, frame rates, features."""

import keras
import numpy as np
import pytest

import soundnet_keras as sk

# Table 2 as printed, with the two corrections (pool5 subsampling 2, not 4;
# receptive field 0.34 s, not 0.44 s, for pool5 and above).
PAPER_TABLE2 = {
    "conv1": (16, 64, 2, 8000, "0.0040"),
    "pool1": (16, None, 5, 1600, "0.0045"),
    "conv2": (32, 32, 2, 800, "0.024"),
    "pool2": (32, None, 5, 160, "0.029"),
    "conv3": (64, 16, 2, 80, "0.12"),
    "conv4": (128, 8, 2, 40, "0.21"),
    "conv5": (256, 4, 2, 20, "0.29"),
    "pool5": (256, None, 2, 10, "0.34"),
    "fc1": (100, None, None, 10, "0.34"),
    "fc2": (100, None, None, 10, "0.34"),
    "fc3": (100, None, None, 10, "0.34"),
}


def _agrees(value, printed):
    decimals = len(printed.split(".")[1])
    return abs(value - float(printed)) <= 0.5 * 10 ** -decimals + 1e-12


def test_snf_table_is_corrected_table2():
    table = sk.layer_table("snf").set_index("layer")
    for layer, (maps, kernel, sub, rate, field) in PAPER_TABLE2.items():
        row = table.loc[layer]
        assert row.feature_maps == maps, layer
        if kernel is not None:
            assert row.filter_size == kernel, layer
        if sub is not None:
            assert row.subsampling == sub, layer
        assert row.frame_rate_hz == rate, layer
        assert _agrees(row.receptive_field_s, field), layer
    assert table.loc["output", "feature_maps"] + table.loc[
        "output_2", "feature_maps"] == 1000 + 401
    # As printed, pool5 (subsampling 4, 0.44 s) would run at 5 Hz.
    assert table.loc["pool5", "subsampling"] != 4
    assert not _agrees(table.loc["pool5", "receptive_field_s"], "0.44")


@pytest.mark.parametrize("model,cell", [("snr", "gru"), ("snr_lstm", "lstm")])
def test_snr_table_is_table3(model, cell):
    table = sk.layer_table(model).set_index("layer")
    for i in (1, 2, 3):
        row = table.loc[f"{cell}{i}"]
        assert row.feature_maps == 100 * 2 and row.frame_rate_hz == 10
    assert table.loc["output", "frame_rate_hz"] == 10
    # Layers up to pool5 are identical to SN-F.
    snf = sk.layer_table("snf").set_index("layer")
    assert table.loc[:"pool5"].equals(snf.loc[:"pool5"])


def test_snf_model_shapes_and_layers():
    model = sk.SoundNetF()
    objects, places = model(np.zeros((2, 320000, 1), "float32"))
    assert objects.shape == (2, 200, 1000) and places.shape == (2, 200, 401)
    assert np.allclose(keras.ops.convert_to_numpy(objects).sum(-1), 1, atol=1e-5)
    assert model.get_layer("fc2").activation.__name__ == "tanh"
    assert sk.SoundNetF(activation="relu").get_layer(
        "fc1").activation.__name__ == "relu"
    assert model.get_layer("pool1").pool_size == (5,)
    assert model.get_layer("pool5").strides == (2,)


def test_snr_layers_reachable_before_and_after_batch_norm():
    model = sk.SoundNetR()
    names = [l.name for l in model.layers]
    for i in (1, 2, 3):
        assert f"gru{i}" in names and f"gru{i}_bn" in names
    gru = model.get_layer("gru1")
    assert gru.forward_layer.units == 100
    assert gru.forward_layer.activation.__name__ == "relu"
    no_bn = sk.SoundNetR(batch_norm=False)
    assert "gru1_bn" not in [l.name for l in no_bn.layers]
    with pytest.raises(ValueError, match="cell must be 'gru' or 'lstm'"):
        sk.SoundNetR(cell="rnn")


@pytest.mark.parametrize("factory,layer,dim", [
    (sk.SoundNetF, "pool5", 256), (sk.SoundNetF, "fc1", 100),
    (sk.SoundNetR, "gru1", 200), (sk.SoundNetR, "gru2_bn", 200)])
def test_extract_features_of_variant_layers(factory, layer, dim):
    model = factory()
    rng = np.random.default_rng(0)
    waveform = (0.1 * rng.standard_normal(16000 * 7)).astype(np.float32)
    values, times = sk.extract_features(waveform, 16000, layer, model=model,
                                        chunk_seconds=2.0)
    assert values.shape == (70, dim)
    np.testing.assert_allclose(np.diff(times), 0.1)
    # Chunked (SN-F) or whole (SN-R), the result is the whole-input one.
    whole, _ = sk.extract_features(waveform, 16000, layer, model=model,
                                   chunk_seconds=100.0)
    np.testing.assert_allclose(values, whole, atol=1e-5)


@pytest.mark.parametrize("factory,preset,layer", [
    (sk.SoundNetF, "snf_standin", "fc3"), (sk.SoundNetR, "snr_trunk_pool",
                                           "gru3_bn")])
def test_distilled_presets_load(factory, preset,
                                layer):
    # The committed weights load through their checksum and give finite,
    # non-constant features.
    model = factory(weights=preset)
    rng = np.random.default_rng(0)
    waveform = (0.1 * rng.standard_normal(16000 * 5)).astype(np.float32)
    values, _ = sk.extract_features(waveform, 16000, layer, model=model)
    assert np.all(np.isfinite(values)) and values.std() > 0


def test_snr_recurrent_activation_is_configurable():
    model = sk.SoundNetR(cell="lstm", activation="tanh")
    assert model.get_layer("lstm2").forward_layer.activation.__name__ == "tanh"


def test_a_preset_brings_its_architecture(tmp_path, monkeypatch):
    """A preset's config (here LSTM cells with tanh) builds the model its
    weights belong to, by folder or, for a built-in preset, by name in the
    factory; without it, the paper's ReLU."""
    from soundnet_keras import weights as W
    folder = sk.save_preset(sk.SoundNetR(weights=None, cell="lstm",
                                         activation="tanh"),
                            tmp_path / "mine", description="a test preset")
    monkeypatch.setattr(W, "WEIGHTS_DIR", tmp_path)
    monkeypatch.setitem(W.PRESETS, "mine", W._read_presets(tmp_path)["mine"])
    for model in (sk.load_preset(str(folder)), sk.SoundNetR(weights="mine")):
        assert model.name == "snr_lstm"
        assert model.get_layer(
            "lstm1").forward_layer.activation.__name__ == "tanh"
    assert sk.SoundNetR(cell="lstm").get_layer(
        "lstm1").forward_layer.activation.__name__ == "relu"
