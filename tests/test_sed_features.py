"""SED features: kinds, label alignment, low-level PCA, normaliser, cache."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile

import soundnet_keras as sk
from sed import cache as cache_module
from sed import features as F
from sed.cache import CacheKey, FeatureCache
from soundnet_keras.stores import partial_files
from soundnet_keras.weights import (PRESETS, preset_path, recorded_sha256,
                                    sha256)

RATE = 16000
CLASSES = ["tone", "noise"]
# filename -> (split, seconds, events [(label, onset, offset)])
RECORDINGS = {
    "a.wav": ("train", 3.0, [("tone", 0.5, 1.5), ("noise", 1.0, 2.5)]),
    "b.wav": ("train", 2.5, [("noise", 0.2, 0.9)]),
    "c.wav": ("train", 3.2, [("tone", 1.0, 3.0)]),
    "d.wav": ("val", 2.0, [("tone", 0.3, 1.2)]),
    "e.wav": ("test", 2.4, [("noise", 1.1, 2.0)]),
}


def _synthesise(seconds, events, seed):
    """Background noise, a 880 Hz tone and loud noise bursts where given."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    x = 0.01 * rng.standard_normal(t.size)
    for label, onset, offset in events:
        on = (t >= onset) & (t < offset)
        x[on] += (0.4 * np.sin(2 * np.pi * 880 * t[on]) if label == "tone"
                  else 0.3 * rng.standard_normal(on.sum()))
    return x.astype(np.float32)


@dataclass
class FakeCorpus:
    """The duck-typed corpus interface of ``sed.corpora.Corpus``."""

    root: Path
    classes: list = field(default_factory=lambda: list(CLASSES))

    def files(self, split):
        return [f for f, (s, _, _) in RECORDINGS.items() if s == split]

    def audio_path(self, filename):
        return self.root / "audio" / filename

    def events(self, split):
        rows = [(f, on, off, label) for f, (s, _, ev) in RECORDINGS.items()
                if s == split for label, on, off in ev]
        return pd.DataFrame(rows, columns=["filename", "onset", "offset",
                                           "event_label"])


def _make_corpus(root):
    (root / "audio").mkdir(parents=True)
    for i, (name, (_, seconds, events)) in enumerate(RECORDINGS.items()):
        soundfile.write(root / "audio" / name,
                        _synthesise(seconds, events, i), RATE)
    return FakeCorpus(root)


@pytest.fixture
def corpus(tmp_path):
    return _make_corpus(tmp_path / "corpus")


@pytest.fixture(scope="module")
def shared_corpus(tmp_path_factory):
    return _make_corpus(tmp_path_factory.mktemp("shared") / "corpus")


def _paths(corpus, split):
    return [corpus.audio_path(f) for f in corpus.files(split)]


@pytest.mark.parametrize("module", [F, cache_module],
                         ids=["features", "cache"])
def test_docstring_examples(module):
    import doctest
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# --------------------------------------------------------------------------
# Kinds.

def test_parse_kind_defaults_and_errors():
    assert str(F.parse_kind("soundnet8")) == "soundnet8:conv5"
    assert F.parse_kind("snf").layer == "pool5"
    assert F.parse_kind("snr:gru1_bn") == F.FeatureKind("snr", "gru1_bn")
    assert F.parse_kind("lowlevel") == F.FeatureKind("lowlevel")
    with pytest.raises(ValueError, match="Known kinds: lowlevel, opensmile, snf:pool5"):
        F.parse_kind("mfcc:conv5")
    with pytest.raises(ValueError, match="Unknown layer 'fc1'.*conv5"):
        F.parse_kind("soundnet8:fc1")
    with pytest.raises(ValueError, match="has no layers"):
        F.parse_kind("lowlevel:conv5")


def test_variant_kinds_default_to_the_pretrained_trunk_students():
    from soundnet_keras.weights import PRESETS, recorded_sha256
    extractor = F.make_extractor("snf:fc1")
    assert extractor.weights_sha256 == recorded_sha256(
        PRESETS["snf_trunk_pool"]["file"])
    assert F.make_extractor("snr:gru1").weights_sha256 == recorded_sha256(
        PRESETS["snr_trunk_pool"]["file"])
    assert extractor.sample_rate == 16000


# --------------------------------------------------------------------------
# Labels follow each feature's own frame times.

def test_frame_labels_at_10_hz():
    times = (np.arange(30) + 0.5) / 10  # 0.05, 0.15, ..., 2.95
    labels = F.frame_labels(pd.DataFrame(
        {"filename": "x", "onset": [0.25, 1.0], "offset": [0.55, 2.0],
         "event_label": ["noise", "tone"]}), CLASSES, times)
    assert labels.shape == (30, 2) and labels.dtype == np.float32
    # noise over [0.25, 0.55): centres 0.25, 0.35, 0.45 (not 0.55)
    assert np.flatnonzero(labels[:, 1]).tolist() == [2, 3, 4]
    assert np.flatnonzero(labels[:, 0]).tolist() == list(range(10, 20))
    # onset inclusive, offset exclusive, at a frame centre exactly
    edge = F.frame_labels([("tone", 0.15, 0.35)], CLASSES, times)[:, 0]
    assert np.flatnonzero(edge).tolist() == [1, 2]


def test_frame_labels_at_soundnet_conv5_times():
    times = sk.frame_times("soundnet8", "conv5", 60)
    hop = 2048 / 22050  # conv5 jumps 2 * 8 * 2 * 8 * 2 * 2 * 2 samples
    assert np.allclose(np.diff(times), hop) and 1 / hop == pytest.approx(
        10.77, abs=0.01)
    labels = F.frame_labels([("tone", 1.0, 2.0), ("noise", 1.5, 4.0)],
                            CLASSES, times)
    first = int(np.ceil((1.0 - times[0]) / hop))
    last = int(np.ceil((2.0 - times[0]) / hop))  # first frame not active
    assert np.flatnonzero(labels[:, 0]).tolist() == list(range(first, last))
    assert times[first] >= 1.0 > times[first - 1]
    # 10 frames a second, not 10.77, would put the tone at frames 10..19
    assert np.flatnonzero(labels[:, 0]).tolist() != list(range(10, 20))
    both = labels.sum(axis=1) == 2
    assert np.all((times[both] >= 1.5) & (times[both] < 2.0))


def test_frame_labels_rejects_unknown_labels():
    with pytest.raises(ValueError, match="'bird' is not one of"):
        F.frame_labels([("bird", 0, 1)], CLASSES, [0.5])


# --------------------------------------------------------------------------
# Low-level features.

def test_mel_filterbank_matches_librosa():
    librosa = pytest.importorskip("librosa")
    ours = F.mel_filterbank(16000, 512, 40, 0.0, 8000.0)
    ref = librosa.filters.mel(sr=16000, n_fft=512, n_mels=40, fmin=0.0,
                              fmax=8000.0, htk=True, norm=None)
    # librosa returns float32 weights in [0, 1]: 1e-6 is ~16 float32 ulps.
    np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_short_frame_descriptors_see_the_signal():
    t = np.arange(RATE) / RATE
    tone = 0.5 * np.sin(2 * np.pi * 1000 * t)
    desc = F.short_frame_descriptors(tone)
    names = list(F.DESCRIPTOR_NAMES)
    assert desc.shape == (100, 85) and len(names) == 85
    middle = desc[5:-5]
    np.testing.assert_allclose(middle[:, names.index("centroid_khz")], 1.0,
                               atol=0.05)
    # a 1 kHz sine crosses zero 2000 times a second: 2000 / 16000 per sample
    np.testing.assert_allclose(middle[:, names.index("zcr")], 0.125,
                               atol=0.01)
    assert middle[:, names.index("flatness")].max() < 0.01


def test_lowlevel_is_50_dims_at_10_hz(shared_corpus):
    lowlevel = F.LowLevel().fit(_paths(shared_corpus, "train"))
    for path in _paths(shared_corpus, "val") + _paths(shared_corpus, "test"):
        values, times = lowlevel(path)
        seconds = soundfile.info(path).duration
        assert values.shape == (int(seconds * 10), 50)
        assert values.dtype == np.float32 and np.isfinite(values).all()
        np.testing.assert_allclose(times, (np.arange(len(values)) + .5) / 10)


def _spy_on_fit(monkeypatch, cls):
    """Records the file names each ``cls.fit`` is given; returns them and
    the original ``fit``."""
    fitted_on = []
    original_fit = cls.fit

    def spy(self, paths, progress=False):
        paths = list(paths)
        fitted_on.append(sorted(Path(p).name for p in paths))
        return original_fit(self, paths, progress)

    monkeypatch.setattr(cls, "fit", spy)
    return fitted_on, original_fit


def test_lowlevel_pca_is_fitted_on_train_only(corpus, tmp_path, monkeypatch):
    fitted_on, original_fit = _spy_on_fit(monkeypatch, F.LowLevel)
    cache_dir = tmp_path / "cache"
    F.features_for(corpus, "lowlevel", cache_dir, progress=False)
    assert fitted_on == [["a.wav", "b.wav", "c.wav"]]
    # The PCA saved in the cache is the one fitted on train alone ...
    saved = F.LowLevel.load(next((cache_dir / "lowlevel").glob("pca-*.npz")))
    alone = original_fit(F.LowLevel(), _paths(corpus, "train"))
    np.testing.assert_allclose(saved.components, alone.components)
    before = saved.weights_sha256
    saved.transform(_paths(corpus, "val")[0])
    assert saved.weights_sha256 == before  # transforming fits nothing
    # ... and not the one with val added.
    more = original_fit(F.LowLevel(), _paths(corpus, "train")
                        + _paths(corpus, "val"))
    assert more.weights_sha256 != before
    # A second run reuses the saved PCA and the cached features.
    F.features_for(corpus, "lowlevel", cache_dir, progress=False)
    assert len(fitted_on) == 1


def test_lowlevel_needs_training_paths(corpus):
    with pytest.raises(ValueError, match="fit_paths="):
        F.features_for(_paths(corpus, "val"), "lowlevel", progress=False)
    with pytest.raises(ValueError, match="not fitted"):
        F.LowLevel().transform(_paths(corpus, "val")[0])


def test_lowlevel_save_load_roundtrip(shared_corpus, tmp_path):
    lowlevel = F.LowLevel(n_components=8).fit(_paths(shared_corpus, "train"))
    lowlevel.save(tmp_path / "pca.npz")
    loaded = F.LowLevel.load(tmp_path / "pca.npz")
    path = _paths(shared_corpus, "val")[0]
    np.testing.assert_allclose(loaded(path)[0], lowlevel(path)[0])
    assert loaded.weights_sha256 == lowlevel.weights_sha256


# --------------------------------------------------------------------------
# Normalisation and aligned sequences.

def test_normaliser_uses_train_only_and_aligns(shared_corpus, tmp_path):
    cache_dir = tmp_path / "cache"
    val = F.load_aligned(shared_corpus, "lowlevel", "val", cache_dir,
                         progress=False)
    train_raw = F.features_for(shared_corpus, "lowlevel", cache_dir,
                               split="train", progress=False)
    stacked = np.concatenate([v for v, _ in train_raw])
    norm = F.Normaliser.load(next(cache_dir.rglob("normaliser-*.npz")))
    np.testing.assert_allclose(norm.mean, stacked.mean(axis=0), rtol=1e-5,
                               atol=1e-5)
    train = F.load_aligned(shared_corpus, "lowlevel", "train", cache_dir,
                           progress=False)
    all_train = np.concatenate([s.features for s in train])
    np.testing.assert_allclose(all_train.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(all_train.std(axis=0), 1, atol=1e-3)
    # val is normalised with train's statistics, not its own
    (seq,) = val
    assert seq.filename == "d.wav"
    raw_val = F.features_for(shared_corpus, "lowlevel", cache_dir,
                             split="val", progress=False)[0][0]
    # The same float32 arithmetic on the same values (z-scores up to ~10):
    # a few ulps, relative.
    np.testing.assert_allclose(seq.features, norm(raw_val), rtol=1e-6,
                               atol=1e-6)
    assert not np.allclose(seq.features.mean(axis=0), 0, atol=1e-3)
    # labels: tone over [0.3, 1.2) s -> 10 Hz frames 3..11
    assert seq.labels.shape == (20, 2)
    assert np.flatnonzero(seq.labels[:, 0]).tolist() == list(range(3, 12))
    assert seq.labels[:, 1].sum() == 0
    assert list(seq.events["event_label"]) == ["tone"]


# --------------------------------------------------------------------------
# The cache, with a counting stand-in extractor (no network needed).

class Counting:
    """An extractor stand-in that counts its calls and can fail on demand."""

    def __init__(self, weights_sha256="1" * 64, fail_at=None):
        self.kind = "fake:layer"
        self.weights_sha256 = weights_sha256
        self.calls = []
        self.fail_at = fail_at

    def __call__(self, path):
        if self.fail_at is not None and len(self.calls) == self.fail_at:
            raise KeyboardInterrupt("simulated interruption")
        self.calls.append(Path(path).name)
        n = soundfile.info(path).frames // 1600
        rows = np.arange(n, dtype=np.float32)[:, None]
        values = np.hstack([rows, rows + len(self.calls)])
        return values, (np.arange(n) + 0.5) / 10


def test_cache_reuses_features(corpus, tmp_path):
    paths = _paths(corpus, "train")
    first = Counting()
    out1 = FeatureCache(tmp_path).features(first, paths, progress=False)
    second = Counting()
    cache = FeatureCache(tmp_path)
    out2 = cache.features(second, paths, progress=False)
    assert len(first.calls) == 3 and second.calls == []
    assert (cache.hits, cache.misses) == (3, 0)
    for (v1, t1), (v2, t2) in zip(out1, out2):
        np.testing.assert_array_equal(v1, v2)
        np.testing.assert_array_equal(t1, t2)
    files = sorted(p.relative_to(tmp_path).as_posix()
                   for p in tmp_path.rglob("*.npz"))
    sha = cache.audio_sha256(paths[0])
    assert f"fake_layer/111111111111/{sha[:16]}.npz" in files
    assert len(files) == 3 and not partial_files(tmp_path)


def test_cache_invalidated_by_new_weights(corpus, tmp_path):
    paths = _paths(corpus, "train")
    FeatureCache(tmp_path).features(Counting(), paths, progress=False)
    other = Counting(weights_sha256="2" * 64)
    FeatureCache(tmp_path).features(other, paths, progress=False)
    assert len(other.calls) == 3
    assert {p.parent.name for p in tmp_path.rglob("*.npz")} == {
        "1" * 12, "2" * 12}


def test_cache_invalidated_by_changed_audio(corpus, tmp_path):
    paths = _paths(corpus, "train")
    FeatureCache(tmp_path).features(Counting(), paths, progress=False)
    soundfile.write(paths[1], _synthesise(2.5, [], seed=99), RATE)
    again = Counting()
    FeatureCache(tmp_path).features(again, paths, progress=False)
    assert again.calls == ["b.wav"]


def test_cache_checks_the_stored_key(corpus, tmp_path):
    path = _paths(corpus, "train")[0]
    cache = FeatureCache(tmp_path)
    key = CacheKey("fake:layer", "1" * 64, cache.audio_sha256(path))
    # same file name (hash prefixes), another full weights hash inside
    cache.save(key._replace(weights_sha256="1" * 63 + "2"), np.ones((2, 2)),
               [0.05, 0.15])
    assert cache.load(key) is None
    cache.path(key).write_bytes(b"PK\x03\x04 truncated")
    assert cache.load(key) is None
    counting = Counting()
    with pytest.warns(UserWarning, match="a.wav: the cached fake:layer"):
        cache.features(counting, [path], progress=False)
    assert counting.calls == ["a.wav"] and cache.load(key) is not None


def test_partial_files_are_never_read(corpus, tmp_path, monkeypatch):
    paths = _paths(corpus, "train")
    cache = FeatureCache(tmp_path)
    key = CacheKey("fake:layer", "1" * 64, cache.audio_sha256(paths[0]))
    # a leftover temporary file from an interrupted write is ignored
    folder = cache.path(key).parent
    folder.mkdir(parents=True)
    leftover = folder / f".{cache.path(key).name}.x1y2.part.npz"
    leftover.write_bytes(b"partial")
    assert cache.load(key) is None
    # a write that dies half-way leaves no file under the final name
    real_savez = np.savez

    def dying_savez(f, **arrays):
        f.write(b"PK\x03\x04 half a file")
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(cache_module.np, "savez", dying_savez)
    with pytest.raises(KeyboardInterrupt):
        cache.features(Counting(), paths, progress=False)
    assert not cache.path(key).exists()
    assert partial_files(folder) == [leftover]
    monkeypatch.setattr(cache_module.np, "savez", real_savez)
    counting = Counting()
    FeatureCache(tmp_path).features(counting, paths, progress=False)
    assert len(counting.calls) == 3
    assert FeatureCache(tmp_path).remove_partial() == 1


def test_interrupted_run_resumes(corpus, tmp_path):
    paths = _paths(corpus, "train") + _paths(corpus, "val")
    interrupted = Counting(fail_at=2)
    with pytest.raises(KeyboardInterrupt):
        FeatureCache(tmp_path).features(interrupted, paths, progress=False)
    assert len(list(tmp_path.rglob("*.npz"))) == 2
    resumed = Counting()
    cache = FeatureCache(tmp_path)
    out = cache.features(resumed, paths, progress=False)
    assert resumed.calls == ["c.wav", "d.wav"]
    assert (cache.hits, cache.misses) == (2, 2) and len(out) == 4


# --------------------------------------------------------------------------
# Finite data: NaN or inf is refused where features are made or read.

def _corrupt(cache_file, value=np.nan, frame=3):
    """Rewrites a cache file with one non-finite value and its key intact
    (as a bug in an older version or bit rot would leave it)."""
    with np.load(cache_file) as data:
        arrays = dict(data)
    arrays["values"] = arrays["values"].copy()
    arrays["values"][frame, 0] = value
    np.savez(cache_file, **arrays)


def test_a_non_finite_cache_entry_is_recomputed(corpus, tmp_path):
    paths = _paths(corpus, "train")
    first = FeatureCache(tmp_path).features(Counting(), paths,
                                            progress=False)
    cache = FeatureCache(tmp_path)
    key = CacheKey("fake:layer", "1" * 64, cache.audio_sha256(paths[1]))
    _corrupt(cache.path(key))
    assert cache.load(key) is None
    again = Counting()
    with pytest.warns(UserWarning, match=r"b\.wav: the cached fake:layer "
                      r"features .* non-finite values: computing them again"):
        out = cache.features(again, paths, progress=False)
    assert again.calls == ["b.wav"] and (cache.hits, cache.misses) == (2, 1)
    assert all(np.isfinite(v).all() for v, _ in out)
    np.testing.assert_array_equal(out[0][0], first[0][0])
    assert cache.load(key) is not None  # replaced by the good values


class NaNAt(Counting):
    """A stand-in extractor that gives a NaN for one recording."""

    def __init__(self, name):
        super().__init__()
        self.name = name

    def __call__(self, path):
        values, times = super().__call__(path)
        if Path(path).name == self.name:
            values = values.astype(np.float32)
            values[2, 1] = np.inf
        return values, times


def test_non_finite_extraction_names_the_recording(corpus, tmp_path):
    paths = _paths(corpus, "train")
    with pytest.raises(F.NonFiniteFeatures,
                       match=r"c\.wav: the fake:layer features have 1 "
                             r"non-finite .*first: \[2\].*not training"):
        FeatureCache(tmp_path).features(NaNAt("c.wav"), paths,
                                        progress=False)
    assert len(list(tmp_path.rglob("*.npz"))) == 2  # nothing stored for c
    # without a cache, and with the extractor given (as evaluation does)
    with pytest.raises(F.NonFiniteFeatures, match=r"b\.wav"):
        F.features_for(paths, extractor=NaNAt("b.wav"), progress=False)
    with pytest.raises(F.NonFiniteFeatures, match=r"a\.wav"):
        F.features_for(corpus, "fake", tmp_path / "other", split="train",
                       extractor=NaNAt("a.wav"), progress=False)


def test_load_aligned_recomputes_a_corrupted_entry(shared_corpus, tmp_path):
    cache_dir = tmp_path / "cache"
    (before,) = F.load_aligned(shared_corpus, "lowlevel", "val", cache_dir,
                               progress=False)
    cache = FeatureCache(cache_dir)
    extractor = F.make_extractor("lowlevel", cache=cache, fit_paths=_paths(
        shared_corpus, "train"))
    path = _paths(shared_corpus, "val")[0]
    key = CacheKey("lowlevel", extractor.weights_sha256,
                   cache.audio_sha256(path))
    _corrupt(cache.path(key), value=-np.inf, frame=0)
    with pytest.warns(UserWarning, match=r"d\.wav: the cached lowlevel"):
        (after,) = F.load_aligned(shared_corpus, "lowlevel", "val",
                                  cache_dir, progress=False)
    assert np.isfinite(after.features).all()
    np.testing.assert_array_equal(after.features, before.features)


def test_normaliser_refuses_non_finite_input(tmp_path):
    with pytest.raises(F.NonFiniteFeatures, match="training recording 1"):
        F.Normaliser().fit([np.ones((3, 2)), np.array([[0.0, np.nan]])])
    np.savez(tmp_path / "norm.npz", mean=[0.0, np.nan], std=[1.0, 1.0])
    with pytest.raises(F.NonFiniteFeatures, match="norm.npz"):
        F.Normaliser.load(tmp_path / "norm.npz")


# --------------------------------------------------------------------------
# SoundNet-8 features through the cache.

def _weights_file(path, seed):
    from numpy_reference import random_params
    from soundnet_keras.port import params_to_variables
    from soundnet_keras.weights import write_weights
    write_weights(path, params_to_variables(
        random_params(np.random.default_rng(seed))))
    return path


def test_soundnet8_conv5_cached_and_invalidated(shared_corpus, tmp_path,
                                                monkeypatch):
    paths = _paths(shared_corpus, "val") + _paths(shared_corpus, "test")
    w1 = _weights_file(tmp_path / "one.weights.h5", 1)
    cache_dir = tmp_path / "cache"
    out = F.features_for(paths, "soundnet8:conv5", cache_dir, weights=w1,
                         progress=False)
    for (values, times), path in zip(out, paths):
        seconds = soundfile.info(path).duration
        assert values.shape[1] == 256
        assert values.shape[0] == sk.output_length("soundnet8", "conv5",
                                                   round(seconds * 22050))
        np.testing.assert_allclose(
            times, sk.frame_times("soundnet8", "conv5", len(values)))
    sha = sha256(w1)
    assert (cache_dir / "soundnet8_conv5" / sha[:12]).is_dir()

    calls = []
    original = F.SoundNetFeatures.__call__

    def counting(self, path):
        calls.append(Path(path).name)
        return original(self, path)

    monkeypatch.setattr(F.SoundNetFeatures, "__call__", counting)
    again = F.features_for(paths, "soundnet8:conv5", cache_dir, weights=w1,
                           progress=False)
    assert calls == []
    np.testing.assert_array_equal(again[0][0], out[0][0])
    w2 = _weights_file(tmp_path / "two.weights.h5", 2)
    other = F.features_for(paths, "soundnet8:conv5", cache_dir, weights=w2,
                           progress=False)
    assert calls == ["d.wav", "e.wav"]
    assert not np.allclose(other[0][0], out[0][0])
    assert len(list((cache_dir / "soundnet8_conv5").iterdir())) == 2


@pytest.mark.skipif(not preset_path("soundnet8_flickr").exists(),
                    reason="released weights not fetched")
def test_soundnet8_released_conv5_at_10_77_hz(shared_corpus):
    (values, times), = F.features_for(_paths(shared_corpus, "val"),
                                      "soundnet8", progress=False)
    assert values.shape == (23, 256) and (values >= 0).all()
    assert 1 / np.diff(times).mean() == pytest.approx(22050 / 2048)
    extractor = F.make_extractor("soundnet8:conv5")
    assert extractor.weights_sha256 == recorded_sha256(
        PRESETS["soundnet8_flickr"]["file"])


# --------------------------------------------------------------------------
# With the project's own default corpus.

def test_load_aligned_on_the_default_corpus(tmp_path):
    from sed.corpora import make_default_corpus
    from sed.tokens import events_to_tokens
    corpus = make_default_corpus(tmp_path / "corpus", minutes=1, seed=0)
    weights = _weights_file(tmp_path / "random.weights.h5", 3)
    for kind, split, rate in [("lowlevel", "val", 10.0),
                              ("soundnet8:conv5", "test", 22050 / 2048)]:
        seqs = F.load_aligned(corpus, kind, split, weights=weights,
                              progress=False)
        assert [s.filename for s in seqs] == corpus.files(split)
        for seq in seqs:
            assert len(seq.features) == len(seq.labels) == len(seq.times)
            assert 1 / np.diff(seq.times).mean() == pytest.approx(rate)
            assert seq.labels.shape[1] == len(corpus.classes) == 17
            assert seq.labels.sum() > 0
            expected = F.frame_labels(seq.events, corpus.classes, seq.times)
            np.testing.assert_array_equal(seq.labels, expected)
            assert set(seq.events["filename"]) == {seq.filename}
            tokens, frames = events_to_tokens(seq.events, corpus.classes,
                                              seq.times)
            assert len(tokens) == 2 * len(seq.events)
    assert len(list((tmp_path / "corpus" / "features").rglob(
        "normaliser-*.npz"))) == 2


# --------------------------------------------------------------------------
# openSMILE emobase functionals at 10 Hz (kind "opensmile").

def _smile_module():
    pytest.importorskip("opensmile")
    from sed.features import smile
    return smile


def _clip(tmp_path, seconds, seed=0):
    t = np.arange(int(seconds * RATE)) / RATE
    rng = np.random.default_rng(seed)
    x = (0.05 * rng.standard_normal(t.size)
         + 0.3 * np.sin(2 * np.pi * 330 * t) * (t > seconds / 3))
    path = tmp_path / f"clip{seconds}.wav"
    soundfile.write(path, x.astype(np.float32), RATE)
    return path, sk.load_audio(path, RATE)


def _assert_functionals_equal(ours, ref, contours):
    """To float32 precision: openSMILE computes in float32."""
    smile = _smile_module()
    ours = ours.reshape(-1, len(smile.FUNCTIONALS))
    ref = ref.reshape(ours.shape).astype(np.float64)
    scale = np.abs(contours).max(axis=0)[:, None] * np.ones_like(ref)
    names = list(smile.FUNCTIONALS)
    for j in (names.index("skewness"), names.index("kurtosis")):
        scale[:, j] = 10.0    # dimensionless; float32 sums of 3rd, 4th powers
    scale[:, names.index("linregerrQ")] **= 2
    for j in (names.index("maxPos"), names.index("minPos")):
        np.testing.assert_array_equal(ours[:, j], ref[:, j])
    bad = np.abs(ours - ref) > 1e-4 * np.abs(ref) + 1e-5 * scale
    assert not bad.any(), [(names[j], ours[i, j], ref[i, j])
                           for i, j in zip(*np.nonzero(bad))][:5]


def test_opensmile_frames_equal_opensmile_api(tmp_path):
    smile = _smile_module()
    # A 0.5 s clip: the 1 s window of each of its five 10 Hz frames covers
    # it all, so every frame is openSMILE's emobase functionals of the clip.
    path, waveform = _clip(tmp_path, 0.5)
    ref = smile.isolated(smile.reference_functionals, waveform)
    contours = smile.isolated(smile.emobase_contours, waveform)
    assert ref.shape == (988,) and contours.shape[1] == 52
    values, times = smile.OpenSmile().descriptors(path)
    assert values.shape == (5, 988)
    np.testing.assert_allclose(times, [0.05, 0.15, 0.25, 0.35, 0.45])
    for frame in values:
        _assert_functionals_equal(frame, ref, contours)
    # The 26 delta contours (ours, +-2 frames with edges repeated) match
    # too: their functionals are columns 494-987 above.
    names = smile.isolated(smile.descriptor_names)
    assert names[26] == "pcm_intensity_sma_de" and len(names) == 52


def test_opensmile_windows_are_centred_and_cut_at_the_edges(tmp_path):
    smile = _smile_module()
    path, waveform = _clip(tmp_path, 3.05, seed=1)
    values, times = smile.OpenSmile().descriptors(path)
    assert values.shape == (30, 988)              # whole 100 ms frames
    np.testing.assert_allclose(times, (np.arange(30) + 0.5) / 10)
    contours = smile.isolated(smile.emobase_contours, waveform)
    lo, hi = smile.window_bounds(len(contours), 30)
    centres = 0.0125 + 0.01 * np.arange(len(contours))  # 25 ms frames
    for k in (0, 3, 15, 29):
        inside = np.flatnonzero(np.abs(centres - times[k]) <= 0.5 - 1e-9)
        assert lo[k] == inside[0] and hi[k] == inside[-1] + 1
        np.testing.assert_allclose(
            values[k], smile.functionals(contours[None, lo[k]:hi[k]])[0])
    assert hi[15] - lo[15] == 100 and hi[0] - lo[0] < 100


def test_opensmile_pca_on_train_only_not_whitened(shared_corpus, tmp_path,
                                                  monkeypatch):
    smile = _smile_module()
    fitted_on, _ = _spy_on_fit(monkeypatch, smile.OpenSmile)
    cache_dir = tmp_path / "cache"
    train = F.features_for(shared_corpus, "opensmile", cache_dir,
                           split="train", progress=False)
    assert fitted_on == [["a.wav", "b.wav", "c.wav"]]
    for (values, times), path in zip(train, _paths(shared_corpus, "train")):
        assert values.shape == (int(soundfile.info(path).duration * 10), 50)
        assert 1 / np.diff(times).mean() == pytest.approx(10.0)
    # Not whitened: the components keep the PCA's eigenvalues as variances,
    # largest first (the input z-scores have variance 1 each).
    stacked = np.concatenate([v for v, _ in train]).astype(np.float64)
    variance = stacked.var(axis=0)
    assert np.all(np.diff(variance) <= 1e-6 * variance[0])
    assert variance[0] > 20 * variance[-1] and variance[0] > 10
    pca = F.load_fitted("opensmile", next(
        (cache_dir / "opensmile").glob("pca-*.npz")))
    ratio = pca.explained_variance_ratio
    np.testing.assert_allclose(variance / variance[0], ratio / ratio[0],
                               rtol=1e-3)
    # ... and the training normaliser keeps their ratios.
    seqs = F.load_aligned(shared_corpus, "opensmile", "train", cache_dir,
                          progress=False)
    normalised = np.concatenate([s.features for s in seqs]).var(axis=0)
    np.testing.assert_allclose(normalised / normalised[0],
                               variance / variance[0], rtol=1e-3)
    assert normalised.mean() == pytest.approx(1.0, rel=1e-3)
    assert len(fitted_on) == 1      # the saved PCA is reused


def test_opensmile_cache_round_trip(shared_corpus, tmp_path):
    smile = _smile_module()
    paths = _paths(shared_corpus, "val") + _paths(shared_corpus, "test")
    train = _paths(shared_corpus, "train")
    cache = FeatureCache(tmp_path)
    extractor = F.make_extractor("opensmile", fit_paths=train, cache=cache)
    assert isinstance(extractor, smile.OpenSmile) and not extractor.whiten
    cold = cache.features(extractor, paths, progress=False)
    again = F.make_extractor("opensmile", fit_paths=train, cache=cache)
    assert again.weights_sha256 == extractor.weights_sha256
    warm_cache = FeatureCache(tmp_path)
    warm = warm_cache.features(again, paths, progress=False)
    assert (warm_cache.hits, warm_cache.misses) == (2, 0)
    for (v1, t1), (v2, t2), path in zip(cold, warm, paths):
        np.testing.assert_array_equal(v1, v2)
        np.testing.assert_array_equal(t1, t2)
        np.testing.assert_allclose(v1, extractor(path)[0], rtol=1e-5,
                                   atol=1e-5)
    # two worker processes give the same features
    parallel = smile.OpenSmile(workers=2)
    parallel.mean, parallel.scale = extractor.mean, extractor.scale
    parallel.components = extractor.components
    for (values, _), (cached, _) in zip(parallel.map(paths), cold):
        np.testing.assert_allclose(values, cached, rtol=1e-5, atol=1e-5)


def test_opensmile_config_is_the_lowlevel_recipe_on_opensmile():
    from sed.train import load_config
    configs = Path(__file__).parent.parent / "sed" / "configs"
    ours = load_config(configs / "opensmile.yaml")
    lowlevel = load_config(configs / "lowlevel.yaml")
    assert ours["feats"]["kind"] == "opensmile"
    assert F.parse_kind(ours["feats"]["kind"]) == F.FeatureKind("opensmile")
    for section in ours:
        if section not in ("feats", "training"):
            assert ours[section] == lowlevel[section], section
    assert {k: v for k, v in ours["training"].items() if k != "out"} == {
        k: v for k, v in lowlevel["training"].items() if k != "out"}


@pytest.mark.parametrize("kind", ["lowlevel", "opensmile"])
def test_too_short_recordings_are_named(tmp_path, kind):
    if kind == "opensmile":
        _smile_module()
    path = tmp_path / "blip.wav"
    soundfile.write(path, np.zeros(800), RATE)   # 50 ms
    with pytest.raises(ValueError, match=rf"blip\.wav: 0\.050 s of audio is "
                                         f"shorter than one {kind} frame"):
        F.FITTED[kind]().descriptors(path)
