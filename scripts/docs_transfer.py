"""The generated regions of ``docs/transfer.md`` (see
``scripts/write_docs.py``): the measured accuracies of the transfer-learning
guide's clip classifiers, from ``notebooks/results/transfer.json``
(``scripts/transfer_experiment.py``).
"""

import json
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "notebooks" / "results" / "transfer.json"

#: The comparisons the guide reads: (row, against).
COMPARISONS = (("soundnet8_pooled", "log_mel"), ("soundnet8_conv5", "log_mel"),
               ("soundnet8_conv5", "soundnet8_pooled"),
               ("soundnet8_fine_tuned", "soundnet8_pooled"))
LABELS = {"log_mel": "log-mel baseline", "soundnet8_pooled":
          "SoundNet-8 pooled (conv7)", "soundnet8_conv5": "SoundNet-8 conv5",
          "soundnet8_fine_tuned": "SoundNet-8 pooled, fine-tuned"}


def _load():
    return json.loads(RESULTS.read_text())


def _se(accuracy, n):
    """The binomial standard error of an accuracy on ``n`` test clips."""
    return math.sqrt(accuracy * (1 - accuracy) / n)


def verdict(result, row, other):
    """``(difference of mean test accuracies, words)``: "higher" / "lower"
    only when the two rows' seed ranges do not overlap and the difference
    exceeds 1.96 times its binomial standard error on the test clips;
    else "no difference"."""
    a, b = (result["rows"][name]["test_accuracy"] for name in (row, other))
    n = result["clip_set"]["clips"]["test"]
    diff = a["mean"] - b["mean"]
    apart = a["min"] > b["max"] or b["min"] > a["max"]
    large = abs(diff) > 1.96 * math.hypot(_se(a["mean"], n),
                                          _se(b["mean"], n))
    words = ("higher" if diff > 0 else "lower") if apart and large else \
        "no difference"
    return diff, words


def transfer_results():
    """The table of rows (mean and spread over seeds) and the verdicts."""
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
    se = _se(result["rows"]["log_mel"]["test_accuracy"]["mean"], n)
    lines += ["", f"The test split has {n} clips: an accuracy near the "
              f"baseline's is known to about ±{se:.3f} (one binomial "
              "standard error) whatever the seeds say. A difference is "
              "read as one only when the two rows' seed ranges do not "
              "overlap and it exceeds 1.96 standard errors:", ""]
    for row, other in COMPARISONS:
        diff, words = verdict(result, row, other)
        lines.append(f"- {LABELS[row]} against {LABELS[other]}: "
                     f"{diff:+.3f}, **{words}**.")
    return "\n".join(lines)


REGIONS = {"transfer-results": transfer_results}
