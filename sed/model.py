"""The CTC-RNN of Wang & Metze (2017): one bidirectional LSTM.

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
import numpy as np
import tensorflow as tf

from .lstm import CELLS, BiLSTM


def lengths_to_mask(lengths, frames):
    """A ``(batch, frames)`` boolean mask, True on the first ``lengths[b]``
    frames of each sequence.

    Example:
        >>> lengths_to_mask([2, 0], 3).numpy().tolist()
        [[True, True, False], [False, False, False]]
    """
    return tf.sequence_mask(lengths, frames)


@keras.saving.register_keras_serializable(package="sed")
class CTCRNN(keras.Model):
    """One bidirectional LSTM and a dense layer to ``2n + 1`` logits.

    As in the paper: 400 units per direction, an LSTM with the ReLU
    non-linearity (``activation``: ``"relu_g"``, ReLU on the cell input and
    the output ``o * tanh(c)``, is the reading that trains at the paper's
    lr 3.0; ``"relu"`` puts ReLU on both, as Keras' ``activation="relu"``;
    ``"tanh"`` is the usual LSTM; the gates stay sigmoid), Glorot uniform
    kernel *and* recurrent weights (fused over the four gates or per gate:
    ``glorot``), forget-gate bias 1 (other biases 0), and a dense output
    layer (Glorot uniform, bias 0) over the vocabulary.

    Padded frames are masked: pass ``mask`` (or build it from lengths with
    :func:`lengths_to_mask`); the backward direction of each sequence then
    starts at its own last valid frame, so the valid frames' outputs equal
    those of the unpadded sequence. Outputs at masked frames are
    meaningless.

    Layers: ``blstm`` (:class:`sed.lstm.BiLSTM`, forward and backward
    outputs concatenated: ``2 * units``) and ``logits`` (``Dense(2n + 1)``);
    :meth:`probabilities` applies the softmax. :meth:`keras_blstm` gives the
    recurrent layer as a plain ``keras.layers.Bidirectional(LSTM)`` (cells
    ``tanh`` and ``relu``).

    Args:
        n_classes: the number of event types ``n`` (17 in the paper).
        units: LSTM units per direction (400 in the paper).
        input_dim: the feature dimension ``D``; when given the model is
            built at once (else on its first call).
        activation: the cell, a name in :data:`sed.lstm.CELLS`.
        relu_max: with a ReLU cell, bound the ReLU at this value; None:
            unbounded, as in the paper.
        glorot: ``"fused"`` (Keras' way) or ``"per_gate"``.
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
                 activation="relu_g", relu_max=None, glorot="fused",
                 name="ctc_rnn", **kwargs):
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
        self.glorot = glorot
        self.vocabulary_size = 2 * self.n_classes + 1
        self.blstm = BiLSTM(self.units, cell=activation,
                            relu_max=self.relu_max, glorot=glorot,
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
                    activation=self.activation, relu_max=self.relu_max,
                    glorot=self.glorot)

    def keras_blstm(self):
        """The recurrent layer as ``keras.layers.Bidirectional(LSTM)`` with
        the same weights (cells ``"tanh"`` and ``"relu"``, unbounded: the
        ones Keras' LSTM offers). Call it with the same ``mask``.

        Example:
            >>> model = CTCRNN(n_classes=1, units=3, input_dim=2,
            ...                activation="tanh")
            >>> x = np.random.default_rng(0).normal(size=(1, 4, 2))
            >>> np.allclose(model.keras_blstm()(x), model.blstm(x),
            ...             atol=1e-6)
            True
        """
        if self.activation not in ("tanh", "relu") or self.relu_max:
            raise ValueError("Keras' LSTM has no cell "
                             f"{self.activation!r} (relu_max "
                             f"{self.relu_max}): only 'tanh' and 'relu'")
        lstm = keras.layers.LSTM(self.units, activation=self.activation,
                                 return_sequences=True)
        layer = keras.layers.Bidirectional(lstm, merge_mode="concat")
        layer.build((None, None, self.input_dim))
        kernel, recurrent, bias = (np.asarray(v) for v in (
            self.blstm.kernel, self.blstm.recurrent_kernel,
            self.blstm.bias))
        for d, direction in enumerate((layer.forward_layer,
                                       layer.backward_layer)):
            direction.set_weights([kernel[d], recurrent[d], bias[d]])
        return layer


__all__ = ["CELLS", "CTCRNN", "lengths_to_mask"]
