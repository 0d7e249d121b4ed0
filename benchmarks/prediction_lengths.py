"""Predictions at every length: the old rule against the current one.

The golden railroad recording (19.9 s; ``../shared/golden``), cut to lengths
of 1-29 s (longer cuts repeat it), predicted by the released SoundNet-8:

- old: clips shorter than 10 s tiled to 10 s, mean over all conv8 frames
  (the original prediction script);
- current (:func:`soundnet_keras.predict`): clips shorter than 20 s tiled to
  20 s, mean over the frames :func:`soundnet_keras.predictions.reliable_frames`
  keeps.

It also measures the peak resident memory of ``predict`` on a 1-hour file in
a fresh process. Writes ``benchmarks/results/prediction_lengths.json``.

    python benchmarks/prediction_lengths.py
"""

import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import soundfile

sys.path.insert(0, str(Path(__file__).parent))
from provenance import provenance  # noqa: E402

import soundnet_keras as sk  # noqa: E402
from soundnet_keras.predictions import head_outputs, reliable_frames  # noqa

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(os.environ.get("SOUNDNET_KERAS_GOLDEN", ROOT.parent / "shared" /
                             "golden")) / "railroad_audio.wav"
OUT = ROOT / "benchmarks" / "results" / "prediction_lengths.json"
RATE = 22050

CHILD = """
import sys, time, numpy as np
import soundnet_keras as sk
model = sk.SoundNet8()
start = time.perf_counter()
result = sk.predict(sk.load_audio(sys.argv[1]), 22050, model=model)
elapsed = time.perf_counter() - start
status = open("/proc/self/status").read().split("VmHWM:")[1]
print(result["frames_used"], elapsed, int(status.split()[0]) * 1024)
"""


def lengths_table(model, places):
    audio = np.tile(sk.load_audio(GOLDEN), 2)
    rows = []
    for seconds in np.round(np.arange(1, 29.01, 1 / 3), 2):
        x = audio[:int(round(seconds * RATE))]
        old_x = sk.predictions.tile_to(x, 10 * RATE)
        _, old_p = head_outputs(old_x, model)
        new = sk.predict(x, RATE, top=1, model=model)
        rows.append(dict(
            seconds=float(seconds),
            old_top=places[int(old_p.mean(0).argmax())],
            old_p=float(old_p.mean(0).max()),
            new_top=new["places"][0][0], new_p=new["places"][0][1],
            frames_used=new["frames_used"], frames_total=new["frames_total"],
            frames_left_out_at_own_length=int(
                (~reliable_frames(max(x.size, 10 * RATE))).sum())))
    return rows


def one_hour():
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hour.wav"
        rng = np.random.default_rng(0)
        with soundfile.SoundFile(path, "w", RATE, 1, "PCM_16") as f:
            for _ in range(60):
                f.write(0.1 * rng.standard_normal(60 * RATE))
        out = subprocess.run([sys.executable, "-c", CHILD, str(path)],
                             capture_output=True, text=True,
                             check=True).stdout.split()
    return dict(audio_s=3600, frames_used=int(out[0]), seconds=float(out[1]),
                peak_rss_gib=int(out[2]) / 2**30)


def main():
    model = sk.SoundNet8()
    _, places = sk.load_labels()
    rows = lengths_table(model, places)
    summary = {}
    for rule in ("old", "new"):
        for lo, hi in ((1, 10), (10, 29.01)):
            part = [r for r in rows if lo <= r["seconds"] < hi]
            summary[f"{rule} {lo}-{int(hi)} s"] = dict(
                lengths=len(part),
                railroad_track_top=sum(r[f"{rule}_top"] == "railroad_track"
                                       for r in part),
                tops=dict(Counter(r[f"{rule}_top"] for r in part)))
    result = dict(recording=str(GOLDEN.name), rows=rows, summary=summary,
                  one_hour=one_hour(), provenance=provenance())
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    for key, value in summary.items():
        print(key, value)
    print("one hour:", result["one_hour"])
    print(f"written to {OUT}")


if __name__ == "__main__":
    main()
