"""The generated regions of ``docs/reproduction.md`` on the warm-up
experiment (Figure 2) and on the notebooks of Figures 1 and 3 (see
``scripts/write_docs.py``): the seeds' spread every gap is read against,
the warm-up sweep (``notebooks/histories/warmup``,
:func:`sed.experiments.sweep_table`: timing, the table, the verdict on the
paper's warm-up, frame-wise pre-training, where the students of the first,
20-epoch Table 4 leave the near-silent stage), the students' distillation
histories (``weights/histories``) and the contrasts the Figure 3 notebook
prints. The paper's numbers come from :data:`sed.experiments.TABLE4`,
:data:`soundnet_keras.cards.PAPER_EPOCHS` and
:data:`soundnet_keras.plots.PAPER_VAL_KL`.
"""

import re
import sys
from pathlib import Path
from statistics import mean, median

ROOT = Path(__file__).resolve().parent.parent
for _folder in (ROOT, ROOT / "scripts"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from experiment_runs import (C5, LL, NAME, OS, RECIPE,  # noqa: E402
                             epoch_span, marks, paper_ter, seed_spread,
                             spreads, sweep, sweep_histories, t4_epochs,
                             t4_table, unclipped_grad_norms, versus)
from prose import load_history, read_json, say, span  # noqa: E402
from sed.experiments import COMMITTED_SWEEPS, warmup_marks  # noqa: E402


def seed_spread_region():
    row, variant = spreads().idxmax()
    return say("""Gaps between runs are read against the seeds' spread: the
        largest difference in best validation TER between two seeds of one
        configuration in the warm-up sweep below, {s:.3f} ({row}, {recipe}).
        A smaller gap is reported as level: it cannot rank two runs.""",
               s=seed_spread(), row=NAME[row], recipe=RECIPE[variant])


# ----------------------------------------------------- the warm-up experiment

def warmup_timing():
    groups = {}
    for name, record in sweep_histories().items():
        times, steps = groups.setdefault(name.startswith("soundnet8"),
                                         ([], set()))
        times.append(median(e["time_s"] for e in record["epochs"]))
        steps.update(e["steps"] for e in record["epochs"])
    (lt, ls), (ct, cs) = groups[False], groups[True]
    return say("""Two runs at a time, one thread each, on a {cpus}-core
        machine; a run's median epoch took {lt} s ({ls} steps) with the
        low-level features and {ct} s ({cs} steps) with conv5.""",
               cpus=span({r["provenance"]["machine"]["cpus"]
                          for r in sweep_histories().values()}, ""),
               lt=epoch_span(lt), ls=span(ls, ""), ct=epoch_span(ct),
               cs=span(cs, ""))


def warmup_table():
    from write_docs import warmup_lines
    t = sweep()
    done = (t.status == "finished").all()
    first, later = unclipped_grad_norms()
    return "\n".join(warmup_lines()) + "\n\n" + say(
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
    m = {r: mean(marks(r, "best_val_ter", variant)) for r in NAME}
    return "; ".join(f"{NAME[a]} is {versus(m[a], m[b])} {NAME[b]} "
                     f"({abs(m[a] - m[b]):.3f} apart)"
                     for a, b in ((C5, LL), (C5, OS), (LL, OS)))


def _student(row, label):
    """Where a 20-epoch student run's warm-up ends, against the sweep."""
    m = warmup_marks(t4_epochs(row))
    keys = ("output10_epoch", "ter50_epoch")
    near = {k: marks(C5, k) + marks(LL, k) for k in keys}
    inside = [min(near[k]) <= m[k] <= max(near[k]) for k in keys]
    rng = "the range of conv5's and the low-level feature's seeds"
    where = f"both within {rng}" if all(inside) else ", ".join(
        f"the {nth} " + (f"within {rng}" if ok else ("later" if m[k] > max(
            near[k]) else "earlier") + f" than it ({m[k]} against "
            f"{epoch_span(near[k])})")
        for nth, ok, k in zip(("first", "second"), inside, keys))
    ahead = all(m[k] < min(marks(OS, k)) for k in keys)
    return (f"{label} at epochs {m[keys[0]]} and {m[keys[1]]}, {where}"
            + ((" and" if all(inside) else "; both") + " ahead of openSMILE"
               if ahead else ""))


def _pretraining():
    """The bullet on frame-wise pre-training (openSMILE, both seeds)."""
    runs = sweep_histories()
    pre = [runs[f"opensmile-paper_pretrain-seed{s}"] for s in (0, 1)]
    frame = [read_json(COMMITTED_SWEEPS / f"opensmile-paper_pretrain-seed{s}" /
                       "pretrain" / "history.json")["epochs"] for s in (0, 1)]
    epochs = frame[0][-1]["epoch"]
    stop = len(pre[0]["epochs"])
    p10, p50 = (marks(OS, k, "paper_pretrain")
                for k in ("output10_epoch", "ter50_epoch"))
    o10, o50 = marks(OS, "output10_epoch"), marks(OS, "ter50_epoch")
    shorter = max(p10) < min(o10) and max(p50) < min(o50)
    word = versus(mean(marks(OS, "best_val_ter", "paper_pretrain")),
                  mean(marks(OS, "best_val_ter")))
    return say("""Frame-wise pre-training {shortens} the warm-up, as the paper
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
               epochs=epochs, f1=span([f[-1]["val_frame_f1"] for f in frame],
                                      ".2f"),
               p10=epoch_span(p10), o10=epoch_span(o10), p50=epoch_span(p50),
               o50=epoch_span(o50), both=", for both seeds" if shorter else "",
               pb=span(marks(OS, "best_val_ter", "paper_pretrain")),
               ob=span(marks(OS, "best_val_ter")),
               word="within the seeds' spread" if word == "level with"
               else f"{word} it", stop=stop,
               pt=span([r["epochs"][-1]["train_ter"] for r in pre]),
               ot=span([runs[f"opensmile-paper-seed{s}"]["epochs"]
                        [stop - 1]["train_ter"] for s in (0, 1)]),
               ft=median(e["time_s"] for f in frame for e in f),
               ct=median(e["time_s"] for r in pre for e in r["epochs"]),
               sum=epochs + max(p50), o50min=min(o50),
               saves="saves no compute" if epochs + max(p50) >= min(o50)
               else "saves compute")


def warmup_verdict():
    o10 = {r: marks(r, "output10_epoch") for r in NAME}
    tanh = {r: mean(marks(r, "best_val_ter", "tanh_clipped")) for r in NAME}
    ter50 = {r: epoch_span(marks(r, "ter50_epoch")) for r in NAME}
    tanh50 = {r: epoch_span(marks(r, "ter50_epoch", "tanh_clipped"))
              for r in NAME}
    best = {r: span(marks(r, "best_val_ter")) for r in NAME}
    tanh_best = {r: span(marks(r, "best_val_ter", "tanh_clipped"))
                 for r in NAME}
    t4 = t4_table().best_val_ter
    return "\n".join("- " + say(t, **v) for t, v in [
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
              else "Not every", o={r: epoch_span(v) for r, v in o10.items()},
              t=ter50, blank=max(_first_blank_step(r) for n, r in
                                 sweep_histories().items()
                                 if "-paper-" in n))),
        ("""So the order is the paper's against the openSMILE feature, closest
         to [6]'s, which leaves the silent stage {last}; conv5 and this
         project's low-level feature leave it {pair} (epochs {c} and {l}). And
         the stage lasts a few epochs (at most {most}), not the paper's
         warm-up quoted above.""",
         dict(last="last" if min(o10[OS]) > max(o10[C5] + o10[LL])
              else "not last", c=epoch_span(o10[C5]), l=epoch_span(o10[LL]),
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
              "and both seeds)" if all(v == 1 for r in NAME for v in marks(
                  r, "output10_epoch", "tanh_clipped")) else "it is shorter")),
        ("""Best validation TER under the paper's recipe: conv5
         {b[soundnet8_conv5]}, the low-level feature {b[lowlevel]} and
         openSMILE {b[opensmile]} (the paper: {pc} for conv5, {pl} for the
         low-level feature); over the seeds' means {gaps}. With tanh +
         clipping: conv5 {tb[soundnet8_conv5]}, openSMILE {tb[opensmile]},
         the low-level feature {tb[lowlevel]}; {tgaps}{direction}. How far
         each run goes towards memorising the training set is the table's
         last-epoch training TER.""",
         dict(b=best, tb=tanh_best, pc=paper_ter(C5, 1), pl=paper_ter(LL, 1),
              gaps=_gaps("paper"), tgaps=_gaps("tanh_clipped"),
              direction="; conv5 ahead of both, the paper's direction"
              if all(versus(tanh[C5], tanh[r]) == "ahead of"
                     for r in (LL, OS)) else "")),
        (_pretraining(), {})])


# ------------------------------------------------------------ Figures 1 and 3

def _students():
    """Figure 1's histories: label -> (epoch rows, best row)."""
    from soundnet_keras.plots import VARIANT_HISTORIES
    out = {}
    for label, name in VARIANT_HISTORIES.items():
        rows = load_history(name)["epochs"]
        out[label] = rows, min(rows, key=lambda r: r["val_kl"])
    return out


def figure1_runs():
    from soundnet_keras.cards import PAPER_EPOCHS
    n = {name: len(load_history(name)["epochs"])
         for name in ("snf_scratch_pool", "snr_scratch_pool",
                      "snf_trunk_pool", "snr_trunk_pool")}
    return say("""*What was run:* the SN-F and SN-R (GRU) students distilled
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
    return say("""At their best epochs the students' validation KL is
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
    for cell in read_json(notebook)["cells"]:
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
    return say("""The notebook's `transition_contrast` (distance between the
        means of the second before and after the change over the mean
        frame-to-frame distance) does not measure that blur: it rewards
        smoothness, so {top} scores highest ({v:.1f} on this recording,
        against {g1:.1f} and {g2:.1f} for gru1-BN and gru2-BN and {f} for
        SN-F's fc1-3), {every}; the order of the other layers {order}.""",
               top=top.split()[-1], v=value[top], g1=value["SN-R gru1-BN"],
               g2=value["SN-R gru2-BN"],
               f=span([v for k, v in value.items() if k.startswith("SN-F")],
                      ".1f"),
               every=f"and on each of the {len(pairs) // len(kinds)} pairs "
               "of sounds the notebook tries, with both kinds of student"
               if tops == {top} else "though not on every pair of sounds "
               "the notebook tries",
               order="changes from pair to pair" if len(orders) > 1
               else "stays the same")


#: region name -> function returning its Markdown.
REGIONS = {
    "results-seed-spread": seed_spread_region,
    "results-warmup-timing": warmup_timing,
    "results-warmup-table": warmup_table,
    "results-warmup-verdict": warmup_verdict,
    "results-figure1-runs": figure1_runs,
    "results-figure1-results": figure1_results,
    "results-figure3-contrast": figure3_contrast,
}
