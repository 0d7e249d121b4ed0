"""Measures the transfer-learning guide's clip classifiers over seeds.

On a clip set (``sed-ctc corpus clips``: single-label clips of the 17
types, split by recording), for each seed: a log-mel baseline, SoundNet-8's
pooled embedding (conv7 averaged) and its conv5 averaged, each with the same
head (:mod:`soundnet_keras.transfer`), then the pooled app fine-tuned
(conv6-conv7 unfrozen). Accuracy and balanced accuracy (mean recall over
classes) on the held-out test split; the seed sets the head's
initialisation, dropout and data order. Writes
``notebooks/results/transfer.json`` (with provenance), which the guide's
tables are generated from.

Usage::

    python -m sed corpus clips --out data/clips
    python scripts/transfer_experiment.py --clips data/clips --seeds 0 1 2
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "notebooks" / "results" / "transfer.json"

#: The rows: name -> what it is.
ROWS = {
    "log_mel": "log-mel baseline: 128 bands' mean and standard deviation",
    "soundnet8_pooled": "SoundNet-8, conv7 averaged over time (frozen)",
    "soundnet8_conv5": "SoundNet-8, conv5 averaged over time (frozen)",
    "soundnet8_fine_tuned": "SoundNet-8 pooled, then conv6-conv7 "
                            "fine-tuned with the head",
}


def scores(model, x, y, classes):
    """Accuracy, balanced accuracy and which clips are right (a string of
    ``0`` / ``1``, one per clip in order) of ``model`` on ``(x, y)``."""
    predicted = np.argmax(model.predict(x, batch_size=16, verbose=0), -1)
    recalls = [np.mean(predicted[y == k] == k) for k in range(classes)
               if np.any(y == k)]
    right = "".join("1" if p == t else "0" for p, t in zip(predicted, y))
    return float(np.mean(predicted == y)), float(np.mean(recalls)), right


def embedder(row):
    """``(embedding model, sample rate)`` of a row."""
    from soundnet_keras import SoundNet8
    from soundnet_keras.transfer import embedding_model, log_mel_embedding
    if row == "log_mel":
        return log_mel_embedding(16000), 16000
    backbone = SoundNet8(include_top=False, pooling=None if row ==
                         "soundnet8_conv5" else "avg")
    return embedding_model(backbone, "conv5" if row == "soundnet8_conv5"
                           else None), 22050


def seed_record(model, history, data, seed, started, n_classes):
    """One seed's line: epochs, best epoch (lowest validation loss),
    validation and test accuracy, test balanced accuracy, seconds, and
    ``test_right``: which test clips it classifies right (``0`` / ``1`` per
    clip, in the clip set's order; the paired bootstrap of the guide's
    comparisons resamples them); ``data``: split -> ``(inputs, labels)``."""
    val_loss = history.history["val_loss"]
    accuracy, balanced, right = scores(model, *data["test"], n_classes)
    return dict(seed=seed, epochs=len(val_loss),
                best_epoch=int(np.argmin(val_loss)) + 1,
                val_accuracy=scores(model, *data["val"], n_classes)[0],
                test_accuracy=accuracy, test_balanced_accuracy=balanced,
                seconds=round(time.perf_counter() - started, 1),
                test_right=right)


def run(clips_path, seeds, log=print):
    from sed.corpora.clipset import load_clip_set
    from soundnet_keras.provenance import provenance
    from soundnet_keras.transfer import (FINE_TUNE, HEAD, classifier_head,
                                         fine_tune, fit_app, fit_head)
    sets = {rate: load_clip_set(clips_path, rate) for rate in (16000, 22050)}
    data = {rate: {split: clips.split(split) for split in
                   ("train", "val", "test")} for rate, clips in sets.items()}
    clips = sets[16000]
    n_classes = len(clips.classes)
    results = {row: dict(description=text, seeds=[])
               for row, text in ROWS.items()}
    for row in ("log_mel", "soundnet8_pooled", "soundnet8_conv5"):
        model, rate = embedder(row)
        started = time.perf_counter()
        emb = {split: (model.predict(x, batch_size=16, verbose=0), y)
               for split, (x, y) in data[rate].items()}
        results[row].update(features=int(emb["train"][0].shape[1]),
                            embedding_s=round(time.perf_counter() - started, 1))
        for seed in seeds:
            started = time.perf_counter()
            head = classifier_head(emb["train"][0], n_classes)
            history = fit_head(head, emb["train"], emb["val"], seed=seed)
            lines = {row: seed_record(head, history, emb, seed, started,
                                      n_classes)}
            results[row]["head_parameters"] = head.count_params()
            if row == "soundnet8_pooled":
                started = time.perf_counter()
                fresh, _ = embedder(row)       # conv6-conv7 as released
                app = fine_tune(fresh, head)
                waves = data[22050]
                history = fit_app(app, waves["train"], waves["val"],
                                  seed=seed)
                lines["soundnet8_fine_tuned"] = seed_record(
                    app, history, waves, seed, started, n_classes)
                results["soundnet8_fine_tuned"].update(
                    features=results[row]["features"],
                    head_parameters=head.count_params(),
                    trainable_parameters=int(sum(
                        np.prod(w.shape) for w in app.trainable_weights)))
            for name, line in lines.items():
                results[name]["seeds"].append(line)
                log(f"{name} seed {seed}: test accuracy "
                    f"{line['test_accuracy']:.3f} (balanced "
                    f"{line['test_balanced_accuracy']:.3f}), "
                    f"{line['epochs']} epochs")
    for row in results.values():
        for key in ("test_accuracy", "test_balanced_accuracy"):
            values = [s[key] for s in row["seeds"]]
            row[key] = dict(mean=float(np.mean(values)),
                            sd=float(np.std(values, ddof=1))
                            if len(values) > 1 else None,
                            min=float(min(values)), max=float(max(values)))
    import keras
    return dict(provenance=provenance(), keras_backend=keras.backend.backend(),
                clip_set=dict(path=str(clips_path), **{
                    k: clips.metadata[k] for k in ("source", "tier", "clips",
                                                   "clip_s", "seed",
                                                   "per_split")},
                    classes=clips.classes),
                head=HEAD, fine_tune=FINE_TUNE, seeds=list(seeds),
                rows=results)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", default="data/clips")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    from soundnet_keras.stores import write_text
    result = run(args.clips, args.seeds)
    write_text(args.out, json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
