"""Object and place predictions of the pretrained SoundNet-8.

Which conv8 frames enter the answer follows from the frame geometry
(:mod:`soundnet_keras.specs`): a conv8 frame reads ``kernel`` (8) conv7 frames.
Conv7's last frame always reaches past the end of the input: at least a
quarter and up to 61% of its receptive field (91,166 samples, hop 32,768) is
zero padding. On the network's 20 s training clips floor mode drops that
frame (15 conv7 frames; the 4 conv8 frames read frames 0-13), so the heads
never learned what it looks like, and a conv8 frame that reads it is
nonsense: ``parking_garage/outdoor`` at p ~ 1 whatever the audio (README,
"Predictions"). :func:`reliable_frames` leaves such frames out, and
:func:`predict` tiles clips shorter than 20 s to 20 s, so every clip keeps
at least one frame (a 20 s clip keeps all 4).
"""

import numpy as np

from .audio import check_waveform, preprocess_input, resample
from .specs import frame_times, geometry, get_spec, output_length
from .weights import load_labels

TILE_SECONDS = 20.0
CHUNK_SECONDS = 120.0


def tile_to(waveform, n_samples):
    """Repeats a short waveform until it is ``n_samples`` long (as the
    original prediction script tiles short input)."""
    if waveform.size >= n_samples:
        return waveform
    reps = -(-n_samples // waveform.size)
    return np.tile(waveform, reps)[:n_samples]


def reliable_frames(n_samples, model="soundnet8", head="conv8"):
    """Boolean mask over ``head``'s frames for ``n_samples`` of input: False
    for a frame whose window reads the last frame of the layer below (whose
    receptive field is dominated by zero padding past the end).

    Example:
        >>> reliable_frames(441000)          # 20 s: conv7 frame 14 unread
        array([ True,  True,  True,  True])
        >>> reliable_frames(int(19 * 22050))  # 19 s: frame 3 reads frame 13
        array([ True,  True,  True, False])
    """
    spec = get_spec(model)
    names = [row["name"] for row in spec["layers"]]
    row = spec["layers"][names.index(head)]
    below = [r["name"] for r in spec["layers"] if r["kind"] != "head"][-1]
    n_below = output_length(spec, below, n_samples)
    n_head = output_length(spec, head, n_samples)
    last_read = np.arange(n_head) * row["stride"] + row["kernel"] - 1
    return last_read < n_below - 1


def head_outputs(waveform, model, chunk_seconds=CHUNK_SECONDS):
    """``(objects (T, 1000), places (T, 401))`` softmax outputs of a
    22,050 Hz waveform in [-1, 1], computed by ``model`` in chunks of about
    ``chunk_seconds`` that overlap by conv8's receptive field (so memory is
    bounded and the result equals one pass over the whole input). Nothing
    is built: the chunks follow from the spec's frame geometry."""
    import keras
    from .features import chunk_bounds
    jump = geometry("soundnet8")["conv8"]["jump"]
    parts = []
    for start, stop, first, last in chunk_bounds(
            "soundnet8", "conv8", waveform.size,
            chunk_seconds or CHUNK_SECONDS):
        x = preprocess_input(waveform[start:stop])[None, :, None]
        out = [keras.ops.convert_to_numpy(p)[0]
               for p in model(x, training=False)]
        parts.append([o[first - start // jump:last - start // jump]
                      for o in out])
    return tuple(np.concatenate(p) for p in zip(*parts))


def predict(waveform, sample_rate, top=5, model=None, per_frame=False,
            chunk_seconds=CHUNK_SECONDS):
    """Top objects and places of a waveform.

    Input shorter than 20 s is tiled to 20 s; the heads' distributions are
    averaged over the conv8 frames that :func:`reliable_frames` keeps (or
    returned per frame).

    Args:
        waveform: 1-D float array in [-1, 1].
        sample_rate: its rate (resampled to 22,050 Hz when different).
        top: how many classes to return per head (at least 1).
        model: a SoundNet-8 with its top (default: the pretrained one).
        per_frame: also rank each kept conv8 frame.
        chunk_seconds: input per chunk for long audio (bounded memory).

    Returns:
        A dict with ``objects`` and ``places``: lists of ``(name, p)``,
        ``frames_used`` and ``frames_total``; with ``per_frame``, also
        ``frames``: a list of such dicts with ``time`` (seconds, in the tiled
        input for a short clip).

    Example (needs the fetched weights):
        >>> predict(np.zeros(22050), 22050)["places"][0]  # doctest: +SKIP
    """
    if int(top) != top or top < 1:
        raise ValueError(f"top must be a positive integer. Received: "
                         f"top={top!r}")
    if model is None:
        from .models import SoundNet8
        model = SoundNet8()
    heads = [t.shape[-1] for t in getattr(model, "outputs", [])]
    if heads != [1000, 401]:
        raise ValueError(
            f"predict needs SoundNet-8 with its top (include_top=True: "
            f"object and place heads of 1000 and 401 classes); model "
            f"{getattr(model, 'name', model)!r} gives outputs of width "
            f"{heads}. For features of a model without its top use "
            "sk.extract_features")
    objects, places = load_labels()
    rate = 22050
    waveform = check_waveform(resample(waveform, sample_rate, rate), rate)
    waveform = tile_to(waveform, int(TILE_SECONDS * rate))
    obj, plc = head_outputs(waveform, model, chunk_seconds)
    keep = reliable_frames(waveform.size)

    def ranked(probs, names):
        order = np.argsort(-probs)[:top]
        return [(names[i], float(probs[i])) for i in order]

    result = dict(objects=ranked(obj[keep].mean(0), objects),
                  places=ranked(plc[keep].mean(0), places),
                  frames_used=int(keep.sum()), frames_total=int(keep.size))
    if per_frame:
        times = frame_times("soundnet8", "conv8", len(obj))[keep]
        result["frames"] = [
            dict(time=float(t), objects=ranked(o, objects),
                 places=ranked(p, places))
            for t, o, p in zip(times, obj[keep], plc[keep])]
    return result
