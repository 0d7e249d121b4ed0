"""The generated regions of ``docs/benchmarks.md`` on training speed (see
``scripts/write_docs.py``): the students' distillation
(``benchmarks/results/distill_speed.json``), the CTC loss
(``ctc_speed.json``), one training step of the detector, the engine against
Keras (``ctc_training*.json``), and several training runs at once
(``ctc_sweep.json``).

Every figure comes from a results file of ``benchmarks/results/`` (each
written by the script of ``benchmarks/`` of the same name, with the
provenance of its run: date, commit, machine). The prose around the
figures stays in the page; a region holds the sentences and tables that
carry numbers, and says which run (and machine) they come from.
"""

import re
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _folder in (ROOT, ROOT / "scripts"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from prose import (commit, find_row, listing, load_result,  # noqa: E402
                   provenance, span, when)

#: The students' models, as the page names them.
STUDENTS = {"snf": "SN-F", "snr": "SN-R (GRU)", "snr_lstm": "SN-R (LSTM)"}


# --------------------------------------------------------------- distillation

def distillation():
    from soundnet_keras.cards import PAPER_EPOCHS
    result = load_result("distill_speed.json")
    trains = [(re.match(r"train (\w+), batch (\d+)", r["case"]), r)
              for r in result["rows"]]
    batch = next(m.group(2) for m, _ in trains if m)
    steps = {round(r["epoch_minutes"] * 60 / r["s_per_step"])
             for m, r in trains if m}
    lines = [
        "Distillation (`python benchmarks/distill_speed.py`, "
        "`benchmarks/results/distill_speed.json`, "
        f"{provenance(result['provenance'])}; measured while other jobs "
        "shared the two cores):", "",
        f"| case | clips/s | s per minibatch of {batch} | paper epoch "
        f"({listing(sorted(map(str, steps)))} minibatches) |",
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
              f"{span(hours, '.0f')} hours per model here."]
    return "\n".join(lines)


# --------------------------------------------------------------- the detector

def ctc_loss():
    result = load_result("ctc_speed.json")
    batch, frames, classes = result["logits_shape"]
    modes = list(dict.fromkeys(r["mode"] for r in result["rows"]))
    cases = list(dict.fromkeys(r["case"] for r in result["rows"]))
    lines = [
        "CTC loss (`python benchmarks/ctc_speed.py`, "
        f"`benchmarks/results/ctc_speed.json`, {batch} x {frames} frames, "
        f"{classes} classes, {span(result['label_length'], 'd')} tokens per "
        "sequence, loss plus gradient, median of "
        f"{result['runs']} runs; {provenance(result['provenance'])}, quiet "
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
            ms(find_row(result["rows"], case=case, mode=m)["ms"])
            for m in modes) + " |")
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
    result = load_result("ctc_training.json")
    prov = result["provenance"]
    dims = listing(sorted({f"{r['input_dim']}-d" for r in result["rows"]}))
    return (
        "Detector training (`python benchmarks/ctc_training.py`, "
        "`benchmarks/results/ctc_training.json`): one SGD step on "
        f"{result['batch']} x {result['frames']} frames with "
        f"{result['units']} units per direction, {dims} input, hinted CTC, "
        "Nesterov; every case in one process, timed round by round "
        f"({result['rounds']} rounds, median), on the "
        f"{prov['machine']['cpus']}-core machine with nothing else running "
        f"({provenance(prov)}).")


def ctc_training_table():
    result = load_result("ctc_training.json")
    rows = result["rows"]
    gflop = listing(sorted({f"{r['step_gflop']:.1f}" for r in rows}))
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
    runs = [load_result(name) for name in CTC_RUNS]
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
        + listing([when(r["provenance"], False) for r in others]) + ", "
        + listing(sorted({commit(r["provenance"]) for r in others}))
        + "): engine XLA against Keras (before) "
        + " and ".join(pair(r, "step_s") for r in others)
        + f" ({' / '.join(cells)}) in wall time, "
        + " and ".join(pair(r, "step_cpu_s") for r in others)
        + " in CPU time; `relu_g` costs what the other cells cost (Keras' "
        "LSTM has no such cell, hence no ratio). **The engine's step is "
        f"{span(wall, '.1f')}x faster than the step before it** "
        f"({span(plain, '.1f')}x faster than plain Keras + "
        f"`tf.nn.ctc_loss`), and decoding {span(decode, '.1f')}x faster.")


def ctc_training_limit():
    result = load_result("ctc_training.json")
    rows = result["rows"]
    xla = [r for r in rows if r["case"] == "engine, XLA"]
    before = [r for r in rows if r["case"] == "keras (before)"]
    batch, frames, units = result["batch"], result["frames"], result["units"]

    def spans(rows, key, fmt=".0f", scale=1):
        return span([scale * r[key] for r in rows], fmt)
    return (
        f"The step reaches {spans(xla, 'share_of_matmul_peak', scale=100)}% "
        "of the matmul peak (the step before it "
        f"{spans(before, 'share_of_matmul_peak', scale=100)}%); the peak "
        f"would allow {spans(xla, 'limit_step_s', '.3f')} s, but the "
        f"recurrences' products are {2 * 2 * frames:,} dependent products "
        f"of {batch} rows a step ({batch} x {units} by {units} x "
        f"{4 * units:,}, one per direction and frame, forward and "
        "backward), far from the large square products the peak is "
        "measured on. An epoch of the paper's corpus "
        f"({result['train_frames']:,} training frames, "
        f"{result['all_frames']:,} decoded) is estimated at "
        f"{spans(xla, 'epoch_train_s')} s of training steps "
        f"({spans(before, 'epoch_train_s')} s before) plus decoding.")


def ctc_training_50d():
    result = load_result("ctc_training_50d.json")
    main = load_result("ctc_training.json")
    rows = result["rows"]
    cells = {r["cell"] for r in rows if r["case"] == "keras (before)"}
    xla = [r["step_s"] for r in rows if r["case"] == "engine, XLA"
           and r["cell"] in cells]
    before = [r["step_s"] for r in rows if r["case"] == "keras (before)"]
    wall = _ratios(result, "engine, XLA")
    smaller = max(wall) < min(_ratios(main, "engine, XLA"))
    dims = listing(sorted({str(r["input_dim"]) for r in rows}))
    prov = result["provenance"]
    same_day = prov["date"][:10] == main["provenance"]["date"][:10]
    return (
        f"With the {dims}-d low-level feature as input (`--dims {dims}`, "
        "`benchmarks/results/ctc_training_50d.json`, "
        + ("the same day, " + when(prov, False) if same_day
           else when(prov)) + f", {commit(prov)}) the gain is "
        + ("smaller" if smaller else "not smaller")
        + f": engine {span(xla, '.3f')} s against Keras (before) "
        f"{span(before, '.3f')} s, **{span(wall, '.1f')}x** in wall time "
        f"({span(_ratios(result, 'engine, XLA', 'step_cpu_s'), '.1f')}x in "
        "CPU time; "
        + span(_ratios(result, "engine, XLA",
                       base="plain keras + tf.nn.ctc_loss"), ".1f")
        + "x against plain Keras + `tf.nn.ctc_loss`).")


def ctc_sweep():
    result = load_result("ctc_sweep.json")
    prov = result["provenance"]
    single = [r for r in result["rows"] if r["processes"] == 1]
    several = [r for r in result["rows"] if r["processes"] > 1]
    text = (
        "Several runs at once (`python benchmarks/ctc_sweep.py`, "
        f"`benchmarks/results/ctc_sweep.json`, {when(prov)}, "
        f"{commit(prov)}, quiet machine): the engine's XLA step run for "
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


#: region name -> function returning its Markdown.
REGIONS = {
    "benchmarks-distillation": distillation,
    "benchmarks-ctc-loss": ctc_loss,
    "benchmarks-ctc-training-setup": ctc_training_setup,
    "benchmarks-ctc-training": ctc_training_table,
    "benchmarks-ctc-training-runs": ctc_training_runs,
    "benchmarks-ctc-training-limit": ctc_training_limit,
    "benchmarks-ctc-training-50d": ctc_training_50d,
    "benchmarks-ctc-sweep": ctc_sweep,
}
