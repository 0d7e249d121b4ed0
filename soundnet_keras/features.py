"""Feature extraction from any layer, for audio of any length.

Conv layers give their post-ReLU activations and pooling layers their pooled
values, as the original feature script takes them; ``conv8`` and ``conv8_2``
(and the variants' ``output``, ``output_2``) give the heads' pre-softmax
values. Long input runs in chunks that overlap by the layer's receptive field
and start on multiples of the layer's hop, so the result equals processing the
whole input at once while memory stays bounded. Recurrent layers (SN-R) see
the whole input, so they run in one piece.

The convolutional trunk (every layer up to conv7, the pools and the conv8
heads) runs by default on a folded inference plan
(:mod:`soundnet_keras.inference`) in 80 s chunks; ``FeatureExtractor(...,
fast=False)`` runs the Keras
model itself, in 120 s chunks, as before (the benchmark's baseline). Both
work on every Keras backend.
"""

import weakref

import keras
import numpy as np

from .audio import check_waveform, preprocess_input, resample
from .inference import ConvPlan, compile_function, plan_rows
from .specs import (FEATURE_LAYERS, feature_layers, frame_times, geometry,
                    get_spec, output_length)

# Input per chunk (and per call of the network): the Keras model's, and the
# folded plan's (README, Benchmarks: benchmarks/extraction_speed.py
# --chunk-seconds 20|40|80|160).
CHUNK_SECONDS = 120.0
FAST_CHUNK_SECONDS = 80.0


def compile_outputs(model, outputs):
    """``x -> outputs``: ``model`` from its input to ``outputs`` (a tensor
    of its graph, or a dict or list of them), compiled once
    (:func:`soundnet_keras.inference.compile_function`); it reads the
    weights as they are at each call.

    Example:
        >>> m = SoundNet8(weights=None)
        >>> run = compile_outputs(m, {"conv1": m.get_layer("conv1").output})
        >>> tuple(run(np.zeros((1, 22050, 1), "float32"))["conv1"].shape)
        (1, 11026, 16)
    """
    sub = keras.Model(model.input, outputs)
    if keras.backend.backend() == "jax":
        # Stateless: the weights are arguments, never baked in.
        run = compile_function(lambda v, x: sub.stateless_call(
            v[0], v[1], x, training=False)[0])
        return lambda x: run((
            [w.value for w in sub.trainable_variables],
            [w.value for w in sub.non_trainable_variables]), x)
    return compile_function(lambda x: sub(x, training=False))


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
    """The network from the input to one feature layer, compiled: the
    folded plan for the convolutional trunk, else a Keras sub-model.

    Args:
        layer: a feature layer name (``"conv5"``, ``"pool5"``, ``"fc1"``,
            ``"gru1_bn"``, ...; see :func:`soundnet_keras.feature_layers`).
        model: a model built by this package (default: pretrained SoundNet-8).
        spec: the model's spec name (default: the model's name).
        fast: run the convolutional trunk on the folded plan (default);
            ``False``: the Keras model itself, as before.

    Example:
        >>> ex = FeatureExtractor("conv5", SoundNet8(weights=None))
        >>> ex(np.zeros((2, 22050 * 3), "float32")).shape
        (2, 34, 256)
    """

    def __init__(self, layer="conv5", model=None, spec=None, fast=True):
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
        self.geometry = geometry(self.spec)[layer]
        self.plan = None
        if fast and plan_rows(self.spec, layer) is not None:
            self.plan = ConvPlan(model, self.spec, layer)
            # Deep layers overlap their chunks by a long receptive field.
            self.chunk_seconds = max(FAST_CHUNK_SECONDS, 10 * self.geometry[
                "field"] / self.sample_rate)
            return
        self.chunk_seconds = CHUNK_SECONDS
        self._run = compile_outputs(model, model.get_layer(name).output)

    def n_frames(self, n_samples):
        return output_length(self.spec, self.layer, n_samples)

    def times(self, n_frames):
        return frame_times(self.spec, self.layer, n_frames)

    def __call__(self, batch):
        """Runs the network on a ``(batch, samples)`` array in [-1, 1]."""
        x = preprocess_input(batch)
        if self.plan is None:
            return keras.ops.convert_to_numpy(self._run(x[..., None]))
        # A few waveforms per call, so that the intermediates stay small.
        per_call = max(1, int(self.chunk_seconds * self.sample_rate)
                       // x.shape[1])
        return np.concatenate([self.plan.run(x[i:i + per_call])
                               for i in range(0, len(x), per_call)])

    def chunks(self, n_samples, chunk_seconds=None):
        """:func:`chunk_bounds` of this layer (default chunk: the
        extractor's)."""
        return chunk_bounds(self.spec, self.layer, n_samples,
                            chunk_seconds or self.chunk_seconds)


def chunk_bounds(spec, layer, n_samples, chunk_seconds):
    """Yields ``(start, stop, first, last)``: input samples ``[start,
    stop)`` give whole-input frames ``[first, last)`` of ``layer`` as their
    frames ``[first - start // jump, last - start // jump)``; about
    ``chunk_seconds`` of frames per chunk (recurrent layers: one chunk).

    Example:
        >>> list(chunk_bounds("soundnet8", "conv8", 22050 * 60, 30))
        [(0, 854782, 0, 10), (589824, 1313534, 10, 17)]
    """
    spec = get_spec(spec)
    jump, field, offset = (geometry(spec)[layer][k]
                           for k in ("jump", "field", "offset"))
    total = output_length(spec, layer, n_samples)
    if not np.isfinite(field):  # recurrent: every frame sees everything
        yield 0, n_samples, 0, total
        return
    per_chunk = max(1, int(chunk_seconds * spec["sample_rate"]) // jump)
    for first in range(0, total, per_chunk):
        last = min(total, first + per_chunk)
        start = max(0, (first * jump + offset) // jump * jump)
        stop = min(n_samples, (last - 1) * jump + offset + field)
        yield start, stop, first, last


_CACHE = weakref.WeakKeyDictionary()   # keras.Model -> {layer: extractor}
_DEFAULT = {}                          # the pretrained SoundNet-8


def extractor(layer, model=None):
    """A :class:`FeatureExtractor` of ``layer`` for ``model`` (an extractor,
    a Keras model of this package, or ``None``: pretrained SoundNet-8),
    made once per model and layer and kept while the model lives (it reads
    the model's weights as they are at each call).
    """
    if isinstance(model, FeatureExtractor):
        if model.layer != layer:
            raise ValueError(f"the extractor computes {model.layer!r}, "
                             f"not {layer!r}")
        return model
    if model is None:
        if "model" not in _DEFAULT:
            from .models import SoundNet8
            _DEFAULT["model"] = SoundNet8()
        model = _DEFAULT["model"]
    per_model = _CACHE.setdefault(model, {})
    if layer not in per_model:
        per_model[layer] = FeatureExtractor(layer, model)
    return per_model[layer]


def extract_features(waveform, sample_rate, layer="conv5", model=None,
                     pad=False, chunk_seconds=None):
    """Features of one waveform from one layer.

    Args:
        waveform: 1-D float array in [-1, 1].
        sample_rate: its rate; resampled to the model's rate if different.
        layer: ``conv1``..``conv7``, ``pool1``, ``pool2``, ``pool5``,
            ``conv8`` or ``conv8_2`` for SoundNet-8; for SN-F and SN-R
            also ``fc1``..``fc3``, ``gru1``..``gru3`` (and ``_bn``),
            ``output``, ``output_2``.
        model: a model of this package (its extractor is made on first
            use and kept), or a :class:`FeatureExtractor`; default:
            pretrained SoundNet-8.
        pad: zero-pad input too short for one frame instead of raising.
        chunk_seconds: input per chunk for long audio (default: the
            extractor's).

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
    ex = extractor(layer, model)
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
    ex = extractor(layer, model)
    ready = [check_waveform(resample(w, sample_rate, ex.sample_rate),
                            ex.sample_rate, model=ex.spec, layer=layer,
                            pad=pad, source=f"waveform {i}")
             for i, w in enumerate(waveforms)]
    by_length = {}
    for i, w in enumerate(ready):
        by_length.setdefault(w.size, []).append(i)
    results = [None] * len(ready)
    for length, indices in by_length.items():
        if length > ex.chunk_seconds * ex.sample_rate:
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
