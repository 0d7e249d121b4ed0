"""Frame-wise pre-training: frame targets, the classifier, the hand-over to
CTC training, resumption."""

import json

import keras
import numpy as np
import pytest

from sed.dataset import Recording
from sed.model import CTCRNN
from sed.pretrain import FrameClassifier, frame_activity, frame_f1
from sed.train import fit, make_recording, resolve_config
from test_sed_train import CLASSES, TINY, tiny_data


def test_frame_activity_follows_the_events():
    times = (np.arange(40) + 0.5) / 10          # frames of 0.1 s
    # the last event lies within one frame (centre 2.05 s)
    events = [("a", 0.5, 1.5), ("b", 1.0, 3.0), ("a", 2.06, 2.09)]
    rec = make_recording(np.zeros((40, 1)), times, events, CLASSES)
    active = frame_activity(rec, len(CLASSES))
    centres_a = (times >= 0.5) & (times < 1.5)
    centres_b = (times >= 1.0) & (times < 3.0)
    # boundaries snap to the nearest frame: compare away from them
    inside_a = np.flatnonzero(centres_a)[1:-1]
    inside_b = np.flatnonzero(centres_b)[1:-1]
    assert active[inside_a, 0].all() and active[inside_b, 1].all()
    assert not active[times > 3.2, 1].any()
    assert not active[times < 0.4, 0].any()
    # an event shorter than a frame still marks its onset's frame, and no more
    assert active[np.argmin(abs(times - 2.05)), 0]
    assert not active[np.argmin(abs(times - 2.15)), 0]
    assert active.sum(axis=0)[0] == pytest.approx(10 + 1, abs=2)


def test_overlapping_events_of_one_type_stay_active_until_the_last_ends():
    rec = Recording(np.zeros((10, 1), "float32"), np.arange(10) / 10,
                    np.array([1, 1, 2, 2]), np.array([1, 3, 5, 8]))
    assert frame_activity(rec, 1)[:, 0].astype(int).tolist() == \
        [0, 1, 1, 1, 1, 1, 1, 1, 0, 0]


def test_pretraining_learns_and_hands_its_blstm_to_ctc(tmp_path):
    data = {"train": tiny_data(6), "val": tiny_data(2, seed=1)}
    config = resolve_config(TINY)
    config["net"]["activation"] = "tanh"
    config["opt"]["learning_rate"] = 1.0
    config["training"].update(pretrain_epochs=4, epochs=0)
    keras.utils.set_random_seed(0)
    model = CTCRNN(len(CLASSES), units=8, input_dim=4, activation="tanh")
    before = [w.numpy().copy() for w in model.blstm.weights]
    fit(model, data, tmp_path / "run", config, log=None)

    history = json.loads(
        (tmp_path / "run" / "pretrain" / "history.json").read_text())
    rows = history["epochs"]
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    assert rows[-1]["loss"] < rows[0]["loss"]
    # the features show the events: the classifier finds them
    assert rows[-1]["val_frame_f1"] > 0.6

    # CTC starts from the classifier's BiLSTM, not from its own init
    classifier = FrameClassifier(len(CLASSES), 8, 4, "tanh")
    after = [w.numpy() for w in model.blstm.weights]
    assert not all(np.allclose(a, b) for a, b in zip(after, before))
    from soundnet_keras.runs import RunFolder, named_variables
    with RunFolder(tmp_path / "run" / "pretrain", ()) as run:
        run.restore(named_variables(model=classifier), partial=True)
    for mine, theirs in zip(after, classifier.blstm.weights):
        np.testing.assert_array_equal(mine, theirs.numpy())
    assert frame_f1(classifier, data["val"]) == \
        pytest.approx(rows[-1]["val_frame_f1"], abs=0.02)

    # a second call resumes: nothing is trained again
    mtime = (tmp_path / "run" / "pretrain" / "history.json").stat().st_mtime
    model2 = CTCRNN(len(CLASSES), units=8, input_dim=4, activation="tanh")
    fit(model2, data, tmp_path / "run", config, log=None)
    for mine, theirs in zip(model2.blstm.weights, classifier.blstm.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    assert (tmp_path / "run" / "pretrain" / "history.json").stat() \
        .st_mtime == mtime


def test_pretrain_epochs_is_checked():
    with pytest.raises(ValueError, match="pretrain_epochs"):
        resolve_config({"training": {"pretrain_epochs": -1}})
