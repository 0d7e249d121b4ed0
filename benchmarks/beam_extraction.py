"""The Apache Beam extraction pipeline with 1 and 2 DirectRunner workers.

Writes ``--files`` synthetic wav files of ``--seconds`` each (22,050 Hz),
extracts conv5 from them with ``soundnet_keras.beam.extract_pipeline``
(multi-processing DirectRunner, 1 and 2 worker processes, each loading the
model once), then reruns the 2-worker pipeline (everything skipped), and,
for reference, a plain loop in this process over the same files. Times are
wall-clock and include each pipeline's start-up (worker processes importing
TensorFlow and building the model). Needs ``pip install .[beam]``.

Writes ``benchmarks/results/beam_extraction.json``. Run:
``python benchmarks/beam_extraction.py [--files 24] [--seconds 60]``.
"""

import argparse
import json
import os
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
from soundnet_keras.beam import extract_pipeline  # noqa: E402

OUT = Path(__file__).parent / "results" / "beam_extraction.json"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--files", type=int, default=24)
    p.add_argument("--seconds", type=float, default=60.0)
    args = p.parse_args(argv)
    weights = "soundnet8_flickr"
    try:
        sk.SoundNet8(include_top=False)
    except FileNotFoundError:
        weights = None
    audio_s = args.files * args.seconds
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rng = np.random.default_rng(0)
        (tmp / "in").mkdir()
        for i in range(args.files):
            x = 0.3 * rng.standard_normal(int(args.seconds * 22050))
            soundfile.write(tmp / "in" / f"{i:04d}.wav", x.clip(-1, 1), 22050)
        for workers, out, case in ((1, "out1", "pipeline, 1 worker"),
                                   (2, "out2", "pipeline, 2 workers"),
                                   (2, "out2", "rerun, 2 workers (all skipped)")):
            start = time.perf_counter()
            counts = extract_pipeline([tmp / "in"], tmp / out, weights=weights,
                                      workers=workers)
            elapsed = time.perf_counter() - start
            rows.append(dict(case=case, workers=workers, seconds=elapsed,
                             x_real_time=audio_s / elapsed, **counts))
        start = time.perf_counter()
        ex = sk.FeatureExtractor("conv5", sk.SoundNet8(include_top=False,
                                                       weights=weights))
        for path in sorted((tmp / "in").iterdir()):
            values, times = sk.extract_features(sk.load_audio(path), 22050,
                                                "conv5", model=ex)
            np.savez(tmp / "loop.npz", values=values, times=times)
        elapsed = time.perf_counter() - start
        rows.append(dict(case="plain loop in one process (model loaded once)",
                         workers=1, seconds=elapsed,
                         x_real_time=audio_s / elapsed))
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(dict(files=args.files, seconds=args.seconds,
                                   weights=weights or "random", rows=rows,
                                   provenance=provenance()), indent=2) + "\n")
    print(f"{args.files} files of {args.seconds:g} s, conv5\n")
    print("| case | wall time (s) | x real time | written | skipped |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['case']} | {r['seconds']:.1f} | {r['x_real_time']:,.0f} "
              f"| {r.get('written', '')} | {r.get('skipped', '')} |")
    print(f"\nwritten to {OUT}")


if __name__ == "__main__":
    main()
