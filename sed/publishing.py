"""Published runs: each run's history copied to a histories folder after
every epoch, never over evidence it should not replace, and runs trained
in worker processes that publish as they go.

A run folder (``sed.train``: checkpoints, weights, ``history.json``) is
private to its run; its history files (:data:`HISTORY_FILES`, and the
frame-wise pre-training history, :data:`PRETRAIN_FILES`) are copied to
``<histories>/<name>/`` by :func:`copy_history`, which refuses a history
made from other inputs and keeps one with more epochs. The experiments of
:mod:`sed.experiments` (Table 4, the warm-up sweep) train through
:func:`train_in_workers` and decide what to train with :func:`run_done`,
:func:`published_done` and :func:`will_train`.
"""

import json
import os
import shutil
from pathlib import Path

from soundnet_keras.stores import atomic_file

from .metrics import score_text

#: The files of a run copied to the histories folder.
HISTORY_FILES = ("history.json", "history.csv", "config.yaml",
                 "best_test.json")

#: A run's frame-wise pre-training history (``training.pretrain_epochs``),
#: copied beside its history where the run has one.
PRETRAIN_FILES = ("pretrain/history.json", "pretrain/history.csv")


def read_published(dest):
    """The ``history.json`` record published in ``dest`` (a run folder or
    a histories folder; None where there is none)."""
    path = Path(dest) / "history.json"
    return json.loads(path.read_text()) if path.is_file() else None


def history_state(run_dir):
    """Finished epochs and the divergence message (or None) of the run in
    ``run_dir``."""
    record = read_published(run_dir)
    return (0, None) if record is None else \
        (len(record["epochs"]), record.get("stopped"))


def finished_under(record, config):
    """Whether a history ``record`` (or None) has finished under
    ``config``'s epochs and patience (:func:`sed.train.finished`)."""
    from .train import finished
    tr = config["training"]
    return record is not None and \
        finished(record["epochs"], tr["epochs"], tr["patience"]) is not None


def run_done(run_dir, config):
    """Whether the run of ``run_dir`` has finished under ``config``,
    final weights written."""
    return (run_dir / "model.weights.h5").is_file() and \
        finished_under(read_published(run_dir), config)


def published_done(dest, config):
    """Whether the history published in ``dest`` is a finished run under
    ``config`` that did not diverge: a run whose run folder was lost after
    it finished is not trained again (its history is the result)."""
    record = read_published(dest)
    return finished_under(record, config) and not record.get("stopped")


def will_train(run_dir, config, dest=None):
    """Whether :func:`run_table4` trains the run of ``run_dir`` (published
    to ``dest``)."""
    _, stopped = history_state(run_dir)
    return not stopped and not run_done(run_dir, config) and \
        not (dest is not None and published_done(dest, config))


def check_publishable(config, dest):
    """Refuses (``ValueError``) a row whose published history in ``dest``
    was made with another config (all but the keys a resume may change)."""
    from .config import comparable, resolve_config
    published = read_published(dest)
    if published is None:
        return
    theirs = comparable(resolve_config(published["config"]))
    if theirs != comparable(resolve_config(config)):
        raise ValueError(
            f"{dest} holds a history made with another config; it is not "
            "replaced. Train with the same config (e.g. --config "
            f"{Path(dest) / 'config.yaml'}), or publish elsewhere "
            "(--histories DIR)")


def copy_history(run_dir, dest, log=None):
    """Copies a run's history files to ``dest`` unless ``dest`` holds a
    history with more epochs (then it says so and returns False).

    Raises:
        soundnet_keras.runs.RunError: when ``dest`` holds a history made
            from other inputs (its ``identity``,
            :mod:`soundnet_keras.identity`, e.g. another corpus); nothing
            is replaced.
    """
    from soundnet_keras.identity import differences
    from soundnet_keras.runs import RunError
    source = read_published(run_dir)
    published = read_published(dest)
    if source is not None and published is not None:
        theirs, mine = published.get("identity"), source.get("identity")
        changed = differences(theirs or {}, mine or {}) if mine else []
        if changed:
            raise RunError(
                f"{dest} holds a history made from other inputs ("
                + "; ".join(f"{name}: there {theirs[name][:12]}, this run "
                            f"{str(mine.get(name))[:12]}"
                            for name in changed)
                + f"); it is not replaced by {run_dir}: publish elsewhere "
                "(--histories DIR), or remove it first")
    if source is not None and published is not None and \
            len(published["epochs"]) > len(source["epochs"]):
        if log:
            log(f"{dest}: the published history has "
                f"{len(published['epochs'])} epochs, this run "
                f"{len(source['epochs'])}; it is kept until the run catches "
                "up.")
        return False
    for name in HISTORY_FILES + PRETRAIN_FILES:
        source, target = run_dir / name, dest / name
        if source.is_file():
            with atomic_file(target) as tmp:
                shutil.copyfile(source, tmp)
    return True


def _worker(config, threads, dest, on_publish=None):
    """Trains one run in a worker process, copying its history to ``dest``
    after every epoch (then calling ``on_publish(dest.parent)``, a
    module-level function); returns None, or the divergence message."""
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    from soundnet_keras.console import start_tensorflow
    start_tensorflow()      # quietly: no start-up lines from each worker
    from .train import TrainingDiverged, train
    run_dir = Path(config["training"]["out"])

    def publish(_=None):
        if copy_history(run_dir, dest) and on_publish is not None:
            on_publish(dest.parent)
    try:
        train(config, log=None, on_epoch=publish)
        return None
    except TrainingDiverged as err:
        return str(err)
    finally:
        if (run_dir / "history.json").is_file():
            publish()


#: Seconds between two looks at the histories the worker processes publish
#: (each new epoch is said then; all are said before a run's last line).
NEWS_EVERY_S = 30


def epoch_news(dest, seen):
    """``(lines, epochs)``: a line for each epoch published in ``dest``
    after the first ``seen``, and how many epochs are published."""
    record = read_published(dest) or {"epochs": []}
    rows, most = record["epochs"], record.get("config", {}).get(
        "training", {}).get("epochs")
    lines = []
    for k, row in enumerate(rows[seen:], seen):
        scored = [r for r in rows[:k + 1] if r.get("val_ter") is not None]
        best = min(scored, key=lambda r: r["val_ter"]) if scored else None
        lines.append(
            f"epoch {row['epoch']}" + (f"/{most}" if most else "")
            + f": TER train {score_text(row.get('train_ter'))} val "
            f"{score_text(row.get('val_ter'))}"
            + (f" (best {score_text(best['val_ter'])}, epoch "
               f"{best['epoch']})" if best else "")
            + f", {row.get('time_s', 0):.0f} s")
    return lines, len(rows)


def train_in_workers(configs, histories, jobs, threads, say,
                     on_publish=None):
    """Trains ``{name: config}``, ``jobs`` runs at once in spawned worker
    processes (:func:`_worker`), publishing to ``histories/<name>``
    (calling ``on_publish(histories)`` after each copy); says each epoch
    as it is published, and each run's end (``say``).

    Raises:
        RuntimeError: naming the runs that failed, once every other run
            has finished.
    """
    import concurrent.futures
    import multiprocessing
    context = multiprocessing.get_context("spawn")
    seen = {name: epoch_news(histories / name, 0)[1] for name in configs}

    def news(name):
        lines, seen[name] = epoch_news(histories / name, seen[name])
        for line in lines:
            say(f"{name}: {line}")
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) \
            as pool:
        futures = {pool.submit(_worker, config, threads, histories / name,
                               on_publish): name
                   for name, config in configs.items()}
        failed, pending = {}, set(futures)
        while pending:
            done, pending = concurrent.futures.wait(
                pending, NEWS_EVERY_S,
                return_when=concurrent.futures.FIRST_COMPLETED)
            for future in futures:
                if future in done or (future in pending and
                                      future.running()):
                    news(futures[future])
            for future in done:
                name = futures[future]
                try:
                    stopped = future.result()
                except Exception as err:        # said now; the others go on
                    failed[name] = f"{type(err).__name__}: {err}"
                    say(f"{name}: failed: {failed[name]}")
                    continue
                say(f"{name}: " + (f"diverged: {stopped}" if stopped
                                   else "done"))
    if failed:
        raise RuntimeError(
            f"{len(failed)} of {len(configs)} runs failed (the others "
            "finished or stopped as said above): " + "; ".join(
                f"{name}: {why}" for name, why in failed.items()))


__all__ = ["HISTORY_FILES", "NEWS_EVERY_S", "PRETRAIN_FILES",
           "check_publishable", "copy_history", "epoch_news",
           "finished_under", "history_state", "published_done",
           "read_published", "run_done", "train_in_workers", "will_train"]
