"""Table 4's results over seeds: summaries, paired bootstrap intervals and
verdicts on the paper's claims, computed from the committed histories.

Every Table 4 run keeps, beside its history, the test split's outcome at
its best validation epoch (``best_test.json``, :func:`sed.train.split_outcome`):
per recording the token errors, and the decoded and reference events. From
these alone:

* :func:`run_metrics`: a run's test TER at its best validation epoch and
  sed_eval's event-based and segment-based F1 and error rate
  (:func:`sed.metrics.event_metrics`);
* :func:`row_summary`: per row, the mean and the standard deviation over
  seeds of the best validation TER, the test TER at the best validation
  epoch and at the last epoch, and the test F1 / ER;
* :func:`paired_difference`: the difference of two rows' test TER (each
  the mean over its seeds) with a 95% interval from a paired bootstrap
  over test recordings (both rows see the same resampled recordings);
* :func:`verdicts`: each of the paper's claims, "confirmed", "refuted" or
  "cannot tell" at 95%, with the numbers it rests on.

Example:
    >>> counts = {"a": np.array([[2, 1, 3]]), "b": np.array([[3, 3, 4]])}
    >>> refs = np.array([4, 4, 4])
    >>> d = paired_difference(counts["a"], counts["b"], refs, refs,
    ...                       resamples=200)
    >>> round(d["difference"], 3), d["low"] < 0
    (-0.333, True)
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd

#: Resamples of the paired bootstrap.
RESAMPLES = 10000

#: The confidence of every interval.
CONFIDENCE = 0.95

#: The test metrics of a run at its best validation epoch
#: (:func:`run_metrics`).
METRICS = ("test_ter", "event_f1", "event_error_rate", "segment_f1_1s",
           "segment_error_rate_1s")


def load_best(run_dir):
    """A run's ``best_test.json`` (None where it has none)."""
    path = Path(run_dir) / "best_test.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _events(rows):
    return pd.DataFrame(rows, columns=["filename", "onset", "offset",
                                       "event_label"])


def run_metrics(best):
    """Test metrics of one run at its best validation epoch
    (:data:`METRICS`) from its ``best_test.json`` record."""
    from .metrics import event_metrics
    reference, estimated = _events(best["reference"]), \
        _events(best["estimated"])
    classes = sorted(set(reference["event_label"]) |
                     set(estimated["event_label"]))
    scores = event_metrics(reference, estimated, classes)
    return dict(test_ter=best["test_ter"],
                **{key: scores[key] for key in METRICS[1:]})


def recording_counts(best):
    """``(errors, reference_tokens)`` per test recording, in filename
    order, of a ``best_test.json`` record."""
    recs = sorted(best["recordings"], key=lambda r: r["filename"])
    errors = np.array([r["substitutions"] + r["deletions"] + r["insertions"]
                       for r in recs])
    refs = np.array([r["reference_tokens"] for r in recs])
    return [r["filename"] for r in recs], errors, refs


def paired_difference(errors_a, errors_b, refs_a, refs_b,
                      resamples=RESAMPLES, seed=0):
    """Row A's test TER minus row B's, with a paired bootstrap interval.

    Args:
        errors_a, errors_b: ``(seeds, recordings)`` token errors of each
            row's runs (at their best validation epochs), recordings in the
            same order for both.
        refs_a, refs_b: the reference tokens of each recording.
        resamples: bootstrap resamples of the test recordings (drawn with
            replacement; the same draw for both rows).

    Returns:
        A dict: ``difference`` (the TER of A minus B, each the mean over
        its seeds of the pooled TER), ``low`` and ``high`` (the 2.5% and
        97.5% percentiles of the resampled differences).
    """
    errors_a, errors_b = np.atleast_2d(errors_a), np.atleast_2d(errors_b)
    refs_a, refs_b = np.asarray(refs_a, float), np.asarray(refs_b, float)
    if errors_a.shape[1] != errors_b.shape[1] or \
            errors_a.shape[1] != len(refs_a) or len(refs_a) != len(refs_b):
        raise ValueError("both rows need the same test recordings")
    n = errors_a.shape[1]
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=resamples)

    def ter(errors, refs, w):
        return ((w @ errors.T) / (w @ refs)[:, None]).mean(axis=1)
    one = np.ones((1, n))
    point = float(ter(errors_a, refs_a, one)[0] - ter(errors_b, refs_b,
                                                     one)[0])
    draws = ter(errors_a, refs_a, weights) - ter(errors_b, refs_b, weights)
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return dict(difference=point, low=float(low), high=float(high))


def verdict(low, high, expect):
    """"confirmed" when the interval lies wholly on the side ``expect``
    says (``"below"``: A lower than B, i.e. better for an error rate;
    ``"above"``), "refuted" when wholly on the other side, else "cannot
    tell".

    Example:
        >>> verdict(-0.05, -0.01, "below"), verdict(-0.05, 0.01, "below")
        ('confirmed', 'cannot tell')
    """
    below, above = high < 0, low > 0
    if expect == "below":
        return "confirmed" if below else "refuted" if above else \
            "cannot tell"
    if expect == "above":
        return "confirmed" if above else "refuted" if below else \
            "cannot tell"
    raise ValueError(f"expect must be 'below' or 'above'. Received {expect!r}")


def collect(histories=None):
    """Every Table 4 run of a histories folder (default the committed one):
    :func:`sed.experiments.table4`'s lines with the test metrics at the
    best validation epoch (:func:`run_metrics`; NaN where the run has no
    ``best_test.json``)."""
    from .experiments import COMMITTED_HISTORIES, table4
    histories = Path(histories or COMMITTED_HISTORIES)
    table = table4(histories)
    extra = []
    for run in table["run"]:
        best = load_best(histories / run)
        extra.append(run_metrics(best) if best else dict.fromkeys(METRICS))
    metrics = pd.DataFrame(extra, index=table.index,
                           columns=list(METRICS)).drop(
        columns="test_ter").astype(float)
    return pd.concat([table, metrics], axis=1)


#: The quantities :func:`row_summary` gives mean and spread of.
SUMMARY = ("best_val_ter", "best_test_ter", "test_ter", "event_f1",
           "event_error_rate", "segment_f1_1s", "segment_error_rate_1s")


def row_summary(runs):
    """Per row (in the table's order): ``seeds`` (runs), ``finished``, the
    ``scaling``, and for each of :data:`SUMMARY` its mean and its standard
    deviation over seeds (``<name>_mean``, ``<name>_std``; ddof 1, NaN for
    one seed). ``test_ter`` is the last epoch's, ``best_test_ter`` the
    best validation epoch's. ``runs``: :func:`collect`'s table."""
    lines = []
    for row, group in runs.groupby("row", sort=False):
        line = dict(row=row, label=group["label"].iloc[0],
                    scaling=group["scaling"].iloc[0], seeds=len(group),
                    finished=int((group["status"] == "finished").sum()),
                    epochs_mean=float(group["epochs"].mean()))
        for name in SUMMARY:
            values = group[name].astype(float)
            line[f"{name}_mean"] = float(values.mean())
            line[f"{name}_std"] = float(values.std(ddof=1)) \
                if values.notna().sum() > 1 else float("nan")
        lines.append(line)
    return pd.DataFrame(lines)


def _row_counts(histories, runs, row):
    """``(filenames, errors (seeds, recordings), refs)`` of a row's runs,
    or None where a run lacks its best epoch's outcome."""
    names, errors, refs = None, [], None
    for run in runs.loc[runs["row"] == row, "run"]:
        best = load_best(Path(histories) / run)
        if best is None:
            return None
        files, e, r = recording_counts(best)
        if names is not None and files != names:
            raise ValueError(f"{run}: other test recordings than its row's "
                             "first run")
        names, refs = files, r
        errors.append(e)
    return (names, np.array(errors), refs) if errors else None


#: The paper's claims on Table 4 as comparisons of rows' test TER (at the
#: best validation epoch): ``(claim, [(row A, row B, expect)])``, where
#: ``expect`` says on which side of zero A minus B should lie.
TRANSFER = ("soundnet8_conv5", "snf_pool5", "snf_fc1", "snf_fc2", "snf_fc3",
            "snr_gru1", "snr_gru1_bn", "snr_gru2", "snr_gru2_bn")
LOW_LEVEL = ("lowlevel", "opensmile")
CLAIMS = (
    ("Transfer features (all but SN-R gru3) have a lower test TER than "
     "low-level features",
     [(a, b, "below") for a in TRANSFER for b in LOW_LEVEL]),
    ("SN-F's fc layers beat the low-level features but not SoundNet conv5",
     [(a, b, "below") for a in ("snf_fc1", "snf_fc2", "snf_fc3")
      for b in LOW_LEVEL]
     + [(a, "soundnet8_conv5", "above")
        for a in ("snf_fc1", "snf_fc2", "snf_fc3")]),
    ("SN-R's features get worse with depth",
     [("snr_gru2", "snr_gru1", "above"), ("snr_gru3", "snr_gru2", "above"),
      ("snr_gru2_bn", "snr_gru1_bn", "above"),
      ("snr_gru3_bn", "snr_gru2_bn", "above")]),
    ("SN-R's features are better after batch norm",
     [(f"snr_gru{k}_bn", f"snr_gru{k}", "below") for k in (1, 2, 3)]),
)


def verdicts(histories=None, runs=None, resamples=RESAMPLES):
    """Each claim of :data:`CLAIMS` judged at 95%.

    Returns:
        ``(claims, comparisons)``: DataFrames. ``comparisons``: one line per
        pair of rows (``claim``, ``a``, ``b``, ``expect``, ``difference``,
        ``low``, ``high`` of A's test TER minus B's over the rows'
        finished runs, ``verdict``; "not run" where a row has no finished
        run with its best epoch's outcome);
        ``claims``: ``claim``, ``verdict`` ("confirmed" when every
        comparison is, "refuted" when any is, "cannot tell" otherwise,
        "not run" when no comparison could be made), and the counts.
    """
    from .experiments import COMMITTED_HISTORIES
    histories = Path(histories or COMMITTED_HISTORIES)
    runs = collect(histories) if runs is None else runs
    done = runs[runs["status"] == "finished"]     # not a run in progress
    counts = {row: _row_counts(histories, done, row)
              for row in dict.fromkeys(done["row"])}
    comparisons, claims = [], []
    for claim, pairs in CLAIMS:
        found = []
        for a, b, expect in pairs:
            line = dict(claim=claim, a=a, b=b, expect=expect,
                        difference=np.nan, low=np.nan, high=np.nan,
                        verdict="not run")
            if counts.get(a) and counts.get(b):
                (files_a, err_a, ref_a), (files_b, err_b, ref_b) = \
                    counts[a], counts[b]
                if files_a != files_b:
                    raise ValueError(f"{a} and {b} were tested on other "
                                     "recordings")
                line.update(paired_difference(err_a, err_b, ref_a, ref_b,
                                              resamples))
                line["verdict"] = verdict(line["low"], line["high"], expect)
            found.append(line)
        made = [f["verdict"] for f in found if f["verdict"] != "not run"]
        overall = "not run" if not made else "refuted" if "refuted" in made \
            else "confirmed" if all(v == "confirmed" for v in made) and \
            len(made) == len(found) else "cannot tell"
        claims.append(dict(claim=claim, verdict=overall,
                           confirmed=made.count("confirmed"),
                           refuted=made.count("refuted"),
                           cannot_tell=made.count("cannot tell"),
                           not_run=len(found) - len(made)))
        comparisons += found
    return pd.DataFrame(claims), pd.DataFrame(comparisons)


#: The paper's warm-up (Figure 2 and its text): the epochs in which the
#: CTC-RNN outputs nothing with low-level features, with frame-wise
#: pre-training first, and with transfer features ("almost none").
PAPER_WARMUP = dict(low_level=60, pretrained=40, transfer=0)


def _length_verdict(epochs, paper):
    """A length claim: "confirmed" when every run's warm-up lies within a
    factor of two of the paper's, "refuted" when none does."""
    inside = [paper / 2 <= e <= paper * 2 for e in epochs]
    return "confirmed" if all(inside) else "refuted" if not any(inside) \
        else "cannot tell"


def _order_verdict(shorter, longer):
    """An order claim: "confirmed" when every run of ``shorter`` ends its
    warm-up before every run of ``longer``, "refuted" when every one after,
    else "cannot tell" (the seeds overlap)."""
    if max(shorter) < min(longer):
        return "confirmed"
    return "refuted" if min(shorter) > max(longer) else "cannot tell"


def warmup_verdicts(sweep=None):
    """The paper's warm-up claims judged on the warm-up sweep's runs under
    the paper's recipe (:func:`sed.experiments.sweep_table`, default the
    committed one): a run's warm-up ends at its ``output10_epoch``, the
    first epoch whose decoding of the training recordings holds 10% as many
    tokens as their reference.

    With two seeds a configuration has no interval: a length claim is
    confirmed when every run lies within a factor of two of the paper's
    figure and refuted when none does; an order claim is confirmed when the
    seeds' ranges do not overlap in the paper's direction, refuted when they
    do not overlap the other way, else cannot tell.

    Returns:
        A DataFrame: ``claim``, ``paper``, ``measured``, ``verdict``.
    """
    from .experiments import COMMITTED_SWEEPS, sweep_table
    sweep = sweep_table(COMMITTED_SWEEPS) if sweep is None else sweep

    def ends(row, variant="paper"):
        found = sweep[(sweep["row"] == row) & (sweep["variant"] == variant)]
        return [int(v) for v in found["output10_epoch"].dropna()]
    low = {"lowlevel": ends("lowlevel"), "opensmile": ends("opensmile")}
    pre, conv5 = ends("opensmile", "paper_pretrain"), ends("soundnet8_conv5")

    def span(values):
        return f"{min(values)}-{max(values)}" if min(values) != max(values) \
            else f"{values[0]}"
    lines = [
        ("With low-level features the CTC-RNN has a warm-up of about "
         f"{PAPER_WARMUP['low_level']} epochs",
         f"{PAPER_WARMUP['low_level']} epochs",
         f"epochs {span(low['lowlevel'])} (this project's low-level), "
         f"{span(low['opensmile'])} (openSMILE)",
         _length_verdict(low["lowlevel"] + low["opensmile"],
                         PAPER_WARMUP["low_level"])),
        (f"Frame-wise pre-training shortens it to about "
         f"{PAPER_WARMUP['pretrained']} epochs",
         f"{PAPER_WARMUP['pretrained']} epochs",
         f"epochs {span(pre)} (openSMILE, pre-trained)",
         _length_verdict(pre, PAPER_WARMUP["pretrained"])),
        ("Frame-wise pre-training shortens the warm-up",
         "shorter", f"epochs {span(pre)} against {span(low['opensmile'])} "
         "(openSMILE)", _order_verdict(pre, low["opensmile"])),
        ("With transfer features the warm-up is almost none (shorter than "
         "with low-level features)", "almost none",
         f"epochs {span(conv5)} (conv5) against {span(low['lowlevel'])} "
         f"and {span(low['opensmile'])}",
         _combine([_order_verdict(conv5, v) for v in low.values()])),
    ]
    return pd.DataFrame(lines, columns=["claim", "paper", "measured",
                                        "verdict"])


def _combine(found):
    """A claim's verdict from its comparisons' (as :func:`verdicts`)."""
    return "refuted" if "refuted" in found else "confirmed" \
        if all(v == "confirmed" for v in found) else "cannot tell"


__all__ = ["CLAIMS", "CONFIDENCE", "METRICS", "PAPER_WARMUP", "RESAMPLES",
           "SUMMARY", "collect", "load_best", "paired_difference",
           "recording_counts", "row_summary", "run_metrics", "verdict",
           "verdicts", "warmup_verdicts"]
