"""The generated regions of ``docs/reproduction.md`` and
``docs/deviations.md``: every measured number on them, made from the
committed histories and results (see ``scripts/write_docs.py``).

Sources: the warm-up sweep (``notebooks/histories/warmup``,
:func:`sed.experiments.sweep_table`), the first, 20-epoch Table 4
(``notebooks/histories/table4_20epochs``, :func:`sed.experiments.table4`),
the corpus v2 runs (``notebooks/histories/corpus_v2``) and their corpus v1
predecessors (``notebooks/histories/corpus_v1``, taken from commit
``dc1567b805``, where they were Table 4's rows), the students' distillation histories
(``weights/histories``), the contrasts the Figure 3 notebook
prints, and ``benchmarks/results`` (the stand-in corpora, the learning-rate
divergence). The paper's numbers come from :data:`sed.experiments.TABLE4`,
:data:`soundnet_keras.cards.PAPER_EPOCHS` and
:data:`soundnet_keras.plots.PAPER_VAL_KL`.

A gap between two runs is read against :func:`seed_spread`, the largest
difference between two seeds of one configuration in the warm-up sweep: a
smaller gap is called level (:func:`versus`).
"""

import json
import re
import sys
from functools import lru_cache
from pathlib import Path
from statistics import mean, median

ROOT = Path(__file__).resolve().parent.parent
for _folder in (ROOT, ROOT / "scripts"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from sed.experiments import (COMMITTED_SWEEPS, SNR_POOL5, TABLE4,  # noqa: E402
                             TABLE4_20EPOCHS, sweep_table, table4, table4_row,
                             warmup_marks)

HISTORIES = ROOT / "notebooks" / "histories"
RESULTS = ROOT / "benchmarks" / "results"
PRESET_HISTORIES = ROOT / "weights" / "histories"
#: The features of the corpus comparison, and of the warm-up sweep in prose.
PAIR = {"lowlevel": "low-level", "soundnet8_conv5": "conv5"}
NAME = {"soundnet8_conv5": "conv5", "lowlevel": "the low-level feature",
        "opensmile": "openSMILE"}
C5, LL, OS = NAME
RECIPE = {"paper": "the paper's recipe", "tanh_clipped": "tanh + clipping",
          "paper_pretrain": "the paper's recipe with pre-training"}
#: Near silent: the training decoding holds fewer tokens than this share of
#: the reference (the warm-up's near-silent stage).
SILENT = 0.1


def _say(template, *args, **values):
    """``template`` (wrapped prose with ``{fields}``) filled, on one line."""
    return " ".join(template.split()).format(*args, **values)


def _json(path):
    return json.loads(Path(path).read_text())


def _span(values, fmt="{:.3f}"):
    """``lo-hi`` of ``values`` as ``fmt`` writes them (one if equal)."""
    lo, hi = fmt.format(min(values)), fmt.format(max(values))
    return lo if lo == hi else f"{lo}-{hi}"


def _epochs(values):
    return _span(values, "{:.0f}")


def _paper(row, i):
    return f"{table4_row(row).paper[i]:.1f}%"


def _v1(name, file):
    return _json(HISTORIES / "corpus_v1" / name / file)


def _v2(name, file):
    return _json(HISTORIES / "corpus_v2" / name / file)


@lru_cache(None)
def _corpus_runs():
    """``{(corpus, row): (epoch rows, {split: evaluation metrics})}``."""
    return {(v, n): (load(n, "history.json")["epochs"],
                     {m["split"]: m for m in
                      load(n, "evaluation.json")["metrics"]})
            for v, load in (("v1", _v1), ("v2", _v2)) for n in PAIR}


@lru_cache(None)
def _sweep():
    return sweep_table(COMMITTED_SWEEPS)


def _marks(row, column, variant="paper"):
    """A warm-up sweep column over the seeds of one configuration."""
    t = _sweep()
    return list(t[(t.row == row) & (t.variant == variant)][column])


@lru_cache(None)
def _sweep_histories():
    return {p.parent.name: _json(p)
            for p in sorted(COMMITTED_SWEEPS.glob("*/history.json"))}


def _spreads():
    groups = _sweep().groupby(["row", "variant"])["best_val_ter"]
    return groups.max() - groups.min()


def seed_spread():
    """The largest difference in best validation TER between two seeds of
    one configuration (feature and recipe) of the warm-up sweep."""
    return float(_spreads().max())


def versus(a, b):
    """How a run of TER ``a`` stands to one of TER ``b``: ``level with``
    within :func:`seed_spread`, else ``ahead of`` (lower) or ``behind``."""
    if abs(a - b) <= seed_spread():
        return "level with"
    return "ahead of" if a < b else "behind"


def _words(pairs):
    """:func:`versus` over ``[(a, b)]``: one word if all agree."""
    words = sorted({versus(a, b) for a, b in pairs})
    return words[0] if len(words) == 1 else "partly " + ", partly ".join(words)


@lru_cache(None)
def _t4():
    return table4(TABLE4_20EPOCHS).set_index("row")


def _t4_epochs(row):
    return _json(TABLE4_20EPOCHS / f"{row}-seed0" / "history.json")["epochs"]


def _silent_share(row):
    """A 20-epoch run's training decoding, tokens over the reference's."""
    last = _t4_epochs(row)[-1]
    return last["train_decoded_tokens"] / last["train_reference_tokens"]


def _unclipped_grad_norms():
    """The largest gradient norm of the sweep's runs without clipping in
    the first epoch and after it."""
    runs = [r["epochs"] for r in _sweep_histories().values()
            if r["config"]["opt"].get("clipnorm") is None]
    return (max(e[0]["grad_norm_max"] for e in runs),
            max(r["grad_norm_max"] for e in runs for r in e[1:]))


def seed_spread_region():
    row, variant = _spreads().idxmax()
    return _say("""Gaps between runs are read against the seeds' spread: the
        largest difference in best validation TER between two seeds of one
        configuration in the warm-up sweep below, {s:.3f} ({row}, {recipe}).
        A smaller gap is reported as level: it cannot rank two runs.""",
                s=seed_spread(), row=NAME[row], recipe=RECIPE[variant])


def corpus_v1():
    corpus = _json(RESULTS / "standin_corpus_v1.json")["summary"]
    runs = _corpus_runs()
    (ll, ll_ev), (c5, c5_ev) = runs["v1", LL], runs["v1", C5]
    val, test = (ll[-1]["val_ter"], c5[-1]["val_ter"]), \
        (ll_ev["test"]["ter"], c5_ev["test"]["ter"])
    return _say("""The first comparison of the two rows the paper's claim is
        about ran on the stand-in corpus v1 (about {minutes:.0f} minutes of
        distinct material), {epochs} epochs each, with tanh and gradient
        clipping: neither feature had a warm-up (training TER {ll1:.3f} with
        the low-level feature and {c51:.3f} with conv5 after the first epoch,
        where an all-blank output scores 1), and the low-level feature ended
        {word} conv5 in validation and test TER ({v[0]:.3f} / {t[0]:.3f}
        against {v[1]:.3f} / {t[1]:.3f}; event F1 on the test split
        {f[0]:.3f} against {f[1]:.3f}).""",
                minutes=sum(c[f"material_{s}_s"] for c in corpus
                            for s in ("train", "val", "test")) / 60,
                epochs=len(ll), ll1=ll[0]["train_ter"],
                c51=c5[0]["train_ter"], v=val, t=test,
                word=_words([val, test]),
                f=(ll_ev["test"]["event_f1"], c5_ev["test"]["event_f1"]))


def corpus_v2_runs():
    records = [_v2(n, "history.json") for n in PAIR]
    return _say("""The two rows ran as two processes, one thread each, on
        {cpus} cores shared with other jobs ({times} s an epoch).""",
                cpus=_span({r["provenance"]["machine"]["cpus"]
                            for r in records}, "{}"),
                times=_span([e["time_s"] for r in records
                             for e in r["epochs"]], "{:,.0f}"))


def corpus_epochs():
    runs = _corpus_runs()
    lines = ["| epoch | feature | v1 train / val / test TER | v2 train / val "
             "/ test TER |", "|---:|---|---|---|"]
    for i in range(len(runs["v2", LL][0])):
        for n, label in PAIR.items():
            cells = [" / ".join(f"{runs[v, n][0][i][f'{s}_ter']:.3f}"
                                for s in ("train", "val", "test"))
                     for v in ("v1", "v2")]
            lines.append(f"| {i + 1} | {label} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def corpus_final():
    lines = ["| corpus | feature | test TER | test event F1 | test event F1 "
             "(1 s) | train event F1 (1 s) |", "|---|---|---:|---:|---:|---:|"]
    for (corpus, n), (_, ev) in _corpus_runs().items():
        label = "SoundNet conv5" if n == C5 else "low-level"
        lines.append(f"| {corpus} | {label} | {ev['test']['ter']:.3f} | "
                     f"{ev['test']['event_f1']:.3f} | "
                     f"{ev['test']['event_f1_1s']:.3f} | "
                     f"{ev['train']['event_f1_1s']:.3f} |")
    return "\n".join(lines)


def corpus_changes():
    runs = _corpus_runs()

    def tr(v, n, epoch):
        return runs[v, n][0][epoch - 1]["train_ter"]

    def ends(v, n):
        return runs[v, n][0][-1]["val_ter"], runs[v, n][1]["test"]["ter"]
    last = len(runs["v2", LL][0])
    below = all(a["train_ter"] < b["train_ter"]
                for a, b in zip(runs["v2", C5][0], runs["v2", LL][0]))
    f1 = {k: r[1]["test"]["event_f1"] for k, r in runs.items()}
    test = {k: r[1]["test"]["ter"] for k, r in runs.items()}
    higher = {"behind": "higher", "ahead of": "lower", "level with": "level"}
    v2, v1 = (list(zip(ends(v, a), ends(v, b)))
              for v, a, b in (("v2", C5, LL), ("v1", LL, C5)))
    return "\n".join("- " + _say(t, **v) for t, v in [
        ("""Training is slower and memorisation later: after 3 epochs the
         training TER is {a:.2f} (low-level) and {b:.2f} (conv5) on v2
         against {c:.2f} and {d:.2f} on v1; with low-level features it ends
         at {e:.3f} after {last} epochs (v1: {f:.3f}). With conv5 features
         the detector still memorises v2 by epoch {last} (training TER
         {g:.3f}).""",
         dict(a=tr("v2", LL, 3), b=tr("v2", C5, 3), c=tr("v1", LL, 3),
              d=tr("v1", C5, 3), e=tr("v2", LL, last), f=tr("v1", LL, last),
              g=tr("v2", C5, last), last=last)),
        ("""On v2 conv5's training TER is {below} the low-level feature's at
         every epoch ({a:.2f} against {b:.2f} after 2 epochs, {c:.2f} against
         {d:.2f} after 5), and conv5 ends {v2} it in validation and test TER
         ({e[0][0]:.3f} / {e[1][0]:.3f} against {e[0][1]:.3f} /
         {e[1][1]:.3f}), with test event F1 {f:.3f} against {g:.3f}; on v1
         the low-level feature was {v1} conv5 in both.""",
         dict(below="below" if below else "not always below",
              a=tr("v2", C5, 2), b=tr("v2", LL, 2), c=tr("v2", C5, 5),
              d=tr("v2", LL, 5), v2=_words(v2), e=v2, f=f1["v2", C5],
              g=f1["v2", LL], v1=_words(v1))),
        ("""Test event F1 falls from v1 to v2 ({a:.3f} to {b:.3f} with the
         low-level feature, {c:.3f} to {d:.3f} with conv5); test TER is
         {e} on v2 with the low-level feature ({f:.3f} against {g:.3f}) and
         {h} with conv5 ({i:.3f} against {j:.3f}). v2 has event-to-background
         ratios down to {ebr:.0f} dB, real backgrounds and unseen recordings
         in val and test; these are {last}-epoch runs, one seed each.""",
         dict(a=f1["v1", LL], b=f1["v2", LL], c=f1["v1", C5],
              d=f1["v2", C5], e=higher[versus(test["v2", LL], test["v1", LL])],
              f=test["v2", LL], g=test["v1", LL],
              h=higher[versus(test["v2", C5], test["v1", C5])],
              i=test["v2", C5], j=test["v1", C5], last=last,
              ebr=_json(RESULTS / "standin_corpus.json")
              ["parameters"]["ebr_db"][0]))])


def warmup_timing():
    groups = {}
    for name, record in _sweep_histories().items():
        times, steps = groups.setdefault(name.startswith("soundnet8"),
                                         ([], set()))
        times.append(median(e["time_s"] for e in record["epochs"]))
        steps.update(e["steps"] for e in record["epochs"])
    (lt, ls), (ct, cs) = groups[False], groups[True]
    return _say("""Two runs at a time, one thread each, on a {cpus}-core
        machine; a run's median epoch took {lt} s ({ls} steps) with the
        low-level features and {ct} s ({cs} steps) with conv5.""",
                cpus=_span({r["provenance"]["machine"]["cpus"]
                            for r in _sweep_histories().values()}, "{}"),
                lt=_epochs(lt), ls=_span(ls, "{}"), ct=_epochs(ct),
                cs=_span(cs, "{}"))


def warmup_table():
    from write_docs import warmup_lines
    t = _sweep()
    done = (t.status == "finished").all()
    first, later = _unclipped_grad_norms()
    return "\n".join(warmup_lines()) + "\n\n" + _say(
        """{ran}. Under the paper's recipe (no clipping; with or without
        pre-training) the gradient norm was at most {first:.1f} in the first
        epoch and {later:.2f} after.""",
        ran=f"All {len(t)} runs ran to their last epoch without diverging"
        if done else f"Not all {len(t)} runs have finished: see `status`",
        first=first, later=later)


def _first_blank_step(record):
    shares = [s for e in record["epochs"] for s in e["step_nonblank"]]
    return next(i for i, s in enumerate(shares, 1) if s == 0)


def _gaps(variant):
    """The three features' mean best validation TER, compared."""
    m = {r: mean(_marks(r, "best_val_ter", variant)) for r in NAME}
    return "; ".join(f"{NAME[a]} is {versus(m[a], m[b])} {NAME[b]} "
                     f"({abs(m[a] - m[b]):.3f} apart)"
                     for a, b in ((C5, LL), (C5, OS), (LL, OS)))


def _student(row, label):
    """Where a 20-epoch student run's warm-up ends, against the sweep."""
    m = warmup_marks(_t4_epochs(row))
    keys = ("output10_epoch", "ter50_epoch")
    near = {k: _marks(C5, k) + _marks(LL, k) for k in keys}
    inside = [min(near[k]) <= m[k] <= max(near[k]) for k in keys]
    rng = "the range of conv5's and the low-level feature's seeds"
    where = f"both within {rng}" if all(inside) else ", ".join(
        f"the {nth} " + (f"within {rng}" if ok else ("later" if m[k] > max(
            near[k]) else "earlier") + f" than it ({m[k]} against "
            f"{_epochs(near[k])})")
        for nth, ok, k in zip(("first", "second"), inside, keys))
    ahead = all(m[k] < min(_marks(OS, k)) for k in keys)
    return (f"{label} at epochs {m[keys[0]]} and {m[keys[1]]}, {where}"
            + ((" and" if all(inside) else "; both") + " ahead of openSMILE"
               if ahead else ""))


def _pretraining():
    """The bullet on frame-wise pre-training (openSMILE, both seeds)."""
    runs = _sweep_histories()
    pre = [runs[f"opensmile-paper_pretrain-seed{s}"] for s in (0, 1)]
    frame = [_json(COMMITTED_SWEEPS / f"opensmile-paper_pretrain-seed{s}" /
                   "pretrain" / "history.json")["epochs"] for s in (0, 1)]
    epochs = frame[0][-1]["epoch"]
    stop = len(pre[0]["epochs"])
    p10, p50 = (_marks(OS, k, "paper_pretrain")
                for k in ("output10_epoch", "ter50_epoch"))
    o10, o50 = _marks(OS, "output10_epoch"), _marks(OS, "ter50_epoch")
    shorter = max(p10) < min(o10) and max(p50) < min(o50)
    word = versus(mean(_marks(OS, "best_val_ter", "paper_pretrain")),
                  mean(_marks(OS, "best_val_ter")))
    return _say("""Frame-wise pre-training {shortens} the warm-up, as the paper
        says: on the openSMILE feature, {epochs} epochs of frame-wise training
        of the BiLSTM (a sigmoid per event type on frame activity, the
        recipe's SGD; `paper_pretrain`, `sed/pretrain.py`; validation frame F1
        {f1} after them) and then the paper's CTC recipe leave the
        near-silent stage at CTC epoch {p10} instead of {o10} and reach
        training TER below 50% at epoch {p50} instead of {o50}{both}; best
        validation TER {pb} against {ob} without ({word}). At epoch {stop},
        where these runs stop, their training TER is {pt} against {ot} at that
        epoch without pre-training. The saving is in CTC epochs only: a
        pre-training epoch took {ft:.0f} s and a CTC epoch of the same runs
        {ct:.0f} s, so counted together ({sum} against {o50min} epochs to
        training TER below 50%) it {saves} here.""",
                shortens="shortens" if shorter else "does not shorten",
                epochs=epochs, f1=_span([f[-1]["val_frame_f1"] for f in frame],
                                        "{:.2f}"),
                p10=_epochs(p10), o10=_epochs(o10), p50=_epochs(p50),
                o50=_epochs(o50), both=", for both seeds" if shorter else "",
                pb=_span(_marks(OS, "best_val_ter", "paper_pretrain")),
                ob=_span(_marks(OS, "best_val_ter")),
                word="within the seeds' spread" if word == "level with"
                else f"{word} it", stop=stop,
                pt=_span([r["epochs"][-1]["train_ter"] for r in pre]),
                ot=_span([runs[f"opensmile-paper-seed{s}"]["epochs"]
                          [stop - 1]["train_ter"] for s in (0, 1)]),
                ft=median(e["time_s"] for f in frame for e in f),
                ct=median(e["time_s"] for r in pre for e in r["epochs"]),
                sum=epochs + max(p50), o50min=min(o50),
                saves="saves no compute" if epochs + max(p50) >= min(o50)
                else "saves compute")


def warmup_verdict():
    o10 = {r: _marks(r, "output10_epoch") for r in NAME}
    tanh = {r: mean(_marks(r, "best_val_ter", "tanh_clipped")) for r in NAME}
    ter50 = {r: _epochs(_marks(r, "ter50_epoch")) for r in NAME}
    tanh50 = {r: _epochs(_marks(r, "ter50_epoch", "tanh_clipped"))
              for r in NAME}
    best = {r: _span(_marks(r, "best_val_ter")) for r in NAME}
    tanh_best = {r: _span(_marks(r, "best_val_ter", "tanh_clipped"))
                 for r in NAME}
    t4 = _t4().best_val_ter
    return "\n".join("- " + _say(t, **v) for t, v in [
        ("""{every} feature has a near-silent stage: within the first {blank}
         steps the fresh network learns to output only blanks, and the
         decoding of the training recordings reaches 10% of the reference
         tokens only at epoch {o[soundnet8_conv5]} with SoundNet conv5,
         {o[lowlevel]} with this project's low-level feature and
         {o[opensmile]} with the openSMILE feature of [6]'s kind (the step
         figure shows the same). Training TER falls below 50% after
         {t[soundnet8_conv5]} epochs with conv5, {t[lowlevel]} with the
         low-level feature and {t[opensmile]} with openSMILE.""",
         dict(every="Every" if min(map(min, o10.values())) > 1
              else "Not every", o={r: _epochs(v) for r, v in o10.items()},
              t=ter50, blank=max(_first_blank_step(r) for n, r in
                                 _sweep_histories().items()
                                 if "-paper-" in n))),
        ("""So the order is the paper's against the openSMILE feature, closest
         to [6]'s, which leaves the silent stage {last}; conv5 and this
         project's low-level feature leave it {pair} (epochs {c} and {l}). And
         the stage lasts a few epochs (at most {most}), not the paper's
         warm-up quoted above.""",
         dict(last="last" if min(o10[OS]) > max(o10[C5] + o10[LL])
              else "not last", c=_epochs(o10[C5]), l=_epochs(o10[LL]),
              pair="within the seeds' range of each other"
              if max(min(o10[C5]), min(o10[LL])) <= min(max(o10[C5]),
                                                        max(o10[LL]))
              else "one after the other", most=max(map(max, o10.values())))),
        ("""The students' features, from Table 4's 20-epoch runs below (the
         paper's recipe, one seed, the pretrained-trunk students; the Figure 2
         notebook prints their marks), reach 10% of the tokens and training
         TER below 50%: {a}; {b}. Best validation TER {fc1:.3f} (SN-F fc1) and
         {gru:.3f} (SN-R gru1-BN).""",
         dict(a=_student("snr_gru1_bn", "SN-R gru1-BN"),
              b=_student("snf_fc1", "SN-F fc1"), fc1=t4["snf_fc1"],
              gru=t4["snr_gru1_bn"])),
        ("""The silent stage belongs to the paper's recipe, not to the
         features: with tanh + gradient clipping {none}, and training TER
         falls below 50% after {t[soundnet8_conv5]} epochs with conv5,
         {t[lowlevel]} with the low-level feature and {t[opensmile]} with
         openSMILE.""",
         dict(t=tanh50, none="no feature has one (at least 10% of the "
              "reference tokens after the first epoch for all three features "
              "and both seeds)" if all(v == 1 for r in NAME for v in _marks(
                  r, "output10_epoch", "tanh_clipped")) else "it is shorter")),
        ("""Best validation TER under the paper's recipe: conv5
         {b[soundnet8_conv5]}, the low-level feature {b[lowlevel]} and
         openSMILE {b[opensmile]} (the paper: {pc} for conv5, {pl} for the
         low-level feature); over the seeds' means {gaps}. With tanh +
         clipping: conv5 {tb[soundnet8_conv5]}, openSMILE {tb[opensmile]},
         the low-level feature {tb[lowlevel]}; {tgaps}{direction}. How far
         each run goes towards memorising the training set is the table's
         last-epoch training TER.""",
         dict(b=best, tb=tanh_best, pc=_paper(C5, 1), pl=_paper(LL, 1),
              gaps=_gaps("paper"), tgaps=_gaps("tanh_clipped"),
              direction="; conv5 ahead of both, the paper's direction"
              if all(versus(tanh[C5], tanh[r]) == "ahead of"
                     for r in (LL, OS)) else "")),
        (_pretraining(), {})])


def _students():
    """Figure 1's histories: label -> (epoch rows, best row)."""
    from soundnet_keras.plots import VARIANT_HISTORIES
    out = {}
    for label, name in VARIANT_HISTORIES.items():
        rows = _json(PRESET_HISTORIES / f"{name}.history.json")["epochs"]
        out[label] = rows, min(rows, key=lambda r: r["val_kl"])
    return out


def figure1_runs():
    from soundnet_keras.cards import PAPER_EPOCHS
    n = {name: len(_json(PRESET_HISTORIES / f"{name}.history.json")["epochs"])
         for name in ("snf_scratch_pool", "snr_scratch_pool",
                      "snf_trunk_pool", "snr_trunk_pool")}
    return _say("""*What was run:* the SN-F and SN-R (GRU) students distilled
        from the ported SoundNet-8 on the real-audio pool (targets at the
        teacher's own frame centres), both kinds: from scratch as in the paper
        (solid; SN-F {f} of the paper's {pf} epochs, SN-R {r} of {pr}) and on
        SoundNet-8's frozen conv1-conv5 (dashed; SN-F {tf} epochs, SN-R {tr});
        see "How every student differs from the paper's".""",
                f=n["snf_scratch_pool"], r=n["snr_scratch_pool"],
                tf=n["snf_trunk_pool"], tr=n["snr_trunk_pool"],
                pf=PAPER_EPOCHS["snf"], pr=PAPER_EPOCHS["snr"])


def figure1_results():
    from soundnet_keras.plots import PAPER_VAL_KL
    s = _students()
    snf, snr = ([k for k in s if k.startswith(n)] for n in ("SN-F", "SN-R"))

    def kls(labels, which):
        return " and ".join(f"{which(k):.3f}" for k in labels)

    def best(k):
        return s[k][1]["val_kl"]

    def last(k):
        return s[k][0][-1]["val_kl"]
    below = [100 * (1 - best(k) / s[k][1]["constant_kl"]) for k in s]
    f, r = PAPER_VAL_KL["SN-F"][0], PAPER_VAL_KL["SN-R GRU"][0]
    return _say("""At their best epochs the students' validation KL is
        {b[0]:.1f}% (SN-F from scratch), {b[1]:.1f}% (SN-R from scratch),
        {b[2]:.1f}% (SN-F, trunk) and {b[3]:.1f}% (SN-R, trunk) below the
        constant student's; both SN-F runs {overfit} after their best epochs
        ({epochs}; validation KL {last} at their last epochs, against {best}
        at their best). Unlike the paper, where SN-F ended {paper} SN-R
        ({f:.2f} against {r:.2f}), SN-R ends {ours} SN-F here (best
        validation KL {snr} against {best}).""",
                b=below, overfit="overfit" if all(last(k) > best(k)
                                                  for k in snf)
                else "do not all overfit",
                epochs=" and ".join(str(s[k][1]["epoch"]) for k in snf),
                last=kls(snf, last), best=kls(snf, best), f=f, r=r,
                paper="ahead of" if f < r else "behind", snr=kls(snr, best),
                ours="ahead of" if max(map(best, snr)) < min(map(best, snf))
                else "not ahead of")


def _printed_frames(notebook, marker):
    """The tables (pandas' text) printed by the code cells of ``notebook``
    whose source holds ``marker``: ``[{row label: {column: value}}]``."""
    frames = []
    for cell in _json(notebook)["cells"]:
        if cell["cell_type"] != "code" or \
                marker not in "".join(cell["source"]):
            continue
        for output in cell.get("outputs", []):
            rows = {}
            text = "".join(output.get("data", {}).get("text/plain", ""))
            for block in text.strip("\n").split("\n\n"):
                lines = block.splitlines()
                names = re.split(r"\s{2,}", lines[0].strip(" \\"))
                for line in lines[1:]:
                    parts = re.split(r"\s{2,}", line.strip(" \\"))
                    rows.setdefault(" ".join(parts[:-len(names)]), {}).update(
                        zip(names, map(float, parts[-len(names):])))
            frames.append(rows)
    return frames


def figure3_contrast():
    one, pairs = _printed_frames(ROOT / "notebooks" /
                                 "figure3_activations.ipynb",
                                 "transition_contrast(")
    value = {label: v["transition contrast"] for label, v in one.items()}
    top = max(value, key=value.get)
    tops = {max(v, key=v.get) for v in pairs.values()}
    orders = {tuple(sorted((k for k in v if k != top), key=v.get))
              for v in pairs.values()}
    kinds = {label.split()[0] for label in pairs}
    return _say("""The notebook's `transition_contrast` (distance between the
        means of the second before and after the change over the mean
        frame-to-frame distance) does not measure that blur: it rewards
        smoothness, so {top} scores highest ({v:.1f} on this recording,
        against {g1:.1f} and {g2:.1f} for gru1-BN and gru2-BN and {f} for
        SN-F's fc1-3), {every}; the order of the other layers {order}.""",
                top=top.split()[-1], v=value[top], g1=value["SN-R gru1-BN"],
                g2=value["SN-R gru2-BN"],
                f=_span([v for k, v in value.items() if k.startswith("SN-F")],
                        "{:.1f}"),
                every=f"and on each of the {len(pairs) // len(kinds)} pairs "
                "of sounds the notebook tries, with both kinds of student"
                if tops == {top} else "though not on every pair of sounds "
                "the notebook tries",
                order="changes from pair to pair" if len(orders) > 1
                else "stays the same")


def _short(row):
    return table4_row(row).label.replace(" (from scratch)", "").split()[-1]


def _read_with_care():
    t, s = _t4(), seed_spread()
    val, test, train, best = (t.best_val_ter, t.best_test_ter, t.train_ter,
                              t.best_epoch)
    vt = {r: f"{val[r]:.3f} / {test[r]:.3f}" for r in t.index}
    paper = {r: f"{_paper(r, 1)} / {_paper(r, 2)}" for r in t.index}
    main = [r.name for r in TABLE4 if r.name in t.index]
    transfer = [r for r in main if r not in (LL, OS)]
    silent = [r for r in t.index if _silent_share(r) < SILENT]
    heard = [r for r in transfer if r not in silent]
    scratch = [r for r in t.index if r.endswith("_scratch")]
    snf = ["snf_pool5", "snf_fc1", "snf_fc2", "snf_fc3"]
    snr = ["snr_pool5", "snr_gru1", "snr_gru1_bn"]
    far = [r for r in snf if val[r] > table4_row(r).paper[1] / 100 + s
           or test[r] > table4_row(r).paper[2] / 100 + s]
    same = all(a[k] == b[k] for a, b in zip(_t4_epochs("snf_pool5"),
                                             _t4_epochs("snr_pool5"))
               for k in ("train_loss", "train_ter", "val_ter", "test_ter"))
    rows = {r.name: r for r in TABLE4 + (SNR_POOL5,)}
    c5, ll = (_marks(r, "best_val_ter") for r in (C5, LL))

    def repeats(row):     # the same TERs as the sweep's seed 0, each epoch
        theirs = _sweep_histories()[f"{row}-paper-seed0"]["epochs"]
        return "the same TERs in each of its epochs" if all(
            a[f"{k}_ter"] == b[f"{k}_ter"] for a, b in zip(
                _t4_epochs(row), theirs) for k in ("train", "val", "test")) \
            else "not the same TERs"

    def vals(names, suffix=""):
        return " / ".join(f"{val[r + suffix]:.3f}" for r in names)

    def words(xs, ys):
        return _words([(val[x], val[y]) for x in xs for y in ys])
    gaps = [abs(val[x] - val[y]) for i, x in enumerate(main)
            for y in main[i + 1:]]
    closest = min((r for r in transfer if r != C5), key=val.get)
    deeper = words(("snr_gru2", "snr_gru2_bn"), ("snr_gru1", "snr_gru1_bn"))
    n = t.epochs[scratch[0]]
    return [_say(*item) for item in [
        ("""All rows ran {} epochs; under this recipe the warm-up sweep's best
         validation epochs were {} for conv5 and the low-level feature. SN-F
         pool5 and SN-R pool5, one run made twice, are {}.""",
         _epochs(t.epochs), _epochs(_marks(C5, "best_epoch")
                                    + _marks(LL, "best_epoch")),
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
         deeper, val["snr_gru2"], val["snr_gru2_bn"], _paper("snr_gru2", 1),
         _paper("snr_gru2_bn", 1), _span(val[["snr_gru3", "snr_gru3_bn"]]),
         _span(train[["snr_gru3", "snr_gru3_bn"]], "{:.2f}"), n,
         _span([100 * _silent_share(r) for r in ("snr_gru3", "snr_gru3_bn")],
               "{:.1f}"), _paper("snr_gru3", 1), _paper("snr_gru3_bn", 1)),
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
         versus(val[C5], val[LL]), val[LL], _marks(C5, "epochs")[0],
         repeats(C5), c5[1], _marks(C5, "best_epoch")[1], mean(c5),
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
         feature.""", n, _span(train[heard], "{:.2f}"), train["snf_fc1"],
         train["snr_gru1_bn"], train["snf_pool5"], train[LL],
         _span([rows[r].paper[0] for r in heard], "{:.1f}"), _paper(LL, 0)),
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
         _span([val[r] for r in scratch if "gru3" in r]),
         _span([train[r] for r in scratch if r not in silent], "{:.2f}"), n,
         _span(train[[r for r in heard if r != C5]], "{:.2f}"),
         sum(best[r] >= t.epochs[r] - 1 for r in scratch), len(scratch), n)]]


def table4_20epochs():
    from write_docs import table4_lines
    return "\n".join(table4_lines()) + "\n\nRead with care:\n" + "\n".join(
        "- " + b for b in _read_with_care())


def deviations_measured():
    from soundnet_keras.cards import PAPER_EPOCHS as PAPER
    h = {n: _json(PRESET_HISTORIES / f"{n}.history.json")["epochs"] for n in (
        "snf_scratch_pool", "snr_scratch_pool", "snf_trunk_pool",
        "snr_trunk_pool")}
    steps = _json(PRESET_HISTORIES / "snf_scratch_pool.history.json")["config"][
        "steps_per_epoch"]      # the same for the four students
    minutes = {n: [e["time_s"] / 60 for e in h[f"{n}_scratch_pool"]]
               for n in ("snf", "snr")}
    best = {n: min(h[f"{n}_scratch_pool"], key=lambda e: e["val_kl"])["epoch"]
            for n in minutes}
    corpus = _json(RESULTS / "standin_corpus.json")["material"]
    runs = [_json(RESULTS / f"lr_divergence{k}.json")
            for k in ("", "_default_corpus")]
    first = [r["first_step"] for r in runs]

    def growth(step):     # per frame, over the last two probes before overflow
        trace = {int(k): v for k, v in step["max_cell_state_after"].items()}
        a, b = [f for f in sorted(trace)
                if f < step["first_overflow_frame_after"]][-2:]
        return (trace[b] / trace[a]) ** (1 / (b - a))

    def nan(run, key):    # the step of the first NaN when only `key` changes
        return ", ".join(f"{c['diverged_at_step'] or 'none'} ({key} "
                         f"{c['overrides'][key]})" for c in run["sweep"]
                         if set(c["overrides"]) == {key})
    return "\n".join("- " + _say(*item) for item in [
        ("""**Pretrained-trunk students** (compute): training the whole
         student took a median {:.1f} (SN-F) and {:.1f} (SN-R) minutes an
         epoch of {} minibatches here (the `*_scratch_pool` histories), so the
         paper's {} and {} epochs would take about {:.0f} and {:.0f} hours on
         this CPU; the upper layers alone, on the cached pool5 features, took
         a median {:.2f} s (SN-F) and {:.1f} s (SN-R) per minibatch,
         validation included (the `*_trunk_pool` histories).""",
         *map(median, minutes.values()), steps, PAPER["snf"], PAPER["snr"],
         *(median(minutes[n]) * PAPER[n] / 60 for n in minutes),
         *(median(e["time_s"] for e in h[f"{n}_trunk_pool"]) / steps
           for n in minutes)),
        ("""**From-scratch students' training length**: SN-F ran {} epochs of
         the paper's {}, SN-R {} of {}, at {} and {} minutes an epoch; their
         best validation epochs were {} and {}, their validation KL higher
         after them.""", len(minutes["snf"]), PAPER["snf"],
         len(minutes["snr"]), PAPER["snr"],
         *(_span(m, "{:.1f}") for m in minutes.values()), *best.values()),
        ("""**Corpus** (`benchmarks/results/standin_corpus.json`): the stand-in
         corpus v2 holds {:.0f} minutes of distinct material; {} classes have
         under 2 minutes of it in the training split.""",
         sum(m["minutes"] for m in corpus),
         sum(m["split"] == "train" and m["minutes"] < 2 for m in corpus)),
        ("""**CTC-RNN non-linearity** (`benchmarks/results/lr_divergence.json`
         on random inputs / `lr_divergence_default_corpus.json` on SoundNet
         conv5 features): with ReLU on g and on the output at lr 3.0 the loss
         is NaN at step {}; the first step's recurrent gradient has {:.1f}% /
         {:.1f}% of its energy in one singular direction; after that step the
         forward LSTM's largest cell state grows {:.1f}x / {:.1f}x per frame
         and leaves float32's range at frame {} / {} of the chunk. The step of
         the first NaN with smaller rates and with clipping, in {} steps: on
         conv5 features {}; {}; on random inputs {}; {}. `relu_g` under the
         paper's settings: the warm-up sweep's runs without clipping had
         gradient norms at most {:.1f} in the first epoch and {:.2f} after,
         and {} diverged.""",
         _span({r["sweep"][0]["diverged_at_step"] for r in runs}, "{}"),
         *(100 * f["recurrent_grad_top_direction_share"] for f in first),
         *map(growth, first), *(f["first_overflow_frame_after"]
                                for f in first),
         _span({c["steps"] for r in runs for c in r["sweep"]}, "{}"),
         nan(runs[1], "lr"), nan(runs[1], "clipnorm"), nan(runs[0], "lr"),
         nan(runs[0], "clipnorm"), *_unclipped_grad_norms(),
         "none" if (_sweep().status != "diverged").all() else "some")])


def headline():
    """The README's results: Table 4 at convergence so far, one line per
    row with a published run (:func:`sed.results.row_summary` of the
    committed histories), the paper's beside it."""
    from sed.experiments import TABLE4_PATIENCE, TABLE4_SEEDS
    from sed.results import collect, row_summary
    runs = collect()
    total = len(TABLE4) * len(TABLE4_SEEDS)
    done = int((runs["status"] == "finished").sum())
    lines = [_say("""Table 4 at convergence so far ({} of {} runs finished;
                  each row: three seeds, the paper's recipe, stopped after
                  {} epochs without a better validation TER): TER in
                  percent, mean (and standard deviation) over the seeds
                  published, at each run's best validation epoch.""",
                  done, total, TABLE4_PATIENCE), "",
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
    from sed.results import warmup_verdicts
    lines += ["", "The paper's warm-up claims, judged on the warm-up "
              "experiment (two seeds per configuration): " + "; ".join(
                  f"{c.claim[0].lower() + c.claim[1:]}: **{c.verdict}** "
                  f"({c.measured})" for c in warmup_verdicts().itertuples())
              + ". The Table 4 claims get their verdicts when its rows "
              "have their seeds."]
    return "\n".join(lines)


#: region name -> function returning its Markdown.
REGIONS = {
    "results-headline": headline,
    "results-seed-spread": seed_spread_region,
    "results-corpus-v1": corpus_v1,
    "results-corpus-v2-runs": corpus_v2_runs,
    "results-corpus-epochs": corpus_epochs,
    "results-corpus-final": corpus_final,
    "results-corpus-changes": corpus_changes,
    "results-warmup-timing": warmup_timing,
    "results-warmup-table": warmup_table,
    "results-warmup-verdict": warmup_verdict,
    "results-figure1-runs": figure1_runs,
    "results-figure1-results": figure1_results,
    "results-figure3-contrast": figure3_contrast,
    "results-table4-20epochs": table4_20epochs,
    "results-deviations": deviations_measured,
}
