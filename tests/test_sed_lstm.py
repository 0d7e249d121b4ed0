"""The fused BiLSTM against a NumPy LSTM (forward and gradients) and against
Keras' Bidirectional(LSTM), the implementation it replaced (loss and
gradients of the whole hinted-CTC training loss)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from sed.lstm import CELLS, BiLSTM, recurrence
from sed.model import CTCRNN, lengths_to_mask
from sed.train import frame_loss


def numpy_bilstm(x, lengths, kernel, recurrent, bias, cell, relu_max=None):
    """Float64 BiLSTM: ``(B, T, 2U)`` outputs, zero on padded frames."""
    def relu(v):
        return np.clip(v, 0, np.inf if relu_max is None else relu_max)

    act = {"tanh": np.tanh, "relu": relu}
    g_act, out_act = (act[name] for name in CELLS[cell])
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    batch, frames, _ = x.shape
    units = recurrent.shape[1]
    out = np.zeros((batch, frames, 2 * units))
    for b in range(batch):
        n = lengths[b]
        for d, order in enumerate((range(n), reversed(range(n)))):
            h, c = np.zeros(units), np.zeros(units)
            for t in order:
                z = x[b, t] @ kernel[d] + h @ recurrent[d] + bias[d]
                i, f, g, o = np.split(z, 4)
                c = sigmoid(f) * c + sigmoid(i) * g_act(g)
                h = sigmoid(o) * out_act(c)
                out[b, t, d * units:(d + 1) * units] = h
    return out


@pytest.mark.parametrize("cell,relu_max", [("tanh", None), ("relu", None),
                                           ("relu_g", None), ("relu", 0.7)])
def test_against_numpy_forward_and_gradients(cell, relu_max):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    batch, frames, dim, units = 3, 9, 4, 5
    layer = BiLSTM(units, cell=cell, relu_max=relu_max)
    layer.build((None, None, dim))
    # larger weights than Glorot's so that ReLUs and the bound are active
    for var in layer.weights:
        var.assign(rng.uniform(-0.6, 0.6, var.shape).astype("float32"))
    x = rng.normal(size=(batch, frames, dim)).astype("float32")
    lengths = np.array([9, 6, 1])
    mask = lengths_to_mask(lengths, frames).numpy()
    target = rng.normal(size=(batch, frames, 2 * units)) * mask[..., None]

    def np_loss(weights):
        return float((numpy_bilstm(x.astype(np.float64), lengths, *weights,
                                   cell, relu_max) * target).sum())

    with tf.GradientTape(persistent=True) as tape:
        out = layer(x, mask=mask, training=True)   # hand-written backward
        loss = tf.reduce_sum(out * target.astype("float32"))
        plain = layer(x, mask=mask)                # automatic differentiation
        plain_loss = tf.reduce_sum(plain * target.astype("float32"))
    grads = tape.gradient(loss, layer.weights)
    for got, want in zip(grads, tape.gradient(plain_loss, layer.weights)):
        np.testing.assert_allclose(got, want, rtol=1e-5,
                                   atol=1e-5 * np.abs(want).max())
    np.testing.assert_allclose(plain, out, rtol=1e-6, atol=1e-7)
    weights = [np.asarray(v, np.float64) for v in layer.weights]
    expected = numpy_bilstm(x.astype(np.float64), lengths, *weights, cell,
                            relu_max)
    np.testing.assert_allclose(np.asarray(out) * mask[..., None], expected,
                               rtol=1e-5, atol=1e-6)
    # directional derivatives: <grad, v> against central differences of
    # the float64 reference, one random direction per weight tensor
    eps = 1e-6
    for k, grad in enumerate(grads):
        v = rng.normal(size=weights[k].shape)
        plus = [w + eps * v if j == k else w for j, w in enumerate(weights)]
        minus = [w - eps * v if j == k else w for j, w in enumerate(weights)]
        numeric = (np_loss(plus) - np_loss(minus)) / (2 * eps)
        analytic = float(np.sum(np.asarray(grad, np.float64) * v))
        scale = np.sqrt(np.sum(np.asarray(grad, np.float64) ** 2) *
                        np.sum(v ** 2))
        assert abs(numeric - analytic) <= 1e-4 * scale, (k, numeric,
                                                          analytic)


def test_recurrence_rejects_unknown_cell():
    with pytest.raises(ValueError, match="Known cells: tanh, relu, relu_g"):
        recurrence(tf.zeros([1, 2, 1, 4]), tf.zeros([2, 1, 4]), "gru")
    with pytest.raises(ValueError, match="relu_max bounds the ReLU"):
        BiLSTM(3, cell="tanh", relu_max=1.0)


def _hinted_loss_and_grads(model, blstm, batch):
    mask = lengths_to_mask(batch["lengths"], batch["features"].shape[1])
    with tf.GradientTape() as tape:
        logits = model.logits(blstm(batch["features"], mask=mask,
                                    training=True))
        loss = frame_loss(logits, batch["lengths"], batch["labels"],
                          batch["label_length"], batch["label_frames"], 10)
    variables = blstm.trainable_variables + model.logits.trainable_variables
    return loss, tape.gradient(loss, variables)


@pytest.mark.parametrize("cell", ["tanh", "relu"])
def test_same_loss_and_gradients_as_keras_bidirectional(cell):
    """The training loss (hinted CTC per frame) and its gradient equal those
    of Keras' Bidirectional(LSTM) with the same weights, the network the
    engine replaced, to float32 precision."""
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    model = CTCRNN(n_classes=3, units=16, input_dim=6, activation=cell)
    frames = 40
    batch = dict(features=rng.normal(size=(3, frames, 6)).astype("float32"),
                 lengths=np.array([40, 33, 12], np.int32),
                 labels=np.array([[1, 2, 5, 6], [3, 4, 0, 0], [1, 0, 0, 0]],
                                 np.int32),
                 label_length=np.array([4, 2, 1], np.int32),
                 label_frames=np.array([[3, 10, 20, 30], [5, 25, 0, 0],
                                        [4, 0, 0, 0]], np.int32))
    loss, grads = _hinted_loss_and_grads(model, model.blstm, batch)
    reference = model.keras_blstm()
    ref_loss, ref_grads = _hinted_loss_and_grads(model, reference, batch)
    np.testing.assert_allclose(float(loss), float(ref_loss), rtol=1e-5)
    kernel, recurrent, bias = (np.asarray(g) for g in grads[:3])
    ref = [np.asarray(g) for g in ref_grads]   # forward k, r, b; backward
    fused = [kernel[0], recurrent[0], bias[0], kernel[1], recurrent[1],
             bias[1], *[np.asarray(g) for g in grads[3:]]]
    for got, want in zip(fused, ref):
        scale = np.abs(want).max()
        np.testing.assert_allclose(got, want, rtol=0, atol=2e-5 * scale)


def test_keras_blstm_refuses_cells_keras_lacks():
    with pytest.raises(ValueError, match="Keras' LSTM has no cell"):
        CTCRNN(n_classes=1, units=2, input_dim=2).keras_blstm()
