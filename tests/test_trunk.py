"""Pretrained-trunk students: aligned targets, cached pool5 features, training
with the evidence per epoch, exact resume, and the assembled full student."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest
import soundfile

import soundnet_keras as sk
from soundnet_keras.audio import preprocess_input
from soundnet_keras.cli import main
from soundnet_keras.clips import plan_clips
from soundnet_keras.specs import frame_times
from soundnet_keras.targets import (TargetStore, prior_baseline, target_times,
                                    write_targets)
from soundnet_keras.training import label_frames
from soundnet_keras.trunk import (TrunkConfig, cache_features,
                                  distillation_model, load_cache,
                                  train_trunk, trunk_model)
from soundnet_keras.weights import preset_path

from conftest import write_tones
from test_runs import (ALL_POINTS_SLOW, assert_same_run, killed_then_resumed,
                       run_script)

ROOT = Path(__file__).resolve().parent.parent
CLIP = 10.0  # seconds; 20 s in the paper, shorter here to keep tests fast
HAVE_WEIGHTS = preset_path("soundnet8_flickr").exists()
TRUNK = "soundnet8_flickr" if HAVE_WEIGHTS else None
TINY = dict(steps_per_epoch=2, batch_size=4)


def test_teacher_alignment_targets_the_teachers_frame_centres():
    # REFERENCE: the four conv8 frames of a 20 s clip centre at 4.75, 7.72,
    # 10.69 and 13.66 s.
    np.testing.assert_allclose(target_times(20.0),
                               [4.75, 7.72, 10.69, 13.66], atol=0.005)
    np.testing.assert_array_equal(target_times(20.0, alignment="paper"),
                                  [3.0, 8.0, 13.0, 18.0])
    assert len(target_times(40.0)) == 11  # longer clips: every conv8 frame
    for model in ("snf", "snr"):
        times = target_times(20.0)
        frames = label_frames(model, 320000, times)
        centres = frame_times(model, "output", 200)
        # the nearest student frame: within half of its 0.1 s hop
        assert np.all(np.abs(centres[frames] - times) <= 0.05)
        assert frames == [47, 77, 107, 137]
    with pytest.raises(ValueError, match="alignment must be one of"):
        target_times(20.0, alignment="video")


@pytest.fixture(scope="module")
def features(tmp_path_factory):
    paths = write_tones(tmp_path_factory.mktemp("audio"), [21, 23, 31, 25])
    clips = plan_clips(paths, clip_seconds=CLIP, val_clips=2, hop_seconds=5.0)
    teacher = sk.SoundNet8(weights=TRUNK)
    targets = write_targets(tmp_path_factory.mktemp("targets"), clips,
                            clip_seconds=CLIP, teacher=teacher,
                            shard_size=4, progress=False)
    return cache_features(targets, tmp_path_factory.mktemp("pool5"),
                          weights=TRUNK, progress=False)


def test_overlapping_clips(tmp_path):
    path = tmp_path / "a.wav"
    soundfile.write(path, np.zeros(21 * 16000), 16000)
    clips = plan_clips([path], clip_seconds=CLIP, val_clips=0,
                       hop_seconds=5.0)
    assert clips.start_s.tolist() == [0.0, 5.0, 10.0]  # 10 + 10 <= 21
    assert plan_clips([path], clip_seconds=CLIP,
                      val_clips=0).start_s.tolist() == [0.0, 10.0]


@pytest.mark.skipif(not HAVE_WEIGHTS, reason="SoundNet-8 weights absent")
def test_trunk_is_soundnet8s_frozen_convolutions():
    trunk, teacher = trunk_model(), sk.SoundNet8()
    assert not trunk.trainable_weights
    for name in ("conv1", "conv3_bn", "conv5", "conv5_bn"):
        for a, b in zip(trunk.get_layer(name).get_weights(),
                        teacher.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)


def test_cached_features_are_the_trunks(features):
    meta = json.loads((features / "meta.json").read_text())
    store = TargetStore(meta["targets"])
    x, objects, places = load_cache(features, "val")
    assert x.shape == (store.count("val"), 100, 256) and x.dtype == np.float16
    audio = store.get("val", 1)[0]
    want = np.asarray(trunk_model(TRUNK)(preprocess_input(audio)[None, :,
                                                                 None]))[0]
    # float16 storage: one part in 2,048
    np.testing.assert_allclose(x[1].astype(np.float32), want, rtol=1e-3,
                               atol=1e-3 * np.abs(want).max())
    np.testing.assert_array_equal(objects[1], store.get("val", 1)[1])
    assert places.shape == (store.count("val"), 1, 401)


def test_train_records_evidence_and_resumes_exactly(features, tmp_path):
    config = TrunkConfig(model="snf", epochs=3, **TINY)
    straight = train_trunk(features, tmp_path / "a", config, verbose=0)
    train_trunk(features, tmp_path / "b", TrunkConfig(model="snf", epochs=2,
                                                      **TINY), verbose=0)
    resumed = train_trunk(features, tmp_path / "b", config, verbose=0,
                          log=None)
    assert [r["epoch"] for r in resumed] == [1, 2, 3]
    for a, b in zip(straight, resumed):
        for key in ("train_kl", "val_kl", "val_objects_kl", "lr"):
            assert a[key] == pytest.approx(b[key], rel=1e-5), key
    store = TargetStore(json.loads((features / "meta.json").read_text())[
        "targets"])
    constant = prior_baseline(store)
    row = straight[-1]
    assert row["constant_kl"] == pytest.approx(constant["kl"], rel=1e-6)
    assert row["prior_places_agreement"] == constant["places_agreement"]
    assert row["val_kl"] == pytest.approx(
        row["val_objects_kl"] + row["val_places_kl"], rel=1e-5)
    history = json.loads((tmp_path / "a" / "history.json").read_text())
    assert history["provenance"]["commit"] is not None
    assert history["config"]["epochs"] == 3
    with pytest.raises(ValueError, match="another config"):
        train_trunk(features, tmp_path / "a",
                    TrunkConfig(model="snf", epochs=3, learning_rate=0.1,
                                **TINY), verbose=0)


def _old_layout(folder):
    """Rewrites a run folder's checkpoint in the layout of the trunk's runs
    before :class:`soundnet_keras.runs.RunFolder` (weights and optimizer
    variables by position, lr and plateau state in ``state.json``)."""
    from soundnet_keras.runs import RunFolder
    from soundnet_keras.runs import positional_variables
    from soundnet_keras.trunk import HISTORY_FIELDS
    config = TrunkConfig(**json.loads((folder / "config.json").read_text()))
    history = json.loads((folder / "history.json").read_text())
    model = distillation_model(config, [0, 1])
    optimizer = keras.optimizers.Adam()
    optimizer.build(model.trainable_variables)
    run = RunFolder(folder, HISTORY_FIELDS)
    state = run.restore(positional_variables(model, optimizer))
    assert history["epochs"] == state["rows"]
    model.save_weights(folder / "checkpoint" / "model.weights.h5")
    np.savez(folder / "checkpoint" / "optimizer.npz",
             *[np.asarray(v) for v in optimizer.variables])
    plateau = state["schedule"]
    (folder / "checkpoint" / "state.json").write_text(json.dumps(dict(
        epoch=state["epoch"], lr=float(np.asarray(optimizer.learning_rate)),
        best=plateau["best"], wait=int(plateau["wait"]),
        cooldown=int(plateau["cooldown_counter"]))))
    for path in (folder / "checkpoint").glob("*"):
        if path.name.startswith("ckpt-") or path.name == "latest.json":
            path.unlink()


def test_run_of_the_old_layout_is_moved_and_resumes_exactly(features,
                                                            tmp_path):
    config = TrunkConfig(model="snf", epochs=3, lr_patience=1, **TINY)
    straight = train_trunk(features, tmp_path / "a", config, verbose=0)
    train_trunk(features, tmp_path / "b", TrunkConfig(
        model="snf", epochs=2, lr_patience=1, **TINY), verbose=0)
    _old_layout(tmp_path / "b")
    resumed = train_trunk(features, tmp_path / "b", config, verbose=0,
                          log=None)
    names = sorted(p.name for p in (tmp_path / "b" / "checkpoint").iterdir())
    assert names == ["best.weights.h5", "ckpt-2.data-00000-of-00001",
                     "ckpt-2.index", "ckpt-3.data-00000-of-00001",
                     "ckpt-3.index", "latest.json"]
    for a, b in zip(straight, resumed):
        for key in ("train_kl", "val_kl", "val_objects_kl", "lr"):
            assert a[key] == pytest.approx(b[key], rel=1e-5), key


TRUNK_SCRIPT = """
import sys
from soundnet_keras.trunk import TrunkConfig, train_trunk
train_trunk(sys.argv[1], sys.argv[2], TrunkConfig(
    model="snf", epochs=2, steps_per_epoch=2, batch_size=4, lr_patience=1),
    verbose=0, log=None)
"""


@pytest.fixture(scope="module")
def trunk_reference(features, tmp_path_factory):
    folder = tmp_path_factory.mktemp("trunk") / "straight"
    done = run_script(TRUNK_SCRIPT, [features, folder])
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads((folder / "history.json").read_text())["epochs"]
    # epoch 2 is the best: a kill after its best weights are written and
    # before its checkpoint retrains it
    assert rows[1]["val_kl"] <= rows[0]["val_kl"]
    return folder


@pytest.mark.parametrize("point", ALL_POINTS_SLOW)
def test_killed_at_any_point_resumes_exactly(features, trunk_reference,
                                             tmp_path, point):
    """Also between writing the best weights and the checkpoint
    (``checkpoint_written`` of epoch 2): the same files in the end."""
    folder = tmp_path / "run"
    killed_then_resumed(TRUNK_SCRIPT, [features, folder], folder, point)
    for name in ("snf_trunk.weights.h5", "snf_trunk_last.weights.h5",
                 "checkpoint/best.weights.h5"):
        assert_same_run(trunk_reference, folder, name)


def test_assembled_student_is_trunk_plus_trained_layers(features, tmp_path):
    config = TrunkConfig(model="snf", epochs=1, **TINY)
    train_trunk(features, tmp_path, config, verbose=0)
    student = sk.SoundNetF(weights=str(tmp_path / "snf_trunk.weights.h5"))
    meta = json.loads((features / "meta.json").read_text())
    audio = TargetStore(meta["targets"]).get("val", 0)[0]
    waveform = preprocess_input(audio)[None, :, None]
    frames = label_frames("snf", len(audio), meta["target_times_s"])
    model = distillation_model(config, frames)
    model.load_weights(tmp_path / "checkpoint" / "best.weights.h5")
    logits = model(trunk_model(TRUNK)(waveform))
    for head, out in zip(("objects", "places"), student(waveform)):
        want = np.asarray(keras.ops.softmax(logits[head], axis=-1))[0]
        np.testing.assert_allclose(np.asarray(out)[0, frames], want,
                                   rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_snr_trains_and_assembles(features, tmp_path):
    rows = train_trunk(features, tmp_path, TrunkConfig(model="snr", epochs=1,
                                                       **TINY), verbose=0)
    assert np.isfinite(rows[0]["val_kl"])
    model = sk.SoundNetR(weights=str(tmp_path / "snr_trunk.weights.h5"))
    assert model.get_layer("gru3_bn") is not None


def test_cli_train_trunk(features, tmp_path, capsys):
    assert main(["train-trunk", "--features", str(features), "--out",
                 str(tmp_path / "run"), "--epochs", "1", "--steps-per-epoch",
                 "1", "--batch-size", "4", "--verbose", "0"]) == 0
    rows = json.loads((tmp_path / "run" / "history.json").read_text())
    assert len(rows["epochs"]) == 1
    assert main(["train-trunk", "--features", str(tmp_path / "none"),
                 "--out", str(tmp_path / "run2")]) == 2
    assert "No cached features" in capsys.readouterr().err


def test_evaluate_scores_the_constant_student_like_constant_student():
    from soundnet_keras.targets import constant_student
    from soundnet_keras.trunk import evaluate
    rng = np.random.default_rng(1)
    train = [rng.dirichlet(np.ones(w), size=(6, 2)) for w in (1000, 401)]
    held = [rng.dirichlet(np.ones(w) * 0.1, size=(5, 2)) for w in (1000, 401)]
    priors = [t.reshape(-1, t.shape[-1]).mean(0) for t in train]

    class Constant:  # a "model" whose logits are the log prior everywhere
        def predict(self, x, batch_size, verbose):
            return {h: np.broadcast_to(np.log(p), (len(x), 2, len(p)))
                    for h, p in zip(("objects", "places"), priors)}

    got = evaluate(Constant(), np.zeros((5, 3, 256)), *held)
    want = constant_student(train, held)
    for key in want:
        assert got[key] == pytest.approx(want[key], rel=1e-9), key


def test_manifest_splits_are_kept(tmp_path):
    for name, seconds in (("a", 40), ("b", 30), ("c", 50)):
        soundfile.write(tmp_path / f"{name}.wav", np.zeros(seconds * 8000),
                        8000)
    splits = {str(tmp_path / "a.wav"): "train", str(tmp_path / "b.wav"): "val",
              str(tmp_path / "c.wav"): "val"}
    clips = plan_clips(list(splits), clip_seconds=CLIP, val_clips=3,
                       splits=splits)
    assert (clips.split == "train").sum() == 4
    assert set(clips[clips.split == "train"].path) == {str(tmp_path / "a.wav")}
    assert (clips.split == "val").sum() == 3  # of 8, drawn at random
    assert clips.clip_id.tolist() == list(range(len(clips)))
    (tmp_path / "m.tsv").write_text("path\tsplit\na.wav\ttrain\nb.wav\tval\n")
    out = tmp_path / "t"
    assert main(["targets", "--manifest", str(tmp_path / "m.tsv"), "--out",
                 str(out), "--clip-seconds", "10", "--val-clips", "1"]) == 0
    stored = TargetStore(out)
    assert (stored.count("train"), stored.count("val")) == (4, 1)
    np.testing.assert_allclose(stored.target_times, target_times(10.0))


@pytest.mark.parametrize("name", ["snf_trunk_pool", "snr_trunk_pool",
                                  "snf_scratch_pool", "snr_scratch_pool"])
def test_committed_pool_histories_hold_the_evidence(name):
    from soundnet_keras.trunk import HISTORY_FIELDS
    from soundnet_keras.weights import HISTORIES_DIR, PRESETS, recorded_sha256
    path = HISTORIES_DIR / f"{name}.history.json"
    record = json.loads(path.read_text())
    for key in ("command", "commit", "date", "machine"):
        assert record["provenance"].get(key), key
    rows = record["epochs"]
    assert [r["epoch"] for r in rows] == list(range(1, len(rows) + 1))
    assert all(set(HISTORY_FIELDS) <= set(r) for r in rows)
    assert len({r["constant_kl"] for r in rows}) == 1
    assert recorded_sha256(PRESETS[name]["file"]) is not None


def test_distill_and_trunk_configs_share_one_definition():
    """The hyper-parameters both runs have are StudentConfig's fields (the
    trunk only starts with fewer epochs); the distillation adds its own."""
    import dataclasses
    from soundnet_keras.training import DistillConfig, StudentConfig
    shared = [f.name for f in dataclasses.fields(StudentConfig)]
    assert issubclass(TrunkConfig, StudentConfig)
    assert issubclass(DistillConfig, StudentConfig)
    assert [f.name for f in dataclasses.fields(TrunkConfig)] == shared
    assert [f.name for f in dataclasses.fields(DistillConfig)] == shared + [
        "init_from_soundnet8", "clipnorm", "precision"]
    assert [n for n in vars(TrunkConfig)["__annotations__"]] == ["epochs"]
    assert (TrunkConfig().epochs, DistillConfig().epochs) == (175, 300)


@pytest.mark.parametrize("name,kind", [
    ("snf_trunk_pool", "trunk"), ("snr_trunk_pool", "trunk"),
    ("snf_trunk_standin", "trunk"), ("snr_trunk_standin", "trunk"),
    ("snf_scratch_pool", "distill"), ("snr_scratch_pool", "distill"),
    ("snf_standin", "distill"), ("snr_standin", "distill"),
    ("snr_lstm_standin", "distill")])
def test_committed_histories_configs_load(name, kind):
    """Each shipped history's config makes its config class again (older
    distillation histories lack later fields: their defaults); a trunk
    run's config.json is the same dict, so such runs still resume."""
    import dataclasses
    from soundnet_keras.training import DistillConfig
    from soundnet_keras.weights import HISTORIES_DIR
    saved = json.loads((HISTORIES_DIR / f"{name}.history.json"
                        ).read_text())["config"]
    cls = TrunkConfig if kind == "trunk" else DistillConfig
    config = cls(**saved).check()
    again = dataclasses.asdict(config)
    if kind == "trunk":
        assert again == saved
    else:
        assert {k: again[k] for k in saved} == saved


def test_cli_builds_both_configs_from_the_shared_options():
    from soundnet_keras.cli import parser, student_config
    from soundnet_keras.runs import ConfigError
    from soundnet_keras.training import DistillConfig
    options = ["--model", "snr", "--lr", "0.01", "--batch-size", "8",
               "--rnn-activation", "tanh", "--no-batch-norm", "--seed", "3"]
    shared = dict(model="snr", learning_rate=0.01, batch_size=8,
                  rnn_activation="tanh", batch_norm=False, seed=3)
    args = parser().parse_args(["train-trunk", "--features", "f", "--out",
                                "o"] + options)
    assert student_config(TrunkConfig, args) == TrunkConfig(**shared)
    args = parser().parse_args(["train", "--targets", "t", "--out", "o",
                                "--clipnorm", "1.0"] + options)
    assert student_config(
        DistillConfig, args, init_from_soundnet8=args.init_from_soundnet8,
        clipnorm=args.clipnorm) == DistillConfig(**shared, clipnorm=1.0)
    with pytest.raises(ConfigError, match="TrunkConfig: lr_factor must be"):
        TrunkConfig(lr_factor=1.5).check()


def test_resume_with_other_features_is_refused(features, tmp_path):
    """train-trunk keeps the identity of its feature cache (and targets):
    another cache is refused before anything is written, the history
    never mixes two; ``force`` goes on."""
    import shutil
    from soundnet_keras.runs import RunError
    config = TrunkConfig(model="snf", epochs=1, **TINY)
    train_trunk(features, tmp_path / "r", config, verbose=0, log=None)
    other = tmp_path / "other"
    shutil.copytree(features, other)
    meta = json.loads((other / "meta.json").read_text())
    meta["note"] = "another cache"
    (other / "meta.json").write_text(json.dumps(meta))
    longer = TrunkConfig(model="snf", epochs=2, **TINY)
    before = (tmp_path / "r" / "history.json").read_bytes()
    with pytest.raises(RunError, match="features differs"):
        train_trunk(other, tmp_path / "r", longer, verbose=0, log=None)
    assert (tmp_path / "r" / "history.json").read_bytes() == before
    rows = train_trunk(other, tmp_path / "r", longer, verbose=0, log=None,
                       force=True)
    assert len(rows) == 2
    with pytest.raises(FileNotFoundError, match="No cached features"):
        train_trunk(tmp_path / "none", tmp_path / "fresh", config, verbose=0)
    assert not (tmp_path / "fresh").exists()   # nothing left to block a retry
