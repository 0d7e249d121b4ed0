"""The committed histories hold what the notebooks and the README read."""

import json
from pathlib import Path

import pandas as pd
import pytest

from sed.experiments import (COMMITTED_HISTORIES, EXTRA_ROWS, HISTORY_FILES,
                             TABLE4, TABLE4_20EPOCHS, TABLE4_COLUMNS)
from sed.plots import FIGURE2_FIELDS, FIGURE2_ROWS
from soundnet_keras.plots import VARIANT_HISTORIES

from conftest import load_script

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ROOT / "soundnet_keras" / "presets" / "histories"
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


def test_publish_preset_copies_history_and_weights_with_their_sum(
        tmp_path, capsys):
    import hashlib
    from soundnet_keras.cli import main
    run, presets = tmp_path / "run", tmp_path / "presets"
    run.mkdir()
    (presets / "histories").mkdir(parents=True)
    (presets / "SHA256SUMS").write_text("1" * 64 + "  new.weights.h5\n"
                                        + "0" * 64 + "  other.weights.h5\n")
    record = dict(config=dict(model="snr"), epochs=[dict(epoch=1)])
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
    assert publish() == 2
    assert "replaced only when asked by name: --replace new" in \
        capsys.readouterr().err
    assert publish("--replace", "other") == 2
    assert files() == before
    assert publish("--replace", "new") == 0
    assert (presets / "new.weights.h5").read_bytes() == b"weights"
    digest = hashlib.sha256(b"weights").hexdigest()
    assert (presets / "SHA256SUMS").read_text().splitlines() == [
        f"{digest}  new.weights.h5", "0" * 64 + "  other.weights.h5"]
    assert not list(presets.rglob(".*.part"))
    assert main(["publish", str(tmp_path / "nothing"), "x", "--presets",
                 str(presets)]) == 2
    assert "a student run" in capsys.readouterr().err


def test_a_shipped_preset_is_never_replaced_unless_asked(tmp_path, capsys):
    """A toy run published under a shipped preset's name is refused."""
    from soundnet_keras.cli import main
    from soundnet_keras.weights import PACKAGE_DIR
    run = tmp_path / "toy"
    run.mkdir()
    (run / "history.json").write_text(json.dumps(dict(
        config=dict(model="snf"), epochs=[dict(epoch=1)])))
    (run / "history.csv").write_text("epoch\n1\n")
    (run / "snf.weights.h5").write_bytes(b"toy")
    shipped = (PACKAGE_DIR / "snf_scratch_pool.weights.h5").read_bytes()
    assert main(["publish", str(run), "snf_scratch_pool"]) == 2
    assert "a preset the package ships" in capsys.readouterr().err
    assert (PACKAGE_DIR / "snf_scratch_pool.weights.h5").read_bytes() == \
        shipped
