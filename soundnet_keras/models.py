"""Model factories: the named models of the paper, with their weights."""

from .builder import build
from .specs import snf_spec, snr_spec
from .weights import PRESETS, load_into, resolve_weights


def SoundNet8(include_top=True, weights="soundnet8_flickr",
              input_shape=(None, 1), pooling=None, name="soundnet8"):
    """The original 8-layer SoundNet (22,050 Hz), optionally pretrained.

    Exactly the released network: symmetric zero padding, batch norm with
    epsilon 1e-5, floor-mode max-pooling, heads ``conv8`` (1000 objects) and
    ``conv8_2`` (401 places) with kernel 8. Input: a waveform at 22,050 Hz
    scaled to [-256, 256] (see :func:`soundnet_keras.preprocess_input`),
    shaped ``(batch, time, 1)``.

    Args:
        include_top: with the top, the outputs are ``[objects (T, 1000),
            places (T, 401)]``, each a softmax; without, conv7's activations.
        weights: ``"soundnet8_flickr"`` (the released weights), ``None``
            (random initialisation), or the path to a ``.weights.h5`` file.
        input_shape: ``(time, 1)``; ``time`` may be ``None``.
        pooling: without the top, ``None``, ``"avg"`` or ``"max"`` over time.
        name: the model's name.

    Returns:
        A ``keras.Model``.

    Reference: Aytar, Vondrick & Torralba, "SoundNet: Learning Sound
    Representations from Unlabeled Video", NIPS 2016.

    Example:
        >>> model = SoundNet8(weights=None)
        >>> [o.shape for o in model.outputs]
        [(None, None, 1000), (None, None, 401)]
    """
    path = resolve_weights(weights, model="soundnet8")
    model = build("soundnet8", include_top=include_top,
                  input_shape=input_shape, pooling=pooling, name=name)
    if path is not None:
        load_into(model, path)
    return model


def SoundNetF(weights=None, activation="tanh", include_top=True,
              input_shape=(None, 1), name="snf"):
    """SN-F (Table 2): SoundNet's convolutions at 16 kHz, three per-frame
    fully connected layers (``fc1``-``fc3``, 100 units) and two softmax
    heads (``objects`` 1000, ``places`` 401) at 10 Hz.

    Args:
        weights: ``None`` (random), a preset trained by this project, or a
            path to a ``.weights.h5`` file.
        activation: of fc1-fc3 (the paper: tanh; it made no difference).
        include_top: with the heads, or ending at fc3.
        input_shape: ``(time, 1)`` at 16,000 Hz, scaled like SoundNet-8's.
        name: the model's name.

    Reference: Wang & Metze, Interspeech 2017, Section 2.2 and Table 2.

    Example:
        >>> model = SoundNetF()
        >>> tuple(model(np.zeros((1, 320000, 1), "float32"))[0].shape)
        (1, 200, 1000)
    """
    path = resolve_weights(weights, model="snf")
    model = build(snf_spec(activation), include_top=include_top,
                  input_shape=input_shape, name=name)
    if path is not None:
        load_into(model, path)
    return model


def SoundNetR(weights=None, cell=None, batch_norm=None, include_top=True,
              input_shape=(None, 1), name=None, activation=None):
    """SN-R (Table 3): SN-F's convolutions, then three bidirectional
    recurrent layers (``gru1``-``gru3`` or ``lstm1``-``lstm3``, 100 units
    per direction, ReLU), each followed by batch norm over its whole output
    (``gru1_bn``...), and the two softmax heads at 10 Hz.

    Args:
        weights: ``None`` (random), a preset trained by this project, or a
            path to a ``.weights.h5`` file.
        cell: ``"gru"`` or ``"lstm"``; default: the preset's, else GRU.
        batch_norm: batch norm after each recurrent layer; default: the
            preset's, else True.
        include_top: with the heads, or ending at the third recurrent layer.
        input_shape: ``(time, 1)`` at 16,000 Hz.
        name: the model's name (default ``snr`` or ``snr_lstm``).
        activation: of the recurrent cells; default: the preset's, else
            ReLU as in the paper.

    Reference: Wang & Metze, Interspeech 2017, Section 2.2 and Table 3.

    Example:
        >>> model = SoundNetR(cell="lstm")
        >>> [l.name for l in model.layers if l.name.startswith("lstm1")]
        ['lstm1', 'lstm1_bn']
    """
    preset = PRESETS.get(weights, {}) if isinstance(weights, str) else {}
    config = dict(dict(cell="gru", batch_norm=True, activation="relu"),
                  **preset.get("config", {}))
    cell = config["cell"] if cell is None else cell
    batch_norm = config["batch_norm"] if batch_norm is None else batch_norm
    activation = config["activation"] if activation is None else activation
    spec = snr_spec(cell, batch_norm, activation)
    path = resolve_weights(weights, model=spec["name"])
    model = build(spec, include_top=include_top, input_shape=input_shape,
                  name=name or spec["name"])
    if path is not None:
        load_into(model, path)
    return model


__all__ = ["SoundNet8", "SoundNetF", "SoundNetR", "PRESETS"]
