"""Figure 2: the CTC-RNN's warm-up, with and without transfer features
(figure2_ctc_convergence.ipynb)."""

from . import code, md, SETUP

CELLS = [
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
blank is the right token at most frames), and the warm-up lasts until it starts to
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
