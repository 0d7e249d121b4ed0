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

Several layers of one model come out of one pass (:func:`extract_layers`,
:class:`MultiLayerExtractor`): the folded plan gives the trunk layers, and
the layers above the trunk (SN-F's fc, SN-R's recurrent layers) run on the
trunk's last layer, pool5, in one Keras sub-model with several outputs.
"""

import weakref

import keras
import numpy as np

from .audio import check_waveform, preprocess_input, resample
from .inference import ConvPlan, compile_function, plan_rows
from .specs import (FEATURE_LAYERS, feature_layers, frame_times, geometry,
                    get_spec, min_samples, output_length)

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
    return _compile_model(keras.Model(model.input, outputs))


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


def _model_layer(model, spec, layer):
    """The Keras layer of a feature layer, with a clear error if absent."""
    name = keras_layer_name(spec, layer)
    if name not in [l.name for l in model.layers]:
        raise ValueError(f"model {model.name!r} has no layer {name!r} "
                         f"(for {layer!r}, build it with "
                         "include_top=True)")
    return model.get_layer(name)


def _compile_model(sub):
    """``x -> sub(x)`` compiled (:func:`compile_function`), reading the
    weights as they are at each call."""
    if keras.backend.backend() == "jax":
        # Stateless: the weights are arguments, never baked in.
        run = compile_function(lambda v, x: sub.stateless_call(
            v[0], v[1], x, training=False)[0])
        return lambda x: run((
            [w.value for w in sub.trainable_variables],
            [w.value for w in sub.non_trainable_variables]), x)
    return compile_function(lambda x: sub(x, training=False))


def layer_chunks(spec, layers, n_samples, chunk_seconds):
    """The chunks of ``n_samples`` input that give ``layers`` (of one
    model's trunk) in one pass, each chunk of the deepest layer's
    ``chunk_seconds``.

    Yields ``(start, stop, frames)``: input samples ``[start, stop)`` give,
    for each layer, the whole-input frames ``frames[layer] = (first,
    last)`` as their frames ``[first - start // jump, last - start //
    jump)`` (``jump``: the layer's hop). The deepest layer's frames are cut
    as by :meth:`FeatureExtractor.chunks`; another layer's frame goes to
    the chunk where its receptive field starts, and each chunk reaches to
    the end of the receptive fields of its frames, so every frame is
    computed from all its input. For one layer these are the chunks of
    :meth:`FeatureExtractor.chunks`; recurrent layers (an infinite field)
    take the whole input in one chunk.

    Example:
        >>> for start, stop, frames in layer_chunks(
        ...         "snf", ["conv5", "pool5"], 48000, chunk_seconds=1.0):
        ...     print(start, stop, frames)
        0 17170 {'conv5': (0, 20), 'pool5': (0, 10)}
        12800 33170 {'conv5': (20, 40), 'pool5': (10, 20)}
        28800 48000 {'conv5': (40, 61), 'pool5': (20, 30)}
    """
    spec = get_spec(spec)
    geo = {layer: geometry(spec)[layer] for layer in layers}
    total = {layer: output_length(spec, layer, n_samples) for layer in layers}
    if not all(np.isfinite(g["field"]) for g in geo.values()):
        yield 0, n_samples, {layer: (0, total[layer]) for layer in layers}
        return
    deepest = max(layers, key=lambda l: (geo[l]["jump"], geo[l]["field"]))
    jump, offset = geo[deepest]["jump"], geo[deepest]["offset"]
    per_chunk = max(1, int(chunk_seconds * spec["sample_rate"]) // jump)
    # Where the receptive field of each chunk's first deepest frame starts.
    fields = [first * jump + offset
              for first in range(0, total[deepest], per_chunk)]

    def bound(layer, c):  # the first frame of chunk c: its field from there
        if c in (0, len(fields)):
            return 0 if c == 0 else total[layer]
        g = geo[layer]
        return min(total[layer],
                   max(0, -(-(fields[c] - g["offset"]) // g["jump"])))

    for c, field in enumerate(fields):
        start = max(0, field // jump * jump)
        frames = {layer: (bound(layer, c), bound(layer, c + 1))
                  for layer in layers}
        stop = max((last - 1) * geo[l]["jump"] + geo[l]["offset"]
                   + geo[l]["field"] for l, (first, last) in frames.items()
                   if last > first)
        yield start, int(min(n_samples, stop)), frames


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
        layer_output = _model_layer(model, self.spec, layer).output
        self.geometry = geometry(self.spec)[layer]
        self.plan = None
        if fast and plan_rows(self.spec, layer) is not None:
            self.plan = ConvPlan(model, self.spec, layer)
            # Deep layers overlap their chunks by a long receptive field.
            self.chunk_seconds = max(FAST_CHUNK_SECONDS, 10 * self.geometry[
                "field"] / self.sample_rate)
            return
        self.chunk_seconds = CHUNK_SECONDS
        self._run = compile_outputs(model, layer_output)

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
    for start, stop, frames in layer_chunks(spec, [layer], n_samples,
                                            chunk_seconds):
        yield (start, stop, *frames[layer])


class MultiLayerExtractor:
    """Several feature layers of one model, computed in one pass.

    The trunk layers asked for, and pool5 (the trunk's last layer) when a
    layer above the trunk is asked for, come from one folded plan
    (:class:`soundnet_keras.inference.ConvPlan` with several outputs); the
    layers above the trunk (SN-F's ``fc1``..``fc3``, SN-R's
    ``gru1``..``gru3_bn``, the dense heads) from one Keras sub-model with
    several outputs, run on pool5's output. :func:`extract_layers` runs it
    on audio of any length.

    Args:
        layers: feature layer names (see :func:`feature_layers`).
        model: a model built by this package.
        spec: the model's spec name (default: the model's name).

    Example:
        >>> ex = MultiLayerExtractor(["pool5", "gru1"], SoundNetR(weights=None))
        >>> [v.shape for v in ex(np.zeros((2, 16000 * 3), "float32"))]
        [(2, 30, 256), (2, 30, 200)]
    """

    def __init__(self, layers, model, spec=None):
        self.spec = get_spec(spec or model.name)
        self.layers = tuple(dict.fromkeys(layers))
        if not self.layers:
            raise ValueError("MultiLayerExtractor needs at least one layer")
        outputs = {l: _model_layer(model, self.spec, l).output
                   for l in self.layers}
        self.sample_rate = self.spec["sample_rate"]
        self.model = weakref.ref(model)
        self.trunk = [l for l in self.layers
                      if plan_rows(self.spec, l) is not None]
        self.upper = [l for l in self.layers if l not in self.trunk]
        self.base = self._upper = None
        if self.upper:
            self.base = [row["name"] for row in self.spec["layers"]
                         if row["kind"] != "head" and
                         plan_rows(self.spec, row["name"]) is not None][-1]
            self.trunk += [] if self.base in self.trunk else [self.base]
            sub = keras.Model(_model_layer(model, self.spec,
                                           self.base).output,
                              [outputs[l] for l in self.upper])
            self._upper = _compile_model(sub)
        self.plan = ConvPlan(model, self.spec, self.trunk)
        field = max(geometry(self.spec)[l]["field"] for l in self.trunk)
        self.chunk_seconds = max(FAST_CHUNK_SECONDS,
                                 10 * field / self.sample_rate)

    def run_upper(self, base):
        """The layers above the trunk from pool5's ``(batch, frames,
        256)`` output: a list, in the order of ``upper``."""
        out = self._upper(np.asarray(base, np.float32))
        out = out if isinstance(out, (list, tuple)) else [out]
        return [keras.ops.convert_to_numpy(v) for v in out]

    def __call__(self, batch):
        """Runs the network on a ``(batch, samples)`` array in [-1, 1];
        returns the outputs of ``layers``, in their order."""
        trunk = dict(zip(self.trunk, self.plan.run(preprocess_input(batch))))
        if self.upper:
            trunk.update(zip(self.upper, self.run_upper(trunk[self.base])))
        return [trunk[l] for l in self.layers]


_CACHE = weakref.WeakKeyDictionary()   # keras.Model -> {layer: extractor}
_DEFAULT = {}                          # the pretrained SoundNet-8


def extractor(layer, model=None):
    """A :class:`FeatureExtractor` of ``layer`` (or, for a list of layers,
    a :class:`MultiLayerExtractor`) for ``model`` (an extractor, a Keras
    model of this package, or ``None``: pretrained SoundNet-8), made once
    per model and layer(s) and kept while the model lives (it reads the
    model's weights as they are at each call).
    """
    several = not isinstance(layer, str)
    key = tuple(dict.fromkeys(layer)) if several else layer
    if isinstance(model, (FeatureExtractor, MultiLayerExtractor)):
        computes = model.layers if isinstance(
            model, MultiLayerExtractor) else model.layer
        if computes != key:
            raise ValueError(f"the extractor computes {computes!r}, "
                             f"not {key!r}")
        return model
    if model is None:
        if "model" not in _DEFAULT:
            from .models import SoundNet8
            _DEFAULT["model"] = SoundNet8()
        model = _DEFAULT["model"]
    per_model = _CACHE.setdefault(model, {})
    if key not in per_model:
        per_model[key] = (MultiLayerExtractor(key, model) if several else
                          FeatureExtractor(layer, model))
    return per_model[key]


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


def extract_layers(waveform, sample_rate, layers, model=None, pad=False,
                   chunk_seconds=None):
    """Features of one waveform from several layers of one model, in one
    pass: each equals :func:`extract_features` of its layer (the same
    frames and times; the values to float32 rounding).

    Long input runs in chunks (:func:`layer_chunks`) that overlap by the
    deepest trunk layer's receptive field; the layers above the trunk see
    the whole of pool5.

    Args:
        waveform: 1-D float array in [-1, 1].
        sample_rate: its rate; resampled to the model's rate if different.
        layers: feature layer names of the model.
        model: a model of this package (its extractor is made on first
            use and kept), or a :class:`MultiLayerExtractor`; default:
            pretrained SoundNet-8.
        pad: zero-pad input too short for one frame of a layer instead of
            raising (as :func:`extract_features` pads for that layer).
        chunk_seconds: input per chunk for long audio (default: the
            extractor's).

    Returns:
        A dict layer -> ``(values (T, D) float32, times (T,))``.

    Example:
        >>> out = extract_layers(np.zeros(16000 * 3), 16000, ["pool5", "fc2"],
        ...                      model=SoundNetF(weights=None))
        >>> {layer: values.shape for layer, (values, _) in out.items()}
        {'pool5': (30, 256), 'fc2': (30, 100)}
    """
    ex = extractor(list(layers), model)
    waveform = check_waveform(resample(waveform, sample_rate, ex.sample_rate),
                              ex.sample_rate, model=ex.spec)
    need = {l: min_samples(ex.spec, l) for l in ex.layers}
    if pad and waveform.size < max(need.values()):
        # Too short for some layers: one pass per padded length, as each
        # layer alone would be padded.
        sizes = {l: max(waveform.size, need[l]) for l in ex.layers}
        out, model = {}, ex.model()
        if model is None:
            raise ValueError("the extractor's model is gone: pass the model")
        for size in sorted(set(sizes.values())):
            out.update(extract_layers(
                np.pad(waveform, (0, size - waveform.size)), ex.sample_rate,
                [l for l in ex.layers if sizes[l] == size], model=model,
                chunk_seconds=chunk_seconds))
        return {l: out[l] for l in ex.layers}
    for l in ex.layers:
        check_waveform(waveform, ex.sample_rate, model=ex.spec, layer=l)
    geo = geometry(ex.spec)
    parts = {l: [] for l in ex.trunk}
    x = preprocess_input(waveform)
    for start, stop, frames in layer_chunks(ex.spec, ex.trunk, waveform.size,
                                            chunk_seconds or ex.chunk_seconds):
        out = ex.plan.run(x[None, start:stop])
        for l, values in zip(ex.trunk, out):
            (first, last), skip = frames[l], start // geo[l]["jump"]
            parts[l].append(values[0, first - skip:last - skip])
    values = {l: np.concatenate(parts[l]) for l in ex.trunk}
    if ex.upper:
        values.update(zip(ex.upper, (v[0] for v in ex.run_upper(
            values[ex.base][None]))))
    return {l: (values[l].astype(np.float32, copy=False),
                frame_times(ex.spec, l, len(values[l]))) for l in ex.layers}


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
