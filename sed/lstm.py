"""The CTC-RNN's bidirectional LSTM, fused for speed on CPUs.

:class:`BiLSTM` computes what ``keras.layers.Bidirectional(LSTM(units))``
computes (outputs of the two directions concatenated; a mask's padded frames
never reach the valid ones), with the cell of the paper's recipe chosen by
name (:data:`CELLS`), but in the shape that makes a training step cheap:

* the input projections of every frame and both directions are one matmul
  (``(B T, D) x (D, 2 x 4U)``);
* one ``tf.while_loop`` runs both directions at once (the backward direction
  reads each sequence reversed within its own length, so padding comes last
  in both and needs no masking inside the loop): a batched matmul
  ``(2, B, U) x (2, U, 4U)`` per frame;
* the backward pass through time is written by hand
  (:func:`recurrence`'s ``tf.custom_gradient``): it keeps the gates of the
  forward pass, computes every factor that does not depend on the incoming
  gradient for all frames at once, runs one small matmul per frame (with the
  kernel transposed once, outside the loop), and forms the recurrent
  weights' gradient afterwards as one large matmul over all frames.

The math is the LSTM's (gates ``i, f, o`` sigmoid; Keras' gate order
``i, f, g, o`` in the weights):

    c_t = f * c_{t-1} + i * act(g),    h_t = o * out(c_t)

with ``(act, out)`` = ``(tanh, tanh)`` for cell ``"tanh"`` (Keras' default
LSTM), ``(relu, relu)`` for ``"relu"`` (Keras' ``activation="relu"``, which
acts on both) and ``(relu, tanh)`` for ``"relu_g"`` (ReLU on the cell input
only, the output ``o * tanh(c)``). ``relu_max`` bounds the ReLU(s).

Initialisation (the paper: Glorot uniform, forget-gate bias 1, other biases
0): ``glorot="fused"`` draws each direction's input and recurrent matrix as
one ``(fan_in, 4U)`` block, as Keras does (bound ``sqrt(6 / (fan_in +
4U))``); ``glorot="per_gate"`` draws each gate's ``(fan_in, U)`` block on
its own (bound ``sqrt(6 / (fan_in + U))``, 1.6-1.9x larger here), as
Theano-era toolkits that keep one matrix per gate (e.g. Lasagne's
``LSTMLayer`` with ``Gate(W_in=GlorotUniform())``) did. The paper does not
say which; ``"fused"`` is the default because it is what the project used
so far.

Example:
    >>> layer = BiLSTM(3, cell="relu_g")
    >>> x = np.zeros((2, 5, 4), "float32")
    >>> layer(x, mask=tf.sequence_mask([5, 2], 5)).shape
    TensorShape([2, 5, 6])
"""

import keras
import numpy as np
import tensorflow as tf

#: The cells: name -> (activation of the cell input g, of the output).
CELLS = {"tanh": ("tanh", "tanh"), "relu": ("relu", "relu"),
         "relu_g": ("relu", "tanh")}

GLOROT = ("fused", "per_gate")


def _activation(name, relu_max):
    """``(f, df)``: the function and its derivative from its *output*."""
    if name == "tanh":
        return tf.tanh, lambda y: 1.0 - tf.square(y)
    if relu_max is None:
        return tf.nn.relu, lambda y: tf.cast(y > 0, y.dtype)
    bound = float(relu_max)
    return (lambda x: tf.clip_by_value(x, 0.0, bound),
            lambda y: tf.cast((y > 0) & (y < bound), y.dtype))


def _dim(tensor, axis):
    """A dimension, static where known (XLA needs static loop sizes)."""
    return tensor.shape[axis] if tensor.shape[axis] is not None \
        else tf.shape(tensor)[axis]


def recurrence(inputs, recurrent_kernel, cell="tanh", relu_max=None,
               keep_gates=True):
    """Runs LSTM cells over time, several independent ones at once.

    Args:
        inputs: ``(T, K, B, 4U)``: the input projections plus biases of
            ``K`` cells (e.g. the two directions) at each frame, gates in
            Keras' order ``i, f, g, o``.
        recurrent_kernel: ``(K, U, 4U)``.
        cell: a name in :data:`CELLS`.
        relu_max: bound of the ReLU (None: unbounded).
        keep_gates: keep the gates for the hand-written backward pass
            (training); False: a plain loop that keeps only the outputs
            (inference; differentiable by automatic differentiation).

    Returns:
        The outputs ``h``, ``(T, K, B, U)``, starting from zero states; the
        gradient is computed by a hand-written backward pass through time.

    Example:
        >>> out = recurrence(tf.zeros([3, 2, 1, 8]), tf.zeros([2, 2, 8]))
        >>> out.shape, float(tf.reduce_max(tf.abs(out)))
        (TensorShape([3, 2, 1, 2]), 0.0)
    """
    if cell not in CELLS:
        raise ValueError(f"Unknown cell {cell!r}. Known cells: "
                         f"{', '.join(CELLS)}")
    act, dact = _activation(CELLS[cell][0], relu_max)
    out, dout = _activation(CELLS[cell][1], relu_max)

    def step(z, h, c, kernel):
        z = z + tf.matmul(h, kernel)
        i, f, g, o = tf.split(z, 4, axis=-1)
        i, f, o = tf.sigmoid(i), tf.sigmoid(f), tf.sigmoid(o)
        g = act(g)
        c = f * c + i * g
        return o * out(c), c, (i, f, g, o)

    def setup(inputs, kernel):
        steps, units = _dim(inputs, 0), _dim(kernel, 1)
        zeros = tf.zeros([_dim(inputs, 1), _dim(inputs, 2), units],
                         inputs.dtype)
        return steps, units, zeros, lambda: tf.TensorArray(
            inputs.dtype, size=steps)

    def plain(inputs, kernel):
        steps, _, zeros, array = setup(inputs, kernel)

        def forward(t, h, c, hs):
            h, c, _ = step(inputs[t], h, c, kernel)
            return t + 1, h, c, hs.write(t, h)

        return tf.while_loop(lambda t, *_: t < steps, forward,
                             (0, zeros, zeros, array()))[-1].stack()

    @tf.custom_gradient
    def run(inputs, kernel):
        steps, units, zeros, array = setup(inputs, kernel)

        def forward(t, h, c, hs, gates, cells):
            h, c, gate_values = step(inputs[t], h, c, kernel)
            return (t + 1, h, c, hs.write(t, h),
                    gates.write(t, tf.concat(gate_values, -1)),
                    cells.write(t, c))

        _, _, _, hs, gates, cells = tf.while_loop(
            lambda t, *_: t < steps, forward,
            (0, zeros, zeros, array(), array(), array()))
        hs, gates, cells = hs.stack(), gates.stack(), cells.stack()

        def grad(dhs):
            # Everything that does not depend on the incoming gradient is
            # computed for all frames at once; the loop keeps the recurrence.
            cells_prev = tf.concat([zeros[None], cells[:-1]], 0)
            i, f, g, o = tf.split(gates, 4, axis=-1)
            y = out(cells)
            # dz = [dc, dc, dc, dh] * scale, dc = dc_next + dh * dc_dh
            scale = tf.concat([g * i * (1 - i), cells_prev * f * (1 - f),
                               i * dact(g), y * o * (1 - o)], -1)
            dc_dh = o * dout(y)
            # Transposed once here: a transposed operand inside the loop
            # costs XLA a copy of the kernel per frame (1.8x the loop time).
            kernel_t = tf.transpose(kernel, [0, 2, 1])

            def backward(t, dh_next, dc_next, dzs):
                dh = dhs[t] + dh_next
                dc = dc_next + dh * dc_dh[t]
                dz = tf.concat([dc, dc, dc, dh], -1) * scale[t]
                return (t - 1, tf.matmul(dz, kernel_t), dc * f[t],
                        dzs.write(t, dz))

            _, _, _, dzs = tf.while_loop(
                lambda t, *_: t >= 0, backward,
                (steps - 1, zeros, zeros, array()))
            dz = dzs.stack()                                # (T, K, B, 4U)
            h_prev = tf.concat([zeros[None], hs[:-1]], 0)   # (T, K, B, U)
            k = tf.shape(dz)[1]
            dkernel = tf.matmul(
                tf.reshape(tf.transpose(h_prev, [1, 0, 2, 3]),
                           [k, -1, units]),
                tf.reshape(tf.transpose(dz, [1, 0, 2, 3]),
                           [k, -1, 4 * units]), transpose_a=True)
            return dz, dkernel

        return hs, grad

    return (run if keep_gates else plain)(
        tf.convert_to_tensor(inputs), tf.convert_to_tensor(recurrent_kernel))


def glorot_uniform(shape, gates=4, per_gate=False):
    """Glorot-uniform ``(..., fan_in, gates x U)`` matrices.

    Fused: one bound ``sqrt(6 / (fan_in + gates U))`` over the whole matrix
    (Keras' LSTM). Per gate: ``sqrt(6 / (fan_in + U))``, each gate's block
    a Glorot matrix of its own.
    """
    fan_in, fan_out = shape[-2], shape[-1]
    if per_gate:
        fan_out //= gates
    limit = float(np.sqrt(6.0 / (fan_in + fan_out)))
    return keras.random.uniform(shape, -limit, limit)


@keras.saving.register_keras_serializable(package="sed")
class BiLSTM(keras.layers.Layer):
    """A bidirectional LSTM layer with a fused input projection, both
    directions in one loop and a hand-written backward pass.

    Outputs ``(B, T, 2U)``: the forward direction's ``h`` then the backward
    direction's, as ``keras.layers.Bidirectional(LSTM(U,
    return_sequences=True))`` with ``merge_mode="concat"``. With ``mask``
    (``(B, T)``, True on valid frames, a prefix of each row) the backward
    direction starts at each sequence's last valid frame; outputs at padded
    frames are meaningless.

    Weights (direction 0 forward, 1 backward; gates ``i, f, g, o``):
    ``kernel (2, D, 4U)``, ``recurrent_kernel (2, U, 4U)``, ``bias (2, 4U)``.

    Args:
        units: units per direction.
        cell: ``"tanh"``, ``"relu"`` or ``"relu_g"`` (:data:`CELLS`).
        relu_max: bound the ReLU(s) at this value (None: unbounded).
        glorot: ``"fused"`` or ``"per_gate"`` (see the module docstring).
    """

    def __init__(self, units, cell="tanh", relu_max=None, glorot="fused",
                 **kwargs):
        super().__init__(**kwargs)
        if cell not in CELLS:
            raise ValueError(f"Unknown cell {cell!r}. Known cells: "
                             f"{', '.join(CELLS)}")
        if glorot not in GLOROT:
            raise ValueError(f"glorot must be one of {', '.join(GLOROT)}. "
                             f"Received {glorot!r}")
        if relu_max is not None and CELLS[cell][0] != "relu":
            raise ValueError("relu_max bounds the ReLU: use it with a ReLU "
                             f"cell. Received cell={cell!r}")
        self.units, self.cell, self.glorot = int(units), cell, glorot
        self.relu_max = None if relu_max is None else float(relu_max)
        self.supports_masking = True

    def build(self, input_shape):
        dim, units = int(input_shape[-1]), self.units
        per_gate = self.glorot == "per_gate"
        self.kernel = self.add_weight(
            name="kernel", shape=(2, dim, 4 * units),
            initializer=lambda shape, dtype=None: glorot_uniform(
                shape, per_gate=per_gate))
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel", shape=(2, units, 4 * units),
            initializer=lambda shape, dtype=None: glorot_uniform(
                shape, per_gate=per_gate))
        forget = np.zeros((2, 4 * units), "float32")
        forget[:, units:2 * units] = 1.0
        self.bias = self.add_weight(
            name="bias", shape=(2, 4 * units),
            initializer=keras.initializers.Constant(forget))

    def call(self, inputs, mask=None, training=False):
        batch, frames = tf.shape(inputs)[0], tf.shape(inputs)[1]
        dim, units = self.kernel.shape[1], self.units
        if mask is None:
            lengths = tf.fill([batch], frames)
        else:
            lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
        # time-major; the backward direction reads each sequence reversed
        # within its length, so padding comes last in both directions
        x = tf.transpose(inputs, [1, 0, 2])                     # (T, B, D)
        x = (x, tf.reverse_sequence(x, lengths, 0, 1))
        z = [tf.reshape(tf.matmul(tf.reshape(x[d], [-1, dim]),
                                  self.kernel[d]) + self.bias[d],
                        [frames, 1, batch, 4 * units]) for d in (0, 1)]
        if training:   # one loop, the hand-written backward pass
            h = recurrence(tf.concat(z, axis=1), self.recurrent_kernel,
                           self.cell, self.relu_max)
        else:   # two independent loops, which the executor runs in parallel
            h = tf.concat([recurrence(z[d], self.recurrent_kernel[d:d + 1],
                                      self.cell, self.relu_max,
                                      keep_gates=False) for d in (0, 1)],
                          axis=1)                               # (T, 2, B, U)
        h = tf.concat([h[:, 0], tf.reverse_sequence(h[:, 1], lengths, 0, 1)],
                      axis=-1)                               # (T, B, 2U)
        return tf.transpose(h, [1, 0, 2])

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 2 * self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "cell": self.cell, "relu_max": self.relu_max,
                "glorot": self.glorot}


__all__ = ["BiLSTM", "CELLS", "GLOROT", "glorot_uniform", "recurrence"]
