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
from soundnet_keras.console import start_tensorflow
start_tensorflow()  # TensorFlow without its start-up lines
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
held-out files. Two kinds of students, with the paper's optimizer, epoch (160
minibatches of 64 clips) and schedule: *from scratch* (solid lines), Table 2 / 3
trained whole as in the paper, for as long as a few hours of a 2-core CPU allowed
(SN-F 10 of the paper's 175 epochs, SN-R 7 of 300); and on a *pretrained trunk*
(dashed), conv1-conv5 from SoundNet-8 and frozen, only the upper layers and heads
trained (SN-F for all 175 epochs, SN-R for 8). The epoch axis is logarithmic. The
grey line is the best *constant* student on the same validation clips, which
predicts the mean training target whatever it hears: a student has to go below it
to have learned anything from the audio.
"""),
    code(SETUP),
    code("""
from soundnet_keras import plots

histories = plots.variant_histories()   # weights/histories/
baseline = next(iter(histories.values()))["constant_kl"].iloc[0]
for label, history in histories.items():
    print(f"{label}: {len(history)} epochs; {plots.describe_run(history)}")
"""),
    code("""
fig = plots.plot_variant_kl(histories, baseline=baseline, xscale="log")
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
agrees with the teacher's top class much more often than the prior does, from
scratch as on the pretrained trunk. SN-F sees 0.34 s per frame: it beats the
constant student by about a quarter either way, and overfits the 2,574 training
clips after a few epochs (its training KL keeps falling while the validation KL
rises). Every preset is its run's best validation epoch. Unlike the paper, SN-R ends
well ahead of SN-F: the paper's teacher (VGG16 on one video frame) described a moment,
ours (SoundNet-8's conv8) describes ~14.5 s of sound, which a recurrent student can
hear and a frame-wise one cannot.
"""),
]

FIGURE2 = [
    md("""
# Figure 2: does the CTC-RNN need a warm-up, and do transfer features remove it?

The detector (Section 3.2) is one bidirectional LSTM layer (400 units per
direction) with a softmax over 2n+1 tokens (a blank, plus the onset and the offset
of each of the n = 17 event types), trained with connectionist temporal
classification and alignment hinting (each boundary token within 10 frames, 1 s,
of its annotated time). The figure follows the training loss and the token error
rate (TER: edit distance over reference length, by best-path decoding) on the
training, validation and test recordings.

**What the paper found.** With low-level features the network has a "warm-up"
stage of about 60 epochs in which it outputs nothing (40 with frame-wise
pre-training); with transfer-learning features (SoundNet conv5, SN-F fc1, SN-R
gru1-BN) "the warm-up stage was almost non-existent" and training converged much
faster. All features overfit: training TER near 0.02-0.15 against 0.75-0.85 on
validation and test.
"""),
    code(SETUP),
    code("""
from sed import plots as sp
from sed.experiments import sweep_table, warmup_marks
from soundnet_keras.plots import describe_run

HISTORIES = "histories/warmup"
histories = sp.figure2_histories(HISTORIES, "histories/table4_20epochs")
for name, history in histories.items():
    cfg = history.attrs["config"]
    print(f"{name}: {len(history)} of {cfg['training']['epochs']} epochs, "
          f"{int(history['steps'].iloc[0])} minibatches each; "
          f"{describe_run(history)}")
"""),
    md("""
**What was run here**: `sed-ctc experiments sweep` on the stand-in corpus v2 (9.6 h
of mixtures of real recordings, 17 event types, split 3:1:1; README, "Corpora"):
three features (the openSMILE low-level feature of [6]'s kind, this project's own
low-level feature, SoundNet-8 conv5) x two recipes (the paper's: ReLU on the LSTM's
cell input, lr 3.0, no clipping; and tanh with the gradient norm clipped at 1) x two
seeds, and the openSMILE feature once more with frame-wise pre-training before the
paper's recipe (10 epochs; two seeds). The paper's two student rows, SN-F fc1 and
SN-R gru1-BN, come from Table 4's
runs (`sed-ctc experiments table4`: the paper's recipe, one seed, the
pretrained-trunk students `snf_trunk_pool` and `snr_trunk_pool`), where those have
a history. The printout above says how many epochs each run has reached (the paper:
200; runs continue where they stopped). Every seed is a line of its own: colour =
feature, solid = the paper's recipe, dotted = with frame-wise pre-training, dashed =
tanh + clipping.
"""),
    code("""
fig = sp.plot_warmup(histories)
""", figure="figure2_ctc_convergence"),
    md("""
**The warm-up, step by step.** The share of frames whose best-path token is not the
blank, per training step (running mean over 25 steps). A freshly initialised network
emits tokens everywhere; within a few steps it learns to output only blanks (the
blank is right at about 93% of the frames), and the warm-up lasts until it starts to
emit tokens again.
"""),
    code("""
fig = sp.plot_warmup_steps(histories, steps=2000)
""", figure="figure2_warmup_steps"),
    md("""
**Where each run's warm-up ends** (`sed.experiments.warmup_marks`): the first
training step after the all-blank stage with a non-blank frame, the first epoch
whose decoding of the training recordings holds a token, the first epoch whose
decoding holds at least 10% as many tokens as the reference (the end of the
near-silent stage), and the first epoch (and the steps by then) with training TER
below 50%; then the final and best TERs.
"""),
    code("""
table = sweep_table(HISTORIES)
# the table printed here is the committed sweep.csv, recomputed
import pandas as pd
committed = pd.read_csv(f"{HISTORIES}/sweep.csv")
pd.testing.assert_frame_equal(table, committed, check_dtype=False, atol=1e-4)
table.drop(columns=["status"]).set_index("run")
"""),
    code("""
# the same marks for the runs taken from Table 4
import pandas as pd
pd.DataFrame({name: warmup_marks(history.to_dict("records"))
              for name, history in histories.items()
              if name not in set(table["run"])}).T
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
at 4.5 s (`sed.corpora.transition_recording`, from the stand-in corpus's material;
built-in synthetic sounds where its Debian packages are missing), through the
pretrained-trunk SN-F and SN-R (GRU) presets distilled on the real-audio pool
(`snf_trunk_pool`, `snr_trunk_pool`, see Figure 1; conv1-conv5 are SoundNet-8's). Rows are units, columns are 10 Hz frames; each
unit is shown as its deviation from its own mean over the recording (in standard
deviations), so that changes over time stand out; the dashed line marks 4.5 s.
"""),
    code(SETUP),
    code("""
from sed.corpora import standin_available, transition_recording
from soundnet_keras import plots

WEIGHTS = {"snf": "snf_trunk_pool", "snr": "snr_trunk_pool"}


def student_panels(x, weights):
    # Figure 3's layers of both students, one panel per layer.
    f, t = plots.layer_activations(x, "snf", plots.FIGURE3_LAYERS["snf"],
                                   weights=weights["snf"])
    r, _ = plots.layer_activations(x, "snr", plots.FIGURE3_LAYERS["snr"],
                                   weights=weights["snr"])
    return {**{f"SN-F {k}": v for k, v in f.items()},
            **{f"SN-R {k.replace('_bn', '-BN')}": v for k, v in r.items()}}, t


if standin_available():
    before, after = "music", "tools"
else:
    print("The stand-in packages are missing: using synthetic sounds.")
    before, after = "harmonic_buzz", "white_noise"
waveform, events = transition_recording(before, after, at=4.5, seconds=10.0)
events
"""),
    code("""
panels, times = student_panels(waveform, WEIGHTS)
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
**The paper-faithful students.** The same recording through the students trained
from scratch on the pool, as the paper trained its own (`snf_scratch_pool`,
`snr_scratch_pool`; far fewer epochs than the paper's, see Figure 1).
"""),
    code("""
SCRATCH = {"snf": "snf_scratch_pool", "snr": "snr_scratch_pool"}
scratch_panels, _ = student_panels(waveform, SCRATCH)
fig = plots.plot_activations(scratch_panels, times, transition=4.5, standardise=True)
""", figure="figure3_activations_scratch"),
    md("""
One recording is one example. The same measure over a few more pairs of sounds
(each row a recording, each column a student's layer) shows how much it depends on
the sounds, and whether the recurrent layers blur the change more than the fully
connected ones, as the paper saw, for both kinds of students: the pretrained-trunk
ones keep SoundNet-8's convolutions and learned only their upper layers, the
from-scratch ones learned everything (Figure 1).
"""),
    code("""
pairs = ([("music", "tools"), ("wind", "vehicle"), ("crowd", "music"),
          ("rain", "bird")] if standin_available() else
         [("harmonic_buzz", "white_noise"), ("low_tone", "rumble")])
rows = {}
for first, second in pairs:
    x, _ = transition_recording(first, second, at=4.5, seconds=10.0)
    for kind, weights in (("trunk", WEIGHTS), ("scratch", SCRATCH)):
        layers, t = student_panels(x, weights)
        rows[(kind, f"{first} -> {second}")] = {
            name: plots.transition_contrast(v, t, 4.5) for name, v in layers.items()}
pd.DataFrame(rows).T.round(2)
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

HISTORIES = "histories/table4_20epochs"
runs = table4(HISTORIES)
# the runs read here are the committed table4.csv, recomputed
import pandas as pd
committed = pd.read_csv(f"{HISTORIES}/table4.csv")
numbers = committed.select_dtypes("number").columns
pd.testing.assert_frame_equal(runs[numbers], committed[numbers],
                              check_dtype=False, atol=1e-4)
assert runs["run"].tolist() == committed["run"].tolist()
runs[["label", "epochs", "status"]].set_index("label").T
"""),
    md("""
**What was run here**: `sed-ctc experiments table4` on the 9.6 h stand-in corpus
v2, one run per row with the paper's recipe (ReLU on the LSTM's cell input, lr 3.0,
Nesterov 0.9, no clipping) and the same number of epochs (printed above, with each
row's status; the paper trained 200 epochs, 500 for the low-level feature); the SN-F
and SN-R rows use the pretrained-trunk students distilled on a separate pool of real
recordings (`snf_trunk_pool`, `snr_trunk_pool`); the rows marked "(from scratch)"
repeat them on the paper-faithful students trained from scratch on the same pool
(`snf_scratch_pool`, `snr_scratch_pool`). TERs are at the last epoch, in
percent; the last column gives the validation and test TER of the epoch with the
lowest validation TER, and that epoch.
"""),
    code("""
comparison = sp.table4_comparison(HISTORIES)
comparison
"""),
    code("""
fig = sp.plot_table4(comparison)
""", figure="table4_feature_layers"),
    code("""
best = 100 * runs.set_index("label")["best_test_ter"]
print(f"best test TER here (at each row's best validation epoch): "
      f"{best.idxmin()} ({best.min():.1f}%); "
      f"low-level: {best.get('Low-level', float('nan')):.1f}%")
print(f"rows beating the low-level feature on test: "
      f"{int((best < best.get('Low-level', float('inf'))).sum())} of "
      f"{len(best) - ('Low-level' in best.index)}")
"""),
    md("""
## Table 4 at convergence, over seeds

The runs above stopped at 20 epochs, one seed each. `sed-ctc experiments table4
--corpus data/standin --jobs 2 --publish` runs every row with three seeds until its
validation TER has not improved for 15 epochs (or to 200 epochs), publishing each
run's history after every epoch into `histories/table4`; the runs published so far
are drawn here, each seed a point (its best validation TER, and its test TER at that
epoch), the paper's a grey diamond. Intervals and the verdicts on the paper's claims:
the documentation's Table 4 page (`docs/table4.md`).
"""),
    code("""
from sed.results import collect, row_summary

converged = collect("histories/table4")
# the runs read here are the committed table4.csv, recomputed
committed = pd.read_csv("histories/table4/table4.csv")
assert converged["run"].tolist() == committed["run"].tolist()
pd.testing.assert_frame_equal(
    converged[["best_val_ter", "best_test_ter"]],
    committed[["best_val_ter", "best_test_ter"]], check_dtype=False, atol=1e-4)
summary = row_summary(converged).set_index("label")
summary[["seeds", "finished", "best_val_ter_mean", "best_val_ter_std",
         "best_test_ter_mean"]]
"""),
    code("""
fig = sp.plot_table4_seeds(converged)
""", figure="table4_seeds"),
]

TUTORIAL = [
    md("""
# A hands-on course: a network that hears scenes, and a detector that fires at event boundaries

Wang & Metze (Interspeech 2017) detect sound events (what sounds, from when to
when, several at once) in three ideas, and this notebook lets you touch each:

1. **A network that hears scenes.** SoundNet (Aytar, Vondrick & Torralba, 2016)
   learnt to recognise objects and places from the sound of 2 million videos.
   Its inner layers are general-purpose sound features.
2. **Features from one of its layers.** The paper feeds the activations of a
   layer (here conv5, about 10.8 frames per second) to a small recurrent network.
3. **A CTC network that fires a peak at each event boundary.** Trained with
   connectionist temporal classification (CTC) on *boundary tokens* (the onset and
   the offset of each event type), the network says "blank" almost everywhere
   and fires a short peak where an event starts or ends. Best-path decoding turns
   the peaks into timed events.

Run the cells top to bottom (a few minutes on a laptop CPU; nothing is
downloaded beyond the project's set-up, `make test`). Every number printed is
computed here. **Exercises** are in bold; the cell after each shows the answer.
"""),
    code(SETUP + """
import tempfile
import time
from pathlib import Path

import numpy as np
from IPython.display import Audio, display

import soundnet_keras as sk
from soundnet_keras import plots
from sed import plots as sp

import warnings
warnings.filterwarnings("ignore", message="IProgress not found")
import tensorflow as tf
tf.get_logger().setLevel("ERROR")

started = time.perf_counter()
WORK = Path(tempfile.mkdtemp(prefix="soundnet_course_"))"""),
    md("""
## 1. A small corpus, and one recording to listen to

A corpus is a folder of recordings with annotations: for each recording, the
events it contains, each with an onset, an offset and a label. With the Debian
packages of the stand-in corpus's small tier fetched (`make standin-packages`),
the recordings below are mixtures of real recordings (sound effects, speech,
music, a keyboard, bells; 17 event types, up to three at once, over noise);
without them, the built-in corpus of 17 synthetic sounds. Either is built in
seconds and split into training, validation and test recordings.
"""),
    code("""
from sed.corpora import make_default_corpus, make_standin_corpus, standin_available

if standin_available("small"):
    corpus = make_standin_corpus(WORK / "corpus", hours=0.5, tier="small",
                                 progress=False)
    print("The stand-in corpus: mixtures of real recordings.")
else:
    corpus = make_default_corpus(WORK / "corpus", minutes=30)
    print("Stand-in packages missing (make standin-packages): the synthetic corpus.")
pd.DataFrame({split: {"recordings": len(corpus.files(split)),
                      "minutes": sum(corpus.durations[f] for f in corpus.files(split)) / 60,
                      "events": len(corpus.events(split))}
              for split in ("train", "val", "test")}).T
"""),
    md("""
We keep one **validation** recording for the whole notebook: the detector will
never train on it. Press play: can you hear where each event starts and ends?
"""),
    code("""
name = min(corpus.files("val"), key=corpus.durations.get)
path = corpus.audio_path(name)
reference = sp.reference_events(corpus.events("val"), name)
waveform = sk.load_audio(path, sample_rate=16000)
print(f"{name}: {len(waveform) / 16000:.1f} s, {len(reference)} events of "
      f"{reference['event_label'].nunique()} types")
display(Audio(waveform, rate=16000))
reference
"""),
    md("""
## 2. Its spectrogram

Time runs left to right, frequency (40 mel bands: finer at low frequencies, as
our ears) bottom to top, colour is the log energy. Below it, the annotation as
an *event roll*: one row per event type, a bar per event.
"""),
    code("""
fig = sp.plot_detection(waveform, corpus.classes, reference=reference)
"""),
    md("""
## 3. Ask SoundNet what it hears

SoundNet-8 is a fully convolutional network on the raw waveform (22,050 Hz).
Its two heads give, every 2.97 s (one *conv8 frame*, hearing 14.5 s of sound),
a probability distribution over 1,000 objects and 401 places: what a picture
of the scene would show. The mixtures are not scenes, so expect odd answers;
watch where it changes its mind.
"""),
    code("""
waveform_22k = sk.load_audio(path)            # 22,050 Hz for SoundNet-8
soundnet = sk.SoundNet8()
fig, heard = plots.predictions_figure(waveform_22k, 22050, model=soundnet, top=5)
for head in ("objects", "places"):
    print(f"{head} (mean over frames):",
          ", ".join(f"{n.split(',')[0]} {p:.2f}" for n, p in heard[head][:3]))
""", figure="tutorial_soundnet_predictions"),
    md("""
## 4. What conv5 sees, against time

The paper takes its features from inside the network. conv5 gives 256 numbers
per frame, 10.8 frames per second, each hearing 0.51 s of sound. Below: each
unit (a row) as its deviation from its own mean over the recording, with the
annotation underneath. Do the activations change where events start and end?
"""),
    code("""
import matplotlib.pyplot as plt

conv5, conv5_times = sk.extract_features(waveform_22k, 22050, layer="conv5",
                                         model=soundnet)
fig, axes = plt.subplots(2, 1, sharex=True, figsize=(10, 4.2),
                         gridspec_kw={"height_ratios": [2.5, 1.2]})
plots.plot_activations({"conv5": conv5}, conv5_times, standardise=True,
                       axes=axes[:1])
axes[1].set_title(sp.draw_event_roll(axes[1], corpus.classes,
                                     reference=reference), fontsize=10, loc="left")
axes[1].set_xlim(0, len(waveform) / 16000)
fig.tight_layout()
"""),
    md("""
One number for it: the change between consecutive frames (the distance
between the standardised activation vectors), averaged over frames within
0.25 s of an annotated boundary, divided by the same average over all other
frames. Above 1: the layer changes more at boundaries than elsewhere, which is
what a boundary detector needs.
"""),
    code("""
def boundary_contrast(values, times, events, near=0.25):
    z = (values - values.mean(0)) / np.maximum(values.std(0), 1e-6)
    change = np.linalg.norm(np.diff(z, axis=0), axis=1)
    middle = (times[1:] + times[:-1]) / 2
    bounds = np.concatenate([events["onset"], events["offset"]])
    close = np.abs(middle[:, None] - bounds[None, :]).min(1) <= near
    return change[close].mean() / change[~close].mean()

print(f"conv5: {boundary_contrast(conv5, conv5_times, reference):.2f}")
"""),
    md("""
**Exercise 1.** Deeper layers hear longer stretches of sound (conv7: 4.1 s) at
lower frame rates; shallower ones (conv3: 0.21 s, 43 frames per second) react
to every small change. Try `layer="conv3"`, `"conv4"`, `"pool5"`, `"conv6"` or
`"conv7"` in the cell above (`sk.layer_table("soundnet8")` lists them). Which
would you give a detector that must place boundaries within a second? The
next cell measures all of them.
"""),
    code("""
rows = {}
for layer in ("conv3", "conv4", "conv5", "pool5", "conv6", "conv7"):
    values, times = sk.extract_features(waveform_22k, 22050, layer=layer,
                                        model=soundnet)
    rows[layer] = {"units": values.shape[1],
                   "frames per second": 1 / np.diff(times).mean(),
                   "boundary contrast": boundary_contrast(values, times, reference)}
layers = pd.DataFrame(rows).T
print(f"highest boundary contrast: {layers['boundary contrast'].idxmax()}; "
      f"lowest: {layers['boundary contrast'].idxmin()}")
layers
"""),
    md("""
*Answer.* Read the table: a layer is useful to a boundary detector if it
changes more at boundaries than elsewhere (contrast above 1) *and* has frames
short enough to place a boundary. conv7's frames come every 1.5 s and each
hears 4.1 s of sound, so a boundary is smeared over several of them; a conv3
frame hears only 0.21 s, which shows where the sound changes but is little to
tell what is sounding. The paper chose conv5: 0.09 s per frame, each hearing
half a second, and on its corpus it gave the best test TER of all the
features it tried.

## 5. Train a small CTC-RNN on conv5 features

The detector is one bidirectional LSTM and a softmax over 2n + 1 = 35 tokens:
a blank, and an onset and an offset token for each of the 17 event types. The
recipe is the project's demo (`sed/configs/demo.yaml`: the paper's SGD with
Nesterov momentum, lr 3.0, chunks of 500 frames, alignment hinting with a
tolerance of 10 frames; 64 units per direction instead of 400, so it trains
in a minute or two), on conv5 features. After some epochs we keep the
network's outputs on our validation recording.
"""),
    code("""
from sed.detector import load_detector
from sed.train import load_config, train

EPOCHS = 20
SNAPSHOTS = (1, 3, 6, EPOCHS)
config = load_config("../sed/configs/demo.yaml")
config["feats"]["kind"] = "soundnet8:conv5"
config["training"].update(corpus=str(corpus.root), out=str(WORK / "run"),
                          epochs=EPOCHS, progress=False)
snapshots = {}

def keep_outputs(row):
    if row["epoch"] in SNAPSHOTS:   # the network as it is after this epoch
        detector = load_detector(config["training"]["out"])
        features, times = detector.featurise(path)
        snapshots[row["epoch"]] = detector.probabilities([features])[0]

t0 = time.perf_counter()
history = pd.DataFrame(train(config, log=None, on_epoch=keep_outputs))
print(f"{EPOCHS} epochs in {time.perf_counter() - t0:.0f} s")
history.set_index("epoch")[["train_loss", "train_ter", "val_ter", "test_ter"]].T
"""),
    md("""
The loss is the CTC negative log-likelihood per frame; TER, the token error
rate, counts the edits (substitutions, deletions, insertions) that turn the
decoded token sequence into the annotated one, over the annotated length. The
training TER falls far below the validation TER: with so little data the
network learns its training recordings by heart, as the paper's did (train
0.02-0.15, validation 0.75-0.85).
"""),
    code("""
fig = sp.plot_convergence({"this run": history})
"""),
    md("""
## 6. Watch the CTC peaks appear

The probability of each token on our validation recording after some epochs:
the blank in grey, onset tokens as solid lines, offset tokens dashed, one
colour per event type; the ticks at the top are the annotated boundaries.
First the network says blank almost everywhere (the cheapest way to lower
the loss); then narrow peaks rise near the boundaries.
"""),
    code("""
detector = load_detector(config["training"]["out"])
features, times = detector.featurise(path)
fig = sp.plot_posterior_epochs(snapshots, times, corpus.classes, reference)
""", figure="tutorial_ctc_peaks"),
    code("""
from sed.decode import best_path_tokens
from sed.tokens import events_to_tokens

ref_tokens, ref_frames = events_to_tokens(reference, corpus.classes, times)
for epoch, probs in snapshots.items():
    tokens, _ = best_path_tokens(probs)
    print(f"after epoch {epoch:2d}: {int((probs.argmax(1) != 0).sum()):3d} of "
          f"{len(probs)} frames not blank, {len(tokens):2d} tokens decoded "
          f"({len(ref_tokens)} in the annotation)")
"""),
    md("""
## 7. Decode, and compare with the annotation

Best-path decoding: take the most probable token of each frame, merge repeats,
drop blanks; then pair each onset with the next offset of its type. The figure
is what `sed-ctc detect FILE --plot OUT.png --reference ANN.tsv` draws.
"""),
    code("""
fig, found = sp.detection_figure(detector, path, reference)
""", figure="tutorial_event_roll"),
    md("""
Decoded events come from the peaks: a missed offset peak leaves its onset's
event running to the end of the recording. The numbers: the TER of this
recording, and DCASE's event-based F1 (an event counts if its label matches
and its onset and offset lie within a collar of the annotated ones) and
segment-based F1 (per 1 s segment and label: active or not).
"""),
    code("""
from sed.metrics import event_metrics, token_error_rate

tokens, frames = best_path_tokens(detector.probabilities([features])[0])
scores = event_metrics(reference.assign(filename=name), found, corpus.classes)
print(f"token error rate on this recording: "
      f"{token_error_rate([ref_tokens], [tokens]):.2f}")
print(f"event F1, onsets and offsets within 0.2 s: {scores['event_f1']:.2f}; "
      f"within 1 s: {scores['event_f1_1s']:.2f}; "
      f"segment F1 over 1 s segments: {scores['segment_f1_1s']:.2f}")
found
"""),
    md("""
The same picture for a recording the network **trained on**: compare. The
gap between the two is the overfitting the TER table showed, at the level of
one recording.
"""),
    code("""
train_name = min(corpus.files("train"), key=corpus.durations.get)
train_path = corpus.audio_path(train_name)
train_reference = sp.reference_events(corpus.events("train"), train_name)
fig, train_found = sp.detection_figure(detector, train_path, train_reference)
"""),
    md("""
**Exercise 2.** Alignment hinting lets each boundary token of the annotation
fire only within a *tolerance* of its annotated frame (10 frames, about 1 s,
in training). How does the CTC loss of the trained network on our recording
change if you allow 0, 1, 3, 10, 30 frames, or any frame (`None`)? Does it
matter much, and why? (`sed.ctc.ctc_loss(labels, logits, label_length,
logit_length, label_frames, tolerance)`.) Then: how far from their annotated
frames did the decoded peaks land? Try it on the validation recording and on
the training recording.
"""),
    code("""
from sed.ctc import INFEASIBLE_LOSS, ctc_loss

def hinting_report(audio, events):
    feats, frame_times = detector.featurise(audio)
    ref_tok, ref_fr = events_to_tokens(events, corpus.classes, frame_times)
    logits = detector.model(feats[None], training=False)
    row = {}
    for tolerance in (0, 1, 3, 10, 30, None):
        hint = {} if tolerance is None else dict(
            label_frames=tf.constant([ref_fr]), tolerance=tolerance)
        nll = float(ctc_loss(tf.constant([ref_tok]), logits, [len(ref_tok)],
                             [len(feats)], **hint)[0])
        row[f"loss, tolerance {tolerance}"] = (
            "infeasible" if nll >= INFEASIBLE_LOSS else round(nll / len(feats), 3))
    tok, fr = best_path_tokens(detector.probabilities([feats])[0])
    distance = np.array([np.abs(ref_fr[ref_tok == t] - f).min()
                         for t, f in zip(tok, fr) if (ref_tok == t).any()])
    row["decoded tokens"] = len(tok)
    row["of a token in the annotation"] = len(distance)
    row["median frames to it"] = float(np.median(distance)) if len(distance) else None
    row["share within 10 frames"] = (round(float(np.mean(distance <= 10)), 2)
                                     if len(distance) else None)
    return row

pd.DataFrame({"validation": hinting_report(path, reference),
              "training": hinting_report(train_path, train_reference)})
"""),
    md("""
*Answer.* The loss (per frame) sums the probabilities of all the alignments
the tolerance allows, so the tighter the tolerance, the fewer alignments and
the higher the loss. At 0 only the annotated frames themselves count, which
is impossible ("infeasible") as soon as two boundaries fall on one frame. On
the training recording the network's peaks sit within the 10 frames it was
trained with, so a wider tolerance adds almost nothing. On the validation
recording, compare how many decoded tokens have no annotated token of their
kind at all, and how far the others land. Hinting shapes *training*: it keeps
each peak near its annotated time.

**Going further.** Train longer (`EPOCHS`), with the paper's 400 units
(`config["net"]["units"]`), on the low-level feature (`"lowlevel"`) or another
layer (`"soundnet8:conv4"`), and compare the validation TER; `make standin`
builds the full 9.6 h stand-in corpus, and `notebooks/table4_feature_layers.ipynb`
shows what the paper's layers gave there.
"""),
    code("""
print(f"This notebook ran in {time.perf_counter() - started:.0f} s.")
"""),
]

TRANSFER = [
    md("""
# Transfer learning: a clip classifier on SoundNet

How well do SoundNet's features serve a classifier trained on a small labelled
set? This notebook builds one as a plain Keras app, in the three steps of Keras'
own transfer-learning guide (the documentation's "Transfer learning" page says
the same in prose):

1. **A frozen embedding**: SoundNet-8 without its heads, averaged over time.
2. **A head trained by `model.fit`** on the embeddings, computed once; the same
   head on a log-mel embedding is the baseline.
3. **Fine-tuning**: backbone and head joined, conv6-conv7 unfrozen, a learning
   rate 100 times lower.

It runs on synthetic clips here (built in seconds, so that the notebook runs in
the tests); set `CLIPS` to a clip set of real recordings (`sed-ctc corpus clips
--out data/clips`) to run it on those. The last section shows what was measured on
the real clips, over seeds.
"""),
    code(SETUP + """
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

import soundnet_keras as sk
from sed.corpora.clipset import load_clip_set, make_clip_set
from soundnet_keras.transfer import (classifier_head, embedding_model,
                                     fine_tune, fit_app, fit_head,
                                     log_mel_embedding)

import tensorflow as tf
tf.get_logger().setLevel("ERROR")   # no retracing notes from predict

started = time.perf_counter()
WORK = Path(tempfile.mkdtemp(prefix="soundnet_transfer_"))"""),
    md("""
## The clips

Single-label clips of 17 types, split by recording, 5 s each (a short sound is
repeated to fill its clip). SoundNet-8 hears 22,050 Hz audio, the log-mel
baseline 16 kHz: the same clips at both rates.
"""),
    code("""
CLIPS = None   # e.g. "../data/clips", made by: sed-ctc corpus clips --out data/clips
if CLIPS is None:
    CLIPS = make_clip_set(WORK / "clips", "synthetic",
                          per_split=dict(train=5, val=2, test=2)).root
clips = load_clip_set(CLIPS, sample_rate=22050)
clips16 = load_clip_set(CLIPS, sample_rate=16000)
print(clips.metadata["source"], "clips:", clips.metadata["clips"])
print("classes:", ", ".join(clips.classes))
(x_train, y_train), (x_val, y_val), (x_test, y_test) = (
    clips.split(s) for s in ("train", "val", "test"))"""),
    md("""
## 1. A frozen embedding

`embedding_model` wraps the pretrained network: it scales the waveform to
SoundNet's input range, runs the network in inference mode and averages its
output over time. Nothing in it trains.
"""),
    code("""
backbone = sk.SoundNet8(include_top=False, pooling="avg")
embed = embedding_model(backbone)
print(embed.name, "->", embed.output.shape, "| trainable weights:",
      len(embed.trainable_weights))
e_train, e_val, e_test = (embed.predict(x, batch_size=16, verbose=0)
                          for x in (x_train, x_val, x_test))"""),
    md("""
## 2. A head trained by `model.fit`

Standardisation, one hidden layer of 256 ReLU units, dropout, softmax; Adam and
early stopping on the validation loss.
"""),
    code("""
def test_accuracy(model, x, y):
    return float(np.mean(np.argmax(model.predict(x, verbose=0), -1) == y))

head = classifier_head(e_train, len(clips.classes))
history = fit_head(head, (e_train, y_train), (e_val, y_val), seed=0)
accuracy = {"SoundNet-8 pooled": test_accuracy(head, e_test, y_test)}
print(f"{len(history.history['loss'])} epochs; test accuracy "
      f"{accuracy['SoundNet-8 pooled']:.3f}")"""),
    md("""
**The baseline**: the same head on 128 log-mel energies' mean and standard
deviation over time (256 values, nothing trained), and **a layer of your
choice**: conv5, the layer the paper feeds its detector.
"""),
    code("""
lm = log_mel_embedding(16000)
lm_emb = [lm.predict(clips16.split(s)[0], verbose=0) for s in ("train", "val", "test")]
lm_head = classifier_head(lm_emb[0], len(clips.classes))
fit_head(lm_head, (lm_emb[0], y_train), (lm_emb[1], y_val), seed=0)
accuracy["log-mel baseline"] = test_accuracy(lm_head, lm_emb[2], y_test)

conv5 = embedding_model(sk.SoundNet8(include_top=False), "conv5")
c5 = [conv5.predict(x, batch_size=16, verbose=0) for x in (x_train, x_val, x_test)]
c5_head = classifier_head(c5[0], len(clips.classes))
fit_head(c5_head, (c5[0], y_train), (c5[1], y_val), seed=0)
accuracy["SoundNet-8 conv5"] = test_accuracy(c5_head, c5[2], y_test)
pd.Series(accuracy, name="test accuracy (this run, one seed)").to_frame()"""),
    md("""
## 3. Fine-tuning the top layers

The whole app takes waveforms. conv6 and conv7 train with the head, at a
learning rate 100 times lower; batch norm stays frozen and in inference mode
(Keras' rule for fine-tuning). Two epochs here, to keep the notebook short.
"""),
    code("""
app = fine_tune(embed, head, first="conv6")
print("trainable:", sorted({w.path.split("/")[0] for w in app.trainable_weights}))
fit_app(app, (x_train, y_train), (x_val, y_val), seed=0, epochs=2)
accuracy["SoundNet-8 pooled, fine-tuned"] = test_accuracy(app, x_test, y_test)
print(f"fine-tuned: test accuracy {accuracy['SoundNet-8 pooled, fine-tuned']:.3f}")"""),
    md("""
**Ship it.** The app is an ordinary Keras model: save it, load it back, export it
(`app.export(..., format="onnx")`).
"""),
    code("""
app.save(WORK / "clip_classifier.keras")
again = keras.saving.load_model(WORK / "clip_classifier.keras", compile=False)
same = np.allclose(again.predict(x_test[:4], verbose=0),
                   app.predict(x_test[:4], verbose=0), atol=1e-5)
print("reloaded, same predictions:", same)
assert same"""),
    md("""
## Measured on real recordings, over seeds

`scripts/transfer_experiment.py` ran the same steps on the clips of the stand-in
corpus's recordings, for several seeds (the head's initialisation, dropout and
data order); `notebooks/results/transfer.json` holds every run. Each point below
is a seed. The table is the one the documentation's "Transfer learning" page
shows, recomputed here from the seeds.
"""),
    code("""
import json
import matplotlib.pyplot as plt

measured = json.loads(Path("results/transfer.json").read_text())
rows = []
for name, row in measured["rows"].items():
    values = [s["test_accuracy"] for s in row["seeds"]]
    assert np.isclose(np.mean(values), row["test_accuracy"]["mean"])
    rows.append(dict(classifier=name, seeds=len(values), mean=np.mean(values),
                     min=min(values), max=max(values),
                     balanced=row["test_balanced_accuracy"]["mean"]))
table = pd.DataFrame(rows).set_index("classifier")
print(measured["clip_set"]["clips"], "clips;", measured["provenance"]["commit"][:12])
table"""),
    code("""
fig, ax = plt.subplots(figsize=(7, 2.8))
for k, (name, row) in enumerate(measured["rows"].items()):
    values = [s["test_accuracy"] for s in row["seeds"]]
    ax.plot(values, [k] * len(values), "o", color="C0", alpha=0.7)
    ax.plot([np.mean(values)], [k], "|", color="k", markersize=14)
ax.set_yticks(range(len(table)), table.index)
ax.set_xlabel("test accuracy (each seed a point, the mean a bar)")
ax.set_title("Clip classification on the stand-in corpus's recordings")
fig.tight_layout()""", figure="transfer_accuracy"),
    code("""
print(f"This notebook ran in {time.perf_counter() - started:.0f} s.")
"""),
]


BOOKS = {"figure1_soundnet_variants.ipynb": FIGURE1,
         "figure2_ctc_convergence.ipynb": FIGURE2,
         "figure3_activations.ipynb": FIGURE3,
         "table4_feature_layers.ipynb": TABLE4,
         "transfer_learning.ipynb": TRANSFER,
         "tutorial_soundnet_ctc.ipynb": TUTORIAL}


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
