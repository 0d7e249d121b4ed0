"""Training speed of the CTC-RNN: frames per second and epoch time.

One SGD step of :mod:`sed.train` (forward, hinted CTC loss, backward, Nesterov
update; ``sed.train.make_train_step``) on the paper's minibatch: 5 sequences
x 500 frames, 400 LSTM units per direction, 17 classes (35 tokens), ~40
boundary tokens per sequence, random features of 256 dimensions (SoundNet
conv5) and 50 (the low-level feature). Also the forward pass used for
decoding (16 chunks of 500 frames a batch). Each case reports the median
wall time of several steps after warm-up, in a plain ``tf.function`` and
with XLA (``jit_compile=True``).

Epoch time is estimated for the paper's corpus size (9.6 h at 10 Hz, split
3:1:1): ``ceil(207,360 / 2,500) = 83`` training steps (full chunks assumed),
plus decoding all 345,600 frames (train, validation and test TER).

Writes ``benchmarks/results/ctc_training.json`` with provenance and prints a
Markdown table. Run: ``python benchmarks/ctc_training.py [--runs 5]``.
"""

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from ctc_speed import minibatch  # noqa: E402
from provenance import provenance  # noqa: E402
from sed.model import CTCRNN  # noqa: E402
from sed.train import (DEFAULTS, make_optimizer,  # noqa: E402
                       make_train_step)

OUT = Path(__file__).parent / "results" / "ctc_training.json"
BATCH, FRAMES = 5, 500
TRAIN_FRAMES = int(9.6 * 3600 * 10 * 3 / 5)    # the paper's training split
ALL_FRAMES = int(9.6 * 3600 * 10)
EVAL_BATCH = 16


def median_s(fn, runs, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(dim, jit_compile, runs, units=400):
    keras.utils.set_random_seed(0)
    batch = minibatch(BATCH, FRAMES)
    rng = np.random.default_rng(0)
    features = rng.standard_normal((BATCH, FRAMES, dim)).astype(np.float32)
    net = DEFAULTS["net"]
    model = CTCRNN(17, units, input_dim=dim, activation=net["activation"],
                   relu_max=net["relu_max"])
    optimizer = make_optimizer(DEFAULTS["opt"])
    optimizer.build(model.trainable_variables)
    step = make_train_step(model, optimizer, 10, jit_compile=jit_compile)
    lengths = np.full(BATCH, FRAMES, np.int32)
    weights = np.ones(BATCH, np.float32)

    def train_step():
        loss, norm, _ = step(features, lengths, batch["labels"],
                             batch["label_length"], batch["label_frames"],
                             weights)
        float(loss)

    start = time.perf_counter()
    train_step()
    first = time.perf_counter() - start
    step_s = median_s(train_step, runs, warmup=1)

    @tf.function(jit_compile=jit_compile)
    def forward(x, n):
        return model.probabilities(x, tf.sequence_mask(n, FRAMES))

    x = rng.standard_normal((EVAL_BATCH, FRAMES, dim)).astype(np.float32)
    n = np.full(EVAL_BATCH, FRAMES, np.int32)
    forward_s = median_s(lambda: forward(x, n).numpy(), runs)
    steps = math.ceil(TRAIN_FRAMES / (BATCH * FRAMES))
    eval_batches = math.ceil(ALL_FRAMES / (EVAL_BATCH * FRAMES))
    return dict(input_dim=dim, mode="XLA" if jit_compile else "tf.function",
                units=units, first_step_s=first, step_s=step_s,
                train_frames_per_s=BATCH * FRAMES / step_s,
                decode_frames_per_s=EVAL_BATCH * FRAMES / forward_s,
                steps_per_epoch=steps,
                epoch_train_s=steps * step_s,
                epoch_s=steps * step_s + eval_batches * forward_s)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dims", type=int, nargs="+", default=[256, 50])
    parser.add_argument("--no-xla", action="store_true")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    rows = []
    for dim in args.dims:
        for jit in (False,) if args.no_xla else (False, True):
            try:
                rows.append(measure(dim, jit, args.runs))
            except Exception as err:  # noqa: BLE001 - record, go on
                rows.append(dict(input_dim=dim, mode="XLA" if jit else
                                 "tf.function", error=f"{type(err).__name__}"
                                 f": {str(err).splitlines()[0][:200]}"))
            print(json.dumps(rows[-1]), flush=True)
    print(f"\nCTC-RNN training, minibatch {BATCH} x {FRAMES} frames, 400 "
          f"units, median of {args.runs} steps\n")
    print("| input | mode | step (s) | train frames/s | decode frames/s | "
          "epoch, 9.6 h corpus (min) |")
    print("|---|---|---:|---:|---:|---:|")
    for r in rows:
        if "error" in r:
            print(f"| {r['input_dim']}-d | {r['mode']} | failed: "
                  f"{r['error']} | | | |")
            continue
        print(f"| {r['input_dim']}-d | {r['mode']} | {r['step_s']:.2f} | "
              f"{r['train_frames_per_s']:,.0f} | "
              f"{r['decode_frames_per_s']:,.0f} | {r['epoch_s'] / 60:.1f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(dict(
        batch=BATCH, frames=FRAMES, train_frames=TRAIN_FRAMES,
        all_frames=ALL_FRAMES, eval_batch=EVAL_BATCH, runs=args.runs,
        rows=rows, provenance=provenance()), indent=2) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
