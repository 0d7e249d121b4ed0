"""Training speed of the CTC-RNN: the engine against the Keras LSTM it
replaced and against plain Keras + ``tf.nn.ctc_loss``, side by side.

One SGD step (forward, hinted CTC loss, backward, Nesterov update;
``sed.train.make_train_step``) on the paper's minibatch: 5 sequences x 500
frames, 400 LSTM units per direction, 17 classes (35 tokens), ~40 boundary
tokens per sequence, random features of 256 dimensions (SoundNet conv5;
``--dims 256 50`` adds the 50-d low-level feature). Cases, for each cell:

* ``engine``: :class:`sed.lstm.BiLSTM` (fused input projection, both
  directions in one loop, hand-written backward pass through time), in a
  plain ``tf.function`` and with XLA (``jit_compile=True``);
* ``keras (before)``: the same step with ``keras.layers.Bidirectional(LSTM)``
  in place of the engine, the detector's network before the engine, with
  today's loss (its hand-written gradient, which the step before the engine
  did not have, makes this baseline faster than it was) (cells
  ``tanh`` and ``relu`` only: Keras' LSTM has no ``relu_g``);
* ``plain keras``: ``Bidirectional(LSTM)`` + ``Dense`` and
  ``tf.nn.ctc_loss`` (no hinting) / frames, what a Keras user would write.

All cases run in one process, interleaved round by round (each round times
one step of every case), so that load from other processes affects them
alike; the median over rounds is reported. Also the forward pass used for
decoding (16 chunks of 500 frames a batch) of the engine and of the Keras
LSTM. Epoch time is estimated for the paper's corpus size (9.6 h at 10 Hz,
split 3:1:1): ``ceil(207,360 / 2,500) = 83`` training steps plus decoding
all 345,600 frames (train, validation and test TER). Besides wall time, the
process CPU time of each step is reported: on a shared machine it measures
the work done, less disturbed by other processes than the wall time.

The limit: the step's matrix products (:func:`step_gflop`: input
projections, recurrences and the output layer, forward and the two products
of the backward pass) against TensorFlow's float32 matmul speed on large
square matrices, measured in the same run before and after the cases; no
implementation of the same math can beat that rate, and the recurrence's
small products (5 x 400 by 400 x 1,600 a frame) run well below it.

Writes ``benchmarks/results/ctc_training.json`` with provenance and prints a
Markdown table. Run: ``python benchmarks/ctc_training.py [--rounds 7]``.
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
from provenance import matmul_gflops, provenance  # noqa: E402
from sed.model import CTCRNN  # noqa: E402
from sed.train import make_optimizer, make_train_step  # noqa: E402

OUT = Path(__file__).parent / "results" / "ctc_training.json"
BATCH, FRAMES, UNITS, CLASSES = 5, 500, 400, 17
TRAIN_FRAMES = int(9.6 * 3600 * 10 * 3 / 5)    # the paper's training split
ALL_FRAMES = int(9.6 * 3600 * 10)
EVAL_BATCH = 16
OPT = {"learning_rate": 3.0, "momentum": 0.9, "nesterov": True,
       "clipnorm": None}


def step_gflop(dim, units=UNITS, tokens=2 * CLASSES + 1,
               frames=BATCH * FRAMES):
    """GFLOP of the matrix products of one training step: per frame and
    direction the four gates' products with the input and the previous
    output (``2 (dim + units) 4 units``), the output layer over both
    directions (``2 (2 units) tokens``); the backward pass twice the
    forward (the products for the inputs' and the weights' gradients).

    Example:
        >>> round(step_gflop(256), 1)
        31.9
    """
    forward = 2 * 2 * (dim + units) * 4 * units + 2 * 2 * units * tokens
    return 3 * forward * frames / 1e9


class KerasCTCRNN(keras.Model):
    """The detector's network before the engine: Keras' Bidirectional(LSTM)
    with the weights of ``model``, and its logits layer."""

    def __init__(self, model):
        super().__init__()
        self.blstm = model.keras_blstm()
        self.logits = keras.layers.Dense(model.vocabulary_size)
        self.logits.build((None, None, 2 * model.units))
        self.logits.set_weights(model.logits.get_weights())
        self.vocabulary_size = model.vocabulary_size

    def call(self, features, mask=None, training=False):
        return self.logits(self.blstm(features, mask=mask))

    def probabilities(self, features, mask=None):
        return keras.ops.softmax(self(features, mask=mask), axis=-1)


def plain_keras_step(model, optimizer):
    """Bidirectional(LSTM) + Dense, ``tf.nn.ctc_loss`` summed / frames."""
    @tf.function
    def step(features, lengths, labels, label_length, label_frames,
             weights):
        mask = tf.sequence_mask(lengths, tf.shape(features)[1])
        with tf.GradientTape() as tape:
            logits = model(features, mask=mask, training=True)
            nll = tf.nn.ctc_loss(labels, logits, label_length, lengths,
                                 logits_time_major=False, blank_index=0)
            loss = tf.reduce_sum(nll) / tf.cast(tf.reduce_sum(lengths),
                                                 tf.float32)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(grads, model.trainable_variables)
        return loss, tf.linalg.global_norm(grads), True
    return step


def cases(dim, cells, xla):
    """name -> (train step, model) for every case of one input size."""
    out = {}
    for cell in cells:
        keras.utils.set_random_seed(0)
        engine = CTCRNN(CLASSES, UNITS, input_dim=dim, activation=cell)
        for jit in (False, True) if xla else (False,):
            name = f"engine{', XLA' if jit else ''}"
            optimizer = make_optimizer(OPT)
            optimizer.build(engine.trainable_variables)
            out[(cell, name)] = (make_train_step(engine, optimizer, 10, jit),
                                 engine)
        if cell == "relu_g":
            continue
        before = KerasCTCRNN(engine)
        optimizer = make_optimizer(OPT)
        optimizer.build(before.trainable_variables)
        out[(cell, "keras (before)")] = (
            make_train_step(before, optimizer, 10), before)
        if cell == "tanh":
            plain = KerasCTCRNN(engine)
            optimizer = make_optimizer(OPT)
            optimizer.build(plain.trainable_variables)
            out[(cell, "plain keras + tf.nn.ctc_loss")] = (
                plain_keras_step(plain, optimizer), plain)
    return out


def forward_function(model):
    @tf.function
    def forward(x, n):
        return model.probabilities(x, tf.sequence_mask(n, FRAMES))
    return forward


def measure(dim, cells, xla, rounds):
    batch = minibatch(BATCH, FRAMES)
    rng = np.random.default_rng(0)
    inputs = (rng.standard_normal((BATCH, FRAMES, dim)).astype(np.float32),
              np.full(BATCH, FRAMES, np.int32), batch["labels"],
              batch["label_length"], batch["label_frames"],
              np.ones(BATCH, np.float32))
    steps = cases(dim, cells, xla)
    x = rng.standard_normal((EVAL_BATCH, FRAMES, dim)).astype(np.float32)
    n = np.full(EVAL_BATCH, FRAMES, np.int32)
    forwards = {key: forward_function(model)
                for key, (_, model) in steps.items() if "XLA" not in key[1]}
    times = {key: [] for key in steps}
    cpu = {key: [] for key in steps}
    first = {}
    decode = {key: [] for key in forwards}
    decode_cpu = {key: [] for key in forwards}
    for key, (step, _) in steps.items():          # traces, warm-up
        start = time.perf_counter()
        float(step(*inputs)[0])
        first[key] = time.perf_counter() - start
        float(step(*inputs)[0])
    for key, fn in forwards.items():
        fn(x, n).numpy()
    for _ in range(rounds):
        for key, (step, _) in steps.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            float(step(*inputs)[0])
            times[key].append(time.perf_counter() - start)
            cpu[key].append(time.process_time() - start_cpu)
        for key, fn in forwards.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            fn(x, n).numpy()
            decode[key].append(time.perf_counter() - start)
            decode_cpu[key].append(time.process_time() - start_cpu)
    n_steps = math.ceil(TRAIN_FRAMES / (BATCH * FRAMES))
    n_eval = math.ceil(ALL_FRAMES / (EVAL_BATCH * FRAMES))
    rows = []
    for (cell, name), values in times.items():
        step_s = statistics.median(values)
        row = dict(input_dim=dim, cell=cell, case=name, first_step_s=first[
            (cell, name)], step_s=step_s, step_s_all=values,
            step_cpu_s=statistics.median(cpu[(cell, name)]),
            step_gflop=step_gflop(dim), gflop_per_s=step_gflop(dim) / step_s,
            train_frames_per_s=BATCH * FRAMES / step_s,
            epoch_train_s=n_steps * step_s)
        decode_key = (cell, name.replace(", XLA", ""))
        if decode_key in decode:
            forward_s = statistics.median(decode[decode_key])
            row.update(decode_frames_per_s=EVAL_BATCH * FRAMES / forward_s,
                       decode_cpu_s=statistics.median(decode_cpu[decode_key]),
                       epoch_s=n_steps * step_s + n_eval * forward_s)
        rows.append(row)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--dims", type=int, nargs="+", default=[256])
    parser.add_argument("--cells", nargs="+",
                        default=["tanh", "relu", "relu_g"])
    parser.add_argument("--no-xla", action="store_true")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    rows = []
    limit = dict(matmul_gflops=matmul_gflops())
    for dim in args.dims:
        rows += measure(dim, args.cells, not args.no_xla, args.rounds)
    limit["matmul_gflops_after"] = matmul_gflops()
    peak = max(limit["matmul_gflops"]["tensorflow"],
               limit["matmul_gflops_after"]["tensorflow"])
    for r in rows:
        r["share_of_matmul_peak"] = r["gflop_per_s"] / peak
        r["limit_step_s"] = r["step_gflop"] / peak
    print(f"\nCTC-RNN training step, minibatch {BATCH} x {FRAMES} frames, "
          f"{UNITS} units per direction, median of {args.rounds} "
          "interleaved rounds\n")
    print("| input | cell | case | step (s) | speed-up | CPU s | speed-up "
          "(CPU) | GFLOP/s (of matmul peak) | train frames/s | decode "
          "frames/s | decode CPU s | epoch, 9.6 h corpus (s) |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    before = {(r["input_dim"], r["cell"]): r for r in rows
              if r["case"] == "keras (before)"}
    for r in rows:
        base = before.get((r["input_dim"], r["cell"]))
        ratio = f"{base['step_s'] / r['step_s']:.2f}x" if base else "-"
        cpu_ratio = f"{base['step_cpu_s'] / r['step_cpu_s']:.2f}x" \
            if base else "-"
        decode = f"{r['decode_frames_per_s']:,.0f} | " \
            f"{r['decode_cpu_s']:.3f}" if "decode_frames_per_s" in r \
            else "- | -"
        epoch = f"{r['epoch_s']:.0f}" if "epoch_s" in r else "-"
        print(f"| {r['input_dim']}-d | {r['cell']} | {r['case']} | "
              f"{r['step_s']:.3f} | {ratio} | {r['step_cpu_s']:.3f} | "
              f"{cpu_ratio} | {r['gflop_per_s']:.0f} "
              f"({100 * r['share_of_matmul_peak']:.0f}%) | "
              f"{r['train_frames_per_s']:,.0f} | {decode} | {epoch} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(dict(
        batch=BATCH, frames=FRAMES, units=UNITS, train_frames=TRAIN_FRAMES,
        all_frames=ALL_FRAMES, eval_batch=EVAL_BATCH, rounds=args.rounds,
        intra_op_threads=tf.config.threading
        .get_intra_op_parallelism_threads(), rows=rows, **limit,
        provenance=provenance()), indent=2) + "\n")
    print("\nspeed-up: against the same step with Keras' Bidirectional(LSTM)"
          " (the detector before the engine), wall time and process CPU "
          f"time; {tf.config.threading.get_intra_op_parallelism_threads()}"
          " intra-op threads (0: all cores)")
    print(f"matmul peak (TensorFlow float32, {peak:.0f} GFLOP/s, before / "
          "after: " + " / ".join(f"{limit[k]['tensorflow']:.0f}" for k in (
              "matmul_gflops", "matmul_gflops_after"))
          + f"): a step of {step_gflop(args.dims[0]):.1f} GFLOP "
          f"({args.dims[0]}-d input) cannot take less than "
          f"{step_gflop(args.dims[0]) / peak:.3f} s")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
