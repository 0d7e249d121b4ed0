"""Writes the notebooks of notebooks/ from their cells
(``scripts/notebook_cells/``, one module per notebook), runs them, keeps
their outputs and saves each figure as notebooks/figures/<name>.png (the
PNGs the README shows are these outputs).

    python scripts/build_notebooks.py            # write, run, save figures
    python scripts/build_notebooks.py NAME.ipynb # one notebook
    python scripts/build_notebooks.py --no-run   # write the cells only
    python scripts/build_notebooks.py --check    # exit 1 where a committed
                                                 # notebook's cells differ

The notebooks themselves only read saved histories and call plotting
functions of the packages (soundnet_keras.plots, sed.plots).
"""

import argparse
import base64
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
FIGURES = NOTEBOOKS / "figures"

sys.path.insert(0, str(Path(__file__).resolve().parent))
from notebook_cells import (figure1, figure2, figure3, table4,  # noqa: E402
                            transfer, tutorial)

#: notebook -> its cells.
BOOKS = {"figure1_soundnet_variants.ipynb": figure1.CELLS,
         "figure2_ctc_convergence.ipynb": figure2.CELLS,
         "figure3_activations.ipynb": figure3.CELLS,
         "table4_feature_layers.ipynb": table4.CELLS,
         "transfer_learning.ipynb": transfer.CELLS,
         "tutorial_soundnet_ctc.ipynb": tutorial.CELLS}


def stale(name):
    """Whether the committed notebook ``name`` lacks, or holds other cells
    (their kinds, sources and figure names) than, its cell module."""
    path = NOTEBOOKS / name
    if not path.is_file():
        return True
    committed = nbformat.read(path, as_version=4).cells

    def key(cells):
        return [(c.cell_type, c.source, c.metadata.get("figure"))
                for c in cells]
    return key(committed) != key(BOOKS[name])


def build(name, cells, run=True):
    book = nbformat.v4.new_notebook(cells=cells)
    book.metadata["kernelspec"] = {"name": "python3", "display_name":
                                   "Python 3", "language": "python"}
    path = NOTEBOOKS / name
    if run:
        start = time.perf_counter()
        NotebookClient(book, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOKS)}}
                       ).execute()
        print(f"{name}: ran in {time.perf_counter() - start:.0f} s")
        for cell in book.cells:
            figure = cell.metadata.get("figure")
            for output in cell.get("outputs", []):
                png = output.get("data", {}).get("image/png")
                if figure and png:
                    FIGURES.mkdir(exist_ok=True)
                    (FIGURES / f"{figure}.png").write_bytes(
                        base64.b64decode(png))
                    print(f"  wrote notebooks/figures/{figure}.png")
                    break
    nbformat.write(book, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-run", action="store_true",
                        help="write the cells without running them")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a committed notebook's "
                             "cells differ from its cell module")
    parser.add_argument("names", nargs="*", help="notebooks (default all)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BOOKS))
    if unknown:
        parser.error(f"no notebook {', '.join(unknown)}; the notebooks: "
                     f"{', '.join(BOOKS)}")
    chosen = [name for name in BOOKS if not args.names or name in args.names]
    if args.check:
        found = [name for name in chosen if stale(name)]
        for name in found:
            print(f"{name} differs from its cells: run python "
                  f"scripts/build_notebooks.py {name}", file=sys.stderr)
        return 1 if found else 0
    for name in chosen:
        build(name, BOOKS[name], run=not args.no_run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
