"""Figure 1: training the variants of SoundNet
(figure1_soundnet_variants.ipynb)."""

from . import code, md, SETUP

CELLS = [
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
detection corpus): training clips of 20 s, and validation clips from held-out
files. Two kinds of students, with the paper's optimizer, epoch (160 minibatches
of 64 clips) and schedule: *from scratch* (solid lines), Table 2 / 3 trained whole
as in the paper, for as long as a few hours of a 2-core CPU allowed; and on a
*pretrained trunk* (dashed), conv1-conv5 from SoundNet-8 and frozen, only the upper
layers and heads trained. The printout below says how many epochs each ran (the
paper: 175 for SN-F, 300 for SN-R) and how. The epoch axis is logarithmic. The
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
constant student by much less either way (the table's "below constant"), and
overfits its training clips after a few epochs (its training KL keeps falling while
the validation KL rises). Every preset is its run's best validation epoch. Unlike
the paper, SN-R ends
well ahead of SN-F: the paper's teacher (VGG16 on one video frame) described a moment,
ours (SoundNet-8's conv8) describes ~14.5 s of sound, which a recurrent student can
hear and a frame-wise one cannot.
"""),
]
