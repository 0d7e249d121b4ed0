"""Plotting functions of the notebooks, and the recording of Figure 3."""

import json

import matplotlib
import numpy as np
import pytest

from sed import corpora as data
from sed.plots import (FIGURE2_FIELDS, plot_convergence, plot_table4,
                       table4_comparison)
from soundnet_keras.plots import (plot_activations, plot_variant_kl,
                                  read_history, transition_contrast)

matplotlib.use("Agg")


def write_history(path, rows, **extra):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(config=extra.pop("config", {}),
                                    provenance={"command": "x"},
                                    epochs=rows, **extra)))
    return path


def test_read_history_keeps_rows_and_record(tmp_path):
    path = write_history(tmp_path / "h.json", [{"epoch": 1, "val_kl": 0.5},
                                               {"epoch": 2, "val_kl": 0.4}])
    frame = read_history(path)
    assert frame["val_kl"].tolist() == [0.5, 0.4]
    assert frame.attrs["provenance"] == {"command": "x"}


def test_plot_variant_kl_draws_the_histories_and_the_paper(tmp_path):
    frame = read_history(write_history(
        tmp_path / "h.json", [{"epoch": 1, "val_kl": 0.5},
                              {"epoch": 2, "val_kl": 0.4}]))
    fig = plot_variant_kl({"SN-F": frame}, baseline=0.45)
    ours, theirs = fig.axes
    line = ours.get_lines()[0]
    assert line.get_xdata().tolist() == [1, 2]
    assert line.get_ydata().tolist() == [0.5, 0.4]
    assert ours.get_lines()[1].get_ydata()[0] == 0.45
    offsets = theirs.collections[0].get_offsets()
    assert offsets[:, 1].tolist() == [5.39, 5.43, 5.58, 5.15]
    # Styles by label; a log epoch axis.
    fig = plot_variant_kl({"a": frame, "b": frame}, xscale="log",
                          styles={"b": dict(color="red", linestyle="--")})
    ours = fig.axes[0]
    assert ours.get_xscale() == "log"
    assert ours.get_lines()[0].get_linestyle() == "-"
    assert ours.get_lines()[1].get_linestyle() == "--"
    assert ours.get_lines()[1].get_color() == "red"


def test_plot_activations_marks_the_transition_and_standardises():
    t = np.arange(50) * 0.1
    values = np.stack([np.where(t < 2.5, 1.0, 3.0), 10 + t], axis=1)
    fig = plot_activations({"a": values}, t, transition=2.5,
                           standardise=True)
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (2, 50)
    np.testing.assert_allclose(image.mean(1), 0, atol=1e-9)
    np.testing.assert_allclose(image.std(1), 1, atol=1e-6)  # float64
    assert fig.axes[0].get_lines()[0].get_xdata()[0] == 2.5


def test_transition_contrast():
    t = np.arange(100) * 0.1
    rng = np.random.default_rng(0)
    noise = 0.05 * rng.standard_normal((100, 4))
    step = np.where(t < 4.5, 0.0, 1.0)[:, None] + noise
    assert transition_contrast(step, t, 4.5) > 5
    assert transition_contrast(noise, t, 4.5) < 1
    with pytest.raises(ValueError, match="too few frames"):
        transition_contrast(step, t, 9.9)


def test_table4_comparison_and_plots(tmp_path):
    rows = [{"epoch": e, "train_loss": 1 / e, "train_ter": 0.5 / e,
             "val_ter": v, "test_ter": t}   # best validation at epoch 2
            for e, v, t in ((1, 0.9, 0.95), (2, 0.85, 0.8), (3, 0.88, 0.9))]
    for name in ("lowlevel", "snr_gru1_bn"):
        write_history(tmp_path / f"{name}-seed0" / "history.json", rows,
                      config={"training": {"epochs": 3}})
    table = table4_comparison(tmp_path)
    assert table.index.tolist() == ["Low-level", "SN-R gru1-BN"]
    assert table.loc["Low-level", "ours val"] == pytest.approx(88.0)
    assert table.loc["Low-level", "paper test"] == pytest.approx(81.0)
    assert table.loc["SN-R gru1-BN", "best val / test (epoch)"] == \
        "85.0 / 80.0 (2)"
    fig = plot_table4(table)
    assert len(fig.axes[0].patches) == 4  # ours and paper, two rows
    from sed.plots import table4_histories
    histories = table4_histories(tmp_path)
    fig = plot_convergence(histories)
    assert len(fig.axes) == 4
    assert fig.axes[2].get_lines()[0].get_ydata().tolist() == \
        [r["val_ter"] for r in rows]
    assert set(FIGURE2_FIELDS) <= set(rows[0])


def test_transition_recording_from_synthetic_sounds():
    x, events = data.transition_recording("low_tone", "white_noise", at=2.0,
                                          seconds=4.0)
    assert x.shape == (64000,) and x.dtype == np.float32
    assert events.values.tolist() == [[0.0, 2.0, "low_tone"],
                                      [2.0, 4.0, "white_noise"]]
    # a tone before, broadband noise after: the spectra differ
    before, after = np.abs(np.fft.rfft(x[:30000])), \
        np.abs(np.fft.rfft(x[34000:]))
    assert np.argmax(before) != np.argmax(after)
    with pytest.raises(ValueError, match="Unknown class 'purr'"):
        data.transition_recording("purr", "white_noise")
    with pytest.raises(ValueError, match="at must lie inside"):
        data.transition_recording("low_tone", "white_noise", at=12)


@pytest.mark.skipif(not data.standin_available(),
                    reason="the stand-in corpus's Debian packages are absent")
def test_transition_recording_from_real_material():
    x, events = data.transition_recording("music", "tools")
    assert x.shape == (160000,) and np.isfinite(x).all()
    assert 0.05 < np.sqrt(np.mean(x ** 2)) < 0.2
    again, _ = data.transition_recording("music", "tools")
    np.testing.assert_array_equal(x, again)  # seeded


def test_layer_activations_trace_one_function_per_network(monkeypatch):
    """Figure 3's calls (three layers of SN-F and of SN-R, on several
    recordings) trace one function per network, not one per layer: six
    traces of one Python function made TensorFlow warn of retracing in
    the notebook. The values are each layer's own features."""
    import soundnet_keras as sk
    from soundnet_keras import features, inference
    from soundnet_keras.plots import FIGURE3_LAYERS, layer_activations
    from soundnet_keras.weights import preset_path
    traces = []

    def counting(fn):
        def traced(*args):
            traces.append(fn)
            return fn(*args)
        return inference.compile_function(traced)
    monkeypatch.setattr(features, "compile_function", counting)
    # Paths: networks no other test has built (the calls are cached).
    weights = {kind: str(preset_path(f"{kind}_scratch_pool"))
               for kind in FIGURE3_LAYERS}
    rng = np.random.default_rng(0)
    recordings = [rng.uniform(-0.5, 0.5, 3 * 16000).astype(np.float32)
                  for _ in range(3)]
    for x in recordings:
        results = {kind: layer_activations(x, kind, layers, weights[kind])
                   for kind, layers in FIGURE3_LAYERS.items()}
    assert len(traces) == 2
    for kind, (activations, times) in results.items():
        model = (sk.SoundNetF if kind == "snf" else sk.SoundNetR)(
            weights=weights[kind])
        for layer in FIGURE3_LAYERS[kind]:
            values, own_times = sk.extract_features(
                recordings[-1], 16000, layer, model=model)
            np.testing.assert_array_equal(times, own_times)
            # The same float32 ops in another graph: a few ulps.
            np.testing.assert_allclose(
                activations[layer], values, rtol=1e-5,
                atol=1e-6 * np.abs(values).max())


def test_layer_activations_refuse_layers_at_other_times():
    from soundnet_keras.plots import layer_activations
    with pytest.raises(ValueError, match="have frames at different times"):
        layer_activations(np.zeros(3 * 16000, np.float32), "snf",
                          ["conv5", "fc1"])


def test_committed_notebooks_print_no_tensorflow_warnings():
    """scripts/build_notebooks.py keeps what the cells print; Figure 3's
    printed TensorFlow's retracing warning (one function per layer)."""
    from pathlib import Path
    import nbformat
    for path in sorted((Path(__file__).parents[1] / "notebooks").glob(
            "*.ipynb")):
        book = nbformat.read(path, as_version=4)
        printed = "".join(out.get("text", "") for cell in book.cells
                          for out in cell.get("outputs", []))
        assert "WARNING:tensorflow" not in printed, path.name


def test_figure2_histories_add_the_table4_rows_the_sweep_lacks(tmp_path):
    from sed.plots import figure2_histories, plot_warmup, plot_warmup_steps
    rows = [{"epoch": e, "train_loss": 1 / e, "train_ter": 0.5 / e,
             "val_ter": 0.9, "test_ter": 0.9, "steps": 2,
             "step_nonblank": [0.0, 0.1 * e]} for e in (1, 2)]
    sweeps, table4s = tmp_path / "warmup", tmp_path / "table4"
    for run in ("lowlevel-paper-seed0", "lowlevel-tanh_clipped-seed1"):
        write_history(sweeps / run / "history.json", rows)
    for row in ("lowlevel", "snf_fc1", "snf_fc2"):   # lowlevel: swept
        write_history(table4s / f"{row}-seed3" / "history.json", rows[:1],
                      config={"training": {"seed": 3}})
    write_history(table4s / "snr_gru1_bn-seed0" / "history.json", rows,
                  config={"training": {"seed": 0},
                          "net": {"activation": "tanh"}})
    found = figure2_histories(sweeps, table4s)
    assert sorted(found) == ["lowlevel-paper-seed0",
                             "lowlevel-tanh_clipped-seed1",
                             "snf_fc1-paper-seed3"]
    assert len(found["snf_fc1-paper-seed3"]) == 1
    fig = plot_warmup(found)
    lines = fig.axes[1].get_lines()
    assert len(lines) == 3
    assert lines[0].get_color() == lines[1].get_color()   # one row
    assert lines[2].get_color() != lines[0].get_color()   # another
    assert [line.get_linestyle() for line in lines] == ["-", "--", "-"]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["Low-level, paper", "Low-level, tanh_clipped",
                      "SN-F fc1, paper"]
    fig = plot_warmup_steps(found, window=1)
    assert fig.axes[0].get_lines()[0].get_ydata().tolist() == \
        [0.0, 0.1, 0.0, 0.2]


def test_figure2_ter_axes_are_cut_and_say_so():
    import pandas as pd
    from sed.plots import TER_AXIS_TOP, plot_convergence
    frame = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [4.8, 0.3, 0.2],
                          "train_ter": [4.0, 0.9, 0.5],
                          "val_ter": [0.95, 0.9, 0.85],
                          "test_ter": [0.97, 0.9, 0.88]})
    fig = plot_convergence({"run": frame})
    loss, train, val, _ = fig.axes
    assert loss.get_yscale() == "log"
    assert train.get_ylim() == (0, TER_AXIS_TOP)
    assert "axis cut at 1.2; max 4.0" in train.get_title()
    assert val.get_ylim()[1] == pytest.approx(1.05)   # nothing cut
    assert "cut" not in val.get_title()
    assert train.get_lines()[0].get_ydata().tolist() == [4.0, 0.9, 0.5]
