"""Training the CTC-RNN (Wang & Metze 2017, Section 3.2): the loop.

The pieces: :mod:`sed.config` (the config and its defaults),
:mod:`sed.dataset` (from a corpus to chunks and minibatches, and the TER),
:mod:`sed.loss` (the loss and the SGD step), :mod:`sed.lstm` (the
network's engine) and :mod:`soundnet_keras.runs` (the run folder).

The recipe (:data:`DEFAULTS`, the paper's values; its cell is discussed
below):

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
  optimizer variables, schedule state, epoch and the history rows) and the
  history (``history.json``, ``history.csv``, with the config and the
  provenance), through :class:`soundnet_keras.runs.RunFolder`: a process
  killed at any moment and started again with the same command gives the
  history and weights of an uninterrupted run.
* Optionally (``training.pretrain_epochs`` > 0, for low-level features as
  in the paper's Section 4.2), the BiLSTM is first trained as a frame-wise
  event classifier (:mod:`sed.pretrain`) and CTC training starts from its
  weights.
* For the analysis of the "warm-up" (the epochs in which the network
  outputs only blanks), every row holds, per split, the substitutions,
  deletions, insertions, reference and decoded token counts, and per
  training step the loss (``step_loss``) and the share of valid frames
  whose best-path token is not blank (``step_nonblank``).
* With ``training.patience`` (the paper gives none; Table 4's runs use 15,
  three learning-rate decays), a run stops early once its validation TER
  has not improved (strictly) for that many epochs; the history says why
  and when it stopped (``finished``: ``reason`` ``"patience"`` or
  ``"epochs"``, ``epoch``, ``best_epoch``, ``target_epochs``).
* At every epoch whose validation TER is the best so far, the run keeps
  that epoch's weights (``best.weights.h5``) and its test split's outcome
  (``best_test.json``, :func:`split_outcome`): per recording the token
  errors and the decoded events, and the reference events, from which every
  test metric at the best validation epoch is computed afterwards.
* A loss, gradient norm or network output that is not finite stops the run
  with :class:`TrainingDiverged`; the checkpoint of the last finished epoch
  is kept. (The outputs are checked too: ``sed.ctc.ctc_loss`` maps a NaN
  log-likelihood to its finite ``INFEASIBLE_LOSS``.)

The network's cell (``net.activation``): the paper's "LSTM with the ReLU
non-linearity" is read as ReLU on the cell input with the usual output
``o * tanh(c)`` (``"relu_g"``, the default): it trains at the paper's lr 3.0
without clipping in the probes of ``benchmarks/lr_divergence.py``, while
ReLU on the cell input *and* output (``"relu"``, Keras' single
``activation``) gives NaN at the second step. :data:`TANH_CLIPPED` is the
variant the first experiments used (tanh, gradient norm clipped at 1).
Why ReLU on both diverges, and what does not fix it: the docstring of
``benchmarks/lr_divergence.py``.
"""

import json
import math
import os
import time
import types
from pathlib import Path

import keras
import numpy as np

from soundnet_keras.runs import (RunError, RunFolder, exit_point,
                                 named_variables, read_yaml)
from soundnet_keras.stores import save_weights, write_text

from .config import (DEFAULTS, RESUMABLE_CHANGES, TANH_CLIPPED, comparable,
                     load_config, resolve_config)
from .dataset import (LABEL_QUANTUM, SPLITS, Chunk, Recording, batch_order,
                      chunk_recordings, data_fingerprint,
                      decode_recordings, feasible_chunks,
                      make_batch, make_recording, prepare_features,
                      recording_errors, recording_ter)
from .loss import (TrainingDiverged, frame_loss, make_optimizer,
                   make_train_step)
from .metrics import score_text, token_errors

#: The per-split token counts of each history row (``<split>_<count>``).
COUNTS = ("substitutions", "deletions", "insertions", "reference_tokens",
          "decoded_tokens")

#: The columns of ``history.csv``; ``history.json`` holds also the
#: per-step lists ``step_loss`` and ``step_nonblank``.
HISTORY_FIELDS = ("epoch", "train_loss", "train_ter", "val_ter", "test_ter",
                  "lr", "grad_norm_mean", "grad_norm_max", "steps",
                  "train_s", "time_s", "nonblank_mean",
                  *[f"{split}_{count}" for split in SPLITS
                    for count in COUNTS])


def _write_config(out_dir, config, force=False, run=None):
    """``config.yaml``; refuses a folder holding another config (but the
    keys of :data:`sed.config.RESUMABLE_CHANGES`) unless ``force``, then
    one made from other inputs (``run.check_identity``), before writing."""
    import yaml
    path = Path(out_dir) / "config.yaml"
    if path.is_file() and not force:
        saved = resolve_config(read_yaml(path), source=str(path))
        if comparable(saved) != comparable(config):
            changed = sorted(f"{section}.{key}" for section in config
                             for key in config[section]
                             if comparable(saved)[section].get(key) !=
                             comparable(config)[section].get(key)
                             and key not in RESUMABLE_CHANGES)
            raise RunError(
                f"{out_dir} holds a run with another config (see its "
                f"config.yaml; differs in {', '.join(changed)}); use a new "
                "folder, or the same config to resume (only training."
                f"{', training.'.join(RESUMABLE_CHANGES)} may change)")
    if run is not None:
        run.check_identity()
    write_text(path, yaml.safe_dump(config, sort_keys=False))


def _schedule(opt, optimizer):
    """Keras' ReduceLROnPlateau on the validation TER (min_delta 0: an
    improvement is a strictly lower TER), driving ``optimizer``."""
    schedule = keras.callbacks.ReduceLROnPlateau(
        monitor="val_ter", mode="min", factor=float(opt["lr_factor"]),
        patience=int(opt["lr_patience"]), min_delta=0.0, verbose=0)
    schedule.set_model(types.SimpleNamespace(optimizer=optimizer))
    schedule.on_train_begin()
    return schedule


_SCHEDULE_STATE = ("best", "wait", "cooldown_counter")


def finished(rows, epochs, patience=None):
    """Why a run with these history rows is done, or None.

    Returns:
        None while it goes on, else a dict: ``reason`` (``"patience"``: the
        validation TER has not improved, strictly, for ``patience`` epochs;
        ``"epochs"``: ``epochs`` reached), ``epoch`` (the last epoch
        trained), ``best_epoch`` (of the lowest validation TER, the first
        if tied; None without one) and ``target_epochs``.

    Example:
        >>> rows = [dict(epoch=1, val_ter=0.9), dict(epoch=2, val_ter=0.8),
        ...         dict(epoch=3, val_ter=0.8), dict(epoch=4, val_ter=0.85)]
        >>> finished(rows, 200, patience=2)["reason"]
        'patience'
        >>> finished(rows, 4), finished(rows, 200, patience=3)
        ({'reason': 'epochs', 'epoch': 4, 'best_epoch': 2, 'target_epochs': 4}, None)
    """
    scored = [r for r in rows if r.get("val_ter") is not None]
    best = min(scored, key=lambda r: r["val_ter"])["epoch"] if scored \
        else None
    last = rows[-1]["epoch"] if rows else 0
    if patience is not None and best is not None and \
            last - best >= int(patience):
        reason = "patience"
    elif len(rows) >= int(epochs):
        reason = "epochs"
    else:
        return None
    return dict(reason=reason, epoch=last, best_epoch=best,
                target_epochs=int(epochs))


def split_outcome(recordings, decoded, classes, reference=None):
    """The test split's outcome at one epoch (what ``best_test.json`` holds).

    Args:
        recordings: the :class:`Recording` list of the split.
        decoded: their best-path ``(tokens, frames)``.
        classes: the event labels in corpus order.
        reference: the split's annotated events (``filename, onset, offset,
            event_label``), or None.

    Returns:
        A dict: ``recordings``, one dict per recording (``filename`` and
        the token counts of :func:`sed.metrics.token_errors`);
        ``estimated`` and ``reference``, lists of ``[filename, onset,
        offset, event_label]`` (the decoded events; the annotation).
    """
    from .tokens import tokens_to_events
    out = dict(recordings=[], estimated=[], reference=[])
    for rec, (tokens, frames) in zip(recordings, decoded):
        counts = token_errors([rec.tokens], [tokens])
        counts.pop("ter")
        out["recordings"].append(dict(filename=rec.filename, **counts))
        events = tokens_to_events(tokens, frames, list(classes),
                                  rec.times[:max(len(rec.times), 1)])
        out["estimated"] += [[rec.filename, round(float(e.onset), 4),
                              round(float(e.offset), 4), e.event_label]
                             for e in events.itertuples()]
    if reference is not None:
        out["reference"] = [[str(e.filename), round(float(e.onset), 4),
                             round(float(e.offset), 4), str(e.event_label)]
                            for e in reference.itertuples()]
    return out


def fit(model, data, out_dir, config=None, log=print, provenance=None,
        on_epoch=None, classes=None, reference=None):
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
            :func:`soundnet_keras.provenance.provenance`).
        on_epoch: called with each new history row, after its checkpoint
            and history are written.
        classes: the event labels (default ``"0"``, ``"1"``, ...), for the
            decoded events of ``best_test.json``.
        reference: the test split's annotated events, for
            ``best_test.json`` (:func:`split_outcome`).

    Returns:
        The list of per-epoch history rows (:data:`HISTORY_FIELDS` and the
        per-step lists): ``train_loss`` is the mean of the epoch's minibatch
        losses (nats per frame), ``*_ter`` the token error rates after the
        epoch (None for a split without reference tokens), ``lr`` the rate
        used in the epoch, ``grad_norm_*`` the global gradient norms before
        any clipping, ``nonblank_mean`` the mean of ``step_nonblank``,
        ``train_s`` and ``time_s`` the wall time of the training steps and
        of the whole epoch with evaluation.

    Raises:
        TrainingDiverged: on a non-finite loss, gradient norm or output;
            the last finished epoch's checkpoint is kept.
        soundnet_keras.runs.RunError: when ``out_dir`` holds a run with
            another config, is in use by another process, or its checkpoint
            cannot be restored.
    """
    from soundnet_keras.provenance import provenance as run_provenance
    cfg = resolve_config(config)
    opt, tr = cfg["opt"], cfg["training"]
    show_progress = bool(tr["progress"]) and log is not None
    log = log or (lambda *_: None)
    out_dir = Path(out_dir)
    with RunFolder(out_dir, HISTORY_FIELDS,
                   target=int(cfg["training"]["epochs"])) as run:
        _write_config(out_dir, cfg)
        return _fit(model, data, run, cfg, log, show_progress,
                    provenance or run_provenance(), on_epoch, classes,
                    reference)


def _fit(model, data, run, cfg, log, show_progress, prov, on_epoch,
         classes=None, reference=None):
    opt, tr = cfg["opt"], cfg["training"]
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
    label_width = max(1, -(-longest // LABEL_QUANTUM) * LABEL_QUANTUM)
    if not feasible.all():
        log(f"{int((~feasible).sum())} of {len(chunks)} training chunks "
            "have tokens no alignment fits; they are left out of the loss")

    optimizer = make_optimizer(opt)
    optimizer.build(model.trainable_variables)
    schedule = _schedule(opt, optimizer)
    step = make_train_step(model, optimizer, tolerance, tr["jit_compile"])
    variables = named_variables(model=model, optimizer=optimizer)
    extra = dict(training_chunks=len(chunks),
                 infeasible_chunks=int((~feasible).sum()),
                 ter="best-path decoding of whole recordings")

    epochs, patience = int(tr["epochs"]), tr["patience"]
    classes = [str(c) for c in (classes if classes is not None
                                else range(model.n_classes))]

    def record(rows, **more):
        done = finished(rows, epochs, patience)
        return dict(config=cfg, provenance=prov, **extra, **more,
                    **({"finished": done} if done else {}), epochs=rows)

    state = run.restore(variables)
    if state is None and int(tr["pretrain_epochs"]):
        from .pretrain import pretrain
        classifier = pretrain(data, run.folder / "pretrain", cfg,
                              model.n_classes, model.input_dim, log)
        for mine, theirs in zip(model.blstm.weights,
                                classifier.blstm.weights):
            mine.assign(theirs)
        log(f"The BiLSTM starts from the frame-wise classifier of "
            f"{run.folder / 'pretrain'}.")
    rows = []
    if state is not None:
        rows = state["rows"]
        for key in _SCHEDULE_STATE:
            setattr(schedule, key, state["schedule"][key])
        run.write_history(record(rows))
        log(f"Resuming {run.folder} after epoch {len(rows)}.")
    for epoch in range(len(rows), epochs):
        if finished(rows, epochs, patience):
            break
        lr = float(optimizer.learning_rate)
        start = time.perf_counter()
        losses, norms, nonblank = [], [], []
        batches = batch_order(len(chunks), batch_size, tr["seed"], epoch)
        bar = _progress(batches, f"epoch {epoch + 1}/{epochs}",
                        show_progress)
        for number, indices in enumerate(bar, 1):
            batch = make_batch(train_recs, [chunks[i] for i in indices],
                               frames_per_chunk, batch_size, label_width)
            weights = np.zeros(batch_size, np.float32)
            weights[:len(indices)] = feasible[indices]
            loss, norm, finite, share = step(
                batch["features"], batch["lengths"], batch["labels"],
                batch["label_length"], batch["label_frames"], weights)
            loss, norm = float(loss), float(norm)
            if not (math.isfinite(loss) and math.isfinite(norm)
                    and bool(finite)):
                message = (
                    f"Training diverged in epoch {epoch + 1}, step {number}:"
                    f" loss {loss}, gradient norm {norm}, network outputs "
                    f"{'finite' if bool(finite) else 'not finite'}, lr "
                    f"{lr:g}. "
                    + (f"The checkpoint after epoch {epoch} is kept in "
                       f"{run.checkpoints}." if rows else
                       "No checkpoint had been written yet."))
                run.write_history(record(rows, stopped=message))
                raise TrainingDiverged(message)
            losses.append(loss)
            norms.append(norm)
            nonblank.append(float(share))
        train_s = time.perf_counter() - start
        exit_point("trained", epoch + 1)
        row = dict(epoch=epoch + 1, train_loss=float(np.mean(losses)))
        decoded = {}
        for split in SPLITS:
            recs = data.get(split, [])
            decoded[split] = decode_recordings(
                model, recs, frames_per_chunk) if recs else []
            counts = token_errors([r.tokens for r in recs],
                                  [t for t, _ in decoded[split]]) \
                if recs else dict.fromkeys(COUNTS, 0, ) | dict(ter=None)
            row[f"{split}_ter"] = counts["ter"]
            row.update({f"{split}_{k}": int(counts[k]) for k in COUNTS})
        row.update(lr=lr, grad_norm_mean=float(np.mean(norms)),
                   grad_norm_max=float(np.max(norms)), steps=len(batches),
                   train_s=train_s, nonblank_mean=float(np.mean(nonblank)),
                   step_loss=losses, step_nonblank=nonblank,
                   time_s=time.perf_counter() - start)
        best = [r["val_ter"] for r in rows if r.get("val_ter") is not None]
        if row["val_ter"] is not None and (not best or
                                           row["val_ter"] < min(best)):
            _keep_best(run.folder, model, row, split_outcome(
                data.get("test", []), decoded["test"], classes, reference))
        rows.append(row)
        if row["val_ter"] is not None:
            schedule.on_epoch_end(epoch, {"val_ter": row["val_ter"]})
        state = dict(epoch=epoch + 1, rows=rows, schedule={
            key: None if getattr(schedule, key) is None else
            float(getattr(schedule, key)) for key in _SCHEDULE_STATE})
        run.commit(variables, state, record(rows))
        log(_epoch_line(row, epochs))
        if on_epoch is not None:
            on_epoch(row)
    save_weights(model, run.folder / "model.weights.h5")
    return rows


def _keep_best(folder, model, row, outcome):
    """Writes the best epoch's weights and ``best_test.json``."""
    save_weights(model, folder / "best.weights.h5")
    write_text(folder / "best_test.json", json.dumps(dict(
        epoch=row["epoch"], val_ter=row["val_ter"], test_ter=row["test_ter"],
        **outcome)))


def _epoch_line(row, epochs):
    return (f"epoch {row['epoch']}/{epochs}: loss {row['train_loss']:.4f}, "
            f"TER train {score_text(row['train_ter'])} val "
            f"{score_text(row['val_ter'])} test {score_text(row['test_ter'])}"
            f", lr {row['lr']:.3g}, |g| "
            f"{row['grad_norm_mean']:.3g} (max {row['grad_norm_max']:.3g}), "
            f"non-blank {row['nonblank_mean']:.3f}, {row['time_s']:.1f} s")


def _progress(items, desc, enabled):
    import sys
    from tqdm.auto import tqdm
    return tqdm(items, desc=desc, unit="batch", leave=False,
                disable=not enabled, file=sys.stderr)


# --------------------------------------------------------------------------
# From a corpus on disk.

def run_identity(config, fingerprint):
    """A detector run's identity (:mod:`soundnet_keras.identity`): its
    config (less what a resume may change) and its data (the corpus, its
    features and their normaliser: :func:`sed.dataset.data_fingerprint`)."""
    from soundnet_keras.identity import identity
    return identity(config=comparable(resolve_config(config)),
                    data=fingerprint)


def train(config, log=print, on_epoch=None, force=False):
    """Trains a CTC-RNN on a corpus as a config says; resumes if interrupted.

    Featurises the corpus (cached), writes the run folder
    ``training.out`` (see :func:`fit`, plus ``detector.json`` and
    ``features/``, what :func:`sed.detector.load_detector` needs to featurise
    new audio), builds :class:`sed.CTCRNN` and trains it.

    Args:
        config: a config dict or the path to a YAML file.
        log: a function taking progress messages (None for silence).
        on_epoch: called with each new history row (see :func:`fit`).
        force: resume a run folder of another identity (another config,
            corpus, features or normaliser) with this one.

    Returns:
        The list of per-epoch history rows.

    Raises:
        soundnet_keras.runs.RunError: besides :func:`fit`'s cases, when the
            run folder holds a run of another identity (:func:`run_identity`:
            another config, corpus, features or normaliser; nothing in it
            is replaced) unless ``force``.
    """
    from soundnet_keras.provenance import provenance as run_provenance

    from .detector import save_detector
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
                   activation=net["activation"], relu_max=net["relu_max"],
                   glorot=net["glorot"])
    fingerprint = data_fingerprint(data)
    show_progress = bool(tr["progress"]) and log is not None
    with RunFolder(out_dir, HISTORY_FIELDS, run_identity(cfg, fingerprint),
                   target=int(tr["epochs"]),
                   force=force) as run:
        _write_config(out_dir, cfg, force, run)
        save_detector(out_dir, model, corpus.classes, extractor, normaliser,
                      cfg, data_fingerprint=fingerprint)
        return _fit(model, data, run, cfg, log or (lambda *_: None),
                    show_progress, run_provenance(), on_epoch,
                    corpus.classes, corpus.events("test"))


__all__ = ["COUNTS", "Chunk", "DEFAULTS", "HISTORY_FIELDS", "Recording",
           "TANH_CLIPPED", "TrainingDiverged", "batch_order",
           "finished", "split_outcome",
           "chunk_recordings", "decode_recordings", "feasible_chunks", "fit",
           "frame_loss", "load_config", "make_batch", "make_optimizer",
           "run_identity",
           "make_recording", "make_train_step", "prepare_features",
           "recording_errors", "recording_ter", "resolve_config", "train"]
