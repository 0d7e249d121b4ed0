"""What the region makers (the ``scripts/docs_*.py`` modules, see
``scripts/write_docs.py``) share: reading the committed results, and
writing their numbers as prose, lists and Markdown tables.

Not a ``docs_*.py`` module itself (it makes no region): the region makers
put ``scripts/`` on ``sys.path`` and import it by name.
"""

import json
import re
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The benchmarks' results files (each written by the script of
#: ``benchmarks/`` of the same name, with the provenance of its run).
RESULTS = ROOT / "benchmarks" / "results"
#: The students' distillation histories.
STUDENT_HISTORIES = ROOT / "weights" / "histories"


# ------------------------------------------------------------------ reading

def read_json(path):
    return json.loads(Path(path).read_text())


def load_result(name):
    """A results file of ``benchmarks/results/``."""
    return read_json(RESULTS / name)


def load_history(name):
    """A student's distillation history, ``weights/histories/NAME``."""
    return read_json(STUDENT_HISTORIES / f"{name}.history.json")


def find_row(rows, **match):
    """The first row (a dict) whose keys hold the values of ``match``."""
    return next(r for r in rows if all(r.get(k) == v
                                       for k, v in match.items()))


def conv8_field():
    """SoundNet-8's conv8: its receptive field and its hop (s), from the
    spec."""
    from soundnet_keras.specs import layer_table
    table = layer_table("soundnet8").set_index("layer")
    return table.loc["conv8", "receptive_field_s"], \
        1 / table.loc["conv8", "frame_rate_hz"]


# --------------------------------------------------------------- provenance

def when(prov, date=True):
    """``2026-12-01 07:42 UTC`` (or the time alone) of a provenance."""
    moment = datetime.fromisoformat(prov["date"]).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M UTC" if date else "%H:%M UTC")


def commit(prov):
    return f"commit `{prov['commit'][:7]}`" + (
        " with uncommitted changes" if prov.get("dirty") else "")


def machine(prov):
    m = prov["machine"]
    return (f"`{m['platform']}`, {m['cpus']} CPUs, TensorFlow "
            f"{m['tensorflow']}")


def provenance(prov):
    """When, at which commit and on which machine a result was measured."""
    return f"{when(prov)}, {commit(prov)}, {machine(prov)}"


# ------------------------------------------------------------------ numbers

def span(values, spec=".3f"):
    """``lo-hi`` of ``values`` in the format ``spec`` (one value when both
    read the same)."""
    lo, hi = format(min(values), spec), format(max(values), spec)
    return lo if lo == hi else f"{lo}-{hi}"


def duration(seconds):
    """A duration in ms below 0.1 s, else in s (Tables 1 and 2's style)."""
    if seconds < 0.01:
        return f"{1000 * seconds:.1f} ms"
    if seconds < 0.1:
        return f"{1000 * seconds:.0f} ms"
    return f"{seconds:.2f} s"


def listing(values, last="and"):
    """``a``, ``a and b``, ``a, b and c`` (``last`` instead of ``and``)."""
    values = [str(v) for v in values]
    return values[0] if len(values) == 1 else \
        f"{', '.join(values[:-1])} {last} {values[-1]}"


# -------------------------------------------------------------- text blocks

def say(template, *args, **values):
    """``template`` (wrapped prose with ``{fields}``) filled, on one line."""
    return " ".join(template.split()).format(*args, **values)


def wrap(text, width=86, indent=""):
    """``text`` as lines of at most ``width`` characters (longer where a
    word is longer), never breaking inside a code span and never starting
    a line with what Markdown would read as a list marker."""
    text = re.sub(r"(\d) (?=(?:s|ms|h|min|minutes|MB|GB|MiB|KiB|dB|dBFS|Hz|"
                  r"%)[\s,;:.)]|(?:s|ms|h|min|minutes|MB|GB|MiB|KiB|%)$)",
                  "\\1\0", text)
    words, word, ticks = [], "", 0
    for ch in text:
        ticks += ch == "`"
        if ch == " " and ticks % 2 == 0:
            if word:
                words.append(word)
            word = ""
        else:
            word += ch
    words += [word] if word else []
    lines, line = [], ""
    for w in words:
        marker = re.fullmatch(r"\d+[.)]|[-+*>]|#+|\|", w)
        if line and len(indent + line) + 1 + len(w) > width and not marker:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}" if line else w
    lines.append(line)
    return ("\n" + indent).join(lines).replace("\0", " ")


def item(text):
    """A Markdown list item, wrapped."""
    return "- " + wrap(text, indent="  ")


def md_table(header, rows, align):
    """A Markdown table's lines: ``header``, the ``align`` line (``---``,
    ``---:``), one line per row."""
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(align) + "|"]
    return lines + ["| " + " | ".join(map(str, row)) + " |" for row in rows]
