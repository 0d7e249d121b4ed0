"""From a corpus split to normalised, tokenised chunks, and back to TERs.

One path, used by training, evaluation and the benchmarks:
:func:`prepare_features` featurises a corpus (cached) and normalises it with
training statistics into :class:`Recording` objects (features and boundary
tokens); :func:`fill_features` fills the cache for several configs at once
(the layers of one network in one pass); :func:`chunk_recordings` cuts them into the 500-frame chunks of
training; :func:`make_batch` pads chunks into a minibatch;
:func:`batch_order` orders an epoch; :func:`recording_errors` decodes whole
recordings (chunk by chunk, as in training) and counts their token errors,
the one TER of the project.

Example:
    >>> rng = np.random.default_rng(0)
    >>> recs = [Recording(rng.normal(size=(30, 4)).astype("float32"),
    ...                   np.arange(30) * 0.1, np.array([1, 2]),
    ...                   np.array([3, 12]), "a.wav")]
    >>> [(c.start, c.length, c.tokens.tolist(), c.frames.tolist())
    ...  for c in chunk_recordings(recs, chunk_frames=10)]
    [(0, 10, [1], [3]), (10, 10, [2], [2]), (20, 10, [], [])]
"""

from pathlib import Path
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from .config import resolve_config
from .ctc import INFEASIBLE_LOSS, ctc_loss
from .decode import best_path_tokens, predict_probabilities
from .metrics import token_errors
from .tokens import events_to_tokens

SPLITS = ("train", "val", "test")

# Label matrices are padded to a multiple of this width, which bounds the
# number of train-step traces.
LABEL_QUANTUM = 8


class Recording(NamedTuple):
    """One recording ready for training: normalised features and tokens.

    Attributes:
        features: ``(T, D)`` float32.
        times: ``(T,)`` frame centres in seconds.
        tokens: boundary tokens of the whole recording
            (:func:`sed.tokens.events_to_tokens`).
        frames: the frame of each token.
        filename: the recording's name.
    """

    features: np.ndarray
    times: np.ndarray
    tokens: np.ndarray
    frames: np.ndarray
    filename: str = ""


def make_recording(features, times, events, classes, filename=""):
    """A :class:`Recording` whose tokens encode ``events`` at ``times``."""
    tokens, frames = events_to_tokens(events, classes, times)
    return Recording(np.asarray(features, dtype=np.float32),
                     np.asarray(times, dtype=np.float64), tokens, frames,
                     filename)


class Chunk(NamedTuple):
    """Frames ``[start, start + length)`` of recording ``recording`` and the
    tokens whose frames fall there (frames re-based to ``start``)."""

    recording: int
    start: int
    length: int
    tokens: np.ndarray
    frames: np.ndarray


def chunk_recordings(recordings, chunk_frames=500):
    """Cuts every recording into chunks of ``chunk_frames`` frames.

    The last chunk of a recording is shorter (it is padded and masked in its
    minibatch). A token goes to the chunk that holds its frame.

    Returns:
        A list of :class:`Chunk`, recording by recording.
    """
    if chunk_frames < 1:
        raise ValueError(f"chunk_frames must be >= 1. Received "
                         f"{chunk_frames}")
    chunks = []
    for index, rec in enumerate(recordings):
        total = len(rec.features)
        tokens = np.asarray(rec.tokens, dtype=np.int64)
        frames = np.asarray(rec.frames, dtype=np.int64)
        for start in range(0, total, chunk_frames):
            length = min(chunk_frames, total - start)
            inside = (frames >= start) & (frames < start + length)
            chunks.append(Chunk(index, start, length, tokens[inside],
                                frames[inside] - start))
    return chunks


def make_batch(recordings, chunks, chunk_frames=500, batch_size=None,
               label_width=None):
    """Pads chunks into one minibatch of numpy arrays.

    Args:
        recordings: the recordings the chunks index.
        chunks: the chunks of this batch.
        chunk_frames: the padded number of frames.
        batch_size: rows of the batch (default ``len(chunks)``); extra rows
            are empty (length 0, no tokens).
        label_width: the width of the label matrices (default: the longest
            token sequence rounded up to a multiple of 8).

    Returns:
        A dict with ``features (B, chunk_frames, D)`` float32, ``lengths
        (B,)``, ``labels (B, U)``, ``label_length (B,)`` and
        ``label_frames (B, U)`` int32 (padding 0).

    Example:
        >>> recs = [Recording(np.ones((7, 2), "float32"), np.arange(7) / 10,
        ...                   np.array([1, 2]), np.array([1, 5]))]
        >>> batch = make_batch(recs, chunk_recordings(recs, 5), 5, 3)
        >>> batch["features"].shape, batch["lengths"].tolist()
        ((3, 5, 2), [5, 2, 0])
        >>> batch["labels"][:, :2].tolist(), batch["label_length"].tolist()
        ([[1, 0], [2, 0], [0, 0]], [1, 1, 0])
        >>> batch["labels"].shape, batch["label_frames"][:, 0].tolist()
        ((3, 8), [1, 0, 0])
    """
    chunks = list(chunks)
    batch_size = len(chunks) if batch_size is None else batch_size
    if len(chunks) > batch_size:
        raise ValueError(f"{len(chunks)} chunks for a batch of {batch_size}")
    dim = recordings[chunks[0].recording].features.shape[1] if chunks else \
        recordings[0].features.shape[1]
    if label_width is None:
        longest = max((len(c.tokens) for c in chunks), default=0)
        label_width = max(1, -(-longest // LABEL_QUANTUM) * LABEL_QUANTUM)
    features = np.zeros((batch_size, chunk_frames, dim), np.float32)
    lengths = np.zeros(batch_size, np.int32)
    labels = np.zeros((batch_size, label_width), np.int32)
    label_frames = np.zeros((batch_size, label_width), np.int32)
    label_length = np.zeros(batch_size, np.int32)
    for row, chunk in enumerate(chunks):
        rec = recordings[chunk.recording]
        features[row, :chunk.length] = rec.features[
            chunk.start:chunk.start + chunk.length]
        lengths[row] = chunk.length
        n = len(chunk.tokens)
        labels[row, :n] = chunk.tokens
        label_frames[row, :n] = chunk.frames
        label_length[row] = n
    return dict(features=features, lengths=lengths, labels=labels,
                label_length=label_length, label_frames=label_frames)


def batch_order(n_chunks, batch_size, seed, epoch):
    """The chunk indices of each minibatch of an epoch.

    A permutation drawn from ``numpy.random.default_rng([seed, epoch])``,
    cut into batches of ``batch_size`` (the last may be smaller): the order
    depends on the seed and the epoch only.

    Example:
        >>> [b.tolist() for b in batch_order(7, 3, seed=0, epoch=0)]
        [[2, 4, 3], [6, 5, 0], [1]]
        >>> np.array_equal(batch_order(7, 3, 0, 1)[0], batch_order(7, 3, 0,
        ...                                                        1)[0])
        True
    """
    order = np.random.default_rng([int(seed), int(epoch)]).permutation(
        n_chunks)
    return [order[i:i + batch_size] for i in range(0, n_chunks, batch_size)]


def feasible_chunks(chunks, tolerance, vocabulary_size, chunk_frames=500):
    """Whether some alignment fits each chunk's tokens (with hinting).

    A chunk is infeasible when :func:`sed.ctc.ctc_loss` gives it
    :data:`sed.ctc.INFEASIBLE_LOSS`: more tokens (counting a blank between
    equal neighbours) than frames, or hint windows no monotonic alignment
    fits. Checked with uniform scores.

    Returns:
        A bool array, one entry per chunk.
    """
    out = np.ones(len(chunks), dtype=bool)
    for first in range(0, len(chunks), 64):
        part = chunks[first:first + 64]
        width = max(1, max(len(c.tokens) for c in part))
        labels = np.zeros((len(part), width), np.int32)
        frames = np.zeros((len(part), width), np.int32)
        for row, chunk in enumerate(part):
            labels[row, :len(chunk.tokens)] = chunk.tokens
            frames[row, :len(chunk.tokens)] = chunk.frames
        nll = ctc_loss(labels, tf.zeros([len(part), chunk_frames,
                                         vocabulary_size]),
                       [len(c.tokens) for c in part],
                       [c.length for c in part],
                       None if tolerance is None else frames, tolerance)
        out[first:first + len(part)] = np.asarray(nll) != INFEASIBLE_LOSS
    return out


def decode_recordings(model, recordings, chunk_frames=500, batch_size=16):
    """Best-path tokens of each recording (frames in the recording).

    The network runs over ``chunk_frames`` chunks, as in training
    (:func:`sed.decode.predict_probabilities`); each recording is decoded
    as one sequence.

    Returns:
        A list of ``(tokens, frames)``.
    """
    probs = predict_probabilities(model, [r.features for r in recordings],
                                  chunk_frames, batch_size)
    return [best_path_tokens(p) for p in probs]


def recording_errors(model, recordings, chunk_frames=500, batch_size=16):
    """Token errors of ``recordings`` decoded whole
    (:func:`sed.metrics.token_errors`: substitutions, deletions,
    insertions, reference and decoded token counts, ``ter``; ``ter`` None
    when they hold no reference token)."""
    decoded = decode_recordings(model, recordings, chunk_frames, batch_size)
    return token_errors([r.tokens for r in recordings],
                        [tokens for tokens, _ in decoded])


def recording_ter(model, recordings, chunk_frames=500, batch_size=16):
    """The TER of ``recordings`` (None when they hold no reference token)."""
    if not recordings:
        return None
    return recording_errors(model, recordings, chunk_frames,
                            batch_size)["ter"]


def prepare_features(config, progress=True, workers=1):
    """Features of a corpus for a config: the corpus, the extractor, the
    fitted normaliser and the recordings of each split. ``workers``:
    processes for the descriptors of fitted kinds (``lowlevel``,
    ``opensmile``) while they are computed.

    Returns:
        ``(corpus, extractor, normaliser, data)`` with ``data`` a dict split
        -> list of :class:`Recording` (normalised with training statistics).
    """
    from .corpora import load_corpus
    from .features import (FeatureCache, features_for, make_extractor,
                           normaliser_for)
    cfg = resolve_config(config)
    feats, tr = cfg["feats"], cfg["training"]
    if not tr["corpus"]:
        raise ValueError("training.corpus (the corpus folder) is not set")
    corpus = load_corpus(tr["corpus"])
    cache_dir = Path(feats["cache_dir"] or Path(tr["corpus"]) / "features")
    train_paths = [corpus.audio_path(f) for f in corpus.files("train")]
    extractor = make_extractor(feats["kind"], weights=feats["weights"],
                               fit_paths=train_paths,
                               cache=FeatureCache(cache_dir),
                               progress=progress, workers=workers)
    raw = {split: features_for(corpus, feats["kind"], cache_dir, split=split,
                               extractor=extractor, progress=progress)
           for split in SPLITS}
    if not raw["train"]:
        raise ValueError(f"{tr['corpus']}: the train split is empty")
    normaliser = normaliser_for(extractor, feats["scaling"]).fit(
        values for values, _ in raw["train"])
    data = {}
    for split in SPLITS:
        events = corpus.events(split)
        data[split] = [
            make_recording(normaliser(values), times,
                           events[events["filename"] == name],
                           corpus.classes, name)
            for name, (values, times) in zip(corpus.files(split),
                                             raw[split])]
    return corpus, extractor, normaliser, data




def fill_features(configs, progress=True, workers=1, log=None):
    """Fills the feature cache for several configs before training: the
    kinds of one corpus, cache and weights go to one
    :func:`sed.features.fill_cache`, so the layers of one network are
    computed in one pass per recording. :func:`prepare_features` then
    reads them from the cache.

    Args:
        configs: training configs (dicts or YAML paths).
        progress: show progress bars.
        workers: processes for the descriptors of fitted kinds.
        log: a function taking a line per group (None: silence).

    Returns:
        A dict kind -> the number of recordings computed for it.
    """
    from .corpora import load_corpus
    from .features import fill_cache
    groups = {}
    for config in configs:
        cfg = resolve_config(config)
        feats, tr = cfg["feats"], cfg["training"]
        if not tr["corpus"]:
            raise ValueError("training.corpus (the corpus folder) is not set")
        cache_dir = feats["cache_dir"] or Path(tr["corpus"]) / "features"
        key = (str(tr["corpus"]), str(cache_dir), feats["weights"])
        groups.setdefault(key, []).append(feats["kind"])
    computed = {}
    for (corpus, cache_dir, weights), kinds in groups.items():
        if log:
            log(f"features: {', '.join(dict.fromkeys(kinds))}")
        computed.update(fill_cache(load_corpus(corpus), kinds, cache_dir,
                                   weights=weights, progress=progress,
                                   workers=workers))
    return computed


def data_fingerprint(data):
    """A SHA-256 of prepared recordings (``{split: [Recording]}``): names,
    normalised features, tokens and their frames. Equal fingerprints mean
    the same corpus, features and normaliser.

    Example:
        >>> rec = Recording(np.ones((2, 1), "float32"), np.arange(2) / 10,
        ...                 np.array([1]), np.array([0]), "a.wav")
        >>> data_fingerprint({"train": [rec]}) == data_fingerprint(
        ...     {"train": [rec._replace(features=rec.features * 2)]})
        False
    """
    import hashlib
    digest = hashlib.sha256()
    for split in sorted(data):
        digest.update(f"[{split}]".encode())
        for rec in data[split]:
            digest.update(str(rec.filename).encode() + b"\0")
            for array, dtype in ((rec.features, np.float32),
                                 (rec.tokens, np.int64),
                                 (rec.frames, np.int64)):
                array = np.ascontiguousarray(array, dtype)
                digest.update(str(array.shape).encode())
                digest.update(array.tobytes())
    return digest.hexdigest()


__all__ = ["Chunk", "LABEL_QUANTUM", "Recording", "SPLITS", "batch_order",
           "chunk_recordings", "data_fingerprint", "decode_recordings",
           "feasible_chunks", "fill_features",
           "make_batch", "make_recording", "prepare_features",
           "recording_errors", "recording_ter"]
