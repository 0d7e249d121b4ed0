"""Exported models (soundnet_keras.export) loaded in their own runtimes
equal the Keras model on real audio at two lengths."""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import soundnet_keras as sk
from soundnet_keras.export import export_model
from soundnet_keras.features import FeatureExtractor
from soundnet_keras.weights import preset_path

GOLDEN = Path(__file__).resolve().parents[2] / "shared" / "golden" / \
    "railroad_audio.wav"
CASES = [("snf_scratch_pool", "fc1"), ("snr_scratch_pool", "gru1_bn")]
if preset_path("soundnet8_flickr").exists():
    CASES.append(("soundnet8_flickr", "conv5"))


def _audio(rate):
    """Real audio (the golden railroad recording where present, else
    generated) at ``rate``, cut at two lengths."""
    if GOLDEN.is_file():
        x = sk.load_audio(GOLDEN, rate)
    else:
        rng = np.random.default_rng(0)
        t = np.arange(12 * rate) / rate
        x = (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(t))
             + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    return [x[:3 * rate], x[:11 * rate]]


def _reference(preset, layer, x, rate):
    model = sk.load_preset(preset)
    return sk.extract_features(x, rate, layer, model=FeatureExtractor(
        layer, model, fast=False))[0]


def _check(got, want):
    assert got.shape == want.shape
    # float32 rounding of the same graph in another runtime
    np.testing.assert_allclose(got, want, rtol=1e-4,
                               atol=1e-4 * np.abs(want).max())


@pytest.mark.parametrize("preset,layer", CASES)
def test_savedmodel_equals_keras(preset, layer, tmp_path):
    path = export_model(preset, tmp_path, "savedmodel", layer=layer)
    meta = json.loads(path.with_name(path.name + ".json").read_text())
    rate = meta["sample_rate"]
    assert (meta["preset"], meta["layer"], meta["variable_length"]) == \
        (preset, layer, True)
    loaded = tf.saved_model.load(str(path))
    for x in _audio(rate):
        got = loaded.serve(x[None, :, None]).numpy()[0]
        _check(got, _reference(preset, layer, x, rate))


@pytest.mark.parametrize("preset,layer", CASES)
def test_onnx_equals_keras(preset, layer, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    path = export_model(preset, tmp_path, "onnx", layer=layer)
    meta = json.loads(path.with_suffix(".json").read_text())
    session = ort.InferenceSession(str(path))
    name = session.get_inputs()[0].name
    for x in _audio(meta["sample_rate"]):
        got = session.run(None, {name: x[None, :, None]})[0][0]
        _check(got, _reference(preset, layer, x, meta["sample_rate"]))


LITERT_CASES = [("snf_scratch_pool", "fc1"), ("snr_scratch_pool", "pool5")]
if preset_path("soundnet8_flickr").exists():
    LITERT_CASES.append(("soundnet8_flickr", "conv5"))


@pytest.mark.parametrize("preset,layer", LITERT_CASES)
def test_litert_equals_keras(preset, layer, tmp_path):
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    path = export_model(preset, tmp_path, "litert", layer=layer)
    assert path.suffix == ".tflite"
    meta = json.loads(path.with_suffix(".json").read_text())
    for x in _audio(meta["sample_rate"]):
        interpreter = litert.Interpreter(model_path=str(path))
        given = interpreter.get_input_details()[0]
        interpreter.resize_tensor_input(given["index"], [1, len(x), 1])
        interpreter.allocate_tensors()
        interpreter.set_tensor(given["index"], x[None, :, None])
        interpreter.invoke()
        got = interpreter.get_tensor(
            interpreter.get_output_details()[0]["index"])[0]
        _check(got, _reference(preset, layer, x, meta["sample_rate"]))


def test_litert_refuses_recurrent_layers(tmp_path):
    with pytest.raises(ValueError, match="gru1_bn of snr cannot be exported "
                       "to LiteRT faithfully: its recurrent layers"):
        export_model("snr_scratch_pool", tmp_path, "litert",
                     layer="gru1_bn")
    assert not list(tmp_path.iterdir())


def test_frame_times_from_the_metadata(tmp_path):
    path = export_model("snr_scratch_pool", tmp_path, "savedmodel",
                        layer="pool5")
    meta = json.loads(path.with_name(path.name + ".json").read_text())
    f = meta["frames"]
    n = 7
    times = (np.arange(n) * f["jump"] + f["offset"] + f["field"] / 2) / \
        meta["sample_rate"]
    np.testing.assert_allclose(times, sk.frame_times("snr", "pool5", n))


def test_export_refuses_what_it_cannot_do(tmp_path):
    with pytest.raises(ValueError, match="Unknown format 'tflite'"):
        export_model("snf_scratch_pool", tmp_path, "tflite")
    with pytest.raises(ValueError, match="top needs SoundNet-8 with its "
                       "heads"):
        export_model(sk.SoundNet8(weights=None, include_top=False),
                     tmp_path, top=True)
    with pytest.raises(ValueError, match="either layer or top"):
        export_model("snf_scratch_pool", tmp_path, layer="fc1", top=True)


def test_cli_export_writes_the_artefact_and_its_metadata(tmp_path, capsys):
    from soundnet_keras.cli import main
    assert main(["export", "snf_scratch_pool", "--layer", "pool5",
                 "--out", str(tmp_path)]) == 0
    assert (tmp_path / "snf_scratch_pool_pool5" / "saved_model.pb").is_file()
    meta = json.loads((tmp_path / "snf_scratch_pool_pool5.json").read_text())
    assert (meta["format"], meta["layer"], meta["sample_rate"]) == \
        ("savedmodel", "pool5", 16000)
    assert "wrote" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["export", "snf_scratch_pool", "--format", "tflite", "--out",
              str(tmp_path)])
    assert stop.value.code == 2
    assert "invalid choice: 'tflite'" in capsys.readouterr().err
