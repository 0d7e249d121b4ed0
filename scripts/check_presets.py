"""Scores distilled presets, loaded from the package, on stored targets.

Each preset is loaded as a user would (``sk.load_preset``), its head logits
at the labelled frames are scored with the training loss (KL in nats per
labelled frame, objects + places) on a split of a target store, and the
result is printed beside the best validation KL its shipped history
records: on the store it was trained on, the two agree (the weights file
holds the run's best epoch).

    python scripts/check_presets.py targets_pool snf_scratch_pool snr_trunk_pool
"""

import argparse
import json
import sys

import soundnet_keras as sk
from soundnet_keras.targets import TargetStore, make_dataset
from soundnet_keras.training import (distillation_model, kl_divergence,
                                     label_frames)
from soundnet_keras.weights import HISTORIES_DIR, PRESETS


def score(store, name, split="val"):
    """The preset's KL on ``split`` of ``store``: total, objects, places."""
    student = sk.load_preset(name)
    clip = int(store.meta["clip_seconds"] * store.meta["student_rate"])
    model = distillation_model(student, label_frames(
        PRESETS[name]["model"], clip, store.target_times))
    model.compile(loss=[kl_divergence] * 2)
    return model.evaluate(make_dataset(store, split, 64, shuffle=False,
                                       repeat=False),
                          verbose=0, return_dict=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", help="a target store (soundnet-keras "
                        "targets)")
    parser.add_argument("presets", nargs="+", choices=sorted(
        n for n, p in PRESETS.items() if p["model"] != "soundnet8"))
    parser.add_argument("--split", default="val")
    args = parser.parse_args(argv)
    store = TargetStore(args.targets)
    for name in args.presets:
        result = score(store, name, args.split)
        rows = json.loads((HISTORIES_DIR / f"{name}.history.json"
                           ).read_text())["epochs"]
        best = min(rows, key=lambda r: r["val_kl"])
        print(f"{name}: KL {result['loss']:.4f} (objects "
              f"{result['objects_loss']:.4f}, places "
              f"{result['places_loss']:.4f}); its history's best validation "
              f"KL {best['val_kl']:.4f} (epoch {best['epoch']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
