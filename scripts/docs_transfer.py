"""The generated regions of ``docs/transfer.md`` (see
``scripts/write_docs.py``): the measured accuracies of the transfer-learning
guide's clip classifiers, from ``notebooks/results/transfer.json``
(``scripts/transfer_experiment.py``).
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "notebooks" / "results" / "transfer.json"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: The comparisons the guide reads: (row, against).
COMPARISONS = (("soundnet8_pooled", "log_mel"), ("soundnet8_conv5", "log_mel"),
               ("soundnet8_conv5", "soundnet8_pooled"),
               ("soundnet8_fine_tuned", "soundnet8_pooled"))
LABELS = {"log_mel": "log-mel baseline", "soundnet8_pooled":
          "SoundNet-8 pooled (conv7)", "soundnet8_conv5": "SoundNet-8 conv5",
          "soundnet8_fine_tuned": "SoundNet-8 pooled, fine-tuned"}


def _load():
    return json.loads(RESULTS.read_text())


def comparison(result, row, other):
    """Row's mean test accuracy minus other's, with an interval (at
    :data:`sed.results.CONFIDENCE`) from a paired bootstrap over the test
    clips (:func:`sed.results.paired_difference` on each seed's right /
    wrong clips, the same resampled clips for both rows), and the words:
    "higher" or "lower" where the interval lies wholly on one side of zero,
    else "cannot tell".

    Returns:
        ``(difference, low, high, words)``.
    """
    import numpy as np
    from sed.results import paired_difference
    wrong = [np.array([[c == "0" for c in s["test_right"]]
                       for s in result["rows"][name]["seeds"]], float)
             for name in (row, other)]
    ones = np.ones(wrong[0].shape[1])
    # paired_difference gives error rates: the accuracy difference is its
    # negative, the interval mirrored.
    found = paired_difference(wrong[0], wrong[1], ones, ones)
    diff, low, high = -found["difference"], -found["high"], -found["low"]
    words = "higher" if low > 0 else "lower" if high < 0 else "cannot tell"
    return diff, low, high, words


def transfer_results():
    """The table of rows (mean and spread over seeds) and the verdicts."""
    from sed.results import CONFIDENCE
    result = _load()
    clips = result["clip_set"]
    n = clips["clips"]["test"]
    prov = result["provenance"]
    lines = [
        f"Measured on a clip set of the stand-in corpus's sources "
        f"({clips['source']}, {clips['tier']} tier; "
        f"{len(clips['classes'])} classes; "
        + ", ".join(f"{count} {split}" for split, count in
                    clips["clips"].items())
        + f" clips of {clips['clip_s']:g} s), {len(result['seeds'])} seeds "
        f"(the head's initialisation, dropout and data order; the clips "
        f"stay), Keras backend {result['keras_backend']}. Command "
        f"`{prov['command']}`, commit {str(prov['commit'])[:12]}, "
        f"{prov['date'][:10]}.", "",
        "| classifier | embedding | head parameters | test accuracy, mean "
        "(min-max) | balanced accuracy, mean | epochs (best) |",
        "|---|---:|---:|---:|---:|---:|"]
    for name, row in result["rows"].items():
        acc, bal = row["test_accuracy"], row["test_balanced_accuracy"]
        epochs = ", ".join(f"{s['epochs']} ({s['best_epoch']})"
                           for s in row["seeds"])
        params = f"{row['head_parameters']:,}" + (
            f" + {row['trainable_parameters'] - row['head_parameters']:,} "
            "in conv6-conv7" if row.get("trainable_parameters") else "")
        lines.append(f"| {LABELS[name]} | {row['features']} | {params} | "
                     f"{acc['mean']:.3f} ({acc['min']:.3f}-{acc['max']:.3f})"
                     f" | {bal['mean']:.3f} | {epochs} |")
    lines += ["", f"The test split has {n} clips. Each difference below is "
              "of mean test accuracies over the seeds, with a "
              f"{100 * CONFIDENCE:.0f}% interval "
              "from a paired bootstrap over the test clips (both rows "
              "resampled alike); it is read as higher or lower only where "
              "the interval excludes zero. The interval counts the draw of "
              "test clips; the seeds enter through their mean, so where a "
              "row's seeds disagree (see its min-max) it is less sure than "
              "its interval:", ""]
    for row, other in COMPARISONS:
        diff, low, high, words = comparison(result, row, other)
        lines.append(f"- {LABELS[row]} against {LABELS[other]}: "
                     f"{diff:+.3f} ({low:+.3f} to {high:+.3f}), "
                     f"**{words}**.")
    return "\n".join(lines)


REGIONS = {"transfer-results": transfer_results}
