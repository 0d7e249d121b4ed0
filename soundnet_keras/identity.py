"""Run identity: what a run, a store or a published result was made from.

One record for every resumable thing (detector runs, distillation and
trunk runs, and the histories published from them): a dict of named parts
(``config``, ``data``, ``targets``, ``features``, ...), each a SHA-256
digest of what it names. A run folder keeps its identity with its
checkpoint (:class:`soundnet_keras.runs.RunFolder`: in
``checkpoint/latest.json``, and in the history); resuming, extending or
publishing over something of another identity is refused with the
one-line message of :func:`identity_problem`, which names the parts that
differ, both digests and the flag that forces it. The code's version is recorded
(``code``) but never compared: a run may be resumed by a later version of
the project. Target stores, written whole and never extended, keep theirs in
``meta.json`` (the clip manifest, the teacher, the settings), and a run made
from a store records the store's digest; a feature cache names each file by
its key (feature kind, extractor weights, audio bytes: :mod:`sed.cache`),
checked on every read, so a file of other inputs is never used.

Example:
    >>> saved = identity(config={"lr": 3.0}, data="abc")
    >>> identity_problem(saved, identity(config={"lr": 3.0}, data="abc"),
    ...                  "runs/x", "--force-resume") is None
    True
    >>> identity_problem(saved, identity(config={"lr": 3.0}, data="xyz"),
    ...                  "runs/x", "--force-resume")
    'runs/x was made from other inputs: data differs (there abc, now xyz); use another folder, or --force-resume to go on with these'
"""

import hashlib
import json
from pathlib import Path

#: Parts recorded but never compared.
RECORDED_ONLY = ("code",)


def digest(value):
    """The SHA-256 (hex) of a JSON-able value, keys sorted (of a string:
    of its text).

    Example:
        >>> digest({"b": 1, "a": [1, 2]}) == digest({"a": [1, 2], "b": 1})
        True
    """
    text = value if isinstance(value, str) else json.dumps(
        value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def files_digest(*paths):
    """The SHA-256 of files' names and bytes, in the order given; a
    missing file counts as empty."""
    sha = hashlib.sha256()
    for path in paths:
        path = Path(path)
        sha.update(path.name.encode("utf-8") + b"\0")
        if path.is_file():
            sha.update(path.read_bytes())
        sha.update(b"\0")
    return sha.hexdigest()


def code_version():
    """This package's version and the checkout's commit (when known)."""
    from . import __version__
    from .provenance import _git
    commit = _git("rev-parse", "HEAD")
    return f"{__version__}+{commit[:12]}" if commit else __version__


def identity(**parts):
    """An identity record: ``{part: digest}``, a string value taken as a
    digest already, any other value digested (:func:`digest`), plus
    ``code`` (:func:`code_version`, recorded only)."""
    record = {name: value if isinstance(value, str) else digest(value)
              for name, value in parts.items()}
    record.setdefault("code", code_version())
    return record


def differences(saved, current):
    """The compared parts whose digests differ (a part only one side has
    counts as differing, unless the saved record predates it)."""
    return [name for name in sorted(set(saved) | set(current))
            if name not in RECORDED_ONLY and name in saved
            and saved.get(name) != current.get(name)]


def identity_problem(saved, current, where, flag):
    """The one-line message refusing ``current`` where ``saved`` (an
    identity record, or None for none recorded) differs in a compared
    part, or None when they agree: it names ``where``, the parts, both
    digests (12 characters) and ``flag``, the option that forces it.
    :class:`soundnet_keras.runs.RunFolder` raises it as a ``RunError``."""
    changed = differences(saved or {}, current) if saved else []
    if not changed:
        return None
    parts = "; ".join(
        f"{name} differs (there {str(saved.get(name))[:12]}, now "
        f"{str(current.get(name))[:12]})" for name in changed)
    return (f"{where} was made from other inputs: {parts}; use another "
            f"folder, or {flag} to go on with these")


__all__ = ["RECORDED_ONLY", "identity_problem", "code_version", "differences",
           "digest", "files_digest", "identity"]
