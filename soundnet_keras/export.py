"""Exporting SoundNet-8 and the students outside Keras: TensorFlow
SavedModel (TF Serving), ONNX and LiteRT (``.tflite``, for phones and small
boards), with the preprocessing inside the graph.

:func:`export_model` wraps a preset's network (or a Keras model of this
package) into a model whose input is the waveform as users have it,
``(batch, samples, 1)`` float32 in [-1, 1] at the model's sample rate, and
whose output is one feature layer (``layer``; the post-ReLU activations of
a convolution, as :func:`soundnet_keras.extract_features` gives them) or,
with ``top``, SoundNet-8's object and place distributions per conv8 frame.
The scaling to [-256, 256] (:func:`soundnet_keras.preprocess_input`) is the
graph's first operation, so an exported model needs nothing from this
package. Batch and length are variable. Beside the artefact a
``<name>.json`` holds what the graph cannot say: the sample rate, the input
scaling, the layer, the frame geometry (hop, first frame's centre, frame
rate) to compute frame times, the preset and its weights' sha256, and the
versions that wrote it.

The exported model computes the Keras model's own graph (not the folded
inference plan of :mod:`soundnet_keras.inference`), so it equals
``extract_features(..., model=FeatureExtractor(layer, model, fast=False))``
to float32 rounding; ``tests/test_export.py`` loads each artefact in its
own runtime (``tf.saved_model.load``, ``onnxruntime``, the LiteRT
interpreter of ``ai-edge-litert``, resized to each input's length) and
compares on real audio at two lengths. LiteRT refuses SN-R's recurrent
layers (see :func:`export_model`). SoundNet-8's predictions leave some conv8 frames out
(:func:`soundnet_keras.predictions.reliable_frames`): with ``top`` the
export gives every frame, and the metadata says which rule to apply.

Example (writes files)::

    soundnet-keras export snr_scratch_pool --format onnx --layer gru1_bn --out exported
"""

import json
from pathlib import Path

#: Export formats: the command line's name -> Keras' ``format``.
FORMATS = {"savedmodel": "tf_saved_model", "onnx": "onnx", "litert": "litert"}
#: Each format's file name ending (a SavedModel is a folder).
SUFFIXES = {"savedmodel": "", "onnx": ".onnx", "litert": ".tflite"}


def _network(model_or_preset):
    from .preset_folders import load_preset
    from .weights import PRESETS
    if isinstance(model_or_preset, str):
        if model_or_preset not in PRESETS:
            raise ValueError(f"Unknown preset {model_or_preset!r}. Presets: "
                             f"{', '.join(PRESETS)}")
        return load_preset(model_or_preset), model_or_preset
    return model_or_preset, None


def export_model(model_or_preset, out, format="savedmodel", layer=None,
                 top=False):
    """Exports a network with its preprocessing; returns the artefact's path
    (``out/<name>`` for a SavedModel, ``out/<name>.onnx``) and writes
    ``out/<name>.json`` beside it.

    Args:
        model_or_preset: a preset name or a Keras model of this package.
        out: the output folder.
        format: ``"savedmodel"``, ``"onnx"`` or ``"litert"``
            (:data:`FORMATS`).
        layer: the feature layer (default: the last layer before the heads:
            conv7 for SoundNet-8, the top recurrent / fc layer of a
            student); not with ``top``.
        top: SoundNet-8's object and place distributions (needs the model's
            top).

    Raises:
        ValueError: an unknown format, preset or layer, ``top`` without
            heads or with ``layer``, SN-R's recurrent layers to LiteRT.
    """
    import keras
    from . import __version__
    from .audio import INPUT_SCALE
    from .features import keras_layer_name
    from .specs import SPECS, feature_layers, geometry, get_spec
    if format not in FORMATS:
        raise ValueError(f"Unknown format {format!r}. Formats: "
                         f"{', '.join(FORMATS)}")
    network, preset = _network(model_or_preset)
    if network.name not in SPECS:
        raise ValueError(f"model {network.name!r} is not one of this "
                         f"package's ({', '.join(SPECS)})")
    spec = get_spec(network.name)
    name_of = spec["name"]
    layers = feature_layers(name_of)
    if top:
        if layer is not None:
            raise ValueError("give either layer or top, not both")
        outputs = network.outputs
        if [t.shape[-1] for t in outputs] != [1000, 401]:
            raise ValueError("top needs SoundNet-8 with its heads "
                             "(include_top=True)")
        layer = "conv8"
    else:
        layer = layer or [l for l in layers if not l.startswith(
            ("conv8", "output"))][-1]
        outputs = network.get_layer(keras_layer_name(name_of, layer)).output
    if format == "litert" and name_of.startswith("snr") and (
            top or not layer.startswith(("conv", "pool"))):
        raise ValueError(
            f"{layer} of {name_of} cannot be exported to LiteRT faithfully: "
            "its recurrent layers loop over a variable number of frames, "
            "which LiteRT's interpreter runs only with TensorFlow's select "
            "ops (the Flex delegate, not in ai-edge-litert). Export pool5 "
            "or a convolution of SN-R to LiteRT, or this layer to "
            "savedmodel or onnx")
    waveform = keras.Input((None, 1), name="waveform")
    scaled = keras.layers.Rescaling(INPUT_SCALE, name="preprocess")(waveform)
    body = keras.Model(network.input, outputs, name=f"{name_of}_{layer}")
    wrapped = keras.Model(waveform, body(scaled), name=body.name)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{preset or network.name}_{'top' if top else layer}"
    path = out / (stem + SUFFIXES[format])
    import numpy as np
    from .specs import min_samples
    wrapped(np.zeros((1, min_samples(name_of, layer), 1), np.float32))
    wrapped.export(str(path), format=FORMATS[format], verbose=False)
    info = geometry(name_of)[layer]
    meta = dict(
        preset=preset, model=name_of, layer=layer, top=bool(top),
        format=format, sample_rate=int(spec["sample_rate"]),
        input="waveform (batch, samples, 1) float32 in [-1, 1]; scaled to "
              "[-256, 256] inside the graph",
        variable_length=True,
        frames={key: (None if info[key] == float("inf") else
                      int(info[key])) for key in ("jump", "offset", "field")},
        frame_times="centre of frame i: (i * jump + offset + field / 2) / "
                    "sample_rate seconds (soundnet_keras.frame_times)",
        predictions_rule=("leave out conv8 frames whose window reaches "
                          "conv7's last frame; tile clips under 20 s to 20 "
                          "s (soundnet_keras.predictions.reliable_frames)")
        if top else None,
        weights_sha256=_weights_sha256(preset),
        written_by=dict(soundnet_keras=__version__,
                        keras=keras.__version__, tensorflow=_tf_version()))
    from .stores import write_text
    write_text(path.with_name(stem + ".json"), json.dumps(meta, indent=1)
               + "\n")
    return path


def _weights_sha256(preset):
    from .weights import PRESETS, recorded_sha256
    return recorded_sha256(PRESETS[preset]["file"]) if preset else None


def _tf_version():
    import tensorflow as tf
    return tf.__version__


__all__ = ["FORMATS", "export_model"]
