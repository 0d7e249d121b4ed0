"""Training the CTC-RNN: chunks, loss, schedule, resume, divergence, CLI."""

import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from sed.ctc import ctc_loss
from sed.model import CTCRNN
from sed.train import (Recording, TrainingDiverged, _schedule,
                       batch_order, chunk_recordings, feasible_chunks, fit,
                       frame_loss, load_config, make_batch, make_recording,
                       resolve_config)

CLASSES = ["a", "b"]

# The recipe, small and fast: 8 units, 40-frame chunks, 3 chunks a batch.
TINY = {"net": {"units": 8},
        "training": {"epochs": 1, "batch_size": 3, "chunk_frames": 40,
                     "tolerance": 10, "seed": 0, "progress": False}}


def tiny_data(n=4, frames=90, dim=4, seed=0):
    """Recordings whose features show which class is active, plus noise."""
    rng = np.random.default_rng(seed)
    times = (np.arange(frames) + 0.5) / 10
    out = []
    for i in range(n):
        events = []
        for k, label in enumerate(CLASSES):
            onset = rng.uniform(0.5, 5.0)
            events.append((label, onset, onset + rng.uniform(1.0, 3.0)))
        features = 0.3 * rng.standard_normal((frames, dim))
        for k, (label, onset, offset) in enumerate(events):
            features[(times >= onset) & (times < offset), k] += 2.0
        out.append(make_recording(features, times, events, CLASSES,
                                  f"r{i}.wav"))
    return out


def tiny_model(seed=0):
    keras.utils.set_random_seed(seed)
    return CTCRNN(len(CLASSES), units=8, input_dim=4, activation="tanh")


def mean_loss(model, recordings, config):
    """The training loss over all chunks, without an update."""
    tr = resolve_config(config)["training"]
    chunks = chunk_recordings(recordings, tr["chunk_frames"])
    batch = make_batch(recordings, chunks, tr["chunk_frames"])
    mask = tf.sequence_mask(batch["lengths"], tr["chunk_frames"])
    logits = model(batch["features"], mask=mask)
    return float(frame_loss(logits, batch["lengths"], batch["labels"],
                            batch["label_length"], batch["label_frames"],
                            tr["tolerance"]))


def test_chunks_rebase_tokens_and_mask_the_short_last_chunk():
    rec = Recording(np.arange(23 * 2, dtype="float32").reshape(23, 2) + 1,
                    np.arange(23) / 10, np.array([1, 2, 3, 4]),
                    np.array([2, 9, 10, 22]))
    chunks = chunk_recordings([rec], chunk_frames=10)
    assert [(c.start, c.length) for c in chunks] == [(0, 10), (10, 10),
                                                     (20, 3)]
    assert [c.tokens.tolist() for c in chunks] == [[1, 2], [3], [4]]
    assert [c.frames.tolist() for c in chunks] == [[2, 9], [0], [2]]
    batch = make_batch([rec], chunks, chunk_frames=10, batch_size=5)
    assert batch["features"].shape == (5, 10, 2)
    assert batch["lengths"].tolist() == [10, 10, 3, 0, 0]
    np.testing.assert_array_equal(batch["features"][2, :3], rec.features[20:])
    assert not batch["features"][2, 3:].any() and not batch["features"][
        3:].any()
    assert batch["label_length"].tolist() == [2, 1, 1, 0, 0]
    assert batch["labels"][0, :2].tolist() == [1, 2]
    assert batch["label_frames"][2, 0] == 2
    assert batch["labels"].shape[1] % 8 == 0


def test_batch_order_depends_only_on_seed_and_epoch():
    first = batch_order(23, 5, seed=3, epoch=4)
    assert [len(b) for b in first] == [5, 5, 5, 5, 3]
    assert sorted(np.concatenate(first).tolist()) == list(range(23))
    again = batch_order(23, 5, seed=3, epoch=4)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    other = np.concatenate(batch_order(23, 5, seed=3, epoch=5))
    assert not np.array_equal(np.concatenate(first), other)


def test_frame_loss_is_summed_nll_over_valid_frames():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 12, 5)).astype("float32")
    lengths = [12, 7, 3]
    labels = np.array([[1, 2, 3], [4, 1, 0], [2, 0, 0]], np.int32)
    label_length = [3, 2, 1]
    frames = np.array([[2, 5, 9], [1, 4, 0], [1, 0, 0]], np.int32)
    loss = float(frame_loss(logits, lengths, labels, label_length, frames, 2))
    direct = sum(float(ctc_loss(labels[b:b + 1, :n], logits[b:b + 1, :t],
                                [n], [t], frames[b:b + 1, :n], 2)[0])
                 for b, (t, n) in enumerate(zip(lengths, label_length)))
    np.testing.assert_allclose(loss, direct / 22, rtol=1e-5)
    # without hinting, against TensorFlow's own CTC
    reference = tf.nn.ctc_loss(labels, logits, label_length, lengths,
                               logits_time_major=False, blank_index=0)
    np.testing.assert_allclose(
        float(frame_loss(logits, lengths, labels, label_length)),
        float(tf.reduce_sum(reference)) / 22, rtol=1e-5)
    # a sequence of weight 0 counts neither in the sum nor in the frames
    weighted = frame_loss(logits, lengths, labels, label_length, frames, 2,
                          weights=[1, 0, 1])
    kept = sum(float(ctc_loss(labels[b:b + 1, :n], logits[b:b + 1, :t],
                              [n], [t], frames[b:b + 1, :n], 2)[0])
               for b, (t, n) in enumerate(zip(lengths, label_length))
               if b != 1)
    np.testing.assert_allclose(float(weighted), kept / 15, rtol=1e-5)


def test_infeasible_chunks_are_found():
    recs = [Recording(np.zeros((6, 1), "float32"), np.arange(6) / 10,
                      np.array([1, 2, 1, 2]), np.array([0, 1, 1, 2])),
            Recording(np.zeros((6, 1), "float32"), np.arange(6) / 10,
                      np.array([1, 2]), np.array([0, 5]))]
    chunks = chunk_recordings(recs, chunk_frames=3)
    # chunk 0 holds four tokens (and two blanks they need) in three frames
    assert [len(c.tokens) for c in chunks] == [4, 0, 1, 1]
    assert feasible_chunks(chunks, 1, 5, 3).tolist() == [False, True, True,
                                                         True]
    # hinting: a token at frame 2 with tolerance 0 must sit at frame 2
    assert feasible_chunks(chunks, 0, 5, 3).tolist() == [False, True, True,
                                                         True]


def test_config_defaults_and_errors(tmp_path):
    cfg = resolve_config()
    assert cfg["opt"]["momentum"] == 0.9 and cfg["opt"]["nesterov"] and \
        cfg["opt"]["lr_factor"] == 0.8 and cfg["opt"]["lr_patience"] == 5
    assert cfg["training"]["batch_size"] == 5 and \
        cfg["training"]["chunk_frames"] == 500 and \
        cfg["training"]["tolerance"] == 10 and cfg["training"]["epochs"] == 200
    assert cfg["net"]["units"] == 400 and cfg["opt"]["learning_rate"] == 3.0
    assert cfg["net"]["relu_max"] is None and cfg["opt"]["clipnorm"] is None
    assert cfg["net"]["activation"] == "relu_g"   # ReLU on the cell input
    assert cfg["net"]["glorot"] == "fused"
    with pytest.raises(ValueError, match="unknown config section 'optim'"):
        resolve_config({"optim": {}})
    for bad, message in [
            ({"net": {"units": "400"}}, r"net.units must be an integer >= 1"
             r". Received '400' \(str\)"),
            ({"opt": {"learning_rate": -1}}, "opt.learning_rate must be a "
             "number > 0"),
            ({"opt": {"momentum": 1.5}}, "opt.momentum must be a number >= "
             "0 and <= 1"),
            ({"net": {"activation": "gelu"}}, "net.activation must be one of "
             "'tanh', 'relu', 'relu_g'"),
            ({"training": {"jit_compile": "yes"}}, "training.jit_compile "
             "must be true or false"),
            ({"training": "fast"}, "section 'training' must be a mapping")]:
        with pytest.raises(ValueError, match=message):
            resolve_config(bad)
    broken = tmp_path / "broken.yaml"
    broken.write_text("net:\n  units: 8\n opt: [\n")
    with pytest.raises(ValueError, match=r"broken.yaml: not valid YAML at "
                       r"line 3, column 2"):
        load_config(broken)
    typed = tmp_path / "typed.yaml"
    typed.write_text("training:\n  epochs: ten\n")
    with pytest.raises(ValueError, match="typed.yaml: training.epochs must "
                       "be an integer >= 0. Received 'ten'"):
        load_config(typed)
    with pytest.raises(ValueError, match="training.epochs 0 trains nothing"):
        resolve_config({"training": {"epochs": 0}})
    assert resolve_config({"training": {"epochs": 0, "pretrain_epochs": 2}})
    path = tmp_path / "c.yaml"
    path.write_text("opt:\n  learning_rate: 0.5\nfeats:\n  kind: lowlevel\n")
    cfg = load_config(path)
    assert cfg["opt"]["learning_rate"] == 0.5 and cfg["feats"]["kind"] == \
        "lowlevel" and cfg["opt"]["momentum"] == 0.9


@pytest.mark.parametrize("name", ["paper", "lowlevel", "soundnet8_conv5",
                                  "opensmile", "demo"])
def test_example_configs(name):
    """The paper's recipe in full; a Table 4 row's config is that row's run
    as ``sed-ctc experiments table4`` makes it (seed 0)."""
    from sed.experiments import table4_runs
    path = Path(__file__).parent.parent / "sed" / "configs" / f"{name}.yaml"
    cfg = load_config(path)
    assert cfg["training"]["corpus"] and cfg["training"]["out"]
    where = {key: cfg["training"][key] for key in ("corpus", "out")}
    if name == "paper":
        assert cfg == resolve_config({"feats": cfg["feats"],
                                      "training": where})
    elif name != "demo":
        row = table4_runs(where["corpus"], rows=[name], seeds=[0])[
            f"{name}-seed0"]
        row["training"].update(where, progress=True)
        assert cfg == row


def test_lr_decays_after_five_epochs_without_improvement():
    opt = {"lr_factor": 0.8, "lr_patience": 5}
    optimizer = keras.optimizers.SGD(3.0)
    schedule = _schedule(opt, optimizer)
    lrs = []
    for epoch, ter in enumerate([0.9, 0.8, 0.8, 0.85, 0.8, 0.81, 0.8, 0.7,
                                 0.7]):
        lrs.append(float(optimizer.learning_rate))
        schedule.on_epoch_end(epoch, {"val_ter": ter})
    # no strict improvement on 0.8 in epochs 3-7: epoch 8 runs at 3.0 x 0.8
    assert lrs == [3.0] * 7 + [pytest.approx(2.4)] * 2
    assert schedule.best == 0.7 and schedule.wait == 1


@pytest.fixture(scope="module")
def one_epoch(tmp_path_factory):
    """A run folder after one epoch of training on tiny data."""
    data = {"train": tiny_data(), "val": tiny_data(2, seed=1)}
    run = tmp_path_factory.mktemp("one") / "run"
    model = tiny_model()
    before = mean_loss(model, data["train"], TINY)
    rows = fit(model, data, run, TINY, log=None)
    return dict(data=data, run=run, rows=rows, before=before,
                after=mean_loss(model, data["train"], TINY))


def test_one_epoch_reduces_the_loss(one_epoch):
    assert one_epoch["after"] < one_epoch["before"]
    rows, run = one_epoch["rows"], one_epoch["run"]
    assert len(rows) == 1 and rows[0]["steps"] == 4   # 12 chunks / 3
    assert 0 <= rows[0]["val_ter"] and rows[0]["test_ter"] is None
    assert (run / "model.weights.h5").is_file()
    history = json.loads((run / "history.json").read_text())
    assert history["config"]["net"]["units"] == 8
    assert set(history["provenance"]) >= {"command", "commit", "date",
                                          "machine"}
    csv = pd.read_csv(run / "history.csv")
    assert list(csv.columns[:5]) == ["epoch", "train_loss", "train_ter",
                                     "val_ter", "test_ter"]


def test_resumed_run_equals_uninterrupted_run(one_epoch, tmp_path):
    data = one_epoch["data"]
    two = {**TINY, "training": {**TINY["training"], "epochs": 2}}
    straight = tiny_model()
    rows = fit(straight, data, tmp_path / "a", two, log=None)
    shutil.copytree(one_epoch["run"], tmp_path / "b")   # stopped after 1
    resumed = tiny_model(seed=7)      # another init: the checkpoint wins
    messages = []
    rows_b = fit(resumed, data, tmp_path / "b", two, log=messages.append)
    assert any("Resuming" in m for m in messages)
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
    keys = ["epoch", "train_loss", "train_ter", "val_ter", "lr",
            "grad_norm_mean"]
    assert [[r[k] for k in keys] for r in rows] == \
        [[r[k] for k in keys] for r in rows_b]
    with pytest.raises(ValueError, match="another config"):
        other = {**two, "opt": {"learning_rate": 0.2}}
        fit(tiny_model(), data, tmp_path / "b", other, log=None)


def test_non_finite_loss_stops_and_keeps_the_checkpoint(one_epoch, tmp_path):
    data = one_epoch["data"]
    run = tmp_path / "run"
    shutil.copytree(one_epoch["run"], run)
    saved = (run / "checkpoint" / "ckpt-1.index").read_bytes()
    broken = [r._replace(features=r.features * np.nan) for r in data["train"]]
    two = {**TINY, "training": {**TINY["training"], "epochs": 2}}
    with pytest.raises(TrainingDiverged, match="epoch 2, step 1.*after "
                       "epoch 1 is kept"):
        fit(tiny_model(), {**data, "train": broken}, run, two, log=None)
    assert json.loads((run / "checkpoint" / "latest.json").read_text())[
        "epoch"] == 1
    assert (run / "checkpoint" / "ckpt-1.index").read_bytes() == saved
    history = json.loads((run / "history.json").read_text())
    assert len(history["epochs"]) == 1 and "diverged" in history["stopped"]


# --------------------------------------------------------------------------
# The command line on the default corpus.

@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from sed.corpora import make_default_corpus
    return make_default_corpus(tmp_path_factory.mktemp("corpus"),
                                    minutes=1, seed=0)


def test_cli_train_evaluate_detect(corpus, tmp_path, capsys):
    from sed.cli import main
    run = tmp_path / "run"
    config = tmp_path / "c.yaml"
    config.write_text(
        "net: {units: 8}\n"
        "feats: {kind: lowlevel}\n"
        f"training: {{corpus: {corpus.root}, out: {run}, epochs: 2, "
        "chunk_frames: 100}\n")
    assert main(["train", "--config", str(config), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "epoch 1/2" in out and "epoch 2/2" in out and "done" in out
    for name in ("config.yaml", "detector.json", "history.json",
                 "history.csv", "model.weights.h5",
                 "features/normaliser.npz", "features/lowlevel_pca.npz",
                 "checkpoint/latest.json"):
        assert (run / name).is_file(), name
    assert len(json.loads((run / "history.json").read_text())["epochs"]) == 2

    report = tmp_path / "eval.json"
    assert main(["evaluate", "--model", str(run), "--corpus",
                 str(corpus.root), "--json", str(report),
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "ter" in out and "event_f1" in out
    record = json.loads(report.read_text())
    table = record["metrics"]
    assert [r["split"] for r in table] == ["train", "val", "test"]
    assert all(r["reference_tokens"] > 0 for r in table)
    assert record["model"] == str(run) and record["provenance"]["commit"]

    # The same with a setuptools that has no pkg_resources (>= 81, as in a
    # fresh Python 3.12+ environment): sed_eval's dcase_util imports it
    import subprocess
    import sys
    blocked = tmp_path / "eval_blocked.json"
    done = subprocess.run([sys.executable, "-c", (
        "import sys; sys.modules['pkg_resources'] = None\n"
        "from sed.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "import pkg_resources")] + [
        "evaluate", "--model", str(run), "--corpus", str(corpus.root),
        "--json", str(blocked), "--no-progress"],
        capture_output=True, text=True)
    assert "ModuleNotFoundError: import of pkg_resources halted" in \
        done.stderr, done.stderr      # still blocked after evaluate
    assert json.loads(blocked.read_text())["metrics"] == table

    wav = str(corpus.audio_path(corpus.files("test")[0]))
    assert main(["detect", wav, "--model", str(run), "--tsv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "filename\tonset\toffset\tevent_label"
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    assert main(["detect", wav, str(bad), "--model", str(run)]) == 1
    assert "bad.wav" in capsys.readouterr().err
    # Missing inputs are refused before anything starts.
    assert main(["detect", wav, "missing.wav", "--model", str(run)]) == 2
    captured = capsys.readouterr()
    assert "missing.wav" in captured.err
    assert main(["evaluate", "--model", str(tmp_path), "--corpus",
                 str(corpus.root)]) == 2


def test_resume_on_other_data_is_refused(corpus, tmp_path):
    """Resuming with another corpus replaces nothing in the run folder."""
    import shutil
    from soundnet_keras.runs import RunError
    from sed.train import train
    config = {"net": {"units": 4}, "feats": {"kind": "lowlevel"},
              "training": {"corpus": str(corpus.root), "out": str(
                  tmp_path / "run"), "epochs": 1, "chunk_frames": 100,
                  "jit_compile": False, "progress": False}}
    train(config, log=None)
    other = tmp_path / "other"
    shutil.copytree(corpus.root, other, ignore=shutil.ignore_patterns(
        "features"))
    test_tsv = other / "test.tsv"
    lines = test_tsv.read_text().splitlines()
    lines = lines[:1] + lines[2:]          # one event fewer in the test split
    test_tsv.write_text("\n".join(lines) + "\n")
    def files():
        return {p: p.read_bytes() for p in (tmp_path / "run").rglob("*")
                if p.is_file() and p.name != "run.lock"}

    before = files()
    again = {**config, "training": {**config["training"], "epochs": 2,
                                    "corpus": str(other)}}
    with pytest.raises(RunError, match=r"run was made from other inputs: "
                       r"data differs \(there \w{12}, now \w{12}\); use "
                       "another folder, or --force-resume"):
        train(again, log=None)
    assert files() == before
    # the identity lives with the checkpoint: deleting detector.json and
    # config.yaml does not let another corpus through
    (tmp_path / "run" / "detector.json").unlink()
    (tmp_path / "run" / "config.yaml").unlink()
    before = files()
    with pytest.raises(RunError, match="data differs"):
        train(again, log=None)
    assert files() == before
    # asked by name, the run goes on with the new data and its identity
    rows = train(again, log=None, force=True)
    assert len(rows) == 2
    record = json.loads((tmp_path / "run" / "history.json").read_text())
    from sed.dataset import prepare_features, data_fingerprint
    from sed.train import run_identity
    assert record["identity"] == run_identity(again, data_fingerprint(
        prepare_features(again, progress=False)[3]))


def test_a_short_run_learns(tmp_path):
    """Fails when training is broken: the short seeded run of
    ``benchmarks/training_threshold.py`` on the built-in corpus ends with a
    training TER of 0.25-0.35 over seeds 0-2 (measured,
    ``benchmarks/results/training_threshold.json``), from 1.0 untrained; it
    must end below 0.6."""
    import importlib.util
    from sed.corpora import make_default_corpus
    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location(
        "training_threshold", root / "benchmarks" / "training_threshold.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    measured = json.loads((root / "benchmarks" / "results" /
                           "training_threshold.json").read_text())
    assert measured["final_train_ter"]["max"] < 0.6 - 0.2  # the margin
    corpus = make_default_corpus(tmp_path / "corpus", minutes=bench.MINUTES,
                                 seed=0)
    rows = bench.short_run(corpus.root, tmp_path / "run", seed=0)
    assert rows[0]["train_ter"] > 0.9     # it starts from nothing ...
    assert rows[-1]["train_ter"] < 0.6    # ... and learns


def test_fit_without_validation_or_test_splits(tmp_path):
    """Only a training split: no validation TER, so no best epoch is kept
    and the run goes its epochs."""
    rows = fit(tiny_model(), {"train": tiny_data()}, tmp_path / "run",
               {**TINY, "training": {**TINY["training"], "epochs": 2}},
               log=None)
    assert [r["val_ter"] for r in rows] == [None, None]
    assert [r["test_ter"] for r in rows] == [None, None]
    assert not (tmp_path / "run" / "best_test.json").exists()
    assert (tmp_path / "run" / "model.weights.h5").is_file()
