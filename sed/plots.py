"""Figure 2 and Table 4 of Wang & Metze (2017): training the CTC-RNN on
each feature, from the histories :func:`sed.experiments.run_table4` saves;
and pictures of what a detector hears and decides on one recording
(:func:`detection_figure`, ``sed-ctc detect FILE --plot OUT.png``).

matplotlib is imported when a function draws.

Example:
    >>> sorted(FIGURE2_ROWS)
    ['lowlevel', 'snf_fc1', 'snr_gru1_bn', 'soundnet8_conv5']
"""

from pathlib import Path

import numpy as np
import pandas as pd

from soundnet_keras.plots import read_history

from .experiments import (COMMITTED_SWEEPS, EXTRA_ROWS, TABLE4,
                          TABLE4_20EPOCHS, table4, table4_row)

#: The feature rows Figure 2 draws.
FIGURE2_ROWS = ("lowlevel", "soundnet8_conv5", "snf_fc1", "snr_gru1_bn")

#: The history fields Figure 2 and Table 4 read.
FIGURE2_FIELDS = ("epoch", "train_loss", "train_ter", "val_ter", "test_ter")

#: The panel titles of :func:`plot_detection`, top to bottom.
DETECTION_PANELS = ("log-mel spectrogram",
                    "CTC token posteriors (blank shaded)", "event roll")


def table4_histories(histories=TABLE4_20EPOCHS, rows=None, seed=0):
    """Row label -> history DataFrame (:func:`read_history`) of each row
    of Table 4 (or ``rows``) that has a history of ``seed`` in
    ``histories`` (run folders ``<row>-seed<seed>``)."""
    wanted = [table4_row(r) for r in rows] if rows is not None else TABLE4
    found = {}
    for row in wanted:
        path = Path(histories) / f"{row.name}-seed{seed}" / "history.json"
        if path.is_file():
            found[row.label] = read_history(path)
    return found


#: Figure 2's panels: history field and title.
FIGURE2_PANELS = (("train_loss", "training loss (nats per frame)"),
                  ("train_ter", "training TER"),
                  ("val_ter", "validation TER"), ("test_ter", "test TER"))


#: Where Figure 2's TER axes stop: a first epoch of a fresh network can
#: decode several insertions per reference token (TER 4 and more), which
#: would flatten every other curve; the title says when a curve is cut.
TER_AXIS_TOP = 1.2


def _draw_panels(histories, axes, figsize, line):
    """Draws :data:`FIGURE2_PANELS`, one line per history; ``line(name)``
    gives the ``plot`` arguments of each (a label only on its first line).
    The loss axis is logarithmic; TER axes stop at :data:`TER_AXIS_TOP`.
    Returns the axes."""
    import matplotlib.pyplot as plt
    if axes is None:
        _, axes = plt.subplots(1, 4, figsize=figsize)
    labelled = set()
    for ax, (field, title) in zip(axes, FIGURE2_PANELS):
        top = 0.0
        for name, frame in histories.items():
            kwargs = line(name)
            if kwargs.get("label") in labelled:
                kwargs["label"] = None
            labelled.add(kwargs.get("label"))
            ax.plot(frame["epoch"], frame[field], **kwargs)
            top = max(top, float(np.nanmax(frame[field].astype(float))))
        ax.set_xlabel("epoch")
        if field == "train_loss":
            ax.set_yscale("log")
        else:
            ax.set_ylim(0, min(TER_AXIS_TOP, max(top, 1.0) * 1.05))
            if top > TER_AXIS_TOP:
                title += f" (axis cut at {TER_AXIS_TOP:g}; max {top:.1f})"
        ax.set_title(title, fontsize=9)
    return axes


def plot_convergence(histories, axes=None):
    """Figure 2: training loss and train / validation / test TER per epoch.

    Args:
        histories: curve label -> history DataFrame with
            :data:`FIGURE2_FIELDS` (:func:`table4_histories`).
        axes: four matplotlib axes, or None for a new figure.

    Returns:
        The matplotlib figure.
    """
    axes = _draw_panels(histories, axes, (14, 3.4),
                        lambda label: dict(marker=".", label=label))
    axes[0].legend(fontsize=8)
    fig = axes[0].figure
    fig.tight_layout()
    return fig


def sweep_histories(histories=COMMITTED_SWEEPS):
    """Run name (``<row>-<variant>-seed<seed>``) -> history DataFrame
    (:func:`read_history`) of each run of a sweep
    (:func:`sed.experiments.run_sweep`) found in ``histories``."""
    return {path.parent.name: read_history(path) for path in
            sorted(Path(histories).glob("*-*-seed*/history.json"))}


def figure2_histories(sweeps=COMMITTED_SWEEPS, table4s=TABLE4_20EPOCHS):
    """Figure 2's runs: every run of the warm-up sweep
    (:func:`sweep_histories`), and the rows of :data:`FIGURE2_ROWS` that
    the sweep lacks (SN-F fc1, SN-R gru1-BN) from Table 4's histories,
    named as sweep runs (``<row>-paper-seed<seed>``: Table 4 trains with
    the paper's recipe). Rows without a history, or whose history was
    trained with another recipe than the paper's, are left out."""
    from .config import DEFAULTS
    found = sweep_histories(sweeps)
    swept = {name.rsplit("-", 2)[0] for name in found}
    for row in FIGURE2_ROWS:
        if row in swept:
            continue
        for path in sorted(Path(table4s).glob(f"{row}-seed*/history.json")):
            frame = read_history(path)
            config = frame.attrs["config"]
            if any(config.get(section, {}).get(key, DEFAULTS[section][key])
                   != DEFAULTS[section][key]
                   for section, key in (("net", "activation"),
                                        ("opt", "clipnorm"))):
                continue
            seed = config["training"]["seed"]
            found[f"{row}-paper-seed{seed}"] = frame
    return found


def _run_styles(names):
    """``name -> (colour, line style, legend label)`` of sweep runs: one
    colour per feature row (in the order the rows first appear), solid for
    the paper's recipe, dotted for it with frame-wise pre-training, dashed
    for the others."""
    import matplotlib.pyplot as plt
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    known = {r.name for r in TABLE4 + EXTRA_ROWS}
    rows, out = [], {}
    for name in names:
        row, variant, _ = name.rsplit("-", 2)
        if row not in rows:
            rows.append(row)
        label = f"{table4_row(row).label if row in known else row}, {variant}"
        style = {"paper": "-", "paper_pretrain": ":"}.get(variant, "--")
        out[name] = (colours[rows.index(row) % len(colours)], style, label)
    return out


def plot_warmup(histories, axes=None):
    """Figure 2 from a sweep: training loss and train / validation / test
    TER per epoch, every seed a line of its own (one colour per feature,
    solid: the paper's recipe, dotted: with frame-wise pre-training,
    dashed: tanh + clipping).

    Args:
        histories: run name -> history DataFrame (:func:`sweep_histories`).
        axes: four matplotlib axes, or None for a new figure.

    Returns:
        The matplotlib figure.
    """
    styles = _run_styles(histories)

    def line(name):
        colour, style, label = styles[name]
        return dict(linestyle=style, color=colour, linewidth=1.2, alpha=0.85,
                    label=label)
    axes = _draw_panels(histories, axes, (15, 3.8), line)
    fig = axes[0].figure
    fig.legend(loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def plot_warmup_steps(histories, steps=None, window=25, ax=None):
    """The share of non-blank frames in the best path per training step
    (a running mean over ``window`` steps), over the first ``steps`` steps
    of each sweep run: where the warm-up ends within the first epochs.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.6))
    labelled, top = set(), 0.0
    styles = _run_styles(histories)
    for name, frame in histories.items():
        shares = np.concatenate([np.asarray(v, float)
                                 for v in frame["step_nonblank"]])
        if steps is not None:
            shares = shares[:steps]
        smooth = pd.Series(shares).rolling(window, min_periods=1).mean()
        top = max(top, float(smooth[window:].max()) if len(smooth) > window
                  else 0.0)
        colour, style, label = styles[name]
        ax.plot(np.arange(1, len(shares) + 1), smooth, style, color=colour,
                linewidth=1, label=None if label in labelled else label)
        labelled.add(label)
    # the first steps of a fresh network (tokens everywhere) are cut off
    ax.set_ylim(0, 1.2 * top or 1.0)
    ax.set_xlabel("training step (minibatch of 5 x 500 frames)")
    ax.set_ylabel("non-blank share of frames")
    ax.legend(fontsize=8)
    ax.figure.tight_layout()
    return ax.figure


def table4_comparison(histories=TABLE4_20EPOCHS):
    """Our Table 4 beside the paper's, TER in percent: one line per row with
    a history, columns ``ours train / val / test``, ``paper train / val /
    test``, ``epochs`` and ``best val / test (epoch)`` (the epoch of the
    lowest validation TER)."""
    table = table4(histories)
    out = pd.DataFrame({"feature": table["label"],
                        "epochs": table["epochs"]})
    for split in ("train", "val", "test"):
        out[f"ours {split}"] = (100 * table[f"{split}_ter"]).round(1)
    for split in ("train", "val", "test"):
        out[f"paper {split}"] = (100 * table[f"paper_{split}_ter"]).round(1)
    out["best val / test (epoch)"] = [
        "" if pd.isna(v) else f"{100 * v:.1f} / {100 * t:.1f} ({int(e)})"
        for v, t, e in zip(table["best_val_ter"], table["best_test_ter"],
                           table["best_epoch"])]
    return out.set_index("feature")


def plot_table4(comparison, axes=None):
    """Table 4 as bars: validation and test TER (%) per feature, ours beside
    the paper's (``comparison`` from :func:`table4_comparison`)."""
    import matplotlib.pyplot as plt
    import numpy as np
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), sharey=True)
    x = np.arange(len(comparison))
    for ax, split in zip(axes, ("val", "test")):
        ax.bar(x - 0.2, comparison[f"ours {split}"], 0.4, label="this run")
        ax.bar(x + 0.2, comparison[f"paper {split}"], 0.4, label="paper",
               color="lightgrey")
        ax.set_xticks(x, comparison.index, rotation=60, ha="right",
                      fontsize=8)
        ax.set_title(f"{'validation' if split == 'val' else 'test'} TER (%)")
    axes[0].legend(fontsize=8)
    fig = axes[0].figure
    fig.tight_layout()
    return fig


def plot_table4_seeds(runs, axes=None):
    """Table 4 at convergence over seeds: per row, each seed's best
    validation TER and its test TER at that epoch (points; hollow while the
    run is still training), their mean (a dash) and the paper's (a grey
    diamond), in percent. ``runs``:
    :func:`sed.results.collect`'s table (one line per run)."""
    import matplotlib.pyplot as plt
    import numpy as np
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
    rows = list(dict.fromkeys(runs["row"]))
    labels = [runs.loc[runs["row"] == r, "label"].iloc[0] for r in rows]
    for ax, column, paper, title in (
            (axes[0], "best_val_ter", "paper_val_ter", "best validation TER"),
            (axes[1], "best_test_ter", "paper_test_ter",
             "test TER at the best validation epoch")):
        for x, row in enumerate(rows):
            mine = runs[runs["row"] == row]
            values = 100 * mine[column].astype(float).to_numpy()
            done = (mine["status"] == "finished").to_numpy()
            for finished, face, what in ((True, "C0", "a seed, finished"),
                                         (False, "none", "a seed, training")):
                chosen = values[(done == finished) & ~np.isnan(values)]
                ax.plot(np.full(len(chosen), x), chosen, "o", color="C0",
                        markerfacecolor=face, label=what if what not in
                        ax.get_legend_handles_labels()[1] else None)
            values = values[~np.isnan(values)]
            if len(values):
                ax.plot([x - 0.3, x + 0.3], [values.mean()] * 2, "-",
                        color="C0", lw=2, label="mean over seeds"
                        if x == 0 else None)
            ref = 100 * float(mine[paper].iloc[0])
            if ref == ref:
                ax.plot(x, ref, "D", color="grey",
                        label="paper" if x == 0 else None)
        ax.set_xticks(range(len(rows)), labels, rotation=60, ha="right",
                      fontsize=8)
        ax.set_title(f"{title} (%)")
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig = axes[0].figure
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------
# What a detector hears and decides on one recording.

def log_mel_spectrogram(waveform):
    """The 40 log-mel energies of the low-level feature's 25 ms frames
    (10 ms hop, 16 kHz; :func:`sed.features.short_frame_descriptors`):
    ``(values (T, 40), times (T,))``, frame centres in seconds.

    Example:
        >>> values, times = log_mel_spectrogram(np.zeros(16000))
        >>> values.shape, times[:2].round(3).tolist()
        ((100, 40), [0.005, 0.015])
    """
    from .features import LOWLEVEL_RECIPE, short_frame_descriptors
    recipe = LOWLEVEL_RECIPE
    values = short_frame_descriptors(waveform)[:, :recipe["n_mels"]]
    times = (np.arange(len(values)) + 0.5) * recipe["hop"] / \
        recipe["sample_rate"]
    return values, times


def _class_colours(classes):
    import matplotlib
    cmap = matplotlib.colormaps["tab20"]
    return {c: cmap(i % 20) for i, c in enumerate(classes)}


def draw_posteriors(ax, probabilities, times, classes, boundaries=None,
                    legend=True):
    """Draws per-frame CTC token probabilities on one axis: the blank's as a
    grey area, each class's onset token as a solid line and its offset
    token as a dashed line, in the class's colour (the colours of
    :func:`draw_event_roll`; each line's label is ``"<class> onset"`` or
    ``"<class> offset"``). ``boundaries``: reference onset and offset
    times, marked as short ticks at the top.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    probabilities = np.asarray(probabilities, np.float64)
    times = np.asarray(times, np.float64)[:len(probabilities)]
    colours = _class_colours(classes)
    ax.fill_between(times, 0, probabilities[:, 0], color="0.85", step="mid",
                    linewidth=0, label="blank")
    for k, label in enumerate(classes):
        for token, kind, style in ((2 * k + 1, "onset", "-"),
                                   (2 * k + 2, "offset", "--")):
            ax.plot(times, probabilities[:, token], style,
                    color=colours[label], linewidth=1,
                    label=f"{label} {kind}")
    for t in boundaries if boundaries is not None else ():
        ax.axvline(t, ymin=0.93, ymax=1.0, color="black", linewidth=1)
    step = float(np.median(np.diff(times))) if len(times) > 1 else 0.1
    ax.set_xlim(0, times[-1] + step / 2 if len(times) else 1.0)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("probability")
    if legend:
        ax.legend(handles=[Patch(color="0.85", label="blank"),
                           Line2D([], [], color="0.3", label="onset"),
                           Line2D([], [], color="0.3", linestyle="--",
                                  label="offset")]
                  + ([Line2D([], [], color="black", marker="|",
                             linestyle="", label="annotated\nboundary")]
                     if boundaries is not None else []),
                  fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0),
                  frameon=False)


def reference_events(reference, filename, classes=None):
    """The reference events of one recording: ``reference`` is a DataFrame
    of events (``filename, onset, offset, event_label``), a DCASE ``.tsv``
    or a TUT ``.ann`` file; rows of other recordings are dropped (a file
    without rows for this recording means it has no events). With
    ``classes``, a label outside them is an error that names it."""
    from .events import read_ann, read_tsv, validate_events
    if not isinstance(reference, pd.DataFrame):
        path = Path(reference)
        reference = read_ann(path, classes=classes) \
            if path.suffix == ".ann" else read_tsv(path, classes=classes)
    elif classes is not None:
        validate_events(reference, classes=classes)
    events = reference
    if "filename" in events:
        events = events[events["filename"] == Path(filename).name]
    return events.reset_index(drop=True)


def draw_event_roll(ax, classes, events=None, reference=None):
    """Draws an event roll on one axis: one row per class that occurs,
    ``events`` (decoded) as dark bars and ``reference`` as light hatched
    bars below them (either may be None). Returns the panel's title, which
    counts them."""
    from matplotlib.patches import Patch
    colours = _class_colours(classes)
    present = set().union(*(frame["event_label"] for frame in
                            (events, reference) if frame is not None))
    shown = [c for c in classes if c in present]
    both = events is not None and reference is not None
    layers = []
    if events is not None:
        layers.append((events, (-0.05, 0.45) if both else (-0.4, 0.8),
                       dict(alpha=1.0)))
    if reference is not None:
        layers.append((reference, (-0.45, 0.35) if both else (-0.4, 0.8),
                       dict(alpha=0.35, hatch="///")))
    for i, label in enumerate(shown):
        for frame, (low, height), style in layers:
            mine = frame[frame["event_label"] == label]
            ax.broken_barh(list(zip(mine["onset"],
                                    mine["offset"] - mine["onset"])),
                           (i + low, height), facecolor=colours[label],
                           edgecolor=colours[label], **style)
    if not shown:
        ax.text(0.5, 0.5, "no events", ha="center", va="center",
                color="0.4", transform=ax.transAxes)
    ax.set_yticks(range(len(shown)), shown, fontsize=8)
    ax.set_ylim(max(len(shown), 1) - 0.4, -0.6)
    counts = []
    if events is not None:
        counts.append(f"{len(events)} decoded")
    if reference is not None:
        counts.append(f"{len(reference)} in the reference")
    if both:
        ax.legend(handles=[Patch(color="0.3", label="decoded"),
                           Patch(facecolor="0.3", alpha=0.35, hatch="///",
                                 label="reference")],
                  fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0),
                  frameon=False)
    return f"event roll: {', '.join(counts)}" if counts else "event roll"


def plot_detection(waveform, classes, probabilities=None, times=None,
                   events=None, reference=None, title=None):
    """What a detector hears and decides on one recording
    (:data:`DETECTION_PANELS`): the log-mel spectrogram of the 16 kHz
    ``waveform``; the per-frame token posteriors (:func:`draw_posteriors`:
    the boundary peaks, blank shaded), when ``probabilities`` are given;
    and the event roll (:func:`draw_event_roll`: decoded events dark, the
    reference light below them), when either is given.

    Args:
        waveform: the 16 kHz recording.
        classes: the ``n`` event labels.
        probabilities: ``(T, 2n + 1)`` token probabilities, or None.
        times: the ``T`` frame centres (s).
        events, reference: DataFrames with ``onset, offset, event_label``,
            or None.
        title: the figure's title.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt
    duration = len(waveform) / 16000
    wanted = (True, probabilities is not None,
              events is not None or reference is not None)
    panels = [p for p, w in zip(DETECTION_PANELS, wanted) if w]
    present = set().union(*(frame["event_label"] for frame in
                            (events, reference) if frame is not None))
    heights = {DETECTION_PANELS[0]: 2.2, DETECTION_PANELS[1]: 1.8,
               DETECTION_PANELS[2]: 0.5 + 0.16 * max(len(present), 1)}
    ratios = [heights[p] for p in panels]
    fig, axes = plt.subplots(len(panels), 1, sharex=True, squeeze=False,
                             figsize=(10, 0.9 + 1.25 * sum(ratios)),
                             gridspec_kw={"height_ratios": ratios})
    axes = dict(zip(panels, axes[:, 0]))
    titles = {}
    ax = axes[DETECTION_PANELS[0]]
    values, spec_times = log_mel_spectrogram(waveform)
    if len(values):
        lo, hi = np.percentile(values, [2, 99.9])
        ax.imshow(values.T, origin="lower", aspect="auto", cmap="magma",
                  vmin=lo, vmax=hi, interpolation="nearest",
                  extent=(0, spec_times[-1] + 0.005, 0, values.shape[1]))
    ax.set_ylabel("mel band")
    if DETECTION_PANELS[1] in axes:
        boundaries = None
        if reference is not None and len(reference):
            boundaries = np.concatenate([reference["onset"],
                                         reference["offset"]])
        draw_posteriors(axes[DETECTION_PANELS[1]], probabilities, times,
                        classes, boundaries)
    if DETECTION_PANELS[2] in axes:
        titles[DETECTION_PANELS[2]] = draw_event_roll(
            axes[DETECTION_PANELS[2]], classes, events, reference)
    last = list(axes.values())[-1]
    last.set_xlim(0, duration)
    last.set_xlabel("time (s)")
    for name, ax in axes.items():
        ax.set_title(titles.get(name, name), fontsize=10, loc="left")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def detection_figure(detector, path, reference=None):
    """:func:`plot_detection` of a trained detector on one audio file.

    Args:
        detector: a :class:`sed.detector.Detector` (:func:`sed.detector.load_detector`).
        path: the audio file.
        reference: None, a DataFrame of events, or an annotation file
            (``.tsv``, ``.ann``; :func:`reference_events` keeps this
            recording's rows).

    Returns:
        ``(figure, events)``: the figure and the decoded events (as
        :meth:`sed.detector.Detector.detect` returns them).
    """
    from soundnet_keras.audio import load_audio
    from .decode import decode_events
    values, times = detector.featurise(path)
    probabilities = detector.probabilities([values])[0]
    events = decode_events(probabilities, times, detector.classes)
    if reference is not None:
        reference = reference_events(reference, path, detector.classes)
    fig = plot_detection(load_audio(path, 16000), detector.classes,
                         probabilities, times, events, reference,
                         title=Path(path).name)
    events.insert(0, "filename", str(path))
    return fig, events[["filename", "onset", "offset", "event_label"]]


def plot_posterior_epochs(snapshots, times, classes, reference=None):
    """The token posteriors of one recording after several epochs of
    training, one panel per epoch (:func:`draw_posteriors`), reference
    boundaries marked at the top.

    Args:
        snapshots: epoch -> ``(T, 2n + 1)`` probabilities.
        times: the frame centres (s).
        classes: the event labels.
        reference: the recording's events, or None.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(snapshots), 1, sharex=True, squeeze=False,
                             figsize=(10, 0.6 + 1.3 * len(snapshots)))
    axes = axes[:, 0]
    boundaries = None
    if reference is not None and len(reference):
        boundaries = np.concatenate([reference["onset"], reference["offset"]])
    for ax, (epoch, probs) in zip(axes, snapshots.items()):
        draw_posteriors(ax, probs, times, classes, boundaries,
                        legend=False)
        ax.set_title(f"after epoch {epoch}", fontsize=9, loc="left")
    axes[-1].set_xlabel("time (s)")
    fig.tight_layout()
    return fig


__all__ = ["DETECTION_PANELS", "FIGURE2_FIELDS", "FIGURE2_ROWS",
           "figure2_histories",
           "detection_figure", "draw_event_roll", "draw_posteriors",
           "log_mel_spectrogram",
           "plot_convergence", "plot_detection", "plot_posterior_epochs",
           "plot_table4", "plot_warmup", "plot_warmup_steps",
           "reference_events", "sweep_histories", "table4_comparison",
           "table4_histories"]
