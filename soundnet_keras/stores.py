"""Folders written whole: built beside their place, then swapped in.

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
import os
import shutil
from pathlib import Path

#: The file that marks a staged folder as complete.
COMPLETE = ".complete"


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


__all__ = ["COMPLETE", "recover_folder", "staged_folder"]
