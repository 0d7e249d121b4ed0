"""Writes the generated documentation pages from the code and the committed
results; nothing in them is typed by hand.

* ``docs/cli.md``: every command and option of ``soundnet-keras`` and
  ``sed-ctc``, from their argparse parsers;
* ``docs/models.md``: the model card of every preset, and the same card as
  the ``README.md`` of each preset folder in ``weights/``, with
  ``weights/README.md`` (the folder and one line per preset);
* ``docs/reliability.md``: the error table, each case run;
* ``docs/api.md``: the modules' docstrings and their public names (``__all__``) with signatures and docstrings;
* ``docs/table4.md``: Table 4 at convergence from
  ``notebooks/histories/table4`` (:mod:`sed.results`: the runs, each row's
  mean and spread over seeds, the paired bootstrap intervals, the verdicts
  on the paper's claims), with every sentence that carries a number;
* the regions ``<!-- generated: NAME -->`` ... ``<!-- end: NAME -->`` of
  the hand-written pages (:data:`REGION_PAGES`),
  each written by a function of a ``scripts/docs_*.py`` module (its
  ``REGIONS``: name -> function; one module per topic, their shared
  helpers in ``scripts/prose.py`` and ``scripts/experiment_runs.py``)
  from the committed results files;
* the result tables of ``docs/reproduction.md``: the warm-up sweep
  (``notebooks/histories/warmup``, one line per run) and the first Table 4
  (``notebooks/histories/table4_20epochs``: one seed, 20 epochs, one line
  per row).

    python scripts/write_docs.py            # rewrite the pages
    python scripts/write_docs.py --check    # exit 1 if a page is out of date

``tests/test_docs.py`` runs the check.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DOCS = ROOT / "docs"

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


def _pcts(*values):
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
            f"{_pcts(row.train_ter, row.val_ter, row.test_ter)} | "
            f"{_pcts(row.best_val_ter, row.best_test_ter)} "
            f"({_int(row.best_epoch)}) | "
            f"{_pcts(row.paper_train_ter, row.paper_val_ter, row.paper_test_ter)} |")
    return lines


def replace_table(text, lines):
    """``text`` with the Markdown table that starts with ``lines[0]``
    replaced by ``lines``."""
    start = text.index(lines[0] + "\n")
    end = text.find("\n\n", start)
    end = len(text) if end < 0 else end
    return text[:start] + "\n".join(lines) + text[end:]




def cli_page():
    """``docs/cli.md``: each program's commands with their ``--help``."""
    from sed.cli import parser as sed_parser
    from soundnet_keras.cli import parser as sk_parser
    lines = ["# Command line", "",
             "Generated from the parsers by `scripts/write_docs.py`. Both "
             "programs exit with 0 on success, 1 when some inputs failed "
             "(the others are done and the failures listed), 2 for bad "
             "arguments or inputs found before any work (one line on "
             "standard error, naming the problem and the fix).", ""]
    for program, make in (("soundnet-keras", sk_parser),
                          ("sed-ctc", sed_parser)):
        parser = make()
        parser.prog = program
        lines += [f"## {program}", "", "```", _help(parser), "```", ""]
        commands = parser._subparsers._group_actions[0].choices
        for name, sub in commands.items():
            sub.prog = f"{program} {name}"
            lines += [f"### {program} {name}", "", "```",
                      _help(sub), "```", ""]
    return "\n".join(lines)


#: The modules of ``docs/api.md``, by section.
API_MODULES = (
    ("SoundNet and its variants", ("soundnet_keras", "soundnet_keras.models",
                                   "soundnet_keras.audio",
                                   "soundnet_keras.features",
                                   "soundnet_keras.predictions",
                                   "soundnet_keras.specs",
                                   "soundnet_keras.weights",
                                   "soundnet_keras.hear",
                                   "soundnet_keras.export",
                                   "soundnet_keras.cards",
                                   "soundnet_keras.preset_folders")),
    ("Transfer learning", ("soundnet_keras.transfer",
                           "sed.corpora.clipset")),
    ("Distillation", ("soundnet_keras.targets", "soundnet_keras.training",
                      "soundnet_keras.trunk")),
    ("Runs, identity, outputs, stores", (
        "soundnet_keras.runs", "soundnet_keras.identity",
        "soundnet_keras.outputs", "soundnet_keras.stores")),
    ("The detector", ("sed.config", "sed.train", "sed.model", "sed.decode",
                      "sed.detector", "sed.metrics", "sed.tokens",
                      "sed.events", "sed.features", "sed.corpora")),
    ("Experiments and results", ("sed.experiments", "sed.publishing",
                                 "sed.results")),
)


def api_page():
    """``docs/api.md``: each module's docstring and each name of its
    ``__all__`` with its signature and docstring. A name in ``__all__``
    that the module does not have fails (an unresolved reference)."""
    import importlib
    import inspect
    lines = ["# API", "",
             "Generated from the docstrings by `scripts/write_docs.py`; the "
             "examples in them run as tests (`pytest --doctest-modules`).",
             ""]
    for section, modules in API_MODULES:
        lines += [f"## {section}", ""]
        for name in modules:
            module = importlib.import_module(name)
            lines += [f"### `{name}`", "", "```text",
                      inspect.cleandoc(module.__doc__ or "").strip(), "```",
                      ""]
            for attr in getattr(module, "__all__", []):
                if not hasattr(module, attr):
                    raise AttributeError(f"{name}.__all__ names {attr!r}, "
                                         "which the module does not have")
                obj = getattr(module, attr)
                if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                    continue
                try:        # no machine's paths in the page
                    signature = str(inspect.signature(obj)).replace(
                        str(ROOT), "<checkout>")
                except (TypeError, ValueError):
                    signature = "(...)"
                kind = "class " if inspect.isclass(obj) else ""
                lines += [f"#### `{kind}{name}.{attr}{signature}`"
                          .replace("`", "`", 2), ""]
                doc = inspect.getdoc(obj)
                if doc:
                    lines += ["```text", doc.strip(), "```", ""]
    return "\n".join(lines)


def _help(parser):
    import os
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "88"     # the same wrapping on every terminal
    try:
        return parser.format_help().strip()
    finally:
        if old is None:
            os.environ.pop("COLUMNS")
        else:
            os.environ["COLUMNS"] = old


def _pct(value):
    return "-" if value != value else f"{100 * value:.1f}"


def _spread(mean, std):
    if mean != mean:
        return "-"
    return f"{100 * mean:.1f}" + ("" if std != std else f" ± {100 * std:.1f}")


def table4_page(histories=None):
    """``docs/table4.md`` from the committed Table 4 histories."""
    from sed.experiments import (COMMITTED_HISTORIES, TABLE4, TABLE4_PATIENCE,
                                 TABLE4_SEEDS, table4_row)
    from sed.results import (CONFIDENCE, collect, row_summary, verdicts,
                             warmup_verdicts)
    histories = Path(histories or COMMITTED_HISTORIES)
    runs = collect(histories)
    expected = len(TABLE4) * len(TABLE4_SEEDS)
    finished = int((runs["status"] == "finished").sum()) if len(runs) else 0
    lines = [
        "# Table 4 at convergence", "",
        "Generated by `scripts/write_docs.py` from the histories in "
        "`notebooks/histories/table4` (one folder per run, `<row>-seed<k>`); "
        "every number below is computed from them.", "",
        "Each row of the paper's Table 4 is trained with the paper's recipe "
        f"(`sed/configs/paper.yaml`) and seeds {', '.join(map(str, TABLE4_SEEDS))} "
        "(initialisation and data order), each run until its validation TER "
        f"has not improved for {TABLE4_PATIENCE} epochs (three learning-rate "
        "decays) or to 200 epochs. The network features are centred and "
        "scaled by one common factor, so a batch-norm layer's scale factors "
        "reach the detector (scaling `common`); the project's own low-level "
        "feature is standardised per dimension (`dimension`). Command: "
        "`sed-ctc experiments table4 --corpus data/standin --jobs 2 "
        "--publish` (it continues the whole table where it stopped).", "",
        f"Runs: {len(runs)} of {expected} started, {finished} finished.", ""]
    lines += bn_inputs_lines()
    if runs.empty:
        return "\n".join(lines + ["No run has been published yet.", ""])
    summary = row_summary(runs)
    lines += [
        "## The rows", "",
        "TERs, F1 and error rates in percent, mean ± standard deviation over "
        "the seeds that have a "
        "history; `best` is the epoch with the lowest validation TER (the "
        "model a user keeps), `last` the last epoch trained. F1 and ER: "
        "sed_eval's event-based (200 ms collar) and segment-based (1 s) "
        "metrics on the test split at the best epoch.", "",
        "| feature | scaling | seeds (finished) | epochs | best val TER | "
        "test TER at best | test TER at last | event F1 | event ER | "
        "segment F1 | paper val / test |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    paper = {row.name: row.paper for row in TABLE4}
    for line in summary.itertuples():
        ref = paper.get(line.row)
        lines.append(
            f"| {line.label} | {line.scaling} | {line.seeds} "
            f"({line.finished}) | {line.epochs_mean:.0f} | "
            f"{_spread(line.best_val_ter_mean, line.best_val_ter_std)} | "
            f"{_spread(line.best_test_ter_mean, line.best_test_ter_std)} | "
            f"{_spread(line.test_ter_mean, line.test_ter_std)} | "
            f"{_spread(line.event_f1_mean, line.event_f1_std)} | "
            f"{_spread(line.event_error_rate_mean, line.event_error_rate_std)}"
            f" | {_spread(line.segment_f1_1s_mean, line.segment_f1_1s_std)} | "
            + (f"{ref[1]:.1f} / {ref[2]:.1f}" if ref else "-") + " |")
    claims, comparisons = verdicts(histories, runs)
    level = int(round(100 * CONFIDENCE))
    lines += [
        "", "![Table 4 over seeds: each seed's best validation TER and its "
        "test TER at that epoch, their mean, the paper's]"
        "(figures/table4_seeds.png)", "",
        "Each seed a point (hollow while it trains), the mean a dash, the "
        "paper's a grey diamond; drawn by the Table 4 notebook "
        "(`notebooks/table4_feature_layers.ipynb`) from the same histories.",
        "", "## The paper's claims", "",
        f"Each claim is a set of comparisons of two rows' test TER at the "
        f"best validation epoch (each row the mean over its finished "
        f"runs; a run still training does not count), with a "
        f"{level}% interval from a paired bootstrap over the test "
        "recordings. A comparison is *confirmed* when its interval lies on "
        "the side the paper says, *refuted* when it lies on the other side, "
        f"*cannot tell* when it holds zero; a claim is confirmed when all its "
        "comparisons are, refuted when any is. Comparisons of rows without "
        "a finished run are *not run*.", "",
        "| # | claim | verdict | confirmed | refuted | cannot tell | "
        "not run |",
        "|---:|---|---|---:|---:|---:|---:|"]
    number = {}
    for claim in claims.itertuples():
        number[claim.claim] = len(number) + 1
        lines.append(f"| {number[claim.claim]} | {claim.claim} | "
                     f"**{claim.verdict}** | {claim.confirmed} | "
                     f"{claim.refuted} | {claim.cannot_tell} | "
                     f"{claim.not_run} |")
    made = comparisons[comparisons["verdict"] != "not run"]
    lines += ["", "### The comparisons", "",
              "Test TER of A minus B, percentage points, with its "
              f"{level}% interval; `#` is the claim it belongs to (a pair "
              "may serve two claims).", "",
              "| # | A | B | expected | A - B | interval | verdict |",
              "|---:|---|---|---|---:|---:|---|"]
    for c in made.itertuples():
        lines.append(
            f"| {number[c.claim]} | {table4_row(c.a).label} | "
            f"{table4_row(c.b).label} | A {c.expect} B | "
            f"{100 * c.difference:+.1f} | [{100 * c.low:+.1f}, "
            f"{100 * c.high:+.1f}] | {c.verdict} |")
    if made.empty:
        lines.append("| - | - | - | - | - | - | no comparison can be made "
                     "yet |")
    lines += ["", "### The warm-up (Figure 2)", "",
              "From the warm-up sweep under the paper's recipe (two seeds "
              "per configuration, [the reproduction](reproduction.md#the-"
              "warm-up-experiment-figure-2)): a run's warm-up ends at the "
              "first epoch whose decoding of the training recordings holds "
              "10% as many tokens as their reference. Two seeds give no "
              "interval: a length is *confirmed* when every run lies within "
              "a factor of two of the paper's and *refuted* when none does; "
              "an order is *confirmed* when the seeds' ranges do not overlap "
              "in the paper's direction, *refuted* when they do not overlap "
              "the other way (`sed.results.warmup_verdicts`).", "",
              "| claim | the paper | measured | verdict |",
              "|---|---|---|---|"]
    for claim in warmup_verdicts().itertuples():
        lines.append(f"| {claim.claim} | {claim.paper} | {claim.measured} "
                     f"| **{claim.verdict}** |")
    lines += ["", "## The runs", "",
              "| run | scaling | epochs | status | stopped by | best epoch | "
              "best val TER | test TER at best | test TER at last |",
              "|---|---|---:|---|---|---:|---:|---:|---:|"]
    for run in runs.itertuples():
        lines.append(
            f"| {run.run} | {run.scaling} | {run.epochs} | {run.status} | "
            f"{run.stop_reason or '-'} | {run.best_epoch} | "
            f"{_pct(run.best_val_ter)} | {_pct(run.best_test_ter)} | "
            f"{_pct(run.test_ter)} |")
    return "\n".join(lines) + "\n"


def bn_inputs_lines(path=None):
    """The sentence on the before / after batch-norm inputs, from
    ``notebooks/results/bn_inputs.json`` (``scripts/bn_inputs.py``)."""
    import json
    path = Path(path or ROOT / "notebooks" / "results" / "bn_inputs.json")
    if not path.is_file():
        return []
    rows = json.loads(path.read_text())["rows"]

    def span(scaling):
        values = [r["relative_difference"] for r in rows
                  if r["scaling"] == scaling]
        return min(values), max(values)
    (dim_lo, dim_hi), (com_lo, com_hi) = span("dimension"), span("common")
    return [
        "Why `common` for the network features: measured by "
        "`scripts/bn_inputs.py` (`notebooks/results/bn_inputs.json`) on the "
        "training split, SN-R's `gru_k` and `gru_k_bn` features standardised "
        f"per dimension differ by {dim_lo:.1e} to {dim_hi:.1e} of their norm "
        "(float rounding: the before / after batch-norm rows would be one "
        "experiment run twice), while with one common scale they differ by "
        f"{100 * com_lo:.0f}% to {100 * com_hi:.0f}%.", ""]


def models_page():
    """``docs/models.md``: every preset's model card
    (:func:`soundnet_keras.cards.model_card`)."""
    from soundnet_keras.cards import model_card
    from soundnet_keras.weights import PRESETS
    lines = ["# Model cards", "",
             "One card per preset, generated from its metadata and history "
             "by `scripts/write_docs.py`; each is the `README.md` of the "
             "preset's folder in `weights/`, and `soundnet-keras info "
             "PRESET` prints the same.", ""]
    for name in PRESETS:
        card = model_card(name).replace("\n#", "\n##").replace(
            f"# {name}\n", f"## {name}\n", 1)
        lines.append(card)
    return "\n".join(lines)


def preset_cards():
    """``{path: text}``: each built-in preset folder's ``README.md``, its
    model card, and ``weights/README.md``, the folder's page."""
    from soundnet_keras.cards import model_card
    from soundnet_keras.weights import PRESETS
    weights = ROOT / "weights"
    lines = [
        "# Built-in presets", "",
        "The presets soundnet-keras ships, one folder each in the layout of "
        "a user's preset folder (`sk.save_preset`; keras-hub's): "
        "`config.json` (the architecture), `model.weights.h5`, "
        "`metadata.json` (the weights' sha256, the description, the run's "
        "provenance) and `README.md` (the model card). "
        "`sk.load_preset(name)` loads one with its sha256 checked; "
        "`soundnet-keras publish` adds one from a student run. The wheel "
        "packages this folder as `soundnet_keras/presets/`.", "",
        "The released SoundNet-8 weights are not here: `soundnet-keras "
        "fetch-weights` ports them into the user cache. Their folder, "
        "`soundnet8_flickr/`, holds their card, their sha256 and the "
        "object and place names (`objects.txt`, `places.txt`).", "",
        "`histories/`: the students' training histories (also of runs that "
        "are not presets) and the constant student's scores "
        "(`prior_baseline.json`).", "",
        "Generated by `scripts/write_docs.py`.", ""]
    lines += [f"- [`{name}`]({name}/README.md): {preset['description']}."
              for name, preset in PRESETS.items()]
    return {weights / "README.md": "\n".join(lines) + "\n",
            **{weights / name / "README.md": model_card(name)
               for name in PRESETS}}


#: The error table's cases (``docs/reliability.md``): what, the program
#: and its arguments, run in a temporary folder holding ``folder/``,
#: ``afile`` (text, not audio), ``rec.wav`` (3 s), ``short.wav`` (0.5 s),
#: ``bad.yaml`` (``net.units: 0``) and ``toy/`` (a student run's files).
ERROR_CASES = (
    ("an input that does not exist", "soundnet-keras",
     "predict missing.wav"),
    ("a folder given as an input", "soundnet-keras", "predict folder"),
    ("standard input (`-`) as an input", "soundnet-keras", "predict -"),
    ("a file that is not audio (the others go on)", "soundnet-keras",
     "predict afile rec.wav"),
    ("audio too short for the layer", "soundnet-keras",
     "extract short.wav --layer conv8 --out out"),
    ("one file given twice", "soundnet-keras",
     "extract rec.wav rec.wav --out out"),
    ("`--dir` naming a file", "soundnet-keras", "fetch-weights --dir afile"),
    ("`--epochs 0`", "soundnet-keras",
     "train --targets folder --out r --epochs 0"),
    ("targets that do not exist", "soundnet-keras",
     "train --targets folder --out r"),
    ("an unknown preset", "soundnet-keras", "info bogus"),
    ("publishing over a built-in preset", "soundnet-keras",
     "publish toy snf_scratch_pool"),
    ("a corpus of 0 minutes", "sed-ctc",
     "corpus default --out c --minutes 0"),
    ("`--jobs 0`", "sed-ctc", "experiments table4 --corpus folder --jobs 0"),
    ("a config that does not exist", "sed-ctc", "train --config missing.yaml"),
    ("a config value out of range", "sed-ctc", "train --config bad.yaml "
     "--corpus folder"),
    ("a corpus folder that is not a corpus", "sed-ctc",
     "corpus summary folder"),
)


def _error_case(program, arguments):
    """Runs one case in-process; returns ``(exit status, last line of
    standard error)``."""
    import contextlib
    import io
    from sed.cli import main as sed_main
    from soundnet_keras.cli import main as sk_main
    main = {"soundnet-keras": sk_main, "sed-ctc": sed_main}[program]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), \
            contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(arguments.split())
        except SystemExit as stop:
            code = stop.code
    lines = [line for line in err.getvalue().splitlines() if line.strip()]
    return code, lines[-1].strip() if lines else ""


def reliability_page():
    """``docs/reliability.md``: each of :data:`ERROR_CASES` run, with its
    exit status and message as the program gives them."""
    import json
    import os
    import tempfile
    import numpy as np
    import soundfile
    lines = ["# Reliability: errors and their messages", "",
             "Generated by `scripts/write_docs.py`, which runs each case "
             "below in a temporary folder and records what the program "
             "answers (`tests/test_docs.py` checks the page is current). "
             "Exit status 2: bad arguments or inputs found before any work, "
             "nothing written; 1: some inputs failed, the others were done "
             "and the failures are listed; 0: success.", "",
             "| case | command | exit status | message (last line on "
             "standard error) |", "|---|---|---:|---|"]
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            rng = np.random.default_rng(0)
            Path("folder").mkdir()
            Path("afile").write_text("not audio\n")
            soundfile.write("rec.wav", 0.1 * rng.standard_normal(66150),
                            22050)
            soundfile.write("short.wav", 0.1 * rng.standard_normal(11025),
                            22050)
            Path("bad.yaml").write_text("net: {units: 0}\n")
            Path("toy").mkdir()
            Path("toy/history.json").write_text(json.dumps(dict(
                config=dict(model="snf"), epochs=[dict(epoch=1)])))
            Path("toy/history.csv").write_text("epoch\n1\n")
            Path("toy/snf.weights.h5").write_bytes(b"toy")
            for what, program, arguments in ERROR_CASES:
                code, message = _error_case(program, arguments)
                message = message.replace(tmp, ".").replace("|", "\\|")
                lines.append(f"| {what} | `{program} {arguments}` | {code} "
                             f"| {message} |")
        finally:
            os.chdir(here)
    return "\n".join(lines) + "\n"


#: The pages written by hand, whose generated regions are filled.
REGION_PAGES = ("README.md", "docs/benchmarks.md", "docs/deviations.md",
                "docs/detector.md", "docs/development.md", "docs/index.md",
                "docs/licence.md", "docs/reproduction.md", "docs/soundnet.md",
                "docs/teaching.md", "docs/transfer.md", "docs/variants.md")


def region_makers():
    """``{name: function}``: each generated region's Markdown (no
    argument), from the ``REGIONS`` of the ``scripts/docs_*.py`` modules."""
    import importlib.util
    makers = {}
    for path in sorted(Path(__file__).resolve().parent.glob("docs_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name, make in module.REGIONS.items():
            if name in makers:
                raise ValueError(f"region {name!r} made twice ({path.name})")
            makers[name] = make
    return makers


REGION = "<!-- generated: {} -->"
REGION_END = "<!-- end: {} -->"


def fill_regions(text, makers, page="page"):
    r"""``text`` with each region ``<!-- generated: NAME -->`` ...
    ``<!-- end: NAME -->`` filled by ``makers[NAME]()``; an unknown or
    unclosed region is an error.

    Example:
        >>> fill_regions("a\n<!-- generated: x -->\nold\n<!-- end: x -->\n",
        ...              {"x": lambda: "new"})
        'a\n<!-- generated: x -->\nnew\n<!-- end: x -->\n'
    """
    import re
    out, position = [], 0
    for match in re.finditer(r"<!-- generated: ([\w.-]+) -->\n", text):
        name = match.group(1)
        if name not in makers:
            raise ValueError(f"{page}: no maker for region {name!r}")
        end = text.find(REGION_END.format(name), match.end())
        if end < 0:
            raise ValueError(f"{page}: region {name!r} is not closed by "
                             f"{REGION_END.format(name)}")
        out += [text[position:match.end()], makers[name]().rstrip("\n"),
                "\n"]
        position = end
    return "".join(out) + text[position:]


def pages():
    """``{path: text}`` of every generated page (and of the pages of
    :data:`REGION_PAGES` with their regions filled)."""
    reproduction = DOCS / "reproduction.md"
    texts = {ROOT / name: (ROOT / name).read_text() for name in REGION_PAGES}
    for lines in (warmup_lines(), table4_lines()):
        texts[reproduction] = replace_table(texts[reproduction], lines)
    makers = region_makers()
    texts = {path: fill_regions(text, makers, path.name)
             for path, text in texts.items()}
    return {DOCS / "cli.md": cli_page(), DOCS / "api.md": api_page(),
            DOCS / "models.md": models_page(),
            DOCS / "reliability.md": reliability_page(),
            DOCS / "table4.md": table4_page(), **preset_cards(), **texts}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a page differs from what it would be")
    args = parser.parse_args(argv)
    stale = []
    for path, text in pages().items():
        if path.is_file() and path.read_text() == text:
            continue
        if args.check:
            stale.append(path)
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print("out of date: " + ", ".join(str(p.relative_to(ROOT))
                                          for p in stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
