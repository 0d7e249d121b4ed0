"""Command line: ``sed-ctc {train, evaluate, detect, features, experiments, plot, corpus}`` (or ``python -m sed``; not ``sed``,
which would shadow GNU sed in an activated environment).

::

    sed-ctc train --config sed/configs/demo.yaml [--epochs N] [--out DIR]
    sed-ctc evaluate --model RUN_DIR --corpus DIR [--splits val test] [--json FILE]
    sed-ctc detect FILE... --model RUN_DIR [--tsv] [--plot OUT.png [--reference ANN.tsv]]
    sed-ctc features --corpus DIR --kinds KIND... [--weights W] [--cache-dir DIR]
    sed-ctc experiments table4 --corpus DIR [--seeds 0 1 2] [--rows ROW...] [--jobs 2] [--publish]
    sed-ctc experiments sweep --corpus DIR --epochs N --rows ROW... --seeds 0 1 --variants paper tanh_clipped
    sed-ctc plot RUN_DIR... --out FILE.png
    sed-ctc corpus {standin,default,pool,summary} ...   (sed.corpora.cli)

``python -m sed`` is the same program. Each command calls a public function:
:func:`sed.train.train`, :func:`sed.decode.evaluate_detector`,
:meth:`sed.detector.Detector.detect` (with ``--plot``,
:func:`sed.plots.detection_figure`), :func:`sed.features.fill_cache`,
:func:`sed.experiments.run_table4`,
:func:`sed.plots.plot_convergence`. Exit status: 0 on success, 1 when some
input file failed (``detect``) or training diverged, 2 on a usage or input
error.
"""

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _log(message):
    print(message, flush=True)


def _need(*paths):
    """Reports a missing input before TensorFlow loads; then starts it
    quietly (:func:`soundnet_keras.console.start_tensorflow`)."""
    for path in paths:
        if path is not None and not Path(path).exists():
            raise FileNotFoundError(f"no such file or folder: {path}")
    from soundnet_keras.console import start_tensorflow
    start_tensorflow()


def _train(args):
    shipped = Path(__file__).resolve().parent / "configs" / f"{args.config}.yaml"
    _need(args.corpus, None if shipped.is_file() else args.config)
    from .train import TrainingDiverged, load_config, train
    config = load_config(args.config)
    for key in ("epochs", "corpus", "out"):
        value = getattr(args, key)
        if value is not None:
            config["training"][key] = value
    if args.no_progress:
        config["training"]["progress"] = False
    try:
        rows = train(config, log=_log, force=args.force_resume)
    except TrainingDiverged as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if rows:
        from .metrics import score_text
        last = rows[-1]
        print(f"done: {len(rows)} epochs in {config['training']['out']}; "
              f"final val TER {score_text(last['val_ter'])}, test TER "
              f"{score_text(last['test_ter'])}")
    return 0


def _evaluate(args):
    _need(args.model, args.corpus)
    import pandas as pd
    from .corpora import load_corpus
    from .decode import evaluate_detector
    from .detector import load_detector
    detector = load_detector(args.model)
    corpus = load_corpus(args.corpus)
    table = evaluate_detector(detector, corpus, args.splits,
                              cache_dir=args.cache_dir,
                              progress=not args.no_progress)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda v:
                              f"{v:.3f}"))
    if args.json:
        import json
        from soundnet_keras.provenance import provenance
        from soundnet_keras.stores import write_text
        record = dict(model=str(args.model), corpus=str(args.corpus),
                      metrics=json.loads(table.to_json(orient="records")),
                      provenance=provenance())
        write_text(args.json, json.dumps(record, indent=2) + "\n")
    return 0


def _detect(args):
    _need(args.model, *args.files)
    import pandas as pd
    from .detector import load_detector
    if args.reference and not args.plot:
        raise ValueError("--reference needs --plot (the reference is drawn "
                         "beside the decoded events)")
    from soundnet_keras.outputs import plan_pictures
    pictures = plan_pictures(args.files, args.plot) if args.plot else \
        [None] * len(args.files)
    detector = load_detector(args.model)
    found, failures = [], []
    for path, picture in zip(args.files, pictures):
        try:
            if picture is not None:
                found.append(_detect_and_plot(detector, path, picture,
                                              args.reference))
            else:
                found.append(detector.detect(path))
        except (OSError, ValueError, RuntimeError) as err:
            failures.append(path)
            print(f"error: {path}: {err}", file=sys.stderr)
    events = pd.concat(found, ignore_index=True) if found else \
        pd.DataFrame(columns=["filename", "onset", "offset", "event_label"])
    if args.tsv:
        events.to_csv(sys.stdout, sep="\t", index=False, lineterminator="\n",
                      float_format="%.3f")
    elif events.empty:
        print("no events detected")
    else:
        print(events.to_string(index=False, float_format=lambda v:
                               f"{v:.2f}"))
    return 1 if failures else 0


def _detect_and_plot(detector, path, picture, reference):
    import matplotlib
    matplotlib.use("Agg")
    from soundnet_keras.plots import save_figure
    from .plots import detection_figure
    fig, events = detection_figure(detector, path, reference)
    print(f"wrote {save_figure(fig, picture)}", file=sys.stderr)
    return events


def _features(args):
    from .features import parse_kind
    for kind in args.kinds:
        parse_kind(kind)          # unknown kinds before TensorFlow starts
    _need(args.corpus)
    from .corpora import load_corpus
    from .features import fill_cache
    computed = fill_cache(load_corpus(args.corpus), args.kinds,
                          args.cache_dir, split=args.splits,
                          weights=args.weights, workers=args.workers,
                          progress=not args.no_progress)
    for kind, count in computed.items():
        print(f"{kind}: {count} recordings computed, the others cached")
    return 0


def _experiments(args):
    _need(args.corpus, args.config)
    import pandas as pd
    from .experiments import (COMMITTED_HISTORIES, TABLE4_PATIENCE,
                              TABLE4_SEEDS, run_sweep, run_table4)
    for flag, value in (("--epochs", args.epochs), ("--jobs", args.jobs),
                        ("--threads", args.threads)):
        if value is not None and value < 1:
            raise ValueError(f"{flag} must be at least 1. Received {value}")
    if args.patience is not None and args.patience < 0:
        raise ValueError(f"--patience must be 0 (never stop early) or more. "
                         f"Received {args.patience}")
    if args.experiment == "sweep":
        if args.epochs is None:
            raise ValueError("sweep needs --epochs")
        table = run_sweep(args.corpus, args.epochs, args.rows or [
            "lowlevel", "soundnet8_conv5"], args.seeds or [0], args.variants,
            runs=args.runs or "runs/sweep", base=args.config,
            jobs=args.jobs if args.jobs is not None else 2,
            threads=args.threads, log=_log,
            histories=args.histories, publish=args.publish)
        with pd.option_context("display.width", 160,
                               "display.max_columns", 20):
            print(table.to_string(index=False,
                                  float_format=lambda v: f"{v:.3f}"))
        return 0
    args.runs = args.runs or "runs/table4"
    histories = args.histories or (COMMITTED_HISTORIES if args.publish else
                                   Path(args.runs) / "histories")
    patience = TABLE4_PATIENCE if args.patience is None else \
        (args.patience or None)
    table = run_table4(args.corpus, args.epochs or 200, runs=args.runs,
                       histories=histories, rows=args.rows,
                       seeds=args.seeds or TABLE4_SEEDS, patience=patience,
                       base=args.config, log=_log,
                       progress=not args.no_progress,
                       jobs=args.jobs if args.jobs is not None else 1,
                       threads=args.threads)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(table.drop(columns=["kind", "label"]).to_string(
            index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"written to {Path(histories) / 'table4.csv'}")
    return 0


def _plot(args):
    paths = [Path(run) / "history.json" if Path(run).is_dir() else Path(run)
             for run in args.runs]
    for run, path in zip(args.runs, paths):
        if not path.is_file():
            raise ValueError(f"{run}: no history.json (a run folder or a "
                             "history.json file is expected)")
    import matplotlib
    matplotlib.use("Agg")
    from soundnet_keras.plots import read_history
    from .plots import plot_convergence
    histories = {}
    for run, path in zip(args.runs, paths):
        label = path.parent.name
        histories[str(run) if label in histories else label] = \
            read_history(path)
    from soundnet_keras.plots import save_figure
    save_figure(plot_convergence(histories), args.out)
    print(f"wrote {args.out}")
    return 0


def parser():
    """The argument parser of ``sed``."""
    top = argparse.ArgumentParser(
        prog="sed-ctc", description="The CTC-RNN sound event detector of Wang & "
        "Metze (Interspeech 2017).")
    commands = top.add_subparsers(dest="command", required=True)

    p = commands.add_parser("train", help="train a CTC-RNN from a YAML "
                            "config (resumes in an existing run folder)")
    p.add_argument("--config", required=True, help="YAML file with sections "
                   "net, opt, feats, training, or the name of a shipped "
                   "config (demo, paper, lowlevel, opensmile, "
                   "soundnet8_conv5)")
    p.add_argument("--epochs", type=int, help="override training.epochs")
    p.add_argument("--corpus", help="override training.corpus")
    p.add_argument("--out", help="override training.out (the run folder)")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bars (one line per epoch stays)")
    p.add_argument("--force-resume", action="store_true",
                   help="resume a run folder made from other inputs (another "
                   "config, corpus or features) with these")
    p.set_defaults(run=_train)

    p = commands.add_parser("evaluate", help="token error rate and event "
                            "metrics of a trained run on a corpus")
    p.add_argument("--model", required=True, help="the run folder")
    p.add_argument("--corpus", required=True, help="the corpus folder")
    p.add_argument("--splits", nargs="+", default=["train", "val", "test"])
    p.add_argument("--cache-dir", help="feature cache (default "
                   "CORPUS/features)")
    p.add_argument("--json", help="also write the table (\"metrics\", one "
                   "record per split) with the model, the corpus and the "
                   "provenance to this JSON file")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(run=_evaluate)

    p = commands.add_parser("detect", help="detect events in audio files")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--model", required=True, help="the run folder")
    p.add_argument("--tsv", action="store_true", help="write DCASE TSV "
                   "(filename, onset, offset, event_label) to stdout")
    p.add_argument("--plot", metavar="OUT.png", help="also draw the log-mel "
                   "spectrogram, the CTC token posteriors and the event roll "
                   "to this image (several files: OUT-<path>.png each; a "
                   "folder: FOLDER/<path>.png, mirroring the inputs)")
    p.add_argument("--reference", metavar="ANN", help="with --plot: draw "
                   "the reference events of an annotation file (.tsv, .ann) "
                   "beside the decoded ones")
    p.set_defaults(run=_detect)

    p = commands.add_parser("features", help="compute and cache feature "
                            "kinds of a corpus (the layers of one network in "
                            "one pass per recording)")
    p.add_argument("--corpus", required=True, help="the corpus folder")
    p.add_argument("--kinds", nargs="+", required=True, metavar="KIND",
                   help="feature kinds, e.g. snr:pool5 snr:gru1 lowlevel")
    p.add_argument("--weights", default="default", help="network weights: "
                   "a preset name or a .weights.h5 file (default: each "
                   "kind's own)")
    p.add_argument("--cache-dir", help="feature cache (default "
                   "CORPUS/features)")
    p.add_argument("--splits", nargs="+", default=["train", "val", "test"])
    p.add_argument("--workers", type=int, default=1, help="processes for "
                   "the descriptors of lowlevel and opensmile")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(run=_features)

    p = commands.add_parser("experiments", help="the paper's experiments: "
                            "train on every feature row of Table 4 (table4),"
                            " or rows x seeds x recipe variants (sweep)")
    p.add_argument("experiment", choices=["table4", "sweep"])
    p.add_argument("--corpus", required=True, help="the corpus folder")
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs per run (table4: at most, default 200; "
                   "sweep: required)")
    p.add_argument("--patience", type=int, default=None,
                   help="table4: stop a run when its validation TER has not "
                   "improved for this many epochs (default 15; 0: never)")
    p.add_argument("--rows", nargs="+", metavar="ROW", help="only these rows "
                   "(names such as lowlevel snr_gru1_bn, or feature kinds)")
    p.add_argument("--config", help="base recipe, a YAML file (default: "
                   "sed.train.DEFAULTS)")
    p.add_argument("--runs", help="run folders (checkpoints, weights); "
                   "default runs/table4 or runs/sweep")
    p.add_argument("--seeds", type=int, nargs="+", default=None,
                   help="seeds (initialisation and data order; default: "
                   "table4 0 1 2, sweep 0)")
    p.add_argument("--variants", nargs="+", default=["paper"],
                   help="sweep: recipe variants: paper, paper_pretrain "
                   "(with frame-wise pre-training), tanh_clipped")
    p.add_argument("--jobs", type=int, default=None,
                   help="runs at once, each in a worker process, saying "
                   "each epoch as it is published (default: sweep 2, table4 "
                   "1, in this process with progress bars)")
    p.add_argument("--threads", type=int, default=1,
                   help="TensorFlow threads per worker process (default 1)")
    p.add_argument("--histories", help="histories, configs and table4.csv; "
                   "default RUNS/histories")
    p.add_argument("--publish", action="store_true",
                   help="write the histories to the committed folder "
                   "(table4: notebooks/histories/table4, sweep: "
                   "notebooks/histories/warmup), never replacing a history "
                   "with more epochs or another config")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(run=_experiments)

    p = commands.add_parser("plot", help="training loss and TERs per epoch "
                            "of runs (Figure 2's panels) to an image")
    p.add_argument("runs", nargs="+", metavar="RUN",
                   help="run folders or history.json files")
    p.add_argument("--out", required=True, help="image file (.png, .pdf)")
    p.set_defaults(run=_plot)

    from .corpora.cli import add_parser
    add_parser(commands)
    return top


def main(argv=None):
    """Runs ``sed`` with ``argv`` (default ``sys.argv[1:]``); returns the
    exit status."""
    from soundnet_keras.console import run_command
    args = parser().parse_args(argv)
    return run_command(args.run, args)


if __name__ == "__main__":
    sys.exit(main())
