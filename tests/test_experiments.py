"""The Table 4 runner (sed.experiments) and its command line."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from sed.experiments import (SCRATCH_ROWS, SNR_POOL5, TABLE4, TABLE4_COLUMNS,
                             row_config, run_table4, table4, table4_row)
from sed.features import parse_kind

# The recipe, small and fast (as tests/test_sed_train.py).
TINY = {"net": {"units": 8},
        "training": {"batch_size": 3, "chunk_frames": 100, "progress": False}}


def test_rows_are_the_papers():
    assert len(TABLE4) == 13
    assert len({r.name for r in TABLE4}) == len({r.label for r in TABLE4}) \
        == len({r.kind for r in TABLE4}) == 13
    for row in TABLE4:
        parse_kind(row.kind)  # every row is a known feature kind and layer
        assert len(row.paper) == 3 and all(0 < v < 100 for v in row.paper)
    assert table4_row("SN-R gru1-BN") is table4_row("snr:gru1_bn") \
        is table4_row("snr_gru1_bn")
    with pytest.raises(ValueError, match="No Table 4 row 'gru9'.*lowlevel"):
        table4_row("gru9")


def test_scratch_rows_repeat_the_student_rows_on_the_scratch_students():
    from soundnet_keras.weights import PRESETS
    students = [r for r in TABLE4[:7] + (SNR_POOL5,) + TABLE4[7:]
                if r.kind.startswith(("snf:", "snr:"))]
    assert [r.name for r in SCRATCH_ROWS] == [f"{r.name}_scratch"
                                              for r in students]
    for row, student in zip(SCRATCH_ROWS, students):
        assert (row.kind, row.paper) == (student.kind, student.paper)
        assert row.label == \
            f"{student.label.replace(' / SN-R', '')} (from scratch)"
        assert row.weights == f"{row.kind[:3]}_scratch_pool"
        assert row.weights in PRESETS
        assert table4_row(row.name) is row   # by name, not the trunk row
    cfg = row_config(table4_row("snr_gru1_bn_scratch"), "corpus", 3, "runs")
    assert cfg["feats"]["weights"] == "snr_scratch_pool"
    assert cfg["training"]["out"] == str(Path("runs") / "snr_gru1_bn_scratch")


def test_row_config_sets_kind_corpus_epochs_and_folder(tmp_path):
    cfg = row_config(table4_row("snf_fc1"), "corpus", 3, tmp_path, TINY)
    assert cfg["feats"]["kind"] == "snf:fc1"
    # the student rows name their preset: the pretrained-trunk students
    assert cfg["feats"]["weights"] == "snf_trunk_pool"
    assert row_config(table4_row("snr_gru1"), "corpus", 3, tmp_path)[
        "feats"]["weights"] == "snr_trunk_pool"
    assert row_config(table4_row("lowlevel"), "corpus", 3, tmp_path)[
        "feats"]["weights"] == "default"
    assert cfg["training"]["out"] == str(tmp_path / "snf_fc1")
    assert cfg["training"]["epochs"] == 3 and cfg["net"]["units"] == 8
    assert cfg["opt"]["learning_rate"] == 3.0  # the rest: the defaults
    assert TINY["training"].get("epochs") is None  # base left untouched


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from sed.corpora import make_default_corpus
    return make_default_corpus(tmp_path_factory.mktemp("corpus"), minutes=1,
                               seed=0)


def test_run_table4_writes_histories_and_resumes(corpus, tmp_path):
    runs, histories = tmp_path / "runs", tmp_path / "histories"
    lines = []
    table = run_table4(corpus.root, 1, runs, histories, rows=["lowlevel"], seeds=[0],
                       base=TINY, log=lines.append, progress=False)
    assert list(table.columns) == list(TABLE4_COLUMNS)
    assert table["row"].tolist() == ["lowlevel"]
    first = table.iloc[0]
    assert first["epochs"] == 1 and first["status"] == "finished"
    assert first["paper_val_ter"] == pytest.approx(0.828)
    for name in ("history.json", "history.csv", "config.yaml"):
        assert (histories / "lowlevel-seed0" / name).is_file(), name
    record = json.loads((histories / "lowlevel-seed0" / "history.json").read_text())
    assert record["provenance"]["command"] and record["provenance"]["commit"]
    assert first["val_ter"] == pytest.approx(record["epochs"][-1]["val_ter"])
    saved = pd.read_csv(histories / "table4.csv")
    assert saved["row"].tolist() == ["lowlevel"]

    lines.clear()  # done rows are skipped ...
    run_table4(corpus.root, 1, runs, histories, rows=["lowlevel"], seeds=[0], base=TINY,
               log=lines.append, progress=False)
    assert any("finished after 1 epochs, skipped" in line for line in lines)
    lines.clear()  # ... and more epochs continue them
    table = run_table4(corpus.root, 2, runs, histories, rows=["lowlevel"], seeds=[0],
                       base=TINY, log=lines.append, progress=False)
    assert any("resuming after epoch 1" in line for line in lines)
    assert table.iloc[0]["epochs"] == 2
    assert sum("epoch 2/2" in line for line in lines) == 1
    rows = json.loads((histories / "lowlevel-seed0" / "history.json").read_text())
    assert [r["epoch"] for r in rows["epochs"]] == [1, 2]


def test_table4_rows_in_worker_processes(corpus, tmp_path):
    """``jobs`` > 1 trains in worker processes and publishes the same
    files; a second call finds the rows done."""
    runs, histories = tmp_path / "runs", tmp_path / "histories"
    lines = []
    table = run_table4(corpus.root, 1, runs, histories, rows=["lowlevel"], seeds=[0],
                       base=TINY, log=lines.append, jobs=2)
    assert any("queued, to epoch 1" in line for line in lines)
    assert "lowlevel-seed0: done" in lines
    # each epoch is said as it is published, before the run's end
    said = [line for line in lines if line.startswith(
        "lowlevel-seed0: epoch 1/1: TER train ")]
    assert len(said) == 1 and " (best " in said[0], lines
    assert lines.index(said[0]) < lines.index("lowlevel-seed0: done")
    assert table.iloc[0]["epochs"] == 1
    assert table.iloc[0]["status"] == "finished"
    for name in ("history.json", "history.csv", "config.yaml"):
        assert (histories / "lowlevel-seed0" / name).is_file(), name
    assert pd.read_csv(histories / "table4.csv")["row"].tolist() == [
        "lowlevel"]
    lines.clear()
    run_table4(corpus.root, 1, runs, histories, rows=["lowlevel"], seeds=[0], base=TINY,
               log=lines.append, jobs=2)
    assert any("finished after 1 epochs, skipped" in line for line in lines)


def test_diverged_rows_are_reported_and_skipped(tmp_path):
    runs, histories = tmp_path / "runs", tmp_path / "histories"
    run = runs / "lowlevel-seed0"
    run.mkdir(parents=True)
    (run / "history.json").write_text(json.dumps(dict(
        config={"training": {"epochs": 5}}, provenance={},
        stopped="Training diverged in epoch 2, step 3",
        epochs=[{"epoch": 1, "train_ter": 0.9, "val_ter": 0.95,
                 "test_ter": 0.97}])))
    lines = []
    table = run_table4("no-corpus-needed", 5, runs, histories,
                       rows=["lowlevel"], seeds=[0], log=lines.append)
    assert "diverged before" in lines[0] and str(run) in lines[0]
    assert table.iloc[0]["status"] == "diverged"
    assert table.iloc[0]["best_epoch"] == 1


def test_table4_of_an_empty_folder_is_empty(tmp_path):
    assert table4(tmp_path).empty


def test_cli_experiments(corpus, tmp_path, capsys):
    from sed.cli import main
    base = tmp_path / "base.yaml"
    base.write_text("net: {units: 8}\ntraining: {chunk_frames: 100}\n")
    args = ["experiments", "table4", "--corpus", str(corpus.root),
            "--epochs", "1", "--config", str(base), "--runs",
            str(tmp_path / "runs"), "--histories", str(tmp_path / "h"),
            "--no-progress"]
    assert main(args + ["--rows", "lowlevel", "--seeds", "0"]) == 0
    out = capsys.readouterr().out
    assert "lowlevel-seed0" in out and "table4.csv" in out
    assert (tmp_path / "h" / "table4.csv").is_file()
    assert main(args + ["--rows", "bogus"]) == 2
    assert "No Table 4 row 'bogus'" in capsys.readouterr().err

    image = tmp_path / "fig" / "curves.png"
    assert main(["plot", str(tmp_path / "runs" / "lowlevel-seed0"), str(
        tmp_path / "h" / "lowlevel-seed0" / "history.json"), "--out",
        str(image)]) == 0
    assert image.read_bytes()[:4] == b"\x89PNG"
    assert main(["plot", str(tmp_path), "--out", str(image)]) == 2
    assert "no history.json" in capsys.readouterr().err
    shutil.rmtree(tmp_path / "runs")


def test_histories_are_published_after_every_epoch(corpus, tmp_path):
    copy = tmp_path / "histories" / "lowlevel-seed0" / "history.json"
    seen = []

    def log(line):
        if line.startswith("epoch 2/2"):  # logged before the 2nd publish
            seen.append(len(json.loads(copy.read_text())["epochs"]))
    run_table4(corpus.root, 2, tmp_path / "runs", tmp_path / "histories",
               rows=["lowlevel"], seeds=[0], base=TINY, log=log, progress=False)
    assert seen == [1]
    assert len(json.loads(copy.read_text())["epochs"]) == 2


def test_published_evidence_is_never_overwritten(corpus, tmp_path):
    runs, histories = tmp_path / "runs", tmp_path / "histories"
    run_table4(corpus.root, 2, runs, histories, rows=["lowlevel"], seeds=[0],
               base=TINY, log=None, progress=False)
    published = (histories / "lowlevel-seed0" / "history.json").read_text()
    # a fresh run to 3 epochs does not replace the 2-epoch history until
    # it has caught up ...
    copy = histories / "lowlevel-seed0" / "history.json"
    lines, kept = [], []

    def log(line):
        lines.append(line)
        if line.startswith("epoch 2/3"):  # after the 1st epoch's publish
            kept.append(copy.read_text() == published)
    run_table4(corpus.root, 3, tmp_path / "fresh", histories,
               rows=["lowlevel"], seeds=[0], base=TINY, log=log,
               progress=False)
    assert kept == [True]
    assert any("published history has 2 epochs, this run 1" in line
               for line in lines)
    assert len(json.loads(copy.read_text())["epochs"]) == 3
    published = copy.read_text()
    # ... and a run with another config is refused before training
    other = {**TINY, "opt": {"learning_rate": 0.5}}
    with pytest.raises(ValueError, match="holds a history made with another "
                       "config; it is not replaced"):
        run_table4(corpus.root, 1, tmp_path / "other", histories,
                   rows=["lowlevel"], seeds=[0], base=other, log=None, progress=False)
    assert not (tmp_path / "other").exists()
    assert (histories / "lowlevel-seed0" / "history.json").read_text() == published


def test_default_histories_stay_out_of_the_checkout(tmp_path):
    from sed.experiments import COMMITTED_HISTORIES
    committed = COMMITTED_HISTORIES / "table4.csv"
    before = committed.read_bytes() if committed.is_file() else None
    run = tmp_path / "runs" / "lowlevel-seed0"      # a run that diverged
    run.mkdir(parents=True)
    (run / "history.json").write_text(json.dumps(dict(
        config={"training": {"epochs": 5}}, provenance={},
        stopped="Training diverged", epochs=[])))
    run_table4("no-corpus", 1, tmp_path / "runs", rows=["lowlevel"], seeds=[0],
               log=None)
    assert (tmp_path / "runs" / "histories" / "table4.csv").is_file()
    assert (committed.read_bytes() if committed.is_file() else None) == \
        before


def test_sweep_runs_rows_seeds_and_variants(corpus, tmp_path):
    from sed.experiments import SWEEP_COLUMNS, run_sweep, sweep_runs
    configs = sweep_runs(["lowlevel"], [0, 1], ["paper", "tanh_clipped"],
                         corpus.root, 1, tmp_path, TINY)
    assert sorted(configs) == [f"lowlevel-{v}-seed{s}" for v in
                               ("paper", "tanh_clipped") for s in (0, 1)]
    tanh = configs["lowlevel-tanh_clipped-seed1"]
    assert tanh["net"]["activation"] == "tanh" and \
        tanh["opt"]["clipnorm"] == 1.0 and tanh["training"]["seed"] == 1
    assert configs["lowlevel-paper-seed0"]["net"]["activation"] == "relu_g"
    pre = sweep_runs(["lowlevel"], [0], ["paper_pretrain"], corpus.root, 1,
                     tmp_path, TINY)["lowlevel-paper_pretrain-seed0"]
    assert pre["training"]["pretrain_epochs"] == 10
    assert pre["net"] == configs["lowlevel-paper-seed0"]["net"]
    assert sweep_runs(["opensmile"], [0], ["paper"], corpus.root, 1,
                      tmp_path)["opensmile-paper-seed0"]["feats"]["kind"] \
        == "opensmile"
    with pytest.raises(ValueError, match="Unknown recipe variant 'adam'"):
        sweep_runs(["lowlevel"], [0], ["adam"], corpus.root, 1, tmp_path)
    tiny = {**TINY, "training": {**TINY["training"], "jit_compile": False}}
    table = run_sweep(corpus.root, 1, ["lowlevel"], [0, 1], ["paper"],
                      tmp_path / "runs", tiny, jobs=2, log=None)
    assert list(table.columns) == list(SWEEP_COLUMNS)
    assert table["run"].tolist() == ["lowlevel-paper-seed0",
                                     "lowlevel-paper-seed1"]
    assert (table["epochs"] == 1).all() and (table["status"] ==
                                             "finished").all()
    assert (tmp_path / "runs" / "sweep.csv").is_file()
    # every run's history is copied to the histories folder as it grows
    for run in table["run"]:
        copied = json.loads((tmp_path / "runs" / "histories" / run /
                             "history.json").read_text())
        assert len(copied["epochs"]) == 1
    assert (tmp_path / "runs" / "histories" / "sweep.csv").is_file()
    lines = []        # finished runs are not trained again
    run_sweep(corpus.root, 1, ["lowlevel"], [0, 1], ["paper"],
              tmp_path / "runs", tiny, jobs=2, log=lines.append)
    assert "2 runs, 0 to train" in " ".join(lines)


def test_copy_history_takes_the_pretraining_history(tmp_path):
    from sed.publishing import copy_history
    run, dest = tmp_path / "run", tmp_path / "published" / "lowlevel"
    (run / "pretrain").mkdir(parents=True)
    record = json.dumps(dict(config={}, provenance={}, epochs=[{"epoch": 1}]))
    (run / "history.json").write_text(record)
    (run / "pretrain" / "history.json").write_text(record)
    assert copy_history(run, dest)
    assert (dest / "history.json").read_text() == record
    assert (dest / "pretrain" / "history.json").read_text() == record
    assert not (dest / "history.csv").exists()   # only what the run has
    assert not list(dest.rglob(".*.part"))


def test_table4_runs_are_rows_by_seeds_with_their_scaling():
    from sed.experiments import TABLE4_PATIENCE, table4_runs
    runs = table4_runs("corpus", 200, "runs", rows=["lowlevel", "snr_gru1"],
                       seeds=[0, 2])
    assert list(runs) == ["lowlevel-seed0", "snr_gru1-seed0",
                          "lowlevel-seed2", "snr_gru1-seed2"]
    low, gru = runs["lowlevel-seed2"], runs["snr_gru1-seed2"]
    assert (low["training"]["seed"], low["training"]["patience"]) == \
        (2, TABLE4_PATIENCE)
    assert low["training"]["out"] == str(Path("runs") / "lowlevel-seed2")
    # per dimension for the low-level feature; one common scale for the
    # network features, so batch norm's scale factors reach the detector
    assert low["feats"]["scaling"] == "dimension"
    assert gru["feats"]["scaling"] == "common"
    assert table4_row("opensmile").scaling == "common"
    # the paper's recipe underneath
    assert gru["net"]["activation"] == "relu_g" and \
        gru["opt"]["clipnorm"] is None


def test_table4_run_stops_on_patience_and_keeps_its_best_epoch(corpus,
                                                                tmp_path):
    """A run stops once its validation TER has not improved for
    ``patience`` epochs; the history says so; the best epoch's test outcome
    is kept, and a second call finds the run finished."""
    from sed.train import finished
    runs, histories = tmp_path / "runs", tmp_path / "histories"
    # lr 0: the validation TER never moves, so epoch 1 stays the best
    still = {**TINY, "opt": {"learning_rate": 1e-12}}
    lines = []
    table = run_table4(corpus.root, 50, runs, histories, rows=["lowlevel"],
                       seeds=[0], patience=2, base=still, log=lines.append,
                       progress=False)
    line = table.iloc[0]
    assert (line["epochs"], line["status"], line["stop_reason"]) == \
        (3, "finished", "patience")
    record = json.loads((histories / "lowlevel-seed0" /
                         "history.json").read_text())
    assert record["finished"] == dict(reason="patience", epoch=3,
                                      best_epoch=1, target_epochs=50)
    assert record["finished"] == finished(record["epochs"], 50, 2)
    best = json.loads((histories / "lowlevel-seed0" /
                       "best_test.json").read_text())
    assert best["epoch"] == 1
    assert best["test_ter"] == record["epochs"][0]["test_ter"]
    names = {r["filename"] for r in best["recordings"]}
    assert names == set(corpus.files("test"))
    errors = sum(r["substitutions"] + r["deletions"] + r["insertions"]
                 for r in best["recordings"])
    assert errors / sum(r["reference_tokens"] for r in best["recordings"]) \
        == pytest.approx(best["test_ter"])
    reference = corpus.events("test")
    assert len(best["reference"]) == len(reference)
    assert {e[3] for e in best["estimated"]} <= set(corpus.classes)
    assert (runs / "lowlevel-seed0" / "best.weights.h5").is_file()
    lines.clear()
    run_table4(corpus.root, 50, runs, histories, rows=["lowlevel"],
               seeds=[0], patience=2, base=still, log=lines.append,
               progress=False)
    assert any("finished after 3 epochs, skipped" in line for line in lines)
    # the run folder lost: the finished published history is the result
    shutil.rmtree(runs)
    published = (histories / "lowlevel-seed0" / "history.json").read_text()
    lines.clear()
    run_table4(corpus.root, 50, runs, histories, rows=["lowlevel"],
               seeds=[0], patience=2, base=still, log=lines.append,
               progress=False)
    assert any("finished after 3 epochs (its published history in" in line
               for line in lines), lines
    assert not (runs / "lowlevel-seed0").exists()
    assert (histories / "lowlevel-seed0" / "history.json").read_text() \
        == published


def test_publishing_over_a_history_of_another_corpus_is_refused(corpus,
                                                                 tmp_path):
    """The same recipe on another corpus never replaces a published
    history: the histories carry their runs' identity (the data too)."""
    from soundnet_keras.runs import RunError
    from sed.corpora import make_default_corpus
    histories = tmp_path / "histories"
    run_table4(corpus.root, 1, tmp_path / "runs", histories,
               rows=["lowlevel"], seeds=[0], base=TINY, log=None,
               progress=False)
    published = {p: p.read_bytes() for p in histories.rglob("*")
                 if p.is_file()}
    other = make_default_corpus(tmp_path / "other", minutes=1, seed=5)
    with pytest.raises(RunError, match=r"lowlevel-seed0 holds a history "
                       r"made from other inputs \(data: there \w{12}, this "
                       r"run \w{12}\); it is not replaced"):
        run_table4(other.root, 2, tmp_path / "runs2", histories,
                   rows=["lowlevel"], seeds=[0], base=TINY, log=None,
                   progress=False)
    assert {p: p.read_bytes() for p in histories.rglob("*")
            if p.is_file()} == published


def test_a_failing_worker_is_said_at_once_and_the_others_finish(corpus,
                                                               tmp_path):
    """In worker processes, a run that fails (here: its published history
    was made from another corpus) is reported when it fails, the other runs
    go on to the end, and the call then raises, naming it."""
    from sed.corpora import make_default_corpus
    histories = tmp_path / "histories"
    other = make_default_corpus(tmp_path / "other", minutes=1, seed=5)
    run_table4(other.root, 1, tmp_path / "runs0", histories,
               rows=["lowlevel"], seeds=[0], base=TINY, log=None,
               progress=False)
    lines = []
    with pytest.raises(RuntimeError, match=r"1 of 2 runs failed.*"
                       r"lowlevel-seed0: RunError: .*made from other inputs"):
        run_table4(corpus.root, 2, tmp_path / "runs", histories,
                   rows=["lowlevel"], seeds=[0, 1], base=TINY,
                   log=lines.append, jobs=2, progress=False)
    assert any(line.startswith("lowlevel-seed0: failed: RunError")
               for line in lines), lines
    assert "lowlevel-seed1: done" in lines
    assert len(json.loads((histories / "lowlevel-seed1" / "history.json")
                          .read_text())["epochs"]) == 2


def test_epoch_news_says_each_new_epoch_with_the_best_so_far(tmp_path):
    from sed.publishing import epoch_news
    assert epoch_news(tmp_path / "none", 0) == ([], 0)
    rows = [dict(epoch=e, train_ter=t, val_ter=v, time_s=31.6)
            for e, t, v in ((1, 0.9, 0.85), (2, 0.7, 0.8), (3, 0.5, 0.82))]
    (tmp_path / "history.json").write_text(json.dumps(dict(
        config={"training": {"epochs": 200}}, epochs=rows)))
    lines, seen = epoch_news(tmp_path, 1)
    assert seen == 3
    assert lines == [
        "epoch 2/200: TER train 0.700 val 0.800 (best 0.800, epoch 2), 32 s",
        "epoch 3/200: TER train 0.500 val 0.820 (best 0.800, epoch 2), 32 s"]
    assert epoch_news(tmp_path, 3) == ([], 3)
