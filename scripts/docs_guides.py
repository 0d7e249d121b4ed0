"""The generated regions of the other guides (see ``scripts/write_docs.py``;
``docs/development.md`` and ``docs/licence.md`` carry no measured figure):
the set-up and SoundNet-8's size in ``README.md`` and ``docs/index.md``,
the features and the detector in ``docs/detector.md`` (feature extraction,
openSMILE, the CTC loss's speed, the paper's recipe probe) and the
``predict --plot`` item of ``docs/teaching.md``. The stand-in corpus
(``docs_standin_corpus.py``) and the students of ``docs/variants.md``
(``docs_students.py``) have modules of their own.

Every figure comes from a committed results file (``benchmarks/results/``:
the stand-in corpus build, feature extraction, the CTC loss, the paper's
recipe probe) or from the code (``setup.py``, the ``Makefile``, the
parameter count, conv8's hop and receptive field). The prose without
figures stays in the pages; a region holds the paragraphs, tables and list
items that carry numbers.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _folder in (ROOT, ROOT / "scripts"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from prose import (RESULTS, conv8_field, item, load_result,  # noqa: E402
                   md_table, read_json, wrap)


# --------------------------------------------------- README.md, docs/index.md

def setup():
    """The set-up paragraph: Python from ``setup.py``, the stand-in corpus
    from its build (``benchmarks/results/standin_corpus.json``)."""
    python = re.search(r"python_requires=\">=([\d.]+)\"",
                       (ROOT / "setup.py").read_text()).group(1)
    standin = re.search(r"^STANDIN := (\S+)",
                        (ROOT / "Makefile").read_text(), re.M).group(1)
    corpus = load_result("standin_corpus.json")
    return wrap(
        f"Both commands above do all the set-up on a fresh machine (Python "
        f"{python}+, `make`, access to the Python package index). `make "
        f"standin` builds the {corpus['total_hours']:g} h stand-in corpus of "
        f"real recordings into `{standin}` (it fetches "
        f"{len(corpus['packages'])} Debian packages, "
        f"{corpus['deb_mb'] / 1000:.1f} GB, into "
        "`~/.cache/soundnet-keras/debian`; nothing is installed). `make docs` "
        "builds the documentation site into `site/` (offline, strict).")


def weights_size():
    """SoundNet-8's size, counted on the model built from its spec."""
    import soundnet_keras as sk
    count = sk.SoundNet8(weights=None).count_params()
    return wrap(
        f"The released SoundNet-8 weights hold {count:,} values "
        f"({count * 4 / 2 ** 20:.0f} MiB as float32: "
        "`sk.SoundNet8(weights=None).count_params()`).")


# -------------------------------- docs/detector.md: features and the detector

def feature_extraction():
    """Extraction over the full stand-in corpus."""
    result = load_result("feature_extraction.json")
    rows = result["rows"]
    hours = rows[0]["audio_s"] / 3600
    intro = wrap(
        f"Over the full stand-in corpus ({rows[0]['recordings']} recordings, "
        f"{hours:.1f} h), `benchmarks/feature_extraction.py` "
        "(`benchmarks/results/feature_extraction.json`):")
    table = md_table(
        ("kind", "dims", "frame rate", "set-up", "extract + cache",
         "x real time", "read from cache", "cache size"),
        [(r["kind"], r["dims"], f"{r['frame_rate_hz']:.2f} Hz",
          f"{r['setup_s']:.1f} s"
          + (" (PCA fit on train)" if r["kind"] == "lowlevel" else ""),
          f"{r['cold_s']:.1f} s", f"{r['x_real_time']:.0f}",
          f"{r['warm_s']:.1f} s", f"{r['cache_mb']:.0f} MB") for r in rows],
        ("---",) + ("---:",) * 7)
    return "\n".join([intro, ""] + table)


def opensmile_extraction():
    """``opensmile`` beside ``lowlevel`` on the default corpus."""
    result = load_result("feature_extraction_opensmile.json")
    table = md_table(
        ("kind", "workers", "set-up (PCA fit on train)", "extract + cache",
         "s per audio hour", "x real time"),
        [(r["kind"], r["workers"], f"{r['setup_s']:.1f} s",
          f"{r['cold_s']:.1f} s", f"{r['cold_s_per_audio_hour']:.0f}",
          f"{r['x_real_time']:.0f}") for r in result["rows"]],
        ("---", "---:", "---:", "---:", "---:", "---:"))
    return "\n".join(table)


def opensmile_cost():
    """What ``opensmile`` costs on the full stand-in corpus, from the
    measured rate."""
    rows = {(r["kind"], r["workers"]): r for r in
            load_result("feature_extraction_opensmile.json")["rows"]}
    corpus = load_result("standin_corpus.json")
    one, two = rows[("opensmile", 1)], rows[("opensmile", 2)]
    rate = one["cold_s_per_audio_hour"]
    train = corpus["splits"]["train"]["hours"]
    return wrap(
        f"At {rate:.0f} s per audio hour the {corpus['total_hours']:g} h "
        f"stand-in corpus takes about {rate * corpus['total_hours'] / 60:.0f} "
        f"minutes to extract plus about {rate * train / 60:.0f} to fit (its "
        f"{train:.1f} h training split once more), once; then it is cached "
        f"({one['cache_mb_per_audio_hour']:.1f} MB per audio hour). More "
        "workers pay off only on idle cores: on this shared machine two were "
        + ("slower" if two["cold_s"] > one["cold_s"] else "faster")
        + " than one.")


def ctc_speed():
    """The hand-written CTC gradient against ``tf.nn.ctc_loss``."""
    result = load_result("ctc_speed.json")
    ms = {(r["case"], r["mode"]): r["ms"] for r in result["rows"]}
    batch, frames, tokens = result["logits_shape"]
    ours = "sed.ctc.ctc_loss"
    hinted = "sed.ctc.ctc_loss, hinted (tolerance 10)"
    return wrap(
        "The loss's speed (`benchmarks/ctc_speed.py`, "
        "`benchmarks/results/ctc_speed.json`): loss and gradient of the "
        f"paper's minibatch ({batch} sequences of {frames} frames, {tokens} "
        f"tokens) take {ms[(ours, 'XLA')]:.1f} ms under XLA "
        f"({ms[(hinted, 'XLA')]:.1f} ms hinted), against "
        f"{ms[('tf.nn.ctc_loss', 'XLA')]:.1f} ms for `tf.nn.ctc_loss`; "
        f"without XLA {ms[(ours, 'tf.function')]:.1f} ms against "
        f"{ms[('tf.nn.ctc_loss', 'tf.function')]:.0f} ms.")


PROBES = (("SoundNet conv5, v1 corpus", "soundnet8_conv5"),
          ("low-level, 50-d", "lowlevel"))


def paper_probe():
    """The first epochs of the paper's recipe, from their histories
    (``benchmarks/results/paper_recipe_probe/``)."""
    import math
    rows, first = [], []
    for label, name in PROBES:
        history = read_json(RESULTS / "paper_recipe_probe" / name /
                            "history.json")
        epochs = history["epochs"]
        losses = [x for e in epochs for x in e["step_loss"]]
        first.append(f"{label} " + ", ".join(f"{x:.2f}" for x in losses[:5])
                     + (" (all finite)" if all(map(math.isfinite, losses))
                        else " (it diverged)"))
        rows += [(label, e["epoch"], e["steps"], f"{e['train_loss']:.3f}",
                  f"{e['grad_norm_max']:.2f}",
                  f"{100 * e['nonblank_mean']:.1f}%",
                  f"{e['train_decoded_tokens']:,} / "
                  f"{e['train_reference_tokens']:,}",
                  f"{e['train_deletions']:,}",
                  f"{e['train_ter']:.2f} / {e['val_ter']:.2f} / "
                  f"{e['test_ter']:.2f}") for e in epochs]
    table = md_table(("features", "epoch", "steps", "mean loss per frame",
                      "max gradient norm", "non-blank frames",
                      "decoded / reference training tokens",
                      "training deletions", "TER train / val / test"), rows,
                     ("---",) + ("---:",) * 8)
    return "\n".join(table + ["", wrap(
        "The loss per frame of the first five steps: " + "; ".join(first)
        + ".")])


# ----------------------------------------------------------- docs/teaching.md

def predict_plot():
    """The ``predict --plot`` item: conv8's hop and receptive field."""
    from soundnet_keras.predictions import TILE_SECONDS
    field, hop = conv8_field()
    return item(
        "`predict --plot` (`soundnet_keras.plots.predictions_figure(waveform, "
        "rate)`) draws the waveform and the probabilities of the top objects "
        f"and places in each conv8 frame (one column per {hop:.2f} s, each "
        f"hearing {field:.1f} s), so one sees where the network changes its "
        f"mind; input shorter than {TILE_SECONDS:g} s is tiled as `predict` "
        "does, and the tiled part is shaded.")


#: region name -> function returning its Markdown.
REGIONS = {
    "guides-setup": setup,
    "guides-weights-size": weights_size,
    "guides-feature-extraction": feature_extraction,
    "guides-opensmile-extraction": opensmile_extraction,
    "guides-opensmile-cost": opensmile_cost,
    "guides-ctc-speed": ctc_speed,
    "guides-paper-probe": paper_probe,
    "guides-predict-plot": predict_plot,
}
