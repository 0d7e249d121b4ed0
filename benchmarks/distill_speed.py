"""Speed of training the SoundNet variants on this machine.

- Teacher target generation (``write_targets``): clips/s, for 20 s clips read
  from 16 kHz files (both rates resampled from them) through SoundNet-8.
- Student training throughput: clips/s and seconds per minibatch of 64 clips
  of 20 s, for SN-F, SN-R (GRU) and SN-R (LSTM), after a warm-up step; and the
  implied time of one paper "epoch" (160 minibatches).

Writes ``benchmarks/results/distill_speed.json`` with provenance and prints a
Markdown table. Run: ``python benchmarks/distill_speed.py [--steps 3]``.
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

from provenance import provenance  # noqa: E402
from soundnet_keras.clips import plan_clips  # noqa: E402
from soundnet_keras.targets import (TargetStore, make_dataset,  # noqa: E402
                                    write_targets)
from soundnet_keras.training import (DistillConfig, agreement,  # noqa: E402
                                     build_student, distillation_model,
                                     kl_divergence, label_frames)

OUT = Path(__file__).parent / "results" / "distill_speed.json"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    import keras
    import soundnet_keras as sk
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rng = np.random.default_rng(0)
        files = []
        for i in range(8):
            path = tmp / f"f{i}.wav"
            soundfile.write(path, 0.2 * rng.standard_normal(16000 * 200),
                            16000)
            files.append(str(path))
        clips = plan_clips(files, val_clips=10)
        try:
            teacher = sk.SoundNet8()
            weights = "soundnet8_flickr"
        except FileNotFoundError:
            teacher, weights = sk.SoundNet8(weights=None), "random"
        write_targets(tmp / "warm", clips.head(16), teacher=teacher,
                      progress=False)
        start = time.perf_counter()
        write_targets(tmp / "targets", clips, teacher=teacher, progress=False)
        seconds = time.perf_counter() - start
        rows.append(dict(case="teacher targets (SoundNet-8, 20 s clips)",
                         clips=len(clips), seconds=seconds,
                         clips_per_s=len(clips) / seconds))
        store = TargetStore(tmp / "targets")
        for model in ("snf", "snr", "snr_lstm"):
            config = DistillConfig(model=model, batch_size=args.batch_size)
            student = build_student(config)
            net = distillation_model(student, label_frames(
                model, 320000, store.target_times))
            net.compile(optimizer=keras.optimizers.Adam(1e-3),
                        loss=[kl_divergence] * 2,
                        metrics=[[agreement], [agreement]])
            data = make_dataset(store, "train", args.batch_size)
            net.fit(data, steps_per_epoch=1, epochs=1, verbose=0)  # warm-up
            start = time.perf_counter()
            net.fit(data, steps_per_epoch=args.steps, epochs=1, verbose=0)
            per_step = (time.perf_counter() - start) / args.steps
            rows.append(dict(case=f"train {model}, batch {args.batch_size}",
                             clips=args.batch_size * args.steps,
                             seconds=per_step * args.steps,
                             clips_per_s=args.batch_size / per_step,
                             s_per_step=per_step,
                             epoch_minutes=160 * per_step / 60))
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(dict(teacher_weights=weights, rows=rows,
                                   provenance=provenance()), indent=2) + "\n")
    print("| case | clips | clips/s | s per minibatch | paper epoch (160 "
          "minibatches) |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        step = f"{r['s_per_step']:.2f}" if "s_per_step" in r else ""
        epoch = f"{r['epoch_minutes']:.1f} min" if "epoch_minutes" in r else ""
        print(f"| {r['case']} | {r['clips']} | {r['clips_per_s']:.1f} | "
              f"{step} | {epoch} |")
    print(f"\nwritten to {OUT}")


if __name__ == "__main__":
    main()
