"""The architectures as data: one spec table per model, mirroring the paper.

Each spec is a tuple of rows, one per layer, in order. A row is a dict with
``name``, ``kind`` and that kind's parameters:

- ``conv``: ``filters, kernel, stride, pad`` (symmetric zero padding), then
  batch norm (epsilon 1e-5, Torch's default) and ReLU when ``bn`` is true.
- ``pool``: ``size, stride`` (max-pooling, no padding, floor mode).
- ``head``: ``filters, kernel, stride, pad``, a convolution read by a softmax
  output; every head reads the last non-head layer.

:func:`layer_table` derives the paper's table (frame rates and receptive
fields) from a spec; nothing in it is typed in.

Reference: Aytar, Vondrick & Torralba, "SoundNet", NIPS 2016 (Table 1 of
Wang & Metze, Interspeech 2017, with the released kernel of conv8).
"""

import numpy as np
import pandas as pd

BN_EPSILON = 1e-5


def _conv(name, filters, kernel, stride, pad):
    return dict(name=name, kind="conv", filters=filters, kernel=kernel,
                stride=stride, pad=pad, bn=True)


def _pool(name, size, stride):
    return dict(name=name, kind="pool", size=size, stride=stride)


def _head(name, filters, output):
    # The released weights have kernel 8 (the paper's Table 1 prints 4).
    return dict(name=name, kind="head", filters=filters, kernel=8, stride=2,
                pad=0, output=output)


SOUNDNET8 = dict(
    name="soundnet8",
    sample_rate=22050,
    layers=(
        _conv("conv1", 16, 64, 2, 32),
        _pool("pool1", 8, 8),
        _conv("conv2", 32, 32, 2, 16),
        _pool("pool2", 8, 8),
        _conv("conv3", 64, 16, 2, 8),
        _conv("conv4", 128, 8, 2, 4),
        _conv("conv5", 256, 4, 2, 2),
        _pool("pool5", 4, 4),
        _conv("conv6", 512, 4, 2, 2),
        _conv("conv7", 1024, 4, 2, 2),
        _head("conv8", 1000, "objects"),
        _head("conv8_2", 401, "places"),
    ),
)

SPECS = {"soundnet8": SOUNDNET8}

# Layers whose outputs are features (post-ReLU for convolutions).
FEATURE_LAYERS = tuple(row["name"] for row in SOUNDNET8["layers"])


def get_spec(model):
    """Returns the spec dict of ``model`` (a name or a spec dict)."""
    if isinstance(model, dict):
        return model
    if model not in SPECS:
        raise ValueError(
            f"Unknown model {model!r}. Known models: {sorted(SPECS)}.")
    return SPECS[model]


def geometry(model):
    """Per-layer geometry of ``model`` in input samples.

    Returns a dict ``name -> dict(jump, field, offset, channels)`` where frame
    ``i`` of that layer depends on input samples ``[i * jump + offset,
    i * jump + offset + field)`` (``offset`` <= 0 counts the zero padding).
    """
    spec = get_spec(model)
    jump, field, offset, channels = 1, 1, 0, 1
    out = {}
    trunk = None
    for row in spec["layers"]:
        if row["kind"] == "head":
            j, f, o, _ = trunk
        else:
            j, f, o = jump, field, offset
        k = row["kernel"] if row["kind"] in ("conv", "head") else row["size"]
        pad = row.get("pad", 0)
        geo = dict(jump=j * row["stride"], field=f + (k - 1) * j,
                   offset=o - pad * j,
                   channels=row.get("filters", channels))
        out[row["name"]] = geo
        if row["kind"] != "head":
            jump, field, offset, channels = (geo["jump"], geo["field"],
                                             geo["offset"], geo["channels"])
            trunk = (jump, field, offset, channels)
    return out


def output_length(model, layer, n_samples):
    """Number of frames ``layer`` of ``model`` gives for ``n_samples`` input.

    Follows the original's floor mode; 0 means the input is too short.

    Example:
        >>> output_length("soundnet8", "conv8", 441000)
        4
    """
    spec = get_spec(model)
    length = n_samples
    trunk = None
    for row in spec["layers"]:
        if row["kind"] == "head":
            src = trunk
        else:
            src = length
        k = row["kernel"] if row["kind"] in ("conv", "head") else row["size"]
        n = src + 2 * row.get("pad", 0) - k
        out = n // row["stride"] + 1 if src > 0 and n >= 0 else 0
        if row["name"] == layer:
            return max(out, 0)
        if row["kind"] != "head":
            length = trunk = max(out, 0)
    raise ValueError(f"Unknown layer {layer!r} of model {spec['name']!r}.")


def min_samples(model, layer):
    """Fewest input samples for which ``layer`` of ``model`` gives one frame.

    Example:
        >>> min_samples("soundnet8", "conv8")
        209374
    """
    lo, hi = 1, 1
    while output_length(model, layer, hi) < 1:
        hi *= 2
    while lo < hi:
        mid = (lo + hi) // 2
        if output_length(model, layer, mid) >= 1:
            hi = mid
        else:
            lo = mid + 1
    return lo


def frame_times(model, layer, n_frames):
    """Centre, in seconds, of each of the first ``n_frames`` frames of ``layer``.

    The centre of a frame is the middle of the input span its receptive field
    covers, padding included (sample ``n`` spans ``[n, n + 1) / sample_rate``),
    so the first frames of deep layers, mostly padding, may centre before 0.

    Example:
        >>> frame_times("soundnet8", "conv5", 3).round(4)
        array([-0.0356,  0.0573,  0.1502])
    """
    spec = get_spec(model)
    geo = geometry(spec)[layer]
    starts = np.arange(n_frames) * geo["jump"] + geo["offset"]
    return (starts + geo["field"] / 2.0) / spec["sample_rate"]


def layer_table(model="soundnet8"):
    """The paper's table of ``model``'s structure, computed from its spec.

    Columns: ``layer, feature_maps, filter_size, subsampling, frame_rate_hz,
    receptive_field_s``. The first row is the input. For pooling layers
    ``filter_size`` is the pooling window.

    Example:
        >>> table = layer_table("soundnet8").set_index("layer")
        >>> float(table.loc["conv5", "frame_rate_hz"])
        10.7666015625
    """
    spec = get_spec(model)
    sr = spec["sample_rate"]
    geo = geometry(spec)
    rows = [dict(layer="input", feature_maps=1, filter_size=pd.NA,
                 subsampling=pd.NA, frame_rate_hz=float(sr),
                 receptive_field_s=np.nan)]
    for row in spec["layers"]:
        g = geo[row["name"]]
        rows.append(dict(
            layer=row["name"],
            feature_maps=g["channels"],
            filter_size=row.get("kernel", row.get("size")),
            subsampling=row["stride"],
            frame_rate_hz=sr / g["jump"],
            receptive_field_s=g["field"] / sr,
        ))
    table = pd.DataFrame(rows)
    for col in ("feature_maps", "filter_size", "subsampling"):
        table[col] = table[col].astype("Int64")
    return table
