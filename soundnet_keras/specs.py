"""The architectures as data: one spec table per model, mirroring the paper.

Each spec is a dict with ``name``, ``sample_rate`` and ``layers``: a tuple of
rows, one per layer, in order. A row is a dict with ``name``, ``kind`` and
that kind's parameters:

- ``conv``: ``filters, kernel, stride, pad`` (symmetric zero padding), then
  batch norm (epsilon 1e-5, Torch's default) and ReLU.
- ``pool``: ``size, stride`` (max-pooling, no padding, floor mode).
- ``dense``: ``units, activation``: a fully connected layer applied to every
  frame (SN-F's fc1-fc3).
- ``rnn``: ``cell`` (``gru`` or ``lstm``), ``units`` per direction,
  bidirectional, ReLU, then batch norm (``bn``) over the whole output (SN-R).
- ``head``: ``filters`` and ``output`` (the softmax's name), with ``kernel,
  stride, pad`` for a convolution (SoundNet-8) or none for a per-frame dense
  layer (SN-F, SN-R); every head reads the last non-head layer.

:func:`layer_table` derives the paper's tables (frame rates and receptive
fields) from a spec; nothing in it is typed in.

Reference: Aytar, Vondrick & Torralba, "SoundNet", NIPS 2016; Tables 1-3 of
Wang & Metze, Interspeech 2017 (Table 1 with the released kernel of conv8,
Table 2 with pool5 subsampling 2).
"""

import numpy as np

BN_EPSILON = 1e-5


def _conv(name, filters, kernel, stride, pad):
    return dict(name=name, kind="conv", filters=filters, kernel=kernel,
                stride=stride, pad=pad)


def _pool(name, size, stride):
    return dict(name=name, kind="pool", size=size, stride=stride)


def _conv_head(name, filters, output):
    # The released weights have kernel 8 (the paper's Table 1 prints 4).
    return dict(name=name, kind="head", filters=filters, kernel=8, stride=2,
                pad=0, output=output)


def _dense_head(name, filters, output):
    return dict(name=name, kind="head", filters=filters, output=output)


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
        _conv_head("conv8", 1000, "objects"),
        _conv_head("conv8_2", 401, "places"),
    ),
)

# SN-F and SN-R share SoundNet's convolutions at 16 kHz, with pool1 and pool2
# 5 / 5 and pool5 2 / 2 (Table 2 prints 4: corrected), so pool5 runs at 10 Hz.
_VARIANT_TRUNK = (
    _conv("conv1", 16, 64, 2, 32),
    _pool("pool1", 5, 5),
    _conv("conv2", 32, 32, 2, 16),
    _pool("pool2", 5, 5),
    _conv("conv3", 64, 16, 2, 8),
    _conv("conv4", 128, 8, 2, 4),
    _conv("conv5", 256, 4, 2, 2),
    _pool("pool5", 2, 2),
)
_VARIANT_HEADS = (_dense_head("output", 1000, "objects"),
                  _dense_head("output_2", 401, "places"))


def snf_spec(activation="tanh"):
    """SN-F (Table 2): three per-frame fully connected layers of 100 units."""
    fc = tuple(dict(name=f"fc{i}", kind="dense", units=100,
                    activation=activation) for i in (1, 2, 3))
    return dict(name="snf", sample_rate=16000,
                layers=_VARIANT_TRUNK + fc + _VARIANT_HEADS)


def snr_spec(cell="gru", batch_norm=True, activation="relu"):
    """SN-R (Table 3): three bidirectional recurrent layers, 100 per direction."""
    if cell not in ("gru", "lstm"):
        raise ValueError(f"cell must be 'gru' or 'lstm'. Received: "
                         f"cell={cell!r}")
    rnn = tuple(dict(name=f"{cell}{i}", kind="rnn", cell=cell, units=100,
                     activation=activation, bn=bool(batch_norm))
                for i in (1, 2, 3))
    name = "snr" if cell == "gru" else "snr_lstm"
    return dict(name=name, sample_rate=16000,
                layers=_VARIANT_TRUNK + rnn + _VARIANT_HEADS)


SPECS = {"soundnet8": SOUNDNET8, "snf": snf_spec(), "snr": snr_spec("gru"),
         "snr_lstm": snr_spec("lstm")}


def get_spec(model):
    """Returns the spec dict of ``model`` (a name or a spec dict)."""
    if isinstance(model, dict):
        return model
    if model not in SPECS:
        raise ValueError(
            f"Unknown model {model!r}. Known models: {sorted(SPECS)}.")
    return SPECS[model]


def feature_layers(model):
    """Names of the layers whose outputs are features, in order.

    Convolutions give their post-ReLU output, pools their pooled output,
    fc layers their activation, recurrent layers their output before
    (``gru1``) and after (``gru1_bn``) batch norm, heads their logits.

    Example:
        >>> feature_layers("snr")[-4:]
        ('gru3', 'gru3_bn', 'output', 'output_2')
    """
    names = []
    for row in get_spec(model)["layers"]:
        names.append(row["name"])
        if row["kind"] == "rnn" and row["bn"]:
            names.append(row["name"] + "_bn")
    return tuple(names)


# SoundNet-8's feature layers (post-ReLU for convolutions).
FEATURE_LAYERS = feature_layers(SOUNDNET8)


def _window(row):
    """``(kernel, stride, pad)`` of a row along time."""
    if row["kind"] == "pool":
        return row["size"], row["stride"], 0
    if "kernel" in row:
        return row["kernel"], row["stride"], row.get("pad", 0)
    return 1, 1, 0


def _base_layer(spec, layer):
    """The spec row a feature layer name belongs to (``gru1_bn`` -> ``gru1``)."""
    for row in spec["layers"]:
        if layer == row["name"] or (row["kind"] == "rnn" and row["bn"]
                                    and layer == row["name"] + "_bn"):
            return row
    raise ValueError(f"Unknown layer {layer!r} of model {spec['name']!r}. "
                     f"Feature layers: {list(feature_layers(spec))}")


def geometry(model):
    """Per-layer geometry of ``model`` in input samples.

    Returns a dict ``name -> dict(jump, field, offset, channels)`` where frame
    ``i`` of that layer depends on input samples ``[i * jump + offset,
    i * jump + offset + field)`` (``offset`` <= 0 counts the zero padding).
    Recurrent layers (and everything above them) see the whole input:
    ``field`` is infinite.
    """
    spec = get_spec(model)
    trunk = dict(jump=1, field=1, offset=0, channels=1)
    out = {}
    for row in spec["layers"]:
        k, stride, pad = _window(row)
        j = trunk["jump"]
        field = (np.inf if row["kind"] == "rnn" else
                 trunk["field"] + (k - 1) * j)
        channels = row.get("filters", row.get("units", trunk["channels"]))
        if row["kind"] == "rnn":
            channels = 2 * row["units"]
        geo = dict(jump=j * stride, field=field, offset=trunk["offset"] -
                   pad * j, channels=channels)
        out[row["name"]] = geo
        if row["kind"] == "rnn" and row["bn"]:
            out[row["name"] + "_bn"] = dict(geo)
        if row["kind"] != "head":
            trunk = geo
    return out


def output_length(model, layer, n_samples):
    """Number of frames ``layer`` of ``model`` gives for ``n_samples`` input.

    Follows the original's floor mode; 0 means the input is too short.

    Example:
        >>> output_length("soundnet8", "conv8", 441000)
        4
        >>> output_length("snf", "pool5", 320000)
        200
    """
    spec = get_spec(model)
    target = _base_layer(spec, layer)["name"]
    trunk = n_samples
    for row in spec["layers"]:
        k, stride, pad = _window(row)
        n = trunk + 2 * pad - k
        out = n // stride + 1 if trunk > 0 and n >= 0 else 0
        if row["name"] == target:
            return out
        if row["kind"] != "head":
            trunk = out
    raise AssertionError("unreachable")


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
    geo = geometry(spec)[_base_layer(spec, layer)["name"]]
    # Recurrent layers keep their input's frames: centre on the last
    # bounded layer's receptive field.
    field = geo["field"]
    if not np.isfinite(field):
        bounded = [g for g in geometry(spec).values()
                   if np.isfinite(g["field"]) and g["jump"] == geo["jump"]]
        field = bounded[-1]["field"]
    starts = np.arange(n_frames) * geo["jump"] + geo["offset"]
    return (starts + field / 2.0) / spec["sample_rate"]


def layer_table(model="soundnet8"):
    """The paper's table of ``model``'s structure, computed from its spec.

    Columns: ``layer, feature_maps, filter_size, subsampling, frame_rate_hz,
    receptive_field_s``. The first row is the input. For pooling layers
    ``filter_size`` is the pooling window; per-frame layers have none and
    subsampling 1; recurrent layers have an infinite receptive field.

    Example:
        >>> table = layer_table("soundnet8").set_index("layer")
        >>> float(table.loc["conv5", "frame_rate_hz"])
        10.7666015625
    """
    import pandas as pd  # here, so the command line starts quickly
    spec = get_spec(model)
    sr = spec["sample_rate"]
    geo = geometry(spec)
    rows = [dict(layer="input", feature_maps=1, filter_size=pd.NA,
                 subsampling=pd.NA, frame_rate_hz=float(sr),
                 receptive_field_s=np.nan)]
    for row in spec["layers"]:
        g = geo[row["name"]]
        k, stride, _ = _window(row)
        rows.append(dict(
            layer=row["name"],
            feature_maps=g["channels"],
            filter_size=k if row["kind"] in ("conv", "pool") or "kernel" in row
            else pd.NA,
            subsampling=stride if row["kind"] in ("conv", "pool")
            or "kernel" in row else pd.NA,
            frame_rate_hz=sr / g["jump"],
            receptive_field_s=g["field"] / sr,
        ))
    table = pd.DataFrame(rows)
    for col in ("feature_maps", "filter_size", "subsampling"):
        table[col] = table[col].astype("Int64")
    return table
