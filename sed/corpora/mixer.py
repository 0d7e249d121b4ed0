"""The scene mixer shared by the generated corpora, and the 3:1:1 splitter.

A recording is a background plus events placed at random onsets (at most
``max_polyphony`` at once). Each event is annotated from its own energy
envelope (:func:`energy_span`: from the first to the last 10 ms frame
within 30 dB of its loudest frame), so quiet attacks and decays sound but
are not annotated; each event's level (:func:`event_level`) is set an
event-to-background ratio (EBR) above the background's RMS.

Example:
    >>> x = np.concatenate([np.zeros(800), np.ones(1600), np.zeros(400)])
    >>> energy_span(x, 16000)
    (800, 2400)
    >>> names = split_3_1_1(np.ones(100), np.random.default_rng(0))
    >>> [names.count(s) for s in SPLITS]
    [60, 20, 20]
"""

import json

import numpy as np
import pandas as pd
import scipy.signal
import soundfile

from ..events import COLUMNS, empty_events, merge_overlaps, write_tsv
from .layout import SAMPLE_RATE, SPLIT_RATIO, SPLITS, polyphony_shares, \
    write_json

MS = 1000           # the time grid of placements: 1 ms
#: An event's annotated span: the 10 ms frames within this many dB of its
#: loudest frame (:func:`energy_span`).
SPAN_DB = -30.0
FRAME_S = 0.01


def energy_span(x, sample_rate, threshold_db=SPAN_DB, frame_s=FRAME_S):
    """The span of a signal's 10 ms frames within ``threshold_db`` of its
    loudest frame: ``(start, stop)`` samples, frame-aligned (the last frame
    may be short); ``(0, 0)`` for silence.

    The corpora annotate an event from its start of the first such frame
    to the end of the last (rule :data:`SPAN_DB`, -30 dB).
    """
    x = np.asarray(x, dtype=np.float64)
    hop = max(1, int(round(frame_s * sample_rate)))
    n = (len(x) + hop - 1) // hop
    if n == 0:
        return 0, 0
    padded = np.zeros(n * hop)
    padded[:len(x)] = x
    power = (padded.reshape(n, hop) ** 2).mean(axis=1)
    if power.max() == 0:
        return 0, 0
    loud = np.flatnonzero(power >= power.max() * 10 ** (threshold_db / 10))
    return int(loud[0]) * hop, min(len(x), (int(loud[-1]) + 1) * hop)


def fade(x, sample_rate, seconds=0.005):
    """Raised-cosine fade in and out (in place), to avoid clicks."""
    n = min(int(seconds * sample_rate), len(x) // 2)
    if n > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)
        x[:n] *= ramp
        x[len(x) - n:] *= ramp[::-1]
    return x


def rms(x):
    """The root mean square of a signal."""
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def event_level(x, sample_rate=16000, frame_s=FRAME_S, within_db=20.0):
    """An event's level: the RMS over its active 10 ms frames.

    Active frames are those within ``within_db`` of the loudest frame, so
    the pauses of a sparse event (keystrokes, beeps) do not lower its level.
    The mixer sets event-to-background ratios with this level.

    Example:
        >>> x = np.zeros(1600); x[:160] = 1.0      # 10 ms on, 90 ms off
        >>> float(event_level(x))
        1.0
    """
    x = np.asarray(x, dtype=np.float64)
    hop = max(1, int(round(frame_s * sample_rate)))
    n = len(x) // hop
    if n == 0:
        return rms(x) if len(x) else 0.0
    power = (x[:n * hop].reshape(n, hop) ** 2).mean(axis=1)
    active = power >= power.max() * 10 ** (-within_db / 10)
    return float(np.sqrt(power[active].mean()))


def pink_noise(n, rng):
    """``n`` samples of pink (1/f power) noise with unit RMS.

    White Gaussian noise through the 3-pole, 3-zero pinking filter of
    J. O. Smith, *Spectral Audio Signal Processing* ("Example: Synthesis of
    1/F Noise"), within about 0.5 dB of 1/f above 10 Hz at 16 kHz.
    """
    b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
    a = [1.0, -2.494956002, 2.017265875, -0.522189400]
    settle = 4000
    white = rng.standard_normal(n + settle)
    pink = scipy.signal.lfilter(b, a, white)[settle:]
    return (pink / rms(pink)).astype(np.float32)


def recording_lengths(total_s, n, low_s, high_s, rng):
    """``n`` durations (whole ms) from U(low, high) scaled to ``total_s``."""
    raw = rng.uniform(low_s, high_s, size=n)
    ms = np.floor(raw * (total_s * MS / raw.sum())).astype(np.int64)
    ms[: int(round(total_s * MS)) - ms.sum()] += 1
    return ms


def split_3_1_1(weights, rng):
    """Split names for items of the given weights, 3:1:1 by total weight.

    The one splitter of the corpora (recordings by duration, source
    material by duration). Items in random order go to the split furthest
    below its share of the total; every split gets at least one item (with
    three or more items).
    """
    weights = np.asarray(weights, dtype=np.float64)
    target = np.array(SPLIT_RATIO, dtype=np.float64) / sum(SPLIT_RATIO) \
        * weights.sum()
    got = np.zeros(3)
    out = [None] * len(weights)
    order = rng.permutation(len(weights))
    for rank, i in enumerate(order):
        empty = [k for k in range(3) if got[k] == 0]
        left = len(order) - rank
        k = int(np.argmax(target - got)) if len(empty) < left else \
            max(empty, key=lambda j: target[j] - got[j])
        out[i] = SPLITS[k]
        got[k] += weights[i]
    return out


class Event:
    """A rendered event: its signal, annotated span and provenance.

    Attributes:
        label: the class.
        signal: float32 samples at 16 kHz (a whole number of ms).
        span: ``(start, stop)`` samples of the annotated part
            (:func:`energy_span`).
        pieces: provenance, one ``(package, source_path, source_start,
            source_end)`` per source segment used (seconds in the source).
    """

    def __init__(self, label, signal, span=None, pieces=()):
        self.label = label
        self.signal = signal
        self.span = span if span is not None else (0, len(signal))
        self.pieces = list(pieces)


def place_events(n_ms, classes, render, rng, density, max_polyphony,
                 min_gap_s=0.2, max_attempts=8):
    """Draws and places events in a recording of ``n_ms`` milliseconds.

    Classes are drawn uniformly; each event is rendered (``render(label,
    rng, max_ms)`` returns an :class:`Event` or None) and given up to
    ``max_attempts`` uniform onsets: the first at which at most
    ``max_polyphony - 1`` other annotated events are active throughout its
    annotated span and no event of the same class lies within ``min_gap_s``
    is kept. Drawing stops when the annotated spans add up to ``density``
    times the recording.

    Returns:
        A list of ``(onset_ms, Event)``.
    """
    active = np.zeros(n_ms, dtype=np.int8)
    taken = {c: np.zeros(n_ms, dtype=bool) for c in classes}
    gap = int(min_gap_s * MS)
    hop = SAMPLE_RATE // MS
    placed, budget = [], density * n_ms
    used, tries = 0, 0
    while used < budget and tries < 50 + 20 * budget / MS:
        tries += 1
        label = classes[rng.integers(len(classes))]
        event = render(label, rng, n_ms)
        if event is None:
            continue
        length = len(event.signal) // hop
        if length <= 0 or length > n_ms:
            continue
        a, b = event.span[0] // hop, -(-event.span[1] // hop)
        for _ in range(max_attempts):
            start = int(rng.integers(0, n_ms - length + 1))
            near = taken[label][max(0, start + a - gap):start + b + gap]
            if active[start + a:start + b].max() < max_polyphony and \
                    not near.any():
                active[start + a:start + b] += 1
                taken[label][start + a:start + b] = True
                placed.append((start, event))
                used += b - a
                break
    return placed


def mix(background, placed, rng, ebr_db):
    """The background plus each event at a random EBR above it.

    Args:
        background: float32 samples (its RMS is the reference level).
        placed: ``(onset_ms, Event)`` pairs.
        rng: draws the EBRs.
        ebr_db: the range of event-to-background ratios (dB; the event's
            :func:`event_level` over the background's RMS).

    Returns:
        ``(audio float32, rows)``; rows are ``(onset, offset, label, Event)``
        of the annotated spans (s). A mix that would clip is scaled down
        (ratios are kept).
    """
    out = np.array(background, dtype=np.float32)
    level = rms(out)
    rows = []
    hop = SAMPLE_RATE // MS
    for start_ms, event in sorted(placed, key=lambda p: p[0]):
        ebr = rng.uniform(*ebr_db)
        gain = level * 10 ** (ebr / 20) / max(event_level(event.signal),
                                                1e-12)
        start = start_ms * hop
        out[start:start + len(event.signal)] += \
            (gain * event.signal).astype(np.float32)
        rows.append(((start + event.span[0]) / SAMPLE_RATE,
                     (start + event.span[1]) / SAMPLE_RATE, event.label,
                     event))
    peak = float(np.abs(out).max()) if len(out) else 0.0
    if peak > 0.99:
        out *= np.float32(0.99 / peak)
    return out, rows


def build(root, kind, classes, n_recordings, total_s, length_range, seed,
          render_for_split, background_for_split, density, max_polyphony,
          ebr_db, progress):
    """Draws recordings, mixes and writes them.

    ``render_for_split(split)`` gives the event renderer of a split and
    ``background_for_split(split)`` a function ``(n_samples, rng) ->
    (float32 background, pieces)``, ``pieces`` being ``(start_s, stop_s,
    package, source_path, source_start, source_end)``.

    Returns:
        ``(durations, splits, events, provenance)``; ``provenance`` is a
        DataFrame of every event's and background's sources (the columns of
        ``sources.tsv``).
    """
    n_recordings = max(5, int(n_recordings))
    lengths = recording_lengths(total_s, n_recordings, *length_range,
                                np.random.default_rng([seed, 1]))
    split_of = split_3_1_1(lengths, np.random.default_rng([seed, 2]))
    width = max(4, len(str(n_recordings)))
    names = [f"{kind}_{i:0{width}d}.wav" for i in range(n_recordings)]
    rows = {s: [] for s in SPLITS}
    provenance = []
    iterator = range(n_recordings)
    if progress:
        from tqdm.auto import tqdm
        iterator = tqdm(iterator, desc=f"{kind} corpus", unit="recording")
    for i in iterator:
        rng = np.random.default_rng([seed, 3, i])
        split = split_of[i]
        n_ms = int(lengths[i])
        placed = place_events(n_ms, classes, render_for_split(split), rng,
                              density, max_polyphony)
        background, pieces = background_for_split(split)(
            n_ms * SAMPLE_RATE // MS, rng)
        audio, events = mix(background, placed, rng, ebr_db)
        soundfile.write(str(root / "audio" / names[i]), audio, SAMPLE_RATE,
                        subtype="PCM_16", format="WAV")
        rows[split] += [(names[i], on, off, lab)
                        for on, off, lab, _ in events]
        for on, off, lab, event in events:
            provenance += [(names[i], round(on, 3), round(off, 3), lab, split,
                            *piece) for piece in event.pieces]
        provenance += [(names[i], round(a, 3), round(b, 3), "background",
                        split, *rest) for a, b, *rest in pieces]
    durations = {name: int(ms) / MS for name, ms in zip(names, lengths)}
    splits = {s: [n for n, t in zip(names, split_of) if t == s]
              for s in SPLITS}
    events = {}
    for split in SPLITS:
        frame = pd.DataFrame(rows[split], columns=COLUMNS) if rows[split] \
            else empty_events()
        events[split] = merge_overlaps(frame)
        write_tsv(events[split], root / f"{split}.tsv")
    provenance = pd.DataFrame(provenance, columns=SOURCE_COLUMNS)
    return durations, splits, events, provenance


#: The columns of ``sources.tsv``.
SOURCE_COLUMNS = ["filename", "onset", "offset", "event_label", "split",
                  "package", "source_path", "source_start", "source_end"]


def finish(root, kind, classes, seed, durations, splits, events, sources,
           parameters, summary, extra=None):
    """Writes summary.csv and, last, metadata.json."""
    all_events = pd.concat(list(events.values()), ignore_index=True)
    shares = polyphony_shares(all_events, durations)
    per_split = {s: polyphony_shares(events[s], {f: durations[f]
                                                 for f in splits[s]})
                 for s in SPLITS}
    summary.to_csv(root / "summary.csv", index=False, lineterminator="\n")
    meta = {
        "kind": kind, "classes": list(classes), "sample_rate": SAMPLE_RATE,
        "seed": seed,
        "total_hours": round(sum(durations.values()) / 3600, 4),
        "split_hours": {s: round(sum(durations[f] for f in splits[s]) / 3600,
                                 4) for s in SPLITS},
        "polyphony": dict(shares, per_split=per_split),
        "parameters": parameters, "sources": sources,
        "summary": json.loads(summary.to_json(orient="records")),
        **(extra or {}),
        "splits": splits, "durations": durations,
    }
    write_json(root / "metadata.json", meta)


__all__ = ["Event", "MS", "SOURCE_COLUMNS", "SPAN_DB", "build",
           "energy_span", "event_level", "fade", "finish",
           "mix", "pink_noise", "place_events", "recording_lengths", "rms",
           "split_3_1_1"]
