"""Measures what a short seeded detector run reaches on the built-in corpus.

``tests/test_sed_train.py::test_a_short_run_learns`` trains the CTC-RNN for
a few epochs on a small built-in corpus and requires a training TER below a
threshold; this script measures that run's TER over several seeds (and the
untrained network's, the level a broken training would stay at), so the
threshold is set with a margin from measured runs:

    python benchmarks/training_threshold.py --seeds 0 1 2 3 4

Writes ``benchmarks/results/training_threshold.json`` (with provenance).
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: The short run of the test (``tests/test_sed_train.py``): the demo's
#: recipe (``sed/configs/demo.yaml``: 64 units, tanh cells, the gradient
#: clipped at norm 1; the paper's ReLU cell stays near-silent for more epochs
#: than a test can afford) on the low-level feature of the built-in corpus
#: of :data:`MINUTES` minutes, in chunks of 200 frames.
MINUTES = 4
RECIPE = {"net": {"units": 64, "activation": "tanh"},
          "opt": {"clipnorm": 1.0},
          "feats": {"kind": "lowlevel"},
          "training": {"epochs": 12, "progress": False, "chunk_frames": 200}}


def short_run(corpus_root, out, seed, epochs=None):
    """Trains the short run; returns its history rows."""
    from sed.train import resolve_config, train
    config = resolve_config({**RECIPE, "training": {
        **RECIPE["training"], "corpus": str(corpus_root), "out": str(out),
        "seed": int(seed),
        **({"epochs": int(epochs)} if epochs is not None else {})}})
    return train(config, log=None)


def main(argv=None):
    from soundnet_keras.provenance import provenance
    from sed.corpora import make_default_corpus
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"
                                             / "training_threshold.json"))
    args = parser.parse_args(argv)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        corpus = make_default_corpus(Path(tmp) / "corpus", minutes=MINUTES,
                                     seed=0)
        for seed in args.seeds:
            rows = short_run(corpus.root, Path(tmp) / f"run{seed}", seed)
            runs.append(dict(seed=seed, train_ter=[r["train_ter"]
                                                    for r in rows]))
            print(f"seed {seed}: training TER by epoch "
                  + " ".join(f"{r['train_ter']:.3f}" for r in rows))
    final = [r["train_ter"][-1] for r in runs]
    result = dict(provenance=provenance(), minutes=MINUTES, recipe=RECIPE,
                  runs=runs, final_train_ter=dict(min=min(final),
                                                  max=max(final)),
                  first_epoch_train_ter=dict(
                      min=min(r["train_ter"][0] for r in runs),
                      max=max(r["train_ter"][0] for r in runs)))
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"final training TER {min(final):.3f}-{max(final):.3f}; "
          f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
