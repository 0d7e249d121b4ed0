"""The CTC-RNN: structure, masking, serialisation; decoding to events."""

import keras
import numpy as np
import pandas as pd
import pytest

import sed
from sed.decode import best_path_tokens, decode_events, predict_probabilities
from sed.model import CTCRNN, lengths_to_mask


@pytest.fixture(autouse=True)
def seeded():
    keras.utils.set_random_seed(0)


def test_public_name():
    assert sed.CTCRNN is CTCRNN


def test_paper_structure():
    model = CTCRNN(input_dim=8)   # defaults: 17 classes, 400 units
    assert model.vocabulary_size == 35
    assert model.activation == "relu_g" and model.glorot == "fused"
    layer = model.blstm
    assert layer.units == 400 and layer.cell == "relu_g"
    bias = np.asarray(layer.bias)   # (direction, gates i, f, g, o)
    assert bias.shape == (2, 1600)
    assert np.all(bias[:, 400:800] == 1) and np.all(bias[:, :400] == 0) \
        and np.all(bias[:, 800:] == 0)
    for weights, fan_in in ((layer.kernel, 8), (layer.recurrent_kernel,
                                                400)):
        weights = np.asarray(weights)
        limit = np.sqrt(6 / (fan_in + 1600))   # Glorot over (fan_in, 4 x 400)
        assert np.abs(weights).max() <= limit
        assert np.abs(weights).max() > 0.9 * limit   # not orthogonal
        assert abs(weights.std() - limit / np.sqrt(3)) < 0.05 * limit
    assert model.logits.units == 35
    lstm_params = 4 * 400 * (8 + 400 + 1)
    assert model.count_params() == 2 * lstm_params + 800 * 35 + 35


def test_per_gate_glorot():
    layer = CTCRNN(units=400, input_dim=8, glorot="per_gate").blstm
    recurrent = np.asarray(layer.recurrent_kernel)
    limit = np.sqrt(6 / (400 + 400))          # each gate's (400, 400) block
    assert limit * 0.99 < np.abs(recurrent).max() <= limit
    for gate in range(4):
        block = recurrent[:, :, gate * 400:(gate + 1) * 400]
        assert abs(block.std() - limit / np.sqrt(3)) < 0.05 * limit
    with pytest.raises(ValueError, match="glorot must be one of"):
        CTCRNN(units=4, input_dim=2, glorot="orthogonal")


def test_output_shapes_and_softmax():
    model = CTCRNN(n_classes=3, units=6, input_dim=4)
    x = np.random.default_rng(0).normal(size=(2, 9, 4)).astype("float32")
    assert tuple(model(x).shape) == (2, 9, 7)
    probs = np.asarray(model.probabilities(x))
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="expects 4-d features"):
        model(np.zeros((1, 3, 5), "float32"))


def test_masked_frames_do_not_change_valid_outputs():
    """Both directions of a padded sequence see only its valid frames."""
    model = CTCRNN(n_classes=2, units=5, input_dim=3, activation="tanh")
    rng = np.random.default_rng(1)
    short = rng.normal(size=(1, 6, 3)).astype("float32")
    padded = np.concatenate([short, 50 * np.ones((1, 4, 3), "float32")], 1)
    alone = np.asarray(model(short))
    masked = np.asarray(model(padded, mask=lengths_to_mask([6], 10)))
    np.testing.assert_allclose(masked[:, :6], alone, rtol=1e-5, atol=1e-5)
    unmasked = np.asarray(model(padded))
    assert not np.allclose(unmasked[:, :6], alone, atol=1e-4)


def test_config_round_trip_and_keras_file(tmp_path):
    model = CTCRNN(n_classes=2, units=4, input_dim=3, name="tiny")
    again = CTCRNN.from_config(model.get_config())
    assert again.get_config() == model.get_config()
    x = np.random.default_rng(2).normal(size=(1, 5, 3)).astype("float32")
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    # The same float32 ops on the same input: a few ulps, relative.
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)),
                               rtol=1e-6)


def test_rejects_bad_sizes():
    with pytest.raises(ValueError, match="must be positive"):
        CTCRNN(n_classes=0)


def test_predict_probabilities_runs_chunks_like_training():
    model = CTCRNN(n_classes=1, units=4, input_dim=2)
    rng = np.random.default_rng(3)
    features = [rng.normal(size=(11, 2)).astype("float32"),
                rng.normal(size=(4, 2)).astype("float32")]
    out = predict_probabilities(model, features, chunk_frames=5,
                                batch_size=2)
    assert [p.shape for p in out] == [(11, 3), (4, 3)]
    # the second chunk of the first recording, run alone
    alone = np.asarray(model.probabilities(features[0][None, 5:10]))[0]
    np.testing.assert_allclose(out[0][5:10], alone, rtol=1e-5, atol=1e-6)


CLASSES = ["car", "dog"]   # car: onset 1, offset 2; dog: onset 3, offset 4


def one_hot(path, vocabulary=5, peak=0.9):
    """Probabilities whose argmax follows ``path``."""
    probs = np.full((len(path), vocabulary), (1 - peak) / (vocabulary - 1))
    probs[np.arange(len(path)), path] = peak
    return probs


def test_decode_events_pairs_boundaries():
    times = np.arange(12) * 0.1 + 0.05
    #       0  1  2  3  4  5  6  7  8  9 10 11
    path = [0, 1, 1, 0, 3, 0, 0, 2, 0, 4, 0, 0]
    events = decode_events(one_hot(path), times, CLASSES)
    assert list(events.columns) == ["event_label", "onset", "offset"]
    assert events.round(3).values.tolist() == [["car", 0.15, 0.75],
                                               ["dog", 0.45, 0.95]]
    # logits and log-probabilities decode the same (only the argmax counts)
    pd.testing.assert_frame_equal(
        decode_events(np.log(one_hot(path)), times, CLASSES), events)


def test_decode_events_unmatched_tokens():
    times = np.arange(10) * 0.1
    # an offset with no onset (dropped), an onset never closed (ends at the
    # last valid frame), a repeated run collapsed into one token
    path = [4, 0, 1, 1, 1, 0, 0, 0, 0, 0]
    events = decode_events(one_hot(path), times, CLASSES)
    assert events.round(3).values.tolist() == [["car", 0.2, 0.9]]
    # with only 6 valid frames the open event ends at frame 5
    events = decode_events(one_hot(path)[None], times, CLASSES, length=6)
    assert events.round(3).values.tolist() == [["car", 0.2, 0.5]]
    empty = decode_events(one_hot([0] * 10), times, CLASSES)
    assert empty.empty and list(empty.columns) == ["event_label", "onset",
                                                   "offset"]


def test_decode_events_checks_shapes():
    with pytest.raises(ValueError, match="scores per frame"):
        decode_events(np.zeros((4, 4)), np.arange(4), CLASSES)
    with pytest.raises(ValueError, match="expected"):
        decode_events(np.zeros((4, 5)), np.arange(3), CLASSES)


def test_best_path_tokens():
    tokens, frames = best_path_tokens(one_hot([0, 3, 3, 0, 3, 4]))
    assert tokens.tolist() == [3, 3, 4] and frames.tolist() == [1, 4, 5]


def test_bounded_relu_option(tmp_path):
    model = CTCRNN(n_classes=1, units=4, input_dim=2, activation="relu",
                   relu_max=0.5)
    assert model.get_config()["relu_max"] == 0.5
    x = 100 * np.ones((1, 6, 2), "float32")
    hidden = np.asarray(model.blstm(x))
    assert hidden.max() <= 0.5 + 1e-6    # h = o * min(relu(c), 0.5)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    # The same float32 ops on the same input: a few ulps, relative.
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="relu_max bounds the ReLU"):
        CTCRNN(activation="tanh", relu_max=1.0)


def test_detector_with_soundnet_features(tmp_path):
    """A run folder with SoundNet-8 conv5 features detects on new audio."""
    import soundfile
    from soundnet_keras.weights import resolve_weights
    from sed.detector import load_detector, save_detector
    from sed.features import Normaliser, make_extractor
    from sed.train import resolve_config
    try:
        resolve_weights("soundnet8_flickr", model="soundnet8")
    except (FileNotFoundError, ValueError):
        pytest.skip("released SoundNet weights not fetched")
    extractor = make_extractor("soundnet8:conv5")
    model = CTCRNN(n_classes=2, units=4, input_dim=256)
    rng = np.random.default_rng(0)
    normaliser = Normaliser().fit([rng.random((50, 256))])
    save_detector(tmp_path, model, ["car", "dog"], extractor, normaliser,
                  resolve_config())
    model.save_weights(tmp_path / "model.weights.h5")
    detector = load_detector(tmp_path)
    wav = tmp_path / "a.wav"
    soundfile.write(wav, 0.1 * rng.standard_normal(3 * 16000), 16000)
    values, times = detector.featurise(wav)
    assert values.shape[1] == 256 and len(times) == len(values) > 20
    events = detector.detect(wav)
    assert list(events.columns) == ["filename", "onset", "offset",
                                    "event_label"]
    # the rows name the file by its path as given (one name may be in
    # several folders): an onset and an offset of "dog" decoded
    path = np.zeros(len(values), int)
    path[2], path[5] = 3, 4
    real = detector.probabilities
    detector.probabilities = lambda features: [np.eye(5)[path]]
    decoded = detector.detect(wav, features=(values, times))
    detector.probabilities = real
    assert decoded["filename"].tolist() == [str(wav)]
    assert decoded["event_label"].tolist() == ["dog"]
    np.testing.assert_allclose(
        detector.probabilities([values])[0],
        np.asarray(model.probabilities(values[None]))[0], rtol=1e-5,
        atol=1e-6)


def _fitted_detector(tmp_path, kind):
    """A run folder on a fitted kind's PCA, fitted on one recording; the
    recording, the extractor and the normaliser."""
    import soundfile
    from sed.detector import save_detector
    from sed.features import Normaliser, make_extractor
    from sed.train import resolve_config
    if kind == "opensmile":
        pytest.importorskip("opensmile")
    rng = np.random.default_rng(0)
    t = np.arange(3 * 16000) / 16000
    wav = tmp_path / "a.wav"
    soundfile.write(wav, 0.05 * rng.standard_normal(t.size)
                    + 0.3 * np.sin(2 * np.pi * 440 * t) * (t > 1), 16000)
    extractor = make_extractor(kind, fit_paths=[wav])
    values, _ = extractor(wav)
    model = CTCRNN(n_classes=2, units=4, input_dim=values.shape[1])
    normaliser = Normaliser().fit([values])
    run = tmp_path / "run"
    save_detector(run, model, ["car", "dog"], extractor, normaliser,
                  resolve_config({"feats": {"kind": kind}}))
    model.save_weights(run / "model.weights.h5")
    return run, wav, extractor, normaliser


def _assert_same_featuriser(detector, wav, extractor, normaliser):
    assert type(detector.extractor) is type(extractor)
    assert detector.extractor.weights_sha256 == extractor.weights_sha256
    values, times = detector.featurise(wav)
    ours, our_times = extractor(wav)
    # The same PCA from the file: the same float ops, the same values.
    np.testing.assert_array_equal(values, normaliser(ours))
    np.testing.assert_array_equal(times, our_times)


@pytest.mark.parametrize("kind", ["lowlevel", "opensmile"])
def test_detector_of_a_fitted_kind_round_trips(tmp_path, kind):
    """The PCA file is named after its kind (before: lowlevel_pca.npz for
    both kinds) and load_detector reads it back."""
    import json
    from sed.detector import load_detector
    run, wav, extractor, normaliser = _fitted_detector(tmp_path, kind)
    assert {p.name for p in (run / "features").iterdir()} == {
        f"{kind}_pca.npz", "normaliser.npz"}
    info = json.loads((run / "detector.json").read_text())
    assert info["feature_kind"] == kind
    assert info["feature_params"] == f"features/{kind}_pca.npz"
    _assert_same_featuriser(load_detector(run), wav, extractor, normaliser)


def test_detector_written_with_the_old_pca_name_loads(tmp_path):
    """A folder written before the PCA file was named after its kind: an
    openSMILE detector whose PCA is features/lowlevel_pca.npz."""
    import json
    from sed.detector import load_detector
    run, wav, extractor, normaliser = _fitted_detector(tmp_path, "opensmile")
    (run / "features" / "opensmile_pca.npz").rename(
        run / "features" / "lowlevel_pca.npz")
    info = json.loads((run / "detector.json").read_text())
    info["feature_params"] = "features/lowlevel_pca.npz"
    (run / "detector.json").write_text(json.dumps(info, indent=2) + "\n")
    _assert_same_featuriser(load_detector(run), wav, extractor, normaliser)


def test_damaged_detector_files_give_clear_errors(tmp_path):
    from sed.detector import load_detector
    (tmp_path / "detector.json").write_text('{"classes": ["a"]}')
    with pytest.raises(ValueError, match="detector.json lacks feature_kind, "
                       "feature_sha256, network, .*train the detector "
                       "again"):
        load_detector(tmp_path)
    (tmp_path / "detector.json").write_text('{"classes": ')
    with pytest.raises(ValueError, match="detector.json is not valid JSON"):
        load_detector(tmp_path)
