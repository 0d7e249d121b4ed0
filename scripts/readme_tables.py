"""Writes the README's result tables (Markdown) from the committed
histories: the warm-up table (notebooks/histories/warmup, one line per
run) and the first Table 4 (notebooks/histories/table4_20epochs, one line per
row: one seed, 20 epochs).

    python scripts/readme_tables.py            # rewrite both tables in README.md
    python scripts/readme_tables.py --print    # print them instead

tests/test_readme.py checks that the README holds exactly these lines.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sed.experiments import (COMMITTED_SWEEPS, TABLE4_20EPOCHS,  # noqa: E402
                             sweep_table, table4, table4_row)

WARMUP_HEADER = (
    "| feature | recipe | seed | epochs | first non-blank step (epoch) "
    "| output >= 10%: epoch | train TER < 50%: epoch (steps) | train / "
    "val / test TER, last epoch | best val TER (epoch) |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|---:|")
TABLE4_HEADER = (
    "| feature | epochs | ours train / val / test, last epoch | ours best "
    "val / test (epoch) | paper train / val / test |\n"
    "|---|---:|---:|---:|---:|")


def _int(value):
    return "-" if value is None or value != value else f"{int(value)}"


def _pct(*values):
    return " / ".join("-" if v is None or v != v else f"{100 * v:.1f}"
                      for v in values)


def warmup_lines(histories=COMMITTED_SWEEPS):
    """The warm-up table's lines, header first."""
    lines = WARMUP_HEADER.splitlines()
    for run in sweep_table(histories).itertuples():
        recipe = {"paper": "paper (ReLU-g, lr 3, no clip)",
                  "paper_pretrain": "paper + frame-wise pre-training",
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


def table4_lines(histories=TABLE4_20EPOCHS):
    """Table 4's lines (TER in percent), header first; a row still
    training says so beside its epochs."""
    lines = TABLE4_HEADER.splitlines()
    for row in table4(histories).itertuples():
        epochs = f"{row.epochs}" + (f" ({row.status})"
                                    if row.status != "finished" else "")
        lines.append(
            f"| {row.label} | {epochs} | "
            f"{_pct(row.train_ter, row.val_ter, row.test_ter)} | "
            f"{_pct(row.best_val_ter, row.best_test_ter)} "
            f"({_int(row.best_epoch)}) | "
            f"{_pct(row.paper_train_ter, row.paper_val_ter, row.paper_test_ter)} |")
    return lines


def replace_table(text, lines):
    """``text`` with the Markdown table that starts with ``lines[0]``
    replaced by ``lines``."""
    start = text.index(lines[0] + "\n")
    end = text.find("\n\n", start)
    end = len(text) if end < 0 else end
    return text[:start] + "\n".join(lines) + text[end:]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--print", action="store_true",
                        help="print the tables instead of writing README.md")
    args = parser.parse_args(argv)
    tables = (warmup_lines(), table4_lines())
    if args.print:
        print("\n\n".join("\n".join(lines) for lines in tables))
        return 0
    readme = ROOT / "README.md"
    text = readme.read_text()
    for lines in tables:
        text = replace_table(text, lines)
    readme.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
