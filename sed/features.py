"""Frame-level features for sound event detection, aligned with the labels.

Every feature kind turns one recording into ``(values (T, D) float32, times
(T,) seconds)``, ``times`` being the centre of each frame. Labels reach the
frames through these times only (:func:`frame_labels`), so nothing assumes a
frame rate of exactly 10 Hz.

Kinds (Wang & Metze 2017, Table 4), named ``prefix[:layer]``:

* ``lowlevel``: 50 low-level acoustic descriptors at 10 Hz (:class:`LowLevel`).
  The paper takes them from its reference [6] without a recipe; this one is
  an interpretation: short-frame descriptors summarised over 100 ms and
  reduced to 50 dimensions by a PCA fitted on the training split only.
* ``soundnet8:<layer>`` (default ``conv5``): the pretrained SoundNet-8 on
  22,050 Hz input; conv5 runs at about 10.77 Hz.
* ``snf:<layer>``, ``snr:<layer>`` (default ``pool5``): the paper's 16 kHz,
  10 Hz variants SN-F and SN-R; pass their trained ``weights=``.

New kinds join through :func:`register_kind`. :func:`features_for` extracts a
kind over a corpus or a list of files, through the cache of
:mod:`sed.cache`; :func:`load_aligned` gives a corpus split as normalised
(features, labels) sequences, the input of the CTC-RNN. The normalisation
statistics (:class:`Normaliser`) and the low-level PCA are fitted on the
training split only.

Example:
    >>> kind = parse_kind("soundnet8")
    >>> str(kind), kind.layer
    ('soundnet8:conv5', 'conv5')
    >>> frame_labels([("bird", 0.2, 0.4)], ["bird"], [0.05, 0.15, 0.25, 0.35,
    ...                                               0.45])[:, 0]
    array([0., 0., 1., 1., 0.], dtype=float32)
"""

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple, Optional

import numpy as np
import pandas as pd
import scipy.fft
import scipy.signal
from tqdm.auto import tqdm

from .cache import FeatureCache, file_sha256, sanitise_kind, sha256_text, \
    write_npz

SPLITS = ("train", "val", "test")

#: Stands for "the kind's own default weights" in ``weights=`` arguments.
DEFAULT = "default"


# --------------------------------------------------------------------------
# Feature kinds and their registry.

@dataclass(frozen=True)
class FeatureKind:
    """A parsed feature kind: ``prefix`` and, for networks, ``layer``."""

    prefix: str
    layer: Optional[str] = None

    def __str__(self):
        return self.prefix if self.layer is None else \
            f"{self.prefix}:{self.layer}"


@dataclass(frozen=True)
class _Registration:
    factory: Callable
    default_layer: Optional[str]
    layers: Callable  # () -> the accepted layer names (empty: no layer)


_REGISTRY = {}


def register_kind(prefix, factory, default_layer=None, layers=()):
    """Adds a feature kind.

    Args:
        prefix: the kind's name before ``:``.
        factory: called as ``factory(kind, weights=..., fit_paths=...,
            cache=..., progress=...)`` with a :class:`FeatureKind`; returns an
            extractor: a callable ``path -> (values, times)`` with attributes
            ``kind`` (the kind as a string) and ``weights_sha256`` (a hash of
            everything its output depends on besides the audio).
        default_layer: the layer of a bare ``prefix``; None for kinds without
            layers.
        layers: the accepted layers, or a function returning them.
    """
    listing = layers if callable(layers) else (lambda: tuple(layers))
    _REGISTRY[prefix] = _Registration(factory, default_layer, listing)


def known_kinds():
    """The registered kind prefixes, each with its default layer.

    Example:
        >>> known_kinds()
        ['lowlevel', 'snf:pool5', 'snr:pool5', 'soundnet8:conv5']
    """
    return sorted(str(FeatureKind(p, r.default_layer))
                  for p, r in _REGISTRY.items())


def parse_kind(kind):
    """Parses ``"prefix[:layer]"`` into a :class:`FeatureKind`.

    Raises:
        ValueError: for an unknown prefix or layer; the message lists the
            known ones.

    Example:
        >>> parse_kind("soundnet8:pool5")
        FeatureKind(prefix='soundnet8', layer='pool5')
        >>> parse_kind("mfcc")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: Unknown feature kind 'mfcc'. Known kinds: lowlevel, ...
    """
    if isinstance(kind, FeatureKind):
        kind = str(kind)
    prefix, _, layer = str(kind).partition(":")
    if prefix not in _REGISTRY:
        raise ValueError(
            f"Unknown feature kind {kind!r}. Known kinds: "
            f"{', '.join(known_kinds())} (a network kind takes any of its "
            "layers after ':').")
    reg = _REGISTRY[prefix]
    layers = reg.layers()
    if not layers:
        if layer:
            raise ValueError(f"Feature kind {prefix!r} has no layers. "
                             f"Received: {kind!r}")
        return FeatureKind(prefix)
    layer = layer or reg.default_layer
    if layer not in layers:
        raise ValueError(f"Unknown layer {layer!r} for feature kind "
                         f"{prefix!r}. Layers: {', '.join(layers)}")
    return FeatureKind(prefix, layer)


def make_extractor(kind, *, weights=DEFAULT, fit_paths=None, cache=None,
                   progress=False):
    """The extractor of a feature kind (see :func:`register_kind`).

    Args:
        kind: a kind string or :class:`FeatureKind`.
        weights: for network kinds, a preset name, the path to a
            ``.weights.h5`` file, or None (random); default: the model's
            released preset (SoundNet-8 only).
        fit_paths: for ``lowlevel``, the training recordings its PCA is
            fitted on.
        cache: a :class:`sed.cache.FeatureCache` where fitted parameters are
            kept (optional).
        progress: show progress bars while fitting.
    """
    kind = parse_kind(kind)
    return _REGISTRY[kind.prefix].factory(kind, weights=weights,
                                          fit_paths=fit_paths, cache=cache,
                                          progress=progress)


# --------------------------------------------------------------------------
# Low-level acoustic descriptors.

#: The low-level recipe; its JSON is part of every low-level cache key, so
#: a change here (bump ``version``) invalidates the cached features.
LOWLEVEL_RECIPE = dict(
    version=1,
    sample_rate=16000,   # Hz; audio is resampled to it
    frame=400,           # 25 ms Hann window
    hop=160,             # 10 ms
    n_fft=512,
    n_mels=40,           # HTK mel scale, triangular filters, 0-8000 Hz
    fmin=0.0,
    fmax=8000.0,
    n_mfcc=13,           # DCT-II (orthonormal) of the log-mel energies, c0-c12
    delta_width=2,       # regression deltas over +-2 frames
    rolloff=0.85,
    log_floor=1e-10,
    window=1600,         # 100 ms summary windows: 10 Hz
    n_components=50,
)

#: Names of the short-frame descriptors, in column order.
DESCRIPTOR_NAMES = tuple(
    [f"logmel{i}" for i in range(LOWLEVEL_RECIPE["n_mels"])]
    + [f"mfcc{i}" for i in range(LOWLEVEL_RECIPE["n_mfcc"])]
    + [f"mfcc{i}_d" for i in range(LOWLEVEL_RECIPE["n_mfcc"])]
    + [f"mfcc{i}_dd" for i in range(LOWLEVEL_RECIPE["n_mfcc"])]
    + ["centroid_khz", "bandwidth_khz", "flatness", "rolloff_khz", "zcr",
       "log_energy"])

#: Names of the 10 Hz summary dimensions (mean, then std, of each descriptor).
SUMMARY_NAMES = tuple([f"{n}_mean" for n in DESCRIPTOR_NAMES]
                      + [f"{n}_std" for n in DESCRIPTOR_NAMES])


def hz_to_mel(hz):
    """HTK mel scale: ``2595 log10(1 + f / 700)``."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel):
    """Inverse of :func:`hz_to_mel`."""
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1)


def mel_filterbank(sample_rate, n_fft, n_mels, fmin=0.0, fmax=None):
    """Triangular filters, peak 1, centred evenly on the HTK mel scale.

    Returns:
        ``(n_mels, n_fft // 2 + 1)`` float64 weights over the rfft bins.

    Example:
        >>> fb = mel_filterbank(16000, 512, 40)
        >>> fb.shape, bool((fb.sum(axis=1) > 0).all())
        ((40, 257), True)
    """
    fmax = sample_rate / 2.0 if fmax is None else fmax
    hz = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    bins = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    lower, centre, upper = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    rising = (bins - lower) / (centre - lower)
    falling = (upper - bins) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling))


def deltas(x, width=2):
    """Regression deltas along axis 0 over ``+-width`` frames, edges repeated:
    ``d[t] = sum_n n (x[t+n] - x[t-n]) / (2 sum_n n^2)``.

    Example:
        >>> deltas(np.arange(6.0)[:, None])[:, 0]
        array([0.5, 0.8, 1. , 1. , 0.8, 0.5])
    """
    padded = np.pad(x, [(width, width)] + [(0, 0)] * (x.ndim - 1),
                    mode="edge")
    n = len(x)
    num = sum(k * (padded[width + k:width + k + n]
                   - padded[width - k:width - k + n])
              for k in range(1, width + 1))
    return num / (2.0 * sum(k * k for k in range(1, width + 1)))


def short_frame_descriptors(waveform, recipe=LOWLEVEL_RECIPE,
                            block=4096):
    """The 85 descriptors of each 25 ms frame (10 ms hop; see
    :data:`DESCRIPTOR_NAMES`).

    Frame ``j`` is centred at ``(j + 0.5) * hop`` samples (zero padding at
    the edges), so the ten frames of each 100 ms window centre on it. Only
    whole 100 ms windows are kept: ``10 * (len(waveform) // window)`` frames.

    Args:
        waveform: 1-D float array in [-1, 1] at ``recipe["sample_rate"]``.
        recipe: the recipe dict (:data:`LOWLEVEL_RECIPE`).
        block: frames per STFT block (bounds memory for long audio).

    Returns:
        ``(n_frames, 85)`` float64.

    Example:
        >>> short_frame_descriptors(np.zeros(16000)).shape
        (100, 85)
    """
    r = recipe
    frame, hop, window = r["frame"], r["hop"], r["window"]
    waveform = np.asarray(waveform, dtype=np.float32)
    n = (len(waveform) // window) * (window // hop)
    left = frame // 2 - hop // 2
    right = max(0, (n - 1) * hop + frame - left - len(waveform))
    padded = np.pad(waveform, (left, right))
    frames = np.lib.stride_tricks.sliding_window_view(padded, frame)[::hop]
    frames = frames[:n]
    fb = mel_filterbank(r["sample_rate"], r["n_fft"], r["n_mels"],
                        r["fmin"], r["fmax"])
    freqs = np.fft.rfftfreq(r["n_fft"], 1.0 / r["sample_rate"]) / 1000.0
    hann = scipy.signal.get_window("hann", frame)  # periodic
    floor = r["log_floor"]
    parts = []
    for start in range(0, n, block):
        x = frames[start:start + block].astype(np.float64)
        power = np.abs(np.fft.rfft(x * hann, n=r["n_fft"])) ** 2
        logmel = np.log(power @ fb.T + floor)
        mfcc = scipy.fft.dct(logmel, type=2, norm="ortho")[:, :r["n_mfcc"]]
        total = power.sum(axis=1) + floor
        centroid = power @ freqs / total
        bandwidth = np.sqrt((power * (freqs - centroid[:, None]) ** 2)
                            .sum(axis=1) / total)
        flatness = (np.exp(np.log(power + floor).mean(axis=1))
                    / (power.mean(axis=1) + floor))
        cumulative = np.cumsum(power, axis=1)
        rolloff = freqs[np.argmax(cumulative >= r["rolloff"]
                                  * cumulative[:, -1:], axis=1)]
        signs = np.signbit(x)
        zcr = (signs[:, 1:] != signs[:, :-1]).mean(axis=1)
        energy = np.log((x ** 2).mean(axis=1) + floor)
        parts.append((logmel, mfcc, np.stack(
            [centroid, bandwidth, flatness, rolloff, zcr, energy], axis=1)))
    if not parts:
        return np.zeros((0, len(DESCRIPTOR_NAMES)))
    logmel, mfcc, shape = (np.concatenate(p) for p in zip(*parts))
    d1 = deltas(mfcc, r["delta_width"])
    d2 = deltas(d1, r["delta_width"])
    return np.concatenate([logmel, mfcc, d1, d2, shape], axis=1)


def summarise(descriptors, recipe=LOWLEVEL_RECIPE):
    """Mean and standard deviation of the short-frame descriptors over each
    100 ms window: ``(T, 170)`` and the window centres ``(T,)`` in seconds.

    Example:
        >>> values, times = summarise(short_frame_descriptors(np.zeros(8000)))
        >>> values.shape, times.round(2).tolist()
        ((5, 170), [0.05, 0.15, 0.25, 0.35, 0.45])
    """
    per = recipe["window"] // recipe["hop"]
    t = len(descriptors) // per
    grouped = descriptors[:t * per].reshape(t, per, -1)
    values = np.concatenate([grouped.mean(axis=1), grouped.std(axis=1)],
                            axis=1)
    times = (np.arange(t) + 0.5) * recipe["window"] / recipe["sample_rate"]
    return values, times


class LowLevel:
    """The 50-d low-level acoustic feature at 10 Hz: descriptors, then PCA.

    Per 25 ms Hann frame (10 ms hop, 16 kHz, 512-point FFT): 40 log-mel
    energies (HTK mel, 0-8 kHz), 13 MFCCs (c0-c12) with deltas and
    delta-deltas (+-2 frames), spectral centroid, bandwidth, flatness and 85 %
    rolloff, zero-crossing rate and log energy: 85 descriptors. Their mean
    and standard deviation over each 100 ms window give 170 values at 10 Hz,
    which are standardised (z-scores) and projected on the first 50
    principal components, all fitted on the training recordings only.

    The paper takes this feature from its reference [6] and gives no recipe:
    this is an interpretation.

    Args:
        n_components: the output dimension.

    Example:
        >>> import tempfile, soundfile
        >>> path = tempfile.mktemp(suffix=".wav")
        >>> rng = np.random.default_rng(0)
        >>> soundfile.write(path, 0.1 * rng.standard_normal(32000), 16000)
        >>> values, times = LowLevel(n_components=5).fit([path])(path)
        >>> values.shape, times[:2].round(2).tolist()
        ((20, 5), [0.05, 0.15])
    """

    kind = "lowlevel"
    sample_rate = LOWLEVEL_RECIPE["sample_rate"]

    def __init__(self, n_components=LOWLEVEL_RECIPE["n_components"]):
        self.n_components = int(n_components)
        self.recipe = dict(LOWLEVEL_RECIPE, n_components=self.n_components)
        self.mean = self.scale = self.components = None
        self.explained_variance_ratio = None
        self.n_windows = 0

    def descriptors(self, path):
        """The 170 summary values at 10 Hz of one recording, before PCA.

        Returns:
            ``(values (T, 170) float64, times (T,))``.
        """
        from soundnet_keras import load_audio
        waveform = load_audio(path, self.sample_rate)
        values, times = summarise(short_frame_descriptors(waveform,
                                                          self.recipe),
                                  self.recipe)
        if len(values) == 0:
            raise ValueError(
                f"{path}: {len(waveform) / self.sample_rate:.3f} s of audio "
                "is shorter than one 100 ms low-level window")
        return values, times

    def fit(self, paths, progress=False):
        """Fits the standardisation and the PCA on ``paths`` (the training
        recordings only); returns self."""
        n, total, outer = 0, 0.0, 0.0
        for path in tqdm(list(paths), desc="lowlevel PCA", unit="rec",
                         disable=not progress, leave=False):
            x, _ = self.descriptors(path)
            n += len(x)
            total = total + x.sum(axis=0)
            outer = outer + x.T @ x
        if n < 2:
            raise ValueError("fitting the low-level PCA needs at least two "
                             "100 ms windows of training audio")
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
            raise ValueError("the low-level PCA is not fitted: call "
                             "LowLevel().fit(training_paths) or "
                             "LowLevel.load(path) first")

    @property
    def weights_sha256(self):
        """Hash of the recipe and the fitted PCA: part of the cache key."""
        self._check_fitted()
        return sha256_text(json.dumps(self.recipe, sort_keys=True),
                           self.mean, self.scale, self.components)

    def transform(self, path):
        """``(values (T, 50) float32, times (T,))`` of one recording."""
        self._check_fitted()
        x, times = self.descriptors(path)
        values = ((x - self.mean) / self.scale) @ self.components.T
        return values.astype(np.float32), times

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
                    f"{path} was fitted with another low-level recipe "
                    f"(version {recipe.get('version')}; this code has "
                    f"{out.recipe['version']}): fit it again")
            out.mean, out.scale = data["mean"], data["scale"]
            out.components = data["components"]
            out.explained_variance_ratio = data["explained_variance_ratio"]
            out.n_windows = int(data["n_windows"])
        return out


def _lowlevel_factory(kind, weights, fit_paths, cache, progress):
    if fit_paths is None:
        raise ValueError("the 'lowlevel' feature needs the training "
                         "recordings to fit its PCA on: pass fit_paths= (or "
                         "a corpus, whose train split is used)")
    fit_paths = [Path(p) for p in fit_paths]
    if not fit_paths:
        raise ValueError("fit_paths is empty: the low-level PCA needs "
                         "training recordings")
    if cache is None:
        return LowLevel().fit(fit_paths, progress=progress)
    fit_set = sha256_text(json.dumps(LOWLEVEL_RECIPE, sort_keys=True),
                          *sorted(cache.audio_sha256(p) for p in fit_paths))
    path = cache.root / sanitise_kind(kind) / f"pca-{fit_set[:16]}.npz"
    if path.is_file():
        return LowLevel.load(path)
    lowlevel = LowLevel().fit(fit_paths, progress=progress)
    lowlevel.save(path)
    return lowlevel


register_kind("lowlevel", _lowlevel_factory)


# --------------------------------------------------------------------------
# SoundNet-8 and the paper's variants.

def _build_network(prefix, weights, include_top):
    import soundnet_keras as sk
    if prefix == "soundnet8":
        return sk.SoundNet8(include_top=include_top, weights=weights)
    if prefix == "snf":
        return sk.SoundNetF(weights=weights, include_top=include_top)
    if prefix == "snr":
        return sk.SoundNetR(weights=weights, cell="gru",
                            include_top=include_top)
    raise ValueError(f"no network for feature kind {prefix!r}")


#: Model spec and default weights of each network kind.
NETWORKS = {"soundnet8": ("soundnet8", "soundnet8_flickr"),
            "snf": ("snf", "snf_standin"), "snr": ("snr", "snr_standin")}


class SoundNetFeatures:
    """Activations of one layer of SoundNet-8, SN-F or SN-R, per recording.

    The recording is read with :func:`soundnet_keras.load_audio` at the
    model's rate (22,050 Hz for SoundNet-8, 16 kHz for SN-F and SN-R),
    zero-padded if shorter than one frame, and run through one reused
    :class:`soundnet_keras.FeatureExtractor`; the frame times are the
    extractor's.

    Args:
        kind: ``"soundnet8:conv5"``, ``"snf:pool5"``, ... (or a
            :class:`FeatureKind`).
        weights: a preset name, the path to a ``.weights.h5`` file, or None
            (random initialisation, hashed by value: a new random network
            each time, so nothing cached is reused); :data:`DEFAULT` is
            SoundNet-8's released weights, and for SN-F and SN-R the
            project's distilled ``snf_standin`` and ``snr_standin``.

    Example:
        >>> import tempfile, soundfile
        >>> path = tempfile.mktemp(suffix=".wav")
        >>> soundfile.write(path, np.zeros(32000), 16000)
        >>> values, times = SoundNetFeatures("soundnet8:conv5", None)(path)
        >>> values.shape, round(float(times[1] - times[0]), 4)
        ((23, 256), 0.0929)
    """

    def __init__(self, kind="soundnet8:conv5", weights=DEFAULT):
        from soundnet_keras.weights import resolve_weights
        self.parsed = parse_kind(kind)
        self.kind = str(self.parsed)
        self.spec_name, preset = NETWORKS[self.parsed.prefix]
        if weights is DEFAULT or weights == DEFAULT:
            if preset is None:
                raise ValueError(
                    f"{self.parsed.prefix!r} has no pretrained preset yet: "
                    "pass weights= (the path to its trained .weights.h5 "
                    "file, or None for random weights)")
            weights = preset
        self.weights_path = resolve_weights(weights, model=self.spec_name)
        self.extractor, self.weights_sha256 = _network_extractor(
            self.parsed.prefix, self.parsed.layer,
            None if self.weights_path is None else str(self.weights_path),
            None if self.weights_path is None else
            file_sha256(self.weights_path))
        self.sample_rate = self.extractor.sample_rate

    def __call__(self, path):
        """``(values (T, D) float32, times (T,))`` of one recording."""
        from soundnet_keras import extract_features, load_audio
        waveform = load_audio(path, self.sample_rate, layer=self.parsed.layer,
                              pad=True, model=self.spec_name)
        return extract_features(waveform, self.sample_rate,
                                self.parsed.layer, model=self.extractor)


def _network_extractor(prefix, layer, weights_path, weights_sha):
    """A FeatureExtractor and the hash of its weights; networks with weights
    from a file are built once per (file hash, layer) in a process."""
    if weights_path is None:  # random: a new network, hashed by its values
        return _new_network_extractor(prefix, layer, None)
    return _cached_network_extractor(prefix, layer, weights_path,
                                     weights_sha)


@functools.lru_cache(maxsize=4)
def _cached_network_extractor(prefix, layer, weights_path, weights_sha):
    extractor, _ = _new_network_extractor(prefix, layer, weights_path)
    return extractor, weights_sha


def _new_network_extractor(prefix, layer, weights_path):
    from soundnet_keras import FeatureExtractor
    from soundnet_keras.specs import get_spec
    spec = get_spec(NETWORKS[prefix][0])
    heads = {row["name"] for row in spec["layers"] if row["kind"] == "head"}
    model = _build_network(prefix, weights_path,
                           include_top=layer in heads)
    extractor = FeatureExtractor(layer, model, spec=spec["name"])
    digest = sha256_text(*[np.asarray(w) for w in model.get_weights()])
    return extractor, digest


def _network_factory(kind, weights, fit_paths, cache, progress):
    return SoundNetFeatures(kind, weights)


def _network_layers(prefix):
    def layers():
        from soundnet_keras.specs import feature_layers
        return tuple(feature_layers(NETWORKS[prefix][0]))
    return layers


register_kind("soundnet8", _network_factory, "conv5",
              _network_layers("soundnet8"))
register_kind("snf", _network_factory, "pool5", _network_layers("snf"))
register_kind("snr", _network_factory, "pool5", _network_layers("snr"))


# --------------------------------------------------------------------------
# Extraction over a corpus, labels, normalisation, aligned sequences.

def _is_corpus(obj):
    return hasattr(obj, "audio_path") and hasattr(obj, "files")


def _corpus_paths(corpus, split):
    splits = SPLITS if split is None else (
        (split,) if isinstance(split, str) else tuple(split))
    return [Path(corpus.audio_path(f)) for s in splits
            for f in corpus.files(s)]


def features_for(corpus_or_paths, kind="soundnet8:conv5", cache_dir=None, *,
                 split=None, weights=DEFAULT, fit_paths=None, progress=True,
                 extractor=None):
    """Features of a kind for every recording of a corpus or a list of files.

    Each recording is computed once and cached (see :mod:`sed.cache`); later
    calls read the cache, and an interrupted call resumes where it stopped.

    Args:
        corpus_or_paths: a corpus (:func:`sed.corpora.load_corpus`) or a list of
            audio paths.
        kind: a feature kind, e.g. ``"lowlevel"`` or ``"soundnet8:conv5"``.
        cache_dir: the cache folder. Default: ``<corpus root>/features`` for
            a corpus; no cache (compute every time) for a list of paths.
        split: for a corpus, a split name or names (default: train, val and
            test, in that order).
        weights: for network kinds, see :func:`make_extractor`.
        fit_paths: training recordings for kinds that are fitted
            (``lowlevel``); default for a corpus: its train split.
        progress: show a progress bar over the recordings.
        extractor: an extractor to use instead of building one for ``kind``.

    Returns:
        A list of ``(values (T, D) float32, times (T,))``, one per recording,
        in the order of the paths (of ``corpus.files(split)``).
    """
    if _is_corpus(corpus_or_paths):
        corpus = corpus_or_paths
        paths = _corpus_paths(corpus, split)
        if fit_paths is None:
            fit_paths = _corpus_paths(corpus, "train")
        if cache_dir is None:
            cache_dir = Path(corpus.root) / "features"
    else:
        paths = [Path(p) for p in corpus_or_paths]
    cache = FeatureCache(cache_dir) if cache_dir is not None else None
    if extractor is None:
        extractor = make_extractor(kind, weights=weights, fit_paths=fit_paths,
                                   cache=cache, progress=progress)
    if cache is None:
        return [extractor(p) for p in tqdm(paths, desc=str(extractor.kind),
                                           unit="rec", leave=False,
                                           disable=not progress)]
    return cache.features(extractor, paths, progress=progress)


def frame_labels(events, classes, times):
    """The 0/1 activity of each class at each frame.

    An event is active at frame ``t`` iff ``onset <= times[t] < offset``:
    labels follow the feature's own frame centres, at any frame rate.

    Args:
        events: a DataFrame with columns ``event_label``, ``onset``,
            ``offset`` (seconds), or an iterable of ``(label, onset,
            offset)``.
        classes: the event labels in corpus order (the columns).
        times: the frame centres in seconds, ``(T,)``.

    Returns:
        ``(T, len(classes))`` float32 of zeros and ones.

    Raises:
        ValueError: for a label not in ``classes``.

    Example:
        >>> t = (np.arange(6) + 0.5) / 10       # 10 Hz centres 0.05 ... 0.55
        >>> frame_labels([("a", 0.15, 0.35), ("b", 0.5, 9)], ["a", "b"], t)
        array([[0., 0.],
               [1., 0.],
               [1., 0.],
               [0., 0.],
               [0., 0.],
               [0., 1.]], dtype=float32)
    """
    times = np.asarray(times, dtype=np.float64)
    classes = list(classes)
    index = {c: i for i, c in enumerate(classes)}
    if isinstance(events, pd.DataFrame):
        rows = zip(events["event_label"], events["onset"], events["offset"])
    else:
        rows = events
    out = np.zeros((len(times), len(classes)), dtype=np.float32)
    for label, onset, offset in rows:
        if label not in index:
            raise ValueError(f"event label {label!r} is not one of the "
                             f"classes {classes}")
        out[(times >= onset) & (times < offset), index[label]] = 1.0
    return out


class Normaliser:
    """Per-dimension standardisation with statistics of the training split.

    Dimensions with (near) zero spread keep a scale of 1.

    Example:
        >>> norm = Normaliser().fit([np.array([[0.0, 5.0], [2.0, 5.0]])])
        >>> norm.mean.tolist(), norm.std.tolist()
        ([1.0, 5.0], [1.0, 1.0])
        >>> norm(np.array([[3.0, 5.0]])).tolist()
        [[2.0, 0.0]]
    """

    def __init__(self, mean=None, std=None):
        self.mean = None if mean is None else np.asarray(mean, np.float64)
        self.std = None if std is None else np.asarray(std, np.float64)

    def fit(self, arrays):
        """Fits on an iterable of ``(T, D)`` arrays (training split only);
        returns self."""
        n, total, squares = 0, 0.0, 0.0
        for values in arrays:
            values = np.asarray(values, dtype=np.float64)
            n += len(values)
            total = total + values.sum(axis=0)
            squares = squares + (values ** 2).sum(axis=0)
        if n == 0:
            raise ValueError("Normaliser.fit needs at least one frame")
        self.mean = total / n
        std = np.sqrt(np.clip(squares / n - self.mean ** 2, 0.0, None))
        std[std < 1e-6] = 1.0
        self.std = std
        return self

    def __call__(self, values):
        """Standardised ``values`` as float32."""
        if self.mean is None:
            raise ValueError("the Normaliser is not fitted")
        return ((np.asarray(values) - self.mean) / self.std).astype(
            np.float32)

    def save(self, path):
        """Writes ``mean`` and ``std`` to an ``.npz`` file."""
        return write_npz(path, mean=self.mean, std=self.std)

    @classmethod
    def load(cls, path):
        """Reads a normaliser written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            return cls(data["mean"], data["std"])


class AlignedSequence(NamedTuple):
    """One recording ready for the CTC-RNN.

    Attributes:
        features: ``(T, D)`` float32, normalised with training statistics.
        labels: ``(T, n_classes)`` 0/1 activity (:func:`frame_labels`).
        events: the recording's events (``filename, onset, offset,
            event_label``).
        times: ``(T,)`` frame centres in seconds.
        filename: the recording's name in the corpus.
    """

    features: np.ndarray
    labels: np.ndarray
    events: pd.DataFrame
    times: np.ndarray
    filename: str


def load_aligned(corpus, kind="soundnet8:conv5", split="train",
                 cache_dir=None, *, weights=DEFAULT, progress=True):
    """A corpus split as aligned, normalised (features, labels) sequences.

    Features come from the cache (computed on first use). The normaliser is
    fitted on the training split's features only, saved as
    ``normaliser-<hash of the training set>.npz`` beside the cached features,
    and applied to every split.

    Args:
        corpus: a corpus (:func:`sed.corpora.load_corpus`).
        kind: the feature kind.
        split: ``"train"``, ``"val"`` or ``"test"``.
        cache_dir: the cache folder (default ``<corpus root>/features``).
        weights: for network kinds, see :func:`make_extractor`.
        progress: show progress bars.

    Returns:
        A list of :class:`AlignedSequence`, in the order of
        ``corpus.files(split)``.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}. Received: "
                         f"split={split!r}")
    cache = FeatureCache(cache_dir if cache_dir is not None
                         else Path(corpus.root) / "features")
    train_paths = _corpus_paths(corpus, "train")
    extractor = make_extractor(kind, weights=weights, fit_paths=train_paths,
                               cache=cache, progress=progress)
    train_set = sha256_text(*sorted(cache.audio_sha256(p)
                                    for p in train_paths))
    norm_path = (cache.folder(extractor.kind, extractor.weights_sha256)
                 / f"normaliser-{train_set[:16]}.npz")
    train = None
    if norm_path.is_file():
        normaliser = Normaliser.load(norm_path)
    else:
        train = cache.features(extractor, train_paths, progress=progress)
        normaliser = Normaliser().fit(v for v, _ in train)
        normaliser.save(norm_path)
    if split == "train" and train is not None:
        computed = train
    else:
        computed = cache.features(extractor, _corpus_paths(corpus, split),
                                  progress=progress)
    events = corpus.events(split)
    out = []
    for filename, (values, times) in zip(corpus.files(split), computed):
        mine = events[events["filename"] == filename].reset_index(drop=True)
        out.append(AlignedSequence(normaliser(values),
                                   frame_labels(mine, corpus.classes, times),
                                   mine, times, filename))
    return out


__all__ = ["AlignedSequence", "DEFAULT", "DESCRIPTOR_NAMES", "FeatureKind",
           "LOWLEVEL_RECIPE", "LowLevel", "Normaliser", "SoundNetFeatures",
           "SUMMARY_NAMES", "features_for", "frame_labels", "known_kinds",
           "load_aligned", "make_extractor", "mel_filterbank", "parse_kind",
           "register_kind"]
