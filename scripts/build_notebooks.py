"""Writes the notebooks of notebooks/ from the cells below, runs them, keeps
their outputs and saves each figure as notebooks/figures/<name>.png (the
PNGs the README shows are these outputs).

    python scripts/build_notebooks.py            # write, run, save figures
    python scripts/build_notebooks.py --no-run   # write the cells only

The notebooks themselves only read saved histories and call plotting
functions of the packages (soundnet_keras.plots, sed.plots).
"""

import argparse
import base64
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
FIGURES = NOTEBOOKS / "figures"

SETUP = """\
%matplotlib inline
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import pandas as pd
pd.set_option("display.precision", 3)"""


def md(text):
    return nbformat.v4.new_markdown_cell(text.strip())


def code(text, figure=None):
    cell = nbformat.v4.new_code_cell(text.strip())
    if figure:
        cell.metadata["figure"] = figure
    return cell


FIGURE1 = [
    md("""
# Figure 1: training the variants of SoundNet

Wang & Metze (Interspeech 2017, Section 3.1) train two variants of SoundNet on
16 kHz audio, both with a 10 Hz output: **SN-F** puts three fully connected layers
(100 units) on top of SoundNet's pool5, **SN-R** three bidirectional recurrent
layers (GRU or LSTM, 100 units per direction, batch norm after each). They learn
by distillation: the student's two softmax heads (1,000 objects, 401 places)
imitate a teacher's distributions, and the loss is the KL divergence in nats per
frame. The figure shows the validation KL after each epoch.

**What the paper found.** SN-F converged fastest, to a validation KL of 5.39 at
epoch 175; SN-R reached 5.43 with GRU cells and 5.58 with LSTM cells at epoch 300;
the original SoundNet scores 5.15. The recurrent variants are slower to train and
end no better.
"""),
    md("""
**What was run here** (see the README, "Pretrained-trunk students"): the teacher
is the ported SoundNet-8, not VGG16 on 2 million Flickr videos, so the KL values
live on another scale (SoundNet-8's distributions are broad). Each of its conv8
frames is the target of the student frame nearest its centre. The audio is the
distillation pool (real music and speech from Debian packages, none of it in the
detection corpus): 2,574 training clips of 20 s and 230 validation clips from
held-out files. The students are the pretrained-trunk kind: Table 2 / 3's shapes,
conv1-conv5 from SoundNet-8 and frozen, the upper layers and heads trained with the
paper's optimizer, epoch (160 minibatches of 64 clips) and schedule, as many epochs
as a shared 2-core CPU allowed. The dashed line is the best *constant* student on
the same validation clips, which predicts the mean training target whatever it
hears: a student has to go below it to have learned anything from the audio.
"""),
    code(SETUP),
    code("""
from soundnet_keras import plots

histories = {label: plots.read_history(f"../weights/histories/{name}.history.json")
             for label, name in (("SN-F (pretrained trunk)", "snf_trunk_pool"),
                                 ("SN-R GRU (pretrained trunk)", "snr_trunk_pool"))}
baseline = next(iter(histories.values()))["constant_kl"].iloc[0]
for label, history in histories.items():
    print(f"{label}: {len(history)} epochs; {plots.describe_run(history)}")
"""),
    code("""
fig = plots.plot_variant_kl(histories, baseline=baseline)
""", figure="figure1_soundnet_variants"),
    code("""
rows = {}
for label, h in histories.items():
    best = h.loc[h["val_kl"].idxmin()]
    rows[label] = {
        "epochs run": len(h), "best epoch": int(best["epoch"]),
        "best val KL": best["val_kl"], "constant student KL": best["constant_kl"],
        "below constant": 1 - best["val_kl"] / best["constant_kl"],
        "objects top-1 (prior)": f"{best['val_objects_agreement']:.3f} "
                                 f"({best['prior_objects_agreement']:.3f})",
        "places top-1 (prior)": f"{best['val_places_agreement']:.3f} "
                                f"({best['prior_places_agreement']:.3f})"}
pd.DataFrame(rows).T
"""),
    md("""
**Reading it.** SN-R, whose bidirectional GRUs see the whole clip as the teacher's
conv8 frames (~14.5 s of audio each) do, falls far below the constant student and
agrees with the teacher's top class much more often than the prior does. SN-F sees
0.34 s per frame: it beats the constant student by less, and starts to overfit the
training clips after a few epochs (its training KL keeps falling while the
validation KL rises), so its preset is its best validation epoch.
"""),
]

FIGURE2 = [
    md("""
# Figure 2: how fast the CTC-RNN learns on each feature

The detector (Section 3.2) is one bidirectional LSTM layer (400 units per
direction) with a softmax over 2n+1 tokens (a blank, plus the onset and the offset
of each of the n = 17 event types), trained with connectionist temporal
classification and alignment hinting (each boundary token within 10 frames, 1 s,
of its annotated time). The figure follows the training loss and the token error
rate (TER: edit distance over reference length, by best-path decoding) on the
training, validation and test recordings, for four input features: the 50-d
low-level acoustic feature, SoundNet-8's conv5, SN-F's fc1 and SN-R's gru1 after
batch norm.

**What the paper found.** With the transfer-learning features the training loss
falls at once and the TERs converge within a few dozen epochs; with low-level
features training has a long warm-up and has not converged at epoch 200. All
features overfit badly: training TER near 0.02-0.15 against 0.75-0.85 on
validation and test.
"""),
    code(SETUP),
    code("""
from sed import plots as sp
from soundnet_keras.plots import describe_run

HISTORIES = "histories/table4"
histories = sp.table4_histories(HISTORIES, rows=sp.FIGURE2_ROWS)
for label, history in histories.items():
    cfg = history.attrs["config"]
    print(f"{label}: {len(history)} of {cfg['training']['epochs']} epochs, "
          f"{int(history['steps'].iloc[0])} minibatches each; "
          f"{describe_run(history)}")
"""),
    md("""
**What was run here**: `sed-ctc experiments table4` on the stand-in corpus (9.6 h of
mixtures of real recordings, 17 event types, split 3:1:1; README, "Corpora"),
with the paper's recipe except two documented deviations (tanh instead of ReLU in
the LSTM, gradient-norm clipping at 1: see the README's deviations table), for far
fewer epochs than the paper's 200 (the number is printed above; one epoch is one
pass over 5.8 h of training audio).
"""),
    code("""
fig = sp.plot_convergence(histories)
""", figure="figure2_ctc_convergence"),
    md("""
**Reading it.** Compare the first epochs: how fast the training loss leaves its
starting plateau and how soon the training TER drops. The cell below measures
it: the first epoch at which each feature's training TER falls below a threshold.
"""),
    code("""
rows = []
for label, h in histories.items():
    reached = h.loc[h["train_ter"] < 0.5, "epoch"]
    best = h.loc[h["val_ter"].idxmin()]
    rows.append({"feature": label,
                 "first epoch train TER < 0.5": int(reached.iloc[0]) if len(reached) else None,
                 "final train loss": h["train_loss"].iloc[-1],
                 "final train TER": h["train_ter"].iloc[-1],
                 "best val TER": best["val_ter"], "at epoch": int(best["epoch"]),
                 "final test TER": h["test_ter"].iloc[-1]})
pd.DataFrame(rows).set_index("feature")
"""),
]

FIGURE3 = [
    md("""
# Figure 3: what the higher layers of SN-F and SN-R see

The paper explains why features from the recurrent layers of SN-R get worse with
depth (Table 4: gru3 gives 96% validation TER) by looking at activations on a
recording with a clear change of sound at 4.5 s. In SN-F the change stays sharp in
fc1, fc2 and fc3: each fully connected layer sees only its own 0.34 s frame. In
SN-R it blurs at gru2 and disappears at gru3: a bidirectional recurrent layer mixes
in information from far away, and loses the local detail a detector of onsets and
offsets needs.
"""),
    md("""
**What is run here.** A 10 s recording that changes from one real sound to another
at 4.5 s (`sed.data.transition_recording`, from the stand-in corpus's material;
built-in synthetic sounds where its Debian packages are missing), through the
pretrained-trunk SN-F and SN-R (GRU) presets distilled on the real-audio pool
(`snf_trunk_pool`, `snr_trunk_pool`, see Figure 1; conv1-conv5 are SoundNet-8's). Rows are units, columns are 10 Hz frames; each
unit is shown as its deviation from its own mean over the recording (in standard
deviations), so that changes over time stand out; the dashed line marks 4.5 s.
"""),
    code(SETUP),
    code("""
from sed.data import standin_available, transition_recording
from soundnet_keras import plots

WEIGHTS = {"snf": "snf_trunk_pool", "snr": "snr_trunk_pool"}

if standin_available():
    before, after = "music", "jackhammer"
else:
    print("The stand-in packages are missing: using synthetic sounds.")
    before, after = "harmonic_buzz", "white_noise"
waveform, events = transition_recording(before, after, at=4.5, seconds=10.0)
events
"""),
    code("""
snf, times = plots.layer_activations(waveform, "snf", plots.FIGURE3_LAYERS["snf"],
                                   weights=WEIGHTS["snf"])
snr, _ = plots.layer_activations(waveform, "snr", plots.FIGURE3_LAYERS["snr"],
                                   weights=WEIGHTS["snr"])
panels = {**{f"SN-F {k}": v for k, v in snf.items()},
          **{f"SN-R {k.replace('_bn', '-BN')}": v for k, v in snr.items()}}
fig = plots.plot_activations(panels, times, transition=4.5, standardise=True)
""", figure="figure3_activations"),
    md("""
The same activations raw (no standardisation), as the paper shows them.
"""),
    code("""
fig = plots.plot_activations(panels, times, transition=4.5, standardise=False)
""", figure="figure3_activations_raw"),
    md("""
**Measuring the blur.** `transition_contrast` divides the distance between the
mean activations of the second before and the second after 4.5 s by the mean
distance between neighbouring frames: a sharp, lasting change scores high, a
change no bigger than the frame-to-frame jitter scores about 1.
"""),
    code("""
pd.Series({name: plots.transition_contrast(values, times, 4.5)
           for name, values in panels.items()}, name="transition contrast").to_frame()
"""),
    md("""
One recording is one example. The same measure over a few more pairs of sounds
(each row a recording, each column a layer) shows how much it depends on the
sounds, and whether the recurrent layers blur the change more than the fully
connected ones, as the paper saw. Our students keep SoundNet-8's convolutions
and learned only their upper layers (Figure 1).
"""),
    code("""
pairs = ([("music", "jackhammer"), ("wind", "train"), ("crowd", "music"),
          ("helicopter", "bird")] if standin_available() else
         [("harmonic_buzz", "white_noise"), ("low_tone", "rumble")])
rows = {}
for first, second in pairs:
    x, _ = transition_recording(first, second, at=4.5, seconds=10.0)
    a, t = plots.layer_activations(x, "snf", plots.FIGURE3_LAYERS["snf"],
                                   weights=WEIGHTS["snf"])
    b, _ = plots.layer_activations(x, "snr", plots.FIGURE3_LAYERS["snr"],
                                   weights=WEIGHTS["snr"])
    rows[f"{first} -> {second}"] = {
        **{f"SN-F {k}": plots.transition_contrast(v, t, 4.5) for k, v in a.items()},
        **{f"SN-R {k}": plots.transition_contrast(v, t, 4.5) for k, v in b.items()}}
pd.DataFrame(rows).T
"""),
]

TABLE4 = [
    md("""
# Table 4: sound event detection with each feature layer

Table 4 of the paper trains the CTC-RNN on features from every candidate layer
(the low-level feature, SoundNet-8's conv5, SN-F's pool5 and fc1-fc3, SN-R's pool5
and gru1-gru3 before and after batch norm) and reports the token error rate on
the training, validation and test sets.

**What the paper found.** Every transfer-learning feature beats the low-level
feature on validation and test (best: SN-R gru1-BN on validation, 75.8%; SoundNet
conv5 on test, 74.0%; low-level 82.8% / 81.0%). Layers closer to the
distillation target do not help: SN-F's fc layers are no better than its pool5,
and SN-R gets much worse at gru3 (96%), where the recurrent layers have blurred
the timing (Figure 3).
"""),
    code(SETUP),
    code("""
from sed import plots as sp
from sed.experiments import table4

HISTORIES = "histories/table4"
runs = table4(HISTORIES)
runs[["label", "epochs", "status"]].set_index("label").T
"""),
    md("""
**What was run here**: `sed-ctc experiments table4` on the 9.6 h stand-in corpus,
one run per row with the same recipe and number of epochs (printed above; the
paper trained 200 epochs, 500 for the low-level feature), tanh LSTM and gradient
clipping as documented deviations. TERs are at the last epoch, in percent; the
last column is the best validation TER and its epoch.
"""),
    code("""
comparison = sp.table4_comparison(HISTORIES)
comparison
"""),
    code("""
fig = sp.plot_table4(comparison)
""", figure="table4_feature_layers"),
    code("""
ours = comparison["ours test"]
print(f"best test TER here: {ours.idxmin()} ({ours.min():.1f}%); "
      f"low-level: {ours.get('Low-level', float('nan')):.1f}%")
print(f"rows beating the low-level feature on test: "
      f"{int((ours < ours.get('Low-level', float('inf'))).sum())} of {len(ours) - 1}")
"""),
]

BOOKS = {"figure1_soundnet_variants.ipynb": FIGURE1,
         "figure2_ctc_convergence.ipynb": FIGURE2,
         "figure3_activations.ipynb": FIGURE3,
         "table4_feature_layers.ipynb": TABLE4}


def build(name, cells, run=True):
    book = nbformat.v4.new_notebook(cells=cells)
    book.metadata["kernelspec"] = {"name": "python3", "display_name":
                                   "Python 3", "language": "python"}
    path = NOTEBOOKS / name
    if run:
        start = time.perf_counter()
        NotebookClient(book, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOKS)}}
                       ).execute()
        print(f"{name}: ran in {time.perf_counter() - start:.0f} s")
        for cell in book.cells:
            figure = cell.metadata.get("figure")
            for output in cell.get("outputs", []):
                png = output.get("data", {}).get("image/png")
                if figure and png:
                    FIGURES.mkdir(exist_ok=True)
                    (FIGURES / f"{figure}.png").write_bytes(
                        base64.b64decode(png))
                    print(f"  wrote notebooks/figures/{figure}.png")
                    break
    nbformat.write(book, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-run", action="store_true")
    parser.add_argument("names", nargs="*", help="notebooks (default all)")
    args = parser.parse_args(argv)
    for name, cells in BOOKS.items():
        if not args.names or name in args.names:
            build(name, cells, run=not args.no_run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
