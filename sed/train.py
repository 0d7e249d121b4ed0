"""Training the CTC-RNN (Wang & Metze 2017, Section 3.2).

The recipe (:data:`DEFAULTS`; the paper's values but for two, see
"Deviations" below):

* Every recording is chopped into chunks of 500 frames (the last one
  shorter); a minibatch holds 5 chunks, zero-padded to 500 frames and
  masked. Tokens (:func:`sed.tokens.events_to_tokens` over the whole
  recording) go to the chunk that holds their frame, with the frame re-based
  to the chunk's start, so an event that crosses a chunk boundary leaves its
  onset in one chunk and its offset in the next. The last minibatch of an
  epoch may hold fewer chunks (its empty rows count for nothing).
* Loss: the summed CTC negative log-likelihood of the minibatch divided by
  its number of valid frames (per-frame NLL), with alignment hinting, 10
  frames of tolerance (:func:`sed.ctc.ctc_loss` with ``label_frames``).
  A chunk whose tokens no alignment fits (see ``sed.ctc.INFEASIBLE_LOSS``)
  is left out of the loss (its frames too); the run's log and history say
  how many there are.
* SGD with Nesterov momentum 0.9, the learning rate multiplied by 0.8 when
  the validation token error rate has not improved (strictly below the best
  so far) for 5 epochs; 200 epochs of one pass over the training chunks.
* The order of the chunks in an epoch is a permutation drawn from
  ``numpy.random.default_rng([seed, epoch])``: a function of the seed and
  the epoch only, so a resumed run sees the batches an uninterrupted run
  would.
* After every epoch: the token error rate (TER) of the train, validation and
  test recordings, by best-path decoding of whole recordings (the network
  runs over the same 500-frame chunks as in training, its outputs are put
  back together, and each recording is decoded as one sequence; the
  reference is the recording's token sequence); then a checkpoint (weights,
  optimizer variables, schedule state and epoch) and the history
  (``history.json``, ``history.csv``, with the config and the provenance).
  Running again in the same folder resumes after the last finished epoch and
  gives the same weights as an uninterrupted run.
* A loss, gradient norm or network output that is not finite stops the run
  with :class:`TrainingDiverged`; the checkpoint of the last finished epoch
  is kept. (The outputs are checked too: ``sed.ctc.ctc_loss`` maps a NaN
  log-likelihood to its finite ``INFEASIBLE_LOSS``.)

Deviations (:data:`PAPER` holds the printed values): the LSTM's
non-linearity is tanh, not ReLU (``net.activation``), and the gradient's
global norm is clipped at 1 (``opt.clipnorm``). lr 3.0 and everything else
are as printed. The measurements (``benchmarks/lr_divergence.py``; Keras'
SGD: ``v <- m v - lr g; w <- w + m v - lr g``, as Lasagne and PyTorch do
it):

* With the ReLU and lr 3.0 the loss is NaN at the second step, on random
  and on SoundNet conv5 features. The first gradient is coherent over all
  2,500 frames (every frame asks for more blank) and, the ReLU outputs
  being non-negative, nearly rank one in the recurrent matrices (90-99.8 %
  of its energy in one singular direction). After one lr-3.0 step (1.9 x
  3.0 x g with Nesterov) the largest cell state of the forward LSTM grows
  about threefold per frame and overflows float32 between frames 50 and
  150 of 500.
* It is not the loss reduction (summed NLL / frames is the gentlest; per
  sequence the gradient is 500 times larger), nor the feature
  normalisation (un-normalised conv5 features diverge too), nor momentum
  alone (none: NaN at step 2). Global gradient-norm clipping at 1 or 0.1
  with lr 3.0: NaN at steps 2 and 3.
* Smaller learning rates only delay it: on conv5 features (the batches
  training sees) the ReLU network diverged at step 30 (lr 0.3), 3 (0.1)
  and 5 (0.03), forward (the cell state overflows) or backward (gradient
  norms of 1e7-1e10 through the 500 frames). Scaling the inputs by 0.1
  (lr 3.0) kept it on the all-blank plateau (0.32 nats per frame) for four
  epochs; in the fifth the loss reached 9e8 and then NaN.
* Bounding the ReLU at 20 (``net.relu_max``) stops the overflow but not the
  exploding gradients, and the outcome hangs on single minibatches: in 45
  steps, lr 3.0 ends at 1.9e4 nats per frame; lr 3.0 with clipping at 0.1
  and lr 0.3 without clipping survive (0.15 and 0.24, the former through
  gradient norms up to 1.3e9); lr 0.3 with clipping at 1 meets a gradient
  of norm 2e10 at step 3 and ends at 20 nats per frame (3.3 at the start).
* tanh, bounded and with bounded derivatives, trains at lr 3.0 on conv5
  features with the paper's optimiser unchanged (gradient norms of order
  1; val TER 0.57 after 30 epochs of the 1-hour default corpus,
  ``sed-ctc corpus default --minutes 60``). On the
  low-level features tanh at lr 3.0 still diverges in the third epoch
  (gradient norms up to 1e3, then NaN), hence the clipping; with it both
  features train (clipping acts in the first epochs, where gradient norms
  reach 3-10, and rarely later). 30 epochs on that corpus with the recipe:
  val / test TER 0.45 / 0.45 (conv5), 0.52 / 0.52 (low-level).

Why lr 3.0 with a ReLU worked in the paper's Theano code cannot be checked
(it is not public). Two ways it could have: the gradient was clipped inside
the recurrence (as Lasagne's ``grad_clipping`` does), or the step was
smaller than Keras' for the same lr (a momentum that averages the gradient,
``v <- 0.9 v + 0.1 g; w <- w - lr v``, takes exactly the steps of Keras'
SGD at lr 0.3, which still diverges here with the ReLU).

Example:
    >>> rng = np.random.default_rng(0)
    >>> recs = [Recording(rng.normal(size=(30, 4)).astype("float32"),
    ...                   np.arange(30) * 0.1, np.array([1, 2]),
    ...                   np.array([3, 12]), "a.wav")]
    >>> [(c.start, c.length, c.tokens.tolist(), c.frames.tolist())
    ...  for c in chunk_recordings(recs, chunk_frames=10)]
    [(0, 10, [1], [3]), (10, 10, [2], [2]), (20, 10, [], [])]
"""

import copy
import csv
import json
import math
import os
import time
from pathlib import Path
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from .ctc import INFEASIBLE_LOSS, ctc_loss
from .decode import best_path_tokens, predict_probabilities
from .metrics import token_error_rate
from .tokens import events_to_tokens

SPLITS = ("train", "val", "test")

#: The configuration of a run: the paper's values (Section 3.2) except
#: ``net.activation`` and ``opt.clipnorm`` (:data:`PAPER`; see
#: "Deviations" above).
DEFAULTS = {
    "net": {"units": 400, "activation": "tanh", "relu_max": None},
    "opt": {"learning_rate": 3.0, "momentum": 0.9, "nesterov": True,
            "lr_factor": 0.8, "lr_patience": 5, "clipnorm": 1.0},
    "feats": {"kind": "soundnet8:conv5", "weights": "default",
              "cache_dir": None},
    "training": {"corpus": None, "out": None, "epochs": 200,
                 "batch_size": 5, "chunk_frames": 500, "tolerance": 10,
                 "seed": 0, "jit_compile": False, "progress": True},
}

#: The values the paper prints where :data:`DEFAULTS` deviates from it.
PAPER = {"net": {"activation": "relu"}, "opt": {"clipnorm": None}}

#: Config keys that may change when a run is resumed.
RESUMABLE_CHANGES = ("epochs", "out", "corpus", "progress")

HISTORY_FIELDS = ("epoch", "train_loss", "train_ter", "val_ter", "test_ter",
                  "lr", "grad_norm_mean", "grad_norm_max", "steps",
                  "train_s", "time_s")

# Label matrices are padded to a multiple of this width, which bounds the
# number of train-step traces.
_LABEL_QUANTUM = 8


class TrainingDiverged(FloatingPointError):
    """A non-finite loss, gradient or network output stopped training."""


# --------------------------------------------------------------------------
# Configuration.

def resolve_config(config=None):
    """The full config: ``config``'s values over :data:`DEFAULTS`.

    Args:
        config: a dict with any of the sections ``net``, ``opt``, ``feats``,
            ``training`` (or None for the defaults).

    Returns:
        A new dict with all four sections and every key.

    Raises:
        ValueError: for an unknown section or key (the message lists the
            known ones).

    Example:
        >>> cfg = resolve_config({"opt": {"learning_rate": 0.3}})
        >>> cfg["opt"]["learning_rate"], cfg["opt"]["momentum"]
        (0.3, 0.9)
        >>> resolve_config({"opt": {"lr": 1}})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: Unknown key 'lr' in section 'opt'. Known keys: ...
    """
    out = copy.deepcopy(DEFAULTS)
    for section, values in (config or {}).items():
        if section not in out:
            raise ValueError(f"Unknown config section {section!r}. Known "
                             f"sections: {', '.join(DEFAULTS)}")
        for key, value in (values or {}).items():
            if key not in out[section]:
                raise ValueError(
                    f"Unknown key {key!r} in section {section!r}. Known "
                    f"keys: {', '.join(DEFAULTS[section])}")
            out[section][key] = value
    return out


def load_config(path):
    """Reads a YAML config file and resolves it (:func:`resolve_config`)."""
    import yaml
    with open(path, encoding="utf-8") as f:
        raw = yaml.safe_load(f) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: a config is a mapping of sections "
                         f"({', '.join(DEFAULTS)})")
    return resolve_config(raw)


def _comparable(config):
    cfg = copy.deepcopy(config)
    for key in RESUMABLE_CHANGES:
        cfg["training"].pop(key, None)
    return cfg


# --------------------------------------------------------------------------
# Recordings, chunks and minibatches.

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
        label_width = max(1, -(-longest // _LABEL_QUANTUM) * _LABEL_QUANTUM)
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


# --------------------------------------------------------------------------
# Loss and train step.

def frame_loss(logits, lengths, labels, label_length, label_frames=None,
               tolerance=None, weights=None):
    """The paper's per-frame loss: summed CTC NLL / number of valid frames.

    Args:
        logits: ``(B, T, V)``.
        lengths: valid frames of each sequence ``(B,)``.
        labels, label_length, label_frames, tolerance: as in
            :func:`sed.ctc.ctc_loss`.
        weights: optional ``(B,)`` 0/1: sequences with weight 0 count
            neither in the NLL sum nor in the frame count.

    Returns:
        A scalar: ``sum_b w_b NLL_b / max(1, sum_b w_b lengths_b)``.

    Example:
        >>> logits = tf.zeros([2, 4, 3])      # uniform: log 3 per frame
        >>> loss = frame_loss(logits, [4, 2], [[1], [2]], [1, 1])
        >>> nll = ctc_loss([[1], [2]], logits, [1, 1], [4, 2])
        >>> bool(abs(float(loss) - float(tf.reduce_sum(nll)) / 6) < 1e-6)
        True
    """
    lengths = tf.cast(lengths, tf.int32)
    nll = ctc_loss(labels, logits, label_length, lengths, label_frames,
                   tolerance)
    frames = tf.cast(lengths, nll.dtype)
    if weights is not None:
        weights = tf.cast(weights, nll.dtype)
        nll, frames = nll * weights, frames * weights
    return tf.reduce_sum(nll) / tf.maximum(tf.reduce_sum(frames), 1.0)


def make_optimizer(opt):
    """Keras SGD from the ``opt`` config section."""
    kwargs = {}
    if opt.get("clipnorm"):
        kwargs["global_clipnorm"] = float(opt["clipnorm"])
    return keras.optimizers.SGD(float(opt["learning_rate"]),
                                momentum=float(opt["momentum"]),
                                nesterov=bool(opt["nesterov"]), **kwargs)


def make_train_step(model, optimizer, tolerance, jit_compile=False):
    """A ``tf.function`` doing one SGD step on a minibatch.

    Returns:
        ``step(features, lengths, labels, label_length, label_frames,
        weights) -> (loss, grad_norm, outputs_finite)``; ``grad_norm`` is
        the global norm before any clipping.
    """
    hinted = tolerance is not None

    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def step(features, lengths, labels, label_length, label_frames,
             weights):
        mask = tf.sequence_mask(lengths, tf.shape(features)[1])
        with tf.GradientTape() as tape:
            logits = model(features, mask=mask, training=True)
            loss = frame_loss(logits, lengths, labels, label_length,
                              label_frames if hinted else None, tolerance,
                              weights)
        variables = model.trainable_variables
        grads = tape.gradient(loss, variables)
        grad_norm = tf.linalg.global_norm(grads)
        optimizer.apply(grads, variables)
        valid = tf.where(mask[..., None], logits, tf.zeros_like(logits))
        return loss, grad_norm, tf.reduce_all(tf.math.is_finite(valid))

    return step


# --------------------------------------------------------------------------
# Evaluation.

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


def recording_ter(model, recordings, chunk_frames=500, batch_size=16):
    """The TER of ``recordings`` (None when they hold no reference token)."""
    if not recordings or sum(len(r.tokens) for r in recordings) == 0:
        return None
    decoded = decode_recordings(model, recordings, chunk_frames, batch_size)
    return token_error_rate([r.tokens for r in recordings],
                            [tokens for tokens, _ in decoded])


# --------------------------------------------------------------------------
# Checkpoints and history.

class Checkpoint:
    """Weights, optimizer variables and schedule state after an epoch.

    Files (in ``folder``): ``model.weights.h5``, ``optimizer.npz`` and
    ``state.json``; each is written to a temporary name and renamed, and
    ``state.json`` last, so a checkpoint is complete when it exists.
    """

    def __init__(self, folder):
        self.folder = Path(folder)

    @property
    def exists(self):
        return (self.folder / "state.json").is_file()

    def save(self, model, optimizer, state):
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / "model.part.weights.h5"
        model.save_weights(tmp)
        os.replace(tmp, self.folder / "model.weights.h5")
        tmp = self.folder / "optimizer.part.npz"
        np.savez(tmp, *[np.asarray(v) for v in optimizer.variables])
        os.replace(tmp, self.folder / "optimizer.npz")
        tmp = self.folder / "state.part.json"
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        os.replace(tmp, self.folder / "state.json")

    def restore(self, model, optimizer):
        """Loads the checkpoint into ``model`` and ``optimizer``; returns the
        schedule state."""
        state = json.loads((self.folder / "state.json").read_text())
        model.load_weights(self.folder / "model.weights.h5")
        optimizer.build(model.trainable_variables)
        with np.load(self.folder / "optimizer.npz") as stored:
            if len(stored.files) != len(optimizer.variables):
                raise ValueError(f"{self.folder}: the optimizer state does "
                                 "not match this model")
            for i, var in enumerate(optimizer.variables):
                var.assign(stored[f"arr_{i}"])
        return state


def _json_value(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_history(out_dir, config, rows, provenance, extra=None):
    """Writes ``history.json`` (config, provenance, rows) and
    ``history.csv`` (rows) atomically."""
    out_dir = Path(out_dir)
    record = dict(config=config, provenance=provenance, **(extra or {}),
                  epochs=[{k: _json_value(v) for k, v in r.items()}
                          for r in rows])
    tmp = out_dir / "history.part.json"
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, out_dir / "history.json")
    tmp = out_dir / "history.part.csv"
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, HISTORY_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in r.items()}
                         for r in rows)
    os.replace(tmp, out_dir / "history.csv")


def _write_config(out_dir, config):
    import yaml
    path = Path(out_dir) / "config.yaml"
    if path.is_file():
        saved = yaml.safe_load(path.read_text())
        if _comparable(saved) != _comparable(config):
            raise ValueError(
                f"{out_dir} holds a run with another config (see its "
                "config.yaml); use a new folder, or the same config to "
                "resume (only training."
                f"{', training.'.join(RESUMABLE_CHANGES)} may change)")
    tmp = path.with_suffix(".part.yaml")
    tmp.write_text(yaml.safe_dump(config, sort_keys=False))
    os.replace(tmp, path)


# --------------------------------------------------------------------------
# The training loop.

def fit(model, data, out_dir, config=None, log=print, provenance=None,
        on_epoch=None):
    """Trains ``model`` on prepared recordings; resumes if interrupted.

    Args:
        model: a built :class:`sed.CTCRNN`.
        data: a dict with ``"train"`` and optionally ``"val"`` and
            ``"test"``: lists of :class:`Recording`.
        out_dir: the run folder: ``config.yaml``, ``history.json``,
            ``history.csv``, ``checkpoint/`` and, at the end,
            ``model.weights.h5``.
        config: a config dict (:func:`resolve_config`); ``feats`` and the
            corpus are not used here.
        log: a function taking progress messages (None for silence).
        provenance: the run's provenance (default:
            :func:`soundnet_keras.training.provenance`).
        on_epoch: called with each new history row, after its checkpoint
            and history are written.

    Returns:
        The list of per-epoch history rows (:data:`HISTORY_FIELDS`):
        ``train_loss`` is the mean of the epoch's minibatch losses (nats per
        frame), ``*_ter`` the token error rates after the epoch (None for a
        split without reference tokens), ``lr`` the rate used in the epoch,
        ``grad_norm_*`` the global gradient norms before any clipping,
        ``train_s`` and ``time_s`` the wall time of the training steps and
        of the whole epoch with evaluation.

    Raises:
        TrainingDiverged: on a non-finite loss, gradient norm or output;
            the last finished epoch's checkpoint is kept.
        ValueError: when ``out_dir`` holds a run with another config.
    """
    from soundnet_keras.training import provenance as run_provenance
    cfg = resolve_config(config)
    opt, tr = cfg["opt"], cfg["training"]
    show_progress = bool(tr["progress"]) and log is not None
    log = log or (lambda *_: None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_config(out_dir, cfg)
    frames_per_chunk, batch_size = int(tr["chunk_frames"]), \
        int(tr["batch_size"])
    tolerance = tr["tolerance"]
    train_recs = list(data["train"])
    chunks = chunk_recordings(train_recs, frames_per_chunk)
    if not chunks:
        raise ValueError("no training frames")
    feasible = feasible_chunks(chunks, tolerance, model.vocabulary_size,
                               frames_per_chunk)
    longest = max(len(c.tokens) for c in chunks)
    label_width = max(1, -(-longest // _LABEL_QUANTUM) * _LABEL_QUANTUM)
    if not feasible.all():
        log(f"{int((~feasible).sum())} of {len(chunks)} training chunks "
            "have tokens no alignment fits; they are left out of the loss")

    optimizer = make_optimizer(opt)
    optimizer.build(model.trainable_variables)
    step = make_train_step(model, optimizer, tolerance, tr["jit_compile"])
    checkpoint = Checkpoint(out_dir / "checkpoint")
    state = dict(epoch=0, lr=float(opt["learning_rate"]), best=None, wait=0)
    rows = []
    if checkpoint.exists:
        state = checkpoint.restore(model, optimizer)
        history = out_dir / "history.json"
        if history.is_file():
            rows = json.loads(history.read_text())["epochs"][:state["epoch"]]
        log(f"Resuming {out_dir} after epoch {state['epoch']}.")
    prov = provenance or run_provenance()
    extra = dict(training_chunks=len(chunks),
                 infeasible_chunks=int((~feasible).sum()),
                 ter="best-path decoding of whole recordings")
    epochs = int(tr["epochs"])
    while state["epoch"] < epochs:
        epoch = state["epoch"]
        optimizer.learning_rate.assign(state["lr"])
        start = time.perf_counter()
        losses, norms = [], []
        batches = batch_order(len(chunks), batch_size, tr["seed"], epoch)
        bar = _progress(batches, f"epoch {epoch + 1}/{epochs}",
                        show_progress)
        for number, indices in enumerate(bar, 1):
            batch = make_batch(train_recs, [chunks[i] for i in indices],
                               frames_per_chunk, batch_size, label_width)
            weights = np.zeros(batch_size, np.float32)
            weights[:len(indices)] = feasible[indices]
            loss, norm, finite = step(
                batch["features"], batch["lengths"], batch["labels"],
                batch["label_length"], batch["label_frames"], weights)
            loss, norm = float(loss), float(norm)
            if not (math.isfinite(loss) and math.isfinite(norm)
                    and bool(finite)):
                message = (
                    f"Training diverged in epoch {epoch + 1}, step {number}:"
                    f" loss {loss}, gradient norm {norm}, network outputs "
                    f"{'finite' if bool(finite) else 'not finite'}, lr "
                    f"{state['lr']:g}. "
                    + (f"The checkpoint after epoch {epoch} is kept in "
                       f"{checkpoint.folder}." if checkpoint.exists else
                       "No checkpoint had been written yet."))
                write_history(out_dir, cfg, rows, prov,
                              dict(extra, stopped=message))
                raise TrainingDiverged(message)
            losses.append(loss)
            norms.append(norm)
        train_s = time.perf_counter() - start
        ters = {split: recording_ter(model, data.get(split, []),
                                     frames_per_chunk)
                for split in SPLITS}
        row = dict(epoch=epoch + 1, train_loss=float(np.mean(losses)),
                   train_ter=ters["train"], val_ter=ters["val"],
                   test_ter=ters["test"], lr=state["lr"],
                   grad_norm_mean=float(np.mean(norms)),
                   grad_norm_max=float(np.max(norms)), steps=len(batches),
                   train_s=train_s, time_s=time.perf_counter() - start)
        rows.append(row)
        _update_schedule(state, row["val_ter"], opt)
        state["epoch"] = epoch + 1
        checkpoint.save(model, optimizer, state)
        write_history(out_dir, cfg, rows, prov, extra)
        log(_epoch_line(row, epochs))
        if on_epoch is not None:
            on_epoch(row)
    tmp = out_dir / "model.part.weights.h5"
    model.save_weights(tmp)
    os.replace(tmp, out_dir / "model.weights.h5")
    return rows


def _update_schedule(state, val_ter, opt):
    """lr x factor when the validation TER has not improved (strictly) for
    ``lr_patience`` epochs; nothing without a validation TER."""
    if val_ter is None:
        return
    if state["best"] is None or val_ter < state["best"]:
        state["best"], state["wait"] = val_ter, 0
        return
    state["wait"] += 1
    if state["wait"] >= int(opt["lr_patience"]):
        state["lr"] = state["lr"] * float(opt["lr_factor"])
        state["wait"] = 0


def _fmt(value):
    return "-" if value is None else f"{value:.3f}"


def _epoch_line(row, epochs):
    return (f"epoch {row['epoch']}/{epochs}: loss {row['train_loss']:.4f}, "
            f"TER train {_fmt(row['train_ter'])} val {_fmt(row['val_ter'])} "
            f"test {_fmt(row['test_ter'])}, lr {row['lr']:.3g}, |g| "
            f"{row['grad_norm_mean']:.3g} (max {row['grad_norm_max']:.3g}), "
            f"{row['time_s']:.1f} s")


def _progress(items, desc, enabled):
    import sys
    from tqdm.auto import tqdm
    return tqdm(items, desc=desc, unit="batch", leave=False,
                disable=not enabled, file=sys.stderr)


# --------------------------------------------------------------------------
# From a corpus on disk.

def prepare_features(config, progress=True):
    """Features of a corpus for a config: the corpus, the extractor, the
    fitted normaliser and the recordings of each split.

    Returns:
        ``(corpus, extractor, normaliser, data)`` with ``data`` a dict split
        -> list of :class:`Recording` (normalised with training statistics).
    """
    from .corpora import load_corpus
    from .features import (FeatureCache, Normaliser, features_for,
                           make_extractor)
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
                               progress=progress)
    raw = {split: features_for(corpus, feats["kind"], cache_dir, split=split,
                               extractor=extractor, progress=progress)
           for split in SPLITS}
    if not raw["train"]:
        raise ValueError(f"{tr['corpus']}: the train split is empty")
    normaliser = Normaliser().fit(values for values, _ in raw["train"])
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


def train(config, log=print, on_epoch=None):
    """Trains a CTC-RNN on a corpus as a config says; resumes if interrupted.

    Featurises the corpus (cached), writes the run folder
    ``training.out`` (see :func:`fit`, plus ``detector.json`` and
    ``features/``, what :func:`sed.decode.load_detector` needs to featurise
    new audio), builds :class:`sed.CTCRNN` and trains it.

    Args:
        config: a config dict or the path to a YAML file.
        log: a function taking progress messages (None for silence).
        on_epoch: called with each new history row (see :func:`fit`).

    Returns:
        The list of per-epoch history rows.
    """
    from .decode import save_detector
    from .model import CTCRNN
    if isinstance(config, (str, os.PathLike)):
        cfg = load_config(config)
    else:
        cfg = resolve_config(config)
    tr = cfg["training"]
    if not tr["out"]:
        raise ValueError("training.out (the run folder) is not set")
    out_dir = Path(tr["out"])
    corpus, extractor, normaliser, data = prepare_features(
        cfg, progress=bool(tr["progress"]) and log is not None)
    dim = data["train"][0].features.shape[1]
    if log:
        counts = ", ".join(f"{s} {len(data[s])}" for s in SPLITS)
        log(f"{cfg['feats']['kind']} features ({dim}-d) of {counts} "
            f"recordings; {len(corpus.classes)} classes.")
    keras.utils.set_random_seed(int(tr["seed"]))
    net = cfg["net"]
    model = CTCRNN(len(corpus.classes), int(net["units"]), input_dim=dim,
                   activation=net["activation"], relu_max=net["relu_max"])
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_config(out_dir, cfg)
    save_detector(out_dir, model, corpus.classes, extractor, normaliser, cfg)
    return fit(model, data, out_dir, cfg, log=log, on_epoch=on_epoch)


__all__ = ["Chunk", "Checkpoint", "DEFAULTS", "PAPER", "Recording",
           "TrainingDiverged", "batch_order", "chunk_recordings",
           "decode_recordings", "feasible_chunks", "fit", "frame_loss",
           "load_config", "make_batch", "make_optimizer", "make_recording",
           "make_train_step", "prepare_features", "recording_ter",
           "resolve_config", "train"]
