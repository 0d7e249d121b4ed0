"""Table 4: the detector on the features of each layer
(table4_feature_layers.ipynb)."""

from . import code, md, SETUP

CELLS = [
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
