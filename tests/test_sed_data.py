"""Corpora: layout and loading, the default corpus, the stand-in builder."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile

from sed import data as D
from sed.events import read_tsv

RATE = D.SAMPLE_RATE


def corpus_bytes(root):
    """Every file of a corpus folder -> its bytes."""
    root = Path(root)
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def split_seconds(corpus):
    return np.array([sum(corpus.durations[f] for f in corpus.files(s))
                     for s in D.SPLITS])


def window_rms(x, start, stop):
    return float(np.sqrt(np.mean(x[start:stop] ** 2)))


@pytest.fixture(scope="module")
def default_corpus(tmp_path_factory):
    return D.make_default_corpus(tmp_path_factory.mktemp("d") / "corpus",
                                 minutes=4, seed=0)


# --------------------------------------------------------------------------
# The default corpus.

def test_default_corpus_is_deterministic(tmp_path, default_corpus):
    again = D.make_default_corpus(tmp_path / "same", minutes=4, seed=0)
    first = corpus_bytes(default_corpus.root)
    assert first == corpus_bytes(again.root)
    other = D.make_default_corpus(tmp_path / "other", minutes=4, seed=1)
    second = corpus_bytes(other.root)
    wavs = [k for k in first if k.endswith(".wav")]
    assert wavs and all(first[k] != second[k] for k in wavs)
    assert first["train.tsv"] != second["train.tsv"]


def test_default_corpus_shape(default_corpus):
    c = default_corpus
    assert c.classes == D.DEFAULT_CLASSES and len(c.classes) == 17
    assert c.sample_rate == RATE and c.metadata["kind"] == "default"
    seconds = split_seconds(c)
    assert seconds.sum() == pytest.approx(240, abs=1e-6)
    np.testing.assert_allclose(seconds / seconds.sum(), [0.6, 0.2, 0.2],
                               atol=0.1)
    for name, seconds in c.durations.items():
        info = soundfile.info(str(c.audio_path(name)))
        assert info.samplerate == RATE and info.subtype == "PCM_16"
        assert info.frames == round(seconds * RATE)
    events = c.events()
    assert set(events["event_label"]) == set(c.classes)
    length = events["offset"] - events["onset"]
    assert length.min() >= 0.3 - 1e-9 and length.max() <= 4 + 1e-9
    shares = D.polyphony_shares(events, c.durations)
    assert shares["max"] <= 3 and 0.1 < shares["ge2"] < 0.5
    assert c.metadata["polyphony"]["ge2"] == shares["ge2"]
    summary = pd.read_csv(c.root / "summary.csv")
    assert summary["count"].sum() == len(events)


def test_default_events_are_where_the_sound_is(default_corpus):
    """Each event is louder than the background where nothing is active."""
    c = default_corpus
    for name in c.files()[:4]:
        x, _ = soundfile.read(str(c.audio_path(name)))
        mine = c.events()[c.events()["filename"] == name]
        quiet = np.ones(len(x), dtype=bool)
        for on, off in zip(mine["onset"], mine["offset"]):
            quiet[int(on * RATE):int(off * RATE)] = False
        background = float(np.sqrt(np.mean(x[quiet] ** 2)))
        for on, off in zip(mine["onset"], mine["offset"]):
            # SNR >= 6 dB: the event's part alone is 2x the background.
            assert window_rms(x, int(on * RATE), int(off * RATE)) > \
                1.5 * background


# --------------------------------------------------------------------------
# Loading and its errors.

def copy_corpus(source, target):
    shutil.copytree(source.root, target)
    return target


def test_load_corpus_round_trip(default_corpus):
    c = D.load_corpus(default_corpus.root)
    assert c.files() == default_corpus.files()
    pd.testing.assert_frame_equal(c.events("test"),
                                  default_corpus.events("test"))
    assert c.audio_path(c.files("val")[0]).is_file()
    with pytest.raises(ValueError, match="Unknown split 'dev'"):
        c.files("dev")


def test_user_corpus_with_minimal_metadata(tmp_path):
    root = tmp_path / "mine"
    (root / "audio").mkdir(parents=True)
    for name, seconds in (("a.wav", 2.0), ("b.wav", 1.5), ("c.wav", 1.0)):
        soundfile.write(str(root / "audio" / name),
                        np.zeros(int(seconds * 8000)), 8000)
    header = "filename\tonset\toffset\tevent_label\n"
    (root / "train.tsv").write_text(header + "a.wav\t0.5\t1.0\tdog\n"
                                    "a.wav\t0.8\t1.9\tdog\n")
    (root / "val.tsv").write_text(header + "b.wav\t0\t1.5\tcat\n")
    (root / "test.tsv").write_text(header + "c.wav\t0.1\t0.2\tdog\n")
    (root / "metadata.json").write_text(json.dumps(
        {"classes": ["dog", "cat"], "sample_rate": 8000}))
    c = D.load_corpus(root)
    assert c.durations == {"a.wav": 2.0, "b.wav": 1.5, "c.wav": 1.0}
    assert c.files("val") == ["b.wav"]
    # overlapping events of one label are merged on load
    assert c.events("train").values.tolist() == [["a.wav", 0.5, 1.9, "dog"]]


@pytest.mark.parametrize("damage, error, message", [
    (lambda r: (r / "metadata.json").unlink(), FileNotFoundError,
     "metadata.json is missing"),
    (lambda r: (r / "val.tsv").unlink(), FileNotFoundError,
     r"Split file missing: .*val\.tsv"),
    (lambda r: next((r / "audio").glob("*.wav")).unlink(), FileNotFoundError,
     "Audio file missing"),
    (lambda r: _edit_tsv(r, "test.tsv", 2, label="trumpet"), ValueError,
     r"test\.tsv, line 2 \(.*\): unknown event label 'trumpet'"),
    (lambda r: _edit_tsv(r, "train.tsv", 3, offset=1000.0), ValueError,
     r"train\.tsv, line 3 \(.*\): offset 1000\.0 is beyond the end"),
    (lambda r: _edit_meta(r, lambda m: m["splits"]["val"].append(
        m["splits"]["train"][0])), ValueError, "listed in both"),
    (lambda r: _edit_meta(r, lambda m: m.update(sample_rate=22050)),
     ValueError, "sample rate 16000 Hz, but metadata.json says 22050"),
    (lambda r: _edit_meta(r, lambda m: m.update(classes="dog")),
     ValueError, r"metadata.json: 'classes' must be a non-empty list of "
     r"distinct label strings.*Received: 'dog'"),
    (lambda r: _edit_meta(r, lambda m: m.update(sample_rate="16k")),
     ValueError, r"metadata.json: 'sample_rate' must be a positive whole "
     r"number of Hz.*Received: '16k'"),
    (lambda r: _edit_meta(r, lambda m: m["splits"].pop("test")),
     ValueError, "'splits' lacks the split 'test'"),
    (lambda r: _edit_meta(r, lambda m: m["durations"].update(
        {k: v + 1 for k, v in m["durations"].items()})), ValueError,
     "but metadata.json says"),
])
def test_load_corpus_errors(tmp_path, default_corpus, damage, error, message):
    root = copy_corpus(default_corpus, tmp_path / "c")
    damage(root)
    with pytest.raises(error, match=message):
        D.load_corpus(root)


def _edit_tsv(root, name, line, **changes):
    df = read_tsv(root / name)
    for column, value in changes.items():
        column = "event_label" if column == "label" else column
        df.loc[line - 2, column] = value
    df.to_csv(root / name, sep="\t", index=False)


def _edit_meta(root, change):
    meta = json.loads((root / "metadata.json").read_text())
    change(meta)
    (root / "metadata.json").write_text(json.dumps(meta))


def test_builders_refuse_a_non_empty_folder(tmp_path, default_corpus):
    with pytest.raises(FileExistsError, match="overwrite=True"):
        D.make_default_corpus(default_corpus.root, minutes=1)
    root = copy_corpus(default_corpus, tmp_path / "c")
    c = D.make_default_corpus(root, minutes=1, overwrite=True)
    assert len(c.files()) == 5


def test_cli(tmp_path, capsys):
    assert D.main(["default", "--out", str(tmp_path / "c"),
                   "--minutes", "1"]) == 0
    assert "17 classes" in capsys.readouterr().out
    assert D.main(["summary", str(tmp_path / "c")]) == 0
    assert "time with >= 1 / >= 2 / >= 3 events active" in \
        capsys.readouterr().out
    assert D.main(["summary", str(tmp_path / "nothing")]) == 1
    assert "Corpus folder not found" in capsys.readouterr().err


# --------------------------------------------------------------------------
# Mixer pieces.

def test_trim_silence_and_event_level():
    x = np.zeros(3200)
    x[1000:2000] = np.sin(np.arange(1000) / 3)
    x[2500] = 1e-3                  # far below -35 dB: trimmed away
    start, stop = D.trim_silence(x, RATE)
    assert abs(start - 1000) <= 3 and abs(stop - 2000) <= 3
    assert D.trim_silence(np.zeros(100), RATE) == (0, 0)
    sparse = np.zeros(RATE)
    sparse[:160] = 0.5
    assert D.event_level(sparse) == pytest.approx(0.5)


def test_pink_noise_slope():
    x = D.pink_noise(2 ** 16, np.random.default_rng(0))
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / RATE)
    low = spectrum[(freqs > 100) & (freqs < 200)].mean()
    high = spectrum[(freqs > 1000) & (freqs < 2000)].mean()
    assert 10 * np.log10(low / high) == pytest.approx(10, abs=1.5)


# --------------------------------------------------------------------------
# The stand-in corpus (needs the Debian packages).

needs_packages = pytest.mark.skipif(
    bool(D._missing_packages()),
    reason="stand-in corpus packages not installed: apt-get install -y "
    + " ".join(D.STANDIN_PACKAGES))


def test_standin_missing_packages_message(monkeypatch, tmp_path):
    monkeypatch.setattr(D, "_missing_packages", lambda: ["bucklespring-data"])
    with pytest.raises(RuntimeError, match=r"bucklespring-data.*\n.*"
                                           r"apt-get install -y openttd"):
        D.make_standin_corpus(tmp_path / "s", hours=0.05)
    assert not (tmp_path / "s").exists()


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    if D._missing_packages():
        pytest.skip("stand-in corpus packages not installed: apt-get "
                    "install -y " + " ".join(D.STANDIN_PACKAGES))
    return D.make_standin_corpus(tmp_path_factory.mktemp("s") / "corpus",
                                 hours=0.05, seed=0, progress=False)


@needs_packages
def test_opensfx_container():
    entries = D.read_opensfx()
    assert len(entries) == 73
    text, audio, rate = entries[6]
    assert text.startswith('"Ship horn"') and rate == 44100
    assert 2.0 < len(audio) / rate < 3.0


def test_standin_shape(standin):
    c = standin
    assert c.classes == [s.label for s in D.STANDIN_CLASSES]
    assert len(c.classes) == 17 and c.sample_rate == RATE
    assert len(c.files()) == 5
    assert [len(c.files(s)) for s in D.SPLITS] == [3, 1, 1]
    assert split_seconds(c).sum() == pytest.approx(180, abs=1e-6)
    for name, seconds in c.durations.items():
        assert soundfile.info(str(c.audio_path(name))).frames == \
            round(seconds * RATE)
    summary = pd.read_csv(c.root / "summary.csv")
    assert list(summary["event_label"]) == c.classes
    assert (summary[[f"material_{s}_s" for s in D.SPLITS]] > 0).all().all()
    assert c.metadata["polyphony"]["max"] <= 3
    assert set(c.metadata["parameters"]["packages"]) == \
        set(D.STANDIN_PACKAGES)


def test_standin_splits_use_disjoint_material(standin):
    sources = standin.metadata["sources"]
    by_label = {}
    for entry in sources:
        assert entry["licence"] and entry["from"].startswith("Debian package")
        by_label.setdefault(entry["event_label"], []).append(entry)
    assert set(by_label) == set(standin.classes)
    for label, entries in by_label.items():
        groups = {}
        for entry in entries:
            if "segments" in entry:     # one source cut in time: disjoint
                spans = sorted(entry["segments"].values())
                assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
                assert sorted(entry["segments"]) == sorted(D.SPLITS)
            else:                        # whole sources: one split each
                assert len(entry["splits"]) == 1, entry
                groups.setdefault(entry["group"], set()).update(
                    entry["splits"])
        assert all(len(s) == 1 for s in groups.values()), label
        if groups:
            assert set().union(*groups.values()) == set(D.SPLITS), label


def test_standin_events_are_trimmed_and_audible(standin):
    # The rendered events start and end on sound, on the 1 ms grid.
    specs = D.STANDIN_CLASSES
    rng = np.random.default_rng(0)
    opensfx = D.read_opensfx()
    for spec in specs[3:]:              # the small sources: fast to load
        pools = D._split_material(spec, D._load_clips(spec, opensfx), rng)
        render = D._StandinRenderer(specs, {spec.label: pools["test"]},
                                    (0.94, 1.06))
        for _ in range(2):
            x = render(spec.label, rng, 60_000)
            assert len(x) >= 0.1 * RATE and len(x) % (RATE // 1000) == 0
            frames = np.sqrt((x[:len(x) // 160 * 160].reshape(-1, 160) ** 2)
                             .mean(axis=1))
            floor = frames.max() * 10 ** (-45 / 20)
            assert frames[0] >= floor and frames[-1] >= floor, spec.label
    # In the mix, every event is louder than the event-free background.
    c = standin
    for name in c.files():
        x, _ = soundfile.read(str(c.audio_path(name)))
        mine = c.events()[c.events()["filename"] == name]
        quiet = np.ones(len(x), dtype=bool)
        for on, off in zip(mine["onset"], mine["offset"]):
            quiet[int(round(on * RATE)):int(round(off * RATE))] = False
        background = float(np.sqrt(np.mean(x[quiet] ** 2)))
        for on, off, label in zip(mine["onset"], mine["offset"],
                                  mine["event_label"]):
            part = window_rms(x, int(round(on * RATE)),
                              int(round(off * RATE)))
            assert part > 1.2 * background, (name, on, label)


def test_makefile_installs_the_standin_packages():
    from pathlib import Path
    from sed.data import STANDIN_PACKAGES
    makefile = (Path(__file__).parent.parent / "Makefile").read_text()
    line = next(l for l in makefile.splitlines()
                if l.startswith("STANDIN_PACKAGES :="))
    assert line.split(":=")[1].split() == list(STANDIN_PACKAGES)
