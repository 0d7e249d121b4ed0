"""Figures 1 and 3 of Wang & Metze (2017): training the variants, and their
activations; and what the pretrained SoundNet-8 hears over time
(:func:`predictions_figure`, ``soundnet-keras predict FILE --plot OUT.png``).

Histories are the ``history.json`` files that :func:`soundnet_keras.train`
writes (``weights/histories/*.history.json`` for the built-in presets).
matplotlib is imported when a function draws.

Example:
    >>> import json, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "h.json")
    >>> _ = open(path, "w").write(json.dumps({"config": {}, "provenance": {},
    ...     "epochs": [{"epoch": 1, "val_kl": 0.3}, {"epoch": 2, "val_kl": 0.25}]}))
    >>> read_history(path)["val_kl"].tolist()
    [0.3, 0.25]
"""

import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd

#: The validation KL divergences the paper reports at the end of training
#: (Section 3.1, Figure 1): value and epoch.
PAPER_VAL_KL = {"SN-F": (5.39, 175), "SN-R GRU": (5.43, 300),
                "SN-R LSTM": (5.58, 300), "SoundNet": (5.15, None)}

#: The committed distillation histories of Figure 1, by curve label: the
#: students distilled on the real-audio pool, from scratch (as the paper)
#: and on SoundNet-8's frozen conv1-conv5 (``soundnet_keras.trunk``).
VARIANT_HISTORIES = {"SN-F, from scratch": "snf_scratch_pool",
                     "SN-R GRU, from scratch": "snr_scratch_pool",
                     "SN-F, pretrained trunk": "snf_trunk_pool",
                     "SN-R GRU, pretrained trunk": "snr_trunk_pool"}
#: Their lines: one colour per network, solid from scratch, dashed on the
#: pretrained trunk.
VARIANT_STYLES = {
    "SN-F, from scratch": dict(color="C0"),
    "SN-R GRU, from scratch": dict(color="C3"),
    "SN-F, pretrained trunk": dict(color="C0", linestyle="--",
                                   markerfacecolor="none"),
    "SN-R GRU, pretrained trunk": dict(color="C3", linestyle="--",
                                       markerfacecolor="none")}

#: The layers Figure 3 shows, per network kind.
FIGURE3_LAYERS = {"snf": ("fc1", "fc2", "fc3"),
                  "snr": ("gru1_bn", "gru2_bn", "gru3_bn")}

#: The panel titles of :func:`plot_predictions`, top to bottom.
PREDICTION_PANELS = ("waveform", "objects per conv8 frame",
                     "places per conv8 frame")


def read_history(path):
    """The per-epoch rows of a ``history.json`` as a DataFrame; the
    record's other fields (config, provenance, ...) are in ``.attrs``."""
    record = json.loads(Path(path).read_text())
    frame = pd.DataFrame(record["epochs"])
    frame.attrs.update({k: v for k, v in record.items() if k != "epochs"})
    return frame


def variant_histories(folder=None):
    """Figure 1's histories: curve label -> DataFrame (:func:`read_history`)
    from ``folder`` (default: the built-in presets' ``histories/``,
    :data:`soundnet_keras.weights.HISTORIES_DIR`)."""
    from .weights import HISTORIES_DIR
    folder = HISTORIES_DIR if folder is None else folder
    return {label: read_history(Path(folder) / f"{name}.history.json")
            for label, name in VARIANT_HISTORIES.items()}


def describe_run(history):
    """One line: the command, commit, date and machine of a history."""
    prov = history.attrs.get("provenance", {})
    machine = prov.get("machine", {})
    return (f"{prov.get('command', '?')} (commit "
            f"{str(prov.get('commit', '?'))[:10]}, "
            f"{str(prov.get('date', '?'))[:10]}, {machine.get('cpus', '?')} "
            f"CPUs, TensorFlow {machine.get('tensorflow', '?')})")


def plot_variant_kl(histories, baseline=None, paper=PAPER_VAL_KL,
                    axes=None, xscale="linear", styles=VARIANT_STYLES):
    """Figure 1: the validation KL divergence per epoch of each variant.

    Args:
        histories: curve label -> history DataFrame with ``epoch`` and
            ``val_kl`` (:func:`variant_histories`).
        baseline: the validation KL of the best constant student
            (:func:`soundnet_keras.targets.prior_baseline`), drawn as a
            line, or None.
        paper: label -> ``(value, epoch)`` of the paper's final values,
            drawn in a second panel: their scale is not ours (another
            teacher, another corpus).
        axes: two matplotlib axes, or None for a new figure.
        xscale: the epoch axis' scale, ``"linear"`` or ``"log"`` (for runs
            of very different lengths).
        styles: label -> matplotlib line options, for the labels it has.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6),
                                 gridspec_kw={"width_ratios": [2.2, 1]})
    ours, theirs = axes
    for label, frame in histories.items():
        ours.plot(frame["epoch"], frame["val_kl"], label=label,
                  **{"marker": "o", "markersize": 4, **styles.get(label, {})})
    if baseline is not None:
        ours.axhline(baseline, color="grey", linestyle="--",
                     label=f"constant student (prior) {baseline:.3f}")
    ours.set_xscale(xscale)
    ours.set_xlabel("epoch" + (" (log scale)" if xscale == "log" else ""))
    ours.set_ylabel("validation KL (nats per frame)")
    ours.set_title("this run")
    ours.legend(fontsize=8)
    labels = list(paper)
    values = [paper[k][0] for k in labels]
    theirs.scatter(range(len(labels)), values, color="black")
    for i, k in enumerate(labels):
        epoch = paper[k][1]
        theirs.annotate(f"{paper[k][0]:.2f}"
                        + (f"\n(epoch {epoch})" if epoch else ""),
                        (i, paper[k][0]), textcoords="offset points",
                        xytext=(0, 6), ha="center", fontsize=8)
    theirs.set_xticks(range(len(labels)), labels, rotation=30, fontsize=8)
    theirs.set_ylim(min(values) - 0.2, max(values) + 0.3)
    theirs.set_title("paper: final validation KL")
    fig = ours.figure
    fig.tight_layout()
    return fig


def layer_activations(waveform, kind, layers, weights="default"):
    """Activations of some layers of one network on one waveform, from one
    pass of the network over the whole input (a figure's recording: a few
    seconds). The network and its function to ``layers`` are built and
    traced once per ``(kind, weights, layers)`` and reused.

    Args:
        waveform: 1-D float audio at the network's rate (16 kHz for SN-F and
            SN-R), zero-padded if too short for one frame.
        kind: ``"snf"`` or ``"snr"`` (SN-R with GRU cells).
        layers: layer names (``soundnet_keras.specs.feature_layers``) whose
            frames are at the same times (Figure 3's are all at 10 Hz).
        weights: a preset name or path; ``"default"`` is the kind's
            default student (:data:`soundnet_keras.weights.DEFAULT_STUDENTS`).

    Returns:
        ``(activations, times)``: layer -> ``(T, D)`` float32 array, and the
        frame times (s), shared by the layers.

    Raises:
        ValueError: for an unknown kind or layer, or layers whose frames
            are at different times.
    """
    import keras
    from .audio import check_waveform, preprocess_input
    from .specs import frame_times, get_spec
    layers = tuple(layers)
    run = _activations(kind, str(weights), layers)
    rate = get_spec(kind)["sample_rate"]
    for layer in layers:
        waveform = check_waveform(waveform, rate, model=kind, layer=layer,
                                  pad=True)
    out = run(preprocess_input(waveform)[None, :, None])
    activations = {layer: keras.ops.convert_to_numpy(out[layer])[0].astype(
        np.float32, copy=False) for layer in layers}
    times = [frame_times(kind, layer, len(values))
             for layer, values in activations.items()]
    if any(not np.array_equal(t, times[0]) for t in times):
        raise ValueError(f"the layers {list(layers)} of {kind!r} have frames "
                         "at different times; ask for each separately")
    return activations, times[0]


@functools.lru_cache(maxsize=16)
def _variant(kind, weights):
    import soundnet_keras as sk
    if kind not in ("snf", "snr"):
        raise ValueError(f"kind must be 'snf' or 'snr'; got {kind!r}")
    from .weights import DEFAULT_STUDENTS
    weights = DEFAULT_STUDENTS[kind] if weights == "default" else weights
    return sk.SoundNetF(weights=weights) if kind == "snf" else \
        sk.SoundNetR(weights=weights, cell="gru")


@functools.lru_cache(maxsize=16)
def _activations(kind, weights, layers):
    """The network of ``kind`` from its input to all ``layers`` at once,
    compiled (one trace, one pass for every layer)."""
    from .features import compile_outputs, keras_layer_name
    model = _variant(kind, weights)
    return compile_outputs(model, {
        layer: model.get_layer(keras_layer_name(kind, layer)).output
        for layer in layers})


def plot_activations(panels, times, transition=None, standardise=False,
                     axes=None):
    """Figure 3: activations over time, one panel per layer.

    Args:
        panels: title -> ``(T, D)`` activations (units sorted by nothing:
            as the network has them).
        times: the frame times (s).
        transition: a time (s) to mark with a dashed line, or None.
        standardise: show each unit's deviation from its own mean over the
            recording, in units of its standard deviation (changes over
            time stand out; units that only differ by a constant do not
            dominate the colour scale).
        axes: as many matplotlib axes as panels, or None for a new figure.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt
    if axes is None:
        fig, axes = plt.subplots(len(panels), 1, sharex=True,
                                 figsize=(8, 1.6 * len(panels)))
    axes = np.atleast_1d(axes)
    step = float(times[1] - times[0]) if len(times) > 1 else 0.1
    for ax, (title, values) in zip(axes, panels.items()):
        values = np.asarray(values, np.float64)
        if standardise:
            values = (values - values.mean(0)) / \
                np.maximum(values.std(0), 1e-6)
        lo, hi = np.percentile(values, [1, 99])
        ax.imshow(values.T, aspect="auto", origin="lower", cmap="viridis",
                  vmin=lo, vmax=hi, interpolation="nearest",
                  extent=(times[0] - step / 2, times[-1] + step / 2, 0,
                          values.shape[1]))
        if transition is not None:
            ax.axvline(transition, color="white", linestyle="--",
                       linewidth=1)
        ax.set_ylabel(title, fontsize=8)
        ax.set_yticks([])
    axes[-1].set_xlabel("time (s)")
    fig = axes[0].figure
    fig.tight_layout()
    return fig


def transition_contrast(values, times, at, window=1.0):
    """How sharply activations change at a time: the distance between the
    mean activation vectors of the ``window`` seconds before and after
    ``at``, over the mean distance between consecutive frames within those
    windows (1 when the change at ``at`` is no larger than the frame-to-frame
    jitter; large for a clear transition).

    Example:
        >>> t = np.arange(100) * 0.1
        >>> step = np.where(t < 4.5, 0.0, 1.0)[:, None] + 0.01 * np.sin(t)[:, None]
        >>> transition_contrast(step, t, 4.5) > 10
        True
    """
    values, times = np.asarray(values, np.float64), np.asarray(times)
    before = values[(times >= at - window) & (times < at)]
    after = values[(times >= at) & (times < at + window)]
    if len(before) < 2 or len(after) < 2:
        raise ValueError("too few frames around the transition")
    jump = np.linalg.norm(before.mean(0) - after.mean(0))
    jitter = np.mean([np.linalg.norm(np.diff(part, axis=0), axis=1).mean()
                      for part in (before, after)])
    return float(jump / max(jitter, 1e-12))


def save_figure(fig, out):
    """Writes a figure to ``out`` (folders made as needed) and closes it;
    returns the path (the commands name it with
    :func:`soundnet_keras.outputs.plan_pictures`).

    Example:
        >>> import tempfile, matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> out = save_figure(plt.figure(), Path(tempfile.mkdtemp()) / "p.png")
        >>> out.name, out.is_file()
        ('p.png', True)
    """
    import matplotlib.pyplot as plt
    from .stores import atomic_file
    out = Path(out)
    try:
        with atomic_file(out) as tmp:
            fig.savefig(tmp, dpi=100, format=out.suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)
    return out


# --------------------------------------------------------------------------
# What SoundNet-8 hears over time.

def prediction_timeline(frames, head, top=5):
    """The probabilities of the ``top`` classes of one head over the conv8
    frames: a DataFrame indexed by frame time (s), one column per class,
    the classes ranked by their highest probability in any frame.

    Args:
        frames: ``predict(..., per_frame=True)["frames"]`` (each a dict with
            ``time`` and ``(name, p)`` lists per head). Classes missing from
            a frame's list (below its cut-off) count as 0: ask ``predict``
            for every class (``top=1000``) to see all of them.
        head: ``"objects"`` or ``"places"``.
        top: how many classes to keep.

    Example:
        >>> frames = [dict(time=5.0, places=[("park", 0.6), ("street", 0.4)]),
        ...           dict(time=7.9, places=[("street", 0.9), ("park", 0.1)])]
        >>> prediction_timeline(frames, "places", top=1)
              street
        time        
        5.0      0.4
        7.9      0.9
    """
    table = pd.DataFrame([dict(frame[head]) for frame in frames],
                         index=pd.Index([f["time"] for f in frames],
                                        name="time")).fillna(0.0)
    order = table.max().sort_values(ascending=False, kind="stable")
    return table[order.index[:top]]


def plot_predictions(waveform, sample_rate, frames, top=5):
    """The waveform and the top objects and places of each conv8 frame
    (:data:`PREDICTION_PANELS`), so one sees where in a recording the
    network changes its mind.

    Each frame's column is centred on its time and as wide as the conv8 hop
    (2.97 s; each frame hears 14.5 s around it). ``predict`` tiles input
    shorter than ``TILE_SECONDS`` (20 s) to that length: the tiled part is
    shaded on the waveform.

    Args:
        waveform: the recording (1-D).
        sample_rate: its rate.
        frames: ``predict(..., per_frame=True)["frames"]``, best with every
            class (:func:`prediction_timeline`).
        top: classes shown per head.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt
    from .predictions import TILE_SECONDS
    from .specs import frame_times
    hop = float(np.diff(frame_times("soundnet8", "conv8", 2))[0])
    duration = len(waveform) / sample_rate
    fig, axes = plt.subplots(3, 1, sharex=True, figsize=(10, 2 + 0.5 * top),
                             gridspec_kw={"height_ratios": [1.2, top, top]})
    wave_ax = axes[0]
    t = np.arange(len(waveform)) / sample_rate
    wave_ax.plot(t, waveform, color="0.3", linewidth=0.4)
    if duration < TILE_SECONDS:
        wave_ax.axvspan(duration, TILE_SECONDS, color="0.9",
                        label=f"repeated to {TILE_SECONDS:g} s")
        wave_ax.legend(fontsize=7, loc="upper right")
    wave_ax.set_yticks([])
    times = np.array([f["time"] for f in frames], np.float64)
    end = max(duration, TILE_SECONDS if duration < TILE_SECONDS else 0,
              times.max(initial=0.0) + hop / 2)
    for ax, head in zip(axes[1:], ("objects", "places")):
        table = prediction_timeline(frames, head, top)
        ax.imshow(table.to_numpy().T, aspect="auto", cmap="Blues",
                  vmin=0, interpolation="nearest", origin="upper",
                  extent=(times.min() - hop / 2, times.max() + hop / 2,
                          len(table.columns) - 0.5, -0.5))
        ax.set_yticks(range(len(table.columns)),
                      [name.split(",")[0] for name in table.columns],
                      fontsize=8)
        peak = table.to_numpy().max(initial=0.0)
        for i, time in enumerate(times):
            best = table.iloc[i].to_numpy().argmax()
            value = table.iloc[i, best]
            ax.text(time, best, f"{value:.2f}", ha="center", va="center",
                    fontsize=7, color="white" if value > peak / 2 else "black")
    axes[-1].set_xlim(0, end)
    axes[-1].set_xlabel("time (s)")
    for ax, title in zip(axes, PREDICTION_PANELS):
        ax.set_title(title, fontsize=10, loc="left")
    fig.tight_layout()
    return fig


def predictions_figure(waveform, sample_rate, model=None, top=5):
    """:func:`plot_predictions` of the pretrained SoundNet-8 (or ``model``)
    on a waveform; returns ``(figure, result)`` with ``result`` as
    :func:`soundnet_keras.predict` gives it with ``per_frame=True`` (every
    class ranked)."""
    from .predictions import predict
    result = predict(waveform, sample_rate, top=1000, model=model,
                     per_frame=True)
    return plot_predictions(waveform, sample_rate, result["frames"],
                            top), result


__all__ = ["FIGURE3_LAYERS", "PAPER_VAL_KL", "PREDICTION_PANELS",
           "VARIANT_HISTORIES", "VARIANT_STYLES", "describe_run",
           "layer_activations", "plot_activations", "plot_predictions",
           "plot_variant_kl", "prediction_timeline", "predictions_figure",
           "read_history", "save_figure", "transition_contrast",
           "variant_histories"]
