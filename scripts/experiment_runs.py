"""The committed runs that the results regions read (``docs_corpus.py``,
``docs_warmup_figures.py``, ``docs_table4.py``, ``docs_deviations.py``;
see ``scripts/write_docs.py``): the warm-up sweep
(``notebooks/histories/warmup``, :func:`sed.experiments.sweep_table`) and
the first, 20-epoch Table 4 (``notebooks/histories/table4_20epochs``,
:func:`sed.experiments.table4`), and how two runs compare.

A gap between two runs is read against :func:`seed_spread`, the largest
difference between two seeds of one configuration in the warm-up sweep: a
smaller gap is called level (:func:`versus`).

Not a ``docs_*.py`` module itself (it makes no region): they put
``scripts/`` and the repository on ``sys.path`` and import it by name.
"""

from functools import lru_cache

from prose import read_json, span
from sed.experiments import (COMMITTED_SWEEPS, TABLE4_20EPOCHS, sweep_table,
                             table4, table4_row)

#: The features of the warm-up sweep, in prose.
NAME = {"soundnet8_conv5": "conv5", "lowlevel": "the low-level feature",
        "opensmile": "openSMILE"}
C5, LL, OS = NAME
RECIPE = {"paper": "the paper's recipe", "tanh_clipped": "tanh + clipping",
          "paper_pretrain": "the paper's recipe with pre-training"}


def epoch_span(values):
    return span(values, ".0f")


def paper_ter(row, i):
    """The paper's TER (train, val, test: ``i``) of a Table 4 row."""
    return f"{table4_row(row).paper[i]:.1f}%"


@lru_cache(None)
def sweep():
    return sweep_table(COMMITTED_SWEEPS)


def marks(row, column, variant="paper"):
    """A warm-up sweep column over the seeds of one configuration."""
    t = sweep()
    return list(t[(t.row == row) & (t.variant == variant)][column])


@lru_cache(None)
def sweep_histories():
    return {p.parent.name: read_json(p)
            for p in sorted(COMMITTED_SWEEPS.glob("*/history.json"))}


def spreads():
    groups = sweep().groupby(["row", "variant"])["best_val_ter"]
    return groups.max() - groups.min()


def seed_spread():
    """The largest difference in best validation TER between two seeds of
    one configuration (feature and recipe) of the warm-up sweep."""
    return float(spreads().max())


def versus(a, b):
    """How a run of TER ``a`` stands to one of TER ``b``: ``level with``
    within :func:`seed_spread`, else ``ahead of`` (lower) or ``behind``."""
    if abs(a - b) <= seed_spread():
        return "level with"
    return "ahead of" if a < b else "behind"


def versus_all(pairs):
    """:func:`versus` over ``[(a, b)]``: one word if all agree."""
    words = sorted({versus(a, b) for a, b in pairs})
    return words[0] if len(words) == 1 else "partly " + ", partly ".join(words)


@lru_cache(None)
def t4_table():
    """The first Table 4 (20 epochs, one seed), one line per row."""
    return table4(TABLE4_20EPOCHS).set_index("row")


def t4_epochs(row):
    """The epochs of a row's run in the first Table 4."""
    return read_json(TABLE4_20EPOCHS / f"{row}-seed0" /
                     "history.json")["epochs"]


def unclipped_grad_norms():
    """The largest gradient norm of the sweep's runs without clipping in
    the first epoch and after it."""
    runs = [r["epochs"] for r in sweep_histories().values()
            if r["config"]["opt"].get("clipnorm") is None]
    return (max(e[0]["grad_norm_max"] for e in runs),
            max(r["grad_norm_max"] for e in runs for r in e[1:]))
