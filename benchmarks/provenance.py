"""Provenance of a measurement: command, commit, date, machine (the same
record as the training runs': :func:`soundnet_keras.provenance.provenance`),
and the writing of a benchmark's result."""

import json
import os

from soundnet_keras.provenance import provenance


def write_result(path, result, table):
    """Writes ``result`` (a dict) as JSON to ``path`` atomically, then
    prints the Markdown ``table`` and where the result went."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, path)
    print()
    print(table)
    print(f"\nwritten {path}")


__all__ = ["provenance", "write_result"]
