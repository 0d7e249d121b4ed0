"""The generated regions of ``docs/variants.md``, the students SN-F and
SN-R (see ``scripts/write_docs.py``): SN-F's layer table (Table 2,
corrected, from the spec), where the distillation targets sit in a clip
(:mod:`soundnet_keras.targets`), and the distillation runs from their
histories (``weights/histories/``): the small evidence runs, the
pretrained-trunk students and the from-scratch ones, each against the
constant student (``prior_baseline.json``). The prose without figures stays
in the page; a region holds the paragraphs, tables and list items that
carry numbers.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _folder in (ROOT, ROOT / "scripts"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from prose import (STUDENT_HISTORIES, conv8_field, duration,  # noqa: E402
                   item, listing, load_history, md_table, read_json, wrap)

#: The paper's Table 2 as printed, where it differs from the spec
#: (pool5's subsampling and the receptive field that follows from it).
PAPER_TABLE2 = {"pool5": ("4", "0.44 s")}


def _best(history):
    return min(history["epochs"], key=lambda row: row["val_kl"])


def _below(row):
    """How far below the constant student a row's validation KL is (%)."""
    return 100 * (1 - row["val_kl"] / row["constant_kl"])


def _sci(value):
    """``3.1e-5`` rather than ``3.1e-05``."""
    return re.sub(r"e([+-])0*(\d)", r"e\1\2",
                  f"{value:.1e}").replace("e+", "e")


# ----------------------------------------------------------------- the layers

def snf_layers():
    """SN-F's layer table (Table 2, corrected) from its spec."""
    from soundnet_keras.specs import layer_table
    table = layer_table("snf").set_index("layer")
    rows = []
    for layer in ("conv1", "pool1", "conv2", "pool2", "conv3", "conv4",
                  "conv5", "pool5"):
        r = table.loc[layer]
        sub, field = str(int(r.subsampling)), duration(r.receptive_field_s)
        if layer in PAPER_TABLE2:
            sub = f"**{sub}** (printed {PAPER_TABLE2[layer][0]})"
            field = f"**{field}** (printed {PAPER_TABLE2[layer][1]})"
        rows.append((layer, int(r.feature_maps), int(r.filter_size), sub,
                     f"{r.frame_rate_hz:,.0f}", field))
    for layers in (("fc1", "fc2", "fc3"), ("output", "output_2")):
        r = table.loc[layers[0]]
        rows.append((", ".join(layers), " + ".join(
            str(int(table.loc[x].feature_maps)) for x in layers)
            if len(set(table.loc[list(layers)].feature_maps)) > 1
            else int(r.feature_maps), "", "", f"{r.frame_rate_hz:,.0f}",
            duration(r.receptive_field_s)))
    return "\n".join(md_table(
        ("layer (SN-F)", "maps", "filter", "subsampling", "frame rate (Hz)",
         "receptive field"), rows,
        ("---", "---:", "---:", "---:", "---:", "---:")))


def alignment():
    """Where the targets sit in a clip: the teacher's frame centres against
    the paper's times."""
    import inspect
    from soundnet_keras.specs import get_spec, output_length
    from soundnet_keras.targets import STUDENT_RATE, TEACHER_RATE, \
        target_times
    from soundnet_keras.training import label_frames
    clip = inspect.signature(target_times).parameters["clip_seconds"].default
    teacher, paper = target_times(clip), target_times(clip, "paper")
    frames = label_frames(get_spec("snf"), int(clip * STUDENT_RATE), teacher)
    field, _ = conv8_field()

    def times(values, last="and"):
        return listing([f"{t:g}" for t in values], last)
    return wrap(
        "The paper trained the variants on 2 million Flickr videos with "
        "VGG16's object and scene distributions at "
        f"{times(paper)} s of each {clip:g} s clip. That data cannot be had, "
        "so here the teacher is the ported SoundNet-8, and each of its conv8 "
        "frames is the target of the student frame nearest that frame's own "
        f"centre: {listing([f'{t:.2f}' for t in teacher])} s of a {clip:g} s "
        "clip (`specs.frame_times`; student frames "
        f"{', '.join(map(str, frames))}), each frame summarising "
        f"~{field:.1f} s of audio. The paper's "
        f"{', '.join(f'{t:g}' for t in paper)} s (where VGG16 looked at the "
        "video) remain as `--alignment paper`; with SoundNet-8 as the "
        "teacher they put targets up to "
        f"{max(abs(paper - teacher)):.1f} s away from what the teacher heard. "
        "Longer clips give every conv8 frame as a target (`--clip-seconds "
        f"40`: {output_length('soundnet8', 'conv8', 40 * TEACHER_RATE)} per "
        "clip), and `--hop-seconds` cuts overlapping clips.")


# ---------------------------------------------------------- the evidence runs

#: The evidence runs (Figure 1's first data), by column label.
EVIDENCE = (("SN-F", "snf_standin"), ("SN-R (GRU)", "snr_standin"),
            ("SN-R (LSTM, tanh)", "snr_lstm_standin"))


def distill_evidence():
    """Train and validation KL per epoch of the small evidence runs (the
    lowest validation KL of each run in bold)."""
    runs = [load_history(name)["epochs"] for _, name in EVIDENCE]
    header = ["epoch"] + [f"{label} {split} KL" for label, _ in EVIDENCE
                          for split in ("train", "val")]
    rows = []
    for i in range(max(len(r) for r in runs)):
        row = [i + 1]
        for epochs in runs:
            if i >= len(epochs):
                row += ["", ""]
                continue
            best = min(e["val_kl"] for e in epochs)
            val = f"{epochs[i]['val_kl']:.3f}"
            row += [f"{epochs[i]['train_kl']:.3f}",
                    f"**{val}**" if epochs[i]["val_kl"] == best else val]
        rows.append(row)
    return "\n".join(md_table(header, rows, ["---:"] * len(header)))


def evidence_notes():
    """What the evidence runs' KL means: the paper's values and the
    constant student's."""
    from soundnet_keras.plots import PAPER_VAL_KL
    prior = read_json(STUDENT_HISTORIES / "prior_baseline.json")
    best = [_best(load_history(name)) for _, name in EVIDENCE]
    return "\n".join([
        item(f"The KL values are far below the paper's "
             f"({PAPER_VAL_KL['SN-F'][0]:g} SN-F, "
             f"{PAPER_VAL_KL['SN-R GRU'][0]:g} SN-R GRU) because the teacher "
             "differs: SoundNet-8's distributions are broad, VGG16's on "
             "video frames are sharp."),
        item("The best *constant* student (the mean training target, "
             "`soundnet_keras.targets.prior_baseline`; "
             "`weights/histories/prior_baseline.json`) scores "
             f"a validation KL of **{prior['kl']:.3f}** (objects "
             f"{prior['objects_kl']:.3f}, places {prior['places_kl']:.3f}) "
             f"and top-1 agreement {prior['objects_agreement']:.3f} / "
             f"{prior['places_agreement']:.3f}. At this scale the students "
             "only just beat it ("
             + ", ".join(f"{b['val_kl']:.3f}" for b in best)
             + ") and their top-1 agreement is about the prior's ("
             + ", ".join(f"{b['val_objects_agreement']:.3f} / "
                         f"{b['val_places_agreement']:.3f}" for b in best)
             + "): they have learned the teacher's prior, little more. "
             "Longer runs are needed before their features mean much; the "
             "pipeline, not the result, is what this run shows.")])


# --------------------------------- pretrained-trunk and from-scratch students

def trunk_cache():
    """The size of the cached pool5 features of a clip."""
    import inspect
    from soundnet_keras.specs import get_spec, output_length
    from soundnet_keras.targets import STUDENT_RATE, target_times
    clip = inspect.signature(target_times).parameters["clip_seconds"].default
    frames = output_length("snf", "pool5", int(clip * STUDENT_RATE))
    maps = next(r["filters"] for r in get_spec("snf")["layers"]
                if r["name"] == "conv5")
    return wrap(
        "The first `train-trunk` caches pool5 (`--features`; float16, "
        f"{frames} frames x {maps} maps = {frames * maps * 2 / 1024:.0f} KiB "
        f"per {clip:g} s clip), later ones reuse it.")


#: The pretrained-trunk runs of the results table: label, history.
TRUNK_RUNS = (
    ("SN-F, pretrained trunk (`snf_trunk_pool`)", "snf_trunk_pool"),
    ("SN-R GRU, pretrained trunk (`snr_trunk_pool`)", "snr_trunk_pool"),
    ("SN-F, same recipe, stand-in corpus train split", "snf_trunk_standin"),
    ("SN-R GRU, same recipe, stand-in corpus train split",
     "snr_trunk_standin"))
SCRATCH_RUNS = (
    ("SN-F, from scratch (`snf_scratch_pool`)", "snf_scratch_pool"),
    ("SN-R GRU, from scratch (`snr_scratch_pool`)", "snr_scratch_pool"))


def _students_table(runs):
    """Each run's best epoch against the constant student; the lowest
    validation KL and the largest gain in bold."""
    from soundnet_keras.cards import PAPER_EPOCHS
    histories = [(label, load_history(name)) for label, name in runs]
    bests = [_best(h) for _, h in histories]
    top_kl = min(b["val_kl"] for b in bests)
    top_gain = max(_below(b) for b in bests)
    rows = []
    for (label, h), b in zip(histories, bests):
        model, run = h["config"]["model"], len(h["epochs"])
        stopped = ", stopped" if run < h["config"]["epochs"] else ""
        kl, gain = f"{b['val_kl']:.3f}", f"{_below(b):.1f}%"
        rows.append((
            label, f"{run} ({PAPER_EPOCHS[model]}){stopped}", b["epoch"],
            f"**{kl}**" if len(runs) > 2 and b["val_kl"] == top_kl else kl,
            f"{b['constant_kl']:.3f}",
            f"**{gain}**" if len(runs) > 2 and _below(b) == top_gain
            else gain,
            f"{b['val_objects_agreement']:.3f} "
            f"({b['prior_objects_agreement']:.3f})",
            f"{b['val_places_agreement']:.3f} "
            f"({b['prior_places_agreement']:.3f})"))
    return md_table(("student (preset)", "epochs run (paper)", "best epoch",
                     "val KL", "constant KL", "below constant",
                     "objects top-1", "places top-1"), rows,
                    ("---",) + ("---:",) * 7)


def trunk_results():
    return "\n".join(_students_table(TRUNK_RUNS))


def _epoch_seconds(name):
    return [e["time_s"] for e in load_history(name)["epochs"]]


def trunk_findings():
    """Time per epoch of the pool runs, and what the runs show."""
    from soundnet_keras.cards import PAPER_EPOCHS
    from soundnet_keras.specs import layer_table
    snf, snr = load_history("snf_trunk_pool"), load_history("snr_trunk_pool")
    cpus = snf["provenance"]["machine"]["cpus"]
    field, _ = conv8_field()
    pool5 = layer_table("snf").set_index("layer").loc["pool5",
                                                      "receptive_field_s"]
    best, last = _best(snf), snf["epochs"][-1]

    def span(name):
        t = _epoch_seconds(name)
        return f"{min(t):.0f}-{max(t):.0f} s"
    return "\n".join([
        wrap(f"Time per epoch on the shared {cpus}-core CPU (each history's "
             f"`time_s`; XLA): SN-F {span('snf_trunk_pool')}, SN-R "
             f"{span('snr_trunk_pool')}, depending on the other jobs, so "
             f"SN-R was stopped after {len(snr['epochs'])} of the paper's "
             f"{PAPER_EPOCHS['snr']} epochs (the run folder resumes with the "
             "same command). What they show:"), "",
        item("SN-R, whose bidirectional GRUs see the whole clip as each "
             f"teacher frame does (~{field:.1f} s), learns the teacher well "
             "beyond its prior in its first epochs."),
        item(f"SN-F sees {pool5:.2f} s per frame and cannot know what the "
             f"teacher heard around it: it gets {_below(best):.1f}% below "
             f"the constant student at epoch {best['epoch']} and then "
             f"overfits the training clips (at epoch {last['epoch']}: "
             f"training KL {last['train_kl']:.3f}, validation "
             f"{last['val_kl']:.3f}, lr {_sci(last['lr'])}), so its preset is "
             "the best validation epoch.")])


def scratch_intro():
    snf, snr = (load_history(f"{m}_scratch_pool") for m in ("snf", "snr"))

    def minutes(h):
        t = [e["time_s"] for e in h["epochs"]]
        return sum(t) / len(t) / 60
    return wrap(
        "Table 2 / 3 trained whole from random weights, as in the paper, "
        "with the paper's optimizer, epoch and schedule, on the same pool "
        f"targets as the pretrained-trunk students, "
        f"{snf['config']['precision']} on the "
        f"{snf['provenance']['machine']['cpus']}-core CPU, one thread each, "
        f"side by side (~{minutes(snf):.0f} min an epoch for SN-F, "
        f"~{minutes(snr):.0f} for SN-R):")


def scratch_stopped():
    """How far the from-scratch runs went against the paper's."""
    from soundnet_keras.cards import PAPER_EPOCHS
    runs = [(m, load_history(f"{m}_scratch_pool")) for m in ("snf", "snr")]
    steps = [len(h["epochs"]) * h["config"]["steps_per_epoch"]
             for _, h in runs]
    paper = [PAPER_EPOCHS[m] * h["config"]["steps_per_epoch"]
             for m, h in runs]
    minutes = [sum(e["time_s"] for e in h["epochs"]) / 60 for _, h in runs]
    return wrap(
        f"They were stopped after {len(runs[0][1]['epochs'])} and "
        f"{len(runs[1][1]['epochs'])} epochs ({minutes[0]:.0f} and "
        f"{minutes[1]:.0f} minutes): {steps[0]:,} and {steps[1]:,} "
        f"minibatches, {100 * steps[0] / paper[0]:.0f}% and "
        f"{100 * steps[1] / paper[1]:.0f}% of the paper's {paper[0]:,} and "
        f"{paper[1]:,}.")


def scratch_results():
    """The from-scratch runs' table and what they show."""
    from soundnet_keras.cards import PAPER_EPOCHS
    snf, snr = (load_history(f"{m}_scratch_pool") for m in ("snf", "snr"))
    bsnf, bsnr = _best(snf), _best(snr)
    lsnf, lsnr = snf["epochs"][-1], snr["epochs"][-1]
    trunk = [_below(_best(load_history(n)))
             for n in ("snf_trunk_pool", "snr_trunk_pool")]
    findings = [
        item("Both learn the teacher beyond its prior within their first "
             "epochs, about as far as the pretrained-trunk students (SN-F "
             f"{trunk[0]:.1f}%, SN-R {trunk[1]:.1f}% below the constant "
             "student): SoundNet-8's frozen convolutions buy little here, "
             "and cost nothing in accuracy."),
        item("Both overfit the training clips early: SN-F's validation KL "
             f"is lowest at epoch {bsnf['epoch']} (training KL "
             f"{bsnf['train_kl']:.3f}) and {lsnf['val_kl']:.3f} at epoch "
             f"{lsnf['epoch']} (training {lsnf['train_kl']:.3f}); SN-R's "
             f"rises from {bsnr['val_kl']:.3f} to {lsnr['val_kl']:.3f} at "
             f"epoch {lsnr['epoch']} (training {lsnr['train_kl']:.3f}). The "
             f"paper's {PAPER_EPOCHS['snf']}-{PAPER_EPOCHS['snr']} epochs "
             "were run on millions of clips; on this pool more epochs would "
             "mostly fit the training clips further. A larger pool, not a "
             "longer run, is what these students need.")]
    return "\n".join(_students_table(SCRATCH_RUNS) + [""] + findings)


#: region name -> function returning its Markdown.
REGIONS = {
    "guides-snf-layers": snf_layers,
    "guides-alignment": alignment,
    "guides-distill-evidence": distill_evidence,
    "guides-evidence-notes": evidence_notes,
    "guides-trunk-cache": trunk_cache,
    "guides-trunk-results": trunk_results,
    "guides-trunk-findings": trunk_findings,
    "guides-scratch-intro": scratch_intro,
    "guides-scratch-stopped": scratch_stopped,
    "guides-scratch-results": scratch_results,
}
