"""Audio in: read, take the first channel, resample, check, scale.

Scaling happens in one place only, :func:`preprocess_input`: the network takes
a waveform in [-256, 256], i.e. a [-1, 1] signal times 256, as the original
SoundNet's loader does. Everything else in the package passes [-1, 1] floats.
"""

import struct
import warnings
from pathlib import Path

import numpy as np
import soundfile
import soxr

from .specs import get_spec, min_samples

INPUT_SCALE = 256.0


def preprocess_input(waveform):
    """Scales a [-1, 1] waveform to the network's [-256, 256] range.

    Example:
        >>> preprocess_input(np.array([0.5, -1.0], dtype="float32"))
        array([ 128., -256.], dtype=float32)
    """
    return np.asarray(waveform, dtype=np.float32) * np.float32(INPUT_SCALE)


def as_waveform(waveform, source="waveform"):
    """Samples as a float32 array in [-1, 1]'s scale, checked at the door.

    Integer arrays are scaled by their type's range, as soundfile reads
    PCM files (``int16`` by 1/32768, ``int32`` by 2**-31, ``int8`` by
    1/128, ``uint8`` centred on 128 first); floats are taken as they are.
    Refused with the fix (``TypeError``): a path or string given where
    samples are expected, booleans, complex numbers. Refused
    (``ValueError``): NaN or infinite samples, counted before anything is
    computed from them.

    Example:
        >>> as_waveform(np.array([16384, -32768], dtype=np.int16))
        array([ 0.5, -1. ], dtype=float32)
        >>> as_waveform(np.array([128, 255, 0], dtype=np.uint8)).tolist()
        [0.0, 0.9921875, -1.0]
        >>> as_waveform("clip.wav")
        Traceback (most recent call last):
        ...
        TypeError: waveform: got the path 'clip.wav' where samples are expected; read the file first (sk.load_audio('clip.wav', sample_rate)), or give the path to the command line
    """
    if isinstance(waveform, (str, bytes, Path)):
        raise TypeError(
            f"{source}: got the path {str(waveform)!r} where samples are "
            f"expected; read the file first (sk.load_audio({str(waveform)!r}"
            ", sample_rate)), or give the path to the command line")
    array = np.asarray(waveform)
    kind = array.dtype.kind
    if kind in "iu":
        info = np.iinfo(array.dtype)
        centre = (int(info.max) + 1) // 2 if kind == "u" else 0
        scale = float(int(info.max) + 1 - centre)
        array = (array.astype(np.float64) - centre) / scale
    elif kind not in "f":
        raise TypeError(f"{source}: samples of type {array.dtype} cannot be "
                        "audio; give float or integer PCM samples")
    array = array.astype(np.float32, copy=False)
    if not np.all(np.isfinite(array)):
        bad = int(array.size - np.count_nonzero(np.isfinite(array)))
        raise ValueError(f"{source}: {bad} samples are NaN or infinite")
    return array


def resample(waveform, sample_rate, target_rate, source="waveform"):
    """Resamples a 1-D waveform with soxr (very high quality), after
    :func:`as_waveform`."""
    waveform = as_waveform(waveform, source)
    if int(sample_rate) == int(target_rate):
        return waveform
    return soxr.resample(waveform, sample_rate, target_rate,
                         quality="VHQ").astype(np.float32, copy=False)


def check_waveform(waveform, sample_rate, model="soundnet8", layer=None,
                   pad=False, source="waveform"):
    """Validates a 1-D waveform; returns it (zero-padded if ``pad``).

    Integer samples are scaled and paths refused (:func:`as_waveform`).
    Raises ``ValueError`` for an empty input, NaN or inf samples, and input
    too short for one frame of ``layer`` (unless ``pad``; the message gives
    the minimum duration).
    """
    waveform = as_waveform(waveform, source)
    if waveform.ndim != 1:
        raise ValueError(f"{source}: expected a 1-D waveform, got shape "
                         f"{waveform.shape}")
    if waveform.size == 0:
        raise ValueError(f"{source}: the audio has zero length")
    if layer is not None:
        need = min_samples(model, layer)
        if waveform.size < need:
            if pad:
                waveform = np.pad(waveform, (0, need - waveform.size))
            else:
                rate = get_spec(model)["sample_rate"]
                raise ValueError(
                    f"{source}: {waveform.size / rate:.3f} s of audio is too "
                    f"short for layer {layer!r} of {get_spec(model)['name']}, "
                    f"which needs at least {need / rate:.3f} s ({need} "
                    f"samples at {rate} Hz); pass pad=True (--pad on the command "
                    "line) to zero-pad it")
    return waveform


_BYTES_PER_SAMPLE = {"PCM_U8": 1, "PCM_S8": 1, "ULAW": 1, "ALAW": 1,
                     "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4,
                     "DOUBLE": 8}


def declared_wav_frames(path, info):
    """Frames a WAV file's ``data`` chunk header declares (None when not a
    plain RIFF/WAVE file, or the size is not given)."""
    size = _BYTES_PER_SAMPLE.get(info.subtype)
    if info.format not in ("WAV", "WAVEX") or size is None:
        return None
    with open(path, "rb") as f:
        head = f.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            name, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if name == b"data":
                return None if length in (0, 0xFFFFFFFF) else \
                    length // (size * info.channels)
            f.seek(length + (length & 1), 1)


def _check_file_audio(path, data, info):
    """Warnings for audio that reads but is likely not what was meant."""
    declared = declared_wav_frames(path, info)
    if declared is not None and declared > len(data):
        warnings.warn(
            f"{path}: truncated: its header declares {declared / info.samplerate:.3f}"
            f" s, the file holds {len(data) / info.samplerate:.3f} s; using "
            "what is there (copy or export the file again for the rest)")
    peaks = np.abs(data).max(axis=0) if data.size else np.zeros(1)
    if data.shape[1] > 1 and peaks[0] == 0 and peaks.max() > 0:
        warnings.warn(
            f"{path}: the first channel is silent, channel "
            f"{int(peaks.argmax()) + 1} of {data.shape[1]} is not; SoundNet "
            "reads the first channel (as the original), so this predicts "
            "silence. Mix or reorder the channels first (e.g. `sox in.wav "
            f"out.wav remix {int(peaks.argmax()) + 1}`)")
    if peaks[0] > 1.0:
        warnings.warn(
            f"{path}: samples reach {peaks[0]:.3g}, outside [-1, 1] (a "
            f"{info.subtype} file not normalised); the network expects "
            "[-1, 1] and scales by 256 itself. Used as is; divide by the "
            "peak, or export it normalised, if that is not meant")


def read_waveform(source, sample_rate, name=None, check=False):
    """The audio policy of the project: first channel, soxr-resampled.

    Reads ``source`` (a path or a file-like object) with soundfile, keeps
    the first channel (as the original SoundNet does) and resamples it to
    ``sample_rate`` with :func:`resample`. The corpora (:mod:`sed.corpora`)
    read their source recordings with it too; :func:`load_audio` with
    ``check=True`` (warnings for a truncated WAV, a silent first channel,
    samples outside [-1, 1]).

    Returns:
        A 1-D float32 array in [-1, 1].

    Raises:
        ValueError: the file cannot be decoded (naming ``name``).
    """
    try:
        data, rate = soundfile.read(source, dtype="float32", always_2d=True)
        if check:
            _check_file_audio(source, data, soundfile.info(source))
    except Exception as err:  # soundfile raises several types
        raise ValueError(f"{name or source}: cannot read audio ({err}); "
                         "wav, flac, ogg and mp3 are read") from None
    return resample(data[:, 0], rate, sample_rate)


def load_audio(path, sample_rate=22050, layer=None, pad=False,
               model="soundnet8"):
    """Reads an audio file as a float32 waveform in [-1, 1] at ``sample_rate``.

    wav, flac, ogg and mp3 are read with soundfile; the first channel is kept,
    as the original SoundNet does; other rates are resampled with soxr. A
    truncated WAV file, a silent first channel beside a sounding one, and
    samples outside [-1, 1] give a warning.

    Args:
        path: the audio file.
        sample_rate: the rate to return (22,050 Hz for SoundNet-8).
        layer: if given, check the audio gives at least one frame of this
            layer of ``model``.
        pad: zero-pad audio too short for ``layer`` instead of raising.
        model: the model ``layer`` belongs to.

    Returns:
        A 1-D float32 NumPy array.

    Example:
        >>> import os, tempfile, soundfile
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = os.path.join(folder.name, "stereo.wav")
        >>> soundfile.write(path, np.zeros((44100, 2)), 44100)
        >>> load_audio(path).shape
        (22050,)
        >>> folder.cleanup()
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No such audio file: {path}")
    waveform = read_waveform(str(path), sample_rate, check=True)
    return check_waveform(waveform, sample_rate, model=model, layer=layer,
                          pad=pad, source=str(path))
