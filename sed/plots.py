"""Figure 2 and Table 4 of Wang & Metze (2017): training the CTC-RNN on
each feature, from the histories :func:`sed.experiments.run_table4` saves.

matplotlib is imported when a function draws.

Example:
    >>> sorted(FIGURE2_ROWS)
    ['lowlevel', 'snf_fc1', 'snr_gru1_bn', 'soundnet8_conv5']
"""

from pathlib import Path

import pandas as pd

from soundnet_keras.plots import read_history

from .experiments import COMMITTED_HISTORIES, TABLE4, table4, table4_row

#: The feature rows Figure 2 draws.
FIGURE2_ROWS = ("lowlevel", "soundnet8_conv5", "snf_fc1", "snr_gru1_bn")

#: The history fields Figure 2 and Table 4 read.
FIGURE2_FIELDS = ("epoch", "train_loss", "train_ter", "val_ter", "test_ter")



def table4_histories(histories=COMMITTED_HISTORIES, rows=None):
    """Row label -> history DataFrame (:func:`read_history`) of each row
    of Table 4 (or ``rows``) that has a history in ``histories``."""
    wanted = [table4_row(r) for r in rows] if rows is not None else TABLE4
    found = {}
    for row in wanted:
        path = Path(histories) / row.name / "history.json"
        if path.is_file():
            found[row.label] = read_history(path)
    return found


def plot_convergence(histories, axes=None):
    """Figure 2: training loss and train / validation / test TER per epoch.

    Args:
        histories: curve label -> history DataFrame with
            :data:`FIGURE2_FIELDS` (:func:`table4_histories`).
        axes: four matplotlib axes, or None for a new figure.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt
    if axes is None:
        fig, axes = plt.subplots(1, 4, figsize=(14, 3.4))
    panels = (("train_loss", "training loss (nats per frame)"),
              ("train_ter", "training TER"), ("val_ter", "validation TER"),
              ("test_ter", "test TER"))
    for ax, (field, title) in zip(axes, panels):
        for label, frame in histories.items():
            ax.plot(frame["epoch"], frame[field], marker=".", label=label)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epoch")
        if field != "train_loss":
            ax.set_ylim(bottom=0)
    axes[0].legend(fontsize=8)
    fig = axes[0].figure
    fig.tight_layout()
    return fig


def table4_comparison(histories=COMMITTED_HISTORIES):
    """Our Table 4 beside the paper's, TER in percent: one line per row with
    a history, columns ``ours train / val / test``, ``paper train / val /
    test``, ``epochs`` and ``best val (epoch)``."""
    table = table4(histories)
    out = pd.DataFrame({"feature": table["label"],
                        "epochs": table["epochs"]})
    for split in ("train", "val", "test"):
        out[f"ours {split}"] = (100 * table[f"{split}_ter"]).round(1)
    for split in ("train", "val", "test"):
        out[f"paper {split}"] = (100 * table[f"paper_{split}_ter"]).round(1)
    out["best val (epoch)"] = [
        "" if pd.isna(v) else f"{100 * v:.1f} ({int(e)})"
        for v, e in zip(table["best_val_ter"], table["best_epoch"])]
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


__all__ = ["FIGURE2_FIELDS", "FIGURE2_ROWS",
           "plot_convergence", "plot_table4", "table4_comparison",
           "table4_histories"]
