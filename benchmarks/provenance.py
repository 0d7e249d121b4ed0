"""Provenance of a measurement: command, commit, date, machine (the same
record as the training runs': :func:`soundnet_keras.provenance.provenance`),
the machine's float32 matmul speed measured in the same run (the limit a
benchmark's figures are read against), and the writing of a benchmark's
result."""

import json
import os
import statistics
import time

import numpy as np

from soundnet_keras.provenance import provenance


def write_result(path, result, table):
    """Writes ``result`` (a dict) as JSON to ``path`` atomically, then
    prints the Markdown ``table`` and where the result went."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, path)
    print()
    print(table)
    print(f"\nwritten {path}")


def matmul_gflops(repeats=5, n=2048):
    """Median float32 matmul speed of TensorFlow and NumPy, GFLOP/s."""
    import tensorflow as tf
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    ta = tf.constant(a)
    out = {}
    for name, fn in (("tensorflow", lambda: tf.linalg.matmul(ta, ta)
                      .numpy()), ("numpy", lambda: a @ a)):
        fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        out[name] = 2 * n ** 3 / statistics.median(times) / 1e9
    return out


__all__ = ["matmul_gflops", "provenance", "write_result"]
