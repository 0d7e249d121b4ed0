"""Independent pure-NumPy (float64) reference of the Torch7 SoundNet 8-layer network.

Used by the tests to check a Keras port layer by layer. It follows the original
Torch7 semantics, 1-D along time:

* convolution = cross-correlation (Torch SpatialConvolution), symmetric zero
  padding of ``pad`` samples, floor mode: T_out = (T + 2*pad - k) // stride + 1;
* max-pooling without padding, floor mode: T_out = (T - k) // s + 1;
* inference batch norm: gamma * (x - mean) / sqrt(var + 1e-5) + beta;
* conv8 ("objects", 1000) and conv8_2 ("places", 401) both read conv7's ReLU
  output and are followed by a softmax over the channel axis.

Parameters use the layout of the released ``sound8.npy``: ``params["convN"]``
holds "weights" (k, 1, in, out), "biases", and for conv1..conv7 also "gamma",
"beta", "mean", "var". Nothing from TensorFlow/Keras or the project is imported.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

EPS = 1e-5
# name, out maps, kernel, stride, pad, max-pool (kernel, stride) or None
LAYERS = [
    ("conv1", 16, 64, 2, 32, (8, 8)),
    ("conv2", 32, 32, 2, 16, (8, 8)),
    ("conv3", 64, 16, 2, 8, None),
    ("conv4", 128, 8, 2, 4, None),
    ("conv5", 256, 4, 2, 2, (4, 4)),
    ("conv6", 512, 4, 2, 2, None),
    ("conv7", 1024, 4, 2, 2, None),
]
# name, softmax key, out maps; both heads: kernel 8, stride 2, pad 0, input conv7_relu
HEADS = [("conv8", "objects", 1000), ("conv8_2", "places", 401)]
POOLS = {"conv1": "pool1", "conv2": "pool2", "conv5": "pool5"}


def _len(n, k, s, pad=0):
    """Floor-mode output length; 0 if the input is too short (or already 0)."""
    return max(0, (n + 2 * pad - k) // s + 1) if n > 0 else 0


def _lengths(n):
    """Frame count of every output key for n input samples (0 = not computable)."""
    out = {}
    for name, _, k, s, pad, pool in LAYERS:
        n = _len(n, k, s, pad)
        out.update({name: n, name + "_bn": n, name + "_relu": n})
        if pool:
            n = out[POOLS[name]] = _len(n, *pool)
    for name, soft, _ in HEADS:
        out[name] = out[soft] = _len(n, 8, 2)
    return out


def output_length(n, layer):
    """Number of frames the named layer (any reference_forward key) gives for n samples."""
    return _lengths(int(n))[layer]


def conv1d(x, w, b, stride, pad):
    """x (B, T, C), w (k, 1, C, O), b (O,) -> (B, T_out, O), Torch cross-correlation."""
    x = np.pad(x, ((0, 0), (pad, pad), (0, 0)))
    win = sliding_window_view(x, w.shape[0], axis=1)[:, ::stride]  # (B, T_out, C, k)
    return np.tensordot(win, w[:, 0], axes=([3, 2], [0, 1])) + b


def maxpool1d(x, k, s):
    """x (B, T, C) -> (B, (T - k) // s + 1, C), no padding."""
    return sliding_window_view(x, k, axis=1)[:, ::s].max(axis=3)


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def reference_forward(x, params):
    """Run SoundNet-8 in float64 on x (batch, N) or (batch, N, 1), scaled to [-256, 256].

    Returns a dict of (batch, T, C) float64 arrays: convN, convN_bn, convN_relu
    (N = 1..7), pool1, pool2, pool5, conv8, conv8_2 (pre-softmax), objects, places.
    Layers whose output would be shorter than one frame (and all later) are omitted.
    """
    h = np.asarray(x, dtype=np.float64)
    h = h.reshape(h.shape[0], -1, 1)
    lens, out = _lengths(h.shape[1]), {}
    f64 = lambda p: {key: np.asarray(v, dtype=np.float64) for key, v in p.items()}
    for name, _, k, s, pad, pool in LAYERS:
        if lens[name] < 1:
            return out
        p = f64(params[name])
        h = out[name] = conv1d(h, p["weights"], p["biases"], s, pad)
        h = out[name + "_bn"] = p["gamma"] * (h - p["mean"]) / np.sqrt(p["var"] + EPS) + p["beta"]
        h = out[name + "_relu"] = np.maximum(h, 0.0)
        if pool:
            if lens[POOLS[name]] < 1:
                return out
            h = out[POOLS[name]] = maxpool1d(h, *pool)
    if lens["conv8"] < 1:
        return out
    for name, soft, _ in HEADS:
        p = f64(params[name])
        out[name] = conv1d(h, p["weights"], p["biases"], 2, 0)
        out[soft] = softmax(out[name], axis=-1)
    return out


def random_params(rng, scale=1.0):
    """Random float32 parameters with the true sound8.npy shapes.

    rng: numpy Generator (or int seed). Weights are He-scaled (times ``scale``);
    conv1 weights are further divided by 256 so activations start at O(1) for
    inputs in [-256, 256]; BN mean/var are plausible (var in [0.5, 1.5]).
    """
    rng = np.random.default_rng(rng)
    f32 = lambda a: np.asarray(a, dtype=np.float32)
    params, cin = {}, 1
    for name, cout, k, *_ in LAYERS:
        std = scale * np.sqrt(2.0 / (k * cin)) / (256.0 if name == "conv1" else 1.0)
        params[name] = {
            "weights": f32(rng.normal(0.0, std, (k, 1, cin, cout))),
            "biases": f32(rng.normal(0.0, 0.05, cout)),
            "gamma": f32(rng.uniform(0.8, 1.2, cout)),
            "beta": f32(rng.normal(0.0, 0.1, cout)),
            "mean": f32(rng.normal(0.0, 0.1, cout)),
            "var": f32(rng.uniform(0.5, 1.5, cout)),
        }
        cin = cout
    for name, _, cout in HEADS:
        params[name] = {
            "weights": f32(rng.normal(0.0, scale * np.sqrt(1.0 / (8 * cin)), (8, 1, cin, cout))),
            "biases": f32(rng.normal(0.0, 0.05, cout)),
        }
    return params
