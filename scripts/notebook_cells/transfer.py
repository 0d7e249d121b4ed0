"""Transfer learning: a clip classifier as a Keras app
(transfer_learning.ipynb)."""

from . import code, md, SETUP

CELLS = [
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
