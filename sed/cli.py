"""Command line: ``sed-ctc {train, evaluate, detect, experiments, plot, corpus}`` (or ``python -m sed``; not ``sed``,
which would shadow GNU sed in an activated environment).

::

    sed-ctc train --config sed/configs/demo.yaml [--epochs N] [--out DIR]
    sed-ctc evaluate --model RUN_DIR --corpus DIR [--splits val test] [--json FILE]
    sed-ctc detect FILE... --model RUN_DIR [--tsv]
    sed-ctc experiments table4 --corpus DIR --epochs N [--rows ROW...]
    sed-ctc plot RUN_DIR... --out FILE.png
    sed-ctc corpus {standin,default,pool,summary} ...   (sed.corpora.cli)

``python -m sed`` is the same program. Each command calls a public function:
:func:`sed.train.train`, :func:`sed.decode.evaluate_detector`,
:meth:`sed.decode.Detector.detect`, :func:`sed.experiments.run_table4`,
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


def _train(args):
    from .train import TrainingDiverged, load_config, train
    config = load_config(args.config)
    for key in ("epochs", "corpus", "out"):
        value = getattr(args, key)
        if value is not None:
            config["training"][key] = value
    if args.no_progress:
        config["training"]["progress"] = False
    try:
        rows = train(config, log=_log)
    except TrainingDiverged as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if rows:
        last = rows[-1]
        print(f"done: {len(rows)} epochs in {config['training']['out']}; "
              f"final val TER {_fmt(last['val_ter'])}, test TER "
              f"{_fmt(last['test_ter'])}")
    return 0


def _fmt(value):
    return "-" if value is None else f"{value:.3f}"


def _evaluate(args):
    import pandas as pd
    from .corpora import load_corpus
    from .decode import evaluate_detector, load_detector
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
        from soundnet_keras.training import provenance
        record = dict(model=str(args.model), corpus=str(args.corpus),
                      metrics=json.loads(table.to_json(orient="records")),
                      provenance=provenance())
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
    return 0


def _detect(args):
    import pandas as pd
    from .decode import load_detector
    detector = load_detector(args.model)
    found, failures = [], []
    for path in args.files:
        try:
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


def _experiments(args):
    import pandas as pd
    from .experiments import run_table4
    table = run_table4(args.corpus, args.epochs, runs=args.runs,
                       histories=args.histories, rows=args.rows,
                       base=args.config, log=_log,
                       progress=not args.no_progress)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(table.drop(columns=["kind"]).to_string(
            index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"written to {Path(args.histories) / 'table4.csv'}")
    return 0


def _plot(args):
    import matplotlib
    matplotlib.use("Agg")
    from soundnet_keras.plots import read_history
    from .plots import plot_convergence
    histories = {}
    for run in args.runs:
        path = Path(run) / "history.json" if Path(run).is_dir() else Path(run)
        if not path.is_file():
            raise ValueError(f"{run}: no history.json (a run folder or a "
                             "history.json file is expected)")
        label = path.parent.name
        histories[str(run) if label in histories else label] = \
            read_history(path)
    fig = plot_convergence(histories)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=100)
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
                   "net, opt, feats, training")
    p.add_argument("--epochs", type=int, help="override training.epochs")
    p.add_argument("--corpus", help="override training.corpus")
    p.add_argument("--out", help="override training.out (the run folder)")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bars (one line per epoch stays)")
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
    p.set_defaults(run=_detect)

    p = commands.add_parser("experiments", help="the paper's experiments: "
                            "train on every feature row of Table 4")
    p.add_argument("experiment", choices=["table4"])
    p.add_argument("--corpus", required=True, help="the corpus folder")
    p.add_argument("--epochs", type=int, required=True,
                   help="epochs per row")
    p.add_argument("--rows", nargs="+", metavar="ROW", help="only these rows "
                   "(names such as lowlevel snr_gru1_bn, or feature kinds)")
    p.add_argument("--config", help="base recipe, a YAML file (default: "
                   "sed.train.DEFAULTS)")
    p.add_argument("--runs", default="runs/table4", help="run folders "
                   "(checkpoints, weights); default %(default)s")
    p.add_argument("--histories", default="notebooks/histories/table4",
                   help="histories, configs and table4.csv; default "
                   "%(default)s")
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
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except (OSError, ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
