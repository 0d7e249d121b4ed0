"""openSMILE emobase functionals at 10 Hz, reduced by a PCA (kind
``opensmile``): low-level features of the kind of the paper's reference [6].

The authors' earlier system on the same corpus used 983 openSMILE
functionals, close to the emobase set (988 = 52 descriptors x 19
functionals); [6]'s 50-d feature was most likely a PCA of such a set. The
paper gives its dimension and rate (50, 10 Hz) but not the window of the
functionals, so the framing is this project's interpretation:

1. emobase's 26 low-level descriptors (intensity, loudness, MFCC 1-12, LSP
   0-7, zero-crossing rate, voicing probability, F0, F0 envelope; 25 ms
   frames every 10 ms, smoothed over 3 frames) from the ``opensmile``
   package, and their deltas (+-2 frames, as emobase's own), for the whole
   recording at 16 kHz; the last three frames are left out, as openSMILE's
   own functionals leave them out;
2. the 19 emobase functionals of these 52 contours over a window of
   ``window`` seconds (default 1.0) centred on each 10 Hz frame: frame ``k``
   is centred at ``(k + 0.5) / 10`` s and summarises the descriptor frames
   whose centres lie within +-0.5 s of it; at the recording's edges the
   window is cut to the audio there is (no padding);
3. z-scores and the first 50 principal components, fitted on the training
   split only, and not whitened: the components keep their variances, the
   PCA's eigenvalues, largest first (``whiten = False`` tells the training
   :class:`sed.features.Normaliser` to centre them and divide all by one
   common scale).

Step 2 is computed here with NumPy over all windows at once; it equals the
``opensmile`` package's emobase functionals over the same descriptor frames
(tested to float32 precision).

Example:
    >>> len(FUNCTIONALS), OPENSMILE_RECIPE["window"]
    (19, 1.0)
    >>> lo, hi = window_bounds(n_lld=300, n_frames=30)
    >>> [int(i) for i in (lo[10], hi[10], lo[0], hi[0], hi[-1])]
    [54, 154, 0, 54, 300]
"""

import functools

import numpy as np

from .kinds import register_kind
from .lowlevel import deltas
from .pca import PCAFeature, pca_factory, process_pool

#: The openSMILE recipe; its JSON is part of every ``opensmile`` cache key,
#: so a change here (bump ``version``) invalidates the cached features.
OPENSMILE_RECIPE = dict(
    version=1,
    feature_set="emobase",  # opensmile.FeatureSet
    sample_rate=16000,      # Hz; audio is resampled to it
    lld_hop=160,            # samples: emobase's 10 ms frame step
    lld_frame=400,          # samples: its 25 ms frames (frame centres)
    delta_width=2,          # emobase's delta regression window
    drop_last=3,            # descriptor frames openSMILE's functionals skip
    hop=1600,               # samples: 10 Hz output frames
    window=1.0,             # seconds of descriptors per functional window
    n_components=50,
)

#: emobase's functionals, in openSMILE's column order (per descriptor).
FUNCTIONALS = ("max", "min", "range", "maxPos", "minPos", "amean",
               "linregc1", "linregc2", "linregerrA", "linregerrQ", "stddev",
               "skewness", "kurtosis", "quartile1", "quartile2", "quartile3",
               "iqr1-2", "iqr2-3", "iqr1-3")


def _import_opensmile():
    try:
        import opensmile
    except ImportError as error:
        raise ImportError(
            "the 'opensmile' feature needs the opensmile package: "
            "pip install 'soundnet-keras[opensmile]' (or pip install "
            "opensmile)") from error
    return opensmile


@functools.lru_cache(maxsize=2)
def _smile(feature_set):
    opensmile = _import_opensmile()
    return opensmile.Smile(opensmile.FeatureSet[feature_set],
                           opensmile.FeatureLevel.LowLevelDescriptors)


def isolated(function, *args):
    """``function(*args)`` in a worker process that imported openSMILE
    before anything else (:func:`sed.features.pca.process_pool`): openSMILE's
    library corrupts the heap (``malloc(): invalid size``, then an abort) in
    a process that imported TensorFlow before it.
    """
    return process_pool(1).submit(function, *args).result()


def descriptor_names(recipe=OPENSMILE_RECIPE):
    """The 52 contours: emobase's descriptors, then their deltas."""
    names = list(_smile(recipe["feature_set"]).feature_names)
    return names + [n.replace("_sma", "_sma_de") for n in names]


def reference_functionals(waveform, recipe=OPENSMILE_RECIPE):
    """openSMILE's own emobase functionals of a whole clip, through the
    ``opensmile`` API: ``(988,)`` float32. Run it :func:`isolated`."""
    opensmile = _import_opensmile()
    smile = opensmile.Smile(opensmile.FeatureSet[recipe["feature_set"]],
                            opensmile.FeatureLevel.Functionals)
    return smile.process_signal(np.asarray(waveform, dtype=np.float32),
                                recipe["sample_rate"]).to_numpy()[0]


def emobase_contours(waveform, recipe=OPENSMILE_RECIPE):
    """emobase's descriptors and their deltas at 100 Hz, as openSMILE's own
    emobase functionals see them. Run it :func:`isolated` in a process that
    may have loaded TensorFlow.

    Args:
        waveform: 1-D float array at ``recipe["sample_rate"]``.

    Returns:
        ``(N, 52)`` float64.
    """
    lld = _smile(recipe["feature_set"]).process_signal(
        np.asarray(waveform, dtype=np.float32), recipe["sample_rate"])
    lld = lld.to_numpy(dtype=np.float64)
    both = np.concatenate([lld, deltas(lld, recipe["delta_width"])], axis=1)
    return both[:max(0, len(both) - recipe["drop_last"])]


def functionals(x):
    """emobase's 19 functionals of each contour over axis 1.

    Args:
        x: ``(B, N, D)``: B windows of N frames of D contours.

    Returns:
        ``(B, D * 19)`` float64, openSMILE's column order (the functionals
        of contour 0, then of contour 1, ...).

    Example:
        >>> functionals(np.arange(5.0)[None, :, None]).round(2).tolist()[0][:6]
        [4.0, 0.0, 4.0, 4.0, 0.0, 2.0]
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    n = x.shape[1]
    top, bottom = x.max(axis=1), x.min(axis=1)
    mean = x.mean(axis=1)
    centred = x - mean[:, None]
    t = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
    spread = max(float((t * t).sum()), 1e-300)
    slope = np.einsum("t,btd->bd", t, centred) / spread
    offset = mean - slope * (n - 1) / 2.0
    error = centred - slope[:, None] * t[None, :, None]
    squares = centred * centred
    variance = squares.mean(axis=1)
    std = np.sqrt(variance)
    positive = variance > 0
    safe = np.where(positive, variance, 1.0)
    skewness = np.where(positive, (squares * centred).mean(axis=1)
                        / (safe * np.sqrt(safe)), 0.0)
    kurtosis = np.where(positive, (squares * squares).mean(axis=1)
                        / (safe * safe), 0.0)
    ordered = np.sort(x, axis=1)

    def quantile(q):  # linear interpolation between order statistics
        position = q * (n - 1)
        low = int(np.floor(position))
        high = min(low + 1, n - 1)
        weight = position - low
        return ordered[:, low] * (1 - weight) + ordered[:, high] * weight

    q1, q2, q3 = quantile(0.25), quantile(0.5), quantile(0.75)
    out = np.stack([top, bottom, top - bottom, x.argmax(axis=1),
                    x.argmin(axis=1), mean, slope, offset,
                    np.abs(error).mean(axis=1), (error * error).mean(axis=1),
                    std, skewness, kurtosis, q1, q2, q3, q2 - q1, q3 - q2,
                    q3 - q1], axis=-1)
    return out.reshape(len(x), -1)


def window_bounds(n_lld, n_frames, recipe=OPENSMILE_RECIPE):
    """The descriptor frames ``[lo[k], hi[k])`` of each 10 Hz frame ``k``:
    those whose centres lie in ``[c_k - window/2, c_k + window/2)`` with
    ``c_k = (k + 0.5) * hop``, cut to ``[0, n_lld)``."""
    r = recipe
    centre = (np.arange(n_frames) * 2 + 1) * r["hop"] // 2   # samples
    half = int(round(r["window"] * r["sample_rate"])) // 2
    first = r["lld_frame"] // 2                  # centre of frame 0
    lo = -((first - centre + half) // r["lld_hop"])    # ceil division
    hi = -((first - centre - half) // r["lld_hop"])
    return np.clip(lo, 0, n_lld), np.clip(hi, 0, n_lld)


def functionals_at_10hz(contours, n_frames, recipe=OPENSMILE_RECIPE,
                        block=256):
    """The functionals over the window of each 10 Hz frame.

    Args:
        contours: ``(N, D)`` from :func:`emobase_contours`.
        n_frames: the number of 10 Hz frames.
        block: windows per vectorised step (bounds memory).

    Returns:
        ``(n_frames, D * 19)`` float64.
    """
    lo, hi = window_bounds(len(contours), n_frames, recipe)
    if n_frames and (hi <= lo).any():
        raise ValueError("a 10 Hz frame has no openSMILE descriptor frames "
                         "in its window")
    out = np.empty((n_frames, contours.shape[1] * len(FUNCTIONALS)))
    width = int(np.max(hi - lo)) if n_frames else 0
    full = np.flatnonzero(hi - lo == width)
    if len(full):
        windows = np.lib.stride_tricks.sliding_window_view(
            contours, width, axis=0)              # (N - width + 1, D, width)
        for start in range(0, len(full), block):
            index = full[start:start + block]
            out[index] = functionals(windows[lo[index]].transpose(0, 2, 1))
    for k in np.flatnonzero(hi - lo != width):   # cut at the edges
        out[k] = functionals(contours[None, lo[k]:hi[k]])[0]
    return out


class OpenSmile(PCAFeature):
    """The 50-d openSMILE feature at 10 Hz: emobase functionals over a
    window centred on each frame, then a PCA (not whitened).

    See the module's docstring for the recipe. Needs the ``opensmile``
    package (``pip install 'soundnet-keras[opensmile]'``).

    Args:
        n_components: the output dimension.
        workers: processes that compute descriptors while fitting and
            extracting (openSMILE runs on one core).

    Example:
        >>> import tempfile, soundfile
        >>> wav = tempfile.mktemp(suffix=".wav")
        >>> chirp = np.sin(2 * np.pi * np.cumsum(np.linspace(200, 2000, 24000))
        ...                / 16000)
        >>> soundfile.write(wav, 0.3 * chirp, 16000)
        >>> feature = OpenSmile(n_components=3).fit([wav])
        >>> feature(wav)[0].shape, feature.whiten
        ((15, 3), False)
    """

    kind = "opensmile"
    RECIPE = OPENSMILE_RECIPE
    sample_rate = OPENSMILE_RECIPE["sample_rate"]
    whiten = False
    isolated = True

    def describe(self, waveform):
        """The 988 functionals at 10 Hz of a 16 kHz waveform, before the
        PCA: ``(values (T, 988) float64, times (T,))``, T the number of whole
        100 ms frames. Computed in a worker process by :meth:`descriptors`
        (see :func:`isolated`)."""
        r = self.recipe
        n_frames = len(waveform) // r["hop"]
        times = (np.arange(n_frames) + 0.5) * r["hop"] / r["sample_rate"]
        if n_frames == 0:
            return np.zeros((0, 52 * len(FUNCTIONALS))), times
        values = functionals_at_10hz(emobase_contours(waveform, r), n_frames,
                                     r)
        return values, times


register_kind("opensmile", pca_factory(OpenSmile))

__all__ = ["FUNCTIONALS", "OPENSMILE_RECIPE", "OpenSmile",
           "descriptor_names", "emobase_contours", "functionals",
           "functionals_at_10hz", "isolated", "reference_functionals",
           "window_bounds"]
