"""Minimal writer for the Torch7 binary serialization format.

This is the format Lua Torch's ``torch.save(path, obj)`` produced (binary
mode, little-endian, 8-byte ``long``), and that the PyPI package
``torchfile`` reads.  It exists so the tests can build a small
SoundNet-shaped ``.t7`` file without Lua Torch.

Layout (as read by ``torchfile.T7Reader.read_obj``):

* every object starts with an int32 type code:
  NIL 0, NUMBER 1, STRING 2, TABLE 3, TORCH 4, BOOLEAN 5;
* NUMBER: float64; BOOLEAN: int32 (1 true, 0 false);
  STRING: int32 length + raw bytes;
* TABLE and TORCH objects: int32 reference index next (the reader memoises
  by it, so writing an already written index again is a back-reference);
* TABLE: int32 entry count, then that many (key object, value object) pairs;
  Lua lists use NUMBER keys 1..n;
* TORCH: version string ``"V 1"`` then class name, both as bare strings
  (int32 length + bytes, no type code), then the class's payload:
  - ``torch.*Tensor``: int32 ndim, ndim int64 sizes, ndim int64 strides (in
    elements), int64 storage offset (1-based), then the storage as an object
    (a TORCH object ``torch.*Storage``, or NIL for an empty tensor);
  - ``torch.*Storage``: int64 element count, then the raw data;
  - any other class (``nn.*`` modules): a single object, normally a TABLE of
    the module's fields.
"""

import struct

import numpy as np

TYPE_NIL = 0
TYPE_NUMBER = 1
TYPE_STRING = 2
TYPE_TABLE = 3
TYPE_TORCH = 4
TYPE_BOOLEAN = 5

VERSION = b"V 1"

# numpy dtype -> (tensor class, storage class)
_TENSOR_TYPES = {
    np.dtype(np.float32): (b"torch.FloatTensor", b"torch.FloatStorage"),
    np.dtype(np.float64): (b"torch.DoubleTensor", b"torch.DoubleStorage"),
    np.dtype(np.uint8): (b"torch.ByteTensor", b"torch.ByteStorage"),
    np.dtype(np.int8): (b"torch.CharTensor", b"torch.CharStorage"),
    np.dtype(np.int16): (b"torch.ShortTensor", b"torch.ShortStorage"),
    np.dtype(np.int32): (b"torch.IntTensor", b"torch.IntStorage"),
    np.dtype(np.int64): (b"torch.LongTensor", b"torch.LongStorage"),
}


class TorchModule:
    """A Torch class instance whose serialized content is a table of fields.

    ``class_name`` is e.g. ``"nn.SpatialConvolution"``; ``fields`` maps field
    names (str) to serializable values.
    """

    def __init__(self, class_name, fields=None):
        self.class_name = class_name
        self.fields = dict(fields or {})

    def __repr__(self):
        return "TorchModule(%r, %r)" % (self.class_name, sorted(self.fields))


def _as_bytes(s):
    return s.encode("utf-8") if isinstance(s, str) else bytes(s)


class _Writer:
    def __init__(self, f):
        self.f = f
        self.next_index = 1
        self.memo = {}  # id(python object) -> reference index
        self.keepalive = []  # keep memoised objects alive so ids stay unique

    # -- primitives -------------------------------------------------------
    def int32(self, v):
        self.f.write(struct.pack("<i", v))

    def int64(self, v):
        self.f.write(struct.pack("<q", v))

    def float64(self, v):
        self.f.write(struct.pack("<d", v))

    def raw_string(self, s):
        b = _as_bytes(s)
        self.int32(len(b))
        self.f.write(b)

    def _reference(self, typecode, obj):
        """Write type code + index; return True if obj still needs writing."""
        self.int32(typecode)
        key = id(obj)
        if key in self.memo:
            self.int32(self.memo[key])
            return False
        index = self.next_index
        self.next_index += 1
        self.memo[key] = index
        self.keepalive.append(obj)
        self.int32(index)
        return True

    def _torch_header(self, class_name):
        self.raw_string(VERSION)
        self.raw_string(class_name)

    # -- objects ----------------------------------------------------------
    def obj(self, v):
        if v is None:
            self.int32(TYPE_NIL)
        elif isinstance(v, (bool, np.bool_)):
            self.int32(TYPE_BOOLEAN)
            self.int32(1 if v else 0)
        elif isinstance(v, (int, float, np.integer, np.floating)):
            self.int32(TYPE_NUMBER)
            self.float64(float(v))
        elif isinstance(v, (str, bytes)):
            self.int32(TYPE_STRING)
            self.raw_string(v)
        elif isinstance(v, np.ndarray):
            self.tensor(v)
        elif isinstance(v, TorchModule):
            if self._reference(TYPE_TORCH, v):
                self._torch_header(v.class_name)
                self.table(v.fields)
        elif isinstance(v, dict):
            self.table(v)
        elif isinstance(v, (list, tuple)):
            self.table(v)
        else:
            raise TypeError("cannot serialise %r to Torch7" % type(v))

    def table(self, v):
        if not self._reference(TYPE_TABLE, v):
            return
        if isinstance(v, dict):
            items = list(v.items())
        else:
            items = [(i + 1, x) for i, x in enumerate(v)]
        self.int32(len(items))
        for k, x in items:
            if not isinstance(k, (str, bytes, int, float, np.integer, np.floating)) \
                    or isinstance(k, (bool, np.bool_)):
                raise TypeError("unsupported table key %r" % (k,))
            self.obj(k)
            self.obj(x)

    def tensor(self, arr):
        if arr.dtype not in _TENSOR_TYPES:
            raise TypeError("unsupported tensor dtype %s" % arr.dtype)
        if arr.ndim == 0:
            raise ValueError("Torch7 has no 0-dimensional tensors")
        if not self._reference(TYPE_TORCH, arr):
            return
        tensor_cls, storage_cls = _TENSOR_TYPES[arr.dtype]
        self._torch_header(tensor_cls)
        data = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<"),
                                                copy=False)
        if data.size == 0:
            # what Torch writes for an empty tensor: no dims, nil storage
            self.int32(0)
            self.int64(1)
            self.int32(TYPE_NIL)
            return
        self.int32(data.ndim)
        for s in data.shape:
            self.int64(s)
        for s in data.strides:
            self.int64(s // data.itemsize)
        self.int64(1)  # storage offset, 1-based
        # the storage is its own Torch object with its own reference index
        self.int32(TYPE_TORCH)
        self.int32(self.next_index)
        self.next_index += 1
        self._torch_header(storage_cls)
        self.int64(data.size)
        self.f.write(data.tobytes(order="C"))


def write_t7(path, obj):
    """Serialise ``obj`` to ``path`` in Torch7 binary format.

    Supported: None, bool, int/float (Lua numbers, stored as float64), str,
    dict (table, str or number keys), list/tuple (table with keys 1..n),
    numpy arrays (float32 -> FloatTensor, float64 -> DoubleTensor, plus the
    integer tensor types), and :class:`TorchModule`.
    """
    with open(path, "wb") as f:
        _Writer(f).obj(obj)


# --------------------------------------------------------------------------
# SoundNet-shaped nn.Sequential

_CONV_STRIDE_PAD = {
    "conv1": (2, 32),
    "conv2": (2, 16),
    "conv3": (2, 8),
    "conv4": (2, 4),
    "conv5": (2, 2),
    "conv6": (2, 2),
    "conv7": (2, 2),
    "conv8": (2, 0),
    "conv8_2": (2, 0),
}
# pooling after these convs: (kH, dH)
_POOL_AFTER = {"conv1": (8, 8), "conv2": (8, 8), "conv5": (4, 4)}


def _empty():
    return np.zeros((0,), np.float32)


def _common_fields():
    # state fields every nn.Module carries in a saved model
    return {"output": _empty(), "gradInput": _empty(), "train": False,
            "_type": "torch.FloatTensor"}


def _f32(a):
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def _conv(name, p):
    w = np.asarray(p["weights"])  # (k, 1, in, out)
    if w.ndim != 4 or w.shape[1] != 1:
        raise ValueError("%s weights must be (k, 1, in, out), got %s"
                         % (name, w.shape))
    k, _, n_in, n_out = w.shape
    stride, pad = _CONV_STRIDE_PAD[name]
    fields = _common_fields()
    fields.update({
        "weight": _f32(w.transpose(3, 2, 0, 1)),  # (out, in, k, 1)
        "bias": _f32(p["biases"]),
        "nInputPlane": int(n_in),
        "nOutputPlane": int(n_out),
        "kW": 1, "kH": int(k),
        "dW": 1, "dH": stride,
        "padW": 0, "padH": pad,
    })
    return TorchModule("nn.SpatialConvolution", fields)


def _bn(p):
    fields = _common_fields()
    fields.update({
        "weight": _f32(p["gamma"]),
        "bias": _f32(p["beta"]),
        "running_mean": _f32(p["mean"]),
        "running_var": _f32(p["var"]),
        "eps": 1e-5,
        "momentum": 0.1,
        "affine": True,
        "nDim": 4,
    })
    return TorchModule("nn.SpatialBatchNormalization", fields)


def _relu():
    fields = _common_fields()
    fields.update({"threshold": 0, "val": 0, "inplace": False})
    return TorchModule("nn.ReLU", fields)


def _pool(kh, dh):
    fields = _common_fields()
    fields.update({"kW": 1, "kH": kh, "dW": 1, "dH": dh, "padW": 0, "padH": 0,
                   "ceil_mode": False})
    return TorchModule("nn.SpatialMaxPooling", fields)


def soundnet_module(params):
    """Build the SoundNet nn.Sequential as a :class:`TorchModule` tree."""
    modules = []
    for i in range(1, 8):
        name = "conv%d" % i
        modules.append(_conv(name, params[name]))
        modules.append(_bn(params[name]))
        modules.append(_relu())
        if name in _POOL_AFTER:
            modules.append(_pool(*_POOL_AFTER[name]))
    concat = _common_fields()
    concat["output"] = []
    concat["gradInput"] = _empty()
    concat["modules"] = [_conv("conv8", params["conv8"]),
                         _conv("conv8_2", params["conv8_2"])]
    modules.append(TorchModule("nn.ConcatTable", concat))
    assert len(modules) == 25
    seq = _common_fields()
    seq["modules"] = modules
    return TorchModule("nn.Sequential", seq)


def soundnet_t7(path, params):
    """Write a SoundNet-shaped nn.Sequential built from ``params``.

    ``params`` is shaped like the released ``sound8.npy`` dict:
    ``params["conv1"]..["conv7"]`` with "weights" (k, 1, in, out), "biases",
    "gamma", "beta", "mean", "var"; ``params["conv8"]``/``["conv8_2"]`` with
    "weights" and "biases".  Shapes follow the arrays given.  Returns the
    :class:`TorchModule` tree that was written.
    """
    net = soundnet_module(params)
    write_t7(path, net)
    return net


def tiny_soundnet_params(seed=0, channels=(2, 3, 4, 4, 5, 5, 6, 7),
                         kernels=(4, 4, 4, 4, 2, 2, 2, 2), n_out2=3):
    """Small random params dict in the ``sound8.npy`` layout (for tests)."""
    rng = np.random.default_rng(seed)
    params = {}
    n_in = 1
    for i in range(1, 8):
        c, k = channels[i - 1], kernels[i - 1]
        params["conv%d" % i] = {
            "weights": rng.standard_normal((k, 1, n_in, c)).astype(np.float32),
            "biases": rng.standard_normal(c).astype(np.float32),
            "gamma": rng.standard_normal(c).astype(np.float32),
            "beta": rng.standard_normal(c).astype(np.float32),
            "mean": rng.standard_normal(c).astype(np.float32),
            "var": rng.uniform(0.5, 2.0, c).astype(np.float32),
        }
        n_in = c
    for name, c in (("conv8", channels[7]), ("conv8_2", n_out2)):
        params[name] = {
            "weights": rng.standard_normal((kernels[7], 1, n_in, c)
                                           ).astype(np.float32),
            "biases": rng.standard_normal(c).astype(np.float32),
        }
    return params


if __name__ == "__main__":
    import os
    import tempfile

    import torchfile

    params = tiny_soundnet_params()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "soundnet_tiny.t7")
        soundnet_t7(path, params)
        net = torchfile.load(path)

        # generic values
        gpath = os.path.join(d, "generic.t7")
        arr = np.arange(6, dtype=np.float64).reshape(2, 3)
        write_t7(gpath, {"a": [1, 2.5, "x", None, True], 3: arr,
                         "m": TorchModule("nn.Foo", {"k": 7})})
        g = torchfile.load(gpath)

    assert g[b"a"] == [1, 2.5, b"x", None, True], g[b"a"]
    assert g[3].dtype == np.float64 and np.array_equal(g[3], arr)
    assert g.m.torch_typename() == b"nn.Foo" and g.m.k == 7

    assert net.torch_typename() == b"nn.Sequential"
    mods = net.modules
    assert isinstance(mods, list) and len(mods) == 25
    expected = (["nn.SpatialConvolution", "nn.SpatialBatchNormalization",
                 "nn.ReLU", "nn.SpatialMaxPooling"] * 2
                + ["nn.SpatialConvolution", "nn.SpatialBatchNormalization",
                   "nn.ReLU"] * 2
                + ["nn.SpatialConvolution", "nn.SpatialBatchNormalization",
                   "nn.ReLU", "nn.SpatialMaxPooling"]
                + ["nn.SpatialConvolution", "nn.SpatialBatchNormalization",
                   "nn.ReLU"] * 2
                + ["nn.ConcatTable"])
    assert [m.torch_typename().decode() for m in mods] == expected
    conv_idx = [0, 4, 8, 11, 14, 18, 21]
    pads = [32, 16, 8, 4, 2, 2, 2]
    for i, (ci, pad) in enumerate(zip(conv_idx, pads), start=1):
        p = params["conv%d" % i]
        conv, bn = mods[ci], mods[ci + 1]
        assert conv.weight.dtype == np.float32
        assert np.array_equal(conv.weight, p["weights"].transpose(3, 2, 0, 1))
        assert np.array_equal(conv.bias, p["biases"])
        assert (conv.kH, conv.kW, conv.dH, conv.dW, conv.padH, conv.padW) == \
            (p["weights"].shape[0], 1, 2, 1, pad, 0)
        assert conv.nInputPlane == p["weights"].shape[2]
        assert conv.nOutputPlane == p["weights"].shape[3]
        assert np.array_equal(bn.weight, p["gamma"])
        assert np.array_equal(bn.bias, p["beta"])
        assert np.array_equal(bn.running_mean, p["mean"])
        assert np.array_equal(bn.running_var, p["var"])
        assert bn.eps == 1e-5 and bn.momentum == 0.1 and bn.affine is True
    assert [(mods[i].kH, mods[i].dH) for i in (3, 7, 17)] == \
        [(8, 8), (8, 8), (4, 4)]
    heads = mods[24].modules
    for head, name in zip(heads, ("conv8", "conv8_2")):
        assert head.torch_typename() == b"nn.SpatialConvolution"
        assert np.array_equal(head.weight,
                              params[name]["weights"].transpose(3, 2, 0, 1))
        assert np.array_equal(head.bias, params[name]["biases"])
        assert (head.dH, head.padH) == (2, 0)
    assert sorted(net._obj) == [b"_type", b"gradInput", b"modules",
                                b"output", b"train"]
    assert mods[0].output.shape == (0,)
    print("torch7_writer round-trip OK")
