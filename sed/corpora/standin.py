"""The stand-in corpus: real recordings from Debian packages, mixed into
scenes of the paper's shape (:func:`make_standin_corpus`).

How the material is prepared (:func:`collect_material`):

* Every file of the packages that a class's patterns find
  (:mod:`sed.corpora.sources`) is read once (files with identical bytes are
  kept once), resampled to 16 kHz with the project's audio policy
  (:func:`soundnet_keras.audio.read_waveform`: first channel, soxr), and
  cropped to its frames within 60 dB of its loudest (digital silence off,
  natural attacks and decays kept).
* A file is one *clip*; a file longer than 40 s (ambience loops, music) is
  cut into continuous segments of about 20 s, each a clip.
* Clips of one original recording form a *group* (a file, a segment, or
  the OpenSFX samples edited from one original). Groups are split 3:1:1 by
  duration per class (:func:`sed.corpora.mixer.split_3_1_1`, with a random
  order fixed by the class name, not by the corpus seed): no source
  segment is in two splits, for every seed.

How scenes are mixed: see :func:`make_standin_corpus`.
"""

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import soxr

from . import debian
from .layout import SAMPLE_RATE, SPLITS, check_size, class_summary, \
    format_summary, load_corpus, prepare_output
from .mixer import MS, Event, build, energy_span, fade, finish, \
    pink_noise, rms, split_3_1_1
from .sources import FULL_PACKAGES, SMALL_PACKAGES, STANDIN_CLASSES, \
    classify, licence

#: Files longer than this (s) are cut into segments of about SEGMENT_S.
LONG_S = 40.0
SEGMENT_S = 20.0
#: Source files are cropped to their frames within this many dB of the
#: loudest (digital silence off).
CROP_DB = -60.0
#: The shortest annotated span an event may have (s).
MIN_EVENT_S = 0.1

TIERS = {"full": FULL_PACKAGES, "small": SMALL_PACKAGES}


@dataclass
class Clip:
    """A piece of source material at 16 kHz and where it comes from."""

    label: str
    group: str
    package: str
    source_path: str
    start: float        # seconds in the source file
    audio: np.ndarray
    licence: str

    @property
    def seconds(self):
        return len(self.audio) / SAMPLE_RATE


def _group_of(source):
    """Files edited from one original recording share a group."""
    text = source.description()
    if 'Original "' in text:
        return "opensfx original " + text.split('Original "', 1)[1] \
            .split('"', 1)[0]
    return f"{source.package}:{source.source_path}"


def collect_material(packages, labels=None, cache=None, progress=False):
    """The clips of every class (and ``"background"``) in ``packages``.

    Args:
        packages: Debian packages (fetched into the cache if needed).
        labels: only these classes (None: all, and the background).
        cache: the package cache (:func:`sed.corpora.debian.cache_dir`).
        progress: show a progress bar.

    Returns:
        label -> list of :class:`Clip`, in a fixed order.
    """
    files = []
    for package in packages:
        for source in debian.list_audio(package, cache):
            label = classify(package, source.source_path)
            if label is not None and (labels is None or label in labels):
                files.append((label, source))
    if progress:
        from tqdm.auto import tqdm
        files = tqdm(files, desc="reading sources", unit="file")
    seen, out = set(), {}
    for label, source in files:
        if not debian.unseen(source, seen):
            continue
        x, start = debian.read_cropped(source, SAMPLE_RATE, CROP_DB)
        if len(x) < MIN_EVENT_S * SAMPLE_RATE:
            continue
        group = _group_of(source)
        pieces = [(0, len(x))]
        if len(x) > LONG_S * SAMPLE_RATE:
            count = int(round(len(x) / (SEGMENT_S * SAMPLE_RATE)))
            edges = np.linspace(0, len(x), count + 1).astype(int)
            pieces = list(zip(edges[:-1], edges[1:]))
        for k, (a, b) in enumerate(pieces):
            out.setdefault(label, []).append(Clip(
                label, group if len(pieces) == 1 else f"{group}@{k}",
                source.package, source.source_path,
                round((start + a) / SAMPLE_RATE, 4), x[a:b],
                licence(source)))
    return out


def split_material(clips, label):
    """Split -> the clips of one class, whole groups per split (3:1:1 by
    duration, a random order fixed by ``label``)."""
    groups = {}
    for clip in clips:
        groups.setdefault(clip.group, []).append(clip)
    keys = list(groups)
    seconds = [sum(c.seconds for c in groups[k]) for k in keys]
    rng = np.random.default_rng(zlib.crc32(label.encode()))
    split_of = split_3_1_1(seconds, rng)
    return {s: [c for k, t in zip(keys, split_of) if t == s
                for c in groups[k]] for s in SPLITS}


def _piece(clip, a, b):
    return (clip.package, clip.source_path,
            round(clip.start + a / SAMPLE_RATE, 3),
            round(clip.start + b / SAMPLE_RATE, 3))


class EventRenderer:
    """Renders the events of one split from its clips of each class."""

    def __init__(self, pools, speed=(0.94, 1.06), fade_s=(0.05, 0.3)):
        self.specs = {s.label: s for s in STANDIN_CLASSES}
        self.pools = pools      # label -> clips of this split
        self.speed = speed
        self.fade_s = fade_s

    def _excerpt(self, clip, want, rng):
        """A clip, or a random excerpt of ``want`` samples with fades at the
        cut ends."""
        x = clip.audio
        if len(x) <= want:
            return x.astype(np.float64), [_piece(clip, 0, len(x))]
        a = int(rng.integers(0, len(x) - want + 1))
        y = x[a:a + want].astype(np.float64)
        n = min(int(rng.uniform(*self.fade_s) * SAMPLE_RATE), want // 4)
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / max(n, 1))
        if a > 0:
            y[:n] *= ramp
        if a + want < len(x):
            y[len(y) - n:] *= ramp[::-1]
        return y, [_piece(clip, a, a + want)]

    def __call__(self, label, rng, max_ms):
        spec, pool = self.specs[label], self.pools[label]
        for _ in range(5):
            want = int(min(rng.uniform(*spec.seconds), max_ms / MS)
                       * SAMPLE_RATE)
            clip = pool[rng.integers(len(pool))]
            x, pieces = self._excerpt(clip, want, rng)
            if spec.gaps is not None:       # a sequence of clips
                parts = [x]
                total = len(x)
                while total < want:
                    gap = np.zeros(int(rng.uniform(*spec.gaps) * SAMPLE_RATE))
                    y, more = self._excerpt(pool[rng.integers(len(pool))],
                                            want, rng)
                    parts += [gap, y]
                    pieces += more
                    total += len(gap) + len(y)
                x = np.concatenate(parts)
            factor = rng.uniform(*self.speed)
            x = soxr.resample(x, SAMPLE_RATE * factor, SAMPLE_RATE,
                              quality="HQ")
            n = min(len(x), max_ms * SAMPLE_RATE // MS)
            n -= n % (SAMPLE_RATE // MS)
            x = fade(x[:n].copy(), SAMPLE_RATE)
            span = energy_span(x, SAMPLE_RATE)
            if span[1] - span[0] >= MIN_EVENT_S * SAMPLE_RATE:
                return Event(label, x.astype(np.float32), span, pieces)
        return None


class BackgroundRenderer:
    """Backgrounds of one split: ambience clips joined with crossfades, at
    a level from ``dbfs``, plus pink noise ``noise_db`` below it."""

    def __init__(self, clips, dbfs=(-45.0, -30.0), noise_db=(-25.0, -15.0),
                 crossfade_s=1.0):
        self.clips = [c for c in clips if c.seconds >= 3 * crossfade_s]
        self.dbfs = dbfs
        self.noise_db = noise_db
        self.crossfade = int(crossfade_s * SAMPLE_RATE)

    def __call__(self, n, rng):
        out = np.zeros(n)
        pieces = []
        at = 0
        while at < n and self.clips:
            clip = self.clips[rng.integers(len(self.clips))]
            start = max(0, at - self.crossfade)
            a = int(rng.integers(0, max(1, len(clip.audio) - n + start + 1)))
            y = clip.audio[a:a + n - start].astype(np.float64)
            y = fade(y / max(rms(y), 1e-9), SAMPLE_RATE,
                     self.crossfade / SAMPLE_RATE)
            out[start:start + len(y)] += y
            pieces.append((start / SAMPLE_RATE,
                           (start + len(y)) / SAMPLE_RATE,
                           *_piece(clip, a, a + len(y))))
            at = start + len(y)
        out /= max(rms(out), 1e-9)
        noise = pink_noise(n, rng) * 10 ** (rng.uniform(*self.noise_db) / 20)
        level = 10 ** (rng.uniform(*self.dbfs) / 20)
        return ((out + noise) * level).astype(np.float32), pieces


def _minutes(clips, package):
    return sum(c.seconds for c in clips if c.package == package) / 60


def material_table(pools, events, provenance):
    """Per class and split: events, distinct clips and source files,
    distinct minutes, reuse factor, packages and the minutes each gives
    (``material.csv``)."""
    rows = []
    for label, by_split in pools.items():
        for split in SPLITS:
            clips = by_split[split]
            seconds = sum(c.seconds for c in clips)
            mine = events[split][events[split]["event_label"] == label] \
                if label != "background" else None
            used = provenance[(provenance["event_label"] == label) &
                              (provenance["split"] == split)]
            annotated = float((mine["offset"] - mine["onset"]).sum()) \
                if mine is not None else float(
                    (used["offset"] - used["onset"]).sum())
            rows.append({
                "event_label": label, "split": split,
                "events": len(mine) if mine is not None else 0,
                "clips": len({c.group for c in clips}),
                "files": len({(c.package, c.source_path) for c in clips}),
                "minutes": round(seconds / 60, 2),
                "reuse": round(annotated / seconds, 1) if seconds else None,
                "packages": len({c.package for c in clips}),
                "minutes_by_package": " ".join(
                    f"{p}:{_minutes(clips, p):.2f}"
                    for p in sorted({c.package for c in clips}))})
    return pd.DataFrame(rows)


def make_standin_corpus(path, hours=9.6, seed=0, n_recordings=None, *,
                        tier="full", packages=None, cache=None,
                        overwrite=False, density=1.0, max_polyphony=3,
                        ebr_db=(-5.0, 20.0), progress=True):
    """Builds the stand-in for the noiseme corpus from real recordings.

    The paper's shape: by default 464 recordings, 9.6 h, 17 event classes
    (:data:`sed.corpora.sources.STANDIN_CLASSES`), 16 kHz mono 16-bit WAV,
    split 3:1:1 by duration. The packages of ``tier`` are fetched into the
    cache (``apt-get download``; the full tier is about 3.9 GB) and their
    material prepared as the module docstring says.

    How scenes are mixed:

    * Each recording (30-120 s, scaled to the total) draws classes
      uniformly and places events at uniform onsets until their annotated
      spans add up to ``density`` times its length, with at most
      ``max_polyphony`` events at once and 0.2 s between events of one
      class. An event is a clip, a random excerpt of the class's
      ``seconds`` (faded at cut ends), or a sequence of clips (speech,
      typing, drums), sped up or slowed down by 0.94-1.06 (pitch follows).
    * Its annotation is its own energy envelope: from the first to the last
      10 ms frame within 30 dB of its loudest frame
      (:data:`sed.corpora.mixer.SPAN_DB`); quieter attacks and decays sound
      but are not annotated.
    * Background: ambience recordings of none of the classes (the split's
      own), joined with 1 s crossfades, plus pink noise 15-25 dB below,
      at -45 to -30 dBFS; each event's level (its active frames' RMS) is
      ``ebr_db`` above the background's RMS. A mix that would clip is
      scaled down.

    Writes beside the layout of :mod:`sed.corpora.layout`: ``sources.tsv``
    (every event's and background's source segments: ``filename onset
    offset event_label split package source_path source_start
    source_end``) and ``material.csv`` (:func:`material_table`).

    Args:
        path: the output folder (new or empty).
        hours: total duration.
        seed: the random seed (same seed and packages: identical corpus;
            another seed: another realisation with the same sources and
            the same split of them).
        n_recordings: default ``464 * hours / 9.6`` (at least 5).
        tier: ``"full"`` or ``"small"`` (tests; classes without material
            are left out and listed as ``missing_classes``).
        packages: use these packages instead of the tier's.
        cache: the package cache.
        overwrite: replace a corpus already in ``path``.
        density, max_polyphony, ebr_db: see above.
        progress: show progress and print the summary.

    Returns:
        The :class:`sed.corpora.layout.Corpus`.

    Raises:
        RuntimeError: a package cannot be fetched, or (full tier) a class
            has fewer than three source groups.
    """
    packages = list(packages or TIERS[tier])
    if n_recordings is None:
        n_recordings = round(464 * float(hours) / 9.6)
    check_size(hours, n_recordings)
    with prepare_output(path, overwrite) as root:
        material = collect_material(packages, cache=cache, progress=progress)
        pools, missing = {}, []
        for spec in STANDIN_CLASSES + [None]:
            label = spec.label if spec else "background"
            clips = material.get(label, [])
            if len({c.group for c in clips}) < 3:
                missing.append(label)
                continue
            pools[label] = split_material(clips, label)
        if missing and packages == FULL_PACKAGES:
            raise RuntimeError(f"Too little material for {missing} in "
                               f"{packages}: each needs three source groups.")
        classes = [s.label for s in STANDIN_CLASSES if s.label in pools]
        background = pools.get("background", {s: [] for s in SPLITS})
        events_for = {s: EventRenderer({c: pools[c][s] for c in classes})
                      for s in SPLITS}
        backgrounds = {s: BackgroundRenderer(background[s]) for s in SPLITS}
        durations, splits, events, provenance = build(
            root, "standin", classes, n_recordings, float(hours) * 3600,
            (30.0, 120.0), seed, events_for.__getitem__,
            backgrounds.__getitem__, density, max_polyphony, ebr_db, progress)
        provenance.to_csv(root / "sources.tsv", sep="\t", index=False,
                          lineterminator="\n")
        table = material_table(pools, events, provenance)
        table.to_csv(root / "material.csv", index=False, lineterminator="\n")

        summary = class_summary(events, classes)
        versions = {p: debian.package_version(p, cache) for p in packages}
        sources = _describe_sources(pools)
        parameters = dict(
            hours=hours, n_recordings=max(5, int(n_recordings)), tier=tier,
            density=density, max_polyphony=max_polyphony, ebr_db=list(ebr_db),
            background="ambience recordings + pink noise 15-25 dB below, "
                       "-45 to -30 dBFS",
            speed=[0.94, 1.06], span_rule_db=-30.0, crop_db=CROP_DB,
            segment_s=SEGMENT_S, long_s=LONG_S, min_gap_same_class_s=0.2,
            recording_seconds=[30.0, 120.0], packages=versions)
        finish(root, "standin", classes, seed, durations, splits, events,
               sources, parameters, summary,
               extra={"missing_classes": [m for m in missing
                                          if m != "background"]})
    corpus = load_corpus(path)
    if progress:
        print(format_summary(corpus))
    return corpus


def _describe_sources(pools):
    """One ``sources`` entry per source file: name, licence, where from,
    class and the split (segments of one file may differ)."""
    seen = {}
    for label, by_split in pools.items():
        for split in SPLITS:
            for clip in by_split[split]:
                entry = seen.setdefault((clip.package, clip.source_path), {
                    "name": clip.source_path.rsplit("/", 1)[-1],
                    "licence": clip.licence,
                    "from": f"Debian package {clip.package}: "
                            f"{clip.source_path}",
                    "package": clip.package,
                    "source_path": clip.source_path,
                    "event_label": label, "splits": []})
                if split not in entry["splits"]:
                    entry["splits"].append(split)
    return list(seen.values())


def standin_available(tier="full", cache=None):
    """Whether a tier's packages are in the cache (nothing is fetched)."""
    return all(debian.is_fetched(p, cache) for p in TIERS[tier])


def shared_sources(sources):
    """Source segments used by two splits (there must be none).

    Args:
        sources: the rows of a corpus's ``sources.tsv``.

    Returns:
        One ``(package, source_path, split, other split)`` per source file
        whose segments used in one split overlap those used in another.
    """
    out = []
    for (package, path), rows in sources.groupby(["package", "source_path"]):
        spans = rows[["source_start", "source_end", "split"]] \
            .sort_values(["source_start", "source_end"]).values
        reach, owner = -np.inf, None
        for start, end, split in spans:
            if start < reach and split != owner:
                out.append((package, path, owner, split))
            if end > reach:
                reach, owner = end, split
    return out


def transition_recording(before="music", after="tools", at=4.5,
                         seconds=10.0, split="val", seed=0):
    """A recording that changes from one sound to another at ``at`` seconds.

    The sounds are real stand-in material (the longest clip of the
    ``split`` share of a class's material in its first fetched package,
    split as :func:`make_standin_corpus` splits it; tiled where short; the
    package is fetched if none is) or, for a label of
    :data:`sed.corpora.default.DEFAULT_CLASSES`, the built-in synthetic
    sounds. Each part is normalised to the same RMS and faded in and out over
    5 ms. Figure 3 of the paper shows network activations on such a
    recording (a clear transition at 4.5 s).

    Returns:
        ``(waveform, events)``: float32 at 16 kHz, and a DataFrame of the
        two events (``onset``, ``offset``, ``event_label``).

    Example:
        >>> x, events = transition_recording("low_tone", "white_noise")
        >>> x.shape, events["event_label"].tolist()
        ((160000,), ['low_tone', 'white_noise'])
    """
    from .default import DEFAULT_CLASSES, synthesise
    if not 0 < at < seconds:
        raise ValueError(f"at must lie inside (0, {seconds}); got {at}")
    rng = np.random.default_rng(seed)
    n_before = int(round(at * SAMPLE_RATE))
    lengths = (n_before, int(round(seconds * SAMPLE_RATE)) - n_before)
    specs = {spec.label: spec for spec in STANDIN_CLASSES}
    parts = []
    for label, n in zip((before, after), lengths):
        if label in DEFAULT_CLASSES:
            x = synthesise(label, n, rng)
        elif label in specs:
            fetched = [p for p in specs[label].patterns
                       if debian.is_fetched(p)]
            clips = collect_material(fetched[:1] or
                                     list(specs[label].patterns)[:1],
                                     labels={label})[label]
            pool = split_material(clips, label)[split]
            clip = max(pool, key=lambda c: c.seconds).audio
            start = int(rng.integers(0, max(1, len(clip) - n + 1)))
            x = np.resize(clip[start:], n)
        else:
            raise ValueError(
                f"Unknown class {label!r}: use one of the stand-in classes "
                f"({', '.join(specs)}) or of the default corpus "
                f"({', '.join(DEFAULT_CLASSES)})")
        parts.append(np.asarray(x, np.float64) / max(rms(x), 1e-9))
    waveform = np.concatenate([fade(x, SAMPLE_RATE) for x in parts])
    waveform = 0.1 * waveform / max(rms(waveform), 1e-9)
    waveform = np.clip(waveform, -1, 1).astype(np.float32)
    events = pd.DataFrame({"onset": [0.0, at], "offset": [at, seconds],
                           "event_label": [before, after]})
    return waveform, events


__all__ = ["Clip", "TIERS", "collect_material", "make_standin_corpus",
           "material_table", "shared_sources", "split_material",
           "standin_available",
           "transition_recording"]
