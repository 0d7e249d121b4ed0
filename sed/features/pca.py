"""Descriptors reduced by a PCA fitted on the training split: the common
part of the low-level kinds (:class:`sed.features.LowLevel`,
:class:`sed.features.OpenSmile`).

A subclass gives ``kind``, ``RECIPE`` (a JSON-able dict with
``n_components``; part of the cache key), ``sample_rate`` and
``describe(waveform) -> (values (T, D) float64, times (T,))``. :meth:`PCAFeature.fit` standardises
the descriptors (z-scores) and keeps the first principal components of the
training windows; :meth:`PCAFeature.transform` projects, without rescaling
the components (their variances are the PCA's eigenvalues, largest first).

Example:
    >>> import tempfile, soundfile
    >>> class Toy(PCAFeature):
    ...     kind, RECIPE = "toy", dict(version=1, n_components=1)
    ...     sample_rate = 16000
    ...     def describe(self, waveform):  # mean, twice the mean, 3 frames
    ...         x = waveform.reshape(3, -1).mean(axis=1)[:, None]
    ...         return np.hstack([x, 2 * x]), np.arange(3) / 10
    >>> path = tempfile.mktemp(suffix=".wav")
    >>> soundfile.write(path, np.repeat([0.0, 0.25, 0.5], 160), 16000)
    >>> values, times = Toy().fit([path]).transform(path)
    >>> values.astype(float).round(2).ravel().tolist()
    [-1.73, 0.0, 1.73]
"""

import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..cache import check_finite, sanitise_kind, sha256_text, write_npz


class PCAFeature:
    """Descriptors standardised and projected on their first principal
    components, all fitted on the training recordings only.

    Args:
        n_components: the output dimension (default the recipe's).
        workers: processes that compute descriptors while fitting (1: none).
    """

    kind = None
    RECIPE = None
    #: Whether the training normaliser may scale each output dimension to
    #: unit variance (which whitens the PCA's output).
    whiten = True
    #: Whether descriptors are always computed in a worker process (by
    #: ``compute_descriptors``), away from libraries the caller has loaded.
    isolated = False

    def __init__(self, n_components=None, workers=1):
        n = self.RECIPE["n_components"] if n_components is None \
            else n_components
        self.n_components = int(n)
        self.workers = int(workers)
        self.recipe = dict(self.RECIPE, n_components=self.n_components)
        self.mean = self.scale = self.components = None
        self.explained_variance_ratio = None
        self.n_windows = 0

    def describe(self, waveform):
        """``(values (T, D) float64, times (T,))`` of a waveform at
        ``sample_rate``, before the PCA (T may be 0)."""
        raise NotImplementedError

    def compute_descriptors(self, path):
        """:meth:`describe` of a recording, read at ``sample_rate``, in this
        process.

        Raises:
            ValueError: when the recording is shorter than one frame.
        """
        from soundnet_keras import load_audio
        waveform = load_audio(path, self.sample_rate)
        values, times = self.describe(waveform)
        if len(values) == 0:
            raise ValueError(
                f"{path}: {len(waveform) / self.sample_rate:.3f} s of audio "
                f"is shorter than one {self.kind} frame")
        return values, times

    def descriptors(self, path):
        """``(values (T, D) float64, times (T,))`` of a recording before the
        PCA; computed in a worker process for ``isolated`` kinds."""
        if self.isolated:
            return process_pool(self.workers).submit(
                self.compute_descriptors, path).result()
        return self.compute_descriptors(path)

    def descriptors_of(self, paths, progress=False, desc=None):
        """Yields the descriptors of each path, in order; in ``workers``
        processes when there are more than one (or the kind is
        ``isolated``)."""
        paths = list(paths)
        bar = dict(total=len(paths), desc=desc or self.kind, unit="rec",
                   disable=not progress, leave=False)
        if self.isolated or self.workers > 1:
            work = process_pool(self.workers).map(self.compute_descriptors,
                                                  paths)
        else:
            work = map(self.compute_descriptors, paths)
        yield from tqdm(work, **bar)

    def map(self, paths):
        """Yields :meth:`transform` of each path, in order (descriptors in
        ``workers`` processes); :class:`sed.cache.FeatureCache` uses it."""
        self._check_fitted()
        paths = list(paths)
        for path, (x, times) in zip(paths, self.descriptors_of(paths)):
            yield self._project(x, path), times

    def fit(self, paths, progress=False):
        """Fits the standardisation and the PCA on ``paths`` (the training
        recordings only); returns self."""
        n, total, outer = 0, 0.0, 0.0
        paths = [Path(p) for p in paths]
        for path, (x, _) in zip(paths, self.descriptors_of(
                paths, progress, f"{self.kind} PCA")):
            check_finite(x, path, f"{self.kind} descriptor")
            n += len(x)
            total = total + x.sum(axis=0)
            outer = outer + x.T @ x
        if n < 2:
            raise ValueError(f"fitting the {self.kind} PCA needs at least "
                             "two frames of training audio")
        mean = total / n
        cov = outer / n - np.outer(mean, mean)
        scale = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        scale[scale < 1e-8] = 1.0
        corr = cov / np.outer(scale, scale)
        eigval, eigvec = np.linalg.eigh(corr)
        order = np.argsort(eigval)[::-1][:self.n_components]
        components = eigvec[:, order].T
        # Deterministic signs: the largest loading of each component > 0.
        pivot = np.abs(components).argmax(axis=1)
        components *= np.sign(components[np.arange(len(components)), pivot]
                              )[:, None]
        self.mean, self.scale, self.components = mean, scale, components
        self.explained_variance_ratio = (np.clip(eigval[order], 0, None)
                                         / max(eigval.sum(), 1e-12))
        self.n_windows = n
        return self

    @property
    def fitted(self):
        return self.components is not None

    def _check_fitted(self):
        if not self.fitted:
            name = type(self).__name__
            raise ValueError(f"the {self.kind} PCA is not fitted: call "
                             f"{name}().fit(training_paths) or "
                             f"{name}.load(path) first")

    @property
    def weights_sha256(self):
        """Hash of the recipe and the fitted PCA: part of the cache key."""
        self._check_fitted()
        return sha256_text(json.dumps(self.recipe, sort_keys=True),
                           self.mean, self.scale, self.components)

    def transform(self, path):
        """``(values (T, n_components) float32, times (T,))`` of one
        recording.

        Raises:
            NonFiniteFeatures: when a value is NaN or infinite.
        """
        self._check_fitted()
        x, times = self.descriptors(path)
        return self._project(x, path), times

    def _project(self, x, path):
        values = ((x - self.mean) / self.scale) @ self.components.T
        return check_finite(values.astype(np.float32), path, self.kind)

    __call__ = transform

    def save(self, path):
        """Writes the fitted PCA (and the recipe) to an ``.npz`` file."""
        self._check_fitted()
        return write_npz(path, mean=self.mean, scale=self.scale,
                         components=self.components,
                         explained_variance_ratio=(
                             self.explained_variance_ratio),
                         n_windows=np.int64(self.n_windows),
                         recipe=np.str_(json.dumps(self.recipe,
                                                   sort_keys=True)))

    @classmethod
    def load(cls, path):
        """Reads a PCA written by :meth:`save`; refuses another recipe."""
        with np.load(path, allow_pickle=False) as data:
            recipe = json.loads(str(data["recipe"]))
            out = cls(n_components=recipe["n_components"])
            if recipe != out.recipe:
                raise ValueError(
                    f"{path} was fitted with another {cls.kind} recipe "
                    f"(version {recipe.get('version')}; this code has "
                    f"{out.recipe['version']}): fit it again")
            out.mean, out.scale = data["mean"], data["scale"]
            out.components = data["components"]
            out.explained_variance_ratio = data["explained_variance_ratio"]
            out.n_windows = int(data["n_windows"])
        for name in ("mean", "scale", "components"):
            check_finite(np.atleast_2d(getattr(out, name)), path,
                         f"{cls.kind} PCA {name}")
        return out


_POOL = None


def process_pool(workers):
    """A pool of ``workers`` processes, kept for reuse by this process.

    They are forked from a fresh "forkserver" process that has imported
    ``opensmile`` (when installed) and :mod:`sed.features` first: openSMILE's
    library corrupts the heap (``malloc(): invalid size``) in a process that
    imported TensorFlow before it, and each worker imports the caller's
    ``__main__``, which may import TensorFlow, only afterwards. (The server
    is shared by the whole process: started earlier by other code, it keeps
    that code's preloads.)
    """
    global _POOL
    workers = max(1, int(workers))
    if _POOL is None or _POOL._max_workers != workers:
        if _POOL is not None:
            _POOL.shutdown()
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["opensmile", "sed.features"])
        _POOL = ProcessPoolExecutor(workers, mp_context=context)
    return _POOL


def pca_factory(cls):
    """The :func:`sed.features.register_kind` factory of a
    :class:`PCAFeature` subclass: fits on ``fit_paths``, or reads the PCA
    saved in the cache for the same recipe and training recordings."""

    def factory(kind, weights, fit_paths, cache, progress, workers):
        if fit_paths is None:
            raise ValueError(
                f"the {kind!s} feature needs the training recordings to fit "
                "its PCA on: pass fit_paths= (or a corpus, whose train "
                "split is used)")
        fit_paths = [Path(p) for p in fit_paths]
        if not fit_paths:
            raise ValueError(f"fit_paths is empty: the {kind!s} PCA needs "
                             "training recordings")
        if cache is None:
            return cls(workers=workers).fit(fit_paths, progress=progress)
        fit_set = sha256_text(json.dumps(cls.RECIPE, sort_keys=True),
                              *sorted(cache.audio_sha256(p)
                                      for p in fit_paths))
        path = cache.root / sanitise_kind(kind) / f"pca-{fit_set[:16]}.npz"
        if path.is_file():
            feature = cls.load(path)
            feature.workers = int(workers)
            return feature
        feature = cls(workers=workers).fit(fit_paths, progress=progress)
        feature.save(path)
        return feature

    return factory


__all__ = ["PCAFeature", "pca_factory", "process_pool"]
