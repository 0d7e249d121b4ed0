"""Crash safety of the run folders of both trainers: a process killed at each
injected point, then the same command again, gives the history and the final
weights of an uninterrupted run; the lock; damaged checkpoints."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from soundnet_keras.runs import (EXIT_AT, EXIT_POINTS, EXIT_STATUS,
                                 RunError, RunFolder)

ROOT = Path(__file__).parent.parent

# Trains the detector for 2 epochs on tiny deterministic data in argv[1].
SED_SCRIPT = """
import sys
import keras, numpy as np
from sed.model import CTCRNN
from sed.train import fit, make_recording
rng = np.random.default_rng(0)
times = (np.arange(60) + 0.5) / 10
def recording(i):
    onset = rng.uniform(0.5, 3.0)
    features = 0.3 * rng.standard_normal((60, 3))
    features[(times >= onset) & (times < onset + 1.5), 0] += 2.0
    return make_recording(features, times, [("a", onset, onset + 1.5)],
                          ["a"], f"r{i}.wav")
data = {"train": [recording(i) for i in range(4)],
        "val": [recording(9)]}
keras.utils.set_random_seed(0)
model = CTCRNN(1, units=6, input_dim=3)
fit(model, data, sys.argv[1], {"net": {"units": 6}, "training": {
    "epochs": 2, "batch_size": 2, "chunk_frames": 30, "seed": 0,
    "jit_compile": False, "progress": False}}, log=None)
"""

# Distils SN-F for 2 short epochs from the targets in argv[1] into argv[2].
DISTILL_SCRIPT = """
import sys
from soundnet_keras.training import DistillConfig, train
train(sys.argv[1], sys.argv[2], DistillConfig(
    epochs=2, steps_per_epoch=2, batch_size=2, seed=0), verbose=0,
    log=None)
"""

TIMES = ("train_s", "time_s")


def run_script(script, args, exit_at=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2",
           "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    env.pop(EXIT_AT, None)
    if exit_at:
        env[EXIT_AT] = exit_at
    return subprocess.run([sys.executable, "-c", script, *map(str, args)],
                          env=env, capture_output=True, text=True,
                          timeout=600)


def history(folder):
    rows = json.loads((folder / "history.json").read_text())["epochs"]
    return [{k: v for k, v in r.items() if k not in TIMES} for r in rows]


def weights(path):
    import h5py
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()])
                     if hasattr(obj, "shape") else None)
    return out


def assert_same_run(a, b, weights_file):
    assert history(a) == history(b)
    wa, wb = weights(a / weights_file), weights(b / weights_file)
    assert wa.keys() == wb.keys() and wa
    for name in wa:
        np.testing.assert_array_equal(wa[name], wb[name], err_msg=name)


def killed_then_resumed(script, args, folder, point):
    killed = run_script(script, args, f"{point}:2")
    assert killed.returncode == EXIT_STATUS, killed.stderr[-3000:]
    again = run_script(script, args)
    assert again.returncode == 0, again.stderr[-3000:]


SLOW_POINTS = [pytest.param(p, marks=pytest.mark.slow)
               if p != "checkpoint_written" else p for p in EXIT_POINTS]
#: Every point slow: the students' trainers share RunFolder with the
#: detector, whose run is killed at checkpoint_written in the default run.
ALL_POINTS_SLOW = [pytest.param(p, marks=pytest.mark.slow)
                   for p in EXIT_POINTS]


@pytest.fixture(scope="module")
def sed_reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sed") / "straight"
    done = run_script(SED_SCRIPT, [folder])
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


@pytest.mark.parametrize("point", SLOW_POINTS)
def test_detector_killed_at_any_point_resumes_exactly(sed_reference,
                                                      tmp_path, point):
    folder = tmp_path / "run"
    killed_then_resumed(SED_SCRIPT, [folder], folder, point)
    assert_same_run(sed_reference, folder, "model.weights.h5")


def test_second_process_is_refused(tmp_path):
    with RunFolder(tmp_path, ["epoch"]):
        with pytest.raises(RunError, match=f"in use by another process "
                           f"\\(pid {os.getpid()}\\)"):
            with RunFolder(tmp_path, ["epoch"]):
                pass
    with RunFolder(tmp_path, ["epoch"]):   # released
        pass


def test_damaged_checkpoint_gives_a_clear_error(sed_reference, tmp_path):
    import shutil
    folder = tmp_path / "run"
    shutil.copytree(sed_reference, folder)
    data = next((folder / "checkpoint").glob("ckpt-2.data-*"))
    data.write_bytes(data.read_bytes()[:100])          # truncated
    from sed.model import CTCRNN
    from sed.train import make_optimizer
    from soundnet_keras.runs import named_variables
    model = CTCRNN(1, units=6, input_dim=3)
    config = json.loads((folder / "history.json").read_text())["config"]
    optimizer = make_optimizer(config["opt"])
    optimizer.build(model.trainable_variables)
    with pytest.raises(RunError, match="ckpt-2: the checkpoint cannot be "
                       "restored .*remove the checkpoint folder"):
        RunFolder(folder, ["epoch"]).restore(named_variables(
            model=model, optimizer=optimizer))
    (folder / "checkpoint" / "latest.json").write_text("{")
    with pytest.raises(RunError, match="latest.json is damaged"):
        RunFolder(folder, ["epoch"]).latest


def test_a_history_keeps_every_target_it_was_run_with(tmp_path):
    """A run asked for 5 epochs, stopped after 2 and finished with
    ``--epochs 2`` still says it was run for 5."""
    from soundnet_keras.runs import RunFolder
    folder = tmp_path / "run"

    def epoch(n, target):
        with RunFolder(folder, ("epoch",), target=target) as run:
            rows = [dict(epoch=e) for e in range(1, n + 1)]
            run.commit({}, dict(epoch=n, rows=rows),
                       dict(config={}, epochs=rows))
    epoch(1, 5)
    epoch(2, 5)
    epoch(2, 2)       # the same run, finished at the epochs it has
    record = json.loads((folder / "history.json").read_text())
    assert record["targets"] == [dict(epochs=5, from_epoch=0),
                                 dict(epochs=2, from_epoch=2)]


def test_a_resumed_history_keeps_the_provenance_of_every_process(tmp_path):
    """The process that started a run stays its ``provenance``; one that
    resumed it (another commit, another date) is listed in ``continued``
    with the epoch it resumed after, once however many epochs it ran."""
    from soundnet_keras.runs import RunFolder
    folder = tmp_path / "run"

    def run(epochs, provenance):
        with RunFolder(folder, ("epoch",), target=5) as run:
            start = run.latest["epoch"] if run.latest else 0
            for n in range(start + 1, epochs + 1):
                rows = [dict(epoch=e) for e in range(1, n + 1)]
                run.commit({}, dict(epoch=n, rows=rows),
                           dict(config={}, provenance=provenance,
                                epochs=rows))
    first = dict(commit="a" * 40, date="2026-12-07T17:00:00+00:00")
    second = dict(commit="b" * 40, date="2026-12-08T09:00:00+00:00")
    run(2, first)
    run(4, second)
    run(5, second)      # same provenance again: not listed twice
    record = json.loads((folder / "history.json").read_text())
    assert record["provenance"] == first
    assert record["continued"] == [dict(from_epoch=2, provenance=second)]
    assert [row["epoch"] for row in record["epochs"]] == [1, 2, 3, 4, 5]
