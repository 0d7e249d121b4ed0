"""Object and place predictions of the pretrained SoundNet-8."""

import keras
import numpy as np

from .audio import check_waveform, preprocess_input, resample
from .specs import frame_times
from .weights import load_labels

TILE_SECONDS = 10.0


def tile_to(waveform, n_samples):
    """Repeats a short waveform until it is ``n_samples`` long, as the
    original prediction script does (it tiles input shorter than 10 s)."""
    if waveform.size >= n_samples:
        return waveform
    reps = -(-n_samples // waveform.size)
    return np.tile(waveform, reps)[:n_samples]


def predict(waveform, sample_rate, top=5, model=None, per_frame=False,
            weights_dir=None):
    """Top objects and places of a waveform.

    The heads' distributions are averaged over the conv8 frames (or returned
    per frame). Input shorter than 10 s is tiled to 10 s first.

    Args:
        waveform: 1-D float array in [-1, 1].
        sample_rate: its rate (resampled to 22,050 Hz when different).
        top: how many classes to return per head.
        model: a SoundNet-8 with its top (default: the pretrained one).
        per_frame: also rank each conv8 frame.
        weights_dir: where the category names are (default: ``weights/``).

    Returns:
        A dict with ``objects`` and ``places``: lists of ``(name, p)``; with
        ``per_frame``, also ``frames``: a list of such dicts with ``time``.

    Example (needs the fetched weights):
        >>> predict(np.zeros(22050), 22050)["places"][0]  # doctest: +SKIP
    """
    if model is None:
        from .models import SoundNet8
        model = SoundNet8()
    objects, places = load_labels(weights_dir)
    rate = 22050
    waveform = check_waveform(resample(waveform, sample_rate, rate), rate)
    waveform = tile_to(waveform, int(TILE_SECONDS * rate))
    x = preprocess_input(waveform)[None, :, None]
    obj, plc = (keras.ops.convert_to_numpy(p)[0]
                for p in model(x, training=False))

    def ranked(probs, names):
        order = np.argsort(-probs)[:top]
        return [(names[i], float(probs[i])) for i in order]

    result = dict(objects=ranked(obj.mean(0), objects),
                  places=ranked(plc.mean(0), places))
    if per_frame:
        times = frame_times("soundnet8", "conv8", len(obj))
        result["frames"] = [
            dict(time=float(t), objects=ranked(o, objects),
                 places=ranked(p, places))
            for t, o, p in zip(times, obj, plc)]
    return result
