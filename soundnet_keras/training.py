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

import csv
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

from .specs import frame_times, output_length
from .targets import TargetStore, make_dataset
from .weights import load_into, read_weights, write_weights

HISTORY_FIELDS = ("epoch", "train_kl", "val_kl", "train_objects_agreement",
                  "train_places_agreement", "val_objects_agreement",
                  "val_places_agreement", "lr", "time_s")


@dataclasses.dataclass
class DistillConfig:
    """Hyper-parameters of a run; defaults are the paper's."""
    model: str = "snf"              # snf, snr (GRU) or snr_lstm
    activation: str = "tanh"        # SN-F's fc layers
    batch_norm: bool = True         # SN-R's batch norm
    epochs: int = 300
    steps_per_epoch: int = 160
    batch_size: int = 64
    learning_rate: float = 1e-3
    lr_factor: float = 0.9
    lr_patience: int = 5
    seed: int = 0
    init_from_soundnet8: bool = False  # extension: conv1-conv5 from SoundNet-8
    clipnorm: float = None          # deviation: gradient-norm clipping
    rnn_activation: str = "relu"    # SN-R's recurrent cells (the paper: ReLU)


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
    """The student's head logits at the labelled frames."""
    logits = [student.get_layer(n).output for n in ("output", "output_2")]
    outputs = [GatherFrames(frames, name=name)(x)
               for name, x in zip(("objects", "places"), logits)]
    return keras.Model(student.input, outputs, name=f"{student.name}_distill")


def save_model_weights(model, path):
    """Writes a model's weights in this package's by-layer-name format."""
    variables = {layer.name: {v.path.split("/")[-1]: np.asarray(v)
                              for v in layer.weights}
                 for layer in model.layers if layer.weights}
    return write_weights(path, variables)


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


class _Checkpoint:
    """Weights, optimizer variables and schedule state of the last epoch."""

    def __init__(self, folder):
        self.folder = Path(folder)

    @property
    def exists(self):
        return (self.folder / "state.json").exists()

    def save(self, student, optimizer, state):
        self.folder.mkdir(parents=True, exist_ok=True)
        save_model_weights(student, self.folder / "student.weights.h5")
        tmp = self.folder / "optimizer.part.npz"
        np.savez(tmp, *[np.asarray(v) for v in optimizer.variables])
        os.replace(tmp, self.folder / "optimizer.npz")
        tmp = self.folder / "state.part.json"
        tmp.write_text(json.dumps(state, indent=2))
        os.replace(tmp, self.folder / "state.json")  # written last

    def restore(self, student, optimizer):
        state = json.loads((self.folder / "state.json").read_text())
        load_into(student, self.folder / "student.weights.h5")
        optimizer.build(student.trainable_variables)
        stored = np.load(self.folder / "optimizer.npz")
        for i, var in enumerate(optimizer.variables):
            var.assign(stored[f"arr_{i}"])
        return state


def _write_history(out_dir, config, rows, provenance):
    record = dict(config=dataclasses.asdict(config), provenance=provenance,
                  epochs=rows)
    tmp = out_dir / "history.part.json"
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, out_dir / "history.json")
    with open(out_dir / "history.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, HISTORY_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def provenance(command=None):
    """Command, commit (and whether the checkout had uncommitted changes),
    date and machine of a run or a measurement."""
    import datetime
    import platform
    import subprocess
    import sys

    def git(*args):
        try:
            return subprocess.run(["git", *args], capture_output=True,
                                  text=True, check=True,
                                  cwd=Path(__file__).parent).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    return dict(command=command or " ".join(sys.argv),
                commit=git("rev-parse", "HEAD") or None,
                dirty=bool(git("status", "--porcelain",
                               "--untracked-files=no")),
                date=datetime.datetime.now(datetime.timezone.utc).isoformat(
                    timespec="seconds"),
                machine=dict(platform=platform.platform(),
                             processor=platform.processor()
                             or platform.machine(),
                             cpus=os.cpu_count(),
                             python=platform.python_version(),
                             tensorflow=tf.__version__))


def train(targets_dir, out_dir, config=None, strategy=None, verbose=1,
          log=print):
    """Trains a SoundNet variant on stored targets; resumes if interrupted.

    Args:
        targets_dir: a folder written by :func:`soundnet_keras.targets.write_targets`.
        out_dir: the run's folder: ``history.json``, ``history.csv``,
            ``config.json``, ``checkpoint/`` and, at the end,
            ``<model>.weights.h5``.
        config: a :class:`DistillConfig`.
        strategy: a ``tf.distribute`` strategy (default :func:`default_strategy`).
        verbose: Keras' progress output per epoch (0, 1 or 2).
        log: a function taking progress messages (``None`` for silence).

    Returns:
        The list of per-epoch history rows.
    """
    config = config or DistillConfig()
    log = log or (lambda *_: None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config_path = out_dir / "config.json"
    if config_path.exists():  # resuming: only `epochs` may change
        saved = json.loads(config_path.read_text())
        if {**saved, "epochs": config.epochs} != dataclasses.asdict(config):
            raise ValueError(
                f"{out_dir} holds a run with another config ({saved}); "
                "use a new folder, or the same config to resume")
    config_path.write_text(json.dumps(dataclasses.asdict(config), indent=2))
    store = TargetStore(targets_dir)
    keras.utils.set_random_seed(config.seed)
    strategy = strategy or default_strategy()
    with strategy.scope():
        student = build_student(config)
        clip = int(store.meta["clip_seconds"] * store.meta["student_rate"])
        frames = label_frames(config.model, clip, store.target_times)
        model = distillation_model(student, frames)
        optimizer = keras.optimizers.Adam(config.learning_rate,
                                          clipnorm=config.clipnorm)
        model.compile(optimizer=optimizer, loss=[kl_divergence] * 2,
                      metrics=[[agreement], [agreement]])
        if config.init_from_soundnet8:
            from .weights import resolve_weights
            path = resolve_weights("soundnet8_flickr", model="soundnet8")
            load_into(student, path, layers=[
                l.name for l in student.layers if l.name.startswith(
                    ("conv1", "conv2", "conv3", "conv4", "conv5"))])
    checkpoint = _Checkpoint(out_dir / "checkpoint")
    state = dict(epoch=0, lr=config.learning_rate, best=math.inf, wait=0)
    rows = []
    if checkpoint.exists:
        with strategy.scope():
            state = checkpoint.restore(student, optimizer)
        rows = json.loads((out_dir / "history.json").read_text())["epochs"]
        rows = rows[:state["epoch"]]
        log(f"Resuming {out_dir} after epoch {state['epoch']}.")
    run_provenance = provenance()
    val = make_dataset(store, "val", config.batch_size, shuffle=False,
                       repeat=False)
    per_epoch = config.steps_per_epoch * config.batch_size
    while state["epoch"] < config.epochs:
        epoch = state["epoch"]
        optimizer.learning_rate.assign(state["lr"])
        start = time.perf_counter()
        train_ds = make_dataset(store, "train", config.batch_size,
                                seed=config.seed,
                                start_example=epoch * per_epoch)
        fit = model.fit(train_ds, steps_per_epoch=config.steps_per_epoch,
                        epochs=1, shuffle=False, verbose=verbose).history
        scores = model.evaluate(val, return_dict=True, verbose=0)
        row = dict(epoch=epoch + 1, train_kl=fit["loss"][-1],
                   val_kl=scores["loss"],
                   train_objects_agreement=fit["objects_agreement"][-1],
                   train_places_agreement=fit["places_agreement"][-1],
                   val_objects_agreement=scores["objects_agreement"],
                   val_places_agreement=scores["places_agreement"],
                   lr=state["lr"], time_s=time.perf_counter() - start)
        if not all(math.isfinite(row[k]) for k in ("train_kl", "val_kl")):
            raise FloatingPointError(
                f"epoch {epoch + 1}: loss is not finite ({row}); the last "
                f"good checkpoint is kept in {checkpoint.folder}")
        rows.append(row)
        # lr x factor when the minimum validation loss has not improved for
        # `lr_patience` epochs (Keras' ReduceLROnPlateau, min_delta 0).
        if row["val_kl"] < state["best"]:
            state["best"], state["wait"] = row["val_kl"], 0
        else:
            state["wait"] += 1
            if state["wait"] >= config.lr_patience:
                state["lr"] *= config.lr_factor
                state["wait"] = 0
        state["epoch"] = epoch + 1
        checkpoint.save(student, optimizer, state)
        _write_history(out_dir, config, rows, run_provenance)
        log(f"epoch {epoch + 1}/{config.epochs}: train KL "
            f"{row['train_kl']:.4f}, val KL {row['val_kl']:.4f}, lr "
            f"{row['lr']:.3g}, {row['time_s']:.0f} s")
    save_model_weights(student, out_dir / f"{config.model}.weights.h5")
    return rows
