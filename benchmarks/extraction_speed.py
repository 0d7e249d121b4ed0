"""Feature-extraction speed (times real time) and peak memory.

Measures, on this machine:
- 20 s clips in batches (``extract_features_batch``), conv5 and pool5;
- one 10-minute recording (``extract_features``), conv5, pool5 and conv7;
- peak resident memory of a fresh process that reads a 1-hour 22,050 Hz wav
  file and extracts conv5 from it.

Writes ``benchmarks/results/extraction_speed.json`` (with provenance) and
prints a Markdown table. Run: ``python benchmarks/extraction_speed.py``.
"""

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
from provenance import provenance  # noqa: E402

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


def _median_time(fn, repeats=3):
    fn()  # warm-up (traces the graph)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def clips(weights, rows):
    model = sk.SoundNet8(include_top=False, weights=weights)
    for layer in ("conv5", "pool5"):
        ex = sk.FeatureExtractor(layer, model)
        for batch in (1, 16, 64):
            waves = [_noise(20, s) for s in range(batch)]
            t = _median_time(lambda: sk.extract_features_batch(
                waves, RATE, layer, model=ex, batch_size=batch))
            rows.append(dict(case=f"20 s clips, batch {batch}", layer=layer,
                             audio_s=20 * batch, seconds=t,
                             x_real_time=20 * batch / t))


def long_file(weights, rows):
    model = sk.SoundNet8(weights=weights) if weights else sk.SoundNet8(
        weights=None)
    waveform = _noise(600)
    for layer in ("conv5", "pool5", "conv7"):
        ex = sk.FeatureExtractor(layer, model)
        t = _median_time(lambda: sk.extract_features(waveform, RATE, layer,
                                                     model=ex))
        rows.append(dict(case="10-minute file", layer=layer, audio_s=600,
                         seconds=t, x_real_time=600 / t))


CHILD = """
import os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import soundnet_keras as sk
weights = sys.argv[2] if sys.argv[2] != "None" else None
ex = sk.FeatureExtractor("conv5", sk.SoundNet8(include_top=False,
                                               weights=weights))
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


def one_hour(weights, rows):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hour.wav"
        with soundfile.SoundFile(path, "w", RATE, 1, "PCM_16") as f:
            for minute in range(60):
                f.write(_noise(60, seed=minute))
        out = subprocess.run([sys.executable, "-c", CHILD, str(path),
                              str(weights)], capture_output=True, text=True,
                             check=True).stdout.split()
    frames, elapsed, peak = int(out[0]), float(out[1]), int(out[2])
    rows.append(dict(case="1-hour wav file (read + extract)", layer="conv5",
                     audio_s=3600, seconds=elapsed, x_real_time=3600 / elapsed,
                     frames=frames, peak_rss_gib=peak / 2**30))


def main():
    weights = _weights()
    rows = []
    clips(weights, rows)
    long_file(weights, rows)
    one_hour(weights, rows)
    OUT.parent.mkdir(exist_ok=True)
    result = dict(weights=weights or "random (weights not fetched)",
                  rows=rows, provenance=provenance())
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print("| case | layer | audio | time (s) | x real time | peak memory |")
    print("|---|---|---:|---:|---:|---:|")
    for r in rows:
        peak = f"{r['peak_rss_gib']:.2f} GiB" if "peak_rss_gib" in r else ""
        print(f"| {r['case']} | {r['layer']} | {r['audio_s']:.0f} s | "
              f"{r['seconds']:.3f} | {r['x_real_time']:,.0f} | {peak} |")
    print(f"\nwritten to {OUT}")


if __name__ == "__main__":
    main()
