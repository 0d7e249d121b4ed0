"""Model factories: the named models of the paper, with their weights."""

from .builder import build
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


__all__ = ["SoundNet8", "PRESETS"]
