"""Training SN-F and SN-R to match the teacher's distributions (Section 3.1).

Loss: KL(objects) + KL(places), in nats, per labelled frame (the student's
frames nearest to the stored targets' times, ``targets.target_times``). Adam,
lr 1e-3, 64 clips a batch, an epoch of 160 minibatches, validation after each
epoch, lr x0.9 when the minimum validation loss has not improved for 5
epochs. Every epoch writes the history (JSON and CSV, with config and
provenance) and a checkpoint (weights, optimizer state, schedule state); a run
started again in the same folder resumes exactly where it stopped. Runs under
any ``tf.distribute`` strategy: MirroredStrategy for several local devices,
MultiWorkerMirroredStrategy when ``TF_CONFIG`` names several workers.
"""

import contextlib
import dataclasses
import json
import math
import os
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from .provenance import provenance
from .runs import (Field, RunError, RunFolder, check_config, exit_point,
                   positional_variables)
from .stores import save_weights, write_text
from .specs import frame_times, output_length
from .targets import TargetStore, make_dataset, prior_baseline
from .weights import load_into, model_variables, write_weights

#: The history of every student run (distillation and pretrained trunk):
#: KL in nats per labelled frame, the best constant student's on the same
#: validation clips (:func:`soundnet_keras.targets.constant_student`), and
#: the top-1 agreement with the teacher of both heads and of that prior.
HISTORY_FIELDS = (
    "epoch", "train_kl", "val_kl", "val_objects_kl", "val_places_kl",
    "constant_kl", "constant_objects_kl", "constant_places_kl",
    "train_objects_agreement", "train_places_agreement",
    "val_objects_agreement", "val_places_agreement",
    "prior_objects_agreement", "prior_places_agreement", "lr", "time_s")


def constant_fields(constant):
    """The constant student's history fields, from
    :func:`soundnet_keras.targets.constant_student`'s dict."""
    return dict(constant_kl=constant["kl"],
                constant_objects_kl=constant["objects_kl"],
                constant_places_kl=constant["places_kl"],
                prior_objects_agreement=constant["objects_agreement"],
                prior_places_agreement=constant["places_agreement"])


@dataclasses.dataclass
class StudentConfig:
    """Hyper-parameters every student run has (:class:`DistillConfig`,
    :class:`soundnet_keras.trunk.TrunkConfig`); defaults are the paper's."""
    model: str = "snf"              # snf, snr (GRU) or snr_lstm
    activation: str = "tanh"        # SN-F's fc layers
    rnn_activation: str = "relu"    # SN-R's recurrent cells (the paper: ReLU)
    batch_norm: bool = True         # SN-R's batch norm
    epochs: int = 300
    steps_per_epoch: int = 160
    batch_size: int = 64
    learning_rate: float = 1e-3
    lr_factor: float = 0.9
    lr_patience: int = 5
    seed: int = 0

    def check(self):
        """Raises :class:`soundnet_keras.runs.ConfigError` for a value of
        the wrong type or out of range (:data:`CONFIG_SCHEMA`).

        Example:
            >>> DistillConfig(lr_factor=1.5).check()
            Traceback (most recent call last):
            ...
            soundnet_keras.runs.ConfigError: DistillConfig: lr_factor must be a number > 0 and <= 1. Received 1.5 (float).
        """
        check_config(dataclasses.asdict(self), {
            f.name: CONFIG_SCHEMA[f.name] for f in dataclasses.fields(self)},
            type(self).__name__)
        return self


@dataclasses.dataclass
class DistillConfig(StudentConfig):
    """Hyper-parameters of a distillation run (the whole student trained)."""
    init_from_soundnet8: bool = False  # extension: conv1-conv5 from SoundNet-8
    clipnorm: float = None          # deviation: gradient-norm clipping
    precision: str = "float32"      # or Keras' mixed_bfloat16 / mixed_float16


#: What each :class:`StudentConfig` (and subclass) value may be.
CONFIG_SCHEMA = {
    "model": Field(str, choices=("snf", "snr", "snr_lstm")),
    "activation": Field(str, choices=("tanh", "relu")),
    "rnn_activation": Field(str, choices=("relu", "tanh")),
    "batch_norm": Field(bool), "epochs": Field(int, 1),
    "steps_per_epoch": Field(int, 1), "batch_size": Field(int, 1),
    "learning_rate": Field(float, 0, exclusive=True),
    "lr_factor": Field(float, 0, 1, exclusive=True),
    "lr_patience": Field(int, 1), "seed": Field(int, 0),
    "init_from_soundnet8": Field(bool),
    "clipnorm": Field(float, 0, exclusive=True, nullable=True),
    "precision": Field(str, choices=("float32", "mixed_bfloat16",
                                     "mixed_float16")),
}


def kl_divergence(p_true, logits):
    """KL(p_true || softmax(logits)) in nats over the last axis.

    Example:
        >>> p = np.array([[0.5, 0.5]], "float32")
        >>> float(kl_divergence(p, np.log(np.array([[0.25, 0.75]],
        ...                                            "float32")))[0])
        0.1438...
    """
    p_true = ops.convert_to_tensor(p_true)
    log_q = ops.log_softmax(logits, axis=-1)
    safe = ops.where(p_true > 0, p_true, ops.ones_like(p_true))
    p_log_p = ops.where(p_true > 0, p_true * ops.log(safe),
                        ops.zeros_like(p_true))
    return ops.sum(p_log_p - p_true * log_q, axis=-1)


def agreement(p_true, logits):
    """1 where the student's top class is the teacher's, per frame."""
    return ops.cast(ops.equal(ops.argmax(p_true, axis=-1),
                              ops.argmax(logits, axis=-1)), "float32")


class GatherFrames(keras.layers.Layer):
    """Keeps the frames ``frames`` of a ``(batch, T, C)`` sequence."""

    def __init__(self, frames, **kwargs):
        super().__init__(**kwargs)
        self.frames = [int(f) for f in frames]

    def call(self, x):
        return ops.take(x, self.frames, axis=1)

    def get_config(self):
        return {**super().get_config(), "frames": self.frames}


def label_frames(spec, clip_samples, times):
    """The student's frames nearest to the targets' ``times``."""
    n = output_length(spec, "output", clip_samples)
    centres = frame_times(spec, "output", n)
    return [int(np.argmin(np.abs(centres - t))) for t in times]


def build_student(config):
    from .models import SoundNetF, SoundNetR
    if config.model == "snf":
        return SoundNetF(activation=config.activation)
    if config.model in ("snr", "snr_lstm"):
        return SoundNetR(cell="gru" if config.model == "snr" else "lstm",
                         batch_norm=config.batch_norm,
                         activation=config.rnn_activation)
    raise ValueError(f"model must be 'snf', 'snr' or 'snr_lstm'. Received: "
                     f"model={config.model!r}")


def distillation_model(student, frames):
    """The student's head logits at the labelled frames, in float32 (the
    loss's precision whatever the student computes in)."""
    logits = [student.get_layer(n).output for n in ("output", "output_2")]
    outputs = [GatherFrames(frames, name=name, dtype="float32")(x)
               for name, x in zip(("objects", "places"), logits)]
    return keras.Model(student.input, outputs, name=f"{student.name}_distill")


def save_model_weights(model, path):
    """Writes a model's weights in this package's by-layer-name format."""
    return write_weights(path, model_variables(model))


def default_strategy():
    """MultiWorkerMirroredStrategy under a multi-worker ``TF_CONFIG``,
    MirroredStrategy with several local devices, else the default."""
    tf_config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    if len(tf_config.get("cluster", {}).get("worker", [])) > 1:
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    cpus = tf.config.list_logical_devices("CPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    if not gpus and len(cpus) > 1:
        return tf.distribute.MirroredStrategy([d.name for d in cpus])
    return tf.distribute.get_strategy()


@contextlib.contextmanager
def dtype_policy(name):
    """Keras' global dtype policy set to ``name`` inside the block (the
    layers built there compute in it; their variables stay float32).

    Example:
        >>> with dtype_policy("mixed_bfloat16"):
        ...     layer = keras.layers.Dense(2)
        >>> layer.compute_dtype, layer.variable_dtype
        ('bfloat16', 'float32')
    """
    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)


def store_digest(folder):
    """The SHA-256 of a target store's manifest (``meta.json``,
    ``clips.csv``): what identifies its clips and targets."""
    from .identity import files_digest
    return files_digest(Path(folder) / "meta.json",
                        Path(folder) / "clips.csv")


def run_identity(config, **inputs):
    """A student run's identity (:mod:`soundnet_keras.identity`): its
    config less ``epochs`` (which a resume may change) and its ``inputs``
    (digests, e.g. ``targets=store_digest(folder)``)."""
    from .identity import identity
    fields = dataclasses.asdict(config)
    fields.pop("epochs")
    return identity(config=fields, **inputs)


def _write_config(out_dir, config, force=False, run=None):
    """``config.json``; refuses a folder holding another config (only
    ``epochs`` may change on resume; a field the saved config lacks, from a
    run begun before the field existed, counts as its default) unless
    ``force``, then one made from other inputs (``run.check_identity``),
    before writing."""
    path = out_dir / "config.json"
    if path.exists() and not force:
        try:
            saved = json.loads(path.read_text())
        except ValueError:
            raise RunError(f"{path} is damaged; use another run "
                           "folder") from None
        defaults = {f.name: f.default for f in dataclasses.fields(config)}
        if ({**defaults, **saved, "epochs": config.epochs}
                != dataclasses.asdict(config)):
            raise RunError(
                f"{out_dir} holds a run with another config ({saved}); "
                "use a new folder, or the same config to resume")
    if run is not None:
        run.check_identity()
    write_text(path, json.dumps(dataclasses.asdict(config), indent=2))


class _Plateau(keras.callbacks.ReduceLROnPlateau):
    """Keras' ReduceLROnPlateau whose state is carried over a resume."""

    STATE = ("best", "wait", "cooldown_counter")

    def __init__(self, restored=None, **kwargs):
        super().__init__(**kwargs)
        self.restored = restored

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        for key, value in (self.restored or {}).items():
            setattr(self, key, value)

    def state(self):
        return {key: float(getattr(self, key)) for key in self.STATE}


#: History fields read from Keras' logs under another name where the logs
#: lack their own (the pretrained trunk's evidence callback writes its own).
LOG_KEYS = dict(train_kl="loss", val_kl="val_loss",
                val_objects_kl="val_objects_loss",
                val_places_kl="val_places_loss",
                train_objects_agreement="objects_agreement",
                train_places_agreement="places_agreement")


class _Commit(keras.callbacks.Callback):
    """After each epoch (and after the schedule): the history row (the run
    folder's fields, from the logs and ``constants``), :meth:`keep`, then
    the checkpoint and the history through the run folder; a non-finite
    value stops training without a checkpoint."""

    def __init__(self, run, variables, rows, schedule, record, log,
                 constants=None):
        super().__init__()
        self.run, self.variables, self.rows = run, variables, rows
        self.schedule, self.record, self.log = schedule, record, log
        self.constants = constants or {}
        self.diverged = None

    def on_epoch_begin(self, epoch, logs=None):
        self.lr = float(np.asarray(self.model.optimizer.learning_rate))
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        values = {name: logs.get(name, logs.get(LOG_KEYS.get(name)))
                  for name in self.run.fields}
        values.update(self.constants, lr=self.lr,
                      time_s=time.perf_counter() - self.start)
        row = dict(epoch=epoch + 1, **{
            name: None if values[name] is None else float(values[name])
            for name in self.run.fields if name != "epoch"})
        if not all(v is not None and math.isfinite(v) for v in row.values()):
            self.diverged = (
                f"epoch {epoch + 1}: not finite ({row}); the last good "
                f"checkpoint is kept in {self.run.checkpoints}")
            self.model.stop_training = True
            return
        exit_point("trained", epoch + 1)
        self.rows.append(row)
        self.keep(row)
        self.run.commit(self.variables, dict(
            epoch=epoch + 1, rows=self.rows,
            schedule=self.schedule.state()), self.record(self.rows))
        self.log(f"epoch {epoch + 1}/{self.params['epochs']}: train KL "
                 f"{row['train_kl']:.4f}, val KL {row['val_kl']:.4f}, lr "
                 f"{row['lr']:.3g}, {row['time_s']:.0f} s")

    def keep(self, row):
        """Writes the weights of the epoch with the lowest validation KL,
        ``checkpoint/best.weights.h5`` (atomic, before the checkpoint: a
        run killed in between retrains that epoch and writes them
        again)."""
        if row["val_kl"] <= min(r["val_kl"] for r in self.rows):
            path = self.run.checkpoints / "best.weights.h5"
            save_weights(self.model, path)


def fit_run(run, model, variables, state, config, record, train_data,
            validation_data=None, callbacks=(), constants=None, verbose=1,
            log=print):
    """Keras ``fit`` of a student from its run folder's checkpoint.

    ``state``: what ``run.restore(variables)`` returned (None: a new run);
    ``record(rows)``: the history record; ``train_data(epoch)``: the
    training dataset from the start of ``epoch`` (0-based); ``callbacks``
    run before ``TerminateOnNaN``, the schedule (``ReduceLROnPlateau`` on
    ``val_loss``, its state in the checkpoint) and the commit of each epoch
    (:class:`_Commit`, given ``constants``: the history row, the best
    weights, the checkpoint).

    Returns:
        The list of per-epoch history rows.

    Raises:
        FloatingPointError: when a value is not finite (the last good
            checkpoint is kept).
    """
    rows = state["rows"] if state else []
    if state:
        run.write_history(record(rows))
        log(f"Resuming {run.folder} after epoch {len(rows)}.")
    if len(rows) < config.epochs:
        schedule = _Plateau(state["schedule"] if state else None,
                            monitor="val_loss", mode="min",
                            factor=config.lr_factor,
                            patience=config.lr_patience, min_delta=0.0,
                            verbose=0)
        done = _Commit(run, variables, rows, schedule, record, log,
                       constants)
        model.fit(train_data(len(rows)),
                  steps_per_epoch=config.steps_per_epoch,
                  epochs=config.epochs, initial_epoch=len(rows),
                  validation_data=validation_data, shuffle=False,
                  verbose=verbose,
                  callbacks=[*callbacks, keras.callbacks.TerminateOnNaN(),
                             schedule, done])
        if done.diverged:
            run.write_history(dict(record(rows), stopped=done.diverged))
            raise FloatingPointError(done.diverged)
    return rows


def train(targets_dir, out_dir, config=None, strategy=None, verbose=1,
          log=print, force=False):
    """Trains a SoundNet variant on stored targets; resumes if interrupted.

    Keras' ``fit`` with ``initial_epoch`` (a resumed run continues the
    example stream where it stopped), ``ReduceLROnPlateau`` on the
    validation loss (``min_delta=0``; its state is in the checkpoint) and
    ``TerminateOnNaN``; checkpoints and history through
    :class:`soundnet_keras.runs.RunFolder` (atomic; a kill at any moment,
    then the same call, gives the uninterrupted run's history and weights).

    Args:
        targets_dir: a folder written by
            :func:`soundnet_keras.targets.write_targets`.
        out_dir: the run's folder: ``history.json``, ``history.csv``,
            ``config.json``, ``checkpoint/`` (with ``best.weights.h5``,
            the epoch with the lowest validation KL), ``run.lock`` and, at
            the end, ``<model>.weights.h5`` (the student of that epoch) and
            ``<model>_last.weights.h5`` (of the last).
        config: a :class:`DistillConfig`.
        strategy: a ``tf.distribute`` strategy (default
            :func:`default_strategy`).
        verbose: Keras' progress output per epoch (0, 1 or 2).
        log: a function taking progress messages (``None`` for silence).
        force: resume a run folder of another identity (another config or
            target store) with this one.

    Returns:
        The list of per-epoch history rows.

    Raises:
        soundnet_keras.runs.ConfigError: for a config value of the wrong
            type or out of range.
        soundnet_keras.runs.RunError: when ``out_dir`` holds a run of
            another identity (:func:`run_identity`: config or targets)
            unless ``force``, is in use by another process, or its
            checkpoint is damaged.
        FloatingPointError: when the loss is not finite (the last good
            checkpoint is kept).
    """
    config = (config or DistillConfig()).check()
    log = log or (lambda *_: None)
    out_dir = Path(out_dir)
    store = TargetStore(targets_dir)
    with RunFolder(out_dir, HISTORY_FIELDS, run_identity(
            config, targets=store_digest(targets_dir)), force=force,
            target=config.epochs) as run:
        _write_config(out_dir, config, force, run)
        return _train(run, store, config, strategy, verbose, log)


def _train(run, store, config, strategy, verbose, log):
    keras.utils.set_random_seed(config.seed)
    strategy = strategy or default_strategy()
    with strategy.scope(), dtype_policy(config.precision):
        student = build_student(config)
        clip = int(store.meta["clip_seconds"] * store.meta["student_rate"])
        frames = label_frames(config.model, clip, store.target_times)
        model = distillation_model(student, frames)
        # Under mixed_float16 compile wraps Adam in a LossScaleOptimizer,
        # whose loss scale is checkpointed with the rest.
        model.compile(optimizer=keras.optimizers.Adam(
                          config.learning_rate, clipnorm=config.clipnorm),
                      loss=[kl_divergence] * 2,
                      metrics=[[agreement], [agreement]])
        optimizer = model.optimizer
        if config.init_from_soundnet8:
            from .weights import resolve_weights
            path = resolve_weights("soundnet8_flickr", model="soundnet8")
            load_into(student, path, layers=[
                l.name for l in student.layers if l.name.startswith(
                    ("conv1", "conv2", "conv3", "conv4", "conv5"))])
        optimizer.build(model.trainable_variables)
        variables = positional_variables(student, optimizer)
        state = run.restore(variables)
    run_provenance = provenance()

    def record(rows):
        return dict(config=dataclasses.asdict(config),
                    provenance=run_provenance,
                    clips={split: store.count(split)
                           for split in ("train", "val")}, epochs=rows)

    per_epoch = config.steps_per_epoch * config.batch_size
    rows = fit_run(
        run, model, variables, state, config, record,
        lambda epoch: make_dataset(store, "train", config.batch_size,
                                   seed=config.seed,
                                   start_example=epoch * per_epoch),
        make_dataset(store, "val", config.batch_size, shuffle=False,
                     repeat=False),
        constants=constant_fields(prior_baseline(store, "val")),
        verbose=verbose, log=log)
    save_model_weights(student,
                       run.folder / f"{config.model}_last.weights.h5")
    model.load_weights(run.checkpoints / "best.weights.h5")
    save_model_weights(student, run.folder / f"{config.model}.weights.h5")
    return rows
