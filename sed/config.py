"""The detector's training config: sections, defaults, validation.

A config has four sections: ``net`` (the network), ``opt`` (the optimiser
and its schedule), ``feats`` (the features) and ``training`` (corpus, run
folder, minibatches, epochs). :data:`DEFAULTS` is the paper's recipe
(Wang & Metze 2017, Section 3.2); :data:`TANH_CLIPPED` the variant of the
first experiments. :func:`resolve_config` fills in the defaults and
validates every value (:data:`SCHEMA`); :func:`load_config` reads YAML.

Example:
    >>> resolve_config({"net": {"units": 0}})
    Traceback (most recent call last):
    ...
    soundnet_keras.runs.ConfigError: config: net.units must be an integer >= 1. Received 0 (int).
"""

import copy
from pathlib import Path

from soundnet_keras.runs import ConfigError, Field, check_config, read_yaml

from .lstm import CELLS, GLOROT

#: The configuration of a run: the paper's recipe (Section 3.2), with its
#: "ReLU" read as ReLU on the LSTM's cell input (``"relu_g"``).
DEFAULTS = {
    "net": {"units": 400, "activation": "relu_g", "relu_max": None,
            "glorot": "fused"},
    "opt": {"learning_rate": 3.0, "momentum": 0.9, "nesterov": True,
            "lr_factor": 0.8, "lr_patience": 5, "clipnorm": None},
    "feats": {"kind": "soundnet8:conv5", "weights": "default",
              "cache_dir": None, "scaling": None},
    "training": {"corpus": None, "out": None, "epochs": 200,
                 "batch_size": 5, "chunk_frames": 500, "tolerance": 10,
                 "seed": 0, "jit_compile": True, "progress": True,
                 "pretrain_epochs": 0, "patience": None},
}

#: How the features are standardised on the training split
#: (``feats.scaling``, :class:`sed.features.Normaliser`): ``"dimension"``
#: centres each dimension and divides it by its own standard deviation;
#: ``"common"`` centres each dimension and divides all by one scale (the
#: root mean variance), which keeps the dimensions' relative variances (and
#: so what a batch-norm layer's scale factors did); ``None``: the feature
#: kind's own choice (``"common"`` for ``opensmile``, else ``"dimension"``).
SCALINGS = ("dimension", "common")

#: The variant the first experiments used: tanh cells and the gradient's
#: global norm clipped at 1 (the ``tanh_clipped`` variant of the warm-up
#: sweep, :data:`sed.experiments.VARIANTS`).
TANH_CLIPPED = {"net": {"activation": "tanh"}, "opt": {"clipnorm": 1.0}}

#: Config keys that may change when a run is resumed.
RESUMABLE_CHANGES = ("epochs", "out", "corpus", "progress", "jit_compile")

#: What each value may be (:class:`soundnet_keras.runs.Field`).
SCHEMA = {
    "net": {"units": Field(int, 1), "activation": Field(str, choices=tuple(
        CELLS)), "relu_max": Field(float, 0, exclusive=True, nullable=True),
        "glorot": Field(str, choices=GLOROT)},
    "opt": {"learning_rate": Field(float, 0, exclusive=True),
            "momentum": Field(float, 0, 1), "nesterov": Field(bool),
            "lr_factor": Field(float, 0, 1, exclusive=True),
            "lr_patience": Field(int, 1),
            "clipnorm": Field(float, 0, exclusive=True, nullable=True)},
    "feats": {"kind": Field(str), "weights": Field(str, nullable=True),
              "cache_dir": Field(str, nullable=True),
              "scaling": Field(str, choices=SCALINGS, nullable=True)},
    "training": {"corpus": Field(str, nullable=True),
                 "out": Field(str, nullable=True), "epochs": Field(int, 0),
                 "batch_size": Field(int, 1), "chunk_frames": Field(int, 1),
                 "tolerance": Field(int, 0, nullable=True),
                 "seed": Field(int, 0), "jit_compile": Field(bool),
                 "progress": Field(bool), "pretrain_epochs": Field(int, 0),
                 "patience": Field(int, 1, nullable=True)},
}


def resolve_config(config=None, source="config"):
    """The full config: ``config``'s values over :data:`DEFAULTS`.

    Args:
        config: a dict with any of the sections ``net``, ``opt``, ``feats``,
            ``training`` (or None for the defaults).

    Returns:
        A new dict with all four sections and every key.

    Raises:
        ConfigError: (a ``ValueError``) for an unknown section or key (the
            message lists the known ones) or a value of the wrong type or
            out of range (the message says what it must be); ``source``
            names the config in the messages.

    Example:
        >>> cfg = resolve_config({"opt": {"learning_rate": 0.3}})
        >>> cfg["opt"]["learning_rate"], cfg["opt"]["momentum"]
        (0.3, 0.9)
        >>> resolve_config({"opt": {"lr": 1}})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        soundnet_keras.runs.ConfigError: config: unknown key 'lr' in section 'opt'. Known keys: ...
    """
    out = copy.deepcopy(DEFAULTS)
    if config is not None and not isinstance(config, dict):
        raise ConfigError(f"{source}: a config is a mapping of sections "
                          f"({', '.join(DEFAULTS)}). Received {config!r}.")
    for section, values in (config or {}).items():
        if section not in out:
            raise ConfigError(f"{source}: unknown config section "
                              f"{section!r}. Known sections: "
                              f"{', '.join(DEFAULTS)}")
        if values is not None and not isinstance(values, dict):
            raise ConfigError(f"{source}: section {section!r} must be a "
                              f"mapping of keys. Received {values!r}.")
        for key, value in (values or {}).items():
            if key not in out[section]:
                raise ConfigError(
                    f"{source}: unknown key {key!r} in section "
                    f"{section!r}. Known keys: {', '.join(DEFAULTS[section])}")
            out[section][key] = value
    check_config(out, SCHEMA, source)
    tr = out["training"]
    if tr["epochs"] == 0 and tr["pretrain_epochs"] == 0:
        raise ConfigError(f"{source}: training.epochs 0 trains nothing (and "
                          "training.pretrain_epochs is 0): a run would only "
                          "write untrained weights; give epochs >= 1")
    return out


def load_config(path):
    """Reads a YAML config file and resolves it (:func:`resolve_config`);
    errors name the file. ``path`` may also name a config shipped in
    ``sed/configs`` (``"demo"``)."""
    shipped = Path(__file__).resolve().parent / "configs" / f"{path}.yaml"
    if not Path(path).exists() and shipped.is_file():
        path = shipped
    return resolve_config(read_yaml(path) or {}, source=str(path))


def comparable(config):
    """The config without the keys that may change on resume."""
    cfg = copy.deepcopy(config)
    for key in RESUMABLE_CHANGES:
        cfg["training"].pop(key, None)
    return cfg


__all__ = ["DEFAULTS", "RESUMABLE_CHANGES", "SCALINGS", "SCHEMA", "TANH_CLIPPED",
           "comparable", "load_config", "resolve_config"]
