"""Single-label clips for clip classification (the transfer-learning guide).

A clip set is a folder:

    <folder>/audio/<split>_<label>_<k>.wav   16 kHz mono 16-bit, CLIP_S long
    <folder>/clips.tsv                       filename label split package
                                             source_path start seconds group
                                             licence
    <folder>/metadata.json                   classes, parameters, counts,
                                             provenance

Two sources:

* ``"standin"`` (:func:`make_clip_set`): the stand-in corpus's own material
  (:func:`sed.corpora.standin.collect_material`: each file of the Debian
  packages that a class's patterns find, cropped to its sound), split by
  recording as the corpus splits it (:func:`~sed.corpora.standin.
  split_material`: files edited from one original recording stay in one
  split), at most :data:`PER_SPLIT` clips per class and split drawn with
  ``seed``. The 17 event types of the stand-in corpus.
* ``"synthetic"``: the built-in corpus's 17 synthesised event types
  (:func:`sed.corpora.default.synthesise`), built in seconds, where the
  packages are missing (tests, demos).

Every clip lasts :data:`CLIP_S`: a longer piece is cut around its middle, a
shorter one is repeated until it fills the clip (as SoundNet-8's
predictions tile short clips), so no clip is mostly silence.

Example:
    >>> import tempfile
    >>> clips = make_clip_set(tempfile.mkdtemp() + "/clips", "synthetic",
    ...                       per_split=dict(train=2, val=1, test=1))
    >>> clips.waveforms.shape, len(clips.classes)
    ((68, 80000), 17)
    >>> sorted(set(clips.table["split"]))
    ['test', 'train', 'val']
"""

import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .layout import SAMPLE_RATE, SPLITS, prepare_output, write_json

#: Seconds of every clip.
CLIP_S = 5.0
#: At most this many clips per class and split (ESC-50 has 40 per class).
PER_SPLIT = {"train": 60, "val": 20, "test": 20}
SOURCES = ("standin", "synthetic")
COLUMNS = ("filename", "label", "split", "package", "source_path", "start",
           "seconds", "group", "licence")


@dataclass
class ClipSet:
    """A clip set in memory: ``waveforms`` (clips x samples, float32 at
    ``sample_rate``), ``labels`` (class indices), ``table`` (``clips.tsv``),
    ``classes`` (names in class order), ``metadata`` and its folder
    ``root``."""

    waveforms: np.ndarray
    labels: np.ndarray
    table: pd.DataFrame
    classes: list
    metadata: dict
    sample_rate: int = SAMPLE_RATE
    root: Path = None

    def split(self, name):
        """``(waveforms, labels)`` of one split."""
        keep = (self.table["split"] == name).to_numpy()
        return self.waveforms[keep], self.labels[keep]


def fit_length(x, n):
    """``x`` cut around its middle or repeated to exactly ``n`` samples.

    Example:
        >>> fit_length(np.arange(3.0), 7), fit_length(np.arange(9.0), 3)
        (array([0., 1., 2., 0., 1., 2., 0.]), array([3., 4., 5.]))
    """
    x = np.asarray(x)
    if len(x) >= n:
        start = (len(x) - n) // 2
        return x[start:start + n]
    return np.tile(x, -(-n // len(x)))[:n]


def _standin_pieces(tier, per_split, seed, cache, progress):
    from .sources import STANDIN_CLASSES
    from .standin import TIERS, collect_material, split_material, \
        standin_available
    if not standin_available(tier, cache):
        raise FileNotFoundError(
            f"the {tier!r} packages of the stand-in corpus are not fetched; "
            f"fetch them (`sed-ctc corpus fetch --tier {tier}`, or `make "
            "standin-packages` for the small tier) or use the synthetic "
            "clips (source='synthetic')")
    labels = [c.label for c in STANDIN_CLASSES]
    material = collect_material(TIERS[tier], labels=labels, cache=cache,
                                progress=progress)
    for label in labels:
        if not material.get(label):
            continue                  # no material in this tier
        rng = np.random.default_rng([seed, zlib.crc32(label.encode())])
        for split, clips in split_material(material[label], label).items():
            for k in sorted(rng.permutation(len(clips))[:per_split[split]]):
                c = clips[k]
                yield c.audio, dict(
                    label=label, split=split, package=c.package,
                    source_path=c.source_path, start=c.start,
                    seconds=round(c.seconds, 6), group=c.group,
                    licence=c.licence)


def _synthetic_pieces(per_split, seed):
    from .default import DEFAULT_CLASSES, synthesise
    for label in DEFAULT_CLASSES:
        rng = np.random.default_rng([seed, zlib.crc32(label.encode())])
        for split in SPLITS:
            for k in range(per_split[split]):
                n = int(rng.uniform(1.0, CLIP_S) * SAMPLE_RATE)
                x = synthesise(label, n, rng)
                x = 0.5 * x / max(1e-9, float(np.max(np.abs(x))))
                yield x, dict(
                    label=label, split=split, package="", source_path="",
                    start=0.0, seconds=round(n / SAMPLE_RATE, 6),
                    group=f"{label}-{split}-{k}", licence="Apache-2.0")


def make_clip_set(path, source="standin", tier="full", per_split=None,
                  seed=0, cache=None, overwrite=False, progress=False):
    """Writes a clip set (see the module docstring) and returns it loaded.

    Args:
        path: the output folder (new or empty, unless ``overwrite``).
        source: ``"standin"`` or ``"synthetic"``.
        tier: the stand-in packages' tier (``"full"``, ``"small"``).
        per_split: at most this many clips per class and split (default
            :data:`PER_SPLIT`).
        seed: which clips are drawn (and the synthetic ones' sounds).
        cache: the package cache (:func:`sed.corpora.debian.cache_dir`).
        overwrite: replace an existing clip set (once the new one is
            complete).
        progress: show a progress bar while reading sources.
    """
    import soundfile
    from soundnet_keras.provenance import provenance
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
    per_split = dict(PER_SPLIT, **(per_split or {}))
    pieces = _standin_pieces(tier, per_split, seed, cache, progress) \
        if source == "standin" else _synthetic_pieces(per_split, seed)
    n = int(CLIP_S * SAMPLE_RATE)
    rows, counts = [], {}
    with prepare_output(path, overwrite) as root:
        for x, row in pieces:         # class by class, in class order
            key = row["label"], row["split"]
            counts[key] = counts.get(key, 0) + 1
            name = f"{row['split']}_{row['label']}_{counts[key] - 1:03d}.wav"
            soundfile.write(str(root / "audio" / name), fit_length(x, n),
                            SAMPLE_RATE, subtype="PCM_16")
            rows.append(dict(filename=name, **row))
        table = pd.DataFrame(rows, columns=COLUMNS)
        table.to_csv(root / "clips.tsv", sep="\t", index=False)
        write_json(root / "metadata.json", dict(
            source=source, tier=tier if source == "standin" else None,
            classes=list(dict.fromkeys(table["label"])), clip_s=CLIP_S, sample_rate=SAMPLE_RATE,
            per_split=per_split, seed=seed,
            clips={s: int((table["split"] == s).sum()) for s in SPLITS},
            provenance=provenance()))
    return load_clip_set(path)


def load_clip_set(path, sample_rate=SAMPLE_RATE):
    """The :class:`ClipSet` of a folder written by :func:`make_clip_set`,
    resampled to ``sample_rate`` (e.g. 22,050 Hz for SoundNet-8)."""
    from soundnet_keras.audio import read_waveform
    path = Path(path)
    if not (path / "clips.tsv").is_file():
        raise FileNotFoundError(f"{path} is not a clip set (no clips.tsv); "
                                "make one with sed-ctc corpus clips")
    metadata = json.loads((path / "metadata.json").read_text())
    table = pd.read_csv(path / "clips.tsv", sep="\t", keep_default_na=False)
    waveforms = np.stack([read_waveform(path / "audio" / name, sample_rate)
                          for name in table["filename"]]) if len(table) \
        else np.zeros((0, int(CLIP_S * sample_rate)), np.float32)
    classes = metadata["classes"]
    labels = np.array([classes.index(x) for x in table["label"]], np.int32)
    return ClipSet(waveforms.astype(np.float32), labels, table, classes,
                   metadata, sample_rate, path)


__all__ = ["CLIP_S", "ClipSet", "PER_SPLIT", "fit_length", "load_clip_set",
           "make_clip_set"]
