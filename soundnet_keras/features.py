"""Feature extraction from any layer, for audio of any length.

Conv layers give their post-ReLU activations and pooling layers their pooled
values, as the original feature script takes them; ``conv8`` and ``conv8_2``
(and the variants' ``output``, ``output_2``) give the heads' pre-softmax
values. Long input runs in chunks that overlap by the layer's receptive field
and start on multiples of the layer's hop, so the result equals processing the
whole input at once while memory stays bounded. Recurrent layers (SN-R) see
the whole input, so they run in one piece.
"""

import numpy as np
import tensorflow as tf
import keras

from .audio import check_waveform, preprocess_input, resample
from .specs import (FEATURE_LAYERS, feature_layers, frame_times, geometry,
                    get_spec, output_length)
CHUNK_SECONDS = 120.0


def keras_layer_name(model, layer):
    """The Keras layer whose output is the named feature layer.

    Convolutions give their post-ReLU output; everything else its own.
    """
    spec = get_spec(model)
    if layer not in feature_layers(spec):
        raise ValueError(f"Unknown layer {layer!r} of {spec['name']}. "
                         f"Feature layers: {list(feature_layers(spec))}")
    kinds = {row["name"]: row["kind"] for row in spec["layers"]}
    return f"{layer}_relu" if kinds.get(layer) == "conv" else layer


class FeatureExtractor:
    """A compiled sub-model from the input to one feature layer.

    Args:
        layer: a feature layer name (``"conv5"``, ``"pool5"``, ``"fc1"``,
            ``"gru1_bn"``, ...; see :func:`soundnet_keras.feature_layers`).
        model: a model built by this package (default: pretrained SoundNet-8).
        spec: the model's spec name (default: the model's name).
    """

    def __init__(self, layer="conv5", model=None, spec=None):
        if model is None:
            from .models import SoundNet8
            model = SoundNet8()
        self.spec = get_spec(spec or model.name)
        self.layer = layer
        self.sample_rate = self.spec["sample_rate"]
        name = keras_layer_name(self.spec, layer)
        if name not in [l.name for l in model.layers]:
            raise ValueError(f"model {model.name!r} has no layer {name!r} "
                             f"(for {layer!r}, build it with "
                             "include_top=True)")
        target = model.get_layer(name)
        sub = keras.Model(model.input, target.output)
        self._run = tf.function(lambda x: sub(x, training=False),
                                reduce_retracing=True)
        self.geometry = geometry(self.spec)[layer]

    def n_frames(self, n_samples):
        return output_length(self.spec, self.layer, n_samples)

    def times(self, n_frames):
        return frame_times(self.spec, self.layer, n_frames)

    def __call__(self, batch):
        """Runs the network on a ``(batch, samples)`` array in [-1, 1]."""
        x = preprocess_input(batch)[..., None]
        return self._run(tf.constant(x)).numpy()

    def chunks(self, n_samples, chunk_seconds=CHUNK_SECONDS):
        """Yields ``(start, stop, first, last)``: input samples
        ``[start, stop)`` give whole-input frames ``[first, last)`` as their
        frames ``[first - start // jump, last - start // jump)``."""
        jump, field, offset = (self.geometry[k]
                               for k in ("jump", "field", "offset"))
        total = self.n_frames(n_samples)
        if not np.isfinite(field):  # recurrent: every frame sees everything
            yield 0, n_samples, 0, total
            return
        per_chunk = max(1, int(chunk_seconds * self.sample_rate) // jump)
        for first in range(0, total, per_chunk):
            last = min(total, first + per_chunk)
            start = max(0, (first * jump + offset) // jump * jump)
            stop = min(n_samples, (last - 1) * jump + offset + field)
            yield start, stop, first, last


def extract_features(waveform, sample_rate, layer="conv5", model=None,
                     pad=False, chunk_seconds=CHUNK_SECONDS):
    """Features of one waveform from one layer.

    Args:
        waveform: 1-D float array in [-1, 1].
        sample_rate: its rate; resampled to the model's rate if different.
        layer: ``conv1``..``conv7``, ``pool1``, ``pool2``, ``pool5``,
            ``conv8`` or ``conv8_2`` for SoundNet-8; for SN-F and SN-R
            also ``fc1``..``fc3``, ``gru1``..``gru3`` (and ``_bn``),
            ``output``, ``output_2``.
        model: a model of this package, or a :class:`FeatureExtractor`
            (reuse one across calls); default: pretrained SoundNet-8.
        pad: zero-pad input too short for one frame instead of raising.
        chunk_seconds: input per chunk for long audio.

    Returns:
        ``(values, times)``: ``(T, D)`` float32 and ``(T,)`` frame centres in
        seconds.

    Example:
        >>> m = SoundNet8(weights=None)
        >>> values, times = extract_features(np.zeros(22050 * 20), 22050,
        ...                                  "pool5", model=m)
        >>> values.shape, round(float(times[1] - times[0]), 4)
        ((54, 256), 0.3715)
    """
    ex = model if isinstance(model, FeatureExtractor) else FeatureExtractor(
        layer, model)
    if ex.layer != layer:
        raise ValueError(f"the extractor computes {ex.layer!r}, "
                         f"not {layer!r}")
    waveform = resample(waveform, sample_rate, ex.sample_rate)
    waveform = check_waveform(waveform, ex.sample_rate, model=ex.spec,
                              layer=layer, pad=pad)
    jump = ex.geometry["jump"]
    parts = []
    for start, stop, first, last in ex.chunks(waveform.size, chunk_seconds):
        out = ex(waveform[None, start:stop])[0]
        parts.append(out[first - start // jump:last - start // jump])
    values = np.concatenate(parts).astype(np.float32, copy=False)
    return values, ex.times(len(values))


def extract_features_batch(waveforms, sample_rate, layer="conv5", model=None,
                           batch_size=16, pad=False):
    """Features of many waveforms; equal lengths run together in batches.

    Returns a list of ``(values, times)`` in the input order.

    Example:
        >>> m = SoundNet8(weights=None)
        >>> out = extract_features_batch([np.zeros(22050 * 20)] * 3, 22050,
        ...                              "conv5", model=m)
        >>> [v.shape for v, _ in out]
        [(217, 256), (217, 256), (217, 256)]
    """
    ex = model if isinstance(model, FeatureExtractor) else FeatureExtractor(
        layer, model)
    ready = [check_waveform(resample(w, sample_rate, ex.sample_rate),
                            ex.sample_rate, model=ex.spec, layer=layer,
                            pad=pad, source=f"waveform {i}")
             for i, w in enumerate(waveforms)]
    by_length = {}
    for i, w in enumerate(ready):
        by_length.setdefault(w.size, []).append(i)
    results = [None] * len(ready)
    for length, indices in by_length.items():
        if length > CHUNK_SECONDS * ex.sample_rate:
            for i in indices:
                results[i] = extract_features(ready[i], ex.sample_rate,
                                              layer, model=ex)
            continue
        for b in range(0, len(indices), batch_size):
            group = indices[b:b + batch_size]
            out = ex(np.stack([ready[i] for i in group]))
            for i, values in zip(group, out):
                results[i] = (values.astype(np.float32, copy=False),
                              ex.times(len(values)))
    return results
