"""The generated regions on Table 4 (see ``scripts/write_docs.py``): the
first, 20-epoch Table 4 of ``docs/reproduction.md``
(``notebooks/histories/table4_20epochs``, :func:`sed.experiments.table4`:
the table and what to read in it with care, against the warm-up sweep and
the seeds' spread) and the results of ``README.md``, Table 4 at
convergence so far (``notebooks/histories/table4``,
:func:`sed.results.row_summary`) with the verdicts on the paper's warm-up
claims (:func:`sed.results.warmup_verdicts`). The paper's numbers come from
:data:`sed.experiments.TABLE4`.
"""

import sys
from pathlib import Path
from statistics import mean

ROOT = Path(__file__).resolve().parent.parent
for _folder in (ROOT, ROOT / "scripts"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from experiment_runs import (C5, LL, OS, epoch_span, marks,  # noqa: E402
                             paper_ter, seed_spread, sweep_histories,
                             t4_epochs, t4_table, versus, versus_all)
from prose import say, span  # noqa: E402
from sed.experiments import SNR_POOL5, TABLE4, table4_row  # noqa: E402


#: Near silent: the training decoding holds fewer tokens than this share of
#: the reference (the warm-up's near-silent stage).
SILENT = 0.1


def _silent_share(row):
    """A 20-epoch run's training decoding, tokens over the reference's."""
    last = t4_epochs(row)[-1]
    return last["train_decoded_tokens"] / last["train_reference_tokens"]


def _short(row):
    return table4_row(row).label.replace(" (from scratch)", "").split()[-1]


def _read_with_care():
    t, s = t4_table(), seed_spread()
    val, test, train, best = (t.best_val_ter, t.best_test_ter, t.train_ter,
                              t.best_epoch)
    vt = {r: f"{val[r]:.3f} / {test[r]:.3f}" for r in t.index}
    paper = {r: f"{paper_ter(r, 1)} / {paper_ter(r, 2)}" for r in t.index}
    main = [r.name for r in TABLE4 if r.name in t.index]
    transfer = [r for r in main if r not in (LL, OS)]
    silent = [r for r in t.index if _silent_share(r) < SILENT]
    heard = [r for r in transfer if r not in silent]
    scratch = [r for r in t.index if r.endswith("_scratch")]
    snf = ["snf_pool5", "snf_fc1", "snf_fc2", "snf_fc3"]
    snr = ["snr_pool5", "snr_gru1", "snr_gru1_bn"]
    far = [r for r in snf if val[r] > table4_row(r).paper[1] / 100 + s
           or test[r] > table4_row(r).paper[2] / 100 + s]
    same = all(a[k] == b[k] for a, b in zip(t4_epochs("snf_pool5"),
                                            t4_epochs("snr_pool5"))
               for k in ("train_loss", "train_ter", "val_ter", "test_ter"))
    rows = {r.name: r for r in TABLE4 + (SNR_POOL5,)}
    c5, ll = (marks(r, "best_val_ter") for r in (C5, LL))

    def repeats(row):     # the same TERs as the sweep's seed 0, each epoch
        theirs = sweep_histories()[f"{row}-paper-seed0"]["epochs"]
        return "the same TERs in each of its epochs" if all(
            a[f"{k}_ter"] == b[f"{k}_ter"] for a, b in zip(
                t4_epochs(row), theirs) for k in ("train", "val", "test")) \
            else "not the same TERs"

    def vals(names, suffix=""):
        return " / ".join(f"{val[r + suffix]:.3f}" for r in names)

    def words(xs, ys):
        return versus_all([(val[x], val[y]) for x in xs for y in ys])
    gaps = [abs(val[x] - val[y]) for i, x in enumerate(main)
            for y in main[i + 1:]]
    closest = min((r for r in transfer if r != C5), key=val.get)
    deeper = words(("snr_gru2", "snr_gru2_bn"), ("snr_gru1", "snr_gru1_bn"))
    n = t.epochs[scratch[0]]
    return [say(*item) for item in [
        ("""All rows ran {} epochs; under this recipe the warm-up sweep's best
         validation epochs were {} for conv5 and the low-level feature. SN-F
         pool5 and SN-R pool5, one run made twice, are {}.""",
         epoch_span(t.epochs), epoch_span(marks(C5, "best_epoch")
                                          + marks(LL, "best_epoch")),
         "identical in every epoch" if same else "not identical"),
        ("""The SN-F rows at their best validation epoch, validation / test
         TER (the paper's in brackets): {}: {} at or below the paper's, or
         within the seeds' spread above it, in both{}.""",
         ", ".join(f"{_short(r)} {vt[r]} ({paper[r]})" for r in snf),
         ", ".join(_short(r) for r in snf if r not in far),
         "" if not far else "; " + " and ".join(
             f"{_short(r)} {test[r] - table4_row(r).paper[2] / 100:.3f}"
             for r in far) + " above it in test TER"),
        ("""gru1-BN, the paper's best validation row ({}), reaches {} and gru1
         {}: {} SN-F fc1 ({:.3f}) and SoundNet conv5 ({:.3f}) in validation
         TER.""", paper[min(rows, key=lambda r: rows[r].paper[1])],
         vt["snr_gru1_bn"], vt["snr_gru1"],
         words(("snr_gru1_bn", "snr_gru1"), ("snf_fc1", C5)),
         val["snf_fc1"], val[C5]),
        ("""The paper's SN-R pattern {}: gru2 and gru2-BN are {} gru1 and
         gru1-BN (best validation {:.3f} and {:.3f}; the paper {} and {}), and
         at gru3 the features carry almost nothing a detector can use: gru3
         and gru3-BN stay near silent (best validation {}, training TER {}
         after {} epochs, the training recordings decoded to {}% of the
         reference tokens; the paper {} and {}), as Figure 3's gru3-BN drifts
         across the recording with no step at a change.""",
         "reproduces" if deeper == "behind" else "does not reproduce",
         deeper, val["snr_gru2"], val["snr_gru2_bn"], paper_ter("snr_gru2", 1),
         paper_ter("snr_gru2_bn", 1), span(val[["snr_gru3", "snr_gru3_bn"]]),
         span(train[["snr_gru3", "snr_gru3_bn"]], ".2f"), n,
         span([100 * _silent_share(r) for r in ("snr_gru3", "snr_gru3_bn")],
              ".1f"), paper_ter("snr_gru3", 1), paper_ter("snr_gru3_bn", 1)),
        ("""SoundNet conv5, the paper's best test row ({}), reaches {:.3f}
         validation / {:.3f} test at its best epoch ({}): {} the students'
         best rows and, with this seed, {} the low-level feature ({:.3f}). The
         warm-up sweep ran the same config for {} epochs with two seeds: seed
         0 is this run ({}), seed 1 reaches {:.3f} at epoch {}, and over the
         two seeds conv5 ({:.3f}) is {} the low-level feature ({:.3f}). Seeds
         move a row's best validation TER by up to {:.3f}, as much as or more
         than {} of the {} gaps between two of the paper's rows here: one
         seed per row cannot rank rows closer than that.""",
         paper[min(rows, key=lambda r: rows[r].paper[2])], val[C5], test[C5],
         best[C5], words((C5,), ("snf_fc1", "snr_gru1_bn")),
         versus(val[C5], val[LL]), val[LL], marks(C5, "epochs")[0],
         repeats(C5), c5[1], marks(C5, "best_epoch")[1], mean(c5),
         versus(mean(c5), mean(ll)), mean(ll), s, sum(g <= s for g in gaps),
         len(gaps)),
        ("""Unlike the paper, {} student row has a lower best validation TER
         than the low-level feature: it reaches {} at epoch {} (the paper {}),
         and the closest, {} ({}), is {} it. Its run has the warm-up sweep's
         config and seed 0 and gives {} as that run.""",
         "no" if val[closest] > val[LL] else "a", vt[LL], best[LL],
         paper[LL], table4_row(closest).label, vt[closest],
         versus(val[closest], val[LL]), repeats(LL)),
        ("""After {} epochs the training TER of the transfer rows that are not
         near silent is {} (SN-F fc1 {:.2f}, SN-R gru1-BN {:.2f}, pool5
         {:.2f}) and {:.2f} for the low-level feature; the paper's, after its
         full training, are {}% for those rows and {} for the low-level
         feature.""", n, span(train[heard], ".2f"), train["snf_fc1"],
         train["snr_gru1_bn"], train["snf_pool5"], train[LL],
         span([rows[r].paper[0] for r in heard], ".1f"), paper_ter(LL, 0)),
        ("""The from-scratch students' features are behind the
         pretrained-trunk students' in every row but {} (where both are near
         silent), in best validation TER at the same {} epochs: SN-F pool5 /
         fc1 / fc2 / fc3 {} (trunk {}), SN-R pool5 / gru1 / gru1-BN {} (trunk
         {}), all {} the low-level feature. SN-R's collapse comes one layer
         earlier than in the paper: gru2 and gru2-BN are near silent already
         ({}), gru3 and gru3-BN too ({}). They also learn more slowly:
         training TER {} after {} epochs (the trunk rows {}), and {} of the {}
         rows had their best validation epoch at one of the last two, so {}
         epochs understate them.""",
         " and ".join(table4_row(r).label for r in transfer[1:]
                      if versus(val[f"{r}_scratch"], val[r]) != "behind"),
         n, vals(snf, "_scratch"), vals(snf), vals(snr, "_scratch"),
         vals(snr), words(scratch, (LL,)),
         ", ".join(f"{val[r]:.3f}" for r in scratch
                   if r in silent and "gru2" in r),
         span([val[r] for r in scratch if "gru3" in r]),
         span([train[r] for r in scratch if r not in silent], ".2f"), n,
         span(train[[r for r in heard if r != C5]], ".2f"),
         sum(best[r] >= t.epochs[r] - 1 for r in scratch), len(scratch), n)]]


def table4_20epochs():
    from write_docs import table4_lines
    return "\n".join(table4_lines()) + "\n\nRead with care:\n" + "\n".join(
        "- " + b for b in _read_with_care())


def _inline(sentence):
    """A sentence's start lower-cased for the middle of another, unless it
    starts with a name ("SN-R's ...")."""
    return sentence[0].lower() + sentence[1:] if sentence[1:2].islower() \
        else sentence


def headline(histories=None):
    """The README's results: Table 4 at convergence, one line per row with
    a published run (:func:`sed.results.row_summary` of the committed
    histories, or of ``histories``), the paper's beside it; the warm-up
    claims' verdicts, and Table 4's once every run has finished."""
    from sed.experiments import TABLE4_PATIENCE, TABLE4_SEEDS
    from sed.results import (CONFIDENCE, collect, row_summary, verdicts,
                             warmup_verdicts)
    runs = collect(histories)
    total = len(TABLE4) * len(TABLE4_SEEDS)
    done = int((runs["status"] == "finished").sum())
    complete = done == total
    lines = [say("""Table 4 at convergence{} ({} of {} runs finished;
                  each row: three seeds, the paper's recipe, stopped after
                  {} epochs without a better validation TER): TER in
                  percent, mean (and standard deviation) over the seeds
                  published, at each run's best validation epoch.""",
                 "" if complete else " so far", done, total,
                 TABLE4_PATIENCE), "",
             "| feature | runs (finished) | best val TER | test TER at best "
             "| paper val / test |", "|---|---:|---:|---:|---:|"]
    for line in row_summary(runs).itertuples():
        paper = table4_row(line.row).paper

        def pct(mean, std):
            return f"{100 * mean:.1f}" + (
                "" if std != std else f" ({100 * std:.1f})")
        lines.append(
            f"| {line.label} | {line.seeds} ({line.finished}) | "
            f"{pct(line.best_val_ter_mean, line.best_val_ter_std)} | "
            f"{pct(line.best_test_ter_mean, line.best_test_ter_std)} | "
            f"{paper[1]:.1f} / {paper[2]:.1f} |")
    lines += ["", "The paper's warm-up claims, judged on the warm-up "
              "experiment (two seeds per configuration): " + "; ".join(
                  f"{_inline(c.claim)}: **{c.verdict}** ({c.measured})"
                  for c in warmup_verdicts().itertuples())
              + "."]
    if complete:
        claims, _ = verdicts(histories, runs)
        lines += ["", "The paper's Table 4 claims, judged on the test TER "
                  f"at the best validation epoch (a {100 * CONFIDENCE:.0f}% "
                  "interval from a paired bootstrap over the test "
                  "recordings for each comparison; [the Table 4 page]"
                  "(docs/table4.md) lists "
                  "them): " + "; ".join(
                      f"{_inline(c.claim)}: **{c.verdict}** "
                      f"({c.confirmed} confirmed, {c.refuted} refuted, "
                      f"{c.cannot_tell} cannot tell)"
                      for c in claims.itertuples()) + "."]
    else:
        lines[-1] += (" The Table 4 claims get their verdicts when all its "
                      "runs have finished; [the Table 4 page](docs/table4.md)"
                      " shows the comparisons so far.")
    return "\n".join(lines)


#: region name -> function returning its Markdown.
REGIONS = {
    "results-table4-20epochs": table4_20epochs,
    "results-headline": headline,
}
