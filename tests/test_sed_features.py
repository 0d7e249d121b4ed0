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
from soundnet_keras.weights import recorded_sha256, sha256

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
    with pytest.raises(ValueError, match="Known kinds: lowlevel, snf:pool5"):
        F.parse_kind("mfcc:conv5")
    with pytest.raises(ValueError, match="Unknown layer 'fc1'.*conv5"):
        F.parse_kind("soundnet8:fc1")
    with pytest.raises(ValueError, match="has no layers"):
        F.parse_kind("lowlevel:conv5")


def test_variant_kinds_default_to_the_distilled_presets():
    from soundnet_keras.weights import recorded_sha256
    extractor = F.make_extractor("snf:fc1")
    assert extractor.weights_sha256 == recorded_sha256(
        "snf_standin.weights.h5")
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


def test_lowlevel_pca_is_fitted_on_train_only(corpus, tmp_path, monkeypatch):
    fitted_on = []
    original_fit = F.LowLevel.fit

    def spy(self, paths, progress=False):
        paths = list(paths)
        fitted_on.append(sorted(Path(p).name for p in paths))
        return original_fit(self, paths, progress)

    monkeypatch.setattr(F.LowLevel, "fit", spy)
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
    np.testing.assert_allclose(seq.features, norm(raw_val), atol=1e-6)
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
    assert len(files) == 3 and not list(tmp_path.rglob("*.tmp"))


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
    cache.features(counting, [path], progress=False)
    assert counting.calls == ["a.wav"] and cache.load(key) is not None


def test_partial_files_are_never_read(corpus, tmp_path, monkeypatch):
    paths = _paths(corpus, "train")
    cache = FeatureCache(tmp_path)
    key = CacheKey("fake:layer", "1" * 64, cache.audio_sha256(paths[0]))
    # a leftover temporary file from an interrupted write is ignored
    folder = cache.path(key).parent
    folder.mkdir(parents=True)
    leftover = folder / f".{cache.path(key).stem}.x1y2.tmp"
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
    assert list(folder.glob("*.tmp")) == [leftover]
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
# SoundNet-8 features through the cache.

def _weights_file(path, seed):
    from numpy_reference import random_params
    from soundnet_keras.weights import params_to_variables, write_weights
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


@pytest.mark.skipif(not (Path(__file__).parent.parent / "weights"
                         / "soundnet8_flickr.weights.h5").exists(),
                    reason="released weights not fetched")
def test_soundnet8_released_conv5_at_10_77_hz(shared_corpus):
    (values, times), = F.features_for(_paths(shared_corpus, "val"),
                                      "soundnet8", progress=False)
    assert values.shape == (23, 256) and (values >= 0).all()
    assert 1 / np.diff(times).mean() == pytest.approx(22050 / 2048)
    extractor = F.make_extractor("soundnet8:conv5")
    assert extractor.weights_sha256 == recorded_sha256(
        "soundnet8_flickr.weights.h5")


# --------------------------------------------------------------------------
# With the project's own default corpus.

def test_load_aligned_on_the_default_corpus(tmp_path):
    data = pytest.importorskip("sed.corpora")
    from sed.tokens import events_to_tokens
    corpus = data.make_default_corpus(tmp_path / "corpus", minutes=1, seed=0)
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
