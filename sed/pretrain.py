"""Frame-wise pre-training of the CTC-RNN's BiLSTM (an option of the recipe).

The paper (Section 4.2): with low-level features the CTC network had a
"warm-up" stage in which it output nothing; "pre-training the network with a
frame-wise sound event classifier shortened this stage from 60 epochs to 40
epochs". Neither the paper nor [6] gives that classifier's details; here it
is the closest reading:

* the network: the detector's own BiLSTM (same cell, initialisation and
  seed) with a dense sigmoid layer of ``n`` outputs, one per event type
  (the corpus is polyphonic: several events may be active in a frame);
* the target of each frame: which events are active there, from the
  recording's boundary tokens (an event is active from its onset's frame up
  to, not including, its offset's frame; :func:`sed.tokens.events_to_tokens`
  puts an offset at least one frame after its onset, so even an event
  shorter than a frame marks one);
* the loss: binary cross-entropy averaged over the valid frames and the
  types; the optimiser: the recipe's (SGD with Nesterov momentum at the
  recipe's learning rate and clipping), over the same 500-frame chunks and
  minibatches as CTC training, for ``training.pretrain_epochs`` epochs;
* then the CTC network starts from the classifier's BiLSTM weights (its own
  output layer from scratch).

The pre-training is a run folder of its own (``<run>/pretrain``: resumable,
its ``history.json`` / ``history.csv`` with, per epoch, the loss, the
gradient norms and the frame-wise micro F1 of each split at threshold 0.5).

Example:
    >>> recs = [Recording(np.zeros((6, 2), "float32"), np.arange(6) / 10,
    ...                   np.array([1, 3, 2, 4]), np.array([1, 2, 3, 4]))]
    >>> frame_activity(recs[0], n_classes=2).astype(int).T.tolist()
    [[0, 1, 1, 0, 0, 0], [0, 0, 1, 1, 0, 0]]
"""

import math
import time

import keras
import numpy as np
import tensorflow as tf

from soundnet_keras.runs import RunFolder, named_variables

from .dataset import (SPLITS, Recording, batch_order, chunk_recordings,
                      make_batch)
from .decode import predict_probabilities
from .loss import TrainingDiverged, make_optimizer
from .lstm import BiLSTM
from .metrics import score_text
from .tokens import is_onset, token_class

#: The columns of the pre-training's ``history.csv``.
PRETRAIN_FIELDS = ("epoch", "loss", "lr", "grad_norm_mean", "grad_norm_max",
                   "steps", *[f"{split}_frame_f1" for split in SPLITS],
                   "time_s")


def frame_activity(recording, n_classes):
    """``(T, n_classes)`` bool: which event types are active in each frame,
    from the recording's onset and offset tokens (see the module
    docstring)."""
    frames = len(recording.features)
    tokens = np.asarray(recording.tokens, dtype=np.int64)
    at = np.asarray(recording.frames, dtype=np.int64)
    classes, onset = token_class(tokens), is_onset(tokens)
    delta = np.zeros((frames + 1, n_classes), np.int64)
    np.add.at(delta, (at, classes), np.where(onset, 1, -1))
    return np.cumsum(delta[:frames], axis=0) > 0


class FrameClassifier(keras.Model):
    """The detector's BiLSTM with a sigmoid layer of ``n_classes`` outputs.

    Args: as :class:`sed.CTCRNN` (``n_classes``, ``units``, ``input_dim``,
    ``activation``, ``relu_max``, ``glorot``).
    """

    def __init__(self, n_classes, units, input_dim, activation="relu_g",
                 relu_max=None, glorot="fused", name="frame_classifier"):
        super().__init__(name=name)
        self.vocabulary_size = int(n_classes)
        self.blstm = BiLSTM(int(units), cell=activation, relu_max=relu_max,
                            glorot=glorot, name="blstm")
        self.logits = keras.layers.Dense(
            int(n_classes), kernel_initializer="glorot_uniform",
            bias_initializer="zeros", name="logits")
        self.blstm.build((None, None, int(input_dim)))
        self.logits.build((None, None, 2 * int(units)))
        self.built = True

    def call(self, features, mask=None, training=False):
        return self.logits(self.blstm(features, mask=mask,
                                      training=training))

    def compute_mask(self, inputs, mask=None):
        return None   # the logits carry no Keras mask: losses take lengths

    def probabilities(self, features, mask=None):
        """Per-frame probabilities of each event type being active."""
        return keras.ops.sigmoid(self(features, mask=mask))


def _train_step(model, optimizer, jit_compile):
    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def step(features, lengths, targets):
        mask = tf.sequence_mask(lengths, tf.shape(features)[1])
        weight = tf.cast(mask, tf.float32)[..., None]
        with tf.GradientTape() as tape:
            logits = model(features, mask=mask, training=True)
            bce = tf.nn.sigmoid_cross_entropy_with_logits(targets, logits)
            loss = tf.reduce_sum(bce * weight) / tf.maximum(
                tf.reduce_sum(weight) * tf.cast(tf.shape(targets)[-1],
                                                tf.float32), 1.0)
        variables = model.trainable_variables
        grads = tape.gradient(loss, variables)
        optimizer.apply(grads, variables)
        return loss, tf.linalg.global_norm(grads)
    return step


def frame_f1(model, recordings, chunk_frames=500):
    """Micro F1 of the classifier's frame decisions (probability > 0.5)
    over ``recordings``; None when they hold no active frame and no
    detection."""
    if not recordings:
        return None
    probs = predict_probabilities(model, [r.features for r in recordings],
                                  chunk_frames)
    hits = detected = active = 0
    for rec, p in zip(recordings, probs):
        truth = frame_activity(rec, model.vocabulary_size)
        guess = p > 0.5
        hits += int((truth & guess).sum())
        detected += int(guess.sum())
        active += int(truth.sum())
    if detected + active == 0:
        return None
    return 2.0 * hits / (detected + active)


def pretrain(data, folder, cfg, n_classes, input_dim, log=print):
    """Trains the frame classifier for ``training.pretrain_epochs`` epochs
    in the run folder ``folder`` (resumable) and returns it.

    Args:
        data: ``{split: [Recording]}`` as for :func:`sed.train.fit`.
        folder: the pre-training's run folder.
        cfg: the resolved config (its ``net``, ``opt`` and ``training``).
        n_classes, input_dim: the corpus's event types and the feature
            dimension.
        log: a function taking progress messages.
    """
    from soundnet_keras.provenance import provenance
    net, opt, tr = cfg["net"], cfg["opt"], cfg["training"]
    keras.utils.set_random_seed(int(tr["seed"]))
    model = FrameClassifier(n_classes, net["units"], input_dim,
                            net["activation"], net["relu_max"],
                            net["glorot"])
    chunk_frames, batch_size = int(tr["chunk_frames"]), int(tr["batch_size"])
    recs = list(data["train"])
    chunks = chunk_recordings(recs, chunk_frames)
    activity = [frame_activity(r, n_classes) for r in recs]
    optimizer = make_optimizer(opt)
    optimizer.build(model.trainable_variables)
    step = _train_step(model, optimizer, bool(tr["jit_compile"]))
    variables = named_variables(model=model, optimizer=optimizer)
    epochs = int(tr["pretrain_epochs"])
    prov = provenance()
    with RunFolder(folder, PRETRAIN_FIELDS) as run:
        state = run.restore(variables)
        rows = state["rows"] if state else []
        for epoch in range(len(rows), epochs):
            start = time.perf_counter()
            losses, norms = [], []
            batches = batch_order(len(chunks), batch_size, tr["seed"],
                                  1_000_000 + epoch)
            for indices in batches:
                batch = make_batch(recs, [chunks[i] for i in indices],
                                   chunk_frames, batch_size)
                y = np.zeros((batch_size, chunk_frames, n_classes),
                             np.float32)
                for row, i in enumerate(indices):
                    c = chunks[i]
                    y[row, :c.length] = activity[c.recording][
                        c.start:c.start + c.length]
                loss, norm = (float(v) for v in step(
                    batch["features"], batch["lengths"], y))
                if not (math.isfinite(loss) and math.isfinite(norm)):
                    raise TrainingDiverged(
                        f"Frame-wise pre-training diverged in epoch "
                        f"{epoch + 1}: loss {loss}, gradient norm {norm}")
                losses.append(loss)
                norms.append(norm)
            row = dict(epoch=epoch + 1, loss=float(np.mean(losses)),
                       lr=float(optimizer.learning_rate),
                       grad_norm_mean=float(np.mean(norms)),
                       grad_norm_max=float(np.max(norms)),
                       steps=len(batches))
            for split in SPLITS:
                row[f"{split}_frame_f1"] = frame_f1(
                    model, data.get(split, []), chunk_frames)
            row["time_s"] = time.perf_counter() - start
            rows.append(row)
            run.commit(variables, dict(epoch=epoch + 1, rows=rows),
                       dict(config=cfg, provenance=prov, epochs=rows))
            log(f"pre-training epoch {epoch + 1}/{epochs}: loss "
                f"{row['loss']:.4f}, frame F1 train "
                f"{score_text(row['train_frame_f1'])} val "
                f"{score_text(row['val_frame_f1'])}, {row['time_s']:.1f} s")
    return model


__all__ = ["FrameClassifier", "PRETRAIN_FIELDS", "frame_activity",
           "frame_f1", "pretrain"]
