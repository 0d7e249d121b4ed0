"""The committed histories hold what the notebooks and the README read."""

import json
from pathlib import Path

import pandas as pd
import pytest

from sed.experiments import (COMMITTED_HISTORIES, EXTRA_ROWS, TABLE4,
                             TABLE4_20EPOCHS, TABLE4_COLUMNS)
from sed.publishing import HISTORY_FILES
from sed.plots import FIGURE2_FIELDS, FIGURE2_ROWS
from soundnet_keras.plots import VARIANT_HISTORIES

from conftest import load_script

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ROOT / "weights" / "histories"
TABLE4_DIR = ROOT / "notebooks" / "histories" / "table4_20epochs"
assert TABLE4_DIR == TABLE4_20EPOCHS
PROVENANCE = ("command", "commit", "date", "machine")


def check_provenance(record, where):
    prov = record["provenance"]
    for key in PROVENANCE:
        assert prov.get(key), f"{where}: provenance lacks {key}"


@pytest.mark.parametrize("name", sorted(VARIANT_HISTORIES.values()))
def test_variant_histories_hold_figure1_fields(name):
    record = json.loads((VARIANTS / f"{name}.history.json").read_text())
    check_provenance(record, name)
    epochs = record["epochs"]
    assert [r["epoch"] for r in epochs] == list(range(1, len(epochs) + 1))
    assert all(isinstance(r["val_kl"], float) for r in epochs)
    assert len(epochs) == record["config"]["epochs"]


def test_prior_baseline_of_figure1():
    record = json.loads((VARIANTS / "prior_baseline.json").read_text())
    check_provenance(record, "prior_baseline.json")
    assert record["kl"] == pytest.approx(record["objects_kl"]
                                         + record["places_kl"])


def table4_histories():
    return sorted([*TABLE4_DIR.glob("*/history.json"),
                   *COMMITTED_HISTORIES.glob("*/history.json")])


def test_every_figure2_row_has_a_history():
    """Figure 2 draws the warm-up sweep and Table 4's student rows."""
    from sed.plots import figure2_histories
    runs = figure2_histories(WARMUP_DIR, TABLE4_DIR)
    assert set(FIGURE2_ROWS) <= {name.rsplit("-", 2)[0] for name in runs}


@pytest.mark.parametrize("path", table4_histories(),
                         ids=lambda p: f"{p.parent.parent.name}/"
                         f"{p.parent.name}")
def test_table4_histories_hold_figure2_fields(path):
    from sed.config import resolve_config
    from sed.train import finished
    record = json.loads(path.read_text())
    check_provenance(record, path.parent.name)
    assert not record["provenance"].get("dirty") or \
        path.parent.parent == TABLE4_DIR, "a run from an uncommitted tree"
    name, seed = path.parent.name.rsplit("-seed", 1)
    assert name in {row.name for row in TABLE4 + EXTRA_ROWS}
    config = resolve_config(record["config"])
    assert config["training"]["seed"] == int(seed)
    new = path.parent.parent == COMMITTED_HISTORIES
    for file in HISTORY_FILES if new else HISTORY_FILES[:3]:
        assert (path.parent / file).is_file(), file
    epochs = record["epochs"]
    assert epochs, "no finished epoch"
    assert [r["epoch"] for r in epochs] == list(range(1, len(epochs) + 1))
    for row in epochs:
        for field in FIGURE2_FIELDS + ("steps", "time_s"):
            assert row.get(field) is not None, (row["epoch"], field)
    tr = config["training"]
    assert tr["epochs"] >= len(epochs)
    if new:
        assert record.get("finished") == finished(epochs, tr["epochs"],
                                                  tr["patience"])
    row = next(r for r in TABLE4 + EXTRA_ROWS if r.name == name)
    assert config["feats"]["kind"] == row.kind
    assert config["feats"]["weights"] == row.weights
    if new:
        assert config["feats"]["scaling"] == row.scaling
        best = json.loads((path.parent / "best_test.json").read_text())
        scored = [r for r in epochs if r["val_ter"] is not None]
        top = min(scored, key=lambda r: r["val_ter"])
        assert (best["epoch"], best["test_ter"]) == (top["epoch"],
                                                     top["test_ter"])


@pytest.mark.parametrize("folder", [TABLE4_DIR, COMMITTED_HISTORIES],
                         ids=["table4_20epochs", "table4"])
def test_table4_csv_matches_the_histories(folder):
    from sed.experiments import table4
    if not (folder / "table4.csv").is_file():
        pytest.skip(f"{folder}: no run published yet")
    table = pd.read_csv(folder / "table4.csv")
    assert list(table.columns) == list(TABLE4_COLUMNS)
    assert sorted(table["run"]) == sorted(p.parent.name
                                          for p in folder.glob(
                                              "*/history.json"))
    for line in table.itertuples():
        rows = json.loads((folder / line.run / "history.json")
                          .read_text())["epochs"]
        assert line.epochs == len(rows)
        assert line.test_ter == pytest.approx(rows[-1]["test_ter"], abs=1e-4)
    fresh = table4(folder)
    assert list(fresh["run"]) == list(table["run"])


def test_readers_default_to_the_committed_histories(tmp_path, monkeypatch):
    from sed.experiments import table4
    monkeypatch.chdir(tmp_path)  # the defaults do not hang on the folder
    from sed.plots import table4_comparison
    committed = table4(COMMITTED_HISTORIES)
    assert len(committed) == len(list(COMMITTED_HISTORIES.glob(
        "*/history.json")))
    pd.testing.assert_frame_equal(table4(), committed)
    pd.testing.assert_frame_equal(table4_comparison(),
                                  table4_comparison(TABLE4_DIR))


WARMUP_DIR = ROOT / "notebooks" / "histories" / "warmup"


def warmup_histories():
    return sorted(WARMUP_DIR.glob("*-*-seed*/history.json"))


@pytest.mark.parametrize("path", warmup_histories(),
                         ids=lambda p: p.parent.name)
def test_warmup_histories_hold_their_run(path):
    from sed.experiments import VARIANTS, table4_row
    from sed.train import HISTORY_FIELDS
    record = json.loads(path.read_text())
    check_provenance(record, path.parent.name)
    row, variant, seed = path.parent.name.rsplit("-", 2)
    config = record["config"]
    assert config["feats"]["kind"] == table4_row(row).kind
    assert config["training"]["seed"] == int(seed[len("seed"):])
    for section, values in VARIANTS[variant].items():
        for key, value in values.items():
            assert config[section][key] == value, (section, key)
    if variant.startswith("paper"):
        assert config["net"]["activation"] == "relu_g"
        assert config["opt"]["clipnorm"] is None
    epochs = record["epochs"]
    assert [r["epoch"] for r in epochs] == list(range(1, len(epochs) + 1))
    for r in epochs:
        assert set(HISTORY_FIELDS) <= set(r), r["epoch"]
        assert len(r["step_nonblank"]) == len(r["step_loss"]) == r["steps"]


def test_publish_preset_writes_a_preset_folder_and_the_history(
        tmp_path, capsys):
    import hashlib
    from soundnet_keras.cli import main
    from soundnet_keras.publish import preset_config
    run, presets = tmp_path / "run", tmp_path / "presets"
    run.mkdir()
    (presets / "histories").mkdir(parents=True)
    (presets / "other").mkdir()
    (presets / "other" / "config.json").write_text("{}")
    prov = dict(command="soundnet-keras train --model snr", commit="abc",
                date="2026-12-01", machine=dict(tensorflow="2.21.0"))
    record = dict(config=dict(model="snr", rnn_activation="relu",
                              batch_norm=True, steps_per_epoch=2,
                              batch_size=4),
                  provenance=prov, epochs=[dict(epoch=1, val_kl=0.5)])
    (run / "history.json").write_text(json.dumps(record))
    (run / "history.csv").write_text("epoch\n1\n")

    def publish(*extra):
        return main(["publish", str(run), "new", "--presets", str(presets),
                     *extra])

    def files():
        return {p: p.read_bytes() for p in presets.rglob("*")
                if p.is_file()}
    # A run in progress: the history only; weights are refused with a hint,
    # and nothing is written (before: the history was replaced, then exit 1)
    assert publish("--history-only") == 0
    assert json.loads((presets / "histories" / "new.history.json")
                      .read_text()) == record
    before = files()
    assert publish("--replace", "new") == 2
    assert "no final weights" in capsys.readouterr().err
    assert files() == before
    (run / "snr.weights.h5").write_bytes(b"weights")
    # the history is there already: replaced only when asked by name
    assert publish("--description", "a test") == 2
    assert "replaced only when asked by name: --replace new" in \
        capsys.readouterr().err
    assert publish("--replace", "other", "--description", "a test") == 2
    # a new preset says what it is
    assert publish("--replace", "new") == 2
    assert "--description TEXT" in capsys.readouterr().err
    assert files() == before
    assert publish("--replace", "new", "--description", "a test") == 0
    folder = presets / "new"
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md", "config.json", "metadata.json", "model.weights.h5"]
    assert (folder / "model.weights.h5").read_bytes() == b"weights"
    config = json.loads((folder / "config.json").read_text())
    assert config == preset_config(record["config"])
    assert config["config"] == dict(cell="gru", batch_norm=True,
                                    activation="relu")
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["weights_sha256"] == hashlib.sha256(b"weights").hexdigest()
    assert (metadata["name"], metadata["description"], metadata["base"],
            metadata["provenance"]) == ("new", "a test", None, prov)
    card = (folder / "README.md").read_text()
    assert card.startswith("# new\n\na test.\n")
    assert metadata["weights_sha256"] in card
    assert (presets / "other" / "config.json").read_text() == "{}"
    assert not list(presets.rglob(".*.part")) and not list(
        presets.glob(".*"))
    # replacing keeps the description unless a new one is given
    (run / "snr.weights.h5").write_bytes(b"weights 2")
    assert publish("--replace", "new") == 0
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["description"] == "a test"
    assert (folder / "model.weights.h5").read_bytes() == b"weights 2"
    assert main(["publish", str(tmp_path / "nothing"), "x", "--presets",
                 str(presets)]) == 2
    assert "a student run" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["snf_standin", "snf_trunk_pool",
                                  "snr_trunk_pool", "snf_scratch_pool",
                                  "snr_scratch_pool"])
def test_publishing_a_built_in_run_again_gives_its_folder(name, tmp_path):
    """A built-in student's history and weights, published as a run would
    be, give its folder again: the same config.json, sha256, description,
    base and provenance, and a card that differs only by where it lives."""
    from soundnet_keras.cards import model_card
    from soundnet_keras.publish import publish_preset
    from soundnet_keras.weights import WEIGHTS_DIR, read_preset_folder
    built_in = WEIGHTS_DIR / name
    config, metadata = read_preset_folder(built_in)
    run = tmp_path / "run"
    run.mkdir()
    for suffix in ("json", "csv"):
        (run / f"history.{suffix}").write_bytes(
            (VARIANTS / f"{name}.history.{suffix}").read_bytes())
    kind = "_trunk" if metadata["base"] else ""
    (run / f"{config['model']}{kind}.weights.h5").write_bytes(
        (built_in / "model.weights.h5").read_bytes())
    publish_preset(run, name, tmp_path / "presets", log=None,
                   description=metadata["description"])
    again, new = read_preset_folder(tmp_path / "presets" / name)
    assert again == config
    for key in ("name", "description", "base", "weights_sha256",
                "provenance"):
        assert new[key] == metadata[key], key
    card = (tmp_path / "presets" / name / "README.md").read_text()
    assert card == model_card(name).replace(
        "weights/", f"{tmp_path / 'presets'}/").replace(
        f'sk.load_preset("{name}")',
        f'sk.load_preset("{tmp_path / "presets"}/{name}")')


def test_a_built_in_preset_is_never_replaced_unless_asked(tmp_path, capsys):
    """A toy run published under a built-in preset's name is refused."""
    from soundnet_keras.cli import main
    from soundnet_keras.weights import WEIGHTS_DIR
    run = tmp_path / "toy"
    run.mkdir()
    (run / "history.json").write_text(json.dumps(dict(
        config=dict(model="snf"), epochs=[dict(epoch=1)])))
    (run / "history.csv").write_text("epoch\n1\n")
    (run / "snf.weights.h5").write_bytes(b"toy")
    folder = WEIGHTS_DIR / "snf_scratch_pool"
    before = {p: p.read_bytes() for p in folder.iterdir()}
    assert main(["publish", str(run), "snf_scratch_pool"]) == 2
    assert "a built-in preset" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in folder.iterdir()} == before
