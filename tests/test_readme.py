"""The README and every documentation page agree with the code: their
command lines with the CLI parsers, their paths with the Makefile, the
configs and the checkout, their quoted figures with the results files they
come from."""

import csv
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from sed.cli import parser as sed_parser
from soundnet_keras.cli import parser as sk_parser

from conftest import load_script

ROOT = Path(__file__).resolve().parent.parent
#: The README and every page of the documentation site, as one text.
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
README = "\n".join(p.read_text(encoding="utf-8") for p in PAGES)
PROGRAMS = {"soundnet-keras": sk_parser, "python -m soundnet_keras": sk_parser,
            "sed-ctc": sed_parser, "python -m sed": sed_parser}


def _code_lines():
    """Lines of the README's fenced code blocks, continuations joined."""
    lines, inside, pending = [], False, ""
    for line in README.splitlines():
        if line.startswith("```"):
            inside = not inside
            continue
        if inside:
            pending += line.rstrip("\\").strip() + " "
            if not line.endswith("\\"):
                lines.append(pending.strip())
                pending = ""
    return lines


def _command_lines():
    out = []
    for line in _code_lines():
        line = line.split("  #")[0].strip()
        for program, parser in PROGRAMS.items():
            if line.startswith(program + " "):
                out.append((program, parser, line[len(program):].split()))
    return out


def test_readme_has_command_lines():
    programs = {program for program, _, _ in _command_lines()}
    assert {"soundnet-keras", "sed-ctc"} <= programs


@pytest.mark.parametrize("program, parser, words", _command_lines(),
                         ids=lambda v: v if isinstance(v, str) else None)
def test_command_lines_match_the_parsers(program, parser, words):
    commands = parser()._subparsers._group_actions[0].choices
    assert words[0] in commands, f"{program} has no command {words[0]!r}"
    sub = commands[words[0]]
    if sub._subparsers is not None and len(words) > 1:   # e.g. corpus default
        nested = sub._subparsers._group_actions[0].choices
        assert words[1] in nested, f"{program} {words[0]}: no {words[1]!r}"
        sub = nested[words[1]]
    known = {s for action in sub._actions for s in action.option_strings}
    for word in words[1:]:
        option = word.strip("[]").split("=")[0]
        if option.startswith("--"):
            assert option in known, f"{program} {words[0]}: no {option}"


def test_make_targets_exist():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([\w-]+):", makefile, re.M))
    named = set(re.findall(r"`make ([\w-]+)", README))
    named |= {line.split()[1] for line in _code_lines()
              if line.startswith("make ")}
    assert named and named <= targets, named - targets


def test_paths_exist():
    paths = re.findall(r"`((?:soundnet_keras|sed|benchmarks|notebooks|"
                       r"scripts|tests|weights|\.ci)/[\w./-]*)`", README)
    paths += [m for line in _code_lines() for m in re.findall(
        r"\b((?:sed/configs|scripts|benchmarks)/[\w./-]+\.\w+)", line)]
    assert len(paths) > 20
    missing = [p for p in paths if not (ROOT / p.split("::")[0]).exists()]
    assert not missing


def test_one_corpus_folder():
    makefile = (ROOT / "Makefile").read_text()
    standin = re.search(r"^STANDIN := (\S+)", makefile, re.M).group(1)
    for name in ("lowlevel", "soundnet8_conv5"):
        config = yaml.safe_load((ROOT / "sed" / "configs" /
                                 f"{name}.yaml").read_text())
        assert config["training"]["corpus"] == standin, name
    assert f"into `{standin}`" in README
    demo = re.search(r"^DEMO_CORPUS := (\S+)", makefile, re.M).group(1)
    corpora = set(re.findall(r"--corpus (\w+/[\w/]+)", README))
    assert corpora == {standin, demo}
    assert "corpora/standin" not in README


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_makefile_fetches_into_the_package_cache(tmp_path, monkeypatch):
    from soundnet_keras.weights import preset_path
    for key in ("SOUNDNET_KERAS_HOME", "KERAS_HOME", "MAKEFLAGS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    for key, value in ((None, None), ("KERAS_HOME", tmp_path / "k"),
                       ("SOUNDNET_KERAS_HOME", tmp_path / "s")):
        if key:
            monkeypatch.setenv(key, str(value))
        printed = subprocess.run(
            ["make", "-s", "-f", "Makefile", "-f", "-", "print-weights"],
            input="print-weights:\n\t@echo $(WEIGHTS)\n", text=True,
            capture_output=True, cwd=ROOT, check=True).stdout
        assert printed.strip() == str(preset_path("soundnet8_flickr")), key


def test_reference_test_count():
    from test_reference import LAYERS
    n = int(re.search(r"all (\d+) layer outputs", README).group(1))
    assert n == len(LAYERS)


def _row(label, text=README):
    line = next(l for l in text.splitlines() if l.startswith(f"| {label} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_distillation_table_matches_the_histories():
    folder = ROOT / "weights" / "histories"
    runs = [json.loads((folder / f"{name}.history.json").read_text())["epochs"]
            for name in ("snf_standin", "snr_standin", "snr_lstm_standin")]
    page = (ROOT / "docs" / "variants.md").read_text()
    for epoch in range(1, 6):
        quoted = [float(c.strip("*")) for c in _row(str(epoch), page)[1:]]
        actual = [row[key] for run in runs for row in run[epoch - 1:epoch]
                  for key in ("train_kl", "val_kl")]
        assert quoted == [round(v, 3) for v in actual], epoch


def test_prediction_table_matches_the_benchmark():
    result = json.loads((ROOT / "benchmarks" / "results" /
                         "prediction_lengths.json").read_text())
    summary = result["summary"]
    for key in ("1-10 s", "10-29 s"):
        cells = _row(f"{key} ({summary['new ' + key]['lengths']})")
        assert int(cells[1].split()[0]) == \
            summary["old " + key]["railroad_track_top"]
        assert int(cells[2]) == summary["new " + key]["railroad_track_top"]
    assert f"{result['one_hour']['peak_rss_gib']:.2f} GiB peak" in README
    five = next(r for r in result["rows"] if r["seconds"] == 5.0)
    assert f"`railroad_track` {five['new_p']:.3f}" in README


def _readme_tables():
    return load_script("write_docs")


@pytest.mark.parametrize("table", ["warmup_lines", "table4_lines"])
def test_result_tables_match_the_histories(table):
    """The warm-up table and the first Table 4 are the lines that
    ``scripts/write_docs.py`` makes from the committed histories."""
    lines = getattr(_readme_tables(), table)()
    assert len(lines) > 2, "no history committed"
    for line in lines:
        assert line + "\n" in README, line


def test_readme_tables_replaces_a_table():
    module = _readme_tables()
    text = "intro\n\n| a |\n|---|\n| 1 |\n| 2 |\n\nafter\n"
    out = module.replace_table(text, ["| a |", "|---|", "| 3 |"])
    assert out == "intro\n\n| a |\n|---|\n| 3 |\n\nafter\n"
    with pytest.raises(ValueError):
        module.replace_table(text, ["| b |"])
