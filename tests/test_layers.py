"""Several layers of one network in one pass (soundnet_keras.extract_layers,
sed.features.fill_cache) equal the single-layer path, layer by layer."""

from pathlib import Path

import keras
import numpy as np
import pytest
import soundfile

import soundnet_keras as sk
from sed import features as F
from sed.cache import CacheKey, FeatureCache
from soundnet_keras.features import FeatureExtractor, layer_chunks
from soundnet_keras.specs import feature_layers, geometry, get_spec

SNF_ROWS = ["pool5", "fc1", "fc2", "fc3"]
SNR_ROWS = ["pool5", "gru1", "gru1_bn", "gru2", "gru2_bn", "gru3", "gru3_bn"]


def _audio(seconds, rate, seed=0):
    rng = np.random.default_rng(seed)
    x = np.convolve(rng.standard_normal(int(seconds * rate)), np.ones(5) / 5,
                    "same")
    return (0.9 * x / np.abs(x).max()).astype(np.float32)


def _assert_close(layer, got, expected, tolerance=0.0):
    """Same frames and times; values within ``tolerance`` plus 1e-5 of the
    layer's scale (the trunk: both paths run the same folded plan, chunked
    differently, as chunked against whole in tests/test_features.py)."""
    (values, times), (ref, ref_times) = got, expected
    assert values.dtype == np.float32 and values.shape == ref.shape, layer
    np.testing.assert_array_equal(times, ref_times)
    scale = max(1.0, float(np.abs(ref).max()))
    error = float(np.abs(values - ref).max())
    assert error <= tolerance + 1e-5 * scale, (layer, error, tolerance, scale)


def _upper(model, layers):
    """The Keras layers from pool5 to ``layers``."""
    return keras.Model(model.get_layer("pool5").output,
                       [model.get_layer(l).output for l in layers])


def _rounding_spread(model, waveform, layers):
    """How far each layer above pool5 moves when pool5 moves by float32
    rounding. The upper layers take pool5 from the folded plan in one pass
    and from the Keras layers in the single-layer path; the two agree to
    1e-5 of pool5's scale (tests/test_features.py), and the fc and
    recurrent layers amplify such differences (SN-R's distilled weights by
    ~10^2). So: Keras' pool5 moved by +-1e-5 per element, twice the
    change."""
    pool5 = keras.Model(model.input, model.get_layer("pool5").output)(
        sk.preprocess_input(waveform)[None, :, None])
    pool5 = keras.ops.convert_to_numpy(pool5)
    signs = np.random.default_rng(0).choice([-1.0, 1.0], pool5.shape)
    upper = _upper(model, layers)
    moved = [keras.ops.convert_to_numpy(a - b) for a, b in zip(
        upper(pool5), upper((pool5 * (1 + 1e-5 * signs)).astype("float32")))]
    return {l: 2 * float(np.abs(d).max()) for l, d in zip(layers, moved)}


NETWORKS = {
    "snf-random": lambda: sk.SoundNetF(weights=None),
    "snr-random": lambda: sk.SoundNetR(weights=None, cell="gru"),
    "snf_trunk_pool": lambda: sk.SoundNetF(weights="snf_trunk_pool"),
    "snr_trunk_pool": lambda: sk.SoundNetR(weights="snr_trunk_pool",
                                           cell="gru"),
}


@pytest.mark.parametrize("network,which", [
    ("snf-random", "all"), ("snr-random", "all"),
    ("snf_trunk_pool", "table4"), ("snr_trunk_pool", "table4")])
def test_student_layers_equal_the_single_layer_path(network, which):
    model = NETWORKS[network]()
    rows = SNF_ROWS if network.startswith("snf") else SNR_ROWS
    layers = rows if which == "table4" else [
        l for l in feature_layers(model.name) if not l.startswith("output")]
    waveform = _audio(4.3, 16000, seed=1)
    # 1 s chunks: the trunk runs in 5 overlapping pieces here, in one
    # piece in the single-layer path.
    out = sk.extract_layers(waveform, 16000, layers, model=model,
                            chunk_seconds=1.0)
    assert list(out) == layers
    upper = [l for l in layers if l.startswith(("fc", "gru"))]
    # The upper layers are the Keras layers on the one-pass pool5 ...
    for layer, values in zip(upper, _upper(model, upper)(
            out["pool5"][0][None])):
        np.testing.assert_allclose(out[layer][0], values[0], rtol=1e-6,
                                   atol=1e-6)
    # ... and each layer equals the single-layer path to float32 rounding.
    spread = _rounding_spread(model, waveform, upper)
    for layer in layers:
        _assert_close(layer, out[layer], sk.extract_features(
            waveform, 16000, layer, model=model), spread.get(layer, 0.0))


def test_soundnet8_conv_layers_equal_the_single_layer_path(any_weights):
    _, weights = any_weights
    model = sk.SoundNet8(weights=str(weights))
    waveform = _audio(12.4, 22050, seed=2)
    out = sk.extract_layers(waveform, 22050, sk.FEATURE_LAYERS, model=model,
                            chunk_seconds=2.0)
    for layer in sk.FEATURE_LAYERS:
        # Each single layer in 2 s chunks too: chunked the other way.
        _assert_close(layer, out[layer], sk.extract_features(
            waveform, 22050, layer, model=model, chunk_seconds=2.0))


def _single_chunks(spec, layer, n, chunk_seconds):
    """The single-layer chunks as FeatureExtractor made them before
    layer_chunks: an independent reference."""
    geo = geometry(spec)[layer]
    jump, field, offset = geo["jump"], geo["field"], geo["offset"]
    total = sk.output_length(spec, layer, n)
    per = max(1, int(chunk_seconds * get_spec(spec)["sample_rate"]) // jump)
    for first in range(0, total, per):
        last = min(total, first + per)
        start = max(0, (first * jump + offset) // jump * jump)
        yield start, min(n, (last - 1) * jump + offset + field), first, last


@pytest.mark.parametrize("spec,layers", [
    ("soundnet8", ["conv1", "pool2", "conv5", "pool5", "conv8", "conv8_2"]),
    ("snf", ["conv2", "conv4", "pool5"]),
    ("snr", ["pool1", "pool5"])])
def test_layer_chunks_give_every_frame_once_with_all_its_input(spec, layers):
    n = 1_234_567
    frames = {layer: [] for layer in layers}
    for start, stop, chunk in layer_chunks(spec, layers, n, 7.0):
        assert 0 <= start < stop <= n
        for layer, (first, last) in chunk.items():
            g = geometry(spec)[layer]
            assert start % g["jump"] == 0
            if last > first:   # each frame's receptive field is in the chunk
                assert start == 0 or first * g["jump"] + g["offset"] >= start
                assert min(n, (last - 1) * g["jump"] + g["offset"]
                           + g["field"]) <= stop
            frames[layer].extend(range(first, last))
    for layer in layers:
        assert frames[layer] == list(range(sk.output_length(spec, layer, n)))
        single = FeatureExtractor(layer, {"soundnet8": sk.SoundNet8,
                                          "snf": sk.SoundNetF,
                                          "snr": sk.SoundNetR}[spec](
            weights=None), spec=spec)
        assert list(single.chunks(n, 7.0)) == list(
            _single_chunks(spec, layer, n, 7.0))


def test_short_audio_is_padded_as_each_layer_alone(random_weights):
    model = sk.SoundNet8(weights=str(random_weights[1]))
    waveform = _audio(3.0, 22050)      # enough for conv5, not for conv8
    with pytest.raises(ValueError, match="too short for layer 'conv8'"):
        sk.extract_layers(waveform, 22050, ["conv5", "conv8"], model=model)
    out = sk.extract_layers(waveform, 22050, ["conv5", "conv8"], model=model,
                            pad=True)
    for layer in ("conv5", "conv8"):
        _assert_close(layer, out[layer], sk.extract_features(
            waveform, 22050, layer, model=model, pad=True))
    assert out["conv8"][0].shape == (1, 1000)


def test_errors():
    model = sk.SoundNetF(weights=None)
    with pytest.raises(ValueError, match="Unknown layer 'gru1' of snf"):
        sk.extract_layers(np.zeros(16000), 16000, ["pool5", "gru1"],
                          model=model)
    with pytest.raises(ValueError, match="no layer 'output'.*include_top"):
        sk.MultiLayerExtractor(["fc1", "output"],
                               sk.SoundNetF(weights=None, include_top=False))
    ex = sk.MultiLayerExtractor(["pool5", "fc1"], model)
    with pytest.raises(ValueError, match="computes \\('pool5', 'fc1'\\), "
                                         "not \\('fc1',\\)"):
        sk.extract_layers(np.zeros(16000), 16000, ["fc1"], model=ex)
    with pytest.raises(ValueError, match="at least one layer"):
        sk.MultiLayerExtractor([], model)


# --------------------------------------------------------------------------
# sed: the cache filled in one pass, read by the single-kind path.

@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    folder = tmp_path_factory.mktemp("layers")
    paths = []
    for i, seconds in enumerate((2.3, 3.1)):
        paths.append(folder / f"r{i}.wav")
        soundfile.write(paths[-1], _audio(seconds, 16000, seed=i), 16000)
    return paths


def test_fill_cache_writes_what_the_single_kind_path_reads(
        recordings, tmp_path, monkeypatch):
    kinds = [f"snr:{l}" for l in SNR_ROWS] + [f"snf:{l}" for l in SNF_ROWS]
    calls = []
    original = F.SoundNetLayers.__call__

    def counting(self, path):
        calls.append((tuple(self.kinds), Path(path).name))
        return original(self, path)

    monkeypatch.setattr(F.SoundNetLayers, "__call__", counting)
    computed = F.fill_cache(recordings, kinds, tmp_path, progress=False)
    assert computed == dict.fromkeys(kinds, 2)
    # One pass per network and recording.
    assert sorted(calls) == sorted(
        (tuple(k for k in kinds if k.startswith(net)), p.name)
        for net in ("snr", "snf") for p in recordings)

    single_kind = F.SoundNetFeatures.__call__

    def no_single_kind(self, path):
        raise AssertionError("the single-kind path computed")

    monkeypatch.setattr(F.SoundNetFeatures, "__call__", no_single_kind)
    cache = FeatureCache(tmp_path)
    models = {net: F.SoundNetLayers([f"{net}:pool5"]).model
              for net in ("snf", "snr")}
    for path in recordings:
        spread = {f"{net}:{layer}": value for net, model in models.items()
                  for layer, value in _rounding_spread(
                      model, sk.load_audio(path, 16000), [
                          l for l in SNF_ROWS + SNR_ROWS
                          if l != "pool5" and l in feature_layers(net)])
                  .items()}
        for kind in kinds:
            single = F.make_extractor(kind)   # the detector's extractor
            (got,) = F.features_for([path], kind, tmp_path, progress=False)
            assert cache.load(CacheKey(kind, single.weights_sha256,
                                       cache.audio_sha256(path))) is not None
            _assert_close(kind, got, single_kind(single, path),
                          spread.get(kind, 0.0))
    calls.clear()
    assert F.fill_cache(recordings, kinds, tmp_path, progress=False) == \
        dict.fromkeys(kinds, 0)
    assert calls == []
    # A lost entry: that recording is computed again, that kind rewritten.
    gone = cache.path(CacheKey("snr:gru2", F.make_extractor(
        "snr:gru2").weights_sha256, cache.audio_sha256(recordings[1])))
    gone.unlink()
    assert F.fill_cache(recordings, kinds, tmp_path, progress=False) == {
        kind: int(kind == "snr:gru2") for kind in kinds}
    assert calls == [(tuple(kinds[:7]), recordings[1].name)]


def test_fill_cache_errors(recordings):
    with pytest.raises(ValueError, match="needs a cache folder"):
        F.fill_cache(recordings, ["snf:pool5"], progress=False)
    with pytest.raises(ValueError, match="Unknown layer 'gru1' for feature "
                                         "kind 'snf'"):
        F.fill_cache(recordings, ["snf:gru1"], "unused", progress=False)
    with pytest.raises(ValueError, match="kinds of one network"):
        F.SoundNetLayers(["snf:pool5", "snr:pool5"])


def test_fill_features_groups_configs_by_corpus_and_weights(monkeypatch):
    from sed import dataset
    from sed.train import DEFAULTS
    calls = []
    monkeypatch.setattr("sed.corpora.load_corpus", lambda root: root)
    monkeypatch.setattr(F, "fill_cache", lambda corpus, kinds, cache_dir,
                        **kw: calls.append((corpus, kinds, kw["weights"]))
                        or dict.fromkeys(kinds, 0))

    def config(kind, weights="default", corpus="c"):
        return {"feats": dict(DEFAULTS["feats"], kind=kind, weights=weights),
                "training": dict(DEFAULTS["training"], corpus=corpus)}

    dataset.fill_features([config("snr:gru1"), config("snr:gru2"),
                           config("lowlevel"), config("snr:gru3", None),
                           config("snr:gru1", corpus="d")], progress=False)
    assert calls == [("c", ["snr:gru1", "snr:gru2", "lowlevel"], "default"),
                     ("c", ["snr:gru3"], None), ("d", ["snr:gru1"], "default")]


def test_cli_features_fills_the_cache_the_api_reads(tmp_path, capsys):
    from sed.cli import main
    from sed.corpora import make_default_corpus
    corpus = make_default_corpus(tmp_path / "corpus", minutes=0.5, seed=0)
    n = sum(len(corpus.files(s)) for s in ("train", "val", "test"))
    assert main(["features", "--corpus", str(corpus.root), "--kinds",
                 "snf:pool5", "snf:fc2", "--no-progress"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"snf:{l}: {n} recordings computed, the others cached"
        for l in ("pool5", "fc2")]
    assert F.fill_cache(corpus, ["snf:fc2", "snf:pool5"], progress=False) \
        == {"snf:fc2": 0, "snf:pool5": 0}
    assert main(["features", "--corpus", str(corpus.root), "--kinds",
                 "snf:gru1"]) == 2
    assert "Unknown layer 'gru1' for feature kind 'snf'" in \
        capsys.readouterr().err
