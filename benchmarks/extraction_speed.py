"""Feature-extraction speed (times real time), side by side, and peak memory.

Each case runs the new path (the folded inference plan, small chunks;
``FeatureExtractor(layer, model)``) and the previous one (the Keras model in
120 s chunks, whole batches; ``FeatureExtractor(layer, model, fast=False)``)
alternately, ``--repeats`` times, so that load from other processes falls
on both alike. Reported: the median speed of each and the median (and
range) of the per-repeat ratio. Cases:

- 20 s clips in batches of 16 (``extract_features_batch``), conv5, pool5;
  also with ``model=`` a ``keras.Model`` (before: a new sub-model per call;
  now: made once and kept);
- one 10-minute recording (``extract_features``), conv5, pool5, conv7;
- peak resident memory of a fresh process that reads a 1-hour 22,050 Hz wav
  file and extracts conv5 from it (each path);
- the matmul limit: FLOPs of SoundNet-8 up to conv5 per second of audio,
  and TensorFlow's and NumPy's float32 matmul speed measured in the same run.

Writes ``benchmarks/results/extraction_speed.json`` (with provenance) and
prints a Markdown table. Run: ``python benchmarks/extraction_speed.py
[--repeats 5] [--path both|new|today] [--chunk-seconds S]``.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).parent))

import numpy as np  # noqa: E402
import soundfile  # noqa: E402

import soundnet_keras as sk  # noqa: E402
from soundnet_keras.specs import SOUNDNET8, geometry  # noqa: E402
from provenance import matmul_gflops, provenance  # noqa: E402

RATE = 22050
OUT = Path(__file__).parent / "results" / "extraction_speed.json"


def _weights():
    try:
        sk.SoundNet8(include_top=False)
        return "soundnet8_flickr"
    except FileNotFoundError:
        return None


def _noise(seconds, seed=0):
    rng = np.random.default_rng(seed)
    return (0.3 * rng.standard_normal(int(seconds * RATE),
                                      dtype=np.float32)).clip(-1, 1)


def conv_flops_per_second(layer="conv5"):
    """Multiply-adds x 2 of SoundNet-8's convolutions up to ``layer`` per
    second of 22,050 Hz audio."""
    geo = geometry("soundnet8")
    flops, channels = 0.0, 1
    for row in SOUNDNET8["layers"]:
        if row["kind"] == "conv":
            frames = RATE / geo[row["name"]]["jump"]
            flops += 2 * frames * row["kernel"] * channels * row["filters"]
            channels = row["filters"]
        if row["name"] == layer:
            return flops
    raise ValueError(layer)


def side_by_side(runs, audio_s, repeats):
    """Times each of ``runs`` (name -> fn) alternately; x real time."""
    for fn in runs.values():
        fn()  # warm-up (traces the graphs)
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    row = {f"{name}_x": audio_s / statistics.median(t)
           for name, t in times.items()}
    row.update({f"{name}_seconds": t for name, t in times.items()})
    if {"new", "today"} <= set(runs):
        ratios = [b / a for a, b in zip(times["new"], times["today"])]
        row.update(ratio=statistics.median(ratios), ratio_min=min(ratios),
                   ratio_max=max(ratios))
    return row


def _paths(args, new, today):
    runs = {}
    if args.path in ("both", "new"):
        runs["new"] = new
    if args.path in ("both", "today"):
        runs["today"] = today
    return runs


def _compare(model, layer, run, audio_s, args):
    """``run(extractor)`` with the new and the previous extractor."""
    new = sk.FeatureExtractor(layer, model)
    today = sk.FeatureExtractor(layer, model, fast=False)
    return side_by_side(_paths(args, lambda: run(new), lambda: run(today)),
                        audio_s, args.repeats)


def clips(model, args, rows):
    waves = [_noise(20, s) for s in range(16)]
    for layer in ("conv5", "pool5"):
        row = _compare(model, layer, lambda ex: sk.extract_features_batch(
            waves, RATE, layer, model=ex), 320, args)
        rows.append(dict(case="20 s clips, batch 16", layer=layer, **row))
    # model= a keras.Model: before, every call made (and traced) its own
    # sub-model; now the extractor is made once per model and kept.
    row = side_by_side(_paths(
        args, lambda: sk.extract_features_batch(waves, RATE, "conv5",
                                                model=model),
        lambda: sk.extract_features_batch(
            waves, RATE, "conv5",
            model=sk.FeatureExtractor("conv5", model, fast=False))),
        320, args.repeats)
    rows.append(dict(case="20 s clips, batch 16, model=keras.Model",
                     layer="conv5", **row))


def long_file(model, args, rows):
    waveform = _noise(600)
    for layer in ("conv5", "pool5", "conv7"):
        row = _compare(model, layer, lambda ex: sk.extract_features(
            waveform, RATE, layer, model=ex), 600, args)
        rows.append(dict(case="10-minute file", layer=layer, **row))


CHILD = """
import os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import soundnet_keras as sk
weights = sys.argv[2] if sys.argv[2] != "None" else None
ex = sk.FeatureExtractor("conv5", sk.SoundNet8(include_top=False,
                                               weights=weights),
                         fast=sys.argv[3] == "new")
start = time.perf_counter()
waveform = sk.load_audio(sys.argv[1])
values, times = sk.extract_features(waveform, 22050, "conv5", model=ex)
elapsed = time.perf_counter() - start
# VmHWM: this process's peak resident memory (ru_maxrss would include the
# parent's, inherited across fork and exec).
status = open("/proc/self/status").read().split("VmHWM:")[1]
peak = int(status.split()[0]) * 1024
print(values.shape[0], elapsed, peak)
"""


def one_hour(weights, args, rows):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hour.wav"
        with soundfile.SoundFile(path, "w", RATE, 1, "PCM_16") as f:
            for minute in range(60):
                f.write(_noise(60, seed=minute))
        for which in _paths(args, "new", "today"):
            out = subprocess.run([sys.executable, "-c", CHILD, str(path),
                                  str(weights), which], capture_output=True,
                                 text=True, check=True).stdout.split()
            frames, elapsed, peak = int(out[0]), float(out[1]), int(out[2])
            rows.append(dict(case="1-hour wav file (read + extract)",
                             layer="conv5", path=which, frames=frames,
                             seconds=elapsed, x_real_time=3600 / elapsed,
                             peak_rss_gib=peak / 2**30))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--chunk-seconds", type=float, default=None,
                   help="the new path's chunk (default: "
                        "soundnet_keras.features.FAST_CHUNK_SECONDS)")
    p.add_argument("--path", choices=("both", "new", "today"),
                   default="both", help="the new path, the previous one "
                   "(fast=False), or both side by side")
    args = p.parse_args(argv)
    if args.chunk_seconds:
        from soundnet_keras import features
        features.FAST_CHUNK_SECONDS = args.chunk_seconds
    weights = _weights()
    model = sk.SoundNet8(weights=weights)
    rows = []
    limit = dict(mflop_per_audio_s=conv_flops_per_second("conv5") / 1e6,
                 matmul_gflops=matmul_gflops())
    limit["x_real_time"] = {k: v * 1e9 / conv_flops_per_second("conv5")
                            for k, v in limit["matmul_gflops"].items()}
    clips(model, args, rows)
    long_file(model, args, rows)
    one_hour(weights, args, rows)
    limit["matmul_gflops_after"] = matmul_gflops()
    OUT.parent.mkdir(exist_ok=True)
    from soundnet_keras.features import FAST_CHUNK_SECONDS
    result = dict(weights=weights or "random (weights not fetched)",
                  repeats=args.repeats, chunk_seconds=FAST_CHUNK_SECONDS, limit=limit, rows=rows,
                  provenance=provenance())
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"conv1-conv5: {limit['mflop_per_audio_s']:.1f} MFLOP per second "
          "of audio; matmul limit (TensorFlow / NumPy, before and after): "
          + ", ".join(f"{k} {v:.0f} GFLOP/s = {v * 1e3 / limit['mflop_per_audio_s']:,.0f}x"
                      for k, v in limit["matmul_gflops"].items())
          + " / " + ", ".join(f"{v:.0f}" for v in
                              limit["matmul_gflops_after"].values()))
    print("\n| case | layer | today (x real time) | new (x real time) | "
          "new / today: median (range) |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        if "peak_rss_gib" in r:
            continue
        ratio = (f"{r['ratio']:.2f} ({r['ratio_min']:.2f}-"
                 f"{r['ratio_max']:.2f})" if "ratio" in r else "")
        print(f"| {r['case']} | {r['layer']} | {r.get('today_x', 0):,.0f} | "
              f"{r.get('new_x', 0):,.0f} | {ratio} |")
    for r in rows:
        if "peak_rss_gib" in r:
            print(f"\n1-hour file, conv5, {r['path']}: {r['seconds']:.2f} s "
                  f"(read + extract, {r['x_real_time']:,.0f}x), peak "
                  f"{r['peak_rss_gib']:.2f} GiB")
    print(f"\nwritten to {OUT}")


if __name__ == "__main__":
    main()
