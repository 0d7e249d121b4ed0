"""The HEAR benchmark's common API for SoundNet-8 and the distilled students.

HEAR (Holistic Evaluation of Audio Representations) compares audio
representations through three functions, which this module provides:

* :func:`load_model` ``(model_file_path="")``: a model object with
  ``sample_rate``, ``scene_embedding_size`` and ``timestamp_embedding_size``;
* :func:`get_timestamp_embeddings` ``(audio, model)``: for ``audio`` of
  shape ``(n_sounds, n_samples)`` (mono, [-1, 1], at ``model.sample_rate``),
  ``(embeddings (n_sounds, n_frames, D), timestamps (n_sounds, n_frames))``,
  the timestamps in milliseconds at the centre of each frame's span of
  input (:func:`soundnet_keras.frame_times`);
* :func:`get_scene_embeddings` ``(audio, model)``: ``(n_sounds, D)``, the
  mean of the timestamp embeddings over time.

The embedding is one layer of the network (:data:`DEFAULT_LAYERS`:
SoundNet-8's conv5 at 10.77 Hz, the students' 10 Hz layers the paper's Table
4 reads best). Sounds too short for one frame are zero-padded to the
shortest length that gives one. The model is a ``tf.Module`` and the
functions take and return TensorFlow tensors (NumPy arrays are accepted).

Example:
    >>> import numpy as np
    >>> model = load_model("snr_scratch_pool")
    >>> model.sample_rate, model.timestamp_embedding_size
    (16000, 200)
    >>> emb, ts = get_timestamp_embeddings(np.zeros((2, 16000), "float32"),
    ...                                    model)
    >>> tuple(emb.shape), [round(float(t)) for t in ts[0][:2]]
    ((2, 10, 200), [6, 106])
"""

from pathlib import Path

import numpy as np
import tensorflow as tf

#: The layer each model embeds with.
DEFAULT_LAYERS = {"soundnet8": "conv5", "snf": "fc1", "snr": "gru1_bn",
                  "snr_lstm": "lstm1_bn"}


class SoundNetEmbedding(tf.Module):
    """A SoundNet model and the layer it embeds with (HEAR's model object).

    Attributes:
        sample_rate: the rate ``audio`` must have (Hz).
        scene_embedding_size, timestamp_embedding_size: the layer's width.
        layer: the layer; model: the Keras model; spec: its architecture.
    """

    def __init__(self, keras_model, spec, layer):
        super().__init__(name="soundnet_embedding")
        from .features import FeatureExtractor
        from .specs import get_spec
        self.model, self.spec, self.layer = keras_model, spec, layer
        self.extractor = FeatureExtractor(layer, keras_model)
        self.sample_rate = int(get_spec(spec)["sample_rate"])
        width = int(self.extractor(np.zeros(
            (1, self.min_samples), np.float32)).shape[-1])
        self.scene_embedding_size = self.timestamp_embedding_size = width

    @property
    def min_samples(self):
        from .specs import min_samples
        return int(min_samples(self.spec, self.layer))


def load_model(model_file_path="", layer=None):
    """The HEAR model object.

    Args:
        model_file_path: ``""`` for the released SoundNet-8
            (``soundnet8_flickr``, after ``soundnet-keras fetch-weights``),
            a preset name (:data:`soundnet_keras.PRESETS`, e.g.
            ``"snr_scratch_pool"``), a preset folder (``sk.save_preset``:
            a fine-tuned or distilled model of your own), or a SoundNet-8
            ``.weights.h5`` file.
        layer: the embedding layer (default :data:`DEFAULT_LAYERS`).
    """
    from .models import SoundNet8
    from .preset_folders import load_preset
    from .specs import feature_layers
    from .weights import PRESETS
    name = str(model_file_path or "soundnet8_flickr")
    if name in PRESETS:
        spec = PRESETS[name]["model"]
        keras_model = load_preset(name)
    elif Path(name).is_dir():
        from .weights import read_preset_folder
        spec = read_preset_folder(name)[0]["model"]   # refuses a non-preset
        keras_model = load_preset(name)
    elif Path(name).suffix == ".h5":
        spec, keras_model = "soundnet8", SoundNet8(weights=name)
    else:
        raise ValueError(f"load_model takes '' (SoundNet-8), a preset "
                         f"({', '.join(PRESETS)}), a preset folder or a "
                         f"SoundNet-8 .weights.h5 file. Received "
                         f"{model_file_path!r}")
    layer = layer or DEFAULT_LAYERS[spec]
    if layer not in feature_layers(spec):
        raise ValueError(f"{spec} has no feature layer {layer!r}. Layers: "
                         f"{', '.join(feature_layers(spec))}")
    return SoundNetEmbedding(keras_model, spec, layer)


def _sounds(audio, model):
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 2:
        raise ValueError(f"audio must be (n_sounds, n_samples); got shape "
                         f"{audio.shape}")
    if audio.shape[1] < model.min_samples:
        audio = np.pad(audio, ((0, 0), (0, model.min_samples -
                                        audio.shape[1])))
    return audio


def get_timestamp_embeddings(audio, model):
    """``(embeddings (n_sounds, n_frames, D), timestamps (n_sounds,
    n_frames))`` as ``tf.Tensor``; timestamps in ms, frame centres."""
    from .features import extract_features_batch
    sounds = _sounds(audio, model)
    out = extract_features_batch(list(sounds), model.sample_rate,
                                 model.layer, model=model.extractor)
    embeddings = np.stack([values for values, _ in out])
    timestamps = np.stack([1000.0 * times for _, times in out])
    return (tf.constant(embeddings, tf.float32),
            tf.constant(timestamps, tf.float32))


def get_scene_embeddings(audio, model):
    """``(n_sounds, D)`` ``tf.Tensor``: the timestamp embeddings' mean over
    time."""
    embeddings, _ = get_timestamp_embeddings(audio, model)
    return tf.reduce_mean(embeddings, axis=1)


__all__ = ["DEFAULT_LAYERS", "SoundNetEmbedding", "get_scene_embeddings",
           "get_timestamp_embeddings", "load_model"]
