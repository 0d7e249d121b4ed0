"""The detector's loss and its SGD step.

:func:`frame_loss` is the paper's per-frame loss (summed hinted-CTC NLL /
valid frames); :func:`make_train_step` one SGD step of it, compiled.

Reference: Wang & Metze, Interspeech 2017, Section 3.2.
"""

import keras
import tensorflow as tf

from .ctc import ctc_loss


class TrainingDiverged(FloatingPointError):
    """A non-finite loss, gradient or network output stopped training
    (:func:`sed.train.fit`, :func:`sed.pretrain.pretrain`)."""


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
        weights) -> (loss, grad_norm, outputs_finite, nonblank)``;
        ``grad_norm`` is the global norm before any clipping, ``nonblank``
        the share of valid frames whose best-path token is not blank.
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
        nonblank = tf.reduce_sum(tf.cast(
            mask & (tf.argmax(logits, axis=-1) != 0), tf.float32)) / \
            tf.maximum(tf.reduce_sum(tf.cast(mask, tf.float32)), 1.0)
        return (loss, grad_norm, tf.reduce_all(tf.math.is_finite(valid)),
                nonblank)

    return step


__all__ = ["TrainingDiverged", "frame_loss", "make_optimizer", "make_train_step"]
