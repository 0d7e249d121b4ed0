"""Transfer learning (soundnet_keras.transfer), its clip sets
(sed.corpora.clipset) and its measured results."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sed.corpora.clipset import CLIP_S, load_clip_set, make_clip_set
from soundnet_keras import SoundNet8, extract_features
from soundnet_keras.transfer import (LogMelStatistics, classifier_head,
                                     embedding_model, fine_tune, fit_app,
                                     fit_head, log_mel_embedding)
from soundnet_keras.weights import preset_path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "notebooks" / "results" / "transfer.json"
WEIGHTS = "soundnet8_flickr" if preset_path("soundnet8_flickr").exists() \
    else None
SMALL = dict(train=3, val=1, test=1)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return make_clip_set(tmp_path_factory.mktemp("clips") / "set",
                         "synthetic", per_split=SMALL)


def test_clip_set_layout_and_reload(clips, tmp_path):
    table = clips.table
    assert len(clips.classes) == 17 and len(table) == 17 * 5
    assert clips.waveforms.shape == (85, int(CLIP_S * 16000))
    assert table.groupby(["label", "split"]).size().unstack()[
        ["train", "val", "test"]].values.tolist() == [[3, 1, 1]] * 17
    assert not set(table[table.split == "train"].group) & \
        set(table[table.split != "train"].group)
    # short sounds are repeated to fill the clip, not padded with silence
    for wave, seconds in zip(clips.waveforms, table["seconds"]):
        n = int(round(seconds * 16000))
        assert 16000 <= n < len(wave)
        np.testing.assert_array_equal(wave[n:2 * n][:len(wave) - n],
                                      wave[:len(wave) - n][:n])
    again = load_clip_set(clips.root, 22050)
    assert again.waveforms.shape == (85, int(CLIP_S * 22050))
    assert (again.labels == clips.labels).all()
    with pytest.raises(FileNotFoundError, match="not a clip set.*sed-ctc "
                       "corpus clips"):
        load_clip_set(tmp_path)


def test_standin_clips_need_the_packages(tmp_path):
    with pytest.raises(FileNotFoundError, match="not fetched.*sed-ctc corpus "
                       "fetch --tier small"):
        make_clip_set(tmp_path / "c", "standin", tier="small",
                      cache=tmp_path / "empty-cache")
    assert not (tmp_path / "c").exists()


def test_standin_clips_are_split_by_recording(tmp_path):
    from sed.corpora.standin import standin_available
    if not standin_available("small"):
        pytest.skip("the small tier's packages are not fetched")
    clips = make_clip_set(tmp_path / "c", "standin", tier="small",
                          per_split=dict(train=4, val=2, test=2))
    table = clips.table
    by_split = {s: set(table[table.split == s].group) for s in
                ("train", "val", "test")}
    assert not by_split["train"] & (by_split["val"] | by_split["test"])
    assert not by_split["val"] & by_split["test"]
    assert set(table.label) <= set(clips.classes)
    assert (table.groupby(["label", "split"]).size() <= 4).all()


def test_log_mel_statistics_against_numpy():
    rng = np.random.default_rng(0)
    power = rng.random((2, 8, 30)).astype("float32")
    got = np.asarray(LogMelStatistics()(power))
    x = np.log(power + 1e-6)
    want = np.concatenate([x.mean(-1), x.std(-1)], -1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    embed = log_mel_embedding(16000, bands=64)
    assert embed.predict(np.zeros((1, 16000), "float32"),
                         verbose=0).shape == (1, 128)


@pytest.mark.parametrize("layer", [None, "conv5"])
def test_embedding_is_the_extracted_layer_averaged(layer):
    """The app's embedding equals the project's extractor's frames,
    averaged (an independent path: scaling, chunking, compiled call)."""
    backbone = SoundNet8(include_top=False, weights=WEIGHTS,
                         pooling="avg" if layer is None else None)
    embed = embedding_model(backbone, layer)
    waveform = 0.3 * np.sin(np.arange(3 * 22050) * 0.05).astype("float32")
    got = embed.predict(waveform[None], verbose=0)[0]
    full = SoundNet8(include_top=False, weights=WEIGHTS)
    values, _ = extract_features(waveform, 22050, layer or "conv7",
                                 model=full)
    np.testing.assert_allclose(got, values.mean(0), rtol=1e-4,
                               atol=1e-4 * np.abs(values).max())
    assert not embed.trainable_weights


def test_head_learns_and_fine_tuning_moves_only_the_top(clips):
    backbone = SoundNet8(include_top=False, weights=WEIGHTS, pooling="avg")
    embed = embedding_model(backbone)
    x, y = clips.split("train")
    x = np.stack([np.interp(np.linspace(0, len(w) - 1, 22050 * 2),
                            np.arange(len(w)), w) for w in x]).astype(
                                "float32")           # 2 s, for speed
    emb = embed.predict(x, verbose=0)
    head = classifier_head(emb, len(clips.classes))
    history = fit_head(head, (emb, y), (emb, y), epochs=60)
    assert history.history["accuracy"][-1] > 0.8     # it fits its training
    app = fine_tune(embed, head)
    before = {w.path: np.array(w) for w in app.weights}
    fit_app(app, (x[:16], y[:16]), (x[:16], y[:16]), epochs=1)
    moved = {path.split("/")[0] for path, value in before.items()
             if not np.array_equal(value, np.array(
                 next(w for w in app.weights if w.path == path)))}
    assert moved == {"conv6", "conv7", "head"}, moved
    with pytest.raises(ValueError, match="no layer 'conv9'"):
        fine_tune(embed, head, first="conv9")


BACKEND_SCRIPT = """
import numpy as np, keras
from soundnet_keras import SoundNet8
from soundnet_keras.transfer import classifier_head, embedding_model, fit_head
embed = embedding_model(SoundNet8(include_top=False, weights=None,
                                  pooling="avg"))
assert embed.predict(np.zeros((2, 22050), "float32"), verbose=0).shape == \\
    (2, 1024)
rng = np.random.default_rng(0)
centres = rng.normal(size=(4, 32)) * 3
y = np.repeat(np.arange(4), 20)
x = (centres[y] + rng.normal(size=(80, 32))).astype("float32")
head = classifier_head(x, 4)
history = fit_head(head, (x, y), (x, y), epochs=40)
print(keras.backend.backend(), history.history["accuracy"][-1])
"""


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_head_trains_under_other_backends(backend):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (pip install "
                    f"'soundnet-keras[{backend}]')")
    done = subprocess.run([sys.executable, "-c", BACKEND_SCRIPT],
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, KERAS_BACKEND=backend))
    assert done.returncode == 0, done.stderr[-2000:]
    name, accuracy = done.stdout.split()[-2:]
    assert name == backend and float(accuracy) > 0.9


def test_measured_results_are_complete_and_consistent():
    if not RESULTS.is_file():
        pytest.skip("no measured transfer results yet")
    result = json.loads(RESULTS.read_text())
    assert len(result["seeds"]) >= 3
    assert not result["provenance"]["dirty"]
    assert result["clip_set"]["source"] == "standin"
    for name, row in result["rows"].items():
        assert [s["seed"] for s in row["seeds"]] == result["seeds"], name
        for key in ("test_accuracy", "test_balanced_accuracy"):
            values = [s[key] for s in row["seeds"]]
            assert row[key]["mean"] == pytest.approx(np.mean(values))
            assert row[key]["sd"] == pytest.approx(np.std(values, ddof=1))
            assert all(0 <= v <= 1 for v in values)
        rights = [s["test_right"] for s in row["seeds"]]
        assert all(len(r) == result["clip_set"]["clips"]["test"]
                   for r in rights), name
        assert [r.count("1") / len(r) for r in rights] == pytest.approx(
            [s["test_accuracy"] for s in row["seeds"]]), name


def _rows(**rights):
    return dict(rows={name: dict(seeds=[dict(test_right=r) for r in seeds])
                      for name, seeds in rights.items()})


def test_comparison_is_a_paired_bootstrap_over_clips():
    from conftest import load_script
    comparison = load_script("docs_transfer").comparison
    # One clip in ten flips from wrong to right, on every seed: +0.1, and
    # the interval excludes zero.
    a, b = "1" * 50 + "0" * 150, "1" * 30 + "0" * 170
    diff, low, high, words = comparison(_rows(a=[a, a], b=[b, b]), "a", "b")
    assert diff == pytest.approx(0.1) and 0 < low < 0.1 < high
    assert words == "higher"
    assert comparison(_rows(a=[a, a], b=[b, b]), "b", "a")[3] == "lower"
    # The same clips right, in other seeds' order: no difference to tell.
    diff, low, high, words = comparison(_rows(a=[a, b], b=[b, a]), "a", "b")
    assert diff == pytest.approx(0) and words == "cannot tell"
    # As many clips right, not the same ones: zero, inside its interval.
    c = "0" * 20 + "1" * 50 + "0" * 130
    diff, low, high, words = comparison(_rows(a=[c], b=[a]), "a", "b")
    assert diff == pytest.approx(0) and low < 0 < high
