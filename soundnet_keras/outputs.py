"""Output names: one planner for every command that writes per input file.

``soundnet-keras extract`` and ``beam`` (features), ``predict --plot`` and
``sed-ctc detect --plot`` (pictures) name their outputs here, so that:

* outputs mirror the inputs' paths below their common folder and keep the
  input's extension before the new suffix (``A/rec.wav`` ->
  ``OUT/A/rec.wav.npz``, ``B/rec.wav`` -> ``OUT/B/rec.wav.npz``,
  ``B/rec.flac`` -> ``OUT/B/rec.flac.npz``): two inputs never share an
  output; one given twice is an error before any work;
* a picture of one input goes to ``--plot FILE.png`` as named; of several,
  to ``FILE-<path below the common folder, / as ->.png``; a ``--plot``
  that is a folder (it exists, or ends with ``/``, or has no suffix) gets
  the mirrored tree, ``FOLDER/A/rec.wav.png``;
* the name a command prints is the file it wrote.

Example:
    >>> [str(p) for p in plan_outputs(["/a/x/rec.wav", "/a/y/rec.wav"],
    ...                               "out", ".npz")]
    ['out/x/rec.wav.npz', 'out/y/rec.wav.npz']
    >>> [str(p) for p in plan_pictures(["/a/x/rec.wav", "/a/y/rec.wav"],
    ...                                "p.png")]
    ['p-x-rec.wav.png', 'p-y-rec.wav.png']
    >>> [str(p) for p in plan_pictures(["/a/x/rec.wav"], "p.png")]
    ['p.png']
"""

import os
import posixpath
from pathlib import Path


class UsageError(ValueError):
    """Bad arguments or inputs, found before any work starts."""


def _remote(path):
    return "://" in str(path)


def common_root(files):
    """The inputs' common folder (local paths made absolute; remote ones
    by their common ``/``-separated prefix)."""
    files = [str(f) for f in files]
    if any(_remote(f) for f in files):
        return posixpath.dirname(os.path.commonprefix(files))
    return os.path.commonpath([os.path.dirname(os.path.abspath(f))
                               for f in files])


def relative_name(path, root):
    """The input's path below ``root`` (``/``-separated)."""
    path = str(path)
    if _remote(path):
        return posixpath.relpath(path, str(root))
    return Path(os.path.relpath(os.path.abspath(path), root)).as_posix()


def _check_unique(files, targets):
    seen = {}
    for source, target in zip(files, targets):
        if target in seen:
            raise UsageError(
                f"{seen[target]} and {source} would both be written to "
                f"{target} (the same file given twice?); nothing was done")
        seen[target] = source


def plan_outputs(files, out, suffix, root=None):
    """One output per input: ``out`` / its path below ``root`` (default:
    the inputs' common folder) + ``suffix``; :class:`UsageError` before
    any work when two would coincide. Remote (``scheme://``) ``out`` and
    inputs give ``/``-joined strings, local ones :class:`~pathlib.Path`."""
    files = [str(f) for f in files]
    root = common_root(files) if root is None else str(root)
    names = [relative_name(f, root) + suffix for f in files]
    if _remote(out):
        targets = [posixpath.join(str(out), name) for name in names]
    else:
        targets = [Path(out) / name for name in names]
    _check_unique(files, targets)
    return targets


def is_folder(out):
    """Whether ``--plot OUT`` names a folder: it is one, ends with a
    separator, or has no suffix."""
    text = str(out)
    return Path(out).is_dir() or text.endswith(("/", os.sep)) or \
        not Path(out).suffix


def plan_pictures(files, out, suffix=".png"):
    """The picture of each input for ``--plot OUT`` (see the module
    docstring); :class:`UsageError` before any work when two coincide."""
    files = [str(f) for f in files]
    if is_folder(out):
        return plan_outputs(files, out, suffix)
    out = Path(out)
    if len(files) == 1:
        return [out]
    root = common_root(files)
    targets = [out.with_name(
        f"{out.stem}-{relative_name(f, root).replace('/', '-')}{out.suffix}")
        for f in files]
    _check_unique(files, targets)
    return targets


__all__ = ["UsageError", "common_root", "is_folder", "plan_outputs",
           "plan_pictures", "relative_name"]
