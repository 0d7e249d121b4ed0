"""Throughput of several detector runs at once: processes against threads.

Runs the engine's training step (the paper's minibatch: 5 x 500 frames, 400
units per direction, 256-d input, hinted CTC, XLA; ``sed.train``) for a
fixed wall time in each layout of the machine's cores, and reports the total
steps per second over all runs:

* one process with all cores as TensorFlow threads (one run at a time);
* ``cores`` processes with one thread each (``cores`` runs at once, what
  ``sed-ctc experiments sweep --jobs N --threads 1`` does).

Writes ``benchmarks/results/ctc_sweep.json`` with provenance and prints a
Markdown table. Run: ``python benchmarks/ctc_sweep.py [--seconds 60]``.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from provenance import provenance  # noqa: E402

OUT = Path(__file__).parent / "results" / "ctc_sweep.json"
ROOT = Path(__file__).parent.parent

WORKER = """
import sys, time
sys.path.insert(0, "benchmarks")
import keras, numpy as np
from ctc_speed import minibatch
from sed.model import CTCRNN
from sed.train import make_optimizer, make_train_step
seconds = float(sys.argv[1])
batch = minibatch(5, 500)
features = np.random.default_rng(0).standard_normal((5, 500, 256)).astype(
    "float32")
keras.utils.set_random_seed(0)
model = CTCRNN(17, 400, input_dim=256)
optimizer = make_optimizer({"learning_rate": 3.0, "momentum": 0.9,
                            "nesterov": True, "clipnorm": None})
step = make_train_step(model, optimizer, 10, jit_compile=True)
args = (features, np.full(5, 500, np.int32), batch["labels"],
        batch["label_length"], batch["label_frames"], np.ones(5, "float32"))
float(step(*args)[0])
float(step(*args)[0])
print("ready", flush=True)
sys.stdin.readline()            # all workers start timing together
start, steps = time.perf_counter(), 0
while time.perf_counter() - start < seconds:
    float(step(*args)[0])
    steps += 1
print(steps / (time.perf_counter() - start), flush=True)
"""


def layout(processes, threads, seconds):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2",
           "TF_NUM_INTRAOP_THREADS": str(threads),
           "TF_NUM_INTEROP_THREADS": "1"}
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(seconds)],
                                cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
               for _ in range(processes)]
    for w in workers:
        assert w.stdout.readline().strip() == "ready"
    for w in workers:
        w.stdin.write("go\n")
        w.stdin.flush()
    rates = [float(w.stdout.readline()) for w in workers]
    for w in workers:
        w.wait()
    return dict(processes=processes, threads=threads, steps_per_s=rates,
                total_steps_per_s=sum(rates))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    rows = [layout(1, args.cores, args.seconds),
            layout(args.cores, 1, args.seconds),
            layout(1, args.cores, args.seconds)]      # again: load drifts
    print(f"\nEngine training steps (5 x 500 frames, 400 units, XLA), "
          f"{args.seconds:g} s per layout, {args.cores} cores\n")
    print("| processes x threads | total steps/s | per run |")
    print("|---|---:|---:|")
    for r in rows:
        print(f"| {r['processes']} x {r['threads']} | "
              f"{r['total_steps_per_s']:.2f} | "
              f"{', '.join(f'{v:.2f}' for v in r['steps_per_s'])} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(dict(seconds=args.seconds,
                                        cores=args.cores, rows=rows,
                                        provenance=provenance()),
                                   indent=2) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
