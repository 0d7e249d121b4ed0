"""Pretrained-trunk students: SN-F / SN-R upper layers on cached pool5 features.

A documented deviation from the paper, which trains the whole student from
scratch: the students keep Table 2 / 3's exact shapes at 16 kHz, but conv1-conv5
are SoundNet-8's released weights, frozen (batch norm in inference mode). Their
pool5 features are computed once per clip and cached; only the upper layers
(fc1-fc3, or gru1-gru3 with batch norm) and the two heads are trained, with
Keras' ``fit``: Adam, ``ReduceLROnPlateau`` (x0.9, patience 5, ``min_delta`` 0),
``TerminateOnNaN``, checkpoints and history through the project's run folder
(:class:`soundnet_keras.runs.RunFolder`, as for distillation: the same call
resumes exactly, also after a kill at any moment), the weights of the best
validation epoch in ``checkpoint/best.weights.h5``. Each epoch also
records the evidence: validation KL per head, the best constant student's KL on
the same clips, and top-1 agreement of both heads (and of the constant prior)
with the teacher.

Cache layout (``cache_features``):

    <dir>/meta.json               targets folder, trunk weights sha256, frames
    <dir>/<split>/pool5.npy       float16 (n, frames, 256), in clips.csv order

Example:
    >>> cache_features("targets", "pool5")  # doctest: +SKIP
    >>> train_trunk("pool5", "runs/snf_trunk", TrunkConfig(model="snf"))  # doctest: +SKIP
"""

import dataclasses
import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from .builder import build
from .specs import get_spec, output_length, snf_spec, snr_spec
from .targets import TargetStore, constant_student
from .runs import RunError, RunFolder, positional_variables
from .stores import atomic_file, write_text
from .training import (HISTORY_FIELDS, GatherFrames, StudentConfig,
                       _write_config, agreement, build_student,
                       constant_fields, fit_run, kl_divergence, label_frames,
                       provenance, save_model_weights)
from .weights import load_into, resolve_weights, sha256

TRUNK_LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5")
FEATURE_LAYER = "pool5"


@dataclasses.dataclass
class TrunkConfig(StudentConfig):
    """Hyper-parameters of a pretrained-trunk run (those of
    :class:`soundnet_keras.training.StudentConfig`); the paper's SN-F ran
    175 epochs, SN-R 300."""
    epochs: int = 175


def student_spec(config):
    """The full student's spec (Table 2 or 3) of a :class:`TrunkConfig`."""
    if config.model == "snf":
        return snf_spec(config.activation)
    if config.model in ("snr", "snr_lstm"):
        return snr_spec("gru" if config.model == "snr" else "lstm",
                        config.batch_norm, config.rnn_activation)
    raise ValueError(f"model must be 'snf', 'snr' or 'snr_lstm'. Received: "
                     f"model={config.model!r}")


def _split_rows(spec):
    rows = spec["layers"]
    cut = [r["name"] for r in rows].index(FEATURE_LAYER) + 1
    return rows[:cut], rows[cut:]


def trunk_model(weights="soundnet8_flickr"):
    """conv1-pool5 of SN-F / SN-R (16 kHz), conv1-conv5 from SoundNet-8.

    Example:
        >>> trunk_model(weights=None).output.shape
        (None, None, 256)
    """
    trunk, _ = _split_rows(snf_spec())
    model = build(dict(name="trunk", sample_rate=16000, layers=trunk),
                  include_top=False, name="trunk")
    path = resolve_weights(weights, model="soundnet8")
    if path is not None:
        load_into(model, path, layers=[l.name for l in model.layers
                                       if l.name.startswith(TRUNK_LAYERS)])
    model.trainable = False
    return model


def cache_features(targets_dir, out_dir, batch_size=16, weights="soundnet8_flickr",
                   progress=True):
    """Computes the frozen trunk's pool5 features of every stored clip once.

    Returns the output folder; a folder already complete is left as it is.
    """
    from tqdm import tqdm
    out_dir = Path(out_dir)
    if (out_dir / "meta.json").exists():
        return out_dir
    store = TargetStore(targets_dir)
    clip = int(store.meta["clip_seconds"] * store.meta["student_rate"])
    frames = output_length("snf", FEATURE_LAYER, clip)
    model = trunk_model(weights)
    run = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    from .audio import preprocess_input
    counts = {}
    for split in ("train", "val"):
        n = store.count(split)
        counts[split] = n
        with atomic_file(out_dir / split / "pool5.npy") as part:
            out = np.lib.format.open_memmap(part, "w+", np.float16,
                                            (n, frames, 256))
            for start in tqdm(range(0, n, batch_size),
                              desc=f"pool5 {split}", disable=not progress):
                stop = min(n, start + batch_size)
                audio = np.stack([store.get(split, i)[0]
                                  for i in range(start, stop)])
                out[start:stop] = np.asarray(run(tf.constant(
                    preprocess_input(audio)[..., None])), np.float16)
            out.flush()
            del out
    path = resolve_weights(weights, model="soundnet8")
    meta = dict(targets=str(Path(targets_dir).resolve()), layer=FEATURE_LAYER,
                frames=frames, dtype="float16", counts=counts,
                target_times_s=store.meta["target_times_s"],
                alignment=store.meta.get("alignment", "paper"),
                trunk_weights=None if weights is None else str(weights),
                trunk_weights_sha256=sha256(path) if path else None,
                provenance=provenance())
    write_text(out_dir / "meta.json", json.dumps(meta, indent=2) + "\n")
    return out_dir


def _cache_meta(features_dir):
    """The feature cache's ``meta.json``; FileNotFoundError naming the fix
    where there is none."""
    path = Path(features_dir) / "meta.json"
    if not path.exists():
        raise FileNotFoundError(
            f"No cached features at {features_dir} (meta.json missing); make "
            "them with `soundnet-keras train-trunk --targets DIR`")
    return json.loads(path.read_text())


def load_cache(features_dir, split):
    """``(pool5 float16 (n, T, 256), objects (n, K, 1000), places (n, K, 401))``
    of one split, in memory."""
    features_dir = Path(features_dir)
    meta = _cache_meta(features_dir)
    store = TargetStore(meta["targets"])
    x = np.load(features_dir / split / "pool5.npy")
    objects, places = store.targets(split)
    return x, objects, places


def distillation_model(config, frames):
    """pool5 features -> the heads' logits at the labelled ``frames``.

    Per-frame layers (SN-F) read the labelled frames only; recurrent layers
    (SN-R) read the whole sequence and are gathered after. The layers carry
    the full student's names, so :func:`assemble_student` can copy them.
    """
    _, upper = _split_rows(student_spec(config))
    body = [r for r in upper if r["kind"] != "head"]
    inputs = keras.Input((None, 256), name=FEATURE_LAYER)
    top = build(dict(name="upper", sample_rate=16000, layers=tuple(body)),
                include_top=False, input_shape=(None, 256), name="upper")
    if any(r["kind"] == "rnn" for r in body):
        x = GatherFrames(frames, name="labelled")(top(inputs))
    else:
        x = top(GatherFrames(frames, name="labelled")(inputs))
    outputs = {head: keras.layers.Dense(width, name=name)(x) for head, width,
               name in (("objects", 1000, "output"),
                        ("places", 401, "output_2"))}
    return keras.Model(inputs, outputs, name=f"{config.model}_trunk_distill")


def assemble_student(config, model, weights="soundnet8_flickr"):
    """The full student (waveform in) with the trunk and trained upper layers."""
    student = build_student(config)
    trunk = trunk_model(weights)
    trained = [l for l in trunk.layers + model.get_layer("upper").layers +
               model.layers if l.weights and not isinstance(l, keras.Model)]
    for layer in trained:
        student.get_layer(layer.name).set_weights(layer.get_weights())
    return student


def _batches(x, objects, places, batch_size, seed, start_batch):
    """Minibatches numbered from ``start_batch``; the order is a function of
    the batch number alone (a seeded permutation per pass over the clips)."""
    n = len(x)

    def load(b):
        first = int(b) * batch_size
        idx = np.empty(batch_size, np.int64)
        for k, i in enumerate(range(first, first + batch_size)):
            pass_no, pos = divmod(i, n)
            idx[k] = np.random.default_rng([seed, pass_no]).permutation(n)[pos]
        return (x[idx].astype(np.float32), objects[idx], places[idx])

    def mapped(b):
        a, o, p = tf.numpy_function(load, [b], (tf.float32,) * 3)
        a.set_shape((batch_size,) + x.shape[1:])
        o.set_shape((batch_size,) + objects.shape[1:])
        p.set_shape((batch_size,) + places.shape[1:])
        return a, {"objects": o, "places": p}

    return (tf.data.Dataset.range(start_batch, np.iinfo(np.int64).max)
            .map(mapped).prefetch(2))


def evaluate(model, x, objects, places, batch_size=64):
    """KL (nats per labelled frame) and top-1 agreement of each head with the
    teacher, over all of ``x``.

    Returns:
        ``dict(kl, objects_kl, places_kl, objects_agreement,
        places_agreement)``.
    """
    logits = model.predict(x, batch_size=batch_size, verbose=0)
    out = {}
    for head, p in (("objects", objects), ("places", places)):
        z = np.asarray(logits[head], np.float64)
        z = z - z.max(-1, keepdims=True)
        log_q = z - np.log(np.exp(z).sum(-1, keepdims=True))
        p = np.asarray(p, np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1)) - log_q),
                          0).sum(-1)
        out[f"{head}_kl"] = float(kl.mean())
        out[f"{head}_agreement"] = float(
            (p.argmax(-1) == z.argmax(-1)).mean())
    out["kl"] = out["objects_kl"] + out["places_kl"]
    return out


def evaluate_run(features_dir, run_dir, weights="best", split="val"):
    """:func:`evaluate` of a run's ``best`` (lowest validation KL) or
    ``last`` (latest checkpoint) weights on a split of the cached features,
    with the constant student beside it.

    Returns:
        ``dict(student=..., constant=...)``, each as :func:`evaluate`.
    """
    run_dir = Path(run_dir)
    config = TrunkConfig(**json.loads((run_dir / "config.json").read_text()))
    meta = json.loads((Path(features_dir) / "meta.json").read_text())
    clip = int(TargetStore(meta["targets"]).meta["clip_seconds"] * 16000)
    model = distillation_model(config, label_frames(
        get_spec(student_spec(config)), clip, meta["target_times_s"]))
    folder = run_dir / "checkpoint"
    if weights == "best":
        model.load_weights(folder / "best.weights.h5")
    elif weights == "last" and (folder / OLD_LAYOUT[0]).exists():
        model.load_weights(folder / OLD_LAYOUT[0])  # a run not yet migrated
    elif weights == "last":
        if RunFolder(run_dir, HISTORY_FIELDS).restore(
                positional_variables(model), partial=True) is None:
            raise RunError(f"{run_dir} has no checkpoint")
    else:
        raise ValueError(f"weights must be 'best' or 'last'. Received: "
                         f"weights={weights!r}")
    held = load_cache(features_dir, split)
    return dict(student=evaluate(model, *held),
                constant=constant_student(
                    load_cache(features_dir, "train")[1:], held[1:]))


class _Evidence(keras.callbacks.Callback):
    """Adds the validation scores to each epoch's logs (``val_loss`` is the
    validation KL, which ``ReduceLROnPlateau`` reads)."""

    def __init__(self, val, batch_size):
        super().__init__()
        self.val, self.batch_size = val, batch_size

    def on_epoch_end(self, epoch, logs=None):
        scores = evaluate(self.model, *self.val, batch_size=self.batch_size)
        logs.update({f"val_{k}": v for k, v in scores.items()},
                    val_loss=scores["kl"])


#: The checkpoint files of runs written before the trunk used
#: :class:`soundnet_keras.runs.RunFolder` (``best.weights.h5`` is kept).
OLD_LAYOUT = ("model.weights.h5", "optimizer.npz", "state.json")


def _migrate(run, model, optimizer, variables, record, log):
    """Moves a run folder of the old layout (:data:`OLD_LAYOUT`) into a
    :class:`soundnet_keras.runs.RunFolder` checkpoint of the same weights,
    optimizer variables, lr, plateau state and history rows, once."""
    folder = run.checkpoints
    if run.latest is None and (folder / "state.json").exists():
        state = json.loads((folder / "state.json").read_text())
        model.load_weights(folder / OLD_LAYOUT[0])
        stored = np.load(folder / OLD_LAYOUT[1])
        if len(stored.files) != len(optimizer.variables):
            raise RunError(f"{folder / OLD_LAYOUT[1]} holds "
                           f"{len(stored.files)} optimizer variables, the "
                           f"model needs {len(optimizer.variables)}; use "
                           "another run folder")
        for i, var in enumerate(optimizer.variables):
            var.assign(stored[f"arr_{i}"])
        optimizer.learning_rate.assign(state["lr"])
        rows = json.loads((run.folder / "history.json").read_text())[
            "epochs"][:state["epoch"]]
        schedule = dict(best=state["best"], wait=state["wait"],
                        cooldown_counter=state["cooldown"])
        run.commit(variables, dict(epoch=state["epoch"], rows=rows,
                                   schedule=schedule), record(rows))
        log(f"Moved {folder} to the run-folder layout (checkpoint "
            f"ckpt-{state['epoch']}).")
    if run.latest is not None:
        for name in OLD_LAYOUT:
            (folder / name).unlink(missing_ok=True)


def train_trunk(features_dir, out_dir, config=None, verbose=2, log=print,
                force=False):
    """Trains a pretrained-trunk student's upper layers on cached features.

    Checkpoints and history through
    :class:`soundnet_keras.runs.RunFolder`, like
    :func:`soundnet_keras.training.train`: the same call resumes exactly
    (only ``epochs`` may change; a folder of the older layout is moved to
    it first). ``checkpoint/best.weights.h5`` holds the weights of the
    epoch with the lowest validation KL. At the end writes the full student
    (waveform in) of that epoch, ``<model>_trunk.weights.h5``, and of the
    last epoch, ``<model>_trunk_last.weights.h5``; both load with
    ``SoundNetF(weights=path)`` or ``SoundNetR(weights=path)``.

    ``force`` resumes a run folder of another identity (another config,
    feature cache or target store) with this one.

    Returns:
        The list of per-epoch history rows.

    Raises:
        soundnet_keras.runs.RunError: when ``out_dir`` holds a run of
            another identity (config, features or targets) unless
            ``force``, is in use by another process, or its checkpoint is
            damaged.
        FileNotFoundError: when ``features_dir`` holds no cached features
            (nothing is written).
        FloatingPointError: when a value is not finite (the last good
            checkpoint is kept).
    """
    from .identity import files_digest
    from .training import run_identity, store_digest
    config = (config or TrunkConfig()).check()
    log = log or (lambda *_: None)
    out_dir = Path(out_dir)
    meta = _cache_meta(features_dir)
    identity = run_identity(
        config, features=files_digest(Path(features_dir) / "meta.json"),
        targets=store_digest(meta["targets"]))
    with RunFolder(out_dir, HISTORY_FIELDS, identity, force=force,
                   target=config.epochs) as run:
        _write_config(out_dir, config, force, run)
        return _train_trunk(run, Path(features_dir), config, verbose, log)


def _train_trunk(run, features_dir, config, verbose, log):
    train = load_cache(features_dir, "train")
    meta = json.loads((features_dir / "meta.json").read_text())
    val = load_cache(features_dir, "val")
    constant = constant_student(train[1:], val[1:])
    clip = int(TargetStore(meta["targets"]).meta["clip_seconds"] * 16000)
    frames = label_frames(get_spec(student_spec(config)), clip,
                          meta["target_times_s"])
    keras.utils.set_random_seed(config.seed)
    model = distillation_model(config, frames)
    optimizer = keras.optimizers.Adam(config.learning_rate)
    model.compile(optimizer=optimizer,
                  loss={"objects": kl_divergence, "places": kl_divergence},
                  metrics={"objects": [agreement], "places": [agreement]},
                  jit_compile=True)  # XLA: SN-R's step ~5x faster on CPU
    optimizer.build(model.trainable_variables)
    variables = positional_variables(model, optimizer)
    run_provenance = provenance()

    def record(rows):
        return dict(config=dataclasses.asdict(config),
                    provenance=run_provenance, epochs=rows)

    _migrate(run, model, optimizer, variables, record, log)
    state = run.restore(variables)
    rows = fit_run(
        run, model, variables, state, config, record,
        lambda epoch: _batches(*train, config.batch_size, config.seed,
                               epoch * config.steps_per_epoch),
        callbacks=[_Evidence(val, config.batch_size)],
        constants=constant_fields(constant), verbose=verbose, log=log)
    trunk = meta["trunk_weights"]
    save_model_weights(assemble_student(config, model, trunk),
                       run.folder / f"{config.model}_trunk_last.weights.h5")
    model.load_weights(run.checkpoints / "best.weights.h5")
    save_model_weights(assemble_student(config, model, trunk),
                       run.folder / f"{config.model}_trunk.weights.h5")
    return rows
