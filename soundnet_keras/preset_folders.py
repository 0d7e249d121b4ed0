"""Preset folders: a model saved with its architecture, checksum and card,
to share and to load; the built-in presets are such folders too, in the
checkout's ``weights/`` (:data:`soundnet_keras.weights.WEIGHTS_DIR`), and
load through the same code (the layout of keras-hub's presets).

    <folder>/config.json        the architecture: model ("soundnet8", "snf",
                                "snr", "snr_lstm"), its factory arguments,
                                include_top
    <folder>/model.weights.h5   the weights (soundnet_keras' HDF5 layout)
    <folder>/metadata.json      sha256 of model.weights.h5, versions, date,
                                description, base preset (a built-in
                                student: its run's provenance; the released
                                SoundNet-8: ``cache_file``, its weights in
                                the cache, not in the folder)
    <folder>/README.md          the model card

:func:`save_preset` writes one (whole, or not at all: the folder is staged
beside its place); :func:`load_preset_folder` (and :func:`load_preset`,
``sk.load_preset``, which takes a built-in preset's name, a folder or a
URL) rebuilds the model from ``config.json`` and loads the weights once
their sha256 equals the one in ``metadata.json``. A ``file://`` or ``https://`` URL names a ``.tar.gz`` or
``.zip`` of such a folder (:func:`archive_preset` makes one); it is fetched
by ``keras.utils.get_file`` into the cache and checked against the sha256
the caller gives, which a URL must come with.

Example:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp()) / "my_snf"
    >>> _ = save_preset(SoundNetF(include_top=False), folder,
    ...                 description="an untrained SN-F")
    >>> sorted(p.name for p in folder.iterdir())
    ['README.md', 'config.json', 'metadata.json', 'model.weights.h5']
    >>> load_preset_folder(folder).name
    'snf'
"""

import json
from datetime import datetime, timezone
from pathlib import Path

from . import models
from .stores import staged_folder, write_text
from .weights import (CARD_FILE, CONFIG_FILE, FORMAT, METADATA_FILE,
                      PRESETS, WEIGHTS_DIR, WEIGHTS_FILE, ChecksumError,
                      cache_dir, load_into, model_variables, preset_weights,
                      read_preset_folder, read_sums, write_weights)
from .weights import sha256 as file_sha256
FACTORIES = {"soundnet8": "SoundNet8", "snf": "SoundNetF",
             "snr": "SoundNetR", "snr_lstm": "SoundNetR"}


def architecture(model):
    """``(model kind, factory arguments, include_top)`` of a SoundNet-8,
    SN-F or SN-R Keras model, read from its layers.

    Raises:
        ValueError: for any other model.
    """
    names = {layer.name for layer in model.layers}
    top = "objects" in names or "conv8" in names
    if "fc1" in names:
        return "snf", dict(
            activation=model.get_layer("fc1").activation.__name__), top
    for cell in ("gru", "lstm"):
        if f"{cell}1" in names:
            layer = model.get_layer(f"{cell}1")
            inner = getattr(layer, "forward_layer", layer).cell
            return ("snr_lstm" if cell == "lstm" else "snr"), dict(
                cell=cell, batch_norm=f"{cell}1_bn" in names,
                activation=inner.activation.__name__), top
    if {"conv1", "conv5", "conv7"} <= names:
        return "soundnet8", {}, top
    raise ValueError(f"{model.name!r} is not a SoundNet-8, SN-F or SN-R "
                     "model (no conv7, fc1, gru1 or lstm1 layer); only those "
                     "are saved as presets")


def build_from_config(config, **kwargs):
    """The (untrained) model a ``config.json`` describes."""
    if config.get("format") != FORMAT or config.get("model") not in \
            FACTORIES:
        raise ValueError(f"not a {FORMAT!r} config (format "
                         f"{config.get('format')!r}, model "
                         f"{config.get('model')!r})")
    factory = getattr(models, FACTORIES[config["model"]])
    arguments = dict(config["config"], include_top=config["include_top"])
    return factory(**dict(arguments, **kwargs))


def save_preset(model, folder, description="", base=None, overwrite=False):
    """Writes ``model`` as a preset folder (see the module docstring).

    Args:
        model: a SoundNet-8, SN-F or SN-R model (fine-tuned, distilled...).
        folder: the preset folder to write; must not exist (or be empty)
            unless ``overwrite``.
        description: one line on what the preset is.
        base: the preset it started from (a name), recorded and cited.
        overwrite: replace an existing folder (only once the new one is
            complete).

    Returns:
        The folder's path.
    """
    kind, arguments, top = architecture(model)
    config = dict(format=FORMAT, model=kind, config=arguments,
                  include_top=top)
    rebuilt = build_from_config(config)
    mine, theirs = model_variables(model), model_variables(rebuilt)
    shapes = {(layer, name): tuple(value.shape)
              for layer, variables in mine.items()
              for name, value in variables.items()}
    if shapes != {(layer, name): tuple(value.shape)
                  for layer, variables in theirs.items()
                  for name, value in variables.items()}:
        raise ValueError(f"{model.name!r} does not have the layers and "
                         f"shapes of {kind} {arguments}; it cannot be "
                         "saved as a preset")
    folder = Path(folder)
    with staged_folder(folder, overwrite, "overwrite=True") as stage:
        weights = stage / WEIGHTS_FILE
        write_weights(weights, mine)
        digest = read_sums(stage)[weights.name]
        (stage / "SHA256SUMS").unlink()
        metadata = new_metadata(folder.name, description, base, digest)
        write_preset_files(stage, config, metadata,
                           folder_card(config, metadata))
    return folder


def write_preset_files(folder, config, metadata, card):
    """Writes a preset folder's ``config.json``, ``metadata.json`` and
    ``README.md`` (the ``card``) beside its weights."""
    write_text(folder / CONFIG_FILE, json.dumps(config, indent=2) + "\n")
    write_text(folder / METADATA_FILE, json.dumps(metadata, indent=2) + "\n")
    write_text(folder / CARD_FILE, card)


def new_metadata(name, description, base, digest, **extra):
    """A ``metadata.json``'s fields: the preset's name, description, base
    preset, the weights' sha256, the time and the versions that wrote it,
    and ``extra`` (a run's ``provenance``)."""
    import keras
    import tensorflow as tf
    from . import __version__
    return dict(
        name=name, description=description, base=base, weights_sha256=digest,
        written=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        versions=dict(soundnet_keras=__version__, keras=keras.__version__,
                      tensorflow=tf.__version__), **extra)


def folder_card(config, metadata):
    """The Markdown model card of a preset folder."""
    from .cards import USE, _geometry
    arguments = ", ".join(f"{k}={v}" for k, v in config["config"].items())
    base = metadata.get("base")
    lines = [f"# {metadata['name']}", "",
             (metadata.get("description") or "A SoundNet preset") + ".", "",
             "## Architecture and input", "",
             f"- Model: `{config['model']}`"
             + (f" ({arguments})" if arguments else "")
             + (", with" if config["include_top"] else ", without")
             + " the object and place heads; load it with "
             "`sk.load_preset(\"<this folder or its URL>\")`."]
    if base:
        lines.append(f"- Started from the preset `{base}`"
                     + (f" ({PRESETS[base]['description']})"
                        if base in PRESETS else "") + ".")
    versions = metadata["versions"]
    lines += ["", *_geometry(config["model"]), "", "## Use and limits", "",
              USE, "", "## Checksum and versions", "",
              f"`model.weights.h5`: sha256 `{metadata['weights_sha256']}` "
              "(checked before every load). Written "
              f"{metadata['written']} by soundnet-keras "
              f"{versions['soundnet_keras']}, Keras {versions['keras']}, "
              f"TensorFlow {versions['tensorflow']}."]
    return "\n".join(lines) + "\n"


def load_preset(name, **kwargs):
    """The model of a preset, built with the architecture it carries and its
    weights loaded (as keras-hub's ``from_preset``).

    Args:
        name: a built-in preset (a key of
            :data:`soundnet_keras.weights.PRESETS`: its folder in
            ``weights/``), a preset folder (``sk.save_preset``), or a
            ``file://`` / ``https://`` URL of an archive of one (then
            ``sha256=`` the archive's); all load through
            :func:`load_preset_folder`.
        **kwargs: further factory arguments (``include_top``,
            ``input_shape``, ``name``, ...).

    Example:
        >>> model = load_preset("snr_scratch_pool")
        >>> model.name, model.get_layer("gru1").forward_layer.cell.activation.__name__
        ('snr', 'relu')
    """
    if isinstance(name, str) and name in PRESETS:
        return load_preset_folder(WEIGHTS_DIR / name, **kwargs)
    if _is_url(name) or Path(name).is_dir():
        return load_preset_folder(name, **kwargs)
    raise ValueError(f"Unknown preset {name!r} (neither a preset name, "
                     f"nor a folder, nor a URL). Presets: {list(PRESETS)}")


def load_preset_folder(source, sha256=None, **kwargs):
    """The model of a preset folder, or of a ``.tar.gz`` / ``.zip`` of one
    at a ``file://`` or ``https://`` URL (``sha256``: the archive's, which
    a URL needs), with its weights checked and loaded.

    Args:
        source: a folder, or a URL.
        sha256: the archive's sha256 (URLs only).
        **kwargs: further factory arguments (``include_top``,
            ``input_shape``, ``name``).

    Example:
        >>> load_preset_folder(WEIGHTS_DIR / "snf_standin").name
        'snf'

    Raises:
        ValueError: a URL without ``sha256``, a folder that is not a preset
            folder (naming the file that is missing or wrong).
        ChecksumError: the weights' (or the archive's) sha256 differs.
        FileNotFoundError: fetched weights (the released SoundNet-8's) not
            in the cache yet.
    """
    folder = fetch_preset(source, sha256) if _is_url(source) else \
        Path(source)
    config, metadata = read_preset_folder(folder)
    weights = preset_weights(folder, metadata)
    model = build_from_config(config, **kwargs)
    load_into(model, weights)
    return model


def _is_url(source):
    return isinstance(source, str) and source.startswith(("file://",
                                                          "https://",
                                                          "http://"))


def fetch_preset(url, sha256=None):
    """Fetches and unpacks the archive of a preset folder into the cache
    (``keras.utils.get_file``, checked against ``sha256``); returns the
    folder."""
    import keras
    if not sha256:
        raise ValueError(f"{url}: a preset from a URL needs its sha256 "
                         "(sk.load_preset(url, sha256=...); "
                         "sk.archive_preset prints it)")
    name = url.rstrip("/").rsplit("/", 1)[-1]
    root = cache_dir() / "presets"
    root.mkdir(parents=True, exist_ok=True)
    try:
        path = keras.utils.get_file(
            fname=name, origin=url, file_hash=sha256, hash_algorithm="sha256",
            extract=True, cache_dir=str(root.parent), cache_subdir=root.name)
    except ValueError as err:
        raise ChecksumError(f"{url}: {err}") from None
    found = [p.parent for p in Path(path).rglob("config.json")]
    if len(found) != 1:
        raise ValueError(f"{url}: the archive holds {len(found)} preset "
                         "folders (config.json files); it must hold one")
    return found[0]


def archive_preset(folder, out=None):
    """Packs a preset folder into ``<out>`` (default ``<folder>.tar.gz``)
    for sharing; returns ``(path, sha256)``, the hash that
    :func:`load_preset_folder` asks for."""
    import shutil
    folder = Path(folder)
    out = Path(out or folder.with_name(folder.name + ".tar.gz"))
    base = out.with_name(out.name.removesuffix(".tar.gz"))
    made = Path(shutil.make_archive(str(base), "gztar", folder.parent,
                                    folder.name))
    return made, file_sha256(made)


__all__ = ["FORMAT", "archive_preset", "architecture", "build_from_config",
           "fetch_preset", "folder_card", "load_preset", "load_preset_folder",
           "new_metadata", "save_preset", "write_preset_files"]
