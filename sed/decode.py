"""Decoding the CTC-RNN's outputs into timed events, and trained detectors.

:func:`decode_events` turns one recording's per-frame probabilities (or
logits) into events: best-path decoding (:func:`sed.ctc.best_path`: argmax
per frame, collapse repeats, drop blanks), then
:func:`sed.tokens.tokens_to_events` pairs the boundary tokens at their
frames. :func:`predict_probabilities` runs a model over recordings of any
length in fixed-size chunks. :func:`load_detector` reads a trained run
folder (written by :func:`sed.train.train`) into a :class:`Detector` that
featurises new audio exactly as in training and detects events.

Reference: Wang & Metze, Interspeech 2017, Section 2.1 (best-path
decoding).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from .ctc import best_path
from .tokens import tokens_to_events



def best_path_tokens(probs_or_logits, length=None):
    """Best-path ``(tokens, frames)`` of one ``(T, V)`` sequence.

    Example:
        >>> probs = np.eye(3)[[0, 1, 1, 0, 2]]
        >>> [a.tolist() for a in best_path_tokens(probs)]
        [[1, 2], [1, 4]]
    """
    scores = np.asarray(probs_or_logits)
    if scores.ndim != 2:
        raise ValueError("expected (T, V) scores of one sequence. Received "
                         f"shape {scores.shape}")
    return best_path(scores[None], None if length is None else [length])[0]


def decode_events(probs_or_logits, times, classes, length=None):
    """Events of one recording from its per-frame scores.

    Best-path decoding gives boundary tokens and the frame where each run of
    a token starts; :func:`sed.tokens.tokens_to_events` pairs them. Each
    onset is paired with the next offset of its class and the event spans the
    centre times of the two frames. Unmatched tokens (as ``tokens.py``
    defines): an onset with no later offset of its class ends at the last
    valid frame's time; an offset with no open onset of its class is
    dropped; several onsets of a class before its next offset each give an
    event ending at that offset.

    Args:
        probs_or_logits: ``(T, V)`` (or ``(1, T, V)``) probabilities, log
            probabilities or logits, ``V = 2 len(classes) + 1``.
        times: the ``T`` frame centres in seconds.
        classes: the event labels in corpus order.
        length: the number of valid frames (default ``T``).

    Returns:
        A DataFrame with columns ``event_label, onset, offset`` (seconds),
        sorted by onset.

    Example:
        Blank is token 0; "dog" (class 1) has onset 3 and offset 4.

        >>> path = [0, 3, 3, 0, 0, 4, 0, 0, 1, 0]
        >>> probs = np.eye(5)[path]             # one-hot: the best path
        >>> decode_events(probs, np.arange(10) * 0.1, ["car", "dog"])
          event_label  onset  offset
        0         dog    0.1     0.5
        1         car    0.8     0.9
    """
    scores = np.asarray(probs_or_logits)
    if scores.ndim == 3 and scores.shape[0] == 1:
        scores = scores[0]
    times = np.asarray(times, dtype=np.float64)
    if scores.ndim != 2 or len(times) < scores.shape[0]:
        raise ValueError(f"expected (T, V) scores and T times. Received "
                         f"shapes {scores.shape} and {times.shape}")
    if scores.shape[1] != 2 * len(classes) + 1:
        raise ValueError(f"{scores.shape[1]} scores per frame for "
                         f"{len(classes)} classes (expected "
                         f"{2 * len(classes) + 1})")
    length = scores.shape[0] if length is None else int(length)
    tokens, frames = best_path_tokens(scores, length)
    return tokens_to_events(tokens, frames, list(classes),
                            times[:max(length, 1)])


def _predict_function(model):
    fn = getattr(model, "_sed_predict", None)
    if fn is None:
        @tf.function(reduce_retracing=True)
        def fn(features, lengths):
            mask = tf.sequence_mask(lengths, tf.shape(features)[1])
            return model.probabilities(features, mask=mask)
        model._sed_predict = fn
    return fn


def predict_probabilities(model, features, chunk_frames=500, batch_size=16):
    """Per-frame token probabilities of recordings of any length.

    Each recording is cut into chunks of ``chunk_frames`` frames (as in
    training: the BiLSTM sees at most that many frames at once), the chunks
    of all recordings run in batches of ``batch_size`` (padded and masked:
    every batch has the same shape), and each recording's outputs are put
    back together.

    Args:
        model: a :class:`sed.CTCRNN`.
        features: a list of ``(T_i, D)`` arrays.
        chunk_frames: frames per chunk.
        batch_size: chunks per batch.

    Returns:
        A list of ``(T_i, 2n + 1)`` float32 arrays.

    Example:
        >>> from sed.model import CTCRNN
        >>> model = CTCRNN(n_classes=1, units=4, input_dim=2)
        >>> out = predict_probabilities(model, [np.zeros((7, 2)),
        ...                                     np.zeros((3, 2))], 5, 2)
        >>> [p.shape for p in out]
        [(7, 3), (3, 3)]
    """
    features = [np.asarray(f, dtype=np.float32) for f in features]
    pieces = [(i, start, min(chunk_frames, len(f) - start))
              for i, f in enumerate(features)
              for start in range(0, len(f), chunk_frames)]
    out = [np.zeros((len(f), model.vocabulary_size), np.float32)
           for f in features]
    if not pieces:
        return out
    dim = features[pieces[0][0]].shape[1]
    fn = _predict_function(model)
    for first in range(0, len(pieces), batch_size):
        part = pieces[first:first + batch_size]
        x = np.zeros((batch_size, chunk_frames, dim), np.float32)
        lengths = np.zeros(batch_size, np.int32)
        for row, (i, start, n) in enumerate(part):
            x[row, :n] = features[i][start:start + n]
            lengths[row] = n
        probs = np.asarray(fn(x, lengths))
        for row, (i, start, n) in enumerate(part):
            out[i][start:start + n] = probs[row, :n]
    return out


# --------------------------------------------------------------------------
# Evaluation of a detector on a corpus.

def evaluate_detector(detector, corpus, splits=("train", "val", "test"),
                      cache_dir=None, progress=True):
    """Token error rate and event metrics of a detector on corpus splits.

    Features come through the feature cache (``<corpus>/features`` by
    default) and are normalised with the detector's training statistics.
    TER: best-path decoding of whole recordings against the recordings'
    token sequences (:func:`sed.tokens.events_to_tokens`); event metrics:
    :func:`sed.metrics.event_metrics` over the split's recordings.

    Returns:
        A DataFrame, one row per split: ``split, recordings,
        reference_tokens, ter`` and the keys of
        :func:`sed.metrics.event_metrics`.
    """
    from .features import features_for
    from .metrics import event_metrics, token_error_rate
    from .tokens import events_to_tokens
    cache_dir = Path(cache_dir) if cache_dir else Path(corpus.root) / \
        "features"
    rows = []
    for split in splits:
        names = corpus.files(split)
        raw = features_for(corpus, detector.extractor.kind, cache_dir,
                           split=split, extractor=detector.extractor,
                           progress=progress)
        features = [detector.normaliser(values) for values, _ in raw]
        probs = detector.probabilities(features)
        reference = corpus.events(split)
        refs, hyps, found = [], [], []
        for name, (_, times), p in zip(names, raw, probs):
            mine = reference[reference["filename"] == name]
            refs.append(events_to_tokens(mine, detector.classes, times)[0])
            hyps.append(best_path_tokens(p)[0])
            events = decode_events(p, times, detector.classes)
            events.insert(0, "filename", name)
            found.append(events)
        n_ref = int(sum(len(r) for r in refs))
        estimated = pd.concat(found, ignore_index=True) if found else \
            pd.DataFrame(columns=["filename", "event_label", "onset",
                                  "offset"])
        row = dict(split=split, recordings=len(names), reference_tokens=n_ref,
                   decoded_tokens=int(sum(len(h) for h in hyps)),
                   ter=token_error_rate(refs, hyps) if n_ref else None)
        row.update(event_metrics(reference, estimated, detector.classes))
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["best_path_tokens", "decode_events", "evaluate_detector",
           "predict_probabilities"]
