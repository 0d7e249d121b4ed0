"""Features of a corpus, aligned with its labels: extraction through the
cache, frame labels, the training-split normaliser, aligned sequences.

Labels reach the frames through each feature's own frame times only
(:func:`frame_labels`), so nothing assumes a frame rate of exactly 10 Hz.

Example:
    >>> frame_labels([("bird", 0.2, 0.4)], ["bird"], [0.05, 0.15, 0.25, 0.35,
    ...                                               0.45])[:, 0]
    array([0., 0., 1., 1., 0.], dtype=float32)
"""

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..cache import FeatureCache, check_finite, sha256_text, write_npz
from .kinds import DEFAULT, make_extractor, parse_kind
from .network import NETWORKS, SoundNetLayers

SPLITS = ("train", "val", "test")


def _is_corpus(obj):
    return hasattr(obj, "audio_path") and hasattr(obj, "files")


def corpus_paths(corpus, split):
    """The audio paths of a corpus split or splits (None: all, in the order
    train, val, test)."""
    splits = SPLITS if split is None else (
        (split,) if isinstance(split, str) else tuple(split))
    return [Path(corpus.audio_path(f)) for s in splits
            for f in corpus.files(s)]


def features_for(corpus_or_paths, kind="soundnet8:conv5", cache_dir=None, *,
                 split=None, weights=DEFAULT, fit_paths=None, progress=True,
                 extractor=None, workers=1):
    """Features of a kind for every recording of a corpus or a list of files.

    Each recording is computed once and cached (see :mod:`sed.cache`); later
    calls read the cache, and an interrupted call resumes where it stopped.

    Args:
        corpus_or_paths: a corpus (:func:`sed.corpora.load_corpus`) or a list of
            audio paths.
        kind: a feature kind, e.g. ``"lowlevel"`` or ``"soundnet8:conv5"``.
        cache_dir: the cache folder. Default: ``<corpus root>/features`` for
            a corpus; no cache (compute every time) for a list of paths.
        split: for a corpus, a split name or names (default: train, val and
            test, in that order).
        weights: for network kinds, see :func:`make_extractor`.
        fit_paths: training recordings for kinds that are fitted
            (``lowlevel``); default for a corpus: its train split.
        progress: show a progress bar over the recordings.
        extractor: an extractor to use instead of building one for ``kind``.
        workers: processes for the descriptors of fitted kinds
            (:func:`make_extractor`).

    Returns:
        A list of ``(values (T, D) float32, times (T,))``, one per recording,
        in the order of the paths (of ``corpus.files(split)``).

    Raises:
        NonFiniteFeatures: when a recording's features hold NaN or inf
            (a bad cache entry is computed again first).
    """
    paths, cache_dir, fit_paths = _recordings(corpus_or_paths, split,
                                              cache_dir, fit_paths)
    cache = FeatureCache(cache_dir) if cache_dir is not None else None
    if extractor is None:
        extractor = make_extractor(kind, weights=weights, fit_paths=fit_paths,
                                   cache=cache, progress=progress,
                                   workers=workers)
    if cache is None:
        return [_checked(extractor, p)
                for p in tqdm(paths, desc=str(extractor.kind), unit="rec",
                              leave=False, disable=not progress)]
    return cache.features(extractor, paths, progress=progress)


def fill_cache(corpus_or_paths, kinds, cache_dir=None, *, split=None,
               weights=DEFAULT, fit_paths=None, progress=True, workers=1):
    """Computes and caches several feature kinds, each under the key
    :func:`features_for` reads. The layers of one network (kinds with one
    prefix, with ``weights``) come from one pass per recording
    (:class:`SoundNetLayers`); other kinds are computed one at a time.
    Recordings whose kinds are all cached are not computed.

    Args:
        corpus_or_paths, cache_dir, split, weights, fit_paths, progress,
            workers: as for :func:`features_for` (a cache folder is
            needed: for a list of paths, ``cache_dir``).
        kinds: feature kinds, e.g. ``["snr:pool5", "snr:gru1"]``.

    Returns:
        A dict kind -> the number of recordings computed for it.

    Example:
        >>> import tempfile, soundfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> soundfile.write(folder / "a.wav", np.zeros(32000), 16000)
        >>> fill_cache([folder / "a.wav"], ["snf:pool5", "snf:fc3"],
        ...            folder / "cache", weights="snf_trunk_pool",
        ...            progress=False)
        {'snf:pool5': 1, 'snf:fc3': 1}
        >>> len(features_for([folder / "a.wav"], "snf:fc3", folder / "cache",
        ...                  weights="snf_trunk_pool", progress=False)[0][0])
        20
    """
    paths, cache_dir, fit_paths = _recordings(corpus_or_paths, split,
                                              cache_dir, fit_paths)
    if cache_dir is None:
        raise ValueError("fill_cache needs a cache folder: pass cache_dir "
                         "(or a corpus, cached in <corpus root>/features)")
    cache = FeatureCache(cache_dir)
    kinds = list(dict.fromkeys(str(parse_kind(kind)) for kind in kinds))
    networks = {}
    for kind in kinds:
        networks.setdefault(parse_kind(kind).prefix, []).append(kind)
    computed = {}
    for prefix, group in networks.items():
        if prefix in NETWORKS:
            computed.update(cache.fill(SoundNetLayers(group, weights), paths,
                                       progress=progress))
            continue
        for kind in group:
            before = cache.misses
            cache.features(make_extractor(
                kind, weights=weights, fit_paths=fit_paths, cache=cache,
                progress=progress, workers=workers), paths, progress)
            computed[kind] = cache.misses - before
    return {kind: computed[kind] for kind in kinds}


def _recordings(corpus_or_paths, split, cache_dir, fit_paths):
    """``(paths, cache_dir, fit_paths)`` of a corpus (its split, its cache
    folder, its train split) or of a list of paths."""
    if not _is_corpus(corpus_or_paths):
        return [Path(p) for p in corpus_or_paths], cache_dir, fit_paths
    corpus = corpus_or_paths
    if fit_paths is None:
        fit_paths = corpus_paths(corpus, "train")
    if cache_dir is None:
        cache_dir = Path(corpus.root) / "features"
    return corpus_paths(corpus, split), cache_dir, fit_paths


def _checked(extractor, path):
    values, times = extractor(path)
    values = np.asarray(values, dtype=np.float32)
    return check_finite(values, path, extractor.kind), np.asarray(times)


def frame_labels(events, classes, times):
    """The 0/1 activity of each class at each frame.

    An event is active at frame ``t`` iff ``onset <= times[t] < offset``:
    labels follow the feature's own frame centres, at any frame rate.

    Args:
        events: a DataFrame with columns ``event_label``, ``onset``,
            ``offset`` (seconds), or an iterable of ``(label, onset,
            offset)``.
        classes: the event labels in corpus order (the columns).
        times: the frame centres in seconds, ``(T,)``.

    Returns:
        ``(T, len(classes))`` float32 of zeros and ones.

    Raises:
        ValueError: for a label not in ``classes``.

    Example:
        >>> t = (np.arange(6) + 0.5) / 10       # 10 Hz centres 0.05 ... 0.55
        >>> frame_labels([("a", 0.15, 0.35), ("b", 0.5, 9)], ["a", "b"], t)
        array([[0., 0.],
               [1., 0.],
               [1., 0.],
               [0., 0.],
               [0., 0.],
               [0., 1.]], dtype=float32)
    """
    times = np.asarray(times, dtype=np.float64)
    classes = list(classes)
    index = {c: i for i, c in enumerate(classes)}
    if isinstance(events, pd.DataFrame):
        rows = zip(events["event_label"], events["onset"], events["offset"])
    else:
        rows = events
    out = np.zeros((len(times), len(classes)), dtype=np.float32)
    for label, onset, offset in rows:
        if label not in index:
            raise ValueError(f"event label {label!r} is not one of the "
                             f"classes {classes}")
        out[(times >= onset) & (times < offset), index[label]] = 1.0
    return out


class Normaliser:
    """Standardisation with statistics of the training split.

    Each dimension is centred on its training mean. With ``per_dimension``
    (the default) each is also divided by its own standard deviation
    (dimensions with (near) zero spread keep a scale of 1); without, all are
    divided by one common scale, the root mean variance, which keeps the
    relative variances of PCA components (no whitening).

    Example:
        >>> norm = Normaliser().fit([np.array([[0.0, 5.0], [2.0, 5.0]])])
        >>> norm.mean.tolist(), norm.std.tolist()
        ([1.0, 5.0], [1.0, 1.0])
        >>> norm(np.array([[3.0, 5.0]])).tolist()
        [[2.0, 0.0]]
        >>> common = Normaliser(per_dimension=False)
        >>> common.fit([np.array([[0.0, 0.0], [4.0, 2.0]])]).std.tolist()
        [1.5811388300841898, 1.5811388300841898]
    """

    def __init__(self, mean=None, std=None, per_dimension=True):
        self.mean = None if mean is None else np.asarray(mean, np.float64)
        self.std = None if std is None else np.asarray(std, np.float64)
        self.per_dimension = bool(per_dimension)

    def fit(self, arrays):
        """Fits on an iterable of ``(T, D)`` arrays (training split only);
        returns self.

        Raises:
            NonFiniteFeatures: for an array with NaN or inf.
        """
        n, total, squares = 0, 0.0, 0.0
        for i, values in enumerate(arrays):
            values = check_finite(np.asarray(values, dtype=np.float64),
                                  f"training recording {i}", "input")
            n += len(values)
            total = total + values.sum(axis=0)
            squares = squares + (values ** 2).sum(axis=0)
        if n == 0:
            raise ValueError("Normaliser.fit needs at least one frame")
        self.mean = total / n
        variance = np.clip(squares / n - self.mean ** 2, 0.0, None)
        if self.per_dimension:
            std = np.sqrt(variance)
            std[std < 1e-6] = 1.0
        else:
            common = float(np.sqrt(variance.mean()))
            std = np.full_like(variance, common if common >= 1e-6 else 1.0)
        self.std = std
        return self

    def __call__(self, values):
        """Standardised ``values`` as float32."""
        if self.mean is None:
            raise ValueError("the Normaliser is not fitted")
        return ((np.asarray(values) - self.mean) / self.std).astype(
            np.float32)

    def save(self, path):
        """Writes ``mean`` and ``std`` to an ``.npz`` file."""
        return write_npz(path, mean=self.mean, std=self.std)

    @classmethod
    def load(cls, path):
        """Reads a normaliser written by :meth:`save`.

        Raises:
            NonFiniteFeatures: when the file holds NaN or inf.
        """
        with np.load(path, allow_pickle=False) as data:
            mean, std = data["mean"], data["std"]
        check_finite(np.stack([mean, std]), path, "normaliser")
        return cls(mean, std)


def normaliser_for(extractor, scaling=None):
    """An unfitted :class:`Normaliser` for an extractor's features.

    ``scaling`` (``feats.scaling``, :data:`sed.config.SCALINGS`):
    ``"dimension"`` (each dimension by its own spread), ``"common"`` (one
    scale for all, the dimensions keep their relative variances), or None:
    per dimension unless the extractor says its dimensions keep their
    relative variances (``extractor.whiten`` False, e.g. ``opensmile``).

    Example:
        >>> normaliser_for(None, "common").per_dimension
        False
    """
    if scaling is None:
        return Normaliser(per_dimension=getattr(extractor, "whiten", True))
    if scaling not in ("dimension", "common"):
        raise ValueError(f"scaling must be 'dimension', 'common' or None. "
                         f"Received {scaling!r}")
    return Normaliser(per_dimension=scaling == "dimension")


class AlignedSequence(NamedTuple):
    """One recording ready for the CTC-RNN.

    Attributes:
        features: ``(T, D)`` float32, normalised with training statistics.
        labels: ``(T, n_classes)`` 0/1 activity (:func:`frame_labels`).
        events: the recording's events (``filename, onset, offset,
            event_label``).
        times: ``(T,)`` frame centres in seconds.
        filename: the recording's name in the corpus.
    """

    features: np.ndarray
    labels: np.ndarray
    events: pd.DataFrame
    times: np.ndarray
    filename: str


def load_aligned(corpus, kind="soundnet8:conv5", split="train",
                 cache_dir=None, *, weights=DEFAULT, progress=True,
                 workers=1):
    """A corpus split as aligned, normalised (features, labels) sequences.

    Features come from the cache (computed on first use). The normaliser
    (:func:`normaliser_for` the kind) is fitted on the training split's
    features only, saved as
    ``normaliser-<hash of the training set>.npz`` beside the cached features,
    and applied to every split.

    Args:
        corpus: a corpus (:func:`sed.corpora.load_corpus`).
        kind: the feature kind.
        split: ``"train"``, ``"val"`` or ``"test"``.
        cache_dir: the cache folder (default ``<corpus root>/features``).
        weights: for network kinds, see :func:`make_extractor`.
        progress: show progress bars.
        workers: processes for the descriptors of fitted kinds.

    Returns:
        A list of :class:`AlignedSequence`, in the order of
        ``corpus.files(split)``.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}. Received: "
                         f"split={split!r}")
    cache = FeatureCache(cache_dir if cache_dir is not None
                         else Path(corpus.root) / "features")
    train_paths = corpus_paths(corpus, "train")
    extractor = make_extractor(kind, weights=weights, fit_paths=train_paths,
                               cache=cache, progress=progress,
                               workers=workers)
    train_set = sha256_text(*sorted(cache.audio_sha256(p)
                                    for p in train_paths))
    norm_path = (cache.folder(extractor.kind, extractor.weights_sha256)
                 / f"normaliser-{train_set[:16]}.npz")
    train = None
    if norm_path.is_file():
        normaliser = Normaliser.load(norm_path)
    else:
        train = cache.features(extractor, train_paths, progress=progress)
        normaliser = normaliser_for(extractor).fit(v for v, _ in train)
        normaliser.save(norm_path)
    if split == "train" and train is not None:
        computed = train
    else:
        computed = cache.features(extractor, corpus_paths(corpus, split),
                                  progress=progress)
    events = corpus.events(split)
    out = []
    for filename, (values, times) in zip(corpus.files(split), computed):
        mine = events[events["filename"] == filename].reset_index(drop=True)
        out.append(AlignedSequence(normaliser(values),
                                   frame_labels(mine, corpus.classes, times),
                                   mine, times, filename))
    return out


__all__ = ["AlignedSequence", "Normaliser", "SPLITS", "corpus_paths",
           "features_for", "fill_cache", "frame_labels", "load_aligned", "normaliser_for"]
