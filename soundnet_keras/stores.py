"""Files and folders written whole: built beside their place, then
swapped in.

Every file the project writes for a user (features, weights, histories,
tables, pictures, JSON) goes through :func:`atomic_file`: a temporary file
beside it, renamed over it once complete, removed on any failure (a full
disk, Ctrl-C), so that a reader never sees half a file and a failure leaves
no debris. The file gets the permissions a plain ``open`` would give
(``0o666`` less the umask).

Target stores (``soundnet-keras targets``) and corpora (``sed-ctc corpus``)
are folders of many files that belong together. :func:`staged_folder`
builds such a folder under a temporary name beside its place and moves it
there only once it is complete, so that a process killed at any moment
leaves the old folder or the new one, never a mix, and a failed build
leaves nothing that blocks the retry. An existing folder is replaced only
when asked (``overwrite``).

The swap is two renames (the old folder aside, the new one in); a kill
between them leaves the complete new folder under its temporary name,
which :func:`recover_folder` (called by :func:`staged_folder` and by the
readers) moves into place.

Example:
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp()) / "store"
    >>> with staged_folder(root) as stage:
    ...     _ = (stage / "data.txt").write_text("new")
    >>> sorted(p.name for p in root.parent.iterdir())
    ['store']
"""

import contextlib
import errno
import gc
import os
import shutil
import tempfile
from pathlib import Path

#: The file that marks a staged folder as complete.
COMPLETE = ".complete"


#: What marks the temporary files of :func:`atomic_file` (hidden, named
#: ``.<name>.<random>.part<suffixes>``); :func:`partial_files` finds them.
PART = ".part"


def partial_files(folder):
    """The temporary files that writes killed before their rename left in
    ``folder`` and below (:func:`atomic_file`): safe to delete while no
    process writes there."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return [p for p in folder.rglob(f".*{PART}*") if p.is_file()]


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_file(path):
    """Yields a temporary path beside ``path`` (unique, ending in ``path``'s
    suffixes, e.g. ``.weights.h5``, so writers that check them accept it);
    renames it to ``path`` when the block ends, removes it when the block
    raises (Ctrl-C included). The folder is made if missing. A path that
    exists and is not a regular file (``/dev/stdout``, a pipe) is written
    in place.

    Example:
        >>> folder = Path(tempfile.mkdtemp())
        >>> with atomic_file(folder / "a.txt") as tmp:
        ...     _ = tmp.write_text("done")
        >>> sorted(p.name for p in folder.iterdir())
        ['a.txt']
        >>> oct((folder / "a.txt").stat().st_mode & 0o666 | _umask())
        '0o666'
    """
    path = Path(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        yield path
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                suffix=PART + "".join(path.suffixes))
    os.close(fd)
    tmp = Path(name)
    code = None
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
        return
    except Exception as err:
        code = write_error_code(err)
        if code is None:
            tmp.unlink(missing_ok=True)
            raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    # A full disk or an unwritable folder: the writer's error (from HDF5 or
    # TensorFlow, many lines, naming the temporary file) is dropped with its
    # traceback, so that its half-open handles close now, not at exit.
    gc.collect()
    tmp.unlink(missing_ok=True)
    raise OSError(code, os.strerror(code), str(path))


#: The messages of write failures from writers that do not raise OSError
#: with an errno (HDF5, TensorFlow's file system).
_WRITE_MESSAGES = {"No space left on device": errno.ENOSPC,
                   "Disk quota exceeded": errno.EDQUOT,
                   "Read-only file system": errno.EROFS,
                   "Permission denied": errno.EACCES,
                   "Operation not permitted": errno.EPERM}


def write_error_code(err):
    """The errno of a failed write (a full disk, a read-only or protected
    folder), from ``err.errno`` or from the message of a writer that has
    none (h5py, TensorFlow); None for any other error.

    Example:
        >>> write_error_code(RuntimeError("file write failed: errno = 28, "
        ...                               "error message = 'No space left "
        ...                               "on device'")) == errno.ENOSPC
        True
    """
    code = getattr(err, "errno", None)
    if code in _WRITE_MESSAGES.values():
        return code
    text = str(getattr(err, "message", None) or err)
    return next((c for m, c in _WRITE_MESSAGES.items() if m in text), None)


def check_space(folder, nbytes):
    """Raises ``OSError`` (ENOSPC, naming ``folder``) when ``folder``'s file
    system has fewer than ``nbytes`` free. Called before writing HDF5 files,
    whose library crashes the process at exit when the disk fills during a
    write, whatever the caller does with the error."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if free < nbytes:
        raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} (needs "
                      f"{nbytes / 2**20:.1f} MiB, {free / 2**20:.1f} MiB "
                      "free)", str(folder))


def hdf5_room(arrays):
    """The bytes to have free before writing ``arrays`` (anything with
    ``shape`` and ``dtype``) to an HDF5 file: their size, a tenth more, and
    a MiB for the file's structure."""
    import numpy as np
    size = sum(int(np.prod(a.shape)) * np.dtype(getattr(a.dtype, "name",
                                                        a.dtype)).itemsize
               for a in arrays)
    return int(size * 1.1) + 2 ** 20


def save_weights(model, path):
    """``model.save_weights`` to ``path`` through :func:`atomic_file`, once
    :func:`check_space` has found room for it."""
    check_space(Path(path).parent, hdf5_room(model.weights))
    with atomic_file(path) as tmp:
        model.save_weights(tmp)
    return Path(path)


def write_text(path, text):
    """Writes ``text`` (UTF-8) to ``path`` through :func:`atomic_file`;
    returns ``path``."""
    try:
        with atomic_file(path) as tmp:
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                f.write(text)
                f.flush()
                if tmp != Path(path):
                    os.fsync(f.fileno())
    except OSError as err:
        if err.filename is None and err.errno is not None:   # a device
            raise OSError(err.errno, err.strerror, str(path)) from None
        raise
    return Path(path)


def _stages(path, kind):
    return sorted(path.parent.glob(f".{path.name}.{kind}-*"))


def _alive(pid):
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError):
        return False
    return True


def recover_folder(path):
    """Finishes or undoes a swap a killed process left half done: with
    ``path`` missing, a complete staged folder takes its place (else the
    old one moved aside comes back); staged folders of dead processes are
    removed. Returns ``path``."""
    path = Path(path)
    if not path.parent.is_dir():
        return path
    for kind in ("building", "old"):
        for stage in _stages(path, kind):
            pid = stage.name.rsplit("-", 1)[-1]
            if _alive(pid) and int(pid) != os.getpid():
                continue
            if not path.exists() and (kind == "old" or
                                      (stage / COMPLETE).exists()):
                (stage / COMPLETE).unlink(missing_ok=True)
                os.rename(stage, path)
            else:
                shutil.rmtree(stage, ignore_errors=True)
    return path


@contextlib.contextmanager
def staged_folder(path, overwrite=False, flag="overwrite=True (--overwrite)"):
    """Yields a new empty folder beside ``path``; when the block ends
    without an error it replaces ``path`` (see the module docstring), when
    it raises (or is interrupted) it is removed.

    Raises:
        FileExistsError: when ``path`` exists and is not empty and not
            ``overwrite`` (the message names ``flag``); nothing is touched.
    """
    path = recover_folder(path)
    if path.is_file():
        raise FileExistsError(f"{path} is a file, not a folder; choose "
                              "another path")
    if path.exists() and any(path.iterdir()) and not overwrite:
        raise FileExistsError(f"{path} exists and is not empty; choose a new "
                              f"folder, or pass {flag} to replace it (it is "
                              "replaced only once the new one is complete)")
    path.parent.mkdir(parents=True, exist_ok=True)
    stage = path.with_name(f".{path.name}.building-{os.getpid()}")
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        yield stage
        (stage / COMPLETE).touch()
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    old = path.with_name(f".{path.name}.old-{os.getpid()}")
    if path.exists():
        os.rename(path, old)
    os.rename(stage, path)
    (path / COMPLETE).unlink(missing_ok=True)
    shutil.rmtree(old, ignore_errors=True)


__all__ = ["COMPLETE", "PART", "atomic_file", "check_space", "hdf5_room",
           "partial_files", "recover_folder", "save_weights", "staged_folder",
           "write_error_code", "write_text"]
