"""The experiments behind the paper's Table 4: one CTC-RNN per feature layer.

:data:`TABLE4` lists the rows of Table 4 (Wang & Metze 2017): the project's
50-d low-level feature and the openSMILE one, SoundNet-8's conv5, and layers
of the distilled SN-F and SN-R networks, each a feature kind of
:mod:`sed.features` with its feature scaling (the students distilled with
SoundNet-8's trunk; :data:`SCRATCH_ROWS` repeats their rows on the students
trained from scratch, as the paper's were). :func:`run_table4` trains the
detector of :mod:`sed.train` on each row with each seed
(:func:`table4_runs`: the paper's recipe, or a YAML config, stopped after
:data:`TABLE4_PATIENCE` epochs without a better validation TER), keeps the
run folders (checkpoints, weights) under ``runs``, copies each run's
``history.json``, ``history.csv``, ``config.yaml`` and ``best_test.json``
(with the provenance and the identity inside ``history.json``) to
``histories/<row>-seed<k>/`` after every epoch and writes
``histories/table4.csv``: one line per run (:func:`table4`).
:mod:`sed.results` turns them into means, intervals and verdicts.

Evidence is never overwritten: ``histories`` defaults to ``<runs>/histories``
(the committed folder, :data:`COMMITTED_HISTORIES`, only with
``publish=True``, ``sed-ctc experiments --publish``); a run whose published
history has another config is refused before training, one of another
identity (e.g. another corpus) when it publishes, and a published history
with more epochs than the run is left in place until the run has caught up
(:mod:`sed.publishing`).

It is resumable: a finished run is skipped (also one whose run folder is
gone but whose published history is finished), an interrupted run resumes from
its last checkpoint (exactly, see :func:`sed.train.fit`), a run that
diverged is reported and skipped (delete its run folder to retry). Runs are
independent: ``jobs`` worker processes train several at once (on a 2-core
machine, two processes with ``TF_NUM_INTRAOP_THREADS=1`` each make about
1.5 times as many steps in all as one process with both cores:
``benchmarks/ctc_sweep.py``).

Example:
    >>> [row.name for row in TABLE4][:3]
    ['lowlevel', 'opensmile', 'soundnet8_conv5']
    >>> table4_row("SN-R gru1-BN").kind
    'snr:gru1_bn'
"""

import copy
import json
import os
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from soundnet_keras.stores import atomic_file

from .publishing import (check_publishable, copy_history, history_state,
                         published_done, read_published, run_done,
                         train_in_workers, will_train)


class Row(NamedTuple):
    """One row of Table 4: ``name`` (a folder name), ``label`` (as the paper
    prints it), the feature ``kind``, the paper's TERs in percent, the
    network's ``weights`` (a preset name; ``"default"``: the kind's
    default) and the feature ``scaling`` its Table 4 runs use
    (``feats.scaling``, :data:`sed.config.SCALINGS`)."""
    name: str
    label: str
    kind: str
    paper: tuple
    weights: str = "default"
    scaling: str = "common"


#: The students' presets of the SN-F and SN-R rows: the pretrained-trunk
#: students distilled on the real-audio pool.
SNF, SNR = "snf_trunk_pool", "snr_trunk_pool"

#: The rows of Table 4 with the paper's TER (%, train / val / test).
#: The network features are centred and scaled by one common factor
#: (``"common"``), so each dimension keeps its relative variance and a
#: batch-norm layer's scale factors reach the detector (per-dimension
#: standardisation would cancel them: the ``gru_k`` and ``gru_k_bn`` inputs
#: would be equal); the project's own low-level feature is standardised per
#: dimension (``"dimension"``), the openSMILE one keeps its PCA variances.
#: SN-F and SN-R share their pool5 (the same frozen trunk): one row,
#: ``snf_pool5``; the paper's two rows are its two students' own trunks.
TABLE4 = (
    Row("lowlevel", "Low-level", "lowlevel", (15.2, 82.8, 81.0),
        scaling="dimension"),
    Row("opensmile", "Low-level (openSMILE)", "opensmile",
        (15.2, 82.8, 81.0)),
    Row("soundnet8_conv5", "SoundNet conv5", "soundnet8:conv5",
        (2.3, 76.6, 74.0)),
    Row("snf_pool5", "SN-F / SN-R pool5", "snf:pool5", (3.5, 80.5, 77.4),
        SNF),
    Row("snf_fc1", "SN-F fc1", "snf:fc1", (6.1, 79.9, 77.8), SNF),
    Row("snf_fc2", "SN-F fc2", "snf:fc2", (6.5, 82.2, 79.2), SNF),
    Row("snf_fc3", "SN-F fc3", "snf:fc3", (4.6, 80.8, 77.6), SNF),
    Row("snr_gru1", "SN-R gru1", "snr:gru1", (3.0, 77.8, 78.4), SNR),
    Row("snr_gru1_bn", "SN-R gru1-BN", "snr:gru1_bn", (1.2, 75.8, 76.7), SNR),
    Row("snr_gru2", "SN-R gru2", "snr:gru2", (3.0, 84.5, 80.6), SNR),
    Row("snr_gru2_bn", "SN-R gru2-BN", "snr:gru2_bn", (2.3, 82.3, 79.0), SNR),
    Row("snr_gru3", "SN-R gru3", "snr:gru3", (90.6, 96.4, 96.4), SNR),
    Row("snr_gru3_bn", "SN-R gru3-BN", "snr:gru3_bn", (60.9, 90.5, 91.2),
        SNR),
)

#: SN-R's pool5 on the trunk students: the same feature as ``snf_pool5``
#: (a row of the first, 20-epoch table; not run again).
SNR_POOL5 = Row("snr_pool5", "SN-R pool5", "snr:pool5", (3.0, 78.9, 74.9),
                SNR)

#: The paper-faithful students, trained from scratch (the whole network)
#: on the same pool, for the rows of :data:`SCRATCH_ROWS`.
SCRATCH_STUDENTS = {SNF: "snf_scratch_pool", SNR: "snr_scratch_pool"}

#: Table 4's SN-F and SN-R rows again on the students trained from scratch
#: (``<row>_scratch``, labelled "... (from scratch)"; their pool5 features
#: differ); the paper's TERs are those of its rows (its students were
#: trained from scratch).
SCRATCH_ROWS = tuple(
    Row(f"{row.name}_scratch",
        f"{row.label.replace(' / SN-R', '')} (from scratch)", row.kind,
        row.paper, SCRATCH_STUDENTS[row.weights])
    for row in TABLE4[:7] + (SNR_POOL5,) + TABLE4[7:]
    if row.weights in SCRATCH_STUDENTS)

#: Rows beyond :data:`TABLE4` that experiments may name.
EXTRA_ROWS = (SNR_POOL5,) + SCRATCH_ROWS

#: Epochs without a better validation TER after which a Table 4 run stops
#: (three learning-rate decays of the paper's schedule).
TABLE4_PATIENCE = 15

#: Seeds of each Table 4 row (initialisation and data order).
TABLE4_SEEDS = (0, 1, 2)

#: The committed histories of the Table 4 runs in the checkout, one folder
#: per run, ``<row>-seed<k>``: what :func:`table4` and :mod:`sed.plots` read
#: by default. (Training writes to ``histories``, relative to the working
#: folder as on the command line.)
COMMITTED_HISTORIES = (Path(__file__).resolve().parent.parent / "notebooks"
                       / "histories" / "table4")

#: The first Table 4: one seed per row, 20 epochs, every feature
#: standardised per dimension (kept as it was run).
TABLE4_20EPOCHS = COMMITTED_HISTORIES.parent / "table4_20epochs"

#: The committed histories of the warm-up sweep (Figure 2): what
#: ``sed-ctc experiments sweep --publish`` writes.
COMMITTED_SWEEPS = COMMITTED_HISTORIES.parent / "warmup"

#: The columns of ``table4.csv``: one line per run.
TABLE4_COLUMNS = ("run", "row", "label", "kind", "seed", "scaling", "epochs",
                  "train_ter", "val_ter", "test_ter", "best_val_ter",
                  "best_epoch", "best_test_ter", "paper_train_ter",
                  "paper_val_ter", "paper_test_ter", "status", "stop_reason")


def table4_row(name):
    """The :class:`Row` with this ``name``, ``label`` or ``kind`` (of
    :data:`TABLE4` or :data:`EXTRA_ROWS`)."""
    for row in TABLE4 + EXTRA_ROWS:
        if name in (row.name, row.label, row.kind):
            return row
    raise ValueError(f"No Table 4 row {name!r}. Rows: "
                     f"{', '.join(row.name for row in TABLE4 + EXTRA_ROWS)}")


def row_config(row, corpus, epochs, runs, base=None, progress=True):
    """The training config of one row: ``base`` (a config dict or YAML
    path; default :data:`sed.train.DEFAULTS`) with the row's feature kind,
    the corpus, the epochs and the run folder ``runs/<row.name>``."""
    from .train import load_config, resolve_config
    if isinstance(base, (str, os.PathLike)):
        config = load_config(base)
    else:
        config = resolve_config(copy.deepcopy(base))
    config["feats"]["kind"] = row.kind
    config["feats"]["weights"] = row.weights
    config["training"].update(corpus=str(corpus), epochs=int(epochs),
                              out=str(Path(runs) / row.name),
                              progress=bool(progress))
    return config


def table4_runs(corpus, epochs=200, runs="runs/table4", rows=None,
                seeds=TABLE4_SEEDS, patience=TABLE4_PATIENCE, base=None,
                progress=False):
    """``{name: config}`` of the Table 4 runs: every row (or ``rows``) x
    seed, seed by seed; ``name`` is ``<row>-seed<k>``, the run folder
    ``runs/<name>``. Each config is ``base`` (default: the paper's recipe,
    :data:`sed.config.DEFAULTS`) with the row's feature kind, weights and
    scaling (:class:`Row`), the seed, ``epochs`` and ``patience``.

    Example:
        >>> runs = table4_runs("data/standin", rows=["lowlevel"], seeds=[1])
        >>> cfg = runs["lowlevel-seed1"]
        >>> cfg["feats"]["scaling"], cfg["training"]["seed"], \\
        ...     cfg["training"]["patience"]
        ('dimension', 1, 15)
    """
    from .config import resolve_config
    selected = TABLE4 if rows is None else [table4_row(r) for r in rows]
    out = {}
    for seed in seeds:
        for row in selected:
            name = f"{row.name}-seed{int(seed)}"
            config = row_config(row, corpus, epochs, runs, base, progress)
            config["feats"]["scaling"] = row.scaling
            config["training"].update(seed=int(seed), patience=patience,
                                      out=str(Path(runs) / name))
            out[name] = resolve_config(config)
    return out


def run_table4(corpus, epochs=200, runs="runs/table4", histories=None,
               rows=None, seeds=TABLE4_SEEDS, patience=TABLE4_PATIENCE,
               base=None, log=print, progress=True, publish=False, jobs=1,
               threads=1):
    """Trains the CTC-RNN on every row of Table 4 (or ``rows``) with each
    seed (:func:`table4_runs`); resumable: the same call continues the
    whole table where it stopped.

    Args:
        corpus: the corpus folder (:func:`sed.corpora.load_corpus`).
        epochs: the most epochs per run.
        runs: the folder of the run folders (checkpoints and weights).
        histories: where each run's history, config and provenance (and its
            best epoch's test outcome, ``best_test.json``), and
            ``table4.csv``, go (default ``<runs>/histories``, or
            :data:`COMMITTED_HISTORIES` with ``publish``).
        rows: names, labels or kinds of the rows to run (default: all).
        seeds: the seeds of each row.
        patience: a run stops when its validation TER has not improved for
            this many epochs (None: it runs ``epochs``).
        base: the recipe, a config dict or YAML path (default
            :data:`sed.train.DEFAULTS`); the row, seed, corpus, epochs,
            patience and run folder are set per run.
        log: a function taking progress messages (None for silence).
        progress: show progress bars (with ``jobs`` 1).
        publish: write to the committed histories (when ``histories`` is
            not given).
        jobs: runs trained at once; above 1, each in a worker process of
            ``threads`` TensorFlow threads, seed by seed in the order of
            ``rows`` (no progress bars: each epoch is said as it is
            published, within
            :data:`sed.publishing.NEWS_EVERY_S` seconds).
        threads: TensorFlow threads per worker process (with ``jobs`` > 1).

    Returns:
        The table (:func:`table4`) over all runs found in ``histories``.

    Raises:
        ValueError: when a run's published history has another config.
    """
    from .dataset import fill_features
    from .train import TrainingDiverged, train
    say = log or (lambda *_: None)
    configs = table4_runs(corpus, epochs, runs, rows, seeds, patience, base,
                          progress=progress and jobs == 1)
    if histories is None:
        histories = COMMITTED_HISTORIES if publish else \
            Path(runs) / "histories"
    histories = Path(histories)
    for name, config in configs.items():      # refuse before any training
        check_publishable(config, histories / name)
    fill_features([c for name, c in configs.items()  # one pass per net
                   if will_train(Path(runs) / name, c, histories / name)],
                  progress=progress, workers=jobs, log=log)
    todo = {}
    for number, (name, config) in enumerate(configs.items(), 1):
        run_dir = Path(runs) / name
        done, stopped = history_state(run_dir)
        header = f"[{number}/{len(configs)}] {name}"
        if run_done(run_dir, config):
            say(f"{header}: finished after {done} epochs, skipped.")
        elif published_done(histories / name, config):
            count = len(read_published(histories / name)["epochs"])
            say(f"{header}: finished after {count} epochs (its published "
                f"history in {histories / name}), skipped; delete that folder "
                "to train it again.")
            continue
        elif stopped:
            say(f"{header}: skipped, it diverged before ({stopped}); "
                f"delete {run_dir} to train it again.")
        elif jobs > 1:
            say(f"{header}: queued, to epoch {epochs}"
                + (f" (resuming after epoch {done})" if done else "") + ".")
            todo[name] = config
        else:
            say(f"{header}: training to epoch {epochs}"
                + (f" (resuming after epoch {done})" if done else "") + ".")

            def publish_row(_, run_dir=run_dir, name=name):
                if copy_history(run_dir, histories / name, say):
                    write_table4(histories)
            try:
                train(config, log=log, on_epoch=publish_row)
            except TrainingDiverged as err:
                say(f"{header}: {err}")
        if (run_dir / "history.json").is_file():
            copy_history(run_dir, histories / name, say)
    write_table4(histories)
    if todo:
        say(f"{len(todo)} runs to train, {jobs} at once x {threads} "
            f"thread(s); histories in {histories}.")
        train_in_workers(todo, histories, jobs, threads, say,
                         write_table4)
        write_table4(histories)
    return table4(histories)


def table4(histories=COMMITTED_HISTORIES):
    """Table 4's runs from a histories folder: one line per run folder
    (``<row>-seed<k>``, or ``<row>`` in the first table's layout), in the
    paper's row order, then :data:`EXTRA_ROWS`, then by seed (columns
    :data:`TABLE4_COLUMNS`; TERs as fractions, the paper's converted from
    percent): the last epoch's TERs, and the epoch of the lowest validation
    TER with its validation and test TER (``best_*``: the model a user
    would keep); ``status`` is ``running``, ``finished`` or ``diverged``,
    ``stop_reason`` ``patience`` or ``epochs`` for a finished run."""
    from .config import resolve_config
    from .train import finished
    order = {row.name: i for i, row in enumerate(TABLE4 + EXTRA_ROWS)}
    found = []
    for path in Path(histories).glob("*/history.json"):
        row_name = path.parent.name.rsplit("-seed", 1)[0]
        if row_name in order:
            record = json.loads(path.read_text())
            config = resolve_config(record["config"])
            found.append((order[row_name], config["training"]["seed"],
                          row_name, path, record, config))
    lines = []
    for _, _, row_name, path, record, config in sorted(
            found, key=lambda f: f[:2]):
        row = table4_row(row_name)
        rows = record["epochs"]
        last = rows[-1] if rows else {}
        scored = [r for r in rows if r.get("val_ter") is not None]
        best = min(scored, key=lambda r: r["val_ter"]) if scored else {}
        tr = config["training"]
        done = finished(rows, tr["epochs"], tr["patience"])
        status = record.get("stopped") and "diverged" or (
            "finished" if done else "running")
        lines.append(dict(
            run=path.parent.name, row=row.name, label=row.label,
            kind=row.kind, seed=tr["seed"],
            scaling=config["feats"]["scaling"] or (
                "common" if row.kind == "opensmile" else "dimension"),
            epochs=len(rows),
            train_ter=last.get("train_ter"), val_ter=last.get("val_ter"),
            test_ter=last.get("test_ter"),
            best_val_ter=best.get("val_ter"), best_epoch=best.get("epoch"),
            best_test_ter=best.get("test_ter"),
            paper_train_ter=row.paper[0] / 100,
            paper_val_ter=row.paper[1] / 100,
            paper_test_ter=row.paper[2] / 100, status=status,
            stop_reason=done["reason"] if done else None))
    return pd.DataFrame(lines, columns=list(TABLE4_COLUMNS))


def write_table4(histories=COMMITTED_HISTORIES):
    """Writes ``table4.csv`` in ``histories`` (see :func:`table4`);
    returns its path."""
    path = Path(histories) / "table4.csv"
    with atomic_file(path) as tmp:
        table4(histories).to_csv(tmp, index=False, float_format="%.4f")
    return path


# --------------------------------------------------------------------------
# Sweeps: rows x seeds x recipe variants, several runs at once.

#: Epochs of frame-wise pre-training in the ``paper_pretrain`` variant (the
#: paper gives none; an epoch is the CTC epoch's chunks, :mod:`sed.pretrain`).
PRETRAIN_EPOCHS = 10

#: The recipe variants of a sweep: name -> overrides of the base config.
VARIANTS = {"paper": {},
            "paper_pretrain": {"training": {"pretrain_epochs":
                                            PRETRAIN_EPOCHS}},
            "tanh_clipped": {"net": {"activation": "tanh"},
                             "opt": {"clipnorm": 1.0}}}

#: The columns of ``sweep.csv``.
SWEEP_COLUMNS = ("run", "row", "variant", "seed", "epochs", "train_ter",
                 "val_ter", "test_ter", "best_val_ter", "best_epoch",
                 "first_nonblank_epoch", "first_nonblank_step",
                 "output10_epoch", "ter50_epoch", "ter50_step", "status")


def warmup_marks(rows):
    """Where a run's warm-up ends, from its history rows.

    Returns:
        A dict: ``first_nonblank_epoch``, the first epoch after which the
        best-path decoding of the training recordings holds a token;
        ``first_nonblank_step``, the first training step (counted over the
        run) after the network first output only blanks (a freshly
        initialised network emits tokens everywhere until its first
        updates) whose minibatch has a non-blank best-path frame;
        ``output10_epoch``, the first epoch after which the decoding of the
        training recordings holds at least 10% as many tokens as their
        reference (the end of the near-silent stage);
        ``ter50_epoch`` / ``ter50_step``, the first epoch after which the
        training TER is below 50% and the steps trained by its end. None
        where it did not happen.

    Example:
        >>> rows = [dict(epoch=1, steps=2, step_nonblank=[0.9, 0],
        ...              train_decoded_tokens=0, train_reference_tokens=20,
        ...              train_ter=1.0),
        ...         dict(epoch=2, steps=2, step_nonblank=[0, 0.1],
        ...              train_decoded_tokens=5, train_reference_tokens=20,
        ...              train_ter=0.4)]
        >>> warmup_marks(rows)  # doctest: +NORMALIZE_WHITESPACE
        {'first_nonblank_epoch': 2, 'first_nonblank_step': 4,
         'output10_epoch': 2, 'ter50_epoch': 2, 'ter50_step': 4}
    """
    marks = dict.fromkeys(("first_nonblank_epoch", "first_nonblank_step",
                           "output10_epoch", "ter50_epoch", "ter50_step"))
    steps, blank = 0, False
    for row in rows:
        shares = row.get("step_nonblank") or []
        for i, share in enumerate(shares, 1):
            if marks["first_nonblank_step"] is not None:
                break
            if share == 0:
                blank = True
            elif blank:
                marks["first_nonblank_step"] = steps + i
        steps += int(row.get("steps") or len(shares))
        decoded = row.get("train_decoded_tokens") or 0
        if marks["first_nonblank_epoch"] is None and decoded:
            marks["first_nonblank_epoch"] = row["epoch"]
        if marks["output10_epoch"] is None and \
                decoded >= 0.1 * (row.get("train_reference_tokens") or 0) > 0:
            marks["output10_epoch"] = row["epoch"]
        ter = row.get("train_ter")
        if marks["ter50_epoch"] is None and ter is not None and ter < 0.5:
            marks["ter50_epoch"], marks["ter50_step"] = row["epoch"], steps
    return marks


def sweep_runs(rows, seeds, variants, corpus, epochs, runs, base=None,
               progress=False):
    """``{name: config}`` of every row x seed x variant; ``name`` is
    ``<row>-<variant>-seed<seed>``, the run folder ``runs/<name>``."""
    from .config import resolve_config
    out = {}
    for name in rows:
        row = table4_row(name)
        for variant in variants:
            if variant not in VARIANTS:
                raise ValueError(f"Unknown recipe variant {variant!r}. "
                                 f"Variants: {', '.join(VARIANTS)}")
            for seed in seeds:
                run = f"{row.name}-{variant}-seed{int(seed)}"
                config = row_config(row, corpus, epochs, runs, base,
                                    progress)
                for section, values in VARIANTS[variant].items():
                    config[section].update(values)
                config["training"].update(seed=int(seed),
                                          out=str(Path(runs) / run))
                out[run] = resolve_config(config)
    return out


def run_sweep(corpus, epochs, rows, seeds=(0,), variants=("paper",),
              runs="runs/sweep", base=None, jobs=2, threads=1, log=print,
              histories=None, publish=False):
    """Trains every row x seed x recipe variant; each run resumable on its
    own (its run folder, :func:`sed.train.train`), ``jobs`` runs at once in
    worker processes of ``threads`` TensorFlow threads each
    (``benchmarks/ctc_sweep.py`` measures which split of the cores gives
    the most steps per second; on the 2-core machine: 2 processes x 1
    thread). Features are computed (and cached) first, the layers of one
    network in one pass (:func:`sed.dataset.fill_features`).
    Each run's history, config and provenance are copied after every epoch
    to ``histories/<run>/`` (default ``<runs>/histories``, or
    :data:`COMMITTED_SWEEPS` with ``publish``; a published history with more
    epochs is kept until the run catches up), and ``sweep.csv``
    (:data:`SWEEP_COLUMNS`) is written there and in ``runs``.

    Returns:
        The sweep table (:func:`sweep_table`).
    """
    from .dataset import fill_features
    say = log or (lambda *_: None)
    configs = sweep_runs(rows, seeds, variants, corpus, epochs, runs, base)
    if histories is None:
        histories = COMMITTED_SWEEPS if publish else Path(runs) / "histories"
    histories = Path(histories)
    for name, config in configs.items():      # refuse before any work
        check_publishable(config, histories / name)
    todo = {}
    for name, config in configs.items():
        done, stopped = history_state(config["training"]["out"])
        if done < epochs and not stopped:
            todo[name] = config
    # Fill the feature cache: the layers of one network in one pass.
    fill_features(todo.values(), progress=False, workers=jobs, log=say)
    say(f"{len(configs)} runs, {len(todo)} to train, {jobs} at once x "
        f"{threads} thread(s); histories in {histories}.")
    train_in_workers(todo, histories, jobs, threads, say)
    for folder in (Path(runs), histories):
        table = sweep_table(folder)
        with atomic_file(folder / "sweep.csv") as tmp:
            table.to_csv(tmp, index=False, float_format="%.4f")
    return table


def sweep_table(runs):
    """One line per run folder of a sweep (:data:`SWEEP_COLUMNS`), with the
    end of each run's warm-up (:func:`warmup_marks`)."""
    lines = []
    for path in sorted(Path(runs).glob("*-*-seed*/history.json")):
        record = json.loads(path.read_text())
        rows = record["epochs"]
        row, variant, seed = path.parent.name.rsplit("-", 2)
        last = rows[-1] if rows else {}
        scored = [r for r in rows if r.get("val_ter") is not None]
        best = min(scored, key=lambda r: r["val_ter"]) if scored else {}
        target = record["config"]["training"]["epochs"]
        lines.append(dict(
            run=path.parent.name, row=row, variant=variant,
            seed=int(seed[4:]), epochs=len(rows),
            train_ter=last.get("train_ter"), val_ter=last.get("val_ter"),
            test_ter=last.get("test_ter"), best_val_ter=best.get("val_ter"),
            best_epoch=best.get("epoch"), **warmup_marks(rows),
            status=record.get("stopped") and "diverged" or (
                "finished" if len(rows) >= target else "running")))
    return pd.DataFrame(lines, columns=list(SWEEP_COLUMNS))


__all__ = ["COMMITTED_HISTORIES", "COMMITTED_SWEEPS", "EXTRA_ROWS",
           "SCRATCH_ROWS", "SCRATCH_STUDENTS", "SNR_POOL5", "TABLE4_20EPOCHS",
           "TABLE4_PATIENCE", "TABLE4_SEEDS", "table4_runs",
           "PRETRAIN_EPOCHS", "Row",
           "TABLE4",
           "TABLE4_COLUMNS", "SWEEP_COLUMNS", "VARIANTS",
           "row_config", "run_sweep", "run_table4",
           "sweep_runs", "sweep_table", "table4", "table4_row", "warmup_marks",
           "write_table4"]
