"""The generated region of ``docs/deviations.md`` (see
``scripts/write_docs.py``): the measurements behind its table, from the
students' distillation histories (``weights/histories``), the stand-in
corpus build (``benchmarks/results/standin_corpus.json``), the
learning-rate divergence probes (``benchmarks/results/lr_divergence*.json``)
and the warm-up sweep (``notebooks/histories/warmup``). The paper's epochs
come from :data:`soundnet_keras.cards.PAPER_EPOCHS`.
"""

import sys
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
for _folder in (ROOT, ROOT / "scripts"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from experiment_runs import sweep, unclipped_grad_norms  # noqa: E402
from prose import load_history, load_result, say, span  # noqa: E402


def deviations_measured():
    from soundnet_keras.cards import PAPER_EPOCHS as PAPER
    h = {n: load_history(n)["epochs"] for n in (
        "snf_scratch_pool", "snr_scratch_pool", "snf_trunk_pool",
        "snr_trunk_pool")}
    steps = load_history("snf_scratch_pool")["config"][
        "steps_per_epoch"]      # the same for the four students
    minutes = {n: [e["time_s"] / 60 for e in h[f"{n}_scratch_pool"]]
               for n in ("snf", "snr")}
    best = {n: min(h[f"{n}_scratch_pool"], key=lambda e: e["val_kl"])["epoch"]
            for n in minutes}
    corpus = load_result("standin_corpus.json")["material"]
    runs = [load_result(f"lr_divergence{k}.json")
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
    return "\n".join("- " + say(*item) for item in [
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
         *(span(m, ".1f") for m in minutes.values()), *best.values()),
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
         span({r["sweep"][0]["diverged_at_step"] for r in runs}, ""),
         *(100 * f["recurrent_grad_top_direction_share"] for f in first),
         *map(growth, first), *(f["first_overflow_frame_after"]
                                for f in first),
         span({c["steps"] for r in runs for c in r["sweep"]}, ""),
         nan(runs[1], "lr"), nan(runs[1], "clipnorm"), nan(runs[0], "lr"),
         nan(runs[0], "clipnorm"), *unclipped_grad_norms(),
         "none" if (sweep().status != "diverged").all() else "some")])


#: region name -> function returning its Markdown.
REGIONS = {
    "results-deviations": deviations_measured,
}
