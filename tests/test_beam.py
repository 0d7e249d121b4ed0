"""The Apache Beam pipeline: equal to single-file extraction, idempotent,
failures collected, collision-free names. Needs ``pip install .[beam]``."""

import os

import numpy as np
import pytest
import soundfile

pytest.importorskip("apache_beam")

import soundnet_keras as sk  # noqa: E402
from soundnet_keras.beam import FAILURES, extract_pipeline  # noqa: E402
from soundnet_keras.cli import main  # noqa: E402

# Same names in different folders and with different extensions; other
# rates and channel counts; a clip shorter than one conv5 frame.
SYNTHETIC = {"a/x.wav": (7.5, 22050, 1), "b/x.wav": (12.0, 44100, 2),
             "b/x.flac": (3.1, 16000, 1), "c/d/long.ogg": (31.0, 22050, 1)}
GOLDEN_FILES = ("railroad_audio.wav", "forest_track_2.mp3")


def _make_inputs(folder, golden_dir):
    rng = np.random.default_rng(0)
    for name, (seconds, rate, channels) in SYNTHETIC.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        x = 0.3 * rng.standard_normal((int(seconds * rate), channels))
        soundfile.write(path, x.clip(-1, 1), rate)
    good = list(SYNTHETIC)
    if golden_dir is not None:  # real recordings, linked (never copied)
        (folder / "real").mkdir()
        for name in GOLDEN_FILES:
            os.symlink(golden_dir / name, folder / "real" / name)
            good.append(f"real/{name}")
    (folder / "b" / "broken.wav").write_bytes(b"RIFF not audio at all")
    soundfile.write(folder / "a" / "short.wav", np.zeros(100), 22050)
    (folder / "notes.txt").write_text("not audio, not matched")
    return good, ["b/broken.wav", "a/short.wav"]


@pytest.fixture
def golden_or_none():
    from conftest import GOLDEN
    return GOLDEN if GOLDEN.is_dir() else None


def test_pipeline_equals_single_file_and_rerun_skips(tmp_path, random_weights,
                                                     golden_or_none):
    _, weights = random_weights
    good, bad = _make_inputs(tmp_path / "in", golden_or_none)
    out = tmp_path / "out"
    counts = extract_pipeline([tmp_path / "in"], out, weights=str(weights))
    assert counts == dict(written=len(good), skipped=0, failed=len(bad))

    model = sk.SoundNet8(include_top=False, weights=str(weights))
    for name in good:
        stored = np.load(out / f"{name}.npz")
        values, times = sk.extract_features(
            sk.load_audio(tmp_path / "in" / name), 22050, "conv5",
            model=model)
        np.testing.assert_array_equal(stored["values"], values)
        np.testing.assert_array_equal(stored["times"], times)
    failures = (out / FAILURES).read_text().splitlines()
    assert sorted(line.split("\t")[0] for line in failures) == sorted(
        str(tmp_path / "in" / name) for name in bad)
    assert any("cannot read audio" in line for line in failures)
    assert any("too short for layer 'conv5'" in line for line in failures)
    assert not list(out.rglob("*.part"))

    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.npz")}
    again = extract_pipeline([tmp_path / "in"], out, weights=str(weights))
    assert again == dict(written=0, skipped=len(good), failed=len(bad))
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.npz")} == stamps

    # Only what is missing is done again; a glob selects files, and the
    # root keeps the names those files had. The command line is the same.
    (out / "b" / "x.flac.npz").unlink()
    assert main(["beam", str(tmp_path / "in" / "b" / "*.flac"), "--out",
                 str(out), "--weights", str(weights), "--root",
                 str(tmp_path / "in")]) == 0
    assert (out / "b" / "x.flac.npz").stat().st_mtime_ns > max(
        stamps.values())
    assert main(["beam", str(tmp_path / "in" / "b"), "--out", str(out),
                 "--weights", str(weights)]) == 1   # broken.wav failed


def test_pipeline_errors(tmp_path):
    with pytest.raises(ValueError, match="Unknown layer 'conv9'"):
        extract_pipeline([tmp_path], tmp_path / "out", layer="conv9")
    with pytest.raises(ValueError, match="no audio files in"):
        extract_pipeline([str(tmp_path / "*.wav")], tmp_path / "out")
