"""The hands-on course: SoundNet's features and the CTC detector
(tutorial_soundnet_ctc.ipynb)."""

from . import code, md, SETUP

CELLS = [
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
