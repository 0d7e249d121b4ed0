"""Table 4's results over seeds (sed.results): bootstrap, summaries,
verdicts, from synthetic histories."""

import json

import numpy as np
import pytest

from sed.results import (collect, paired_difference, row_summary, verdict,
                         verdicts)


def test_paired_difference_against_a_direct_bootstrap():
    rng = np.random.default_rng(1)
    refs = rng.integers(5, 30, size=40)
    a = np.stack([rng.binomial(refs, 0.6) for _ in range(3)])
    b = np.stack([rng.binomial(refs, 0.7) for _ in range(3)])
    out = paired_difference(a, b, refs, refs, resamples=4000, seed=3)
    # the point estimate: mean over seeds of the pooled TERs
    expected = (a.sum(1) / refs.sum()).mean() - (b.sum(1) / refs.sum()).mean()
    assert out["difference"] == pytest.approx(expected)
    # a bootstrap written out loop by loop agrees within Monte Carlo noise
    draws = []
    loop = np.random.default_rng(7)
    for _ in range(2000):
        i = loop.integers(0, len(refs), len(refs))
        draws.append((a[:, i].sum(1) / refs[i].sum()).mean()
                     - (b[:, i].sum(1) / refs[i].sum()).mean())
    low, high = np.percentile(draws, [2.5, 97.5])
    assert out["low"] == pytest.approx(low, abs=0.01)
    assert out["high"] == pytest.approx(high, abs=0.01)
    assert out["low"] < expected < out["high"]


def test_paired_difference_of_identical_rows_is_exactly_zero():
    refs = np.array([3, 4, 5])
    a = np.array([[1, 2, 3]])
    assert paired_difference(a, a, refs, refs, resamples=100) == \
        dict(difference=0.0, low=0.0, high=0.0)
    with pytest.raises(ValueError, match="same test recordings"):
        paired_difference(a, a[:, :2], refs, refs[:2])


def test_verdicts_of_intervals():
    assert verdict(-0.3, -0.1, "below") == "confirmed"
    assert verdict(0.1, 0.3, "below") == "refuted"
    assert verdict(-0.1, 0.3, "above") == "cannot tell"
    assert verdict(0.1, 0.3, "above") == "confirmed"
    with pytest.raises(ValueError, match="'below' or 'above'"):
        verdict(0, 1, "under")


def _write_run(folder, row, seed, error_share, files, scaling="common"):
    """A finished Table 4 run: its history and best_test.json, with
    ``error_share`` of each recording's 10 reference tokens wrong."""
    run = folder / f"{row}-seed{seed}"
    run.mkdir(parents=True)
    errors = [int(round(10 * error_share))] * len(files)
    ter = sum(errors) / (10 * len(files))
    config = {"feats": {"kind": {"lowlevel": "lowlevel",
                                 "snr_gru1": "snr:gru1",
                                 "snr_gru1_bn": "snr:gru1_bn"}[row],
                        "scaling": scaling},
              "training": {"seed": seed, "epochs": 5, "patience": 2}}
    epochs = [dict(epoch=e, train_ter=0.5, val_ter=v, test_ter=ter)
              for e, v in zip(range(1, 5), (0.9, 0.8, 0.85, 0.86))]
    (run / "history.json").write_text(json.dumps(dict(
        config=config, provenance={}, epochs=epochs)))
    reference = [[f, 1.0, 2.0, "dog"] for f in files]
    estimated = reference if error_share < 0.5 else []
    (run / "best_test.json").write_text(json.dumps(dict(
        epoch=2, val_ter=0.8, test_ter=ter, reference=reference,
        estimated=estimated,
        recordings=[dict(filename=f, substitutions=e, deletions=0,
                         insertions=0, reference_tokens=10,
                         decoded_tokens=10) for f, e in zip(files, errors)])))


def test_summary_and_verdicts_from_histories(tmp_path):
    files = [f"r{i}.wav" for i in range(12)]
    for seed, (low, gru, bn) in enumerate([(0.8, 0.3, 0.4), (0.8, 0.3, 0.4),
                                           (0.7, 0.2, 0.3)]):
        _write_run(tmp_path, "lowlevel", seed, low, files, "dimension")
        _write_run(tmp_path, "snr_gru1", seed, gru, files)
        _write_run(tmp_path, "snr_gru1_bn", seed, bn, files)
    runs = collect(tmp_path)
    assert runs["row"].tolist() == ["lowlevel"] * 3 + ["snr_gru1"] * 3 + \
        ["snr_gru1_bn"] * 3
    assert (runs["status"] == "finished").all()
    assert (runs["stop_reason"] == "patience").all()
    # best_test.json: decoded events equal to the reference score F1 1
    assert runs.loc[runs["row"] == "snr_gru1", "event_f1"].tolist() == \
        [1.0] * 3
    assert runs.loc[runs["row"] == "lowlevel", "event_f1"].tolist() == \
        [0.0] * 3
    summary = row_summary(runs).set_index("row")
    assert summary.loc["lowlevel", "best_test_ter_mean"] == \
        pytest.approx((0.8 + 0.8 + 0.7) / 3)
    assert summary.loc["lowlevel", "best_test_ter_std"] == \
        pytest.approx(np.std([0.8, 0.8, 0.7], ddof=1))
    assert summary.loc["snr_gru1", "scaling"] == "common"
    assert summary.loc["lowlevel", "scaling"] == "dimension"
    claims, comparisons = verdicts(tmp_path, runs, resamples=500)
    pairs = comparisons.set_index(["a", "b"])
    # gru1 beats lowlevel on every recording: confirmed; no opensmile row
    assert pairs.loc[("snr_gru1", "lowlevel"), "verdict"] == "confirmed"
    assert pairs.loc[("snr_gru1", "opensmile"), "verdict"] == "not run"
    assert pairs.loc[("snr_gru1", "lowlevel"), "difference"] == \
        pytest.approx(-0.5)
    # batch norm made gru1 worse here: refuted
    assert pairs.loc[("snr_gru1_bn", "snr_gru1"), "verdict"] == "refuted"
    by_claim = claims.set_index("claim")["verdict"]
    assert by_claim.filter(like="after batch norm").tolist() == ["refuted"]
    assert by_claim.filter(like="worse with depth").tolist() == ["not run"]


def test_warmup_verdicts_follow_their_rules():
    import pandas as pd
    from sed.results import warmup_verdicts

    def sweep(low, opensmile, pre, conv5):
        lines = [(row, variant, epoch) for row, variant, epochs in (
            ("lowlevel", "paper", low), ("opensmile", "paper", opensmile),
            ("opensmile", "paper_pretrain", pre),
            ("soundnet8_conv5", "paper", conv5),
            ("lowlevel", "tanh_clipped", (1, 1))) for epoch in epochs]
        return pd.DataFrame(lines, columns=["row", "variant",
                                            "output10_epoch"])
    # The paper's own figures: 60, 40, shorter, almost none.
    paper = warmup_verdicts(sweep((55, 70), (50, 65), (38, 45), (1, 2)))
    assert list(paper["verdict"]) == ["confirmed"] * 4
    measured = warmup_verdicts(sweep((3, 4), (7, 8), (4, 5), (2, 3)))
    assert list(measured["verdict"]) == ["refuted", "refuted", "confirmed",
                                         "cannot tell"]
    assert measured["measured"][3] == "epochs 2-3 (conv5) against 3-4 and 7-8"
    mixed = warmup_verdicts(sweep((20, 40), (50, 65), (90, 100), (9, 9)))
    assert list(mixed["verdict"]) == ["cannot tell", "refuted", "refuted",
                                      "confirmed"]


def test_warmup_verdicts_of_the_committed_sweep():
    from sed.results import warmup_verdicts
    table = warmup_verdicts()
    assert len(table) == 4 and set(table["verdict"]) <= {
        "confirmed", "refuted", "cannot tell"}


def test_readme_headline_gives_table4_verdicts_once_every_run_finished(
        tmp_path, monkeypatch):
    from conftest import load_script
    from sed.experiments import table4_row
    docs = load_script("docs_table4")
    monkeypatch.setattr(docs, "TABLE4", tuple(
        table4_row(r) for r in ("lowlevel", "snr_gru1", "snr_gru1_bn")))
    files = [f"r{i}.wav" for i in range(12)]
    for seed in range(3):
        _write_run(tmp_path, "lowlevel", seed, 0.8, files, "dimension")
        _write_run(tmp_path, "snr_gru1", seed, 0.3, files)
        if seed < 2:
            _write_run(tmp_path, "snr_gru1_bn", seed, 0.4, files)
    text = docs.headline(tmp_path)
    assert "so far (8 of 9 runs finished" in text
    assert "get their verdicts when all its runs have finished" in text
    assert "after batch norm: **" not in text
    _write_run(tmp_path, "snr_gru1_bn", 2, 0.4, files)
    text = docs.headline(tmp_path)
    assert "Table 4 at convergence (9 of 9 runs finished" in text
    assert "SN-R's features are better after batch norm: **refuted** " \
        "(0 confirmed, 1 refuted, 0 cannot tell)" in text
    assert "so far" not in text


def test_a_run_still_training_stays_out_of_the_comparisons(tmp_path):
    files = [f"r{i}.wav" for i in range(12)]
    _write_run(tmp_path, "lowlevel", 0, 0.8, files, "dimension")
    _write_run(tmp_path, "snr_gru1", 0, 0.3, files)
    _write_run(tmp_path, "snr_gru1", 1, 0.9, files)     # then unfinished:
    history = tmp_path / "snr_gru1-seed1" / "history.json"
    record = json.loads(history.read_text())
    record["epochs"] = record["epochs"][:2]     # no 15 epochs of patience
    history.write_text(json.dumps(record))
    runs = collect(tmp_path)
    assert runs.set_index("run").loc["snr_gru1-seed1", "status"] == "running"
    _, comparisons = verdicts(tmp_path, runs, resamples=200)
    pair = comparisons.set_index(["a", "b"]).loc[("snr_gru1", "lowlevel")]
    assert pair["difference"] == pytest.approx(0.3 - 0.8)
