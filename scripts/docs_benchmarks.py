"""The generated regions of ``docs/benchmarks.md`` and ``docs/soundnet.md``
(see ``scripts/write_docs.py``).

Every figure comes from a results file of ``benchmarks/results/`` (each
written by the script of ``benchmarks/`` of the same name, with the
provenance of its run: date, commit, machine) or, for the architecture,
from the spec (:mod:`soundnet_keras.specs`). The prose around the figures
stays in the pages; a region holds the sentences and tables that carry
numbers, and says which run (and machine) they come from.
"""

import json
import re
import statistics
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"

#: The extraction benchmark's runs, in the order the page numbers them
#: (runs 1-4 under load, run 5 on the quiet machine).
EXTRACTION_RUNS = tuple(f"extraction_speed_run{i}.json" for i in (1, 2, 3, 4)
                        ) + ("extraction_speed.json",)
#: The SoundNet issues' goal: conv5 extraction at least this many times the
#: previous path's speed on both cases (a definition, not a measurement).
GOAL = 2.0
#: The students' names on the page: networks, and models (distillation).
NETWORKS = {"snf": "SN-F", "snr": "SN-R"}
STUDENTS = {"snf": "SN-F", "snr": "SN-R (GRU)", "snr_lstm": "SN-R (LSTM)"}


# ---------------------------------------------------------------- helpers

def _load(name):
    return json.loads((RESULTS / name).read_text())


def _when(prov, date=True):
    """``2026-12-01 07:42 UTC`` (or the time alone) of a provenance."""
    moment = datetime.fromisoformat(prov["date"]).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M UTC" if date else "%H:%M UTC")


def _commit(prov):
    return f"commit `{prov['commit'][:7]}`" + (
        " with uncommitted changes" if prov.get("dirty") else "")


def _machine(prov):
    m = prov["machine"]
    return (f"`{m['platform']}`, {m['cpus']} CPUs, TensorFlow "
            f"{m['tensorflow']}")


def _provenance(prov):
    """When, at which commit and on which machine a result was measured."""
    return f"{_when(prov)}, {_commit(prov)}, {_machine(prov)}"


def _command(prov):
    """The recorded command, without the checkout's absolute prefix."""
    command = re.sub(r"(?<!\S)/\S*?/(?=data/)", "", prov["command"])
    return command if command.startswith("python ") else "python " + command


def _span(values, fmt):
    """``lo-hi`` (or one value when both read the same) in ``fmt``."""
    lo, hi = format(min(values), fmt), format(max(values), fmt)
    return lo if lo == hi else f"{lo}-{hi}"


def _about(value):
    """``value`` to three significant figures, thousands separated."""
    return f"{float(f'{value:.3g}'):,.0f}"


def _listing(items):
    items = list(items)
    return items[0] if len(items) == 1 else \
        ", ".join(items[:-1]) + " and " + items[-1]


def _runs_label(numbers):
    """``run 3``, ``runs 1 and 2``, ``runs 1-4``."""
    numbers = list(numbers)
    if len(numbers) > 2 and numbers == list(range(numbers[0],
                                                  numbers[-1] + 1)):
        return f"runs {numbers[0]}-{numbers[-1]}"
    return ("run " if len(numbers) == 1 else "runs ") + _listing(
        [str(n) for n in numbers])


def _commits(provs, first=1):
    """The short commits of numbered runs, and which had local changes."""
    dirty = [i for i, p in enumerate(provs, first) if p.get("dirty")]
    return ("commits " + _listing([f"`{p['commit'][:7]}`" for p in provs])
            + (f" (with uncommitted changes: {_runs_label(dirty)})"
               if dirty else ""))


def _row(rows, **match):
    return next(r for r in rows if all(r.get(k) == v
                                       for k, v in match.items()))


# ------------------------------------------------ feature extraction speed

def _extraction():
    """``[(run number, result)]`` of the extraction benchmark's runs."""
    return [(i, _load(name)) for i, name in enumerate(EXTRACTION_RUNS, 1)]


def _conv5(result, key="ratio"):
    """``key`` of the two conv5 cases (the batch of clips, the 10-minute
    file): ``ratio`` (new / previous), ``today_x`` or ``new_x``."""
    return [r[key] for r in result["rows"] if r["layer"] == "conv5"
            and "ratio" in r and "model=" not in r["case"]]


def extraction_table():
    runs = _extraction()
    quiet, result = runs[-1]
    loaded = [i for i, _ in runs[:-1]]
    limit = result["limit"]
    before, after = limit["matmul_gflops"], limit["matmul_gflops_after"]
    machines = sorted({_machine(r["provenance"]) for _, r in runs})
    dates = sorted({r["provenance"]["date"][:10] for _, r in runs})
    chunks = [i for i, r in runs if "chunk_seconds" in r]
    lines = [
        f"{len(runs)} runs on {_listing(dates)}, on {_listing(machines)}, "
        f"weights `{result['weights']}`. **Run {quiet}** "
        f"(`benchmarks/results/{EXTRACTION_RUNS[-1]}`: "
        f"{_when(result['provenance'])}, {_commit(result['provenance'])}) "
        "ran on the quiet machine, nothing else running (TensorFlow's "
        f"float32 matmul measured {before['tensorflow']:.0f} / "
        f"{after['tensorflow']:.0f} GFLOP/s before / after the cases, "
        f"NumPy's {before['numpy']:.0f} / {after['numpy']:.0f}), the new "
        f"path in {result['chunk_seconds']:g} s chunks"
        + ("" if len(chunks) == len(runs) else
           f" ({_runs_label(i for i in loaded if i not in chunks)} did not "
           "record the chunk length)")
        + f". x real time: median of {result['repeats']}; ratio: median "
        f"(range) of the {result['repeats']} per-repeat ratios of the two "
        "paths measured in the same minutes:", "",
        "| case | layer | previous path (x real time) | new path (x real "
        "time) | new / previous |", "|---|---|---:|---:|---:|"]
    for r in result["rows"]:
        if "ratio" in r:
            lines.append(
                f"| {r['case']} | {r['layer']} | {r['today_x']:,.0f} | "
                f"{r['new_x']:,.0f} | **{r['ratio']:.2f}** "
                f"({r['ratio_min']:.2f}-{r['ratio_max']:.2f}) |")
    return "\n".join(lines)


def extraction_loaded():
    runs = _extraction()[:-1]
    provs = [r["provenance"] for _, r in runs]
    first, last = runs[0][0], runs[-1][0]
    return (
        f"Runs {first}-{last} (`{EXTRACTION_RUNS[0]}` to "
        f"`_run{last}.json`: {provs[0]['date'][:10]}, "
        f"{_listing([_when(p, False) for p in provs])}; {_commits(provs)}) "
        "ran while other "
        "jobs shared the two cores, the matmul measuring "
        + _listing([f"{r['limit']['matmul_gflops']['tensorflow']:.0f}"
                    for _, r in runs])
        + " GFLOP/s in them; new / previous on conv5, clips and 10-minute "
        "file: " + ", ".join(
            " and ".join(f"{x:.2f}" for x in _conv5(r)) + f" (run {i})"
            for i, r in runs) + ".")


def extraction_memory():
    runs = _extraction()
    quiet, result = runs[-1]

    def hour(res, path):
        return _row(res["rows"], path=path)

    def loaded(path, key, fmt):
        return _span([hour(r, path)[key] for _, r in runs[:-1]], fmt)
    new, old = hour(result, "new"), hour(result, "today")
    return (
        "1-hour wav file, read + conv5 in a fresh process, peak resident "
        f"memory (time): run {quiet}, new {new['peak_rss_gib']:.2f} GiB "
        f"({new['seconds']:.1f} s), previous {old['peak_rss_gib']:.2f} GiB "
        f"({old['seconds']:.1f} s); runs {runs[0][0]}-{runs[-2][0]}, new "
        f"{loaded('new', 'peak_rss_gib', '.2f')} GiB "
        f"({loaded('new', 'seconds', '.1f')} s), previous "
        f"{loaded('today', 'peak_rss_gib', '.2f')} GiB "
        f"({loaded('today', 'seconds', '.1f')} s). The new path's time here "
        "includes tracing its function once per process.")


def _conv_mflop(spec, layer):
    """MFLOP (2 x multiply-adds) of the convolutions up to ``layer`` per
    second of audio, from the spec."""
    from soundnet_keras.specs import geometry
    geo, flops, channels = geometry(spec), 0.0, 1
    for row in spec["layers"]:
        if row["kind"] == "conv":
            frames = spec["sample_rate"] / geo[row["name"]]["jump"]
            flops += 2 * frames * row["kernel"] * channels * row["filters"]
            channels = row["filters"]
        if row["name"] == layer:
            return flops / 1e6
    raise ValueError(layer)


def _convs(spec):
    return [row for row in spec["layers"] if row["kind"] == "conv"]


def extraction_goal():
    from soundnet_keras.specs import SOUNDNET8
    runs = _extraction()
    quiet, result = runs[-1]
    clips, minutes = _conv5(result)
    model = next(r for r in result["rows"] if "model=" in r["case"])
    met = [i for i, r in runs if min(_conv5(r)) >= GOAL]
    mflop = result["limit"]["mflop_per_audio_s"]
    peak = result["limit"]["matmul_gflops"]["tensorflow"]
    old, new = _conv5(result, "today_x"), _conv5(result, "new_x")
    c1, c2 = _convs(SOUNDNET8)[:2]
    share = _conv_mflop(SOUNDNET8, c2["name"]) / _conv_mflop(SOUNDNET8,
                                                             "conv5")
    verdict = "met" if quiet in met else "not met"
    text = (
        f"**The goal of {GOAL:g}x on both cases is {verdict} on a quiet "
        f"machine**: {clips:.2f}x on the clips and {minutes:.2f}x on the "
        f"10-minute file (run {quiet}); `model=` a `keras.Model` gains "
        f"{model['ratio']:.2f}x.")
    if met and quiet not in met:
        text += (f" It was met only under heavy load ({_runs_label(met)}), "
                 "where the previous path suffers most.")
    gflops = [x * mflop / 1e3 for x in old]
    new_gflops = [x * mflop / 1e3 for x in new]
    return text + (
        f" On the quiet machine the previous path already runs at "
        f"{_span(old, ',.0f')}x real time, {_span(gflops, '.0f')} GFLOP/s, "
        f"{_span([100 * g / peak for g in gflops], '.0f')}% of TensorFlow's "
        "matmul on large square matrices; twice that would be "
        f"{_span([200 * g / peak for g in gflops], '.0f')}% of the matmul "
        f"peak, from convolutions with {c1['filters']} and {c2['filters']} "
        f"output channels ({c1['name']} and {c2['name']} hold "
        f"{100 * share:.0f}% of the FLOPs). The new path runs at "
        f"{_span(new, ',.0f')}x: {_span(new_gflops, '.0f')} GFLOP/s, "
        f"{_span([100 * g / peak for g in new_gflops], '.0f')}% of the "
        "peak.")


def extraction_why():
    from soundnet_keras.features import CHUNK_SECONDS
    from soundnet_keras.specs import SOUNDNET8, geometry
    runs = _extraction()
    quiet, result = runs[-1]
    conv1 = _convs(SOUNDNET8)[0]
    rate = SOUNDNET8["sample_rate"] / geometry(SOUNDNET8)[conv1["name"]][
        "jump"]
    clip_s, batch = map(int, re.match(
        r"(\d+) s clips, batch (\d+)", result["rows"][0]["case"]).groups())
    megabytes = [s * rate * conv1["filters"] * 4 / 1e6
                 for s in (CHUNK_SECONDS, clip_s * batch)]
    met = [(i, r) for i, r in runs if min(_conv5(r)) >= GOAL
           and i != quiet]
    heavy = ""
    if met:
        gains = [x for _, r in met for x in _conv5(r)]
        heavy = (f" (the new path gained {_span(gains, '.1f')}x there, "
                 f"{_runs_label(i for i, _ in met)})")
    return (
        f"What the new path changes: with {CHUNK_SECONDS:g} s chunks, or "
        f"{batch} clips of {clip_s} s in one call, {conv1['name']}'s output "
        f"alone ({conv1['filters']} channels at {rate:,.0f} Hz, float32) is "
        f"{_span(megabytes, '.0f')} MB per call, far beyond the caches; "
        "under heavy load, where other jobs also fill the shared L3 cache, "
        f"this costs the previous path most{heavy}, while on a lighter "
        "machine larger calls amortise per-call overhead better (hence "
        f"{result['chunk_seconds']:g} s).")


def matmul_limit():
    from soundnet_keras.specs import SOUNDNET8
    runs = _extraction()
    quiet, result = runs[-1]
    limit = result["limit"]
    computed = _conv_mflop(SOUNDNET8, "conv5")
    if abs(computed - limit["mflop_per_audio_s"]) > 1e-3 * computed:
        raise ValueError(f"{EXTRACTION_RUNS[-1]}: {limit['mflop_per_audio_s']}"
                         f" MFLOP per second, the spec gives {computed}")
    tf, tf_after = (limit[k]["tensorflow"] for k in ("matmul_gflops",
                                                     "matmul_gflops_after"))
    numpy, numpy_after = (limit[k]["numpy"] for k in (
        "matmul_gflops", "matmul_gflops_after"))
    loaded = [r["limit"] for _, r in runs[:-1]]
    return (
        f"The matmul limit: SoundNet-8 up to conv5 costs {computed:.1f} "
        f"MFLOP per second of audio (computed from the spec). Run {quiet} "
        f"measured TensorFlow's float32 matmul at {tf:.0f}-{tf_after:.0f} "
        f"GFLOP/s and NumPy's at {numpy:.0f}-{numpy_after:.0f} on the quiet "
        "machine (a limit of about "
        f"{_about(limit['x_real_time']['tensorflow'])}x and "
        f"{_about(limit['x_real_time']['numpy'])}x real time); runs "
        f"{runs[0][0]}-{runs[-2][0]} measured "
        + _listing([f"{x['matmul_gflops']['tensorflow']:.0f}"
                    for x in loaded])
        + " GFLOP/s (limits of about "
        + _listing([_about(x["x_real_time"]["tensorflow"]) for x in loaded])
        + "x), which says how loaded the machine was.")


# ------------------------------------------------------ several layers, Beam

def layer_extraction():
    result = _load("layer_extraction.json")
    rows = result["rows"]
    repeats = len(rows[0]["seconds"]["one pass"]["total"])
    lines = [
        "Table 4's student rows, into an empty cache, side by side in one "
        f"process (`{_command(result['provenance'])}`, "
        "`benchmarks/results/layer_extraction.json`, "
        f"{_provenance(result['provenance'])}; "
        f"{len(result['audio']['files'])} stand-in recordings, "
        f"{result['audio']['seconds']:.0f} s; median of {repeats}, ratio: "
        "median (range) of the per-repeat ratios). The two cores were shared "
        "with a training sweep, so only the ratios mean something:", "",
        "| network | rows | one kind at a time: total (extraction) | one "
        "pass: total (extraction) | ratio, total | ratio, extraction |",
        "|---|---:|---:|---:|---:|---:|"]

    def ratio(r):
        low, high = r["range"]
        return f"**{r['median']:.2f}** ({low:.2f}-{high:.2f})"
    for r in rows:
        m = r["median_s"]
        lines.append(
            f"| {NETWORKS[r['network']]} | {len(r['kinds'])} | "
            + " | ".join(f"{m[way]['total']:.1f} s ({m[way]['extract']:.1f} s)"
                         for way in ("one kind at a time", "one pass"))
            + f" | {ratio(r['ratio_total'])} | {ratio(r['ratio_extract'])} |")
    return "\n".join(lines)


def beam():
    small, large = (_load(f"beam_extraction{s}.json") for s in ("_16x60", ""))
    cases = [r["case"] for r in small["rows"]]
    rerun = [_row(res["rows"], case=c)["seconds"] for res in (small, large)
             for c in cases if "skipped" in c]
    lines = [
        "Extraction with Apache Beam (`python benchmarks/beam_extraction.py`, "
        "needs `.[beam]`; `benchmarks/results/beam_extraction_16x60.json` "
        f"and `benchmarks/results/beam_extraction.json`, "
        f"{_when(small['provenance'])} and "
        f"{_when(large['provenance'], False)}, "
        f"{_commit(large['provenance'])}, {_machine(large['provenance'])}):",
        "", "| case | " + " | ".join(
            f"{res['files']} files x {res['seconds']:g} s: wall (s) | x real "
            "time" for res in (small, large)) + " |",
        "|---|---:|---:|---:|---:|"]
    for case in cases:
        cells = [_row(res["rows"], case=case) for res in (small, large)]
        lines.append(f"| {case} | " + " | ".join(
            f"{c['seconds']:.1f} | {c['x_real_time']:.0f}" for c in cells)
            + " |")
    lines += [
        "", "Measured while other jobs loaded the two cores. A pipeline's "
        "fixed cost dominates at this size: the rerun, which skips every "
        f"file, still takes {_span(rerun, '.0f')} s (starting Beam's worker "
        "processes, each importing TensorFlow and building the model once); "
        "the extraction itself is the few seconds the plain loop takes."]
    return "\n".join(lines)


# ------------------------------------------------------------- distillation

def distillation():
    from soundnet_keras.cards import PAPER_EPOCHS
    result = _load("distill_speed.json")
    trains = [(re.match(r"train (\w+), batch (\d+)", r["case"]), r)
              for r in result["rows"]]
    batch = next(m.group(2) for m, _ in trains if m)
    steps = {round(r["epoch_minutes"] * 60 / r["s_per_step"])
             for m, r in trains if m}
    lines = [
        "Distillation (`python benchmarks/distill_speed.py`, "
        "`benchmarks/results/distill_speed.json`, "
        f"{_provenance(result['provenance'])}; measured while other jobs "
        "shared the two cores):", "",
        f"| case | clips/s | s per minibatch of {batch} | paper epoch "
        f"({_listing(sorted(map(str, steps)))} minibatches) |",
        "|---|---:|---:|---:|"]
    hours = []
    for m, r in trains:
        if not m:
            lines.append(f"| {r['case']} | {r['clips_per_s']:.1f} | | |")
            continue
        model = m.group(1)
        hours.append(PAPER_EPOCHS[model] * r["epoch_minutes"] / 60)
        lines.append(f"| train {STUDENTS[model]} | {r['clips_per_s']:.1f} | "
                     f"{r['s_per_step']:.2f} | {r['epoch_minutes']:.1f} min |")
    epochs = sorted(set(PAPER_EPOCHS.values()))
    lines += ["", f"The paper's {epochs[0]}-{epochs[-1]} epochs would take "
              f"{_span(hours, '.0f')} hours per model here."]
    return "\n".join(lines)


# ------------------------------------------------------------ the detector

def ctc_loss():
    result = _load("ctc_speed.json")
    batch, frames, classes = result["logits_shape"]
    modes = list(dict.fromkeys(r["mode"] for r in result["rows"]))
    cases = list(dict.fromkeys(r["case"] for r in result["rows"]))
    lines = [
        "CTC loss (`python benchmarks/ctc_speed.py`, "
        f"`benchmarks/results/ctc_speed.json`, {batch} x {frames} frames, "
        f"{classes} classes, {_span(result['label_length'], 'd')} tokens per "
        "sequence, loss plus gradient, median of "
        f"{result['runs']} runs; {_provenance(result['provenance'])}, quiet "
        "machine):", "", "| loss | " + " | ".join(modes) + " |",
        "|---|" + "---:|" * len(modes)]

    def label(case):
        name, _, rest = case.partition(", ")
        plain = not rest and any(c.startswith(name + ", ") for c in cases)
        return f"`{name}`" + (f", {rest}" if rest else
                              ", no hinting" if plain else "")

    def ms(value):
        return f"{value:.0f} ms" if value >= 100 else f"{value:.1f} ms"
    for case in cases:
        lines.append(f"| {label(case)} | " + " | ".join(
            ms(_row(result["rows"], case=case, mode=m)["ms"]) for m in modes)
            + " |")
    return "\n".join(lines)


#: The training benchmark's cases, in the table's order, with their labels.
CTC_CASES = {"engine, XLA": "engine, XLA (default)",
             "engine": "engine, tf.function",
             "keras (before)": "Keras (before)",
             "plain keras + tf.nn.ctc_loss": "plain Keras + `tf.nn.ctc_loss`"}
CTC_RUNS = ("ctc_training_run1.json", "ctc_training_run2.json",
            "ctc_training.json")


def _ratios(result, case, key="step_s", base="keras (before)",
            cells=None):
    """``base``'s ``key`` over ``case``'s, per cell that has both."""
    rows = result["rows"]
    out = []
    for r in rows:
        if r["case"] != case or (cells and r["cell"] not in cells):
            continue
        ref = [b for b in rows if b["case"] == base and b["cell"] == r["cell"]]
        if ref:
            out.append(ref[0][key] / r[key])
    return out


def ctc_training_setup():
    result = _load("ctc_training.json")
    prov = result["provenance"]
    dims = _listing(sorted({f"{r['input_dim']}-d" for r in result["rows"]}))
    return (
        "Detector training (`python benchmarks/ctc_training.py`, "
        "`benchmarks/results/ctc_training.json`): one SGD step on "
        f"{result['batch']} x {result['frames']} frames with "
        f"{result['units']} units per direction, {dims} input, hinted CTC, "
        "Nesterov; every case in one process, timed round by round "
        f"({result['rounds']} rounds, median), on the "
        f"{prov['machine']['cpus']}-core machine with nothing else running "
        f"({_provenance(prov)}).")


def ctc_training_table():
    result = _load("ctc_training.json")
    rows = result["rows"]
    gflop = _listing(sorted({f"{r['step_gflop']:.1f}" for r in rows}))
    lines = [
        f"Decoding: the forward pass over {result['eval_batch']} chunks of "
        f"{result['frames']} frames. GFLOP/s: the step's matrix products "
        f"({gflop} GFLOP, `step_gflop`) over its time, against "
        "TensorFlow's float32 matmul on large square matrices measured in "
        f"the same run ({result['matmul_gflops']['tensorflow']:.0f} / "
        f"{result['matmul_gflops_after']['tensorflow']:.0f} GFLOP/s before "
        "/ after the cases).", "",
        "| cell | case | s per step | speed-up | CPU s per step | speed-up "
        "(CPU) | GFLOP/s (share of the matmul peak) | decoding frames/s | "
        "decoding CPU s |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for cell in dict.fromkeys(r["cell"] for r in rows):
        base = [r for r in rows if r["cell"] == cell
                and r["case"] == "keras (before)"]
        for case, label in CTC_CASES.items():
            r = [r for r in rows if r["cell"] == cell and r["case"] == case]
            if not r:
                continue
            r = r[0]
            bold = "**" if case == "engine, XLA" else ""
            wall = cpu = ""
            if base:
                wall = f"{bold}{base[0]['step_s'] / r['step_s']:.2f}x{bold}"
                cpu = f"{base[0]['step_cpu_s'] / r['step_cpu_s']:.2f}x"
            # the tf.function engine decodes with the XLA engine's forward
            # pass: its decoding figures are the row above's
            decode = ("|  |  |" if case == "engine" else
                      f"| {r['decode_frames_per_s']:,.0f} | "
                      f"{r['decode_cpu_s']:.3f} |")
            lines.append(
                f"| {cell} | {label} | {r['step_s']:.3f} | {wall} | "
                f"{r['step_cpu_s']:.3f} | {cpu} | {r['gflop_per_s']:.0f} "
                f"({100 * r['share_of_matmul_peak']:.0f}%) {decode}")
    return "\n".join(lines)


def ctc_training_runs():
    runs = [_load(name) for name in CTC_RUNS]
    others = runs[:-1]
    cells = ("tanh", "relu")

    def pair(result, key):
        return " / ".join(f"{x:.2f}x" for x in _ratios(
            result, "engine, XLA", key, cells=cells))
    wall = [x for r in runs for x in _ratios(r, "engine, XLA", cells=cells)]
    plain = [x for r in runs for x in _ratios(
        r, "engine, XLA", base="plain keras + tf.nn.ctc_loss")]
    decode = [x for r in runs for x in _ratios(
        r, "engine, XLA", "decode_frames_per_s", cells=cells)]
    decode = [1 / x for x in decode]       # frames/s: the engine's over
    return (
        f"{len(others)} more runs of the same benchmark minutes before ("
        + ", ".join(f"`{n}`" for n in CTC_RUNS[:-1]) + ": "
        + _listing([_when(r["provenance"], False) for r in others]) + ", "
        + _listing(sorted({_commit(r["provenance"]) for r in others}))
        + "): engine XLA against Keras (before) "
        + " and ".join(pair(r, "step_s") for r in others)
        + f" ({' / '.join(cells)}) in wall time, "
        + " and ".join(pair(r, "step_cpu_s") for r in others)
        + " in CPU time; `relu_g` costs what the other cells cost (Keras' "
        "LSTM has no such cell, hence no ratio). **The engine's step is "
        f"{_span(wall, '.1f')}x faster than the step before it** "
        f"({_span(plain, '.1f')}x faster than plain Keras + "
        f"`tf.nn.ctc_loss`), and decoding {_span(decode, '.1f')}x faster.")


def ctc_training_limit():
    result = _load("ctc_training.json")
    rows = result["rows"]
    xla = [r for r in rows if r["case"] == "engine, XLA"]
    before = [r for r in rows if r["case"] == "keras (before)"]
    batch, frames, units = result["batch"], result["frames"], result["units"]

    def span(rows, key, fmt=".0f", scale=1):
        return _span([scale * r[key] for r in rows], fmt)
    return (
        f"The step reaches {span(xla, 'share_of_matmul_peak', scale=100)}% "
        "of the matmul peak (the step before it "
        f"{span(before, 'share_of_matmul_peak', scale=100)}%); the peak "
        f"would allow {span(xla, 'limit_step_s', '.3f')} s, but the "
        f"recurrences' products are {2 * 2 * frames:,} dependent products "
        f"of {batch} rows a step ({batch} x {units} by {units} x "
        f"{4 * units:,}, one per direction and frame, forward and "
        "backward), far from the large square products the peak is "
        "measured on. An epoch of the paper's corpus "
        f"({result['train_frames']:,} training frames, "
        f"{result['all_frames']:,} decoded) is estimated at "
        f"{span(xla, 'epoch_train_s')} s of training steps "
        f"({span(before, 'epoch_train_s')} s before) plus decoding.")


def ctc_training_50d():
    result = _load("ctc_training_50d.json")
    main = _load("ctc_training.json")
    rows = result["rows"]
    cells = {r["cell"] for r in rows if r["case"] == "keras (before)"}
    xla = [r["step_s"] for r in rows if r["case"] == "engine, XLA"
           and r["cell"] in cells]
    before = [r["step_s"] for r in rows if r["case"] == "keras (before)"]
    wall = _ratios(result, "engine, XLA")
    smaller = max(wall) < min(_ratios(main, "engine, XLA"))
    dims = _listing(sorted({str(r["input_dim"]) for r in rows}))
    prov = result["provenance"]
    same_day = prov["date"][:10] == main["provenance"]["date"][:10]
    return (
        f"With the {dims}-d low-level feature as input (`--dims {dims}`, "
        "`benchmarks/results/ctc_training_50d.json`, "
        + ("the same day, " + _when(prov, False) if same_day
           else _when(prov)) + f", {_commit(prov)}) the gain is "
        + ("smaller" if smaller else "not smaller")
        + f": engine {_span(xla, '.3f')} s against Keras (before) "
        f"{_span(before, '.3f')} s, **{_span(wall, '.1f')}x** in wall time "
        f"({_span(_ratios(result, 'engine, XLA', 'step_cpu_s'), '.1f')}x in "
        "CPU time; "
        + _span(_ratios(result, "engine, XLA",
                        base="plain keras + tf.nn.ctc_loss"), ".1f")
        + "x against plain Keras + `tf.nn.ctc_loss`).")


def ctc_sweep():
    result = _load("ctc_sweep.json")
    prov = result["provenance"]
    single = [r for r in result["rows"] if r["processes"] == 1]
    several = [r for r in result["rows"] if r["processes"] > 1]
    text = (
        "Several runs at once (`python benchmarks/ctc_sweep.py`, "
        f"`benchmarks/results/ctc_sweep.json`, {_when(prov)}, "
        f"{_commit(prov)}, quiet machine): the engine's XLA step run for "
        f"{result['seconds']} s in each layout of the {result['cores']} "
        "cores, total steps per second: one process with "
        f"{single[0]['threads']} threads "
        + " and ".join(f"{r['total_steps_per_s']:.2f}" for r in single)
        + (" (before and after)" if len(single) == 2 else ""))
    base = statistics.mean(r["total_steps_per_s"] for r in single)
    for r in several:
        text += (
            f", {r['processes']} processes with {r['threads']} thread"
            f"{'s' if r['threads'] > 1 else ''} each "
            f"{r['total_steps_per_s']:.2f} ("
            + " + ".join(f"{x:.2f}" for x in r["steps_per_s"])
            + f"), {r['total_steps_per_s'] / base:.2f}x the total throughput "
            "of one process")
    return text + (" (the recurrences' small products use the second core "
                   "poorly).")


# ----------------------------------------------------------- docs/soundnet.md

def prediction_lengths():
    result = _load("prediction_lengths.json")
    rows, summary = result["rows"], result["summary"]
    seconds = [r["seconds"] for r in rows]
    lines = [
        f"On the golden railroad recording cut to {len(rows)} lengths from "
        f"{min(seconds):g} to {max(seconds):g} s "
        "(`benchmarks/prediction_lengths.py`, "
        "`benchmarks/results/prediction_lengths.json`, "
        f"{_provenance(result['provenance'])}):", "",
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


def _field(seconds):
    if seconds < 0.01:
        return f"{1e3 * seconds:.1f} ms"
    return f"{1e3 * seconds:.0f} ms" if seconds < 0.1 else f"{seconds:.2f} s"


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
        field = "" if blank else _field(row.receptive_field_s)
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
    counts = _listing([f"{n} {layer}" for layer, n in frames])
    lines += ["", f"A {TILE_SECONDS:g} s clip (the length SoundNet was "
              f"trained on) gives {counts} frames."]
    return "\n".join(lines)


#: region name -> function returning its Markdown.
REGIONS = {
    "benchmarks-extraction": extraction_table,
    "benchmarks-extraction-loaded": extraction_loaded,
    "benchmarks-extraction-memory": extraction_memory,
    "benchmarks-extraction-goal": extraction_goal,
    "benchmarks-extraction-why": extraction_why,
    "benchmarks-matmul-limit": matmul_limit,
    "benchmarks-layer-extraction": layer_extraction,
    "benchmarks-beam": beam,
    "benchmarks-distillation": distillation,
    "benchmarks-ctc-loss": ctc_loss,
    "benchmarks-ctc-training-setup": ctc_training_setup,
    "benchmarks-ctc-training": ctc_training_table,
    "benchmarks-ctc-training-runs": ctc_training_runs,
    "benchmarks-ctc-training-limit": ctc_training_limit,
    "benchmarks-ctc-training-50d": ctc_training_50d,
    "benchmarks-ctc-sweep": ctc_sweep,
    "soundnet-prediction-lengths": prediction_lengths,
    "soundnet-table1": table1,
}
