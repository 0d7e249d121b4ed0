"""Corpora: layout and loading, the default corpus, the stand-in builder
(small tier of sources, same code path), the distillation pool."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile

from sed import corpora as D
from sed.cli import main as sed_main
from sed.corpora import mixer, standin as S
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


def test_a_failed_rebuild_leaves_the_old_corpus_and_nothing_else(
        tmp_path, default_corpus, monkeypatch):
    """A corpus is built beside its folder and swapped in whole: a build
    that fails half way leaves the old corpus as it was and no leftover
    (before: a half-written audio/ that blocked the retry)."""
    root = copy_corpus(default_corpus, tmp_path / "c")
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    from sed.corpora import default as builder
    real = builder._make_default

    def failing(stage, *args):
        (stage / "audio" / "half.wav").write_bytes(b"RIFF")
        raise OSError("No space left on device")
    monkeypatch.setattr(builder, "_make_default", failing)
    with pytest.raises(OSError, match="No space"):
        D.make_default_corpus(root, minutes=1, overwrite=True)
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == \
        before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]
    monkeypatch.setattr(builder, "_make_default", real)
    fresh = tmp_path / "new"
    with pytest.raises(OSError):
        monkeypatch.setattr(builder, "_make_default", failing)
        D.make_default_corpus(fresh, minutes=1)
    assert not fresh.exists()      # nothing blocks the retry
    monkeypatch.setattr(builder, "_make_default", real)
    assert len(D.make_default_corpus(fresh, minutes=1).files()) == 5


@pytest.mark.parametrize("minutes", [0, -5, float("nan"), "ten"])
def test_corpus_sizes_that_make_no_sense_are_refused_first(tmp_path,
                                                             minutes):
    with pytest.raises(ValueError, match="minutes must be a number > 0"):
        D.make_default_corpus(tmp_path / "c", minutes=minutes)
    assert not (tmp_path / "c").exists()


def test_cli(tmp_path, capsys):
    assert sed_main(["corpus", "default", "--out", str(tmp_path / "c"),
                     "--minutes", "1"]) == 0
    assert "17 classes" in capsys.readouterr().out
    assert sed_main(["corpus", "summary", str(tmp_path / "c")]) == 0
    assert "time with >= 1 / >= 2 / >= 3 events active" in \
        capsys.readouterr().out
    assert sed_main(["corpus", "summary", str(tmp_path / "nothing")]) == 2
    assert "Corpus folder not found" in capsys.readouterr().err
    from sed import data        # the old module name still works
    assert data.load_corpus is D.load_corpus
    assert data.main(["summary", str(tmp_path / "c")]) == 0


# --------------------------------------------------------------------------
# Mixer pieces.

def test_energy_span_and_event_level():
    x = np.zeros(3200)
    x[1000:2000] = np.sin(np.arange(1000) / 3)
    x[2500] = 1e-3                  # far below -30 dB: outside the span
    start, stop = D.energy_span(x, RATE)
    assert (start, stop) == (960, 2080)     # whole 10 ms frames
    assert D.energy_span(np.zeros(100), RATE) == (0, 0)
    # a frame 29 dB below the peak is inside, one 31 dB below outside
    y = np.concatenate([np.full(160, 10 ** (-29 / 20)), np.ones(160),
                        np.full(160, 10 ** (-31 / 20))])
    assert D.energy_span(y, RATE) == (0, 320)
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


def test_split_3_1_1():
    rng = np.random.default_rng(0)
    weights = rng.uniform(1, 2, size=200)
    split = np.array(D.split_3_1_1(weights, rng))
    shares = [weights[split == s].sum() / weights.sum() for s in D.SPLITS]
    np.testing.assert_allclose(shares, [0.6, 0.2, 0.2], atol=0.01)
    assert sorted(D.split_3_1_1([5.0, 1.0, 1.0], rng)) == \
        ["test", "train", "val"]            # every split gets one


# --------------------------------------------------------------------------
# The stand-in corpus on the small tier of sources (CI: `make
# standin-packages` fetches it; the full tier uses the same code).

needs_small_tier = pytest.mark.skipif(
    not D.standin_available("small"),
    reason="the small tier's Debian packages are not fetched: run `make "
    "standin-packages` (sed-ctc corpus fetch --tier small)")


def build_small(root, seed=0):
    return D.make_standin_corpus(root, hours=0.05, seed=seed, tier="small",
                                 progress=False)


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    if not D.standin_available("small"):
        pytest.skip("the small tier's packages are not fetched (make "
                    "standin-packages)")
    return build_small(tmp_path_factory.mktemp("s") / "corpus")


def sources_table(corpus):
    return pd.read_csv(corpus.root / "sources.tsv", sep="\t")


def test_standin_shape(standin):
    c = standin
    every = [s.label for s in D.STANDIN_CLASSES]
    assert len(every) == 17 and {"speech", "music"} <= set(every)
    assert c.classes == [x for x in every
                         if x not in c.metadata["missing_classes"]]
    assert len(c.classes) >= 12 and c.sample_rate == RATE
    assert [len(c.files(s)) for s in D.SPLITS] == [3, 1, 1]
    assert split_seconds(c).sum() == pytest.approx(180, abs=1e-6)
    for name, seconds in c.durations.items():
        assert soundfile.info(str(c.audio_path(name))).frames == \
            round(seconds * RATE)
    assert c.metadata["polyphony"]["max"] <= 3
    assert set(c.metadata["parameters"]["packages"]) == \
        set(S.TIERS["small"])
    material = pd.read_csv(c.root / "material.csv")
    assert set(material["event_label"]) - {"background"} == set(c.classes)
    assert (material["clips"] >= 1).all() and (material["minutes"] > 0).all()


def test_standin_no_source_segment_in_two_splits(standin):
    table = sources_table(standin)
    assert set(table["split"]) == set(D.SPLITS)
    for split in D.SPLITS:     # rows name the recording's own split
        names = set(table.loc[table["split"] == split, "filename"])
        assert names <= set(standin.files(split))
    assert S.shared_sources(table) == []
    # The check fails when a segment is used in two splits.
    row = table[table["split"] == "train"].iloc[[0]].copy()
    row["split"] = "test"
    bad = S.shared_sources(pd.concat([table, row], ignore_index=True))
    assert bad and bad[0][:2] == tuple(row[["package", "source_path"]]
                                       .iloc[0])


def test_standin_licences_for_every_source(standin):
    licence = {(e["package"], e["source_path"]): e["licence"]
               for e in standin.metadata["sources"]}
    used = set(zip(*sources_table(standin)[["package", "source_path"]]
                   .values.T))
    assert used and used <= set(licence)
    assert all(licence[k] and licence[k].strip() for k in used)
    opensfx = [v for (p, _), v in licence.items() if p == "openttd-opensfx"]
    assert any("Creative Commons" in v for v in opensfx)


def test_standin_is_deterministic_by_seed(tmp_path, standin):
    again = build_small(tmp_path / "same")
    first = corpus_bytes(standin.root)
    assert first == corpus_bytes(again.root)
    other = build_small(tmp_path / "other", seed=1)
    second = corpus_bytes(other.root)
    assert first["train.tsv"] != second["train.tsv"]
    # another seed: another realisation from the same split of the sources
    split_of = {(e["package"], e["source_path"]): e["splits"]
                for e in standin.metadata["sources"]}
    assert split_of == {(e["package"], e["source_path"]): e["splits"]
                        for e in other.metadata["sources"]}


def frame_power(x, hop=160):
    n = len(x) // hop
    return (np.asarray(x[:n * hop], np.float64).reshape(n, hop) ** 2) \
        .mean(axis=1)


@needs_small_tier
def test_standin_annotations_match_the_rendered_energy():
    """In a mix of one rendered event over a near-silent background, the
    annotation covers the 10 ms frames within 30 dB of the event's loudest
    frame, to one frame."""
    material = S.collect_material(S.TIERS["small"])
    rng = np.random.default_rng(0)
    for spec in D.STANDIN_CLASSES:
        if len({c.group for c in material.get(spec.label, [])}) < 3:
            continue            # left out of small-tier corpora
        pools = S.split_material(material[spec.label], spec.label)
        render = S.EventRenderer({spec.label: pools["test"]})
        for _ in range(2):
            event = render(spec.label, rng, 20_000)
            background = 1e-7 * rng.standard_normal(25 * RATE) \
                .astype(np.float32)
            audio, rows = mixer.mix(background, [(2000, event)], rng,
                                    (60.0, 60.0))
            (onset, offset, label, _), = rows
            power = frame_power(audio)
            loud = np.flatnonzero(power >= power.max() * 1e-3)
            assert label == spec.label
            assert abs(onset - loud[0] * 0.01) <= 0.0101, spec.label
            assert abs(offset - (loud[-1] + 1) * 0.01) <= 0.0101, spec.label
            assert offset - onset >= S.MIN_EVENT_S


def test_standin_events_sit_where_the_annotations_are(standin):
    """Annotated spans carry more energy than the recording's quietest
    event-free stretches (events are -5 to +20 dB over the background)."""
    c = standin
    louder = []
    for name in c.files():
        x, _ = soundfile.read(str(c.audio_path(name)))
        mine = c.events()[c.events()["filename"] == name]
        quiet = np.ones(len(x), dtype=bool)
        for on, off in zip(mine["onset"], mine["offset"]):
            quiet[int(on * RATE):int(off * RATE)] = False
        background = window_rms(x[quiet], 0, quiet.sum())
        louder += [window_rms(x, int(on * RATE), int(off * RATE)) >
                   background for on, off in zip(mine["onset"],
                                                 mine["offset"])]
    assert np.mean(louder) > 0.85


# --------------------------------------------------------------------------
# Sources and the distillation pool.

def test_classes_and_exclusions():
    from sed.corpora.sources import classify
    assert classify("scratch", "usr/share/scratch/Media/Sounds/Animal/"
                    "Owl.wav") == "bird"
    assert classify("0ad-data", "usr/share/games/0ad/mods/public/public.zip"
                    "!audio/ambient/weather/rain_11.ogg") == "rain"
    assert classify("0ad-data", "usr/share/games/0ad/mods/public/public.zip"
                    "!audio/interface/alarm/alarm_warship.ogg") is None
    assert classify("sonic-pi-samples",
                    "usr/share/sonic-pi/samples/elec_beep.flac") is None
    for spec in D.STANDIN_CLASSES:
        assert spec.patterns and spec.description


@needs_small_tier
def test_pool_layout_and_loader(tmp_path):
    sources = [("sonic-pi-samples", "music", r"loop_(amen|breakbeat)\.")]
    pool = D.make_pool(tmp_path / "pool", sources=sources, progress=False,
                       max_files=2)
    assert len(pool) == 2 and pool.sample_rate == 22050
    assert list(pool.manifest.columns) == ["path", "kind", "package",
                                           "source_path", "licence",
                                           "duration_s", "split"]
    assert set(pool.manifest["split"]) <= {"train", "val"}
    assert pool.manifest["licence"].str.len().min() > 0
    x = pool.read(0)
    assert x.dtype == np.float32 and \
        len(x) == pytest.approx(pool.manifest["duration_s"][0] * 22050,
                                abs=12)    # duration_s: to 1 ms
    assert len(pool.read(0, sample_rate=16000)) == \
        pytest.approx(len(x) * 16000 / 22050, abs=2)
    same = D.load_pool(tmp_path / "pool", split="train")
    assert len(same) == (pool.manifest["split"] == "train").sum()
    with pytest.raises(ValueError, match="stand-in corpus material"):
        D.make_pool(tmp_path / "bad", progress=False,
                    sources=[("scratch", "ambience", r"Animal/Owl")])
    with pytest.raises(FileNotFoundError, match="sed-ctc corpus pool"):
        D.load_pool(tmp_path / "nothing")


def test_makefile_fetches_the_small_tier():
    makefile = (Path(__file__).parent.parent / "Makefile").read_text()
    assert "corpus fetch --tier $(1)" in makefile
    target = makefile.split("\nstandin-packages:", 1)[1].split("\n\n")[0]
    assert "$(call FETCH,small)" in target


def test_fetch_names_the_package_and_the_remedy(tmp_path):
    from sed.corpora import debian
    if shutil.which("apt-get") is None:
        pytest.skip("no apt-get")
    with pytest.raises(RuntimeError, match=r"'no-such-package-x1'.*"
                                           r"apt-get update"):
        debian.package_root("no-such-package-x1", cache=tmp_path)
    assert not debian.is_fetched("no-such-package-x1", cache=tmp_path)
