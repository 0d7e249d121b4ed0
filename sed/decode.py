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

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from soundnet_keras.weights import sha256

from .ctc import best_path
from .tokens import tokens_to_events

#: The run-folder file describing a trained detector.
DETECTOR_FILE = "detector.json"


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
# Trained detectors.

def save_detector(out_dir, model, classes, extractor, normaliser, config,
                  data_fingerprint=None):
    """Writes what a run folder needs to featurise new audio and detect.

    ``detector.json`` (classes, feature kind, the feature weights and their
    hash, the network's config, the chunk length) and ``features/``
    (``normaliser.npz``; ``lowlevel_pca.npz`` for the low-level feature).
    """
    out_dir = Path(out_dir)
    folder = out_dir / "features"
    folder.mkdir(parents=True, exist_ok=True)
    normaliser.save(folder / "normaliser.npz")
    feats = config["feats"]
    info = dict(classes=list(classes), feature_kind=str(extractor.kind),
                feature_sha256=extractor.weights_sha256,
                network=model.get_config(),
                chunk_frames=int(config["training"]["chunk_frames"]),
                normaliser="features/normaliser.npz",
                data_fingerprint=data_fingerprint)
    if hasattr(extractor, "save"):  # the low-level PCA
        extractor.save(folder / "lowlevel_pca.npz")
        info["feature_params"] = "features/lowlevel_pca.npz"
    else:
        weights_path = getattr(extractor, "weights_path", None)
        named = feats["weights"]
        if weights_path is None:     # random weights: not reproducible
            info["feature_weights"] = None
        else:
            is_preset = isinstance(named, str) and os.sep not in named \
                and not named.endswith(".h5")
            info["feature_weights"] = named if is_preset else \
                str(Path(weights_path).resolve())
            info["feature_weights_file_sha256"] = sha256(weights_path)
    tmp = out_dir / "detector.part.json"
    tmp.write_text(json.dumps(info, indent=2) + "\n")
    os.replace(tmp, out_dir / DETECTOR_FILE)
    return out_dir / DETECTOR_FILE


class Detector:
    """A trained CTC-RNN with its featuriser (see :func:`load_detector`).

    Attributes:
        model: the :class:`sed.CTCRNN`.
        classes: the event labels.
        extractor: the feature extractor (``path -> (values, times)``).
        normaliser: the training-set :class:`sed.features.Normaliser`.
        chunk_frames: frames per chunk when the network runs.
        run_dir: the run folder.
    """

    def __init__(self, model, classes, extractor, normaliser, chunk_frames,
                 run_dir=None):
        self.model = model
        self.classes = list(classes)
        self.extractor = extractor
        self.normaliser = normaliser
        self.chunk_frames = int(chunk_frames)
        self.run_dir = run_dir

    def featurise(self, path):
        """Normalised ``(features (T, D), times (T,))`` of an audio file."""
        values, times = self.extractor(path)
        return self.normaliser(values), np.asarray(times, dtype=np.float64)

    def probabilities(self, features):
        """Per-frame token probabilities of a list of feature arrays."""
        return predict_probabilities(self.model, features, self.chunk_frames)

    def detect(self, path, features=None):
        """Events of one audio file: a DataFrame ``filename, onset, offset,
        event_label``. ``features`` may pass ``featurise(path)``'s result."""
        values, times = features if features is not None else \
            self.featurise(path)
        events = decode_events(self.probabilities([values])[0], times,
                               self.classes)
        events.insert(0, "filename", Path(path).name)
        return events[["filename", "onset", "offset", "event_label"]]


def _make_extractor(info, run_dir):
    from .features import LowLevel, make_extractor
    kind = info["feature_kind"]
    if "feature_params" in info:
        extractor = LowLevel.load(run_dir / info["feature_params"])
    else:
        weights = info.get("feature_weights")
        if weights is None and "feature_weights_file_sha256" not in info:
            raise ValueError(f"{run_dir}: the features were made with random "
                             "weights that were not saved; this run cannot "
                             "featurise new audio")
        extractor = make_extractor(kind, weights=weights)
    if extractor.weights_sha256 != info["feature_sha256"]:
        raise ValueError(
            f"{run_dir}: the {kind} feature extractor now gives other "
            f"features than in training (parameters hash "
            f"{extractor.weights_sha256[:12]}, trained with "
            f"{info['feature_sha256'][:12]})")
    return extractor


def load_detector(run_dir, weights=None):
    """Reads a trained run folder into a :class:`Detector`.

    Args:
        run_dir: a folder written by :func:`sed.train.train`.
        weights: a ``.weights.h5`` file; default the run's final
            ``model.weights.h5``, or its last checkpoint while training has
            not finished.

    Raises:
        FileNotFoundError: when the folder holds no detector or weights.
    """
    from .features import Normaliser
    from .model import CTCRNN
    run_dir = Path(run_dir)
    path = run_dir / DETECTOR_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a trained run folder (no "
                                f"{DETECTOR_FILE})")
    info = json.loads(path.read_text())
    if weights is None:
        for candidate in (run_dir / "model.weights.h5",
                          run_dir / "checkpoint" / "model.weights.h5"):
            if candidate.is_file():
                weights = candidate
                break
        else:
            raise FileNotFoundError(f"{run_dir} holds no trained weights yet")
    model = CTCRNN.from_config(info["network"])
    model.load_weights(weights)
    return Detector(model, info["classes"], _make_extractor(info, run_dir),
                    Normaliser.load(run_dir / info["normaliser"]),
                    info["chunk_frames"], run_dir)




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


__all__ = ["Detector", "best_path_tokens", "decode_events",
           "evaluate_detector", "load_detector", "predict_probabilities",
           "save_detector"]
