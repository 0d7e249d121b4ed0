"""Teacher targets for training SN-F and SN-R, and their ``tf.data`` pipeline.

The original targets (VGG16 on 2 million Flickr videos) cannot be had, so the
teacher is the ported SoundNet-8: every conv8 frame of a clip (four for 20 s,
eleven for 40 s) gives an object and a place distribution. By default each is
the target at its own centre, 4.75, 7.72, 10.69 and 13.66 s for 20 s clips
(``alignment="teacher"``, from :func:`soundnet_keras.specs.frame_times`); the
paper's 3, 8, 13 and 18 s, where VGG16 looked at the video, remain as
``alignment="paper"``. Training labels the student frame nearest each time.
The targets are computed once and stored with the students' 16 kHz input:

    <dir>/clips.csv                    clip_id, path, start_s, split, shard, row
    <dir>/meta.json                    rates, clip length, target times, teacher
    <dir>/<split>/shard-NNNNN/audio.npy    int16 (n, clip_seconds * 16000)
    <dir>/<split>/shard-NNNNN/objects.npy  float32 (n, 4, 1000)
    <dir>/<split>/shard-NNNNN/places.npy   float32 (n, 4, 401)

The teacher's input is the same audio at 22,050 Hz. Users who have the
original targets pass them (``objects (N, 4, 1000)``, ``places (N, 4, 401)``
in ``clips.csv`` order, in an ``.npz``) instead of the teacher's.
"""

import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf
from tqdm import tqdm

from .audio import load_audio, preprocess_input
from .specs import frame_times, output_length

STUDENT_RATE = 16000
TEACHER_RATE = 22050
FIRST_TARGET_S = 3.0
TARGET_SPACING_S = 5.0
ALIGNMENTS = ("teacher", "paper")


def target_times(clip_seconds=20.0, alignment="teacher"):
    """Times of a clip's targets, one per conv8 frame of the teacher.

    ``"teacher"``: the centre of each conv8 frame's receptive field;
    ``"paper"``: 5 s apart from 3 s (the paper's 3, 8, 13, 18 s).

    Example:
        >>> target_times(20.0).round(2)
        array([ 4.75,  7.72, 10.69, 13.66])
        >>> target_times(20.0, alignment="paper")
        array([ 3.,  8., 13., 18.])
    """
    if alignment not in ALIGNMENTS:
        raise ValueError(f"alignment must be one of {ALIGNMENTS}. "
                         f"Received: alignment={alignment!r}")
    n = output_length("soundnet8", "conv8", int(clip_seconds * TEACHER_RATE))
    if n < 1:
        raise ValueError(f"clips of {clip_seconds} s are too short for the "
                         "teacher's conv8 (at least 9.5 s)")
    if alignment == "teacher":
        return frame_times("soundnet8", "conv8", n)
    return FIRST_TARGET_S + TARGET_SPACING_S * np.arange(n)


def _to_int16(x):
    return np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)


def write_targets(out_dir, clips, clip_seconds=20.0, teacher=None,
                  user_targets=None, shard_size=500, batch_size=16,
                  progress=True, alignment="teacher", overwrite=False):
    """Computes (or takes) the targets of ``clips`` and stores them.

    The store is built beside ``out_dir`` and moved there once complete
    (:func:`soundnet_keras.stores.staged_folder`): a kill at any moment
    leaves the old store or the new one, never a mix.

    Args:
        out_dir: the folder to write (new or empty, or ``overwrite``).
        clips: a DataFrame from :func:`soundnet_keras.clips.plan_clips`.
        clip_seconds: the clips' length.
        teacher: a SoundNet-8 with its top (default: the pretrained one).
        user_targets: path of an ``.npz`` with ``objects`` and ``places``
            in ``clips`` order, used instead of the teacher.
        shard_size: clips per shard.
        batch_size: clips per teacher batch.
        progress: show a progress bar.
        alignment: the targets' times (:func:`target_times`).
        overwrite: replace an existing store (once the new one is
            complete).

    Returns:
        The output folder.

    Raises:
        FileExistsError: when ``out_dir`` holds files and not
            ``overwrite`` (nothing is computed).
    """
    from .stores import staged_folder
    with staged_folder(out_dir, overwrite) as stage:
        _write_targets(stage, clips, clip_seconds, teacher, user_targets,
                       shard_size, batch_size, progress, alignment)
    return Path(out_dir)


def _write_targets(out_dir, clips, clip_seconds, teacher, user_targets,
                   shard_size, batch_size, progress, alignment):
    times = target_times(clip_seconds, alignment)
    given = None
    if user_targets is not None:
        given = dict(np.load(user_targets))
        for key, width in (("objects", 1000), ("places", 401)):
            want = (len(clips), len(times), width)
            if given[key].shape != want:
                raise ValueError(f"{user_targets}: {key} has shape "
                                 f"{given[key].shape}, expected {want}")
    elif teacher is None:
        from .models import SoundNet8
        teacher = SoundNet8()
    run = tf.function(lambda x: teacher(x, training=False),
                      reduce_retracing=True) if given is None else None
    clips = clips.copy()
    clips["shard"] = 0
    clips["row"] = 0
    for split, group in clips.groupby("split", sort=False):
        order = np.arange(len(group))
        clips.loc[group.index, "shard"] = order // shard_size
        clips.loc[group.index, "row"] = order % shard_size
    n_student = int(clip_seconds * STUDENT_RATE)
    n_teacher = int(clip_seconds * TEACHER_RATE)
    arrays = {}

    def shard_arrays(split, shard):
        key = (split, shard)
        if key not in arrays:
            folder = out_dir / split / f"shard-{shard:05d}"
            folder.mkdir(parents=True, exist_ok=True)
            n = int(((clips.split == split) & (clips.shard == shard)).sum())
            open_mm = np.lib.format.open_memmap
            arrays[key] = dict(
                audio=open_mm(folder / "audio.npy", "w+", np.int16,
                              (n, n_student)),
                objects=open_mm(folder / "objects.npy", "w+", np.float32,
                                (n, len(times), 1000)),
                places=open_mm(folder / "places.npy", "w+", np.float32,
                               (n, len(times), 401)))
        return arrays[key]

    pending = []

    def flush():
        if not pending:
            return
        if given is None:
            batch = np.stack([p[1] for p in pending])
            objects, places = (np.asarray(o) for o in run(tf.constant(
                preprocess_input(batch)[..., None])))
        for k, (clip, _, student) in enumerate(pending):
            a = shard_arrays(clip.split, clip.shard)
            a["audio"][clip.row] = _to_int16(student)
            if given is None:
                a["objects"][clip.row] = objects[k]
                a["places"][clip.row] = places[k]
            else:
                a["objects"][clip.row] = given["objects"][clip.clip_id]
                a["places"][clip.row] = given["places"][clip.clip_id]
        pending.clear()

    bar = tqdm(total=len(clips), unit="clip", disable=not progress,
               desc="targets")
    for path, group in clips.groupby("path", sort=False):
        student_audio = load_audio(path, STUDENT_RATE)
        teacher_audio = (load_audio(path, TEACHER_RATE) if given is None
                         else None)
        for clip in group.itertuples():
            s = int(round(clip.start_s * STUDENT_RATE))
            t = int(round(clip.start_s * TEACHER_RATE))
            pending.append((clip, None if given is not None else
                            teacher_audio[t:t + n_teacher],
                            student_audio[s:s + n_student]))
            if len(pending) == batch_size:
                flush()
            bar.update(1)
    flush()
    bar.close()
    for a in arrays.values():
        for array in a.values():
            array.flush()
    clips.to_csv(out_dir / "clips.csv", index=False)
    teacher_sha = None
    if given is None:
        from .weights import preset_path, sha256
        path = preset_path("soundnet8_flickr")
        teacher_sha = sha256(path) if path.exists() else None
    meta = dict(student_rate=STUDENT_RATE, teacher_rate=TEACHER_RATE,
                clip_seconds=clip_seconds, target_times_s=times.tolist(),
                alignment=alignment,
                shard_size=shard_size,
                teacher="user targets" if given is not None
                else "soundnet8 conv8 / conv8_2",
                teacher_weights_sha256=teacher_sha,
                counts=clips.split.value_counts().to_dict())
    from .identity import digest, files_digest, identity
    meta["identity"] = identity(
        manifest=digest(clips[["path", "start_s", "split"]].astype(str)
                        .values.tolist()),
        teacher=files_digest(user_targets) if given is not None
        else str(teacher_sha),
        settings=dict(clip_seconds=clip_seconds, alignment=alignment,
                      student_rate=STUDENT_RATE, teacher_rate=TEACHER_RATE))
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")


class TargetStore:
    """Random access to stored clips and targets (memory-mapped).

    Example:
        >>> store = TargetStore("targets")  # doctest: +SKIP
        >>> audio, objects, places = store.get("train", 0)  # doctest: +SKIP
    """

    def __init__(self, folder):
        from .stores import recover_folder
        self.folder = recover_folder(folder)
        if not (self.folder / "meta.json").exists():
            raise FileNotFoundError(
                f"No targets at {self.folder} (meta.json missing); make them "
                "with `soundnet-keras targets`")
        self.meta = json.loads((self.folder / "meta.json").read_text())
        self.clips = pd.read_csv(self.folder / "clips.csv")
        self._split = {s: g.reset_index(drop=True)
                       for s, g in self.clips.groupby("split")}
        self._arrays = {}

    @property
    def target_times(self):
        return np.asarray(self.meta["target_times_s"])

    def count(self, split):
        return len(self._split.get(split, ()))

    def _shard(self, split, shard):
        key = (split, shard)
        if key not in self._arrays:
            folder = self.folder / split / f"shard-{shard:05d}"
            self._arrays[key] = {name: np.load(folder / f"{name}.npy",
                                               mmap_mode="r")
                                 for name in ("audio", "objects", "places")}
        return self._arrays[key]

    def targets(self, split):
        """``(objects (n, K, 1000), places (n, K, 401))`` of every clip of a
        split, in clip order, read without the clips' audio."""
        clips = self._split[split]
        return tuple(np.stack([np.asarray(self._shard(split, int(c.shard))[
            name][int(c.row)]) for c in clips.itertuples()])
            for name in ("objects", "places"))

    def get(self, split, index):
        """``(audio float32 in [-1, 1], objects, places)`` of one clip."""
        clip = self._split[split].iloc[index]
        a = self._shard(split, int(clip.shard))
        row = int(clip.row)
        return (a["audio"][row].astype(np.float32) / 32768.0,
                np.array(a["objects"][row]), np.array(a["places"][row]))


def make_dataset(store, split, batch_size=64, shuffle=True, seed=0,
                 start_example=0, repeat=True):
    """A ``tf.data`` pipeline of ``(waveform (T, 1), (objects, places))``.

    The order is a function of the example counter alone (a seeded
    permutation per pass over the clips), so a run resumed at
    ``start_example`` sees exactly the examples an uninterrupted run would.
    The waveform is scaled for the network (:func:`preprocess_input`).
    """
    n = store.count(split)
    if n == 0:
        raise ValueError(f"no {split!r} clips in {store.folder}")
    @functools.lru_cache(maxsize=4)
    def permutation(pass_no):
        return np.random.default_rng([seed, pass_no]).permutation(n)

    def load(i):
        pass_no, pos = divmod(int(i), n)
        if shuffle:
            pos = permutation(pass_no)[pos]
        audio, objects, places = store.get(split, pos)
        return preprocess_input(audio)[:, None], objects, places

    clip = int(store.meta["clip_seconds"] * store.meta["student_rate"])
    n_times = len(store.target_times)
    stop = np.iinfo(np.int64).max if repeat else n
    ds = tf.data.Dataset.range(start_example, stop)

    def mapped(i):
        audio, objects, places = tf.numpy_function(
            load, [i], (tf.float32, tf.float32, tf.float32))
        audio.set_shape((clip, 1))
        objects.set_shape((n_times, 1000))
        places.set_shape((n_times, 401))
        return audio, (objects, places)

    ds = ds.map(mapped, num_parallel_calls=2, deterministic=True)
    return ds.batch(batch_size, drop_remainder=repeat).prefetch(1)


def constant_student(train, held):
    """KL and top-1 agreement of the best constant student on ``held``.

    The constant is the mean training target of each head: a student must
    beat this to have learned anything beyond the teacher's prior.

    Args:
        train, held: ``(objects (n, K, 1000), places (n, K, 401))`` targets.

    Returns:
        ``dict(kl, objects_kl, places_kl, objects_agreement,
        places_agreement)``, KL in nats per frame.

    Example:
        >>> t = np.array([[[0.5, 0.5]], [[0.9, 0.1]]])
        >>> r = constant_student((t, t), (t, t))
        >>> round(r["objects_kl"], 4), r["objects_agreement"]
        (0.1017, 1.0)
    """
    out = {}
    for key, tr, ho in zip(("objects", "places"), train, held):
        prior = np.asarray(tr, np.float64).reshape(-1, tr.shape[-1]).mean(0)
        ho = np.asarray(ho, np.float64)
        safe = np.maximum(ho, 1e-30)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(ho > 0, ho * np.log(safe / prior), 0).sum(-1)
        out[f"{key}_kl"] = float(kl.mean())
        out[f"{key}_agreement"] = float((ho.argmax(-1) == prior.argmax()).mean())
    out["kl"] = out["objects_kl"] + out["places_kl"]
    return out


def prior_baseline(store, split="val"):
    """:func:`constant_student` of stored targets: the mean ``train`` target
    scored on ``split``."""
    return constant_student(store.targets("train"), store.targets(split))
