"""Predictions on real recordings, tiling, and the command line."""

import subprocess
import sys

import numpy as np
import pytest
import soundfile

import soundnet_keras as sk
from soundnet_keras import cli
from soundnet_keras.predictions import head_outputs, reliable_frames, tile_to
from soundnet_keras.specs import geometry


@pytest.fixture(scope="module")
def pretrained(real_params):
    return sk.SoundNet8()


def test_railroad_recording(golden, pretrained):
    waveform = sk.load_audio(golden / "railroad_audio.wav")
    result = sk.predict(waveform, 22050, top=3, model=pretrained)
    places = [name for name, _ in result["places"]]
    assert places == ["railroad_track", "train_station/platform",
                      "train_railway"]
    assert result["places"][0][1] == pytest.approx(0.23, abs=0.01)
    objects = [name for name, _ in result["objects"]]
    assert objects == ["passenger car, coach, carriage",
                       "electric locomotive", "freight car"]


def test_forest_recording(golden, pretrained):
    waveform = sk.load_audio(golden / "forest_track_2.mp3")
    result = sk.predict(waveform, 22050, model=pretrained, per_frame=True)
    assert result["places"][0][0] == "forest_path"
    total = sk.output_length("soundnet8", "conv8", waveform.size)
    assert result["frames_total"] == total
    assert len(result["frames"]) == result["frames_used"] == int(
        reliable_frames(waveform.size).sum())


@pytest.mark.parametrize("seconds", [5, 10, 19, 25])
def test_railroad_cuts_predict_railroad_track(golden, pretrained, seconds):
    # Before: 10 and 19 s gave parking_garage/outdoor at p ~ 1 (the frames
    # reading conv7's padding-dominated last frame), 5 s too (tiled to 10 s).
    audio = np.tile(sk.load_audio(golden / "railroad_audio.wav"), 2)
    result = sk.predict(audio[:seconds * 22050], 22050, top=1,
                        model=pretrained)
    assert result["places"][0][0] == "railroad_track"
    assert result["places"][0][1] > 0.15


@pytest.mark.slow
def test_railroad_at_every_length(golden, pretrained):
    # 85 lengths from 1 to 29 s (benchmarks/prediction_lengths.py): the old
    # rule put railroad_track first at 42 of them.
    audio = np.tile(sk.load_audio(golden / "railroad_audio.wav"), 2)
    wrong = []
    for seconds in np.round(np.arange(1, 29.01, 1 / 3), 2):
        result = sk.predict(audio[:int(round(seconds * 22050))], 22050,
                            top=1, model=pretrained)
        if result["places"][0][0] != "railroad_track":
            wrong.append((seconds, result["places"][0]))
    assert not wrong


def test_reliable_frames_follow_the_geometry():
    # A conv8 frame reads conv7 frames [2i, 2i + 8); conv7's last frame is
    # left out, whatever the length.
    for n in range(209374, 30 * 22050, 4099):
        keep = reliable_frames(n)
        n7 = sk.output_length("soundnet8", "conv7", n)
        last_read = 2 * np.arange(keep.size) + 7
        assert np.array_equal(keep, last_read != n7 - 1), n
        # Conv7's last frame always reaches 25-61% of its field past the
        # input, into the padding.
        geo = geometry("soundnet8")["conv7"]
        end = (n7 - 1) * geo["jump"] + geo["offset"] + geo["field"]
        assert 0.25 < (end - n) / geo["field"] < 0.61


def test_tiling_repeats_short_input():
    x = np.arange(3, dtype=np.float32)
    assert np.array_equal(tile_to(x, 8), [0, 1, 2, 0, 1, 2, 0, 1])
    assert tile_to(x, 2) is x


def test_short_input_is_tiled_to_twenty_seconds(pretrained):
    one_second = np.sin(np.linspace(0, 2000, 22050)).astype(np.float32) * 0.3
    result = sk.predict(one_second, 22050, model=pretrained, per_frame=True)
    assert len(result["frames"]) == result["frames_used"] == 4


def test_chunked_heads_equal_one_pass(random_weights):
    _, path = random_weights
    model = sk.SoundNet8(weights=str(path))
    x = np.random.default_rng(1).uniform(-0.5, 0.5, 50 * 22050)
    x = x.astype(np.float32)
    chunked = head_outputs(x, model, chunk_seconds=20)
    whole = head_outputs(x, model, chunk_seconds=1e9)
    for a, b in zip(chunked, whole):
        assert a.shape == b.shape
        # Softmax outputs in [0, 1]: the same sums in another order differ
        # by float32 rounding of the logits (~1e-6 relative), no more.
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_predictions_build_nothing_and_equal_one_model_call(
        random_weights, monkeypatch):
    """Repeated predictions on one model build no extractor or sub-model
    (before: a FeatureExtractor("conv8"), unused but compiled, per call),
    and their outputs are the model's own on the whole input."""
    import keras
    from soundnet_keras.audio import preprocess_input
    from soundnet_keras.features import FeatureExtractor
    _, path = random_weights
    model = sk.SoundNet8(weights=str(path))
    built = []
    for cls in (FeatureExtractor, keras.Model):
        init = cls.__init__

        def counted(self, *args, _init=init, **kwargs):
            built.append(type(self).__name__)
            _init(self, *args, **kwargs)
        monkeypatch.setattr(cls, "__init__", counted)
    x = np.random.default_rng(2).uniform(-0.5, 0.5, 20 * 22050)
    x = x.astype(np.float32)
    results = [sk.predict(x, 22050, top=3, model=model) for _ in range(3)]
    heads = head_outputs(x, model)
    assert built == []
    objects, places = (keras.ops.convert_to_numpy(p)[0] for p in model(
        preprocess_input(x)[None, :, None], training=False))
    np.testing.assert_array_equal(heads[0], objects)
    np.testing.assert_array_equal(heads[1], places)
    labels = sk.load_labels()[1]
    keep = reliable_frames(x.size)
    mean = places[keep].mean(0)
    top = np.argsort(-mean)[:3]
    for result in results:
        assert [n for n, _ in result["places"]] == [labels[i] for i in top]
        np.testing.assert_array_equal([p for _, p in result["places"]],
                                      mean[top].astype(float))


def _wav(path, seconds, rate=22050):
    rng = np.random.default_rng(0)
    soundfile.write(path, 0.1 * rng.standard_normal(int(seconds * rate)), rate)
    return path


def test_cli_extract_goes_on_past_bad_files(tmp_path, capsys, random_weights):
    _, weights = random_weights
    good = _wav(tmp_path / "good.wav", 3.0)
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    out = tmp_path / "out"
    code = cli.main(["extract", str(good), str(bad), "--layer", "pool5",
                     "--out", str(out), "--weights", str(weights)])
    assert code == 1
    err = capsys.readouterr().err
    assert "1 file(s) failed" in err and "bad.wav: cannot read audio" in err
    saved = np.load(out / "good.wav.npz")
    assert saved["values"].shape == (8, 256)
    assert saved["times"].shape == (8,)
    assert sorted(p.name for p in out.iterdir()) == ["good.wav.npz"]


def test_cli_extract_matches_python_api(tmp_path, random_weights):
    _, weights = random_weights
    path = _wav(tmp_path / "a.wav", 4.0)
    assert cli.main(["extract", str(path), "--layer", "conv5", "--out",
                     str(tmp_path), "--weights", str(weights)]) == 0
    values, times = sk.extract_features(
        sk.load_audio(path), 22050, "conv5",
        model=sk.SoundNet8(include_top=False, weights=str(weights)))
    saved = np.load(tmp_path / "a.wav.npz")
    # The same extractor on the same audio (post-ReLU float32 values).
    np.testing.assert_allclose(saved["values"], values, rtol=1e-5,
                               atol=1e-6 * np.abs(values).max())
    np.testing.assert_array_equal(saved["times"], times)


def test_cli_predict(golden, real_params, capsys):
    assert cli.main(["predict", str(golden / "railroad_audio.wav"),
                     "--top", "1"]) == 0
    out = capsys.readouterr().out
    assert "places   railroad_track" in out


def test_python_m_layers():
    result = subprocess.run([sys.executable, "-m", "soundnet_keras", "layers"],
                            capture_output=True, text=True, check=True)
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["layer", "feature_maps", "filter_size",
                                "subsampling", "frame_rate_hz",
                                "receptive_field_s"]
    assert len(lines) == 14 and lines[-1].split()[0] == "conv8_2"


def test_cli_bad_weights_argument(capsys):
    # Arguments first: the weights are refused before the missing file.
    assert cli.main(["predict", "x.wav", "--weights", "imagenet"]) == 2
    assert "weights must be one of" in capsys.readouterr().err


def test_predict_refuses_a_model_without_its_top():
    model = sk.SoundNet8(weights=None, include_top=False)
    with pytest.raises(ValueError, match=r"predict needs SoundNet-8 with its "
                       r"top \(include_top=True.*sk.extract_features"):
        sk.predict(np.zeros(22050 * 3, np.float32), 22050, model=model)
