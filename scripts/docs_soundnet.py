"""The generated regions of ``docs/soundnet.md`` (see
``scripts/write_docs.py``): predictions on any length of audio
(``benchmarks/results/prediction_lengths.json``, written by
``benchmarks/prediction_lengths.py`` with the provenance of its run: date,
commit, machine) and Table 1, SoundNet-8's layers computed from the spec
(:mod:`soundnet_keras.specs`), beside the values the paper prints where
they differ (as ``tests/test_specs.py`` keeps them).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _folder in (ROOT, ROOT / "scripts"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from prose import duration, listing, load_result, provenance  # noqa: E402


def prediction_lengths():
    result = load_result("prediction_lengths.json")
    rows, summary = result["rows"], result["summary"]
    seconds = [r["seconds"] for r in rows]
    lines = [
        f"On the golden railroad recording cut to {len(rows)} lengths from "
        f"{min(seconds):g} to {max(seconds):g} s "
        "(`benchmarks/prediction_lengths.py`, "
        "`benchmarks/results/prediction_lengths.json`, "
        f"{provenance(result['provenance'])}):", "",
        "| lengths | top place `railroad_track`, original rule | with the "
        "rule above |", "|---|---:|---:|"]
    for key in (k[4:] for k in summary if k.startswith("old ")):
        old, new = summary["old " + key], summary["new " + key]
        others = [(name, n) for name, n in old["tops"].items()
                  if name != "railroad_track"]
        note = ", ".join(("all" if n == old["lengths"] else str(n))
                         + f" `{name}`" for name, n in others)
        lines.append(f"| {key} ({new['lengths']}) | "
                     f"{old['railroad_track_top']}"
                     + (f" ({note})" if note else "")
                     + f" | {new['railroad_track_top']} |")
    five = next(r for r in rows if r["seconds"] == 5.0)
    hour = result["one_hour"]
    lines += [
        "", f"A {five['seconds']:g} s cut now gives `{five['new_top']}` "
        f"{five['new_p']:.3f}. `predict` on a {hour['audio_s'] / 3600:g}-hour "
        f"file, in a fresh process: {hour['peak_rss_gib']:.2f} GiB peak "
        f"({hour['seconds']:.0f} s)."]
    return "\n".join(lines)


def _paper_table1():
    """The paper's Table 1 as printed, as ``tests/test_specs.py`` keeps it
    (read, not imported): ``{layer: (maps, filter, subsampling, frame rate,
    receptive field)}``, the last two as printed strings."""
    import ast
    tree = ast.parse((ROOT / "tests" / "test_specs.py").read_text())
    node = next(n for n in tree.body if isinstance(n, ast.Assign)
                and n.targets[0].id == "PAPER_TABLE1")
    return eval(compile(ast.Expression(node.value), "test_specs", "eval"),
                {"__builtins__": {}})


def _printed_differs(value, printed):
    """Whether ``value`` does not round to ``printed`` (as the test)."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return abs(value - float(printed)) > 0.5 * 10 ** -decimals + 1e-12


def _rate(hz):
    return f"{hz:,.0f}" if hz >= 100 else f"{hz:.1f}" if hz >= 20 \
        else f"{hz:.2f}"


def table1():
    """Table 1 from the spec; where the paper prints another value, the
    computed one in bold and the printed one beside it; then the frames of
    one training clip."""
    from soundnet_keras.predictions import TILE_SECONDS
    from soundnet_keras.specs import SOUNDNET8, layer_table, output_length
    paper = _paper_table1()
    table = layer_table("soundnet8")
    lines = ["| layer | maps | filter | subsampling | frame rate (Hz) | "
             "receptive field |", "|---|---:|---:|---:|---:|---:|"]
    merged = []          # heads of the same geometry share a line

    def geometry(row):
        return str((row.filter_size, row.subsampling, row.frame_rate_hz,
                    row.receptive_field_s))
    for row in table.itertuples():
        if merged and geometry(row) == geometry(merged[-1][0]):
            merged[-1].append(row)
        else:
            merged.append([row])

    def cell(text, printed, differs):
        return f"**{text}** (printed {printed})" if differs else text
    for group in merged:
        row = group[0]
        printed = paper.get(row.layer)
        blank = row.layer == "input"
        kernel = "" if blank else str(row.filter_size)
        rate = _rate(row.frame_rate_hz)
        field = "" if blank else duration(row.receptive_field_s)
        if printed:
            _, p_kernel, _, p_rate, p_field = printed
            kernel = cell(kernel, p_kernel, p_kernel is not None
                          and p_kernel != row.filter_size)
            rate = cell(rate, p_rate, _printed_differs(row.frame_rate_hz,
                                                       p_rate))
            field = cell(field, f"{p_field} s", _printed_differs(
                row.receptive_field_s, p_field))
        lines.append(
            f"| {', '.join(r.layer for r in group)} | "
            + " + ".join(str(r.feature_maps) for r in group)
            + f" | {kernel} | {'' if blank else row.subsampling} | {rate} | "
            f"{field} |")
    clip = int(TILE_SECONDS * SOUNDNET8["sample_rate"])
    frames = [(layer, output_length("soundnet8", layer, clip))
              for layer in ("conv5", "pool5", "conv7", "conv8")]
    counts = listing([f"{n} {layer}" for layer, n in frames])
    lines += ["", f"A {TILE_SECONDS:g} s clip (the length SoundNet was "
              f"trained on) gives {counts} frames."]
    return "\n".join(lines)


#: region name -> function returning its Markdown.
REGIONS = {
    "soundnet-prediction-lengths": prediction_lengths,
    "soundnet-table1": table1,
}
