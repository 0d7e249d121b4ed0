"""The generated documentation pages are up to date, and the site's
pages are all in its navigation."""

import re
from pathlib import Path

import pytest
import yaml

from soundnet_keras.weights import PRESETS

from conftest import load_script

ROOT = Path(__file__).resolve().parent.parent

#: The pages whose prose is written by hand (the others are generated
#: whole: cli, api, models, reliability, table4).
HAND_WRITTEN = ["README.md", "docs/benchmarks.md", "docs/deviations.md",
                "docs/detector.md", "docs/development.md", "docs/index.md",
                "docs/licence.md", "docs/reproduction.md", "docs/soundnet.md",
                "docs/teaching.md", "docs/transfer.md", "docs/variants.md"]


@pytest.fixture(scope="module")
def generated():
    return load_script("write_docs").pages()


#: The model cards in the built-in preset folders, and the folder's page.
PRESET_CARDS = ["weights/README.md",
                *(f"weights/{name}/README.md" for name in PRESETS)]


@pytest.mark.parametrize("name", ["cli.md", "api.md", "models.md",
                                  "reliability.md", "table4.md",
                                  *HAND_WRITTEN, *PRESET_CARDS])
def test_generated_pages_are_up_to_date(generated, name):
    """``python scripts/write_docs.py`` regenerates them (and the regions of
    the hand-written pages, and the preset folders' cards) from the code and
    the committed results: any difference fails (rerun the script)."""
    path = ROOT / name if "/" in name or name == "README.md" \
        else ROOT / "docs" / name
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
    notebooks = {f"notebooks/{p.name}"
                 for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert listed == present | notebooks


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
#: (``1.18x``), a quantity of time, memory or speed (``95 s``,
#: ``1.33 GiB``, ``444 GFLOP/s``), ranges (``0.06-0.11``) included, or a
#: count written with thousands separators (``2,574``).
FIGURE = re.compile(
    r"(?<![\w.\-/])\d[\d,]*(?:\.\d+)?(?:-\d[\d,]*(?:\.\d+)?)?\s*"
    r"(?:%|x\b|×|GiB|MiB|GB|MB|KB|GFLOP/s|MFLOP|s\b|h\b|min\b|ms\b|"
    r"hours?\b|minutes?\b)|(?<![\w.\-/])\d+\.\d+(?:-\d+\.\d+)?(?![\w.])"
    r"|(?<![\w.\-/])\d{1,3}(?:,\d{3})+(?![\w.])")

#: Figures that define something (a parameter of the paper's recipe or of
#: the project's design, an input's size, a version) rather than report a
#: measurement: allowed in prose on the pages named below. A measured figure belongs
#: in a generated region (``scripts/docs_*.py``) made from its results file.
DEFINITIONS_BENCHMARKS = {      # docs/benchmarks.md, docs/soundnet.md
    "120 s chunks",             # the previous extraction path's, predict's
    "chunks of 80 s",           # the folded plan's (FAST_CHUNK_SECONDS)
    "20 s clips",               # the benchmarks' clips, SoundNet's training
    "20 s training clips",
    "shorter than 20 s to 20 s",            # predict's tiling
    "clips to 10 s",            # the original prediction script's tiling
    "25-61%",                   # conv7's last frame in the padding: geometry
    "at least 2x the previous path",        # the SoundNet issues' goals
    "under 2 GB",
    "5, 10, 19 and 25 s",       # the lengths tests/test_predict_cli.py runs
    "3 s and 11 s",             # the lengths tests/test_export.py runs
    "Apache Beam 2.77",         # versions
    "TensorFlow 2.21",
    "protobuf 6.33",
    "209,374 samples",          # conv8's and conv7's receptive fields and
    "91,166 samples",           # conv8's hop (soundnet_keras.specs)
    "hop 32,768",
}
DEFINITIONS_RESULTS = {         # docs/reproduction.md, docs/deviations.md
    "lr 3.0",                   # the paper's recipe (sed/configs/paper.yaml)
    "Nesterov 0.9",
    "clipping at 1.0",          # a setting tried
    "at least 10%",             # the warm-up marks' thresholds
    "TER below 50%",            # (sed.experiments.warmup_marks)
    "9.6 h",                    # the corpus size (the paper's, by design)
    "8.59 s",                   # receptive fields: the paper's Table 1 / 2
    "4.16 s",                   # as printed, and from the kernels and
    "0.44 s",                   # strides (soundnet_keras.specs)
    "14.54 s",
    "4.13 s",
    "0.34 s",
    "3, 8, 13, 18 s",           # the paper's target times in its 20 s clips
    "20 s clip",
    "4.75, 7.72, 10.69, 13.66 s",           # the teacher's frame centres
    "up to 4.3 s",              # (specs.frame_times) and their distance
    "scaled by 0.73",           # 16,000 / 22,050 Hz
    "1 s window centred on each 0.1 s frame",   # the openSMILE framing
    "0.1 s frame",              # the students' frame hop (10 Hz)
    "10 s recording",           # Figure 3's recording and its change
    "at 4.5 s",
    "stop at 1.2",              # Figure 2's axes (sed.plots.TER_AXIS_TOP)
    "22,050",                   # SoundNet's sample rate (Hz)
    "91,166 samples",           # conv7's receptive field (specs)
    "one part in 32,768",       # int16's step
    "2,500 frames",             # a minibatch's frames (5 chunks of 500)
}
DEFINITIONS_GUIDES = {          # README, index, detector, variants, teaching,
    "Apache License 2.0",       # development, licence
    "464 recordings, 9.6 h, 17 event types",    # the paper's corpus
    "recordings (30-60 s)",     # make_default_corpus's recordings
    "files under 1 s",          # the pool leaves them out
    "files longer than 40 s",   # the stand-in corpus's LONG_S, SEGMENT_S
    "segments of about 20 s",
    "25 ms frames every 10 ms",                 # the low-level recipes
    "85% roll-off",
    "each 100 ms window",
    "1 s window centred on each 0.1 s frame",
    "Sections 2.1 and 3.2",     # the paper's sections
    "Section 4.2",
    "lr 3.0",                   # the paper's recipe (sed.train.DEFAULTS)
    "momentum 0.9",
    "200 ms collar, 20% of length",             # sed_eval's settings
    "1 s collar",
    "F1 (1 s)",
    "1,000 clips or 20%",       # the targets' validation split
    "5% of float32's",          # the mixed-precision test's tolerance
    "clips of 20 s",            # the paper's clip length and hop
    "back-to-back 20 s clips",
    "shorter than a 20 s clip",
    "clips every 10 s",
    "3, 8, 13, 18 s",           # the paper's target times in a clip
    "clipping at 1.0",          # a setting tried
    "10 ms frames",             # the spectrogram's frames
    "Python 3.12",              # a version
    "22,050",                   # SoundNet's sample rate (Hz)
    "1,000 objects",            # SoundNet's heads; the paper's validation
    "1,000 clips",              # clips; the targets' validation split
    "1,000 validation clips",
    "the paper's 1,000",
    "6,400 clip presentations",  # 5 epochs of 20 minibatches of 64
}
#: Each hand-written page's definitions.
DEFINITIONS = {name: DEFINITIONS_GUIDES for name in HAND_WRITTEN}
DEFINITIONS.update({"docs/benchmarks.md": DEFINITIONS_BENCHMARKS,
                    "docs/soundnet.md": DEFINITIONS_BENCHMARKS,
                    "docs/reproduction.md": DEFINITIONS_RESULTS,
                    "docs/deviations.md": DEFINITIONS_RESULTS})


def typed_figures(text, allowed=()):
    """The figures of ``text`` outside generated regions, code, link
    targets, headings and the strings ``allowed``: ``[(line, figure)]``."""
    text = re.sub(r"<!-- generated: ([\w.-]+) -->.*?<!-- end: \1 -->",
                  lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r"```.*?```", lambda m: "\n" * m.group(0).count("\n"),
                  text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    for figure in sorted(allowed, key=len, reverse=True):
        text = text.replace(figure, "")
    return [(number, match.group(0).strip())
            for number, line in enumerate(text.splitlines(), 1)
            if not line.startswith("#") for match in FIGURE.finditer(line)]


def test_typed_figures_are_found():
    text = ("Run 5 gains **1.18x** (1.10-1.19) in 95 s and 1.33 GiB, "
            "`0.5` in code,\n<!-- generated: t -->\n0.25\n<!-- end: t -->\n"
            "a 12.5% share; conv5, SoundNet-8, Apache-2.0; 2,574 clips.\n")
    assert typed_figures(text) == [
        (1, "1.18x"), (1, "1.10-1.19"), (1, "95 s"), (1, "1.33 GiB"),
        (5, "12.5%"), (5, "2,574")]
    assert typed_figures(text, {"95 s"})[2:] == [(1, "1.33 GiB"),
                                                (5, "12.5%"), (5, "2,574")]


@pytest.mark.parametrize("name", HAND_WRITTEN)
def test_no_measured_figure_is_typed_by_hand(name):
    """Every measured number on a page comes from a generated region
    (``scripts/write_docs.py`` and its ``scripts/docs_*.py``), never from
    prose typed by hand."""
    found = typed_figures((ROOT / name).read_text(), DEFINITIONS[name])
    assert not found, f"{name}: typed figures (line, figure): {found}"
