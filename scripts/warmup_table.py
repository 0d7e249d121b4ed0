"""Prints the README's warm-up table (Markdown) from the committed histories
of the warm-up sweep (notebooks/histories/warmup), one line per run:

    python scripts/warmup_table.py

tests/test_readme.py checks that the README holds exactly these lines.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sed.experiments import COMMITTED_SWEEPS, sweep_table, table4_row  # noqa: E402

HEADER = ("| feature | recipe | seed | epochs | first non-blank step (epoch) "
          "| output >= 10%: epoch | train TER < 50%: epoch (steps) | train / "
          "val / test TER, last epoch | best val TER (epoch) |\n"
          "|---|---|---:|---:|---:|---:|---:|---:|---:|")


def _int(value):
    return "-" if value != value or value is None else f"{int(value)}"


def warmup_lines(histories=COMMITTED_SWEEPS):
    """The table's lines, header first."""
    lines = HEADER.splitlines()
    for run in sweep_table(histories).itertuples():
        recipe = {"paper": "paper (ReLU-g, lr 3, no clip)",
                  "tanh_clipped": "tanh, clip 1"}.get(run.variant,
                                                      run.variant)
        lines.append(
            f"| {table4_row(run.row).label} | {recipe} | {run.seed} | "
            f"{run.epochs} | {_int(run.first_nonblank_step)} "
            f"({_int(run.first_nonblank_epoch)}) | "
            f"{_int(run.output10_epoch)} | {_int(run.ter50_epoch)} "
            f"({_int(run.ter50_step)}) | {run.train_ter:.3f} / "
            f"{run.val_ter:.3f} / {run.test_ter:.3f} | "
            f"{run.best_val_ter:.3f} ({_int(run.best_epoch)}) |")
    return lines


if __name__ == "__main__":
    print("\n".join(warmup_lines()))
