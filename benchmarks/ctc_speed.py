"""CTC loss + gradient speed: ``tf.nn.ctc_loss`` against ``sed.ctc.ctc_loss``.

One training minibatch of the paper's size: 5 sequences x 500 frames x 35
tokens (17 event types), ~40 boundary tokens per sequence taken from random
events through ``sed.tokens.events_to_tokens``. Each case computes the
per-sequence losses and the gradient of their sum with respect to the logits
inside a ``tf.function`` (plain graph, and XLA with ``jit_compile=True``),
and reports the median wall time of several runs after warm-up.

Writes a JSON file with provenance (default
``benchmarks/results/ctc_speed.json``) and prints a Markdown table.
Run: ``python benchmarks/ctc_speed.py [--runs 15] [--out PATH]``.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).parent))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from provenance import provenance  # noqa: E402
from sed.ctc import ctc_loss  # noqa: E402
from sed.tokens import events_to_tokens  # noqa: E402

OUT = Path(__file__).parent / "results" / "ctc_speed.json"


def minibatch(batch=5, frames=500, classes=17, events=21, seed=0):
    """Random logits and the tokens of random events, padded."""
    rng = np.random.default_rng(seed)
    names = [f"c{k}" for k in range(classes)]
    frame_times = np.arange(frames) * 0.1
    labels, label_frames = [], []
    for _ in range(batch):
        n = events - int(rng.integers(0, 3))
        onsets = rng.uniform(0, frame_times[-1] - 2, size=n)
        rows = [(names[k], t, t + rng.uniform(0.3, 2.0))
                for k, t in zip(rng.integers(0, classes, size=n), onsets)]
        tokens, token_frames = events_to_tokens(rows, names, frame_times)
        labels.append(tokens)
        label_frames.append(token_frames)
    width = max(len(t) for t in labels)
    pad = lambda rows: np.array(  # noqa: E731
        [np.pad(r, (0, width - len(r))) for r in rows], dtype=np.int32)
    return dict(
        logits=tf.constant(rng.normal(size=(batch, frames, 2 * classes + 1)),
                           tf.float32),
        labels=tf.constant(pad(labels)),
        label_frames=tf.constant(pad(label_frames)),
        label_length=tf.constant([len(t) for t in labels], tf.int32),
        logit_length=tf.fill([batch], frames))


def loss_functions(tolerance):
    def reference(labels, logits, label_length, logit_length, label_frames):
        return tf.nn.ctc_loss(labels, logits, label_length, logit_length,
                              logits_time_major=False, blank_index=0)

    def plain(labels, logits, label_length, logit_length, label_frames):
        return ctc_loss(labels, logits, label_length, logit_length)

    def hinted(labels, logits, label_length, logit_length, label_frames):
        return ctc_loss(labels, logits, label_length, logit_length,
                        label_frames, tolerance)

    return {"tf.nn.ctc_loss": reference, "sed.ctc.ctc_loss": plain,
            f"sed.ctc.ctc_loss, hinted (tolerance {tolerance})": hinted}


def loss_and_gradient(loss_fn, jit_compile):
    @tf.function(jit_compile=jit_compile)
    def step(labels, logits, label_length, logit_length, label_frames):
        with tf.GradientTape() as tape:
            tape.watch(logits)
            loss = loss_fn(labels, logits, label_length, logit_length,
                           label_frames)
            total = tf.reduce_sum(loss)
        return loss, tape.gradient(total, logits)
    return step


def median_ms(fn, inputs, runs, warmup=2):
    for _ in range(warmup):
        fn(**inputs)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        loss, grad = fn(**inputs)
        grad.numpy()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times), loss.numpy()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--tolerance", type=int, default=10)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    inputs = minibatch()
    rows, reference = [], None
    for jit_compile in (False, True):
        for name, fn in loss_functions(args.tolerance).items():
            ms, loss = median_ms(loss_and_gradient(fn, jit_compile), inputs,
                                 args.runs)
            if name == "tf.nn.ctc_loss" and not jit_compile:
                reference = loss
            rel = None if "hinted" in name else float(
                np.max(np.abs(loss - reference) / reference))
            rows.append(dict(case=name, mode="XLA" if jit_compile else
                             "tf.function", ms=ms, max_rel_diff_loss=rel))
    base = rows[0]["ms"]
    shape = tuple(inputs["logits"].shape)
    print(f"loss + gradient, logits {shape}, tokens per sequence "
          f"{inputs['label_length'].numpy().tolist()}, median of "
          f"{args.runs} runs\n")
    print("| case | mode | ms | speed-up | max rel. diff of loss |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        rel = r["max_rel_diff_loss"]
        rel = "(hinted)" if rel is None else f"{rel:.1e}"
        print(f"| {r['case']} | {r['mode']} | {r['ms']:.1f} | "
              f"{base / r['ms']:.1f}x | {rel} |")
    print("\nspeed-up and loss difference against tf.nn.ctc_loss in a "
          "plain tf.function")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(dict(
        logits_shape=shape, label_length=inputs["label_length"].numpy()
        .tolist(), runs=args.runs, rows=rows, provenance=provenance()),
        indent=2) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
