"""The generated documentation pages are up to date, and the site's
pages are all in its navigation."""

import re
from pathlib import Path

import pytest
import yaml

from conftest import load_script

ROOT = Path(__file__).resolve().parent.parent

#: The pages whose prose is written by hand (the others are generated
#: whole: cli, api, models, reliability, table4).
HAND_WRITTEN = ["README.md", "docs/benchmarks.md", "docs/deviations.md",
                "docs/detector.md", "docs/development.md", "docs/index.md",
                "docs/licence.md", "docs/reproduction.md", "docs/soundnet.md",
                "docs/teaching.md", "docs/variants.md"]


@pytest.fixture(scope="module")
def generated():
    return load_script("write_docs").pages()


@pytest.mark.parametrize("name", ["cli.md", "api.md", "models.md",
                                  "reliability.md", "table4.md",
                                  *HAND_WRITTEN])
def test_generated_pages_are_up_to_date(generated, name):
    """``python scripts/write_docs.py`` regenerates them (and the regions of
    the hand-written pages) from the code and the committed results: any
    difference fails (rerun the script)."""
    path = ROOT / name if "/" in name else ROOT / "docs" / name
    assert generated[path] == path.read_text(), \
        f"{name} is out of date: run python scripts/write_docs.py"


def test_every_page_is_in_the_navigation():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())

    def pages(items):
        for item in items:
            for value in item.values():
                yield from pages(value) if isinstance(value, list) else \
                    [value]
    listed = set(pages(config["nav"]))
    present = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert listed == present


def test_readme_is_short_and_links_every_page():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    for page in (ROOT / "docs").glob("*.md"):
        assert f"(docs/{page.name})" in readme, page.name


def test_cli_page_lists_every_command(generated):
    from sed.cli import parser as sed_parser
    from soundnet_keras.cli import parser as sk_parser
    text = generated[ROOT / "docs" / "cli.md"]
    for program, make in (("soundnet-keras", sk_parser),
                          ("sed-ctc", sed_parser)):
        for name in make()._subparsers._group_actions[0].choices:
            assert f"### {program} {name}\n" in text


#: A figure as it appears in prose: a decimal, a percentage, a ratio
#: (``1.18x``) or a quantity of time, memory or speed (``95 s``,
#: ``1.33 GiB``, ``444 GFLOP/s``), ranges (``0.06-0.11``) included.
FIGURE = re.compile(
    r"(?<![\w.\-/])\d[\d,]*(?:\.\d+)?(?:-\d[\d,]*(?:\.\d+)?)?\s*"
    r"(?:%|x\b|×|GiB|MiB|GB|MB|KB|GFLOP/s|MFLOP|s\b|h\b|min\b|ms\b|"
    r"hours?\b|minutes?\b)|(?<![\w.\-/])\d+\.\d+(?:-\d+\.\d+)?(?![\w.])")

#: Figures that define something (a parameter of the paper's recipe or of
#: the project's design, an input's size, a version) rather than report a
#: measurement: allowed in prose on every page. A measured figure belongs
#: in a generated region (``scripts/docs_*.py``) made from its results file.
DEFINITIONS_BENCHMARKS = {      # docs/benchmarks.md, docs/soundnet.md
}
DEFINITIONS_RESULTS = {         # docs/reproduction.md, docs/deviations.md
}
DEFINITIONS_GUIDES = {          # README, index, detector, variants, teaching,
    "Apache License 2.0",       # development, licence
}
DEFINITIONS = DEFINITIONS_BENCHMARKS | DEFINITIONS_RESULTS | DEFINITIONS_GUIDES


def typed_figures(text):
    """The figures of ``text`` outside generated regions, code, link
    targets, headings and :data:`DEFINITIONS`: ``[(line, figure)]``."""
    text = re.sub(r"<!-- generated: ([\w.-]+) -->.*?<!-- end: \1 -->",
                  lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r"```.*?```", lambda m: "\n" * m.group(0).count("\n"),
                  text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    for allowed in sorted(DEFINITIONS, key=len, reverse=True):
        text = text.replace(allowed, "")
    return [(number, match.group(0).strip())
            for number, line in enumerate(text.splitlines(), 1)
            if not line.startswith("#") for match in FIGURE.finditer(line)]


def test_typed_figures_are_found():
    text = ("Run 5 gains **1.18x** (1.10-1.19) in 95 s and 1.33 GiB, "
            "`0.5` in code,\n<!-- generated: t -->\n0.25\n<!-- end: t -->\n"
            "a 12.5% share; conv5, SoundNet-8, Apache-2.0.\n")
    assert typed_figures(text) == [
        (1, "1.18x"), (1, "1.10-1.19"), (1, "95 s"), (1, "1.33 GiB"),
        (5, "12.5%")]




@pytest.mark.parametrize("name", HAND_WRITTEN)
def test_no_measured_figure_is_typed_by_hand(name):
    """Every measured number on a page comes from a generated region
    (``scripts/write_docs.py`` and its ``scripts/docs_*.py``), never from
    prose typed by hand."""
    found = typed_figures((ROOT / name).read_text())
    assert not found, f"{name}: typed figures (line, figure): {found}"
