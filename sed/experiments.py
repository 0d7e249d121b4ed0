"""The experiments behind the paper's Table 4: one CTC-RNN per feature layer.

:data:`TABLE4` lists the rows of Table 4 (Wang & Metze 2017): the 50-d
low-level feature, SoundNet-8's conv5, and layers of the distilled SN-F and
SN-R networks, each a feature kind of :mod:`sed.features`.
:func:`run_table4` trains the detector of :mod:`sed.train` on each row with
one recipe (:data:`sed.train.DEFAULTS`, or a YAML config), keeps the run
folders (checkpoints, weights) under ``runs``, copies each run's
``history.json``, ``history.csv`` and ``config.yaml`` (with the provenance
inside ``history.json``) to ``histories/<row>/`` after every epoch and writes
``histories/table4.csv``: train, validation and test TER at the last epoch,
the best validation TER and its epoch, and the paper's values beside them.

It is resumable: a row whose run has reached the requested epochs is
skipped, an interrupted row resumes from its last checkpoint (exactly, see
:func:`sed.train.fit`), a longer ``epochs`` continues finished rows, and a
row that diverged is reported and skipped (delete its run folder to retry).
Rows are independent: two processes may share a corpus and an output folder
if they run disjoint ``rows`` (on a 2-core machine, two processes with
``TF_NUM_INTRAOP_THREADS=1`` each train about 1.7 times as fast as one).

Example:
    >>> [row.name for row in TABLE4][:3]
    ['lowlevel', 'soundnet8_conv5', 'snf_pool5']
    >>> table4_row("SN-R gru1-BN").kind
    'snr:gru1_bn'
"""

import copy
import json
import os
import shutil
from pathlib import Path
from typing import NamedTuple

import pandas as pd


class Row(NamedTuple):
    """One row of Table 4: ``name`` (a folder name), ``label`` (as the paper
    prints it), the feature ``kind`` and the paper's TERs in percent."""
    name: str
    label: str
    kind: str
    paper: tuple


#: The rows of Table 4 with the paper's TER (%, train / val / test).
TABLE4 = (
    Row("lowlevel", "Low-level", "lowlevel", (15.2, 82.8, 81.0)),
    Row("soundnet8_conv5", "SoundNet conv5", "soundnet8:conv5",
        (2.3, 76.6, 74.0)),
    Row("snf_pool5", "SN-F pool5", "snf:pool5", (3.5, 80.5, 77.4)),
    Row("snf_fc1", "SN-F fc1", "snf:fc1", (6.1, 79.9, 77.8)),
    Row("snf_fc2", "SN-F fc2", "snf:fc2", (6.5, 82.2, 79.2)),
    Row("snf_fc3", "SN-F fc3", "snf:fc3", (4.6, 80.8, 77.6)),
    Row("snr_pool5", "SN-R pool5", "snr:pool5", (3.0, 78.9, 74.9)),
    Row("snr_gru1", "SN-R gru1", "snr:gru1", (3.0, 77.8, 78.4)),
    Row("snr_gru1_bn", "SN-R gru1-BN", "snr:gru1_bn", (1.2, 75.8, 76.7)),
    Row("snr_gru2", "SN-R gru2", "snr:gru2", (3.0, 84.5, 80.6)),
    Row("snr_gru2_bn", "SN-R gru2-BN", "snr:gru2_bn", (2.3, 82.3, 79.0)),
    Row("snr_gru3", "SN-R gru3", "snr:gru3", (90.6, 96.4, 96.4)),
    Row("snr_gru3_bn", "SN-R gru3-BN", "snr:gru3_bn", (60.9, 90.5, 91.2)),
)

#: The committed histories of the Table 4 runs in the checkout: what
#: :func:`table4` and :mod:`sed.plots` read by default. (Training writes to
#: ``histories``, relative to the working folder as on the command line.)
COMMITTED_HISTORIES = (Path(__file__).resolve().parent.parent / "notebooks"
                       / "histories" / "table4")

#: The files of a run copied to the histories folder.
HISTORY_FILES = ("history.json", "history.csv", "config.yaml")

#: The columns of ``table4.csv``.
TABLE4_COLUMNS = ("row", "label", "kind", "epochs", "train_ter", "val_ter",
                  "test_ter", "best_val_ter", "best_epoch", "paper_train_ter",
                  "paper_val_ter", "paper_test_ter", "status")


def table4_row(name):
    """The :class:`Row` with this ``name``, ``label`` or ``kind``."""
    for row in TABLE4:
        if name in (row.name, row.label, row.kind):
            return row
    raise ValueError(f"No Table 4 row {name!r}. Rows: "
                     f"{', '.join(row.name for row in TABLE4)}")


def _history_state(history_path):
    """Finished epochs and the divergence message (or None) of a run."""
    if not Path(history_path).is_file():
        return 0, None
    record = json.loads(Path(history_path).read_text())
    return len(record["epochs"]), record.get("stopped")


def _copy_history(run_dir, dest):
    dest.mkdir(parents=True, exist_ok=True)
    for name in HISTORY_FILES:
        source = run_dir / name
        if source.is_file():
            tmp = dest / f".{name}.part"
            shutil.copyfile(source, tmp)
            os.replace(tmp, dest / name)


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
    config["feats"]["weights"] = "default"
    config["training"].update(corpus=str(corpus), epochs=int(epochs),
                              out=str(Path(runs) / row.name),
                              progress=bool(progress))
    return config


def run_table4(corpus, epochs, runs="runs/table4",
               histories="notebooks/histories/table4", rows=None,
               base=None, log=print, progress=True):
    """Trains the CTC-RNN on every row of Table 4 (or ``rows``); resumable.

    Args:
        corpus: the corpus folder (:func:`sed.corpora.load_corpus`).
        epochs: epochs per row.
        runs: the folder of the run folders (checkpoints and weights).
        histories: where each row's history, config and provenance, and
            ``table4.csv``, go.
        rows: names, labels or kinds of the rows to run (default: all).
        base: the recipe, a config dict or YAML path (default
            :data:`sed.train.DEFAULTS`); its ``feats.kind``,
            ``training.corpus``, ``training.epochs`` and ``training.out``
            are set per row.
        log: a function taking progress messages (None for silence).
        progress: show progress bars.

    Returns:
        The table (:func:`table4`) over all rows found in ``histories``.
    """
    from .train import TrainingDiverged, train
    say = log or (lambda *_: None)
    selected = TABLE4 if rows is None else [table4_row(r) for r in rows]
    histories = Path(histories)
    for number, row in enumerate(selected, 1):
        run_dir = Path(runs) / row.name
        done, stopped = _history_state(run_dir / "history.json")
        header = f"[{number}/{len(selected)}] {row.label} ({row.kind})"
        if done >= epochs and (run_dir / "model.weights.h5").is_file():
            say(f"{header}: {done} epochs done, skipped.")
        elif stopped:
            say(f"{header}: skipped, it diverged before ({stopped}); "
                f"delete {run_dir} to train it again.")
        else:
            say(f"{header}: training to epoch {epochs}"
                + (f" (resuming after epoch {done})" if done else "") + ".")
            config = row_config(row, corpus, epochs, runs, base, progress)

            def publish(_, run_dir=run_dir, row=row):
                _copy_history(run_dir, histories / row.name)
                write_table4(histories)
            try:
                train(config, log=log, on_epoch=publish)
            except TrainingDiverged as err:
                say(f"{header}: {err}")
        _copy_history(run_dir, histories / row.name)
        write_table4(histories)
    return table4(histories)


def table4(histories=COMMITTED_HISTORIES):
    """Table 4 from the histories folder: one line per row that has a
    history, in the paper's order (columns :data:`TABLE4_COLUMNS`; TERs as
    fractions, the paper's converted from percent)."""
    lines = []
    for row in TABLE4:
        path = Path(histories) / row.name / "history.json"
        if not path.is_file():
            continue
        record = json.loads(path.read_text())
        rows = record["epochs"]
        last = rows[-1] if rows else {}
        scored = [r for r in rows if r.get("val_ter") is not None]
        best = min(scored, key=lambda r: r["val_ter"]) if scored else {}
        target = record["config"]["training"]["epochs"]
        status = record.get("stopped") and "diverged" or (
            "finished" if len(rows) >= target else "running")
        lines.append(dict(
            row=row.name, label=row.label, kind=row.kind, epochs=len(rows),
            train_ter=last.get("train_ter"), val_ter=last.get("val_ter"),
            test_ter=last.get("test_ter"),
            best_val_ter=best.get("val_ter"), best_epoch=best.get("epoch"),
            paper_train_ter=row.paper[0] / 100,
            paper_val_ter=row.paper[1] / 100,
            paper_test_ter=row.paper[2] / 100, status=status))
    return pd.DataFrame(lines, columns=list(TABLE4_COLUMNS))


def write_table4(histories="notebooks/histories/table4"):
    """Writes ``table4.csv`` in ``histories`` (see :func:`table4`);
    returns its path."""
    path = Path(histories) / "table4.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    table4(histories).to_csv(tmp, index=False, float_format="%.4f")
    os.replace(tmp, path)
    return path


__all__ = ["COMMITTED_HISTORIES", "HISTORY_FILES", "Row", "TABLE4", "TABLE4_COLUMNS", "row_config",
           "run_table4", "table4", "table4_row", "write_table4"]
