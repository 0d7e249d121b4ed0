"""One builder: turns a spec table (:mod:`soundnet_keras.specs`) into a Keras model."""

import keras
from keras import layers

from .specs import BN_EPSILON, get_spec

POOLINGS = (None, "avg", "max")
# Batch statistics over all replicas under tf.distribute (training); Keras
# offers synchronized batch norm on the TensorFlow backend only, and the
# other backends neither need nor accept it (inference is identical).
_SYNC = keras.backend.backend() == "tensorflow"


def _conv_block(x, row):
    name = row["name"]
    if row.get("pad"):
        x = layers.ZeroPadding1D(row["pad"], name=f"{name}_pad")(x)
    x = layers.Conv1D(row["filters"], row["kernel"], strides=row["stride"],
                      padding="valid", name=name)(x)
    if row["kind"] == "conv":
        # Torch's running statistics use momentum 0.1, Keras' convention 0.9.
        x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=0.9,
                                      synchronized=_SYNC, name=f"{name}_bn")(x)
        x = layers.ReLU(name=f"{name}_relu")(x)
    return x


def _rnn_block(x, row):
    cell = {"gru": layers.GRU, "lstm": layers.LSTM}[row["cell"]]
    x = layers.Bidirectional(
        cell(row["units"], activation=row.get("activation", "relu"),
             return_sequences=True),
        merge_mode="concat", name=row["name"])(x)
    if row["bn"]:
        # Batch norm over the whole recurrent output, after the recurrence.
        x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=0.9,
                                      synchronized=_SYNC,
                                      name=f"{row['name']}_bn")(x)
    return x


def _head(x, row):
    if "kernel" in row:
        logits = _conv_block(x, row)
    else:
        logits = layers.Dense(row["filters"], name=row["name"])(x)
    return layers.Softmax(name=row["output"])(logits)


def build(model, include_top=True, input_shape=(None, 1), pooling=None,
          name=None):
    """Builds the Keras model of a spec (no weights loaded).

    Args:
        model: a spec name (``"soundnet8"``, ``"snf"``, ``"snr"``,
            ``"snr_lstm"``) or spec dict.
        include_top: with the top, the outputs are the softmax heads
            (``objects``, ``places``); without, the last trunk activation.
        input_shape: ``(time, 1)``; ``time`` may be ``None``.
        pooling: without the top, ``None``, ``"avg"`` or ``"max"`` over time.
        name: the model's name (default: the spec's name).

    Returns:
        A ``keras.Model``.

    Example:
        >>> build("soundnet8", include_top=False).output.shape
        (None, None, 1024)
    """
    spec = get_spec(model)
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}. "
                         f"Received: pooling={pooling!r}")
    if include_top and pooling is not None:
        raise ValueError("pooling applies only with include_top=False. "
                         f"Received: pooling={pooling!r}")
    inputs = keras.Input(shape=tuple(input_shape), name="waveform")
    x = inputs
    outputs = []
    for row in spec["layers"]:
        if row["kind"] == "conv":
            x = _conv_block(x, row)
        elif row["kind"] == "pool":
            x = layers.MaxPooling1D(row["size"], strides=row["stride"],
                                    padding="valid", name=row["name"])(x)
        elif row["kind"] == "dense":
            x = layers.Dense(row["units"], activation=row["activation"],
                             name=row["name"])(x)
        elif row["kind"] == "rnn":
            x = _rnn_block(x, row)
        elif row["kind"] == "head":
            if include_top:
                outputs.append(_head(x, row))
        else:
            raise ValueError(f"Unknown layer kind {row['kind']!r}")
    if not include_top:
        if pooling == "avg":
            x = layers.GlobalAveragePooling1D(name="avg_pool")(x)
        elif pooling == "max":
            x = layers.GlobalMaxPooling1D(name="max_pool")(x)
        outputs = x
    return keras.Model(inputs, outputs, name=name or spec["name"])
