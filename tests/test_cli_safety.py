"""The command line loses nothing and checks everything: output names,
temporary files, weights hashes, arguments, Ctrl-C, a quiet start."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from soundnet_keras import cli
from soundnet_keras.console import filtered_stderr

ROOT = Path(__file__).resolve().parent.parent


def _wav(path, seconds=3.0, rate=22050):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(str(path)))
    soundfile.write(path, 0.1 * rng.standard_normal(int(seconds * rate)),
                    rate)
    return path


def _extract(files, out, weights, *extra):
    return cli.main(["extract", *map(str, files), "--layer", "pool5",
                     "--out", str(out), "--weights", str(weights), *extra])


def test_same_names_in_two_folders_are_both_kept(tmp_path, random_weights):
    _, weights = random_weights
    a = _wav(tmp_path / "A" / "rec.wav", 3.0)
    b = _wav(tmp_path / "B" / "rec.wav", 4.0)
    assert _extract([a, b], tmp_path / "out", weights) == 0
    out = tmp_path / "out"
    assert np.load(out / "A" / "rec.wav.npz")["values"].shape[0] == 8
    assert np.load(out / "B" / "rec.wav.npz")["values"].shape[0] == 11


def test_one_stem_two_formats_are_both_kept(tmp_path, random_weights):
    """``rec.wav`` and ``rec.flac`` keep their extension in their outputs'
    names; one file given twice is refused before starting."""
    _, weights = random_weights
    wav = _wav(tmp_path / "rec.wav")
    flac = tmp_path / "rec.flac"
    soundfile.write(flac, soundfile.read(wav)[0], 22050)
    out = tmp_path / "out"
    assert _extract([wav, flac], out, weights) == 0
    assert sorted(p.name for p in out.iterdir()) == ["rec.flac.npz",
                                                     "rec.wav.npz"]
    assert _extract([wav, wav], tmp_path / "twice", weights) == 2
    assert not (tmp_path / "twice").exists()


def test_temporary_names_cannot_collide(tmp_path, random_weights):
    _, weights = random_weights
    files = [_wav(tmp_path / "rec.wav"), _wav(tmp_path / "rec.part.wav", 4.0)]
    out = tmp_path / "out"
    assert _extract(files, out, weights) == 0
    assert sorted(p.name for p in out.iterdir()) == ["rec.part.wav.npz",
                                                     "rec.wav.npz"]
    assert np.load(out / "rec.part.wav.npz")["values"].shape[0] == 11


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt])
def test_failed_write_leaves_nothing(tmp_path, capsys, monkeypatch,
                                     random_weights, error):
    _, weights = random_weights
    wav = _wav(tmp_path / "rec.wav")

    def failing_savez(path, **arrays):
        Path(path).write_bytes(b"half a file")
        raise error

    monkeypatch.setattr(np, "savez", failing_savez)
    out = tmp_path / "out"
    code = _extract([wav], out, weights)
    assert list(out.iterdir()) == []
    err = capsys.readouterr().err
    if error is KeyboardInterrupt:
        assert code == 130 and err == "interrupted\n"
    else:
        assert code == 1 and "rec.wav: disk full" in err


def test_missing_inputs_are_reported_before_any_work(tmp_path, capsys):
    assert cli.main(["predict", str(tmp_path / "a.wav"),
                     str(tmp_path / "b.wav")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no such file: ") and "a.wav" in err \
        and "b.wav" in err


@pytest.mark.parametrize("top", ["0", "-1", "x"])
def test_top_must_be_positive(top, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["predict", "x.wav", "--top", top])
    assert exit_.value.code == 2
    assert "expected a positive integer" in capsys.readouterr().err


def test_weights_help_lists_only_soundnet8_presets(capsys):
    with pytest.raises(SystemExit):
        cli.main(["predict", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "a SoundNet-8 preset (soundnet8_flickr)" in out
    assert "snf_standin" not in out


def test_weights_files_are_checked(tmp_path, capsys, random_weights):
    _, weights = random_weights
    wav = _wav(tmp_path / "rec.wav")
    stray = tmp_path / "w" / "stray.weights.h5"
    stray.parent.mkdir()
    stray.write_bytes(Path(weights).read_bytes())
    out = tmp_path / "out"
    assert _extract([wav], out, stray) == 2
    assert "no sha256 recorded for" in capsys.readouterr().err
    assert _extract([wav], out, stray, "--trust-weights") == 0
    assert capsys.readouterr().err.startswith(
        "warning: loading weights with no sha256 recorded")
    (stray.parent / "SHA256SUMS").write_text(f"{'1' * 64}  stray.weights.h5\n")
    assert _extract([wav], out, stray, "--trust-weights") == 2
    assert "sha256 mismatch" in capsys.readouterr().err


def test_interrupt_is_one_line_and_status_130(tmp_path, capsys, monkeypatch,
                                             random_weights):
    _, weights = random_weights
    wav = _wav(tmp_path / "rec.wav")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("soundnet_keras.predictions.predict", interrupted)
    assert cli.main(["predict", str(wav), "--weights", str(weights)]) == 130
    assert capsys.readouterr().err == "interrupted\n"


def _run(code, **env):
    return subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, cwd=ROOT, env=dict(os.environ, **env))


@pytest.mark.parametrize("program, argv", [
    ("soundnet_keras.cli", ["predict", "missing.wav", "--weights", "W"]),
    ("soundnet_keras.cli", ["extract", "missing.wav", "--out", "o",
                            "--weights", "W"]),
    ("sed.cli", ["detect", "missing.wav", "--model", "missing_run"]),
    ("sed.cli", ["evaluate", "--model", "missing_run", "--corpus", "c"]),
])
def test_input_errors_come_before_tensorflow(program, argv, random_weights):
    argv = [str(random_weights[1]) if a == "W" else a for a in argv]
    result = _run(f"import sys, {program} as m; code = m.main({argv!r}); "
                  "assert 'tensorflow' not in sys.modules, 'TF loaded'; "
                  "sys.exit(code)")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: no such file")
    assert len(result.stderr.splitlines()) == 1


def test_tensorflow_starts_quietly():
    result = _run("from soundnet_keras.console import start_tensorflow; "
                  "tf = start_tensorflow(); tf.constant(1.0) + 1")
    assert result.returncode == 0
    assert result.stderr == ""


def test_the_filter_keeps_real_errors(capfd):
    with filtered_stderr():
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() "
                    b"is called are written to STDERR\n"
                    b"I0000 00:00:1.5   12 port.cc:153] oneDNN custom ops\n"
                    b"E0000 00:00:1.6   12 cuda_platform.cc:52] failed call "
                    b"to cuInit: INTERNAL: CUDA error\n"
                    b"E0000 00:00:1.7   12 other.cc:1] a real error\n"
                    b"Traceback: something else\n")
    assert capfd.readouterr().err == ("E0000 00:00:1.7   12 other.cc:1] a "
                                      "real error\nTraceback: something "
                                      "else\n")
    with pytest.raises(ImportError), filtered_stderr():
        os.write(2, b"I0000 00:00:1.5   12 x.cc:1] kept when it fails\n")
        raise ImportError
    assert "kept when it fails" in capfd.readouterr().err
