"""Predictions on real recordings, tiling, and the command line."""

import subprocess
import sys

import numpy as np
import pytest
import soundfile

import soundnet_keras as sk
from soundnet_keras import cli
from soundnet_keras.predictions import tile_to


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
    assert len(result["frames"]) == sk.output_length(
        "soundnet8", "conv8", waveform.size)


def test_tiling_repeats_short_input():
    x = np.arange(3, dtype=np.float32)
    assert np.array_equal(tile_to(x, 8), [0, 1, 2, 0, 1, 2, 0, 1])
    assert tile_to(x, 2) is x


def test_short_input_is_tiled_to_ten_seconds(pretrained):
    one_second = np.sin(np.linspace(0, 2000, 22050)).astype(np.float32) * 0.3
    result = sk.predict(one_second, 22050, model=pretrained, per_frame=True)
    assert len(result["frames"]) == 1


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
    code = cli.main(["extract", str(good), str(bad), str(tmp_path / "x.wav"),
                     "--layer", "pool5", "--out", str(out),
                     "--weights", str(weights)])
    assert code == 1
    err = capsys.readouterr().err
    assert "2 file(s) failed" in err and "bad.wav" in err and "x.wav" in err
    saved = np.load(out / "good.npz")
    assert saved["values"].shape == (8, 256)
    assert saved["times"].shape == (8,)
    assert sorted(p.name for p in out.iterdir()) == ["good.npz"]


def test_cli_extract_matches_python_api(tmp_path, random_weights):
    _, weights = random_weights
    path = _wav(tmp_path / "a.wav", 4.0)
    assert cli.main(["extract", str(path), "--layer", "conv5", "--out",
                     str(tmp_path), "--weights", str(weights)]) == 0
    values, times = sk.extract_features(
        sk.load_audio(path), 22050, "conv5",
        model=sk.SoundNet8(include_top=False, weights=str(weights)))
    saved = np.load(tmp_path / "a.npz")
    np.testing.assert_allclose(saved["values"], values, atol=1e-6)
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
    assert cli.main(["predict", "x.wav", "--weights", "imagenet"]) == 2
    assert "weights must be one of" in capsys.readouterr().err
