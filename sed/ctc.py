"""CTC loss with alignment hinting, and best-path decoding with frames.

:func:`ctc_loss` is a log-space CTC forward pass over the usual lattice (the
label sequence with blanks interleaved), written in TensorFlow ops, with
its gradient written by hand (the backward variables are the forward
variables of the reversed sequence). Given the frame of each label it
applies *alignment hinting*: the states of label ``i`` may be occupied only at
frames ``t`` with ``|t - label_frames[b, i]| <= tolerance``; blank states are
free. Without hinting it computes the same value as ``tf.nn.ctc_loss`` (blank
0) and is faster on CPU.

:func:`best_path` is the paper's decoder: argmax per frame, collapse repeats,
drop blanks; it also returns the frame at which each token was emitted, which
:func:`sed.tokens.tokens_to_events` turns into event times.

Reference: Wang & Metze, Interspeech 2017, Section 2.1 (CTC-RNN, best-path
decoding) and 3.2 (alignment hinting, tolerance 10 frames); Graves et al.,
"Connectionist Temporal Classification", ICML 2006.
"""

import numpy as np
import tensorflow as tf

from .tokens import BLANK

#: The loss given to a sequence that no path can produce (too many tokens for
#: its frames, or for the hint windows). Its gradient is zero.
INFEASIBLE_LOSS = 1e4

# Log-probability standing for "impossible": finite so that no inf or NaN
# appears in the forward pass or in its gradient.
_NEG = -1e30


def _dim(tensor, axis):
    """A dimension, static where known (tf.scan then knows its length)."""
    return tensor.shape[axis] if tensor.shape[axis] is not None \
        else tf.shape(tensor)[axis]


def _skip(ext):
    """``[B, S]``: whether each state may be entered from two states back
    (a label differing from the label before it)."""
    batch = _dim(ext, 0)
    prev2 = tf.concat([tf.fill([batch, 2], -1), ext[:, :-2]], axis=1)
    return (ext != BLANK) & (ext != prev2)


def _lattice(labels, logits, label_length, label_frames, tolerance):
    """Emission log-probabilities of the extended sequence.

    The extended sequence has ``S = 2U + 1`` states: blank, label 0, blank,
    label 1, ..., blank. Returns ``emit`` ``[T, B, S]`` (time-major; ``_NEG``
    where the hint forbids a state), the extended sequence ``ext`` ``[B, S]``
    and the log-softmax ``logp`` ``[B, T, V]``.
    """
    batch, max_labels = _dim(labels, 0), _dim(labels, 1)
    frames = _dim(logits, 1)
    labels = tf.where(tf.sequence_mask(label_length, max_labels), labels, 0)
    blanks = tf.zeros_like(labels)
    ext = tf.reshape(tf.stack([blanks, labels], axis=2), [batch, -1])
    ext = tf.concat([ext, blanks[:, :1]], axis=1)

    logp = tf.nn.log_softmax(logits)
    emit = tf.gather(logp, ext, axis=2, batch_dims=1)          # [B, T, S]
    if label_frames is not None:
        time = tf.range(frames)[None, :, None]
        near = tf.abs(time - label_frames[:, None, :]) <= tolerance
        free = tf.ones_like(near)
        allowed = tf.reshape(tf.stack([free, near], axis=3),
                             [batch, frames, -1])
        allowed = tf.concat([allowed, free[:, :, :1]], axis=2)
        emit = tf.where(allowed, emit, tf.constant(_NEG, emit.dtype))
    return tf.transpose(emit, [1, 0, 2]), ext, logp


def _alphas(emit, skip):
    """Log forward variables, ``[T + 1, B, S]``: before frame 0 (a virtual
    state in which only the first blank has probability one), then after
    each frame (including its emission)."""
    dtype = emit.dtype
    batch, states = _dim(emit, 1), _dim(emit, 2)
    neg = tf.constant(_NEG, dtype)
    zero = tf.zeros([batch, 1], dtype)
    alpha0 = tf.concat([zero, tf.fill([batch, states - 1], neg)], axis=1)
    skip_penalty = tf.where(skip, tf.zeros([], dtype), neg)

    def step(alpha, emit_t):
        padded = tf.pad(alpha, [[0, 0], [2, 0]], constant_values=_NEG)
        from_prev = padded[:, 1:-1]
        from_skip = padded[:, :-2] + skip_penalty
        candidates = tf.stack([alpha, from_prev, from_skip])
        new = tf.reduce_logsumexp(candidates, axis=0) + emit_t
        return tf.maximum(new, neg)     # keep impossible states at _NEG

    alphas = tf.scan(step, emit, alpha0)                  # [T, B, S]
    return tf.concat([alpha0[None], alphas], axis=0)


def _reversed(values, length, states):
    """``[T, B, S]`` values with each sequence's own frames (``length``) and
    states (``states``) in reverse order; the rest stays in place."""
    values = tf.reverse_sequence(values, length, seq_axis=0, batch_axis=1)
    return tf.reverse_sequence(values, states, seq_axis=2, batch_axis=1)


def _ctc_nll(labels, logits, label_length, logit_length, label_frames,
             tolerance):
    """The loss, with its gradient written by hand: the forward variables
    of the sequence reversed in time and states are the backward variables,
    and the gradient with respect to the logits is the softmax minus each
    token's posterior occupancy (Graves et al. 2006, eq. 16). Automatic
    differentiation through the loop cost 12x the loop itself."""

    @tf.custom_gradient
    def nll(logits):
        emit, ext, logp = _lattice(labels, logits, label_length,
                                   label_frames, tolerance)
        batch, frames = _dim(emit, 1), _dim(emit, 0)
        alphas = _alphas(emit, _skip(ext))
        alpha = tf.gather_nd(alphas, tf.stack([logit_length,
                                               tf.range(batch)], axis=1))
        neg = tf.constant(_NEG, alpha.dtype)
        end_blank = tf.gather(alpha, 2 * label_length, batch_dims=1)
        end_label = tf.gather(alpha, tf.maximum(2 * label_length - 1, 0),
                              batch_dims=1)
        end_label = tf.where(label_length > 0, end_label, neg)
        log_prob = tf.reduce_logsumexp(tf.stack([end_blank, end_label]),
                                       axis=0)
        feasible = log_prob > neg / 2
        loss = tf.where(feasible, -log_prob,
                        tf.constant(INFEASIBLE_LOSS, alpha.dtype))

        def grad(upstream):
            # beta_t(s): probability of the rest of the sequence from state
            # s at frame t, emission at t included
            states = 2 * label_length + 1
            ext_reversed = tf.reverse_sequence(ext, states, seq_axis=1,
                                               batch_axis=0)
            betas = _reversed(_alphas(
                _reversed(emit, logit_length, states),
                _skip(ext_reversed))[1:], logit_length, states)
            valid = (tf.range(frames)[:, None, None]
                     < logit_length[None, :, None]) & \
                (tf.range(_dim(emit, 2))[None, None, :]
                 < states[None, :, None])
            log_occupancy = alphas[1:] + betas - emit - log_prob[None, :, None]
            occupancy = tf.where(valid, tf.exp(tf.minimum(log_occupancy, 0.0)),
                                 tf.zeros([], emit.dtype))      # [T, B, S]
            per_token = tf.einsum("tbs,bsv->btv", occupancy,
                                  tf.one_hot(ext, _dim(logp, 2),
                                             dtype=emit.dtype))
            frame_valid = tf.sequence_mask(logit_length, frames)
            scale = tf.where(feasible, upstream, tf.zeros_like(upstream))
            return tf.where(frame_valid[..., None], tf.exp(logp) - per_token,
                            tf.zeros([], emit.dtype)) * scale[:, None, None]

        return loss, grad

    return nll(logits)


# Eager callers get the loop as a graph (shape-generalised traces); inside a
# caller's tf.function it is traced into that graph with the caller's shapes,
# which XLA needs (jit_compile=True fails on a generalised trace's gradient).
_ctc_nll_graph = tf.function(_ctc_nll, reduce_retracing=True,
                             autograph=False)


def ctc_loss(labels, logits, label_length, logit_length, label_frames=None,
             tolerance=None):
    """Per-sequence CTC negative log-likelihood, optionally hinted.

    Standard CTC (blank = 0; a skip over a blank only between distinct
    labels), computed in log space by a ``tf.scan`` over time, batched, and
    differentiable (a hand-written gradient: one more ``tf.scan``); it runs
    in graph mode (also when called eagerly) and can be used inside
    ``tf.function``, also with ``jit_compile=True``.

    With ``label_frames`` and ``tolerance`` (alignment hinting, Wang & Metze
    2017, Section 3.2): the lattice states of label ``i`` of sequence ``b``
    may be occupied only at frames ``t`` with
    ``|t - label_frames[b, i]| <= tolerance``; blank states are free. Without
    hinting the result equals ``tf.nn.ctc_loss(labels, logits, label_length,
    logit_length, logits_time_major=False, blank_index=0)``.

    Frames at or beyond ``logit_length`` and labels at or beyond
    ``label_length`` are ignored (their gradient is zero).

    Infeasible sequences: when no path produces a sequence's labels (more
    tokens, counting a blank between equal neighbours, than frames, or hint
    windows that no monotonic alignment fits) its loss is the finite constant
    :data:`INFEASIBLE_LOSS` (1e4) and its gradient is exactly zero, so it
    neither poisons the batch with inf/NaN nor changes the other sequences'
    losses or gradients. (Observed with TF 2.21: ``tf.nn.ctc_loss`` with
    dense labels returns a finite value near 709 with a non-zero gradient
    there, and with sparse labels it raises an error.)

    Args:
        labels: int ``[batch, max_label_len]``, dense, padded (any padding
            value; token ids in ``[1, vocab)``).
        logits: ``[batch, time, vocab]`` unnormalised scores (log-softmax is
            applied here); float32, or float64 for a float64 result.
        label_length: int ``[batch]``.
        logit_length: int ``[batch]``.
        label_frames: optional int ``[batch, max_label_len]``, the frame of
            each label (e.g. from :func:`sed.tokens.events_to_tokens`).
        tolerance: int >= 0, the hint window half-width in frames (the paper
            uses 10); required with ``label_frames``, else must be None.

    Returns:
        ``[batch]`` negative log-likelihoods, float32 (float64 for float64
        logits), not normalised by length.

    Raises:
        ValueError: when only one of ``label_frames`` and ``tolerance`` is
            given, or the tolerance is negative.

    Example:
        Uniform scores over 3 tokens, 2 frames, label ``[1]``: the paths
        ``1 1``, ``0 1`` and ``1 0`` each have probability 1/9. Hinting the
        label to frame 0 with tolerance 0 keeps only ``1 0``.

        >>> logits = tf.zeros([1, 2, 3])
        >>> args = ([[1]], logits, [1], [2])
        >>> print(f"{float(ctc_loss(*args)[0]):.4f}")   # log 3
        1.0986
        >>> print(f"{float(ctc_loss(*args, [[0]], 0)[0]):.4f}")   # log 9
        2.1972
    """
    if (label_frames is None) != (tolerance is None):
        given = "None" if label_frames is None else "(given)"
        raise ValueError("Pass both label_frames and tolerance for alignment "
                         f"hinting, or neither. Received label_frames={given}"
                         f", tolerance={tolerance}.")
    if isinstance(tolerance, (int, np.integer)) and tolerance < 0:
        raise ValueError(f"tolerance must be >= 0. Received {tolerance}.")
    logits = tf.convert_to_tensor(logits)
    dtype = tf.float64 if logits.dtype == tf.float64 else tf.float32
    logits = tf.cast(logits, dtype)
    labels = tf.cast(labels, tf.int32)
    time, max_labels = tf.shape(logits)[1], tf.shape(labels)[1]
    label_length = tf.clip_by_value(tf.cast(label_length, tf.int32), 0,
                                    max_labels)
    logit_length = tf.clip_by_value(tf.cast(logit_length, tf.int32), 0, time)
    if label_frames is not None:
        label_frames = tf.cast(label_frames, tf.int32)
        tolerance = tf.cast(tolerance, tf.int32)
    nll = _ctc_nll if tf.inside_function() else _ctc_nll_graph
    return nll(labels, logits, label_length, logit_length, label_frames,
               tolerance)


def best_path(probs_or_logits, length=None):
    """Best-path (greedy) decoding that keeps each token's frame.

    Takes the most probable token at every frame, collapses runs of a repeated
    token into one and drops blanks (token 0). The frame of a token is the
    first frame of its run. (``keras.ops.ctc_decode`` drops these frames, and
    ``tf.nn.ctc_greedy_decoder`` assumes the blank is the last class.)

    Args:
        probs_or_logits: ``[batch, time, vocab]`` probabilities, log
            probabilities or logits (array or tensor): only the argmax is used.
        length: optional int ``[batch]``, the number of valid frames of each
            sequence (default: all).

    Returns:
        A list with one ``(tokens, frames)`` pair of int64 arrays per
        sequence.

    Example:
        >>> probs = np.eye(3)[[0, 1, 1, 0, 2, 2, 1, 1]][None]  # one-hot path
        >>> [(t.tolist(), f.tolist()) for t, f in best_path(probs)]
        [([1, 2, 1], [1, 4, 6])]
        >>> [(t.tolist(), f.tolist()) for t, f in best_path(probs, [5])]
        [([1, 2], [1, 4])]
    """
    scores = np.asarray(probs_or_logits)
    if scores.ndim != 3:
        raise ValueError("best_path expects [batch, time, vocab] scores. "
                         f"Received shape {scores.shape}.")
    batch, time = scores.shape[:2]
    if length is None:
        length = np.full(batch, time)
    length = np.clip(np.asarray(length, dtype=np.int64).reshape(-1), 0, time)
    if length.shape != (batch,):
        raise ValueError(f"length has {length.size} entries for a batch of "
                         f"{batch}.")
    path = scores.argmax(axis=-1)
    decoded = []
    for row, n in zip(path, length):
        row = row[:n]
        first = np.ones(n, dtype=bool)
        first[1:] = row[1:] != row[:-1]
        frames = np.flatnonzero(first & (row != BLANK))
        decoded.append((row[frames].astype(np.int64), frames.astype(np.int64)))
    return decoded
