"""The CTC-RNN of Wang & Metze (2017): one bidirectional ReLU LSTM.

Input: ``(batch, T, D)`` frame features (``D`` fixed at build time) and an
optional boolean mask ``(batch, T)`` of valid frames. Output: ``(batch, T,
2n + 1)`` logits over the boundary-token vocabulary of :mod:`sed.tokens`
(blank 0, onset of class ``k`` ``2k + 1``, offset ``2k + 2``); the CTC loss
(:func:`sed.ctc.ctc_loss`) takes the logits, decoding takes their softmax
(:meth:`CTCRNN.probabilities`).

Reference: Wang & Metze, "A Transfer Learning Based Feature Extractor for
Polyphonic Sound Event Detection Using Connectionist Temporal
Classification", Interspeech 2017, Sections 2.1 and 3.2.
"""

import keras
import tensorflow as tf


def lengths_to_mask(lengths, frames):
    """A ``(batch, frames)`` boolean mask, True on the first ``lengths[b]``
    frames of each sequence.

    Example:
        >>> lengths_to_mask([2, 0], 3).numpy().tolist()
        [[True, True, False], [False, False, False]]
    """
    return tf.sequence_mask(lengths, frames)


@keras.saving.register_keras_serializable(package="sed")
class ClippedReLU:
    """The bounded ReLU ``min(max(x, 0), max_value)`` (a callable).

    Example:
        >>> ClippedReLU(2.0)(np.array([-1.0, 1.0, 5.0])).numpy().tolist()
        [0.0, 1.0, 2.0]
    """

    def __init__(self, max_value):
        self.max_value = float(max_value)

    def __call__(self, x):
        return keras.activations.relu(x, max_value=self.max_value)

    def get_config(self):
        return {"max_value": self.max_value}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="sed")
class CTCRNN(keras.Model):
    """One bidirectional LSTM and a dense layer to ``2n + 1`` logits.

    As in the paper: 400 units per direction, the ReLU non-linearity (cell
    input and cell output; the gates stay sigmoid; :mod:`sed.train` uses
    tanh by default, because the ReLU network diverges there), Glorot
    uniform kernel *and* recurrent weights (Keras' LSTM defaults to an
    orthogonal recurrent matrix), forget-gate bias 1 (other biases 0),
    and a dense output layer
    (Glorot uniform, bias 0) over the vocabulary. Keras initialises each
    LSTM matrix as one ``(fan_in, 4 * units)`` block, so the Glorot bound
    is ``sqrt(6 / (fan_in + 4 * units))``.

    Padded frames are masked: pass ``mask`` (or build it from lengths with
    :func:`lengths_to_mask`); the backward direction of each sequence then
    starts at its own last valid frame, so the valid frames' outputs equal
    those of the unpadded sequence. Outputs at masked frames are
    meaningless.

    Layers: ``blstm`` (``keras.layers.Bidirectional``, forward and backward
    outputs concatenated: ``2 * units``) and ``logits`` (``Dense(2n + 1)``);
    :meth:`probabilities` applies the softmax.

    Args:
        n_classes: the number of event types ``n`` (17 in the paper).
        units: LSTM units per direction (400 in the paper).
        input_dim: the feature dimension ``D``; when given the model is
            built at once (else on its first call).
        activation: the LSTM's cell non-linearity (``"relu"`` in the paper,
            ``"tanh"`` in :data:`sed.train.DEFAULTS`).
        relu_max: with ``activation="relu"``, bound the ReLU at this value
            (:class:`ClippedReLU`); None: unbounded, as in the paper.
        name: the model's name.

    Example:
        >>> import numpy as np
        >>> model = CTCRNN(n_classes=2, units=8, input_dim=5)
        >>> x = np.zeros((1, 7, 5), "float32")
        >>> model(x).shape
        TensorShape([1, 7, 5])
        >>> probs = model.probabilities(x, lengths_to_mask([4], 7))
        >>> np.allclose(probs.numpy().sum(-1), 1.0)
        True
    """

    def __init__(self, n_classes=17, units=400, input_dim=None,
                 activation="relu", relu_max=None, name="ctc_rnn", **kwargs):
        super().__init__(name=name, **kwargs)
        if n_classes < 1 or units < 1:
            raise ValueError("n_classes and units must be positive. "
                             f"Received: n_classes={n_classes}, "
                             f"units={units}")
        self.n_classes = int(n_classes)
        self.units = int(units)
        self.input_dim = None if input_dim is None else int(input_dim)
        self.activation = activation
        self.relu_max = None if relu_max is None else float(relu_max)
        if self.relu_max is not None and activation != "relu":
            raise ValueError("relu_max bounds the ReLU: use it with "
                             f"activation='relu'. Received: {activation!r}")
        self.vocabulary_size = 2 * self.n_classes + 1
        cell_activation = activation if self.relu_max is None else \
            ClippedReLU(self.relu_max)
        lstm = keras.layers.LSTM(
            self.units, activation=cell_activation,
            recurrent_activation="sigmoid",
            kernel_initializer="glorot_uniform",
            recurrent_initializer="glorot_uniform",
            bias_initializer="zeros", unit_forget_bias=True,
            return_sequences=True, name="lstm")
        self.blstm = keras.layers.Bidirectional(lstm, merge_mode="concat",
                                                name="blstm")
        self.logits = keras.layers.Dense(
            self.vocabulary_size, kernel_initializer="glorot_uniform",
            bias_initializer="zeros", name="logits")
        if self.input_dim is not None:
            self.build((None, None, self.input_dim))

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if self.input_dim is None:
            self.input_dim = int(input_shape[-1])
        elif input_shape[-1] is not None and \
                int(input_shape[-1]) != self.input_dim:
            raise ValueError(f"{self.name} expects {self.input_dim}-d "
                             f"features. Received shape {input_shape}")
        self.blstm.build((None, None, self.input_dim))
        self.logits.build((None, None, 2 * self.units))
        self.built = True

    def call(self, features, mask=None, training=False):
        """Logits ``(batch, T, 2n + 1)`` of ``features (batch, T, D)``."""
        dim = features.shape[-1]
        if dim is not None and self.input_dim is not None and \
                int(dim) != self.input_dim:
            raise ValueError(f"{self.name} expects {self.input_dim}-d "
                             f"features. Received shape {features.shape}")
        hidden = self.blstm(features, mask=mask, training=training)
        return self.logits(hidden)

    def compute_mask(self, inputs, mask=None):
        return None   # the logits carry no Keras mask: losses take lengths

    def probabilities(self, features, mask=None):
        """The softmax over the vocabulary, ``(batch, T, 2n + 1)``."""
        return keras.ops.softmax(self(features, mask=mask), axis=-1)

    def get_config(self):
        return dict(name=self.name, n_classes=self.n_classes,
                    units=self.units, input_dim=self.input_dim,
                    activation=self.activation, relu_max=self.relu_max)


__all__ = ["CTCRNN", "ClippedReLU", "lengths_to_mask"]
