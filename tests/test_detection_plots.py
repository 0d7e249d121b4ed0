"""Pictures of what the detector hears and decides (sed.plots,
``sed-ctc detect --plot``) and of what SoundNet hears over time
(soundnet_keras.plots, ``soundnet-keras predict --plot``)."""

import matplotlib
import numpy as np
import pandas as pd
import pytest
import soundfile

from sed import plots as sp
from sed.decode import decode_events
from sed.detector import load_detector, save_detector
from sed.events import write_tsv
from sed.features import Normaliser, make_extractor
from sed.model import CTCRNN
from sed.train import resolve_config
from soundnet_keras import plots as kp

matplotlib.use("Agg")

CLASSES = ["dog", "car"]


def titles(fig):
    return [ax.get_title(loc="left") or ax.get_title() for ax in fig.axes]


def one_hot_path(path, classes=CLASSES):
    """Near one-hot probabilities along a best path of tokens."""
    probs = np.full((len(path), 2 * len(classes) + 1), 0.01)
    probs[np.arange(len(path)), path] = 1.0
    return probs / probs.sum(1, keepdims=True)


def test_plot_detection_draws_the_three_panels_with_reference():
    times = np.arange(40) * 0.1 + 0.05
    path = [0] * 40
    path[5], path[20], path[22], path[30] = 1, 2, 3, 4   # dog 0.55-2.05 s
    probs = one_hot_path(path)
    events = decode_events(probs, times, CLASSES)
    assert events["event_label"].tolist() == ["dog", "car"]
    reference = pd.DataFrame({"onset": [0.5], "offset": [2.0],
                              "event_label": ["dog"]})
    fig = sp.plot_detection(np.zeros(64000), CLASSES, probs, times, events,
                            reference)
    assert len(fig.axes) == 3
    spec, post, roll = fig.axes
    assert titles(fig)[:2] == list(sp.DETECTION_PANELS[:2])
    assert titles(fig)[2] == "event roll: 2 decoded, 1 in the reference"
    assert spec.images[0].get_array().shape == (40, 400)   # 40 mels x 4 s
    # the blank is the grey area; the onset peak of "dog" is a line
    blank = post.collections[0]
    assert blank.get_label() == "blank"
    dog_on = [line for line in post.get_lines()
              if line.get_label() == "dog onset"][0]
    assert dog_on.get_ydata().argmax() == 5
    # two rows (dog, car); dog has a decoded and a reference bar
    assert [t.get_text() for t in roll.get_yticklabels()] == ["dog", "car"]
    assert len(roll.collections) == 4      # decoded + reference per class
    assert roll.get_xlim() == (0, 4.0)


def test_plot_detection_without_events_and_reference():
    times = np.arange(10) * 0.1 + 0.05
    probs = one_hot_path([0] * 10)
    events = decode_events(probs, times, CLASSES)
    assert events.empty
    fig = sp.plot_detection(np.zeros(16000), CLASSES, probs, times, events)
    assert len(fig.axes) == 3
    roll = fig.axes[2]
    assert roll.get_title(loc="left") == "event roll: 0 decoded"
    assert [t.get_text() for t in roll.texts] == ["no events"]
    legend = fig.axes[1].get_legend().get_texts()
    assert [t.get_text() for t in legend] == ["blank", "onset", "offset"]


def test_plot_detection_of_a_recording_and_its_reference_only():
    reference = pd.DataFrame({"onset": [0.5, 1.0], "offset": [2.0, 3.0],
                              "event_label": ["car", "dog"]})
    fig = sp.plot_detection(np.zeros(48000), CLASSES, reference=reference)
    assert titles(fig) == ["log-mel spectrogram",
                           "event roll: 2 in the reference"]
    roll = fig.axes[1]
    assert [t.get_text() for t in roll.get_yticklabels()] == ["dog", "car"]
    assert titles(sp.plot_detection(np.zeros(48000), CLASSES)) == [
        "log-mel spectrogram"]


def test_reference_events_reads_tsv_and_keeps_one_recording(tmp_path):
    table = pd.DataFrame({"filename": ["a.wav", "b.wav"], "onset": [0.0, 1.0],
                          "offset": [1.0, 2.0], "event_label": ["dog", "car"]})
    write_tsv(table, tmp_path / "ref.tsv")
    mine = sp.reference_events(tmp_path / "ref.tsv", "/x/b.wav")
    assert mine["event_label"].tolist() == ["car"]
    assert sp.reference_events(table, "c.wav").empty
    with pytest.raises(FileNotFoundError):
        sp.reference_events(tmp_path / "missing.tsv", "a.wav")
    with pytest.raises(ValueError, match="cat"):
        sp.reference_events(table.assign(event_label="cat"), "a.wav",
                            classes=CLASSES)
    with pytest.raises(ValueError, match="ref.tsv"):
        sp.reference_events(tmp_path / "ref.tsv", "a.wav", classes=["dog"])


def test_plot_posterior_epochs_one_panel_per_epoch():
    times = np.arange(10) * 0.1
    snaps = {1: one_hot_path([0] * 10), 5: one_hot_path([0, 1] + [0] * 8)}
    fig = sp.plot_posterior_epochs(snaps, times, CLASSES,
                                   pd.DataFrame({"onset": [0.1],
                                                 "offset": [0.5],
                                                 "event_label": ["dog"]}))
    assert titles(fig) == ["after epoch 1", "after epoch 5"]


@pytest.fixture(scope="module")
def blank_run(tmp_path_factory):
    """A run folder whose detector always says blank (no events), on the
    low-level feature fitted to one synthetic recording."""
    root = tmp_path_factory.mktemp("detector")
    rng = np.random.default_rng(0)
    fit_wav = root / "fit.wav"
    soundfile.write(fit_wav, 0.1 * rng.standard_normal(48000), 16000)
    extractor = make_extractor("lowlevel", fit_paths=[fit_wav])
    values, _ = extractor(fit_wav)
    model = CTCRNN(n_classes=len(CLASSES), units=4,
                   input_dim=values.shape[1])
    bias = np.zeros(model.vocabulary_size, np.float32)
    bias[0] = 30.0
    model.logits.bias.assign(bias)
    run = root / "run"
    config = resolve_config({"feats": {"kind": "lowlevel"},
                             "training": {"chunk_frames": 100}})
    save_detector(run, model, CLASSES, extractor,
                  Normaliser().fit([values]), config)
    model.save_weights(run / "model.weights.h5")
    short = root / "one_second.wav"
    soundfile.write(short, 0.1 * rng.standard_normal(16000), 16000)
    return run, short


def test_detection_figure_of_a_one_second_recording(blank_run):
    run, short = blank_run
    fig, events = sp.detection_figure(load_detector(run), short)
    assert events.empty and list(events.columns) == [
        "filename", "onset", "offset", "event_label"]
    assert len(fig.axes) == 3
    assert fig.axes[2].get_xlim() == (0, 1.0)
    post = fig.axes[1]
    blank = post.collections[0].get_paths()[0].vertices[:, 1]
    assert blank.max() == pytest.approx(1.0)


def test_cli_detect_plot_with_reference(blank_run, tmp_path, capsys):
    from sed.cli import main
    run, short = blank_run
    reference = tmp_path / "ref.tsv"
    write_tsv(pd.DataFrame({"filename": [short.name], "onset": [0.2],
                            "offset": [0.7], "event_label": ["car"]}),
              reference)
    out = tmp_path / "figs" / "detect.png"
    assert main(["detect", str(short), "--model", str(run), "--plot",
                 str(out), "--reference", str(reference)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "no events detected" in capsys.readouterr().out
    # several files: one picture each, named after the file's path below
    # the inputs' common folder (a name in two folders gives two pictures)
    import shutil
    copies = [tmp_path / d / short.name for d in ("D1", "D2")]
    for copy in copies:
        copy.parent.mkdir()
        shutil.copy(short, copy)
    capsys.readouterr()
    assert main(["detect", *map(str, copies), "--model", str(run),
                 "--plot", str(out), "--tsv"]) == 0
    for d in ("D1", "D2"):
        picture = tmp_path / "figs" / f"detect-{d}-{short.name}.png"
        assert picture.is_file()
    err = capsys.readouterr().err
    assert [line[len("wrote "):] for line in err.splitlines()
            if line.startswith("wrote ")] == [
        str(tmp_path / "figs" / f"detect-{d}-{short.name}.png")
        for d in ("D1", "D2")]
    # a folder given as --plot is a folder: the inputs' tree mirrored
    folder = tmp_path / "pictures"
    folder.mkdir()
    assert main(["detect", *map(str, copies), "--model", str(run),
                 "--plot", str(folder)]) == 0
    assert sorted(p.relative_to(folder).as_posix()
                  for p in folder.rglob("*.png")) == [
        f"D1/{short.name}.png", f"D2/{short.name}.png"]
    # the same file twice: refused before any work
    assert main(["detect", str(short), str(short), "--model", str(run),
                 "--plot", str(out)]) == 2
    assert main(["detect", str(short), "--model", str(run), "--reference",
                 str(reference)]) == 2
    assert "--reference needs --plot" in capsys.readouterr().err


# --------------------------------------------------------------------------
# SoundNet's objects and places over time.

def fake_frames(n, objects=("dog", "car", "bus"), places=("street", "park")):
    frames = []
    for i in range(n):
        o = np.linspace(1, 2, len(objects))[::(1 if i % 2 else -1)]
        p = np.linspace(1, 2, len(places))
        frames.append(dict(
            time=5.0 + 2.9 * i,
            objects=list(zip(objects, (o / o.sum()).tolist())),
            places=list(zip(places, (p / p.sum()).tolist()))))
    return frames


def test_prediction_timeline_ranks_classes_by_their_peak():
    table = kp.prediction_timeline(fake_frames(3), "objects", top=2)
    assert table.shape == (3, 2)
    assert list(table.columns) == ["dog", "bus"]    # each peaks at 0.444
    assert table.index.tolist() == pytest.approx([5.0, 7.9, 10.8])


def test_plot_predictions_panels():
    fig = kp.plot_predictions(np.zeros(22050 * 12), 22050, fake_frames(3),
                              top=2)
    assert titles(fig) == list(kp.PREDICTION_PANELS)
    objects = fig.axes[1]
    assert [t.get_text() for t in objects.get_yticklabels()] == ["dog", "bus"]
    assert objects.images[0].get_array().shape == (2, 3)


def test_plot_predictions_of_a_one_second_recording_shades_the_tiling():
    fig = kp.plot_predictions(np.zeros(22050), 22050, fake_frames(1), top=3)
    wave = fig.axes[0]
    from soundnet_keras.predictions import TILE_SECONDS
    assert wave.get_xlim()[1] >= TILE_SECONDS
    assert [p.get_label() for p in wave.patches] == [
        f"repeated to {TILE_SECONDS:g} s"]


@pytest.fixture(scope="module")
def pretrained(real_params):
    import soundnet_keras as sk
    return sk.SoundNet8()


def test_cli_predict_plot(pretrained, tmp_path, capsys):
    from soundnet_keras import cli
    rng = np.random.default_rng(0)
    short = tmp_path / "one_second.wav"
    soundfile.write(short, 0.1 * rng.standard_normal(22050), 22050)
    out = tmp_path / "predict.png"
    assert cli.main(["predict", str(short), "--top", "3", "--plot",
                     str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "places" in capsys.readouterr().out
