"""The built-in synthetic corpus: 17 procedurally synthesised event types.

Built in seconds, for tests and demos (:func:`make_default_corpus`).

Example:
    >>> import tempfile
    >>> corpus = make_default_corpus(tempfile.mkdtemp(), minutes=1, seed=0)
    >>> len(corpus.classes), corpus.sample_rate, len(corpus.files("train"))
    (17, 16000, 3)
    >>> list(corpus.events("val").columns)
    ['filename', 'onset', 'offset', 'event_label']
"""

from functools import lru_cache

import numpy as np
import scipy.signal

from .layout import (SAMPLE_RATE, check_size, class_summary, load_corpus,
                     prepare_output)
from .mixer import MS, Event, build, fade, finish, pink_noise

#: The event types of :func:`make_default_corpus`, in class order.
DEFAULT_CLASSES = [
    "low_tone", "high_tone", "rising_chirp", "falling_chirp",
    "harmonic_buzz", "hollow_tone", "bell", "white_noise", "rumble", "hiss",
    "band_noise", "click_train", "crackle", "tremolo", "siren", "trill",
    "beeps"]


@lru_cache(maxsize=None)
def _sos(kind, low, high=None):
    edges = low if high is None else (low, high)
    return scipy.signal.butter(4, edges, btype=kind, fs=SAMPLE_RATE,
                               output="sos")


def synthesise(label, n, rng):
    """``n`` samples of one synthetic event type (unit-ish peak).

    Example:
        >>> synthesise("bell", 1600, np.random.default_rng(0)).shape
        (1600,)
    """
    sr = SAMPLE_RATE
    t = np.arange(n) / sr
    d = n / sr
    u = rng.uniform

    def tone(freq):
        return np.sin(2 * np.pi * np.cumsum(np.broadcast_to(freq, (n,))) / sr
                      + u(0, 2 * np.pi))

    if label == "low_tone":
        return tone(u(150, 300))
    if label == "high_tone":
        return tone(u(2000, 4000))
    if label in ("rising_chirp", "falling_chirp"):
        f0, f1 = u(200, 500), u(2500, 5000)
        if label == "falling_chirp":
            f0, f1 = f1, f0
        return tone(f0 * (f1 / f0) ** (t / d))
    if label in ("harmonic_buzz", "hollow_tone"):
        f0 = u(80, 160) if label == "harmonic_buzz" else u(300, 600)
        step = 1 if label == "harmonic_buzz" else 2
        ks = np.arange(1, int(5000 / f0) + 1, step)
        phase = 2 * np.pi * f0 * t
        return sum(np.sin(k * phase + u(0, 2 * np.pi)) / k for k in ks)
    if label == "bell":
        f0 = u(400, 900)
        env = np.exp(-3 * t / d)
        return env * sum(a * np.sin(2 * np.pi * f0 * r * t)
                         for r, a in ((1, 1), (2.76, .6), (5.4, .4),
                                      (8.93, .25)))
    noise = rng.standard_normal(n)
    if label == "white_noise":
        return noise
    if label == "rumble":
        return scipy.signal.sosfilt(_sos("lowpass", 300.0), noise)
    if label == "hiss":
        return scipy.signal.sosfilt(_sos("highpass", 5000.0), noise)
    if label == "band_noise":
        return scipy.signal.sosfilt(_sos("bandpass", 1000.0, 2000.0), noise)
    if label in ("click_train", "crackle"):
        clicks = np.zeros(n)
        if label == "click_train":       # first and last click at the ends
            k = np.arange(int(0.005 * sr))
            ring = np.exp(-k / (0.001 * sr)) * \
                np.sin(2 * np.pi * u(1500, 3000) * (k + 0.5) / sr)
            count = max(2, int(round(d * u(8, 25))) + 1)
            clicks[np.linspace(0, n - len(k), count).astype(int)] = 1.0
        else:
            at = np.flatnonzero(rng.random(n) < u(100, 300) / sr)
            clicks[at] = rng.uniform(0.3, 1.0, at.size)
            ring = np.exp(-np.arange(int(0.002 * sr)) / (0.0004 * sr))
            clicks[0] = 1.0
            noise = scipy.signal.sosfilt(_sos("highpass", 2000.0), noise)
        out = np.convolve(clicks, ring)[:n]
        return out if label == "click_train" else out * np.abs(noise)
    if label == "tremolo":
        return (1 - 0.45 * (1 + np.sin(2 * np.pi * u(3, 8) * t))) * \
            tone(u(500, 1500))
    if label == "siren":
        return tone(u(600, 1200) + u(150, 400) *
                    np.sin(2 * np.pi * u(0.5, 2) * t))
    if label == "trill":
        return tone(u(2500, 3500) + u(150, 400) *
                    np.sin(2 * np.pi * u(15, 30) * t))
    if label == "beeps":                 # on at both ends
        period = d / (max(1, round(d * u(3, 5))) + 0.5)
        gate = (np.sin(2 * np.pi * (t + 0.5 / sr) / period) >= 0)
        return gate * tone(u(900, 1300))
    raise ValueError(f"Unknown synthetic event type {label!r}; the types "
                     f"are {DEFAULT_CLASSES}.")


def _render_default(label, rng, max_ms):
    n_ms = int(rng.integers(300, 4001))
    n_ms = min(n_ms, max_ms)
    x = np.asarray(synthesise(label, n_ms * SAMPLE_RATE // MS, rng),
                   dtype=np.float64)
    x /= max(np.abs(x).max(), 1e-12)
    return Event(label, fade(x, SAMPLE_RATE).astype(np.float32))


def _pink_background(low_dbfs, high_dbfs):
    def background(n, rng):
        level = 10 ** (rng.uniform(low_dbfs, high_dbfs) / 20)
        return pink_noise(n, rng) * np.float32(level), []
    return background


def make_default_corpus(path, minutes=10, seed=0, *, overwrite=False,
                        density=0.9, max_polyphony=3, snr_db=(6.0, 20.0)):
    """Builds the built-in synthetic corpus (tests, demos); returns it loaded.

    17 procedurally synthesised event types of clearly different character
    (:data:`DEFAULT_CLASSES`: pure low and high tones, rising and falling
    chirps, a buzzy and a hollow harmonic stack, a decaying inharmonic bell,
    white, low-passed, high-passed and band-passed noise bursts, a click
    train, crackle, amplitude- and frequency-modulated tones, a trill and
    pulsed beeps), each with random parameters, 0.3-4 s long, at random
    onsets over pink background noise (-50 to -40 dBFS) at an SNR drawn from
    ``snr_db``; at most ``max_polyphony`` events at once. 16 kHz, 16-bit WAV.

    Recordings last 30-60 s, scaled so they add up to ``minutes`` (at least
    five recordings, then shorter), and are split 3:1:1 by duration.
    Annotations are exact: each event's onset and offset are the first and
    last sample it was synthesised on, on a 1 ms grid. The same seed gives
    bit-identical files.

    Args:
        path: the output folder (new or empty).
        minutes: total duration.
        seed: the random seed.
        overwrite: replace a corpus already in ``path``.
        density: total event duration per second of recording (before
            polyphony limits); 0.9 leaves about 40% of the time silent.
        max_polyphony: the most events active at once.
        snr_db: the range of event-to-background ratios (dB; the event's
            :func:`event_level` over the background's RMS).

    Returns:
        The :class:`Corpus`, loaded with :func:`load_corpus`.
    """
    check_size(minutes, unit="minutes")
    with prepare_output(path, overwrite) as root:
        _make_default(root, minutes, seed, density, max_polyphony, snr_db)
    return load_corpus(path)


def _make_default(root, minutes, seed, density, max_polyphony, snr_db):
    total = float(minutes) * 60
    n = max(5, int(round(total / 45)))
    parameters = dict(minutes=minutes, n_recordings=n, density=density,
                      max_polyphony=max_polyphony, snr_db=list(snr_db),
                      background_dbfs=[-50.0, -40.0],
                      background="pink noise", event_seconds=[0.3, 4.0],
                      recording_seconds=[30.0, 60.0])
    durations, splits, events, _ = build(
        root, "default", DEFAULT_CLASSES, n, total, (30.0, 60.0), seed,
        lambda split: _render_default,
        lambda split: _pink_background(-50.0, -40.0), density,
        max_polyphony, snr_db, progress=False)
    summary = class_summary(events, DEFAULT_CLASSES)
    summary["sources"] = "synthesised"
    sources = [{"name": "sed.corpora.make_default_corpus",
                "licence": "generated; no third-party material",
                "from": f"procedural synthesis, seed {seed}"}]
    finish(root, "default", DEFAULT_CLASSES, seed, durations, splits,
            events, sources, parameters, summary)


__all__ = ["DEFAULT_CLASSES", "make_default_corpus", "synthesise"]
