"""The project's own 50-d low-level acoustic feature at 10 Hz (kind
``lowlevel``).

Short-frame descriptors (log-mel, MFCC with deltas, spectral shape), their
mean and standard deviation over each 100 ms window, then a PCA fitted on
the training split (:class:`sed.features.pca.PCAFeature`). The paper takes
its low-level feature from its reference [6] without a recipe: this one is
an interpretation. The training normaliser standardises each PCA component
(``whiten = True``), as in the committed Table 4 runs.

Example:
    >>> short_frame_descriptors(np.zeros(16000)).shape
    (100, 85)
"""

import numpy as np
import scipy.fft
import scipy.signal

from .kinds import register_kind
from .pca import PCAFeature, pca_factory


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
    grouped = descriptors[:t * per].reshape(t, per, descriptors.shape[1])
    values = np.concatenate([grouped.mean(axis=1), grouped.std(axis=1)],
                            axis=1)
    times = (np.arange(t) + 0.5) * recipe["window"] / recipe["sample_rate"]
    return values, times




class LowLevel(PCAFeature):
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
        workers: processes that compute descriptors while fitting.

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
    RECIPE = LOWLEVEL_RECIPE
    sample_rate = LOWLEVEL_RECIPE["sample_rate"]

    def describe(self, waveform):
        """The 170 summary values at 10 Hz of a 16 kHz waveform, before the
        PCA: ``(values (T, 170) float64, times (T,))``."""
        return summarise(short_frame_descriptors(waveform, self.recipe),
                         self.recipe)


register_kind("lowlevel", pca_factory(LowLevel))

__all__ = ["DESCRIPTOR_NAMES", "LOWLEVEL_RECIPE", "LowLevel", "SUMMARY_NAMES",
           "deltas", "hz_to_mel", "mel_filterbank", "mel_to_hz", "summarise",
           "short_frame_descriptors"]
