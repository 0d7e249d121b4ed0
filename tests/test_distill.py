"""Training the variants: targets, pipeline, loss, resume, distribution."""

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
import soundfile

import soundnet_keras as sk
from soundnet_keras.clips import plan_clips
from soundnet_keras.targets import (TargetStore, make_dataset, target_times,
                                    write_targets)
from soundnet_keras.training import (DistillConfig, kl_divergence,
                                     label_frames, train)

from conftest import write_tones

CLIP = 10.0  # seconds; 20 s in the paper, shorter here to keep tests fast


@pytest.fixture(scope="module")
def audio_files(tmp_path_factory):
    return write_tones(tmp_path_factory.mktemp("audio"), [25, 21, 23, 31, 8])


@pytest.fixture(scope="module")
def teacher():
    try:
        return sk.SoundNet8()
    except FileNotFoundError:
        return sk.SoundNet8(weights=None)


@pytest.fixture(scope="module")
def targets(audio_files, teacher, tmp_path_factory):
    clips = plan_clips(audio_files, clip_seconds=CLIP, val_clips=2)
    out = tmp_path_factory.mktemp("targets")
    write_targets(out, clips, clip_seconds=CLIP, teacher=teacher,
                  shard_size=3, progress=False)
    return out


def test_kl_against_numpy():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(7), size=(2, 3)).astype(np.float32)
    p[0, 0] = [0.5, 0.5, 0, 0, 0, 0, 0]  # zeros contribute nothing
    logits = rng.standard_normal((2, 3, 7)).astype(np.float32)
    q = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.where(p > 0, p * np.log(p / q), 0).sum(-1)
    # float32 log-probabilities of magnitude up to ~5 carry ~5e-7 rounding
    # each; KL sums 7 of them.
    np.testing.assert_allclose(np.asarray(kl_divergence(p, logits)), expected,
                               rtol=1e-5, atol=1e-5)
    assert np.allclose(np.asarray(kl_divergence(q, logits)), 0, atol=1e-5)


def test_target_times_and_label_frames():
    paper = target_times(20.0, alignment="paper")
    assert paper.tolist() == [3.0, 8.0, 13.0, 18.0]
    assert label_frames("snf", 320000, paper) == [30, 80, 130, 180]
    assert target_times(10.0, alignment="paper").tolist() == [3.0]
    with pytest.raises(ValueError, match="too short for the teacher"):
        target_times(5.0)


def test_clips_split_by_file_and_skip_short_files(audio_files):
    clips = plan_clips(audio_files, clip_seconds=CLIP, val_clips=2)
    assert len(clips) == 2 + 2 + 2 + 3  # the 8 s file gives none
    assert not (set(clips[clips.split == "val"].path)
                & set(clips[clips.split == "train"].path))
    assert (clips.split == "val").sum() >= 1


def test_stored_targets_are_the_teachers(targets, teacher):
    store = TargetStore(targets)
    clip = store.clips[store.clips.split == "train"].iloc[3]
    audio, objects, places = store.get("train", 3)
    waveform = sk.load_audio(clip.path, 22050)
    start = int(clip.start_s * 22050)
    segment = waveform[start:start + int(CLIP * 22050)]
    expected = teacher(sk.preprocess_input(segment)[None, :, None])
    # Softmax outputs of one float32 network run at two batch sizes: the
    # logits reach |50|, so their float32 rounding (50 * 2**-24 per add, over
    # thousands of adds) moves a probability p by up to ~p * 1e-4. A wrong
    # clip or frame differs by orders of magnitude more.
    for stored, ref in ((objects, expected[0]), (places, expected[1])):
        ref = np.asarray(ref)[0]
        np.testing.assert_allclose(stored, ref, rtol=1e-3, atol=1e-5)
        np.testing.assert_array_equal(stored.argmax(-1), ref.argmax(-1))
    student = sk.load_audio(clip.path, 16000)
    start = int(clip.start_s * 16000)
    np.testing.assert_allclose(audio, student[start:start + 160000],
                               atol=1 / 32768)
    meta = json.loads((targets / "meta.json").read_text())
    assert meta["counts"] == {"train": 7, "val": 2}
    # the store's identity: its manifest, teacher and settings
    from soundnet_keras.identity import digest
    store = TargetStore(targets)
    assert meta["identity"]["manifest"] == digest(
        store.clips[["path", "start_s", "split"]].astype(str).values.tolist())
    assert set(meta["identity"]) == {"manifest", "teacher", "settings",
                                     "code"}


def test_user_targets_replace_the_teacher(audio_files, tmp_path):
    clips = plan_clips(audio_files[:2], clip_seconds=CLIP, val_clips=1)
    rng = np.random.default_rng(1)
    objects = rng.dirichlet(np.ones(1000), (len(clips), 1)).astype("float32")
    places = rng.dirichlet(np.ones(401), (len(clips), 1)).astype("float32")
    np.savez(tmp_path / "t.npz", objects=objects, places=places)
    write_targets(tmp_path / "out", clips, clip_seconds=CLIP,
                  user_targets=tmp_path / "t.npz", progress=False)
    store = TargetStore(tmp_path / "out")
    for split in ("train", "val"):
        for i in range(store.count(split)):
            clip_id = store.clips[store.clips.split == split].iloc[i].clip_id
            np.testing.assert_array_equal(store.get(split, i)[1],
                                          objects[clip_id])
    np.savez(tmp_path / "bad.npz", objects=objects[:, :, :10], places=places)
    with pytest.raises(ValueError, match="objects has shape"):
        write_targets(tmp_path / "x", clips, clip_seconds=CLIP,
                      user_targets=tmp_path / "bad.npz", progress=False)


def test_pipeline_order_depends_only_on_the_counter(targets):
    store = TargetStore(targets)
    whole = [b[1][0].numpy() for b in make_dataset(
        store, "train", batch_size=3, seed=5).take(6)]
    resumed = [b[1][0].numpy() for b in make_dataset(
        store, "train", batch_size=3, seed=5, start_example=9).take(3)]
    for a, b in zip(whole[3:], resumed):
        np.testing.assert_array_equal(a, b)
    # Every pass is a permutation of the training clips.
    seen = np.concatenate([b[:, 0, 0] for b in whole[:7 // 3 + 1]])
    assert len(whole) == 6 and seen.shape[0] == 9


def _run(targets, out, epochs, model="snf", **options):
    config = DistillConfig(model=model, epochs=epochs, steps_per_epoch=2,
                           batch_size=3, lr_patience=1, **options)
    return train(targets, out, config, verbose=0, log=None)


def test_resume_is_exact(targets, tmp_path):
    full = _run(targets, tmp_path / "full", epochs=3)
    _run(targets, tmp_path / "cut", epochs=1)
    resumed = _run(targets, tmp_path / "cut", epochs=3)
    assert [r["epoch"] for r in resumed] == [1, 2, 3]
    for a, b in zip(full, resumed):
        for key in ("train_kl", "val_kl", "lr"):
            assert a[key] == pytest.approx(b[key], rel=1e-5), key
    from soundnet_keras.weights import read_weights
    w_full = read_weights(tmp_path / "full" / "snf.weights.h5")
    w_cut = read_weights(tmp_path / "cut" / "snf.weights.h5")
    for layer in w_full:
        for name in w_full[layer]:
            # float32 weights of scale ~0.01-1 after the same updates:
            # rounding of reductions only (~1e-7 relative per step).
            np.testing.assert_allclose(w_full[layer][name],
                                       w_cut[layer][name], rtol=1e-5,
                                       atol=1e-6)
    history = json.loads((tmp_path / "cut" / "history.json").read_text())
    assert history["config"]["model"] == "snf"
    assert {"command", "commit", "date", "machine"} <= set(
        history["provenance"])
    csv = (tmp_path / "cut" / "history.csv").read_text().splitlines()
    assert csv[0].startswith("epoch,train_kl,val_kl") and len(csv) == 4
    # the evidence of every student run: per-head KL, the constant student
    from soundnet_keras.targets import TargetStore, prior_baseline
    from soundnet_keras.training import HISTORY_FIELDS
    prior = prior_baseline(TargetStore(targets), "val")
    for row in resumed:
        assert set(HISTORY_FIELDS) <= set(row)
        assert row["val_kl"] == pytest.approx(
            row["val_objects_kl"] + row["val_places_kl"], rel=1e-5)
        assert row["constant_kl"] == pytest.approx(prior["kl"], rel=1e-6)
        assert row["prior_places_agreement"] == pytest.approx(
            prior["places_agreement"])
    # the preset is the best validation epoch; the last epoch beside it
    best = min(resumed, key=lambda r: r["val_kl"])["epoch"]
    assert (tmp_path / "cut" / "snf_last.weights.h5").is_file()
    if best != 3:
        w_last = read_weights(tmp_path / "cut" / "snf_last.weights.h5")
        assert any(not np.array_equal(w_cut[l][n], w_last[l][n])
                   for l in w_cut for n in w_cut[l])


DISTILL_SCRIPT = """
import sys
from soundnet_keras.training import DistillConfig, train
train(sys.argv[1], sys.argv[2], DistillConfig(
    epochs=2, steps_per_epoch=2, batch_size=3, lr_patience=1), verbose=0,
    log=None)
"""


@pytest.fixture(scope="module")
def distill_reference(targets, tmp_path_factory):
    from test_runs import run_script
    folder = tmp_path_factory.mktemp("distill") / "straight"
    done = run_script(DISTILL_SCRIPT, [targets, folder])
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


def _points():
    from test_runs import ALL_POINTS_SLOW
    return ALL_POINTS_SLOW


@pytest.mark.parametrize("point", _points())
def test_killed_at_any_point_resumes_exactly(targets, distill_reference,
                                             tmp_path, point):
    from test_runs import assert_same_run, killed_then_resumed
    folder = tmp_path / "run"
    killed_then_resumed(DISTILL_SCRIPT, [targets, folder], folder, point)
    assert_same_run(distill_reference, folder, "snf.weights.h5")


def test_bad_config_values_are_named(targets, tmp_path):
    with pytest.raises(ValueError, match="DistillConfig: learning_rate must"
                       " be a number > 0. Received -1"):
        train(targets, tmp_path, DistillConfig(learning_rate=-1), log=None)
    with pytest.raises(ValueError, match="model must be one of 'snf'"):
        train(targets, tmp_path, DistillConfig(model="vgg"), log=None)


def test_lr_decays_on_plateau(targets, tmp_path):
    rows = _run(targets, tmp_path / "r", epochs=4)
    best, wait, lr = np.inf, 0, 1e-3
    for row in rows:
        assert row["lr"] == pytest.approx(lr)
        if row["val_kl"] < best:
            best, wait = row["val_kl"], 0
        else:
            wait += 1
            if wait >= 1:
                lr, wait = lr * 0.9, 0


def test_other_config_in_same_folder_is_refused(targets, tmp_path):
    _run(targets, tmp_path / "r", epochs=1)
    with pytest.raises(ValueError, match="holds a run with another config"):
        _run(targets, tmp_path / "r", epochs=1, model="snr")


def test_a_stopped_run_is_finished_by_asking_for_the_epochs_it_has(
        targets, tmp_path):
    """A run killed before its ``epochs`` has no final weights; the same
    command with ``epochs`` = the epochs it has writes them without
    training (``soundnet-keras publish`` relies on this)."""
    rows = _run(targets, tmp_path / "r", epochs=2)
    final = {name: (tmp_path / "r" / name).read_bytes()
             for name in ("snf.weights.h5", "snf_last.weights.h5")}
    for name in final:
        (tmp_path / "r" / name).unlink()
    again = _run(targets, tmp_path / "r", epochs=2)
    assert again == rows
    for name, data in final.items():
        assert (tmp_path / "r" / name).read_bytes() == data, name


def test_a_field_added_later_counts_as_its_default(targets, tmp_path):
    """A run begun before ``precision`` existed resumes; asking it for
    another precision is refused."""
    _run(targets, tmp_path / "r", epochs=1)
    path = tmp_path / "r" / "config.json"
    saved = json.loads(path.read_text())
    del saved["precision"]
    path.write_text(json.dumps(saved))
    with pytest.raises(ValueError, match="holds a run with another config"):
        _run(targets, tmp_path / "r", epochs=2, precision="mixed_bfloat16")
    rows = _run(targets, tmp_path / "r", epochs=2)
    assert [r["epoch"] for r in rows] == [1, 2]
    assert json.loads(path.read_text())["precision"] == "float32"


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_near_float32_and_resumes_exactly(
        targets, tmp_path, precision):
    """The student computes in 16 bits, its variables and the loss stay
    float32; the first step's losses agree with float32's to 16-bit
    precision; mixed_float16's loss scale is checkpointed (a resumed run
    ends as an uninterrupted one)."""
    single = _run(targets, tmp_path / "f32", epochs=1)
    full = _run(targets, tmp_path / "full", epochs=2, precision=precision)
    assert full[0]["val_kl"] == pytest.approx(single[0]["val_kl"], rel=0.05)
    assert full[0]["val_kl"] != single[0]["val_kl"]     # 16 bits did compute
    _run(targets, tmp_path / "cut", epochs=1, precision=precision)
    resumed = _run(targets, tmp_path / "cut", epochs=2, precision=precision)
    for key in ("train_kl", "val_kl"):
        assert resumed[1][key] == pytest.approx(full[1][key], rel=1e-6)
    with h5py.File(tmp_path / "full" / "snf.weights.h5") as f:
        dtypes = set()
        f.visititems(lambda _, obj: dtypes.add(obj.dtype)
                     if isinstance(obj, h5py.Dataset) else None)
    assert dtypes == {np.dtype("float32")}
    assert keras.config.dtype_policy().name == "float32"   # restored


def test_snr_trains(targets, tmp_path):
    rows = _run(targets, tmp_path / "r", epochs=1, model="snr_lstm")
    assert np.isfinite(rows[0]["train_kl"])
    assert (tmp_path / "r" / "snr_lstm.weights.h5").exists()


@pytest.mark.slow
def test_snr_resumes_after_other_models_were_built(targets, tmp_path):
    """SN-R's Bidirectional GRUs hold auto-named inner layers
    (``backward_gru_<n>``) whose Keras paths change with every model a
    process builds; its checkpoint names variables by position."""
    import soundnet_keras as sk
    _run(targets, tmp_path / "r", epochs=1, model="snr")
    other = sk.SoundNetR()       # the next SN-R gets other inner names
    assert other.weights
    rows = _run(targets, tmp_path / "r", epochs=2, model="snr")
    assert [r["epoch"] for r in rows] == [1, 2]
    assert all(np.isfinite(r["train_kl"]) for r in rows)


TWO_DEVICES = """
import json, sys, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * int(sys.argv[3]))
from soundnet_keras.training import DistillConfig, train, default_strategy
strategy = default_strategy()
config = DistillConfig(model="snf", epochs=2, steps_per_epoch=2, batch_size=4)
rows = train(sys.argv[1], sys.argv[2], config, strategy=strategy, verbose=0,
             log=None)
print(json.dumps([strategy.num_replicas_in_sync, rows]))
"""


@pytest.mark.slow
def test_two_devices_give_the_same_losses(targets, tmp_path):
    out = {}
    for devices in (1, 2):
        result = subprocess.run(
            [sys.executable, "-c", TWO_DEVICES, str(targets),
             str(tmp_path / f"d{devices}"), str(devices)],
            capture_output=True, text=True, env={**os.environ,
                                                 "TF_CPP_MIN_LOG_LEVEL": "3"})
        assert result.returncode == 0, result.stderr[-3000:]
        replicas, rows = json.loads(result.stdout.strip().splitlines()[-1])
        assert replicas == devices
        out[devices] = rows
    for a, b in zip(out[1], out[2]):
        for key in ("train_kl", "val_kl"):
            assert a[key] == pytest.approx(b[key], rel=1e-3), key


def test_prior_baseline_against_direct_computation(targets):
    from soundnet_keras.targets import prior_baseline
    store = TargetStore(targets)
    base = prior_baseline(store)
    # in float64, as prior_baseline: these KLs are ~1e-7, float32's noise
    train = np.stack([store.get("train", i)[2] for i in range(7)]).astype(
        np.float64)
    val = np.stack([store.get("val", i)[2] for i in range(2)]).astype(
        np.float64)
    prior = train.reshape(-1, 401).mean(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(val > 0, val * np.log(val / prior), 0)
    expected = float(np.mean(terms.sum(-1)))
    assert base["places_kl"] == pytest.approx(expected, rel=1e-4)
    assert base["kl"] == pytest.approx(base["objects_kl"] + expected,
                                       rel=1e-4)
    # the targets of a split, read without the audio, are the clips' own
    for split in ("train", "val"):
        objects, places = store.targets(split)
        clips = [store.get(split, i) for i in range(store.count(split))]
        np.testing.assert_array_equal(objects, [c[1] for c in clips])
        np.testing.assert_array_equal(places, [c[2] for c in clips])


def test_cli_baseline_prints_and_writes_the_prior_baseline(targets, tmp_path,
                                                           capsys):
    from soundnet_keras.cli import main
    from soundnet_keras.targets import prior_baseline
    out = tmp_path / "baseline.json"
    assert main(["baseline", "--targets", str(targets), "--json",
                 str(out)]) == 0
    expected = prior_baseline(TargetStore(targets))
    record = json.loads(out.read_text())
    assert record["kl"] == pytest.approx(expected["kl"])
    assert record["split"] == "val" and record["provenance"]["command"]
    assert f"{expected['kl']:.4f}" in capsys.readouterr().out
    assert main(["baseline", "--targets", str(tmp_path / "none")]) == 2


def test_check_presets_scores_a_preset_as_numpy_does(targets):
    """scripts/check_presets.py: the preset's KL on a split equals the KL of
    its softmax heads at the labelled frames, computed here in NumPy."""
    from conftest import load_script
    store = TargetStore(targets)
    result = load_script("check_presets").score(store, "snf_scratch_pool")
    student = sk.load_preset("snf_scratch_pool")
    clip = int(store.meta["clip_seconds"] * store.meta["student_rate"])
    frames = label_frames("snf", clip, store.target_times)
    totals = {"objects": [], "places": []}
    for i in range(store.count("val")):
        audio, objects, places = store.get("val", i)
        x = sk.preprocess_input(audio)[None, :, None]
        probs = student.predict(x, verbose=0)
        for head, p, q in zip(totals, (objects, places), probs):
            q = q[0, frames].astype(np.float64)
            head_kl = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1))
                                           - np.log(q)), 0).sum(-1)
            totals[head].append(head_kl.mean())
    for head in totals:
        assert result[f"{head}_loss"] == pytest.approx(
            np.mean(totals[head]), rel=1e-3)


def test_resume_with_other_targets_is_refused(targets, tmp_path):
    """A run folder keeps the identity of its target store: resuming it on
    another store is refused, naming both, unless forced."""
    import shutil
    from soundnet_keras.runs import RunError
    _run(targets, tmp_path / "r", epochs=1)
    other = tmp_path / "other"
    shutil.copytree(targets, other)
    clips = (other / "clips.csv").read_text().splitlines()
    (other / "clips.csv").write_text("\n".join(clips[:-1]) + "\n")
    history = (tmp_path / "r" / "history.json").read_bytes()
    with pytest.raises(RunError, match=r"r was made from other inputs: "
                       r"targets differs \(there \w{12}, now \w{12}\); use "
                       r"another folder, or --force-resume"):
        _run(other, tmp_path / "r", epochs=2)
    assert (tmp_path / "r" / "history.json").read_bytes() == history
    # the same store resumes; its identity is in the history
    rows = _run(targets, tmp_path / "r", epochs=2)
    assert len(rows) == 2
    from soundnet_keras.training import run_identity, store_digest
    record = json.loads((tmp_path / "r" / "history.json").read_text())
    assert record["identity"]["targets"] == store_digest(targets)
    assert record["identity"] == run_identity(
        DistillConfig(model="snf", epochs=2, steps_per_epoch=2, batch_size=3,
                      lr_patience=1).check(), targets=store_digest(targets))
    # the history counts the store's clips (the docs quote nothing else)
    store = TargetStore(targets)
    assert record["clips"] == {"train": store.count("train"),
                               "val": store.count("val")} and \
        record["clips"]["train"] > 0


KILLED_WRITE = """
import os, sys
import numpy as np
from soundnet_keras import targets
from soundnet_keras.clips import plan_clips
calls = []
real = targets._to_int16
def dying(x):          # killed after two clips of the rewrite
    calls.append(1)
    if len(calls) > 2:
        os._exit(75)
    return real(x)
targets._to_int16 = dying
clips = plan_clips(sys.argv[2:4], clip_seconds=10.0, val_clips=1)
targets.write_targets(sys.argv[1], clips, clip_seconds=10.0,
                      user_targets=sys.argv[4], progress=False,
                      overwrite=True)
"""


def test_a_store_rewrite_is_all_or_nothing(audio_files, tmp_path):
    """``targets`` into an existing store: refused unless asked; a rewrite
    killed half way leaves the old store whole (before: new shards under
    the old clips.csv); a failed one leaves nothing behind."""
    clips = plan_clips(audio_files[:2], clip_seconds=CLIP, val_clips=1)
    rng = np.random.default_rng(1)
    for name in ("old", "new"):
        np.savez(tmp_path / f"{name}.npz", **{
            key: rng.dirichlet(np.ones(width), (len(clips), 1)).astype(
                "float32") for key, width in (("objects", 1000),
                                              ("places", 401))})
    store = tmp_path / "store"
    write_targets(store, clips, clip_seconds=CLIP,
                  user_targets=tmp_path / "old.npz", progress=False)

    def files():
        return {p.relative_to(store): p.read_bytes()
                for p in store.rglob("*") if p.is_file()}
    before = files()
    with pytest.raises(FileExistsError, match=r"store exists and is not "
                       r"empty; choose a new folder, or pass overwrite=True "
                       r"\(--overwrite\)"):
        write_targets(store, clips, clip_seconds=CLIP,
                      user_targets=tmp_path / "new.npz", progress=False)
    done = subprocess.run([sys.executable, "-c", KILLED_WRITE, str(store),
                           *audio_files[:2], str(tmp_path / "new.npz")],
                          capture_output=True, text=True)
    assert done.returncode == 75, done.stderr
    assert files() == before
    TargetStore(store)         # the reader clears what the dead one left
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "new.npz", "old.npz", "store"]
    np.savez(tmp_path / "bad.npz", objects=np.zeros((1, 1, 3)),
             places=np.zeros((1, 1, 401)))
    with pytest.raises(ValueError, match="objects has shape"):
        write_targets(store, clips, clip_seconds=CLIP, overwrite=True,
                      user_targets=tmp_path / "bad.npz", progress=False)
    assert files() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bad.npz", "new.npz", "old.npz", "store"]
    write_targets(store, clips, clip_seconds=CLIP, overwrite=True,
                  user_targets=tmp_path / "new.npz", progress=False)
    assert files() != before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bad.npz", "new.npz", "old.npz", "store"]


def test_a_swap_cut_between_its_renames_is_finished(tmp_path):
    """A kill between moving the old store aside and the new one in leaves
    a complete staged folder: the next reader puts it in place."""
    from soundnet_keras.stores import COMPLETE, recover_folder
    store = tmp_path / "store"
    stage = tmp_path / ".store.building-999999999"   # no such process
    stage.mkdir()
    (stage / "meta.json").write_text("new")
    (stage / COMPLETE).touch()
    old = tmp_path / ".store.old-999999999"
    old.mkdir()
    (old / "meta.json").write_text("old")
    recover_folder(store)
    assert (store / "meta.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]
    # killed while building: the old store stays, the stage goes
    stage.mkdir()
    (stage / "meta.json").write_text("half")
    recover_folder(store)
    assert (store / "meta.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]


def test_one_long_file_is_split_in_time(tmp_path):
    """A single 1-hour file once gave 0 training clips (all to validation);
    now its last clips validate and its training clips end before them."""
    path = tmp_path / "hour.wav"
    soundfile.write(path, np.zeros(3600 * 100, np.int16), 100)
    clips = plan_clips([str(path)])
    assert clips.split.value_counts().to_dict() == {"train": 144, "val": 36}
    clips = plan_clips([str(path)], hop_seconds=5.0)        # overlapping
    train, val = (clips[clips.split == s].start_s for s in ("train", "val"))
    assert train.max() + 20.0 <= val.min()
    assert len(val) == int(0.2 * 717) and len(train) > 500
    two = tmp_path / "short.wav"
    soundfile.write(two, np.zeros(60 * 100, np.int16), 100)
    clips = plan_clips([str(path), str(two)], val_clips=3)
    assert set(clips.split) == {"train", "val"}
