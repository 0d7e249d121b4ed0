"""Measures whether Table 4's before / after batch-norm rows feed the detector
different inputs, under each feature scaling.

For SN-R's ``gru_k`` and ``gru_k_bn`` (k = 1, 2, 3) on the training split of
a corpus, both features are scaled as the detector scales them
(:class:`sed.features.Normaliser`, fitted on the training split) with
per-dimension standardisation (``dimension``) and with one common scale
(``common``, what Table 4 uses for network features), and compared: the
relative difference ``||a - b|| / ||b||`` over all frames and dimensions.
Batch norm's scale factors are positive, so per-dimension standardisation
makes the two inputs equal up to float rounding; one common scale keeps
batch norm's per-dimension scaling.

    python scripts/bn_inputs.py --corpus data/standin

Writes ``notebooks/results/bn_inputs.json`` (with provenance); the Table 4
page (``scripts/write_docs.py``) quotes it.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "notebooks" / "results" / "bn_inputs.json"


def compare(before, after, scaling):
    """Relative difference and largest absolute difference of two lists of
    ``(T, D)`` features once each is scaled with ``scaling`` (fitted on the
    lists themselves: the training split)."""
    from sed.features import Normaliser
    per_dimension = scaling == "dimension"
    a_norm = Normaliser(per_dimension=per_dimension).fit(before)
    b_norm = Normaliser(per_dimension=per_dimension).fit(after)
    a = np.concatenate([a_norm(x) for x in before]).astype(np.float64)
    b = np.concatenate([b_norm(x) for x in after]).astype(np.float64)
    return dict(relative_difference=float(np.linalg.norm(a - b)
                                          / np.linalg.norm(b)),
                max_abs_difference=float(np.abs(a - b).max()))


def main(argv=None):
    from sed.corpora import load_corpus
    from sed.experiments import SNR
    from sed.features import features_for
    from soundnet_keras.provenance import provenance
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="data/standin")
    parser.add_argument("--weights", default=SNR)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    corpus = load_corpus(args.corpus)
    rows = []
    for k in (1, 2, 3):
        values = {}
        for kind in (f"snr:gru{k}", f"snr:gru{k}_bn"):
            values[kind] = [v for v, _ in features_for(
                corpus, kind, split="train", weights=args.weights,
                progress=False)]
        for scaling in ("dimension", "common"):
            row = dict(layer=f"gru{k}", scaling=scaling,
                       **compare(values[f"snr:gru{k}"],
                                 values[f"snr:gru{k}_bn"], scaling))
            rows.append(row)
            print(f"gru{k} vs gru{k}_bn, {scaling}: relative difference "
                  f"{row['relative_difference']:.3g}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(dict(
        provenance=provenance(), corpus=str(args.corpus),
        weights=args.weights, split="train", rows=rows), indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
