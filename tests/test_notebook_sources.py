"""The committed notebooks are what their cell modules
(``scripts/notebook_cells/``) write, and their prose types no measured
figure: the numbers a notebook reports are printed by its cells."""

import nbformat
import pytest

from conftest import load_script
from test_docs import DEFINITIONS_GUIDES, DEFINITIONS_RESULTS, typed_figures


#: ``scripts/build_notebooks.py``, loaded once (its ``BOOKS`` parametrize
#: the prose test).
BUILDER = load_script("build_notebooks")


@pytest.fixture
def builder():
    return BUILDER


def test_committed_notebooks_hold_their_cells(builder):
    assert [name for name in builder.BOOKS if builder.stale(name)] == []


def test_a_changed_cell_is_found(builder, monkeypatch):
    name = "figure1_soundnet_variants.ipynb"
    cells = list(builder.BOOKS[name])
    cells[0] = nbformat.v4.new_markdown_cell(cells[0].source + " More.")
    monkeypatch.setitem(builder.BOOKS, name, cells)
    assert builder.stale(name)
    assert builder.main(["--check", name]) == 1
    monkeypatch.setitem(builder.BOOKS, name, cells[:-1] + [cells[0]])
    assert builder.stale(name)


def test_an_unknown_notebook_is_refused(builder, capsys):
    with pytest.raises(SystemExit):
        builder.main(["--check", "figure9.ipynb"])
    assert "no notebook figure9.ipynb; the notebooks: figure1" in \
        capsys.readouterr().err


#: Figures the notebooks' prose may carry: the paper's results (quoted, in
#: its "What the paper found" paragraphs; the same numbers the code holds in
#: sed.experiments.TABLE4 and soundnet_keras.plots.PAPER_VAL_KL), its
#: sections, and the networks' frame geometry (soundnet_keras.specs).
DEFINITIONS_NOTEBOOKS = DEFINITIONS_GUIDES | DEFINITIONS_RESULTS | {
    "Section 3.1", "Section 3.2",
    "5.39", "5.43", "5.58",             # the paper's validation KL (Fig. 1)
    "0.02-0.15", "0.75-0.85",           # its training / test TER (Table 4)
    "75.8%", "74.0%", "82.8%", "81.0%", "96%",
    "14.5 s", "2.97 s", "0.51 s", "4.1 s", "0.21 s", "0.09 s", "1.5 s",
    "10.8",                             # conv5 frames per second
    "0.25 s",                           # the course's boundary window
    "4.5 s",                            # Figure 3's change of sound
    "within 10 frames, 1 s",            # alignment hinting's tolerance
    "about 1 s", "per 1 s segment", "5 s each",
    "below 50%",                        # a warm-up mark's threshold
}


@pytest.mark.parametrize("name", sorted(BUILDER.BOOKS))
def test_notebook_prose_types_no_measured_figure(name, builder):
    found = [(number, figure) for number, cell in
             enumerate(builder.BOOKS[name]) if cell.cell_type == "markdown"
             for _, figure in typed_figures(cell.source,
                                            DEFINITIONS_NOTEBOOKS)]
    assert not found, f"{name}: typed figures (cell, figure): {found}"
