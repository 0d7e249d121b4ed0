"""The generated region of ``docs/benchmarks.md`` on the exported runtimes
(see ``scripts/write_docs.py``), from ``benchmarks/results/runtime_speed.json``
(``benchmarks/runtime_speed.py``)."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULT = ROOT / "benchmarks" / "results" / "runtime_speed.json"
NAMES = {"tensorflow": "TensorFlow (the project's path)",
         "onnxruntime": "ONNX Runtime", "openvino": "OpenVINO",
         "litert": "LiteRT"}


def runtimes():
    """Each engine's conv5 speed: times real time, the ratio to
    TensorFlow's path (median and range over repeats), the share of the
    matmul peak, and its largest difference from TensorFlow's output."""
    result = json.loads(RESULT.read_text())
    prov = result["provenance"]
    peak = max(result["matmul_gflops"]["before"]["tensorflow"],
               result["matmul_gflops"]["after"]["tensorflow"])
    versions = ", ".join(f"{k} {v}" for k, v in result["versions"].items())
    lines = [
        f"SoundNet-8 up to conv5 (released weights), each engine timed "
        f"alternately {result['repeats']} times on the same audio "
        f"({prov['machine']['cpus']} CPUs, {versions}; commit "
        f"{str(prov['commit'])[:12]}, {prov['date'][:10]}). Speed in times "
        f"real time; in brackets the ratio to TensorFlow's path, median "
        f"(range) over the repeats; then the share of the float32 matmul "
        f"peak measured in the same run ({peak:.0f} GFLOP/s; "
        f"{result['mflop_per_audio_s']:.1f} MFLOP per second of audio). "
        "The last column: the largest difference from TensorFlow's output, "
        "relative to its largest activation.", "",
        "| case | engine | speed (x real time) | ratio to TensorFlow | share of "
        "matmul peak | largest difference |",
        "|---|---|---:|---:|---:|---:|"]
    for row in result["rows"]:
        for name in result["engines"]:
            lines.append(
                f"| {row['case']} | {NAMES.get(name, name)} | "
                f"{row[f'{name}_x']:,.0f} | {row[f'{name}_ratio']:.2f} "
                f"({row[f'{name}_ratio_min']:.2f}-"
                f"{row[f'{name}_ratio_max']:.2f}) | "
                f"{100 * row[f'{name}_peak_share']:.1f}% | "
                f"{row[f'{name}_max_diff']:.1e} |")
    faster = sorted({name for row in result["rows"]
                     for name in result["engines"]
                     if name != "tensorflow" and row[f"{name}_ratio_min"] > 1})
    lines += ["", (f"Faster than TensorFlow's path in every repeat of some "
                   f"case: {', '.join(NAMES[n] for n in faster)}."
                   if faster else
                   "No exported runtime is faster than TensorFlow's path in "
                   "any case, so `extract` and `beam` keep it (no `--engine` "
                   "option): the exports are for shipping, not for speed.")]
    return "\n".join(lines)


def readme_runtimes():
    """One README table: each exported runtime's conv5 speed as a ratio to
    TensorFlow's path and as a share of the matmul peak, per case."""
    result = json.loads(RESULT.read_text())
    engines = result["engines"]
    lines = ["| conv5, SoundNet-8 | " + " | ".join(
        NAMES.get(n, n).split(" (")[0] for n in engines) + " |",
        "|---|" + "---:|" * len(engines)]
    for row in result["rows"]:
        lines.append(f"| {row['case']} | " + " | ".join(
            f"{row[f'{n}_ratio']:.2f}x, "
            f"{100 * row[f'{n}_peak_share']:.0f}% of peak" for n in engines)
            + " |")
    faster = [n for n in engines if n != "tensorflow" and any(
        row[f"{n}_ratio"] > 1 for row in result["rows"])]
    verdict = ("none is faster than this package's TensorFlow path on a CPU"
               if not faster else ", ".join(NAMES[n] for n in faster)
               + " is faster than this package's TensorFlow path in a case")
    return ("Exported (`soundnet-keras export --format savedmodel|onnx|litert`"
            ", outputs equal to the Keras model's to float32 rounding), the "
            f"network runs in other runtimes; {verdict} (speed as a ratio to "
            "it, and as a share of the float32 matmul peak measured in the "
            "same run; [Benchmarks](docs/benchmarks.md)):\n\n"
            + "\n".join(lines))


REGIONS = {"benchmarks-runtimes": runtimes,
           "readme-runtimes": readme_runtimes}
