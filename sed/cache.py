"""A feature cache on disk: one file per recording, feature kind and weights.

Features are written once and reused by later runs. A cached file is found by
its key, the triple

* the feature kind (``"lowlevel"``, ``"soundnet8:conv5"``, ...),
* the sha256 of the extractor's parameters (the weights file of a SoundNet
  kind; for ``lowlevel``, a hash of the recipe and the fitted PCA),
* the sha256 of the audio file's bytes,

laid out as

    <cache_dir>/<kind>/<weights_sha256[:12]>/<audio_sha256[:16]>.npz

(``kind`` with ``:`` and other unsafe characters replaced by ``_``). Each file
holds ``values`` (T, D) float32, ``times`` (T,) seconds and the full key,
which is checked on every read; a file whose key differs, or that cannot be
read, or that holds a NaN or infinite value, is computed again and replaced
(with a warning naming the recording and the file). Features just computed
are checked too: non-finite values raise :class:`NonFiniteFeatures` naming
the recording, before anything is stored, trained or evaluated. New weights or changed audio give a new
key, hence a new file: nothing stale is ever returned.

Files are written through :func:`soundnet_keras.stores.atomic_file` (a
hidden temporary name in the same folder, renamed with :func:`os.replace`,
which is atomic), so a run that is
interrupted leaves either a complete file or none under the final name, and a
later run resumes with the recordings not yet cached. Temporary files are
never read; :meth:`FeatureCache.remove_partial` deletes leftovers.

Example:
    >>> import tempfile
    >>> cache = FeatureCache(tempfile.mkdtemp())
    >>> key = CacheKey("demo:layer", "ab" * 32, "cd" * 32)
    >>> cache.path(key).relative_to(cache.root).as_posix()
    'demo_layer/abababababab/cdcdcdcdcdcdcdcd.npz'
    >>> cache.load(key) is None
    True
    >>> _ = cache.save(key, np.ones((3, 2)), np.arange(3) / 10)
    >>> cache.load(key)[0].shape
    (3, 2)
"""

import hashlib
import os
import re
import warnings
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
from tqdm.auto import tqdm

from soundnet_keras.weights import sha256 as file_sha256

#: Version of the cache file format; part of every stored key.
FORMAT_VERSION = 1

__all__ = ["CacheKey", "FeatureCache", "NonFiniteFeatures", "check_finite",
           "file_sha256", "sanitise_kind", "sha256_text", "write_npz",
           "FORMAT_VERSION"]


class NonFiniteFeatures(ValueError):
    """Features with NaN or infinite values: a fault of the recording or of
    the extractor, raised before anything trains or is evaluated on them."""


def check_finite(values, source, kind):
    """Returns ``values`` if every one is finite; raises otherwise.

    Args:
        values: a ``(T, D)`` array.
        source: the recording (its path or name), for the message.
        kind: the feature kind, for the message.

    Raises:
        NonFiniteFeatures: naming the recording, the kind and the first bad
            frames.

    Example:
        >>> check_finite(np.array([[0.0, np.nan], [1.0, 2.0]]), "a.wav",
        ...              "lowlevel")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        sed.cache.NonFiniteFeatures: a.wav: the lowlevel features have 1 ...
    """
    finite = np.isfinite(values)
    if finite.all():
        return values
    frames = np.flatnonzero(~finite.reshape(len(values), -1).all(axis=1))
    raise NonFiniteFeatures(
        f"{source}: the {kind} features have {int((~finite).sum())} "
        f"non-finite values (NaN or inf) in {len(frames)} of {len(values)} "
        f"frames (first: {frames[:5].tolist()}). The recording or the "
        "extractor is at fault, not training: check the audio file (silent, "
        "clipped or damaged) and the extractor's weights.")


def sanitise_kind(kind):
    """A feature kind as a folder name: unsafe characters become ``_``.

    Example:
        >>> sanitise_kind("soundnet8:conv5")
        'soundnet8_conv5'
    """
    return re.sub(r"[^A-Za-z0-9.-]+", "_", str(kind))


def sha256_text(*parts):
    """The hex sha256 of strings and arrays, each length-prefixed.

    Arrays contribute their dtype, shape and bytes, so equal values of
    different dtype or shape hash differently.

    Example:
        >>> sha256_text("a", "b") == sha256_text("ab")
        False
    """
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            part = np.ascontiguousarray(part)
            head = f"{part.dtype.str}{part.shape}".encode()
            data = head + part.tobytes()
        else:
            data = str(part).encode()
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def write_npz(path, **arrays):
    """Writes an ``.npz`` file atomically: to a temporary file in the same
    folder, synced, then renamed over ``path``. Readers see the old file, the
    new one, or none, never a partial one.

    Example:
        >>> import tempfile
        >>> path = write_npz(Path(tempfile.mkdtemp()) / "a" / "x.npz", x=[1])
        >>> np.load(path)["x"].tolist(), os.listdir(path.parent)
        ([1], ['x.npz'])
    """
    from soundnet_keras.stores import atomic_file
    path = Path(path)
    with atomic_file(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
    return path


class CacheKey(NamedTuple):
    """What identifies one cached feature file."""

    kind: str
    weights_sha256: str
    audio_sha256: str


class FeatureCache:
    """Features on disk under ``root``, keyed by :class:`CacheKey`.

    Args:
        root: the cache folder (created on first write).

    Attributes:
        hits, misses: recordings loaded from and computed into the cache by
            :meth:`features` since this object was made.
    """

    def __init__(self, root):
        self.root = Path(root)
        self.hits = 0
        self.misses = 0
        self._audio_hashes = {}

    def folder(self, kind, weights_sha256):
        """The folder of one feature kind computed with one set of weights."""
        return self.root / sanitise_kind(kind) / weights_sha256[:12]

    def path(self, key):
        """Where the file of ``key`` lives."""
        return (self.folder(key.kind, key.weights_sha256)
                / f"{key.audio_sha256[:16]}.npz")

    def audio_sha256(self, path):
        """The sha256 of an audio file's bytes (remembered by this object
        while the file's size and modification time stay the same)."""
        path = Path(path)
        stat = path.stat()
        memo = (str(path.resolve()), stat.st_size, stat.st_mtime_ns,
                stat.st_ino)
        if memo not in self._audio_hashes:
            self._audio_hashes[memo] = file_sha256(path)
        return self._audio_hashes[memo]

    def load(self, key):
        """``(values, times)`` stored under ``key``, or None when there is no
        complete file whose stored key equals ``key`` and whose values are
        all finite."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                stored = CacheKey(str(data["kind"]),
                                  str(data["weights_sha256"]),
                                  str(data["audio_sha256"]))
                if (stored != key
                        or int(data["format_version"]) != FORMAT_VERSION):
                    return None
                values = data["values"]
                times = data["times"]
        except (OSError, ValueError, KeyError, EOFError,
                zipfile.BadZipFile):
            return None
        if values.ndim != 2 or times.shape != (len(values),):
            return None
        if not (np.isfinite(values).all() and np.isfinite(times).all()):
            return None
        return values, times

    def save(self, key, values, times, source=None):
        """Writes ``(values, times)`` under ``key`` atomically; returns the
        path. ``source`` (the audio file's name) is stored for reference."""
        values = np.asarray(values, dtype=np.float32)
        times = np.asarray(times, dtype=np.float64)
        if values.ndim != 2 or times.shape != (len(values),):
            raise ValueError(f"expected values (T, D) and times (T,), got "
                             f"{values.shape} and {times.shape}")
        path = self.path(key)
        write_npz(path, values=values, times=times, kind=np.str_(key.kind),
                  weights_sha256=np.str_(key.weights_sha256),
                  audio_sha256=np.str_(key.audio_sha256),
                  format_version=np.int64(FORMAT_VERSION),
                  source=np.str_(source or ""))
        return path

    def features(self, extractor, paths, progress=True):
        """Features of each audio file, from the cache or computed and cached.

        Args:
            extractor: a callable ``path -> (values, times)`` with attributes
                ``kind`` and ``weights_sha256`` (the extractors of
                :mod:`sed.features`).
            paths: audio files.
            progress: show a progress bar over the recordings.

        Returns:
            A list of ``(values (T, D) float32, times (T,))``, in the order of
            ``paths``.

        Raises:
            NonFiniteFeatures: when the extractor gives NaN or inf for a
                recording (nothing is stored for it).
        """
        paths = [Path(p) for p in paths]
        keys = [CacheKey(str(extractor.kind), extractor.weights_sha256,
                         self.audio_sha256(path)) for path in paths]
        out = [self.load(key) for key in keys]
        missing = [i for i, found in enumerate(out) if found is None]
        for i in missing:
            self._warn_if_stale(keys[i], paths[i])
        self.hits += len(paths) - len(missing)
        # Extractors with a ``map`` (the PCA kinds) may compute in processes.
        compute = getattr(extractor, "map", None) or (
            lambda todo: map(extractor, todo))
        bar = tqdm(total=len(paths), initial=len(paths) - len(missing),
                   desc=str(extractor.kind), unit="rec", disable=not progress,
                   leave=False)
        with bar:
            for i, (values, times) in zip(missing, compute(
                    [paths[i] for i in missing])):
                found = (check_finite(np.asarray(values, dtype=np.float32),
                                      paths[i], extractor.kind),
                         np.asarray(times, dtype=np.float64))
                self.save(keys[i], *found, source=paths[i].name)
                out[i] = found
                self.misses += 1
                bar.update()
                bar.set_postfix(cached=self.hits, computed=self.misses,
                                refresh=False)
        return out

    def fill(self, extractor, paths, progress=True):
        """Caches several kinds computed together, each under the key
        :meth:`features` reads for it; a recording is computed once when
        any of its kinds is not cached, and only those are written.

        Args:
            extractor: a callable ``path -> [(values, times), ...]``, one
                per kind of its attribute ``kinds``, with the attribute
                ``weights_sha256`` (:class:`sed.features.SoundNetLayers`).
            paths: audio files.
            progress: show a progress bar over the recordings.

        Returns:
            A dict kind -> the number of recordings computed for it.

        Raises:
            NonFiniteFeatures: when a kind of a recording has NaN or inf
                (nothing is stored for it).
        """
        kinds = [str(kind) for kind in extractor.kinds]
        paths = [Path(p) for p in paths]
        todo, written = [], dict.fromkeys(kinds, 0)
        for path in paths:
            keys = [CacheKey(kind, extractor.weights_sha256,
                             self.audio_sha256(path)) for kind in kinds]
            missing = {key for key in keys if self.load(key) is None}
            for key in missing:
                self._warn_if_stale(key, path)
            if missing:
                todo.append((path, keys, missing))
        label = kinds[0] + (f" +{len(kinds) - 1}" if len(kinds) > 1 else "")
        for path, keys, missing in tqdm(todo, desc=label, unit="rec",
                                        disable=not progress, leave=False):
            for key, (values, times) in zip(keys, extractor(path)):
                if key in missing:
                    values = check_finite(np.asarray(values, np.float32),
                                          path, key.kind)
                    self.save(key, values, times, source=path.name)
                    written[key.kind] += 1
        self.hits += len(paths) - len(todo)
        self.misses += len(todo)
        return written

    def _warn_if_stale(self, key, path):
        if self.path(key).is_file():
            warnings.warn(
                f"{Path(path).name}: the cached {key.kind} features "
                f"{self.path(key)} are unreadable, stale or hold "
                "non-finite values: computing them again", stacklevel=3)

    def size_bytes(self, kind=None):
        """Disk space of the cached files (of one kind, or all)."""
        folder = self.root / sanitise_kind(kind) if kind else self.root
        if not folder.exists():
            return 0
        return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())

    def remove_partial(self):
        """Deletes temporary files left by interrupted writes; returns how
        many. Call it only while no other process writes to this cache."""
        from soundnet_keras.stores import partial_files
        stale = partial_files(self.root)
        for p in stale:
            p.unlink(missing_ok=True)
        return len(stale)
