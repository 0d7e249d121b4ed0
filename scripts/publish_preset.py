"""Publishes a student run as a preset of the package.

Copies the run's history (``history.json`` / ``.csv``, with config and
provenance) into ``soundnet_keras/presets/histories/<name>.history.*`` and,
unless ``--history-only``, the student of its best validation epoch
(``<model>.weights.h5`` of a finished run, or ``<model>_trunk.weights.h5``
of a pretrained-trunk run) into ``soundnet_keras/presets/<name>.weights.h5``
with its sha256 in ``SHA256SUMS``. The preset's ``PRESETS`` entry
(``soundnet_keras/weights.py``) is written by hand: it says what the
weights are.

A run stopped before its ``--epochs`` has no final weights yet: run the
same training command with ``--epochs`` set to the epochs it has (it then
writes them at once), then publish.

    python scripts/publish_preset.py runs/students/snf_scratch_pool snf_scratch_pool
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

from soundnet_keras.weights import PACKAGE_DIR as PRESETS, record_sha256


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="the run folder")
    parser.add_argument("name", help="the preset's name")
    parser.add_argument("--history-only", action="store_true",
                        help="publish the history only (a run in progress)")
    parser.add_argument("--presets", type=Path, default=PRESETS,
                        help="the presets folder (default: the package's)")
    args = parser.parse_args(argv)
    presets = args.presets
    history = args.run / "history.json"
    if not history.exists():
        sys.exit(f"{history} does not exist: is {args.run} a student run?")
    model = json.loads(history.read_text())["config"]["model"]
    for suffix in ("json", "csv"):
        shutil.copyfile(args.run / f"history.{suffix}",
                        presets / "histories" / f"{args.name}.history.{suffix}")
    print(f"history of {args.run} -> presets/histories/{args.name}.history.*")
    if args.history_only:
        return 0
    candidates = [args.run / f"{model}.weights.h5",
                  args.run / f"{model}_trunk.weights.h5"]
    weights = next((p for p in candidates if p.exists()), None)
    if weights is None:
        sys.exit(f"{args.run} has no final weights ({candidates[0].name}); "
                 "run its training command again with --epochs set to the "
                 "epochs it has")
    target = presets / f"{args.name}.weights.h5"
    shutil.copyfile(weights, target)
    digest = record_sha256(target)
    print(f"{weights} -> presets/{target.name} (sha256 {digest})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
