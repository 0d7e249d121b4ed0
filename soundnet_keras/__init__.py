"""Keras port of SoundNet and the paper's variants (Wang & Metze, 2017).

Names are imported on first use, so the command line starts quickly.

Example:
    >>> import soundnet_keras
    >>> soundnet_keras.layer_table("soundnet8").shape
    (13, 6)
"""

import importlib

__version__ = "0.2.0"

_EXPORTS = {
    "load_audio": "audio", "preprocess_input": "audio",
    "build": "builder",
    "FEATURE_LAYERS": "features", "FeatureExtractor": "features",
    "extract_features": "features", "extract_features_batch": "features",
    "extract_layers": "features", "MultiLayerExtractor": "features",
    "SoundNet8": "models", "SoundNetF": "models", "SoundNetR": "models",
    "load_preset": "preset_folders", "PRESETS": "weights", "load_weights": "weights",
    "predict": "predictions",
    "feature_layers": "specs", "frame_times": "specs",
    "layer_table": "specs", "min_samples": "specs",
    "output_length": "specs",
    "fetch_weights": "port", "load_labels": "weights",
    "save_preset": "preset_folders", "archive_preset": "preset_folders",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
