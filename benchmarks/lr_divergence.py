"""Why the paper's learning rate 3.0 diverges here: measurements.

Two parts, both on the paper's minibatch (5 x 500 frames, 400 units, 35
tokens, hinted CTC with tolerance 10, loss = summed NLL / valid frames,
SGD with Nesterov momentum 0.9 in Keras' form ``v <- 0.9 v - lr g;
w <- w + 0.9 v - lr g``):

1. ``first-step``: the gradient at initialisation and what one lr-3.0 step
   does: each variable's gradient norm and relative update, the share of
   the recurrent kernel's gradient in its top singular direction, and the
   largest cell state of the forward LSTM over the 500 frames before and
   after the step (float64 NumPy re-implementation of the Keras cell).
2. ``sweep``: the first step with a non-finite loss, gradient or output,
   the loss trace and the largest gradient norm, for variants of the recipe
   (learning rate, gradient clipping, momentum, activation, a bounded ReLU,
   loss reduction, input scale), each for ``--steps`` distinct minibatches
   in training order.

Findings (measured with the ReLU on the cell input and output, i.e.
``net.activation: relu``, Keras' single ``activation``; Keras' SGD:
``v <- m v - lr g; w <- w + m v - lr g``, as Lasagne and PyTorch do it):

* With the ReLU and lr 3.0 the loss is NaN at the second step, on random
  and on SoundNet conv5 features. The first gradient is coherent over all
  2,500 frames (every frame asks for more blank) and, the ReLU outputs
  being non-negative, nearly rank one in the recurrent matrices (90-99.8 %
  of its energy in one singular direction). After one lr-3.0 step (1.9 x
  3.0 x g with Nesterov) the largest cell state of the forward LSTM grows
  about threefold per frame and overflows float32 between frames 50 and
  150 of 500.
* It is not the loss reduction (summed NLL / frames is the gentlest; per
  sequence the gradient is 500 times larger), nor the feature
  normalisation (un-normalised conv5 features diverge too), nor momentum
  alone (none: NaN at step 2). Global gradient-norm clipping at 1 or 0.1
  with lr 3.0: NaN at steps 2 and 3.
* Smaller learning rates only delay it: on conv5 features (the batches
  training sees) the ReLU network diverged at step 30 (lr 0.3), 3 (0.1)
  and 5 (0.03), forward (the cell state overflows) or backward (gradient
  norms of 1e7-1e10 through the 500 frames). Scaling the inputs by 0.1
  (lr 3.0) kept it on the all-blank plateau (0.32 nats per frame) for four
  epochs; in the fifth the loss reached 9e8 and then NaN.
* Bounding the ReLU at 20 (``net.relu_max``) stops the overflow but not the
  exploding gradients, and the outcome hangs on single minibatches: in 45
  steps, lr 3.0 ends at 1.9e4 nats per frame; lr 3.0 with clipping at 0.1
  and lr 0.3 without clipping survive (0.15 and 0.24, the former through
  gradient norms up to 1.3e9); lr 0.3 with clipping at 1 meets a gradient
  of norm 2e10 at step 3 and ends at 20 nats per frame (3.3 at the start).
* tanh, bounded and with bounded derivatives, trains at lr 3.0 on conv5
  features with the paper's optimiser unchanged (gradient norms of order
  1; val TER 0.57 after 30 epochs of the 1-hour default corpus,
  ``sed-ctc corpus default --minutes 60``). On the
  low-level features tanh at lr 3.0 still diverges in the third epoch
  (gradient norms up to 1e3, then NaN), hence the clipping; with it both
  features train (clipping acts in the first epochs, where gradient norms
  reach 3-10, and rarely later). 30 epochs on that corpus with the recipe:
  val / test TER 0.45 / 0.45 (conv5), 0.52 / 0.52 (low-level).

Why lr 3.0 with a ReLU worked in the paper's Theano code cannot be checked
(it is not public). Two ways it could have: the gradient was clipped inside
the recurrence (as Lasagne's ``grad_clipping`` does), or the step was
smaller than Keras' for the same lr (a momentum that averages the gradient,
``v <- 0.9 v + 0.1 g; w <- w - lr v``, takes exactly the steps of Keras'
SGD at lr 0.3, which still diverges here with the ReLU).

Inputs: random N(0, 1) 256-d features with the tokens of random events
(``ctc_speed.minibatch``; the default), or a corpus' normalised training
features and tokens, in the minibatches training sees (``--corpus DIR
--kind soundnet8:conv5``). Writes ``benchmarks/results/lr_divergence.json``
(or ``--out``) with provenance. Run: ``python benchmarks/lr_divergence.py
[--steps 45] [--corpus DIR]``.
"""

import argparse
import json
import os
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
from sed.train import frame_loss  # noqa: E402

OUT = Path(__file__).parent / "results" / "lr_divergence.json"

#: name -> overrides of the paper's recipe (lr 3.0, momentum 0.9, ReLU).
CASES = {
    "paper: ReLU, lr 3.0": {},
    "lr 1.0": {"lr": 1.0},
    "lr 0.3": {"lr": 0.3},
    "lr 0.1": {"lr": 0.1},
    "lr 0.03": {"lr": 0.03},
    "lr 3.0, no momentum": {"momentum": 0.0},
    "lr 3.0, clipnorm 1": {"clipnorm": 1.0},
    "lr 3.0, clipnorm 0.1": {"clipnorm": 0.1},
    "lr 3.0, loss per sequence (not per frame)": {"per_sequence": True},
    "lr 3.0, inputs x 0.1": {"scale": 0.1},
    "lr 3.0, ReLU bounded at 20": {"relu_max": 20.0},
    "lr 3.0, ReLU bounded at 20, clipnorm 0.1": {"relu_max": 20.0,
                                                 "clipnorm": 0.1},
    "lr 0.3, ReLU bounded at 20": {"lr": 0.3, "relu_max": 20.0},
    "lr 0.3, ReLU bounded at 20, clipnorm 1": {"lr": 0.3, "relu_max": 20.0,
                                               "clipnorm": 1.0},
    "ReLU on the cell input only (relu_g), lr 3.0": {"activation": "relu_g"},
    "relu_g, lr 3.0, per-gate Glorot": {"activation": "relu_g",
                                        "glorot": "per_gate"},
    "tanh, lr 3.0": {"activation": "tanh"},
    "tanh, lr 3.0, clipnorm 1 (the recipe here)": {"activation": "tanh",
                                                   "clipnorm": 1.0},
}


def random_batches(n, dim=256):
    """``n`` minibatches of random features and random events' tokens."""
    rng = np.random.default_rng(0)
    out = []
    for k in range(n):
        batch = minibatch(seed=k)
        batch["features"] = rng.standard_normal((5, 500, dim)).astype(
            np.float32)
        batch["lengths"] = np.full(5, 500, np.int32)
        out.append(batch)
    return out


def corpus_batches(corpus, kind, n):
    """The first ``n`` minibatches that training on ``corpus`` sees."""
    from sed.train import (batch_order, chunk_recordings, make_batch,
                           prepare_features, resolve_config)
    cfg = resolve_config({"feats": {"kind": kind},
                          "training": {"corpus": corpus}})
    _, _, _, data = prepare_features(cfg, progress=False)
    recs = data["train"]
    chunks = chunk_recordings(recs, 500)
    width = -(-max(len(c.tokens) for c in chunks) // 8) * 8
    out, epoch = [], 0
    while len(out) < n:
        out += [make_batch(recs, [chunks[i] for i in idx], 500, 5, width)
                for idx in batch_order(len(chunks), 5, 0, epoch)]
        epoch += 1
    return out[:n]


def build(case, dim, seed=0):
    """The model and optimizer of a case (overrides of the paper's)."""
    keras.utils.set_random_seed(seed)
    model = CTCRNN(17, 400, input_dim=dim,
                   activation=case.get("activation", "relu"),
                   relu_max=case.get("relu_max"),
                   glorot=case.get("glorot", "fused"))
    kwargs = {}
    if case.get("clipnorm"):
        kwargs["global_clipnorm"] = case["clipnorm"]
    optimizer = keras.optimizers.SGD(case.get("lr", 3.0),
                                     momentum=case.get("momentum", 0.9),
                                     nesterov=True, **kwargs)
    optimizer.build(model.trainable_variables)
    return model, optimizer


def make_step(model, optimizer, case):
    scale = case.get("scale", 1.0)

    @tf.function(reduce_retracing=True)
    def step(features, lengths, labels, label_length, label_frames):
        mask = tf.sequence_mask(lengths, tf.shape(features)[1])
        with tf.GradientTape() as tape:
            logits = model(features * scale, mask=mask, training=True)
            loss = frame_loss(logits, lengths, labels, label_length,
                              label_frames, 10)
            if case.get("per_sequence"):    # summed NLL / sequences
                frames = tf.cast(tf.reduce_sum(lengths), loss.dtype)
                loss = loss * frames / tf.cast(tf.size(lengths), loss.dtype)
        grads = tape.gradient(loss, model.trainable_variables)
        norm = tf.linalg.global_norm(grads)
        optimizer.apply(grads, model.trainable_variables)
        finite = tf.reduce_all(tf.math.is_finite(logits))
        return loss, norm, finite, grads

    return step


def _args(batch):
    return (batch["features"], batch["lengths"], batch["labels"],
            batch["label_length"], batch["label_frames"])


def cell_trace(kernel, recurrent, bias, x):
    """Largest |cell state| after each frame of a Keras LSTM cell with ReLU,
    in float64 (gates i, f, c, o)."""
    units = recurrent.shape[0]
    h = np.zeros(units)
    c = np.zeros(units)
    out = []
    with np.errstate(over="ignore", invalid="ignore"):
        for xt in x.astype(np.float64):
            z = xt @ kernel + h @ recurrent + bias
            gate = lambda s: 1.0 / (1.0 + np.exp(-z[s]))  # noqa: E731
            i, f = gate(slice(0, units)), gate(slice(units, 2 * units))
            g = np.maximum(z[2 * units:3 * units], 0)
            o = gate(slice(3 * units, 4 * units))
            c = f * c + i * g
            h = o * np.maximum(c, 0)
            out.append(float(np.abs(c).max()))
    return out


def first_step(batches):
    """Gradient and update of one lr-3.0 step, and the cell state before
    and after it."""
    batch = batches[0]
    model, optimizer = build({}, batch["features"].shape[2])
    step = make_step(model, optimizer, {})
    names = [v.path.split("/", 1)[1] for v in model.trainable_variables]
    before = [np.asarray(v) for v in model.trainable_variables]
    loss, norm, _, grads = step(*_args(batch))
    after = [np.asarray(v) for v in model.trainable_variables]
    # the forward direction (index 0) of sed.lstm.BiLSTM's weights
    rk = names.index("blstm/recurrent_kernel")
    singular = np.linalg.svd(np.asarray(grads[rk])[0], compute_uv=False)
    k = names.index("blstm/kernel")
    b = names.index("blstm/bias")
    x = batch["features"][0, :batch["lengths"][0]]
    trace_before = cell_trace(before[k][0], before[rk][0], before[b][0], x)
    trace_after = cell_trace(after[k][0], after[rk][0], after[b][0], x)
    frames = [1, 5, 10, 20, 50, 100, 200, 500]
    return dict(
        loss=float(loss), grad_norm=float(norm),
        variables={n: dict(grad_norm=float(np.linalg.norm(g)),
                           relative_update=float(
                               np.linalg.norm(a - w) / np.linalg.norm(w))
                           if np.linalg.norm(w) > 0 else None)
                   for n, g, w, a in zip(names, grads, before, after)},
        recurrent_grad_top_direction_share=float(
            singular[0] ** 2 / (singular ** 2).sum()),
        max_cell_state_before={t: trace_before[t - 1] for t in frames
                               if t <= len(x)},
        max_cell_state_after={t: trace_after[t - 1] for t in frames
                              if t <= len(x)},
        first_overflow_frame_after=next(
            (t + 1 for t, v in enumerate(trace_after)
             if not np.isfinite(v) or v > float(np.finfo(np.float32).max)),
            None))


def sweep(batches, cases):
    """Trains each case over ``batches`` (in order); stops at the first
    non-finite loss, gradient norm or network output."""
    rows = []
    for name, case in cases.items():
        start = time.perf_counter()
        model, optimizer = build(case, batches[0]["features"].shape[2])
        step = make_step(model, optimizer, case)
        losses, norms, diverged = [], [], None
        for s, batch in enumerate(batches):
            loss, norm, finite, _ = step(*_args(batch))
            if not (np.isfinite(float(loss)) and np.isfinite(float(norm))
                    and bool(finite)):
                diverged = s + 1
                break
            losses.append(round(float(loss), 4))
            norms.append(float(norm))
        rows.append(dict(
            case=name, overrides=case, steps=len(batches),
            diverged_at_step=diverged, losses=losses,
            loss_last5=float(np.mean(losses[-5:])) if losses else None,
            grad_norm_max=max(norms) if norms else None,
            steps_with_grad_norm_over_100=int(sum(n > 100 for n in norms)),
            seconds=round(time.perf_counter() - start, 1)))
        r = rows[-1]
        print(f"{name}: " + (f"non-finite at step {diverged}" if diverged
                             else f"loss {losses[0]} -> {r['loss_last5']:.4g}"
                             f" (last 5), max |g| {r['grad_norm_max']:.3g}"),
              flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=45)
    parser.add_argument("--corpus", help="use this corpus' training "
                        "features instead of random ones")
    parser.add_argument("--kind", default="soundnet8:conv5")
    parser.add_argument("--cases", nargs="+", choices=list(CASES),
                        default=list(CASES), metavar="CASE")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    batches = corpus_batches(args.corpus, args.kind, args.steps) \
        if args.corpus else random_batches(args.steps)
    first = first_step(batches)
    print(json.dumps({k: v for k, v in first.items() if k != "variables"},
                     indent=1))
    rows = sweep(batches, {c: CASES[c] for c in args.cases})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(dict(
        inputs=f"{args.corpus} ({args.kind})" if args.corpus else
        "random N(0, 1) features, 256-d; tokens of random events",
        first_step=first, sweep=rows, provenance=provenance()), indent=2)
        + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
