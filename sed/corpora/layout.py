"""The corpus layout on disk, its loader and its statistics.

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
``parameters``, ``polyphony`` and ``summary`` (and the stand-in corpus
``sources.tsv`` and ``material.csv``, see :mod:`sed.corpora.standin`).

:func:`load_corpus` validates every annotation on every load (onset before
offset, inside the recording, label in ``classes``; errors name the TSV file
and line), checks that the audio files exist with the declared sample rate
and durations, and merges overlapping events of one label
(:func:`sed.events.merge_overlaps`).
"""

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile

from ..events import empty_events, merge_overlaps, read_tsv, \
    validate_events

SPLITS = ("train", "val", "test")

#: The paper's split of the corpus by duration (train : val : test).
SPLIT_RATIO = (3, 1, 1)

SAMPLE_RATE = 16000

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


def check_size(amount, recordings=None, unit="hours"):
    """Refuses (``ValueError``, before any work or download) a corpus size
    that makes no sense: ``amount`` of audio (in ``unit``) not a finite
    number > 0, ``recordings`` below 1.

    Example:
        >>> check_size(-1)
        Traceback (most recent call last):
        ...
        ValueError: hours must be a number > 0 (the corpus's length). Received -1
    """
    import math
    try:
        ok = math.isfinite(float(amount)) and float(amount) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{unit} must be a number > 0 (the corpus's "
                         f"length). Received {amount}")
    if recordings is not None and int(recordings) < 1:
        raise ValueError(f"recordings must be at least 1. Received "
                         f"{recordings}")


@contextlib.contextmanager
def prepare_output(path, overwrite):
    """Yields the folder to build a corpus in: beside ``path``, moved there
    once complete (:func:`soundnet_keras.stores.staged_folder`), so a
    failed or killed build leaves the old corpus (or nothing) and no
    leftovers that block the retry. ``path`` must be new or empty, or
    ``overwrite``."""
    from soundnet_keras.stores import staged_folder
    with staged_folder(path, overwrite) as root:
        (root / "audio").mkdir()
        yield root


def write_json(path, obj):
    """Writes JSON atomically (:func:`soundnet_keras.stores.write_text`)."""
    from soundnet_keras.stores import write_text
    write_text(path, json.dumps(obj, indent=1, ensure_ascii=False) + "\n")


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


__all__ = ["Corpus", "SAMPLE_RATE", "SPLITS", "SPLIT_RATIO", "class_summary",
           "format_summary", "load_corpus", "polyphony_shares",
           "check_size", "prepare_output", "write_json"]
