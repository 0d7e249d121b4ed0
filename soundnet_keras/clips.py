"""Audio files -> 20 s clips for training the SoundNet variants.

A clip is a segment of one file: ``path``, ``start_s``. Clips are cut back to
back from every file long enough (files shorter than a clip are skipped), and
split into training and validation clips by file, so that no file feeds both.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import soundfile

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")


def list_audio(source):
    """Audio files from a folder (searched recursively), a list of paths, or a
    text file listing one path per line.

    Example:
        >>> list_audio([])
        []
    """
    if isinstance(source, (str, Path)):
        source = Path(source)
        if source.is_dir():
            return sorted(str(p) for p in source.rglob("*")
                          if p.suffix.lower() in AUDIO_EXTENSIONS)
        if source.suffix.lower() in AUDIO_EXTENSIONS:
            return [str(source)]
        if source.exists():
            return [line.strip() for line in source.read_text().splitlines()
                    if line.strip()]
        raise FileNotFoundError(f"No such folder or file: {source}")
    return [str(p) for p in source]


def plan_clips(files, clip_seconds=20.0, val_clips=1000, val_fraction=0.2,
               seed=0, hop_seconds=None, splits=None):
    """Cuts files into clips and splits them into ``train`` and ``val``.

    Clips start every ``hop_seconds`` (default: ``clip_seconds``, back to
    back); a shorter hop gives overlapping clips, more targets per file.

    Whole files go to validation, in a seeded random order, until it holds
    ``val_clips`` clips or ``val_fraction`` of all clips, whichever is fewer;
    one file always stays for training, and where the others are too few,
    it is split in time: its last clips go to validation (never more than
    half of them), its training clips end before them. A single 1-hour
    file gives 144 training and 36 validation clips of 20 s.
    With ``splits`` (path -> ``"train"`` or ``"val"``, e.g. a pool's
    manifest) the files keep their given split, and ``val_clips`` clips drawn
    at random (seeded) from the validation files are kept.

    Returns:
        A DataFrame with ``clip_id, path, start_s, split``.
    """
    rows = []
    for path in files:
        try:
            duration = soundfile.info(path).duration
        except Exception as err:  # soundfile raises several types
            raise ValueError(f"{path}: cannot read audio ({err})") from err
        hop = hop_seconds or clip_seconds
        for k in range(int((duration - clip_seconds) // hop) + 1
                       if duration >= clip_seconds else 0):
            rows.append(dict(path=str(path), start_s=k * hop))
    clips = pd.DataFrame(rows, columns=["path", "start_s"])
    if clips.empty:
        raise ValueError(f"no file is at least {clip_seconds} s long")
    if splits is not None:
        clips["split"] = [splits[p] for p in clips.path]
        val = clips.index[clips.split == "val"]
        rng = np.random.default_rng(seed)
        drop = rng.permutation(val)[val_clips:]
        clips = clips.drop(drop).reset_index(drop=True)
        clips.insert(0, "clip_id", np.arange(len(clips)))
        return clips
    target = min(val_clips, int(val_fraction * len(clips)))
    order = np.random.default_rng(seed).permutation(
        sorted(clips.path.unique()))
    val_files, count = set(), 0
    counts = clips.path.value_counts()
    for path in order[:-1]:             # the last file keeps training clips
        if count >= target:
            break
        val_files.add(path)
        count += counts[path]
    clips["split"] = np.where(clips.path.isin(val_files), "val", "train")
    if count < target:
        clips = _split_in_time(clips, order[-1], target - count,
                               clip_seconds)
    clips.insert(0, "clip_id", np.arange(len(clips)))
    return clips


def _split_in_time(clips, path, n_val, clip_seconds):
    """The file ``path``'s last ``n_val`` clips go to validation (at most
    half of its clips); its training clips end before the first of them
    (overlapping clips across the boundary are left out)."""
    mine = clips.index[clips.path == path]
    n_val = min(n_val, len(mine) // 2)
    if n_val == 0:
        return clips
    starts = clips.loc[mine, "start_s"].sort_values()
    first_val = starts.iloc[-n_val]
    clips.loc[starts.index[-n_val:], "split"] = "val"
    overlap = starts.index[(starts.values < first_val)
                           & (starts.values + clip_seconds > first_val)]
    return clips.drop(overlap).reset_index(drop=True)
