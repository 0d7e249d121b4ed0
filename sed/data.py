"""Sound event corpora: the layout on disk, loading, and two generated corpora.

The paper's noiseme corpus (Wang & Metze 2017, Section 3.2: 464 recordings,
9.6 h, 17 event types, split 3:1:1 by duration) is not public. This module
reads any corpus laid out as below, and builds two of that shape:

* :func:`make_default_corpus`: procedurally synthesised (tones, chirps,
  harmonic stacks, noise bursts, clicks, modulated tones...), built in
  seconds; for tests and demos.
* :func:`make_standin_corpus`: the paper's shape (464 recordings, 9.6 h,
  17 types, 16 kHz, 3:1:1) mixed from real recordings that Debian packages
  ship (:data:`STANDIN_PACKAGES`, :data:`STANDIN_CLASSES`).

Corpus layout (any corpus laid out this way works downstream)::

    <root>/audio/*.wav          the recordings
    <root>/train.tsv            DCASE annotation TSV per split: a header
    <root>/val.tsv              "filename onset offset event_label", file
    <root>/test.tsv             names relative to audio/, times in seconds
    <root>/metadata.json

``metadata.json`` keys: ``classes`` (the ordered vocabulary), ``sample_rate``,
``durations`` (file name -> seconds), ``splits`` (split -> file names, so
recordings without events are listed), ``seed``, ``sources`` (list of dicts
with ``name``, ``licence``, ``from``), ``kind`` (``"default"``,
``"standin"`` or anything of your own). Only ``classes`` and ``sample_rate``
are required: missing ``durations`` are read from the audio files, missing
``splits`` are the files named in each TSV. Generated corpora add
``parameters``, ``polyphony`` and ``summary``.

:func:`load_corpus` validates every annotation on every load (onset before
offset, inside the recording, label in ``classes``; errors name the TSV file
and line), checks that the audio files exist with the declared sample rate
and durations, and merges overlapping events of one label
(:func:`sed.events.merge_overlaps`).

Example:
    >>> import tempfile
    >>> corpus = make_default_corpus(tempfile.mkdtemp(), minutes=1, seed=0)
    >>> len(corpus.classes), corpus.sample_rate, len(corpus.files("train"))
    (17, 16000, 3)
    >>> list(corpus.events("val").columns)
    ['filename', 'onset', 'offset', 'event_label']
"""

import argparse
import io
import json
import os
import shutil
import struct
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.signal
import soundfile
import soxr

from .events import COLUMNS, empty_events, merge_overlaps, read_tsv, \
    validate_events, write_tsv

SPLITS = ("train", "val", "test")

#: The paper's split of the corpus by duration (train : val : test).
SPLIT_RATIO = (3, 1, 1)

SAMPLE_RATE = 16000

#: The event types of :func:`make_default_corpus`, in class order.
DEFAULT_CLASSES = [
    "low_tone", "high_tone", "rising_chirp", "falling_chirp",
    "harmonic_buzz", "hollow_tone", "bell", "white_noise", "rumble", "hiss",
    "band_noise", "click_train", "crackle", "tremolo", "siren", "trill",
    "beeps"]

#: Debian packages whose recordings :func:`make_standin_corpus` mixes.
STANDIN_PACKAGES = ["openttd-opensfx", "bucklespring-data",
                    "asterisk-core-sounds-en-wav", "asterisk-moh-opsound-wav",
                    "sound-theme-freedesktop"]

_MS = 1000          # the time grid of generated corpora: 1 ms


# --------------------------------------------------------------------------
# The corpus on disk.

@dataclass(frozen=True)
class Corpus:
    """A corpus on disk (see the module docstring), loaded and validated.

    Attributes:
        root: the corpus folder.
        classes: the event labels, in class order.
        sample_rate: the audio's sample rate (Hz).
        durations: file name -> duration in seconds.
        splits: split name -> file names, in order.
        annotations: split name -> the validated events of that split,
            overlaps of one label merged (read them through :meth:`events`).
        metadata: the whole ``metadata.json``.
    """

    root: Path
    classes: list
    sample_rate: int
    durations: dict
    splits: dict
    annotations: dict = field(repr=False)
    metadata: dict = field(repr=False, default_factory=dict)

    def _check_split(self, split):
        if split not in self.splits:
            raise ValueError(f"Unknown split {split!r}; the corpus has "
                             f"{list(self.splits)}.")

    def files(self, split=None):
        """The file names of a split (all splits for None), in order."""
        if split is None:
            return [f for s in self.splits for f in self.splits[s]]
        self._check_split(split)
        return list(self.splits[split])

    def events(self, split=None):
        """A copy of the events of a split (all splits for None)."""
        if split is None:
            frames = [self.annotations[s] for s in self.splits]
            return pd.concat(frames, ignore_index=True) if frames else \
                empty_events()
        self._check_split(split)
        return self.annotations[split].copy()

    def audio_path(self, filename):
        """The path of a recording's audio file."""
        return Path(self.root) / "audio" / filename


def load_corpus(path, check_audio=True):
    """Loads and validates a corpus laid out as in the module docstring.

    Args:
        path: the corpus folder.
        check_audio: check that every recording exists, has the declared
            sample rate and (within 10 ms) the declared duration. Reading the
            headers takes well under a second for the full stand-in corpus.

    Returns:
        A :class:`Corpus`.

    Raises:
        FileNotFoundError: no folder, no ``metadata.json`` (or an interrupted
            build), a split's TSV or an audio file missing.
        ValueError: malformed metadata, an invalid event (the TSV file and
            line are named), an unknown class, a file listed in two splits,
            an event of a file its split does not list, or audio that
            disagrees with the metadata.
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"Corpus folder not found: {root}")
    meta_path = root / "metadata.json"
    if not meta_path.is_file():
        raise FileNotFoundError(
            f"{meta_path} is missing: {root} is not a corpus, or its build "
            "was interrupted (the builders write metadata.json last). A "
            "corpus holds audio/, train.tsv, val.tsv, test.tsv and "
            "metadata.json.")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{meta_path} is not valid JSON: {error}") from None
    for key in ("classes", "sample_rate"):
        if key not in meta:
            raise ValueError(f"{meta_path} lacks the key {key!r}.")
    classes, sample_rate = meta["classes"], meta["sample_rate"]
    if (not isinstance(classes, list) or not classes
            or not all(isinstance(c, str) and c for c in classes)
            or len(set(classes)) != len(classes)):
        raise ValueError(f"{meta_path}: 'classes' must be a non-empty list "
                         "of distinct label strings, e.g. [\"dog\", "
                         f"\"speech\"]. Received: {classes!r}")
    if (isinstance(sample_rate, bool) or not isinstance(sample_rate,
                                                        (int, float))
            or sample_rate <= 0 or sample_rate != int(sample_rate)):
        raise ValueError(f"{meta_path}: 'sample_rate' must be a positive "
                         "whole number of Hz, e.g. 16000. Received: "
                         f"{sample_rate!r}")
    sample_rate = int(sample_rate)

    tables = {}
    for split in SPLITS:
        tsv = root / f"{split}.tsv"
        if not tsv.is_file():
            raise FileNotFoundError(
                f"Split file missing: {tsv} (a corpus has one annotation TSV "
                f"per split: {', '.join(s + '.tsv' for s in SPLITS)}).")
        tables[split] = read_tsv(tsv, classes=classes)

    splits = {}
    listed = meta.get("splits") or {}
    for split in SPLITS:
        if split in listed:
            splits[split] = [str(f) for f in listed[split]]
        elif listed:
            raise ValueError(f"{meta_path}: 'splits' lacks the split "
                             f"{split!r}.")
        else:
            splits[split] = list(dict.fromkeys(tables[split]["filename"]))
    owner = {}
    for split, names in splits.items():
        for name in names:
            if name in owner:
                raise ValueError(f"{meta_path}: {name!r} is listed in both "
                                 f"the {owner[name]!r} and {split!r} splits.")
            owner[name] = split

    durations = {str(k): float(v) for k, v in
                 (meta.get("durations") or {}).items()}
    audio = root / "audio"
    for name in owner:
        file = audio / name
        if (check_audio or name not in durations) and not file.is_file():
            raise FileNotFoundError(f"Audio file missing: {file} (listed in "
                                    f"the {owner[name]!r} split).")
        if name not in durations or check_audio:
            info = soundfile.info(str(file))
            if info.samplerate != sample_rate:
                raise ValueError(f"{file}: sample rate {info.samplerate} Hz, "
                                 f"but metadata.json says {sample_rate} Hz.")
            seconds = info.frames / info.samplerate
            if name not in durations:
                durations[name] = seconds
            elif abs(durations[name] - seconds) > 0.01:
                raise ValueError(
                    f"{file} lasts {seconds:.3f} s, but metadata.json says "
                    f"{durations[name]:.3f} s.")

    annotations = {}
    for split in SPLITS:
        tsv = root / f"{split}.tsv"
        events = validate_events(tables[split], durations, classes,
                                 source=str(tsv))
        stray = sorted(set(events["filename"]) - set(splits[split]))
        if stray:
            raise ValueError(f"{tsv}: events of {stray[:5]} whose recordings "
                             f"the {split!r} split does not list.")
        annotations[split] = merge_overlaps(events)
    return Corpus(root=root, classes=classes, sample_rate=sample_rate,
                  durations={f: durations[f] for f in owner}, splits=splits,
                  annotations=annotations, metadata=meta)


def _prepare_output(path, overwrite):
    root = Path(path)
    ours = ["audio", "train.tsv", "val.tsv", "test.tsv", "metadata.json",
            "summary.csv"]
    if root.exists() and any(root.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{root} is not empty; choose a new folder "
                                  "or pass overwrite=True (--overwrite).")
        for name in ours:
            target = root / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    (root / "audio").mkdir(parents=True, exist_ok=True)
    return root


def _write_json(path, obj):
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    os.replace(tmp, path)


# --------------------------------------------------------------------------
# Statistics of an annotation.

def polyphony_shares(events, durations):
    """Shares of the total duration with at least 1, 2 and 3 events active.

    Args:
        events: an annotation DataFrame (overlaps of one label merged).
        durations: file name -> seconds; the total is their sum.

    Returns:
        ``{"ge1": ..., "ge2": ..., "ge3": ..., "max": ...}``: shares of time
        in [0, 1] and the largest number of simultaneous events.

    Example:
        >>> df = pd.DataFrame({"filename": ["a"] * 2, "onset": [0.0, 1.0],
        ...                    "offset": [2.0, 3.0],
        ...                    "event_label": ["x", "y"]})
        >>> polyphony_shares(df, {"a": 4.0})
        {'ge1': 0.75, 'ge2': 0.25, 'ge3': 0.0, 'max': 2}
    """
    total = float(sum(durations.values()))
    at_least = np.zeros(4)
    peak = 0
    for _, rows in events.groupby("filename"):
        times = np.concatenate([rows["onset"], rows["offset"]])
        steps = np.concatenate([np.ones(len(rows)), -np.ones(len(rows))])
        order = np.lexsort((steps, times))      # offsets before onsets
        times, active = times[order], np.cumsum(steps[order])
        spans = np.diff(times)
        for k in (1, 2, 3):
            at_least[k] += spans[active[:-1] >= k].sum()
        peak = max(peak, int(active.max()))
    return {"ge1": round(float(at_least[1] / total), 4),
            "ge2": round(float(at_least[2] / total), 4),
            "ge3": round(float(at_least[3] / total), 4), "max": peak}


def class_summary(events_by_split, classes):
    """Per class: event count and total duration, overall and per split.

    Args:
        events_by_split: split -> annotation DataFrame.
        classes: the labels, in class order.

    Returns:
        A DataFrame with one row per class: ``event_label``, ``count``,
        ``duration_s``, and ``count_<split>``, ``duration_<split>_s`` per
        split.
    """
    out = pd.DataFrame({"event_label": list(classes)})
    out["count"] = 0
    out["duration_s"] = 0.0
    for split, events in events_by_split.items():
        length = events["offset"] - events["onset"]
        count = events.groupby("event_label").size()
        seconds = length.groupby(events["event_label"]).sum()
        out[f"count_{split}"] = out["event_label"].map(count).fillna(0) \
            .astype(int)
        out[f"duration_{split}_s"] = out["event_label"].map(seconds) \
            .fillna(0.0).round(3)
        out["count"] += out[f"count_{split}"]
        out["duration_s"] += out[f"duration_{split}_s"]
    out["duration_s"] = out["duration_s"].round(3)
    return out


# --------------------------------------------------------------------------
# The mixer shared by both generated corpora.

def trim_silence(x, sample_rate, threshold_db=-35.0, frame_s=0.01):
    """The span of a signal without its silent head and tail.

    A frame (``frame_s`` long) is silent when its RMS is more than
    ``threshold_db`` below the loudest frame's. The span runs from the first
    sample of the first non-silent frame whose magnitude reaches that level
    to the last such sample of the last non-silent frame.

    Returns:
        ``(start, stop)`` sample indices; ``(0, 0)`` for an all-zero signal.

    Example:
        >>> x = np.concatenate([np.zeros(800), np.ones(1600), np.zeros(400)])
        >>> trim_silence(x, 16000)
        (800, 2400)
    """
    x = np.asarray(x, dtype=np.float64)
    hop = max(1, int(round(frame_s * sample_rate)))
    n = (len(x) + hop - 1) // hop
    padded = np.zeros(n * hop)
    padded[:len(x)] = x
    rms = np.sqrt((padded.reshape(n, hop) ** 2).mean(axis=1))
    if n == 0 or rms.max() == 0:
        return 0, 0
    level = rms.max() * 10 ** (threshold_db / 20)
    loud = np.flatnonzero(rms >= level)
    head = np.abs(x[loud[0] * hop:(loud[0] + 1) * hop])
    tail = np.abs(x[loud[-1] * hop:(loud[-1] + 1) * hop])
    start = int(loud[0]) * hop + int(np.argmax(head >= level))
    stop = int(loud[-1]) * hop + len(tail) - \
        int(np.argmax(tail[::-1] >= level))
    return start, stop


def _fade(x, sample_rate, seconds=0.005):
    """Raised-cosine fade in and out (in place), to avoid clicks."""
    n = min(int(seconds * sample_rate), len(x) // 2)
    if n > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)
        x[:n] *= ramp
        x[len(x) - n:] *= ramp[::-1]
    return x


def _rms(x):
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def event_level(x, sample_rate=16000, frame_s=0.01, within_db=20.0):
    """An event's level: the RMS over its active 10 ms frames.

    Active frames are those within ``within_db`` of the loudest frame, so
    the pauses of a sparse event (keystrokes, beeps) do not lower its level.
    The mixers set event-to-background ratios with this level.

    Example:
        >>> x = np.zeros(1600); x[:160] = 1.0      # 10 ms on, 90 ms off
        >>> float(event_level(x))
        1.0
    """
    x = np.asarray(x, dtype=np.float64)
    hop = max(1, int(round(frame_s * sample_rate)))
    n = len(x) // hop
    if n == 0:
        return _rms(x) if len(x) else 0.0
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
    return (pink / _rms(pink)).astype(np.float32)


def _recording_lengths(total_s, n, low_s, high_s, rng):
    """``n`` durations (whole ms) from U(low, high) scaled to ``total_s``."""
    raw = rng.uniform(low_s, high_s, size=n)
    ms = np.floor(raw * (total_s * _MS / raw.sum())).astype(np.int64)
    ms[: int(round(total_s * _MS)) - ms.sum()] += 1
    return ms


def _assign_splits(lengths, rng):
    """Split names for recordings, 3:1:1 by total duration.

    Recordings in random order go to the split furthest below its share;
    each split gets at least one recording.
    """
    lengths = np.asarray(lengths, dtype=np.float64)
    target = np.array(SPLIT_RATIO, dtype=np.float64) / sum(SPLIT_RATIO) \
        * lengths.sum()
    got = np.zeros(3)
    out = [None] * len(lengths)
    order = rng.permutation(len(lengths))
    for rank, i in enumerate(order):
        empty = [k for k in range(3) if got[k] == 0]
        left = len(order) - rank
        k = int(np.argmax(target - got)) if len(empty) < left else \
            max(empty, key=lambda j: target[j] - got[j])
        out[i] = SPLITS[k]
        got[k] += lengths[i]
    return out


def _place_events(n_ms, classes, render, rng, density, max_polyphony,
                  min_gap_s=0.2, max_attempts=8):
    """Draws and places events in a recording of ``n_ms`` milliseconds.

    Classes are drawn uniformly; each event is rendered (its length fixed,
    a whole number of ms) and given up to ``max_attempts`` uniform onsets:
    the first at which at most ``max_polyphony - 1`` other events are active
    throughout and no event of the same class lies within ``min_gap_s`` is
    kept. Drawing stops when the placed events add up to ``density`` times
    the recording.

    Returns:
        A list of ``(label, onset_ms, signal)``.
    """
    active = np.zeros(n_ms, dtype=np.int8)
    taken = {c: np.zeros(n_ms, dtype=bool) for c in classes}
    gap = int(min_gap_s * _MS)
    placed, budget = [], density * n_ms
    used, tries = 0, 0
    while used < budget and tries < 50 + 20 * budget / _MS:
        tries += 1
        label = classes[rng.integers(len(classes))]
        signal = render(label, rng, n_ms)
        length = len(signal) * _MS // SAMPLE_RATE
        if length <= 0 or length > n_ms:
            continue
        for _ in range(max_attempts):
            start = int(rng.integers(0, n_ms - length + 1))
            near = taken[label][max(0, start - gap):start + length + gap]
            if active[start:start + length].max() < max_polyphony and \
                    not near.any():
                active[start:start + length] += 1
                taken[label][start:start + length] = True
                placed.append((label, start, signal))
                used += length
                break
    return placed


def _mix(n_ms, placed, rng, snr_db, background_dbfs):
    """Pink background plus each event at a random SNR above it.

    Returns:
        ``(audio float32, events DataFrame rows)``. An event's level is its
        RMS over its active frames (:func:`event_level`); if the sum would
        clip, the whole mix is scaled down (SNRs are kept).
    """
    n = n_ms * SAMPLE_RATE // _MS
    level = 10 ** (rng.uniform(*background_dbfs) / 20)
    mix = pink_noise(n, rng) * np.float32(level)
    rows = []
    for label, start_ms, signal in sorted(placed, key=lambda p: p[1]):
        snr = rng.uniform(*snr_db)
        gain = level * 10 ** (snr / 20) / max(event_level(signal), 1e-12)
        start = start_ms * SAMPLE_RATE // _MS
        mix[start:start + len(signal)] += (gain * signal).astype(np.float32)
        rows.append((start_ms / _MS,
                     (start_ms + len(signal) * _MS // SAMPLE_RATE) / _MS,
                     label))
    peak = float(np.abs(mix).max())
    if peak > 0.99:
        mix *= np.float32(0.99 / peak)
    return mix, rows


def _build(root, kind, classes, n_recordings, total_s, length_range, seed,
           render_for_split, density, max_polyphony, snr_db, background_dbfs,
           progress):
    """Draws recordings, mixes and writes them; returns the layout parts."""
    n_recordings = max(5, int(n_recordings))
    lengths = _recording_lengths(total_s, n_recordings, *length_range,
                                 np.random.default_rng([seed, 1]))
    split_of = _assign_splits(lengths, np.random.default_rng([seed, 2]))
    width = max(4, len(str(n_recordings)))
    names = [f"{kind}_{i:0{width}d}.wav" for i in range(n_recordings)]
    rows = {s: [] for s in SPLITS}
    iterator = range(n_recordings)
    if progress:
        from tqdm.auto import tqdm
        iterator = tqdm(iterator, desc=f"{kind} corpus", unit="recording")
    for i in iterator:
        rng = np.random.default_rng([seed, 3, i])
        render = render_for_split(split_of[i])
        placed = _place_events(int(lengths[i]), classes, render, rng,
                               density, max_polyphony)
        audio, events = _mix(int(lengths[i]), placed, rng, snr_db,
                             background_dbfs)
        soundfile.write(str(root / "audio" / names[i]), audio, SAMPLE_RATE,
                        subtype="PCM_16", format="WAV")
        rows[split_of[i]] += [(names[i], on, off, lab)
                              for on, off, lab in events]
    durations = {name: int(ms) / _MS for name, ms in zip(names, lengths)}
    splits = {s: [n for n, t in zip(names, split_of) if t == s]
              for s in SPLITS}
    events = {}
    for split in SPLITS:
        frame = pd.DataFrame(rows[split], columns=COLUMNS) if rows[split] \
            else empty_events()
        events[split] = merge_overlaps(frame)
        write_tsv(events[split], root / f"{split}.tsv")
    return durations, splits, events


def _finish(root, kind, classes, seed, durations, splits, events, sources,
            parameters, summary):
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
        "splits": splits, "durations": durations,
    }
    _write_json(root / "metadata.json", meta)


# --------------------------------------------------------------------------
# The built-in default corpus: procedural synthesis.

@lru_cache(maxsize=None)
def _sos(kind, low, high=None):
    edges = low if high is None else (low, high)
    return scipy.signal.butter(4, edges, btype=kind, fs=SAMPLE_RATE,
                               output="sos")


def _synthesise(label, n, rng):
    """``n`` samples of one synthetic event type (unit-ish peak)."""
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
    x = np.asarray(_synthesise(label, n_ms * SAMPLE_RATE // _MS, rng),
                   dtype=np.float64)
    x /= max(np.abs(x).max(), 1e-12)
    return _fade(x, SAMPLE_RATE).astype(np.float32)


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
    root = _prepare_output(path, overwrite)
    total = float(minutes) * 60
    n = max(5, int(round(total / 45)))
    parameters = dict(minutes=minutes, n_recordings=n, density=density,
                      max_polyphony=max_polyphony, snr_db=list(snr_db),
                      background_dbfs=[-50.0, -40.0],
                      background="pink noise", event_seconds=[0.3, 4.0],
                      recording_seconds=[30.0, 60.0])
    durations, splits, events = _build(
        root, "default", DEFAULT_CLASSES, n, total, (30.0, 60.0), seed,
        lambda split: _render_default, density, max_polyphony, snr_db,
        (-50.0, -40.0), progress=False)
    summary = class_summary(events, DEFAULT_CLASSES)
    summary["sources"] = "synthesised"
    sources = [{"name": "sed.data.make_default_corpus",
                "licence": "generated; no third-party material",
                "from": f"procedural synthesis, seed {seed}"}]
    _finish(root, "default", DEFAULT_CLASSES, seed, durations, splits,
            events, sources, parameters, summary)
    return load_corpus(root)


# --------------------------------------------------------------------------
# The stand-in corpus: real recordings from Debian packages.

_OPENSFX_CAT = "/usr/share/games/openttd/baseset/opensfx/opensfx.cat"
_FREEDESKTOP = "/usr/share/sounds/freedesktop/stereo"
_ASTERISK_EN = "/usr/share/asterisk/sounds/en_US_f_Allison"
_ASTERISK_MOH = "/usr/share/asterisk/moh"
_BUCKLE = "/usr/share/buckle/wav"


@dataclass(frozen=True)
class StandinClass:
    """An event type of the stand-in corpus and where its sounds come from.

    Attributes:
        label: the event label.
        description: what it sounds like.
        sources: ``(selector, group)`` pairs. Selectors: ``"opensfx:<i>"``
            (sample ``i`` of OpenSFX's ``opensfx.cat``),
            ``"freedesktop:<name>"``, ``"asterisk:*"`` (every English
            prompt), ``"moh:*"`` (every music-on-hold track),
            ``"buckle:*"`` (every key recording). Sources sharing a group
            come from one original recording and always go to one split;
            ``"*"`` gives each file its own group (for ``buckle``: each key).
        seconds: the range of event durations drawn (clips shorter than the
            drawn duration are used whole unless ``loop``).
        loop: a texture: clips shorter than the drawn duration are looped
            (with 30 ms crossfades).
        gaps: for sequences (speech, typing): the range of silences between
            consecutive clips joined into one event; None for single clips.
    """

    label: str
    description: str
    sources: tuple
    seconds: tuple = (1.0, 5.0)
    loop: bool = False
    gaps: tuple = None


def _sfx(*pairs):
    return tuple((f"opensfx:{i}", group) for i, group in pairs)


#: The 17 event types of :func:`make_standin_corpus`, in class order.
STANDIN_CLASSES = [
    StandinClass("speech", "one speaker's voice prompts (8 kHz telephony "
                 "recordings), 1-3 prompts per event",
                 (("asterisk:*", "*"),), (1.5, 8.0), gaps=(0.15, 0.6)),
    StandinClass("music", "excerpts of five music-on-hold tracks (8 kHz)",
                 (("moh:*", "*"),), (3.0, 12.0)),
    StandinClass("keyboard_typing", "sequences of single mechanical "
                 "keyboard key presses and releases",
                 (("buckle:*", "*"),), (1.0, 6.0), gaps=(0.03, 0.25)),
    StandinClass("alarm_ringing", "alarm clock, telephone ringing, bell, "
                 "railway level-crossing bell",
                 (("freedesktop:alarm-clock-elapsed", "alarm-clock"),
                  ("freedesktop:phone-incoming-call", "phone"),
                  ("freedesktop:bell", "bell"),
                  ("opensfx:14", "RRCrossing.wav")), (1.0, 5.0)),
    StandinClass("train", "trains departing and passing",
                 _sfx((4, "steam train horn 01.wav"),
                      (5, "steam train horn 01.wav"),
                      (10, "Locomotive 1 Distant horn.wav"),
                      (65, "metro.wav"), (71, "Train passby.wav")),
                 (1.0, 5.0)),
    StandinClass("aircraft", "propeller planes and jets taking off",
                 _sfx((8, "Plane Cessna start stop.wav"),
                      (9, "Passenger jet departs 2.wav"),
                      (59, "Landing Jet 5.wav"),
                      (61, "5_Navy-Blue-Angels-jets_CLIP.wav"),
                      (69, "Airplane propeller.wav")), (1.0, 5.0)),
    StandinClass("helicopter", "a helicopter's rotor",
                 _sfx((24, "helicopterRaw_16sec.wav")), (1.0, 5.0),
                 loop=True),
    StandinClass("road_vehicle", "buses and a truck starting and pulling "
                 "away", _sfx((25, "file0375.mp3"),
                              (27, "london bus approaches & leaves.wav"),
                              (28, "t_start1.mp3")), (1.0, 5.0)),
    StandinClass("crash", "crashes, impacts, an explosion, a tree falling",
                 _sfx((15, "Dropping a large gun.wav"),
                      (16, "Dumpster_Diving.wav"), (17, "crash.wav"),
                      (18, "Explosion (Lukss)"), (19, "crash.wav"),
                      (53, "CRASH2.wav"), (54, "A Tree Falling Down.wav"),
                      (58, "crashB.wav")), (1.0, 5.0)),
    StandinClass("crowd", "applause and a crowd's 'oooh'",
                 _sfx((29, "Enthusiast Audience.wav"),
                      (30, "Oooh (Lukss)")), (1.0, 5.0), loop=True),
    StandinClass("jackhammer", "a pneumatic hammer",
                 _sfx((33, "air hammer half close.wav")), (1.0, 5.0),
                 loop=True),
    StandinClass("horn", "car horn, ship and ferry horns, factory whistle",
                 _sfx((35, "claxon.wav"), (6, "ship2_bergen.aif"),
                      (7, "msfinmarken_Bergen.aif"),
                      (3, "Factory Whistle (Lukss)")), (1.0, 5.0)),
    StandinClass("animal", "sheep, cow, horse, lion, monkeys",
                 _sfx((36, "sheep field"), (37, "Cow - Moan 2.wav"),
                      (38, "horse.neigh.wav"), (67, "elaine-growl.wav"),
                      (68, "Affen schreit.mp3")), (1.0, 5.0)),
    StandinClass("bird", "tropical bird calls",
                 _sfx((66, "Bird Noise - 1.wav"),
                      (72, "Bird Noise - 12.wav")), (1.0, 5.0)),
    StandinClass("saw", "chainsaw, circular saw, sawing a tree",
                 _sfx((56, "CHAINSAW.wav"),
                      (40, "Circular saw crosscutting.wav"),
                      (55, "cutting_tree.wav")), (1.0, 5.0), loop=True),
    StandinClass("wind", "wind noise", _sfx((52, "wind1.wav")), (1.0, 5.0),
                 loop=True),
    StandinClass("cash_till", "a cash register",
                 _sfx((20, "Cash till (Lukss)")), (1.0, 5.0)),
]

_PACKAGE_OF = {"opensfx": "openttd-opensfx", "freedesktop":
               "sound-theme-freedesktop", "asterisk":
               "asterisk-core-sounds-en-wav", "moh":
               "asterisk-moh-opsound-wav", "buckle": "bucklespring-data"}

_LICENCE_OF = {
    "sound-theme-freedesktop": {
        "alarm-clock-elapsed": "CC-BY-SA-3.0 (Tim/corsica_s)",
        "phone-incoming-call": "GPL-2+ (Damien Sandras)",
        "bell": "CC-BY-3.0 (Dr. Richard Boulanger et al.)"},
    "asterisk-core-sounds-en-wav": "CC-BY-SA-3.0 (Allison Smith, Digium)",
    "asterisk-moh-opsound-wav": "CC-BY-SA-3.0 (Macroform, Manolo Camp, "
                                "Reno Project)",
    "bucklespring-data": "GPL-2+ (Ico Doornekamp)",
}


def _missing_packages():
    probes = {"openttd-opensfx": _OPENSFX_CAT,
              "sound-theme-freedesktop": f"{_FREEDESKTOP}/bell.oga",
              "asterisk-core-sounds-en-wav": f"{_ASTERISK_EN}/activated.wav",
              "asterisk-moh-opsound-wav": _ASTERISK_MOH,
              "bucklespring-data": _BUCKLE}
    return [p for p in STANDIN_PACKAGES if not Path(probes[p]).exists()]


def check_standin_packages():
    """Raises a clear error if a package of :data:`STANDIN_PACKAGES` is absent.

    Raises:
        RuntimeError: naming the missing packages and the ``apt-get``
            command that installs them.
    """
    missing = _missing_packages()
    if missing:
        raise RuntimeError(
            "The stand-in corpus mixes recordings from Debian packages, and "
            f"these are not installed: {', '.join(missing)}. Install them "
            "with:\n  sudo apt-get update && sudo apt-get install -y "
            f"{' '.join(STANDIN_PACKAGES)}")


def read_opensfx(path=_OPENSFX_CAT):
    """Reads OpenSFX's ``opensfx.cat``: ``(description, audio, rate)`` each.

    The container (OpenTTD's sound bank format) starts with a table of
    ``(offset, size)`` little-endian uint32 pairs, one per sample; the first
    offset, masked, is the table's size (8 bytes per entry), and bit 31 of
    each offset flags the "new format" (the rate is the WAV's own). At each
    offset: one byte ``n``, a NUL-terminated description of ``n`` bytes
    (title, original, author, licence), then a RIFF WAV of ``size`` bytes.

    Returns:
        One ``(description, float64 mono samples, sample rate)`` per entry;
        empty entries have zero samples.
    """
    data = Path(path).read_bytes()
    count = (struct.unpack_from("<I", data, 0)[0] & 0x7FFFFFFF) // 8
    out = []
    for i in range(count):
        offset, size = struct.unpack_from("<II", data, 8 * i)
        offset &= 0x7FFFFFFF
        n = data[offset]
        text = data[offset + 1:offset + 1 + n].rstrip(b"\0").decode("utf-8")
        wav = data[offset + 1 + n:offset + 1 + n + size]
        audio, rate = soundfile.read(io.BytesIO(wav), dtype="float64",
                                     always_2d=True)
        out.append((text, audio.mean(axis=1), rate))
    return out


def _opensfx_licence(description):
    """The sample's own licence (from its description) and the collection's."""
    marker = "License: "
    text = description.split(marker, 1)[1] if marker in description else ""
    own = text.strip().rstrip(".") or "see the OpenSFX readme"
    return f"{own} (OpenSFX collection: CC-BY-SA-3.0)"


def _load_file(path):
    audio, rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    return audio.mean(axis=1), rate


def _to_rate(x, rate):
    x = np.asarray(x, dtype=np.float64)
    if rate != SAMPLE_RATE:
        x = soxr.resample(x, rate, SAMPLE_RATE, quality="HQ")
    return x


@dataclass
class _Clip:
    """A trimmed source clip at 16 kHz and where it comes from."""

    audio: np.ndarray
    name: str
    group: str
    licence: str
    origin: str
    package: str
    span: tuple = None      # (start, stop) seconds in the trimmed source


def _load_clips(spec, opensfx):
    """The trimmed clips a class's sources select."""
    clips = []
    for selector, group in spec.sources:
        prefix, _, item = selector.partition(":")
        package = _PACKAGE_OF[prefix]
        if prefix == "opensfx":
            text, audio, rate = opensfx[int(item)]
            entries = [(audio, rate, text.split('". ', 1)[0].strip('"'),
                        group, _opensfx_licence(text),
                        f"{_OPENSFX_CAT} entry {item}: {text}")]
        elif prefix == "freedesktop":
            file = Path(_FREEDESKTOP) / f"{item}.oga"
            audio, rate = _load_file(file)
            entries = [(audio, rate, item, group,
                        _LICENCE_OF[package][item], str(file))]
        else:
            folder = {"asterisk": _ASTERISK_EN, "moh": _ASTERISK_MOH,
                      "buckle": _BUCKLE}[prefix]
            files = sorted(p for p in Path(folder).rglob("*.wav")
                           if "silence" not in p.parts)
            entries = []
            for file in files:
                audio, rate = _load_file(file)
                key = str(file.relative_to(folder))
                own = file.stem.split("-")[0] if prefix == "buckle" else key
                entries.append((audio, rate, key, own,
                                _LICENCE_OF[package], str(file)))
        for audio, rate, name, grp, licence, origin in entries:
            x = _to_rate(audio, rate)
            start, stop = trim_silence(x, SAMPLE_RATE)
            if stop - start >= int(0.05 * SAMPLE_RATE):
                clips.append(_Clip(x[start:stop], name, grp, licence,
                                   origin, package))
    return clips


def _split_material(spec, clips, rng):
    """Split -> list of clips, the splits drawing on disjoint material.

    With three or more source groups, whole groups go to one split each
    (largest first, to the split furthest below 3:1:1 of the material's
    duration; every split gets one). With fewer, every clip is cut into three
    contiguous segments of 3:1:1 length, in a random order, one per split.
    """
    groups = {}
    for clip in clips:
        groups.setdefault(clip.group, []).append(clip)
    pools = {s: [] for s in SPLITS}
    if len(groups) >= 3:
        keys = list(groups)
        keys = [keys[i] for i in rng.permutation(len(keys))]
        seconds = np.array([sum(len(c.audio) for c in groups[k])
                            for k in keys], dtype=np.float64)
        order = np.argsort(-seconds, kind="stable")
        target = np.array(SPLIT_RATIO) / sum(SPLIT_RATIO) * seconds.sum()
        got = np.zeros(3)
        for rank, i in enumerate(order):
            empty = [k for k in range(3) if got[k] == 0]
            left = len(order) - rank
            k = int(np.argmax(target - got)) if len(empty) < left else \
                max(empty, key=lambda j: target[j] - got[j])
            pools[SPLITS[k]].extend(groups[keys[i]])
            got[k] += seconds[i]
        return pools
    for clip in clips:
        n = len(clip.audio)
        parts = np.array(SPLIT_RATIO, dtype=np.float64) / sum(SPLIT_RATIO)
        order = rng.permutation(3)
        bounds = np.concatenate([[0], np.cumsum(parts[order])]) * n
        for rank, k in enumerate(order):
            a, b = int(bounds[rank]), int(bounds[rank + 1])
            piece = clip.audio[a:b]
            start, stop = trim_silence(piece, SAMPLE_RATE)
            if stop - start > 0:
                pools[SPLITS[k]].append(_Clip(
                    piece[start:stop], clip.name, clip.group, clip.licence,
                    clip.origin, clip.package,
                    ((a + start) / SAMPLE_RATE, (a + stop) / SAMPLE_RATE)))
    return pools


def _loop(x, n, crossfade):
    """``x`` repeated to ``n`` samples with linear crossfades."""
    crossfade = min(crossfade, len(x) // 4)
    out = x.copy()
    ramp = np.linspace(0, 1, crossfade, endpoint=False)
    while len(out) < n:
        if crossfade:
            mixed = out[-crossfade:] * (1 - ramp) + x[:crossfade] * ramp
            out = np.concatenate([out[:-crossfade], mixed, x[crossfade:]])
        else:
            out = np.concatenate([out, x])
    return out[:n]


class _StandinRenderer:
    """Renders stand-in events of one split from its pools of clips."""

    def __init__(self, specs, pools, speed):
        self.specs = {s.label: s for s in specs}
        self.pools = pools      # label -> list of clips of this split
        self.speed = speed

    def __call__(self, label, rng, max_ms):
        spec, pool = self.specs[label], self.pools[label]
        for _ in range(5):
            x = self._draw(spec, pool, rng, max_ms)
            factor = rng.uniform(*self.speed)
            if factor != 1.0:
                x = soxr.resample(x, SAMPLE_RATE * factor, SAMPLE_RATE,
                                  quality="HQ")
            start, stop = trim_silence(x, SAMPLE_RATE)
            n = (stop - start) // (SAMPLE_RATE // _MS) * (SAMPLE_RATE // _MS)
            n = min(n, max_ms * SAMPLE_RATE // _MS)
            if n >= int(0.1 * SAMPLE_RATE):
                x = x[start:start + n].copy()
                return _fade(x, SAMPLE_RATE).astype(np.float32)
        return np.zeros(0, dtype=np.float32)

    def _draw(self, spec, pool, rng, max_ms):
        sr = SAMPLE_RATE
        want = int(min(rng.uniform(*spec.seconds), max_ms / _MS) * sr)
        clip = pool[rng.integers(len(pool))].audio
        if spec.gaps is not None:           # a sequence of clips
            parts = [clip]
            total = len(clip)
            while total < want:
                gap = np.zeros(int(rng.uniform(*spec.gaps) * sr))
                clip = pool[rng.integers(len(pool))].audio
                parts += [gap, clip]
                total += len(gap) + len(clip)
            x = np.concatenate(parts)
        elif len(clip) < want and spec.loop:
            x = _loop(clip, want, int(0.03 * sr))
        else:
            x = clip
        if len(x) > want:
            start = int(rng.integers(0, len(x) - want + 1))
            x = x[start:start + want]
        return x


def standin_available():
    """Whether the Debian packages of the stand-in corpus are installed."""
    return not _missing_packages()


def transition_recording(before="music", after="jackhammer", at=4.5,
                         seconds=10.0, split="val", seed=0):
    """A recording that changes from one sound to another at ``at`` seconds.

    The sounds are real stand-in material (:data:`STANDIN_CLASSES`: the
    longest clip of one share of each class's material, split 3:1:1 as the
    corpus builder splits it but drawn with ``seed`` here, so not
    necessarily a corpus's validation material; looped where short) or,
    for a label of :data:`DEFAULT_CLASSES`, the built-in synthetic sounds. Each part is normalised to the same RMS and faded in
    and out over 5 ms. Figure 3 of the paper shows network activations on
    such a recording (a clear transition at 4.5 s).

    Args:
        before, after: class labels.
        at: the transition time (s).
        seconds: the duration (s).
        split: which share of the material to use for stand-in classes.
        seed: draws the clips.

    Returns:
        ``(waveform, events)``: float32 at 16 kHz, and a DataFrame of the
        two events (``onset``, ``offset``, ``event_label``).

    Raises:
        RuntimeError: when a stand-in class is asked for and its packages
            are missing (:func:`check_standin_packages`).

    Example:
        >>> x, events = transition_recording("low_tone", "white_noise")
        >>> x.shape, events["event_label"].tolist()
        ((160000,), ['low_tone', 'white_noise'])
    """
    if not 0 < at < seconds:
        raise ValueError(f"at must lie inside (0, {seconds}); got {at}")
    rng = np.random.default_rng(seed)
    n_before = int(round(at * SAMPLE_RATE))
    lengths = (n_before, int(round(seconds * SAMPLE_RATE)) - n_before)
    specs = {spec.label: spec for spec in STANDIN_CLASSES}
    opensfx = None
    parts = []
    for label, n in zip((before, after), lengths):
        if label in DEFAULT_CLASSES:
            x = _synthesise(label, n, rng)
        elif label in specs:
            check_standin_packages()
            if opensfx is None and any(
                    sel.startswith("opensfx") for sel, _ in
                    specs[label].sources):
                opensfx = read_opensfx()
            clips = _load_clips(specs[label], opensfx)
            pool = _split_material(specs[label], clips, rng)[split]
            clip = max(pool, key=lambda c: len(c.audio)).audio
            start = int(rng.integers(0, max(1, len(clip) - n + 1)))
            x = _loop(clip[start:], n, int(0.03 * SAMPLE_RATE))
        else:
            raise ValueError(
                f"Unknown class {label!r}: use one of the stand-in classes "
                f"({', '.join(specs)}) or of the default corpus "
                f"({', '.join(DEFAULT_CLASSES)})")
        parts.append(np.asarray(x, np.float64) / max(_rms(x), 1e-9))
    waveform = np.concatenate([_fade(x, SAMPLE_RATE) for x in parts])
    waveform = 0.1 * waveform / max(_rms(waveform), 1e-9)
    waveform = np.clip(waveform, -1, 1).astype(np.float32)
    events = pd.DataFrame({"onset": [0.0, at], "offset": [at, seconds],
                           "event_label": [before, after]})
    return waveform, events


def make_standin_corpus(path, hours=9.6, seed=0, n_recordings=None, *,
                        overwrite=False, density=1.0, max_polyphony=3,
                        snr_db=(6.0, 24.0), background_dbfs=(-55.0, -45.0),
                        speed=(0.94, 1.06), progress=True):
    """Builds the stand-in for the noiseme corpus from real recordings.

    The paper's shape: by default 464 recordings, 9.6 h, 17 event types
    (:data:`STANDIN_CLASSES`), 16 kHz mono 16-bit WAV, split 3:1:1 by
    duration. The sounds are real recordings shipped by the Debian packages
    :data:`STANDIN_PACKAGES` (``apt-get install`` them first); their sources
    and licences are listed in ``metadata.json`` and ``summary.csv``.

    How it is mixed (a small mixer of this module's own):

    * Sources are resampled to 16 kHz (soxr), downmixed to mono, and their
      silent heads and tails trimmed (:func:`trim_silence`, -35 dB below the
      loudest 10 ms frame).
    * Disjoint material per split, so the test split measures
      generalisation: a type with three or more source recordings gives each
      split its own recordings (3:1:1 by duration, every split at least
      one); a type with fewer cuts each recording into three disjoint time
      segments (3:1:1).
    * Each recording (30-120 s, scaled to the total) draws event types
      uniformly and places events at uniform onsets until their durations
      add up to ``density`` times its length, with at most ``max_polyphony``
      events at once and 0.2 s between events of one type. An event is a
      clip (or a random excerpt of ``StandinClass.seconds`` length, looped
      for textures, or a sequence of clips for speech and typing), sped up
      or slowed down by a factor from ``speed`` (pitch follows), trimmed
      again, with 5 ms fades, on a 1 ms grid: its annotation is exactly where
      its sound is.
    * Background: pink noise (:func:`pink_noise`) at an RMS level drawn per
      recording from ``background_dbfs``; each event's level
      (:func:`event_level`, the RMS of its active frames) is set an SNR
      drawn from ``snr_db`` above it. A mix that would clip is scaled down.

    Material is reused (about 40 minutes of distinct audio feed 9.6 h), with
    different excerpts, speeds, levels and overlaps each time.

    Args:
        path: the output folder (new or empty).
        hours: total duration.
        seed: the random seed (same seed and packages: identical corpus).
        n_recordings: the number of recordings; default ``464 * hours /
            9.6`` (at least 5).
        overwrite: replace a corpus already in ``path``.
        density, max_polyphony, snr_db, background_dbfs, speed: see above.
        progress: show a progress bar and print the summary.

    Returns:
        The :class:`Corpus`, loaded with :func:`load_corpus`.

    Raises:
        RuntimeError: a package is missing (the message gives the
            ``apt-get install`` command).
    """
    check_standin_packages()
    if n_recordings is None:
        n_recordings = round(464 * float(hours) / 9.6)
    root = _prepare_output(path, overwrite)
    opensfx = read_opensfx()
    rng = np.random.default_rng([seed, 0])
    pools = {s: {} for s in SPLITS}
    sources, material = [], {}
    for spec in STANDIN_CLASSES:
        split_pools = _split_material(spec, _load_clips(spec, opensfx), rng)
        for split in SPLITS:
            pools[split][spec.label] = split_pools[split]
            material[(spec.label, split)] = sum(
                len(c.audio) for c in split_pools[split]) / SAMPLE_RATE
        sources += _describe_sources(spec, split_pools)
    renderers = {s: _StandinRenderer(STANDIN_CLASSES, pools[s], speed)
                 for s in SPLITS}
    classes = [s.label for s in STANDIN_CLASSES]
    durations, splits, events = _build(
        root, "standin", classes, n_recordings, float(hours) * 3600,
        (30.0, 120.0), seed, renderers.__getitem__, density, max_polyphony,
        snr_db, background_dbfs, progress)

    summary = class_summary(events, classes)
    for split in SPLITS:
        summary[f"material_{split}_s"] = [round(material[(c, split)], 2)
                                          for c in classes]
    summary["sources"] = [_source_line(spec, pools) for spec in
                          STANDIN_CLASSES]
    summary["licences"] = ["; ".join(sorted({c.licence for s in SPLITS
                                             for c in pools[s][spec.label]}))
                           for spec in STANDIN_CLASSES]
    parameters = dict(hours=hours, n_recordings=max(5, int(n_recordings)),
                      density=density, max_polyphony=max_polyphony,
                      snr_db=list(snr_db),
                      background_dbfs=list(background_dbfs),
                      background="pink noise", speed=list(speed),
                      trim_threshold_db=-35.0, min_gap_same_type_s=0.2,
                      recording_seconds=[30.0, 120.0],
                      packages=_package_versions())
    _finish(root, "standin", classes, seed, durations, splits, events,
            sources, parameters, summary)
    corpus = load_corpus(root)
    if progress:
        print(format_summary(corpus))
    return corpus


def _source_line(spec, pools):
    names = []
    for split in SPLITS:
        groups = sorted({c.group for c in pools[split][spec.label]})
        shown = ", ".join(groups[:4]) + (f" +{len(groups) - 4} more"
                                         if len(groups) > 4 else "")
        names.append(f"{split}: {shown}")
    packages = sorted({c.package for s in SPLITS
                       for c in pools[s][spec.label]})
    return f"[{', '.join(packages)}] " + " | ".join(names)


def _describe_sources(spec, split_pools):
    """One ``sources`` entry per source file of a class."""
    seen = {}
    for split in SPLITS:
        for clip in split_pools[split]:
            entry = seen.setdefault(clip.origin, {
                "name": clip.name, "licence": clip.licence,
                "from": f"Debian package {clip.package}: {clip.origin}",
                "event_label": spec.label, "group": clip.group,
                "splits": []})
            if split not in entry["splits"]:
                entry["splits"].append(split)
            if clip.span is not None:
                entry.setdefault("segments", {})[split] = [
                    round(clip.span[0], 4), round(clip.span[1], 4)]
    return list(seen.values())


def _package_versions():
    """The installed versions of :data:`STANDIN_PACKAGES` (via dpkg)."""
    import subprocess
    versions = {}
    for package in STANDIN_PACKAGES:
        try:
            versions[package] = subprocess.run(
                ["dpkg-query", "-W", "-f=${Version}", package],
                capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            versions[package] = None
    return versions


def format_summary(corpus):
    """A corpus's per-class summary and polyphony as printable text."""
    summary = class_summary({s: corpus.events(s) for s in SPLITS},
                            corpus.classes)
    lines = [f"{corpus.root}: {len(corpus.files())} recordings, "
             f"{sum(corpus.durations.values()) / 3600:.2f} h, "
             f"{len(corpus.classes)} classes, {corpus.sample_rate} Hz"]
    for split in SPLITS:
        seconds = sum(corpus.durations[f] for f in corpus.files(split))
        lines.append(f"  {split}: {len(corpus.files(split))} recordings, "
                     f"{seconds / 3600:.3f} h, "
                     f"{len(corpus.events(split))} events")
    shares = polyphony_shares(corpus.events(), corpus.durations)
    lines.append(f"  time with >= 1 / >= 2 / >= 3 events active: "
                 f"{shares['ge1']:.1%} / {shares['ge2']:.1%} / "
                 f"{shares['ge3']:.1%} (max {shares['max']})")
    table = summary[["event_label", "count", "duration_s", "count_train",
                     "count_val", "count_test"]]
    lines.append(table.to_string(index=False))
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Command line.

def main(argv=None):
    """``python -m sed.data {standin,default,summary} ...``.

    Example:
        python -m sed.data standin --out corpora/standin --hours 9.6
        python -m sed.data default --out corpora/default --minutes 10
        python -m sed.data summary corpora/standin
    """
    parser = argparse.ArgumentParser(prog="python -m sed.data",
                                     description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    standin = commands.add_parser("standin", help="build the stand-in corpus "
                                  "from Debian packages' recordings")
    standin.add_argument("--out", required=True)
    standin.add_argument("--hours", type=float, default=9.6)
    standin.add_argument("--seed", type=int, default=0)
    standin.add_argument("--recordings", type=int, default=None)
    standin.add_argument("--overwrite", action="store_true")
    default = commands.add_parser("default", help="build the synthetic "
                                  "default corpus")
    default.add_argument("--out", required=True)
    default.add_argument("--minutes", type=float, default=10)
    default.add_argument("--seed", type=int, default=0)
    default.add_argument("--overwrite", action="store_true")
    summary = commands.add_parser("summary", help="validate a corpus and "
                                  "print its summary")
    summary.add_argument("corpus")
    args = parser.parse_args(argv)
    try:
        if args.command == "standin":
            make_standin_corpus(args.out, hours=args.hours, seed=args.seed,
                                n_recordings=args.recordings,
                                overwrite=args.overwrite)
        elif args.command == "default":
            print(format_summary(make_default_corpus(
                args.out, minutes=args.minutes, seed=args.seed,
                overwrite=args.overwrite)))
        else:
            print(format_summary(load_corpus(args.corpus)))
    except (RuntimeError, FileExistsError, FileNotFoundError,
            ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


__all__ = ["Corpus", "DEFAULT_CLASSES", "SAMPLE_RATE", "SPLITS",
           "standin_available", "transition_recording",
           "SPLIT_RATIO", "STANDIN_CLASSES", "STANDIN_PACKAGES",
           "StandinClass", "check_standin_packages", "class_summary",
           "event_level",
           "format_summary", "load_corpus", "main", "make_default_corpus",
           "make_standin_corpus", "pink_noise", "polyphony_shares",
           "read_opensfx", "trim_silence"]

if __name__ == "__main__":
    sys.exit(main())
