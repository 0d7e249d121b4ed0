"""Fast inference of the convolutional trunk, on every Keras backend.

For feature extraction only (no training): each batch norm is folded into its
convolution (kernel times ``gamma / sqrt(var + eps)``, bias ``(b - mean) *
gamma / sqrt(var + eps) + beta``), so a layer is one convolution, a bias and
a ReLU, which TensorFlow fuses. conv1 (one input channel, 64 taps) runs
polyphase: the input is cut into rows of ``stride * pool`` samples and one
convolution over the rows (a block-Toeplitz kernel) gives all the frames of
a pool1 window side by side as channels; pool1 is then the maximum over
them, taken before the bias and the ReLU (both commute with it).

The functions are ``keras.ops``, compiled the backend's way
(:func:`compile_function`). The folding runs inside them on the model's
variables as they are at each call (it costs little beside the
convolutions), so a plan follows a model that is trained further.

Example:
    >>> plan = ConvPlan(SoundNet8(weights=None), "soundnet8", "pool5")
    >>> plan.run(np.zeros((2, 22050 * 20), "float32")).shape
    (2, 54, 256)
"""

import keras
import numpy as np
from keras import ops

from .specs import BN_EPSILON, get_spec


def plan_rows(spec, layer):
    """The spec rows from the input to ``layer`` (a name, or several: to the
    deepest, with the conv heads among them) if all are convolutions (with
    batch norm, or conv heads) and pools; else ``None``.

    Example:
        >>> [row["name"] for row in plan_rows("snf", ["conv2", "pool1"])]
        ['conv1', 'pool1', 'conv2']
        >>> plan_rows("snf", ["pool5", "fc1"]) is None
        True
    """
    wanted = {layer} if isinstance(layer, str) else set(layer)
    rows = []
    for row in get_spec(spec)["layers"]:
        if not wanted:
            return rows
        if not (row["kind"] == "conv"
                or (row["kind"] == "pool" and row["size"] == row["stride"])
                or (row["kind"] == "head" and "kernel" in row)):
            return None
        if row["kind"] != "head" or row["name"] in wanted:
            rows.append(row)
        wanted.discard(row["name"])
    return rows if not wanted else None


def _toeplitz(kernel, stride, group, n_rows):
    """``(n_rows, stride * group * C, group * C_out)``: output frame ``j``
    of a block reads input frames ``stride * j ... stride * j + k - 1`` of
    its ``n_rows`` rows of ``stride * group`` frames."""
    k, c, c_out = kernel.shape
    size = n_rows * stride * group
    big = ops.stack([ops.pad(kernel, [[stride * j, size - stride * j - k],
                                      [0, 0], [0, 0]])
                     for j in range(group)], axis=2)
    return ops.reshape(big, (n_rows, stride * group * c, group * c_out))


class _Conv:
    """One convolution (+ folded batch norm and ReLU); with ``pool``, the
    equal-stride max-pooling after it, fused (polyphase, see above)."""

    def __init__(self, row, pool=None):
        self.name, self.k, self.s = row["name"], row["kernel"], row["stride"]
        self.pad = row.get("pad", 0)
        self.relu = row["kind"] == "conv"
        self.pool = pool or 1
        # A pool window's frames read n_rows rows of stride * pool frames.
        block = self.s * self.pool
        self.n_rows = -(-(self.s * (self.pool - 1) + self.k) // block)

    def variables(self, model):
        """The Keras variables: kernel, bias (and gamma, beta, mean, var)."""
        conv = model.get_layer(self.name)
        out = [conv.kernel, conv.bias]
        if self.relu:
            bn = model.get_layer(f"{self.name}_bn")
            out += [bn.gamma, bn.beta, bn.moving_mean, bn.moving_variance]
        self.n_variables = len(out)
        return out

    def fold(self, kernel, bias, *bn):
        """``(kernel, bias)`` with batch norm folded in."""
        if bn:
            gamma, beta, mean, var = bn
            scale = gamma / ops.sqrt(var + BN_EPSILON)
            kernel = kernel * scale
            bias = (bias - mean) * scale + beta
        if self.pool > 1:
            kernel = _toeplitz(kernel, self.s, self.pool, self.n_rows)
        return kernel, bias

    def __call__(self, x, variables):
        """``x (batch, frames, C)`` -> ``(batch, frames_out, C_out)``."""
        kernel, bias = self.fold(*variables)
        if self.pool == 1:
            x = ops.pad(x, [[0, 0], [self.pad, self.pad], [0, 0]])
            y = ops.conv(x, kernel, strides=self.s) + bias
            return ops.relu(y) if self.relu else y
        shape = ops.shape(x)
        b, t, c = shape[0], shape[1], x.shape[2]
        n_conv = (t + 2 * self.pad - self.k) // self.s + 1
        windows = n_conv // self.pool
        row = self.s * self.pool
        length = (windows + self.n_rows - 1) * row
        x = ops.pad(x, [[0, 0], [self.pad, self.pad + row * self.n_rows],
                        [0, 0]])[:, :length]
        y = ops.conv(ops.reshape(x, (b, -1, row * c)), kernel)
        y = ops.max(ops.reshape(y, (b, windows, self.pool,
                                    kernel.shape[-1] // self.pool)),
                    axis=2) + bias
        return ops.relu(y) if self.relu else y


def _pool(x, size):
    return ops.max_pool(x, size, size)


class ConvPlan:
    """The folded trunk of ``model`` from the input to ``layer``.

    Args:
        model: a Keras model built by this package (any backend).
        spec: its spec (name or dict).
        layer: a convolution (post-ReLU), pool or conv head of the trunk,
            or a list of them, computed in one pass (:meth:`run` then
            returns a list, in that order).
    """

    def __init__(self, model, spec, layer):
        rows = plan_rows(spec, layer)
        if rows is None:
            raise ValueError(f"{layer!r} is not in the convolutional trunk "
                             f"of {get_spec(spec)['name']}")
        self._single = isinstance(layer, str)
        self.layers = [layer] if self._single else list(layer)
        self.steps, self._compiled = [], None
        i = 0
        while i < len(rows):
            row = rows[i]
            nxt = rows[i + 1] if i + 1 < len(rows) else None
            if row["kind"] == "pool":
                step = ("pool", row["size"])
            elif (i == 0 and nxt is not None and nxt["kind"] == "pool"
                  and row["name"] not in self.layers):
                step = ("conv", _Conv(row, pool=nxt["size"]))
                i += 1
            else:
                step = ("conv", _Conv(row))
            # Steps: (kind, step, output name, whether the next reads it).
            self.steps.append((*step, rows[i]["name"],
                               rows[i]["kind"] != "head"))
            i += 1
        # Read on every call: the plan follows a model trained further.
        self.variables = [v for kind, step, _, _ in self.steps
                          if kind == "conv" for v in step.variables(model)]

    def _forward(self, x, variables):
        h = ops.expand_dims(x, -1)
        variables = iter(variables)
        out = {}
        for kind, step, name, chained in self.steps:
            y = (_pool(h, step) if kind == "pool" else
                 step(h, [next(variables) for _ in range(step.n_variables)]))
            out[name] = y
            h = y if chained else h
        return [out[name] for name in self.layers]

    def run(self, x):
        """``(batch, samples)`` scaled input -> ``(batch, frames,
        channels)``, or a list of them for a list of layers."""
        if self._compiled is None:
            self._compiled = compile_function(self._forward)
        x = ops.convert_to_tensor(np.asarray(x, np.float32))
        out = [ops.convert_to_numpy(y) for y in self._compiled(
            x, [v.value for v in self.variables])]
        return out[0] if self._single else out


def compile_function(fn):
    """``fn`` (of arrays) compiled the backend's way: ``tf.function`` (one
    graph, relaxed to any input shape), ``jax.jit`` (one per shape), or
    eager PyTorch without gradients."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf
        return tf.function(fn, reduce_retracing=True)
    if backend == "jax":
        import jax
        return jax.jit(fn)
    if backend == "torch":
        import torch

        def run(*args):
            with torch.no_grad():
                return fn(*args)
        return run
    return fn
