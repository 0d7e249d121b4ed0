"""Audio in: read, take the first channel, resample, check, scale.

Scaling happens in one place only, :func:`preprocess_input`: the network takes
a waveform in [-256, 256], i.e. a [-1, 1] signal times 256, as the original
SoundNet's loader does. Everything else in the package passes [-1, 1] floats.
"""

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


def resample(waveform, sample_rate, target_rate):
    """Resamples a 1-D float waveform with soxr (very high quality)."""
    waveform = np.asarray(waveform, dtype=np.float32)
    if int(sample_rate) == int(target_rate):
        return waveform
    return soxr.resample(waveform, sample_rate, target_rate,
                         quality="VHQ").astype(np.float32, copy=False)


def check_waveform(waveform, sample_rate, model="soundnet8", layer=None,
                   pad=False, source="waveform"):
    """Validates a 1-D waveform; returns it (zero-padded if ``pad``).

    Raises ``ValueError`` for an empty input, NaN or inf samples, and input
    too short for one frame of ``layer`` (unless ``pad``; the message gives
    the minimum duration).
    """
    waveform = np.asarray(waveform, dtype=np.float32)
    if waveform.ndim != 1:
        raise ValueError(f"{source}: expected a 1-D waveform, got shape "
                         f"{waveform.shape}")
    if waveform.size == 0:
        raise ValueError(f"{source}: the audio has zero length")
    if not np.all(np.isfinite(waveform)):
        bad = int(np.size(waveform) - np.count_nonzero(np.isfinite(waveform)))
        raise ValueError(f"{source}: {bad} samples are NaN or infinite")
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
                    f"samples at {rate} Hz); pass pad=True to zero-pad it")
    return waveform


def read_waveform(source, sample_rate, name=None):
    """The audio policy of the project: first channel, soxr-resampled.

    Reads ``source`` (a path or a file-like object) with soundfile, keeps
    the first channel (as the original SoundNet does) and resamples it to
    ``sample_rate`` with :func:`resample`. The corpora (:mod:`sed.corpora`)
    read their source recordings with it too.

    Returns:
        A 1-D float32 array in [-1, 1].

    Raises:
        ValueError: the file cannot be decoded (naming ``name``).
    """
    try:
        data, rate = soundfile.read(source, dtype="float32", always_2d=True)
    except Exception as err:  # soundfile raises several types
        raise ValueError(f"{name or source}: cannot read audio ({err})") \
            from err
    return resample(data[:, 0], rate, sample_rate)


def load_audio(path, sample_rate=22050, layer=None, pad=False,
               model="soundnet8"):
    """Reads an audio file as a float32 waveform in [-1, 1] at ``sample_rate``.

    wav, flac, ogg and mp3 are read with soundfile; the first channel is kept,
    as the original SoundNet does; other rates are resampled with soxr.

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
    waveform = read_waveform(str(path), sample_rate)
    return check_waveform(waveform, sample_rate, model=model, layer=layer,
                          pad=pad, source=str(path))
