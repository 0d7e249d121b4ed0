"""The distillation pool: hours of unlabelled real audio for SoundNet's
students (SN-F, SN-R), none of it in the stand-in detection corpus.

Layout (:func:`make_pool` writes it, :func:`load_pool` reads it)::

    <pool>/audio/<package>/<source path, "/" and "!" as "__">.wav
                      mono 16-bit WAV at 22,050 Hz (SoundNet's rate), one
                      per source file, cropped to its frames within 60 dB
                      of its loudest
    <pool>/manifest.tsv   one row per file: path (relative to <pool>), kind
                      (music, speech, ambience), package, source_path,
                      licence, duration_s, split (train or val)
    <pool>/metadata.json  packages and versions, totals per kind and split

The split is fixed per source file (about one file in ten is ``val``, by a
hash of its path), so it does not depend on a seed. The material
(:data:`sed.corpora.sources.POOL`) comes from packages and paths that no
class or background of the detection corpus uses, so the pool is disjoint
from all of the corpus's material (its validation and test material in
particular); :func:`make_pool` checks this against the stand-in patterns.
"""

import json
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import soundfile

from soundnet_keras.audio import read_waveform

from . import debian
from .layout import write_json
from .sources import POOL, classify, licence

POOL_RATE = 22050
MANIFEST_COLUMNS = ["path", "kind", "package", "source_path", "licence",
                    "duration_s", "split"]


def _split_of(package, source_path):
    return "val" if zlib.crc32(f"{package}:{source_path}".encode()) % 10 \
        == 0 else "train"


def make_pool(path, sources=None, cache=None, overwrite=False,
              progress=True, max_files=None):
    """Builds the distillation pool (layout in the module docstring).

    Args:
        path: the output folder.
        sources: ``(package, kind, regular expression)`` triples; default
            :data:`sed.corpora.sources.POOL` (about 11 h).
        cache: the package cache (:mod:`sed.corpora.debian`).
        overwrite: rebuild files already there (otherwise kept: resumable).
        progress: show a progress bar.
        max_files: at most this many files per package (tests).

    Returns:
        The pool, loaded (:func:`load_pool`).

    Raises:
        ValueError: a source file is also stand-in material.
    """
    root = Path(path)
    (root / "audio").mkdir(parents=True, exist_ok=True)
    sources = POOL if sources is None else sources
    files = []
    for package, kind, pattern in sources:
        found = [f for f in debian.list_audio(package, cache)
                 if re.search(pattern, f.source_path, re.IGNORECASE)]
        files += [(kind, f) for f in found[:max_files]]
    if progress:
        from tqdm.auto import tqdm
        files = tqdm(files, desc="distillation pool", unit="file")
    rows, seen = [], set()
    for kind, source in files:
        if classify(source.package, source.source_path) is not None:
            raise ValueError(f"{source.package}:{source.source_path} is "
                             "stand-in corpus material; the pool must not "
                             "hold it (fix sed.corpora.sources.POOL).")
        name = re.sub(r"[/!#]", "__", source.source_path)
        rel = f"audio/{source.package}/{Path(name).with_suffix('.wav')}"
        out = root / rel
        if not debian.unseen(source, seen):
            continue
        if out.is_file() and not overwrite:
            info = soundfile.info(str(out))
            seconds = info.frames / info.samplerate
        else:
            x, _ = debian.read_cropped(source, POOL_RATE)
            if len(x) < POOL_RATE:
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            soundfile.write(str(out), x, POOL_RATE, subtype="PCM_16")
            seconds = len(x) / POOL_RATE
        rows.append((rel, kind, source.package, source.source_path,
                     licence(source), round(seconds, 3),
                     _split_of(source.package, source.source_path)))
    manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    manifest.to_csv(root / "manifest.tsv", sep="\t", index=False,
                    lineterminator="\n")
    hours = manifest.groupby(["kind", "split"])["duration_s"].sum() / 3600
    write_json(root / "metadata.json", {
        "kind": "pool", "sample_rate": POOL_RATE,
        "total_hours": round(float(manifest["duration_s"].sum()) / 3600, 3),
        "hours": {f"{k}/{s}": round(float(v), 3)
                  for (k, s), v in hours.items()},
        "files": len(manifest),
        "packages": {p: debian.package_version(p, cache)
                     for p, _, _ in sources},
        "sources": [list(source) for source in sources]})
    return load_pool(root)


@dataclass(frozen=True)
class Pool:
    """A distillation pool on disk.

    Attributes:
        root: the pool folder.
        manifest: the rows of ``manifest.tsv`` (of the split asked for).
        sample_rate: the files' rate (22,050 Hz).
    """

    root: Path
    manifest: pd.DataFrame
    sample_rate: int

    def __len__(self):
        return len(self.manifest)

    def hours(self):
        """Total duration in hours."""
        return float(self.manifest["duration_s"].sum()) / 3600

    def read(self, i, sample_rate=None):
        """File ``i`` of the manifest as float32 in [-1, 1] (resampled to
        ``sample_rate`` if given)."""
        path = self.root / self.manifest["path"].iloc[i]
        return read_waveform(str(path), sample_rate or self.sample_rate)


def load_pool(path, split=None):
    """Loads a distillation pool (a :class:`Pool`), checking its files.

    Args:
        path: the pool folder.
        split: ``"train"``, ``"val"`` or None (all).

    Raises:
        FileNotFoundError: no manifest, or a file it lists is missing.
    """
    root = Path(path)
    manifest_path = root / "manifest.tsv"
    if not manifest_path.is_file():
        raise FileNotFoundError(
            f"{manifest_path} is missing: build the pool with "
            f"`sed-ctc corpus pool --out {root}`.")
    manifest = pd.read_csv(manifest_path, sep="\t")
    missing = [p for p in manifest["path"] if not (root / p).is_file()]
    if missing:
        raise FileNotFoundError(f"{root}: {len(missing)} files of "
                                f"manifest.tsv are missing, e.g. "
                                f"{missing[0]}; rebuild the pool.")
    if split is not None:
        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train', 'val' or None; got "
                             f"{split!r}")
        manifest = manifest[manifest["split"] == split] \
            .reset_index(drop=True)
    meta = json.loads((root / "metadata.json").read_text())
    return Pool(root, manifest, int(meta["sample_rate"]))


__all__ = ["MANIFEST_COLUMNS", "POOL_RATE", "Pool", "load_pool",
           "make_pool"]
