"""The generated regions of ``docs/reproduction.md`` on the corpus
experiments (see ``scripts/write_docs.py``): the low-level feature against
SoundNet conv5 on the stand-in corpus v1 (``notebooks/histories/corpus_v1``,
taken from commit ``dc1567b805``, where they were Table 4's rows) and on v2
(``notebooks/histories/corpus_v2``), with the corpora's builds
(``benchmarks/results/standin_corpus_v1.json``, ``standin_corpus.json``).
A gap is read against the seeds' spread of the warm-up sweep
(:func:`experiment_runs.versus`).
"""

import sys
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _folder in (ROOT, ROOT / "scripts"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from experiment_runs import C5, LL, versus, versus_all  # noqa: E402
from prose import load_result, read_json, say, span  # noqa: E402

HISTORIES = ROOT / "notebooks" / "histories"
#: The features of the corpus comparison.
PAIR = {"lowlevel": "low-level", "soundnet8_conv5": "conv5"}


def _v1(name, file):
    return read_json(HISTORIES / "corpus_v1" / name / file)


def _v2(name, file):
    return read_json(HISTORIES / "corpus_v2" / name / file)


@lru_cache(None)
def _corpus_runs():
    """``{(corpus, row): (epoch rows, {split: evaluation metrics})}``."""
    return {(v, n): (load(n, "history.json")["epochs"],
                     {m["split"]: m for m in
                      load(n, "evaluation.json")["metrics"]})
            for v, load in (("v1", _v1), ("v2", _v2)) for n in PAIR}


def corpus_v1():
    corpus = load_result("standin_corpus_v1.json")["summary"]
    runs = _corpus_runs()
    (ll, ll_ev), (c5, c5_ev) = runs["v1", LL], runs["v1", C5]
    val, test = (ll[-1]["val_ter"], c5[-1]["val_ter"]), \
        (ll_ev["test"]["ter"], c5_ev["test"]["ter"])
    return say("""The first comparison of the two rows the paper's claim is
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
               word=versus_all([val, test]),
               f=(ll_ev["test"]["event_f1"], c5_ev["test"]["event_f1"]))


def corpus_v2_runs():
    records = [_v2(n, "history.json") for n in PAIR]
    return say("""The two rows ran as two processes, one thread each, on
        {cpus} cores shared with other jobs ({times} s an epoch).""",
               cpus=span({r["provenance"]["machine"]["cpus"]
                          for r in records}, ""),
               times=span([e["time_s"] for r in records
                           for e in r["epochs"]], ",.0f"))


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
    return "\n".join("- " + say(t, **v) for t, v in [
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
              d=tr("v2", LL, 5), v2=versus_all(v2), e=v2, f=f1["v2", C5],
              g=f1["v2", LL], v1=versus_all(v1))),
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
              ebr=load_result("standin_corpus.json")
              ["parameters"]["ebr_db"][0]))])


#: region name -> function returning its Markdown.
REGIONS = {
    "results-corpus-v1": corpus_v1,
    "results-corpus-v2-runs": corpus_v2_runs,
    "results-corpus-epochs": corpus_epochs,
    "results-corpus-final": corpus_final,
    "results-corpus-changes": corpus_changes,
}
