"""Provenance of a run or a measurement: command, commit, date, machine.

Every history, figure and benchmark result of the project carries this
record, so that each number can be traced to the code and the machine that
produced it.

Example:
    >>> record = provenance("python -m doctest")
    >>> sorted(record)
    ['command', 'commit', 'date', 'dirty', 'machine']
    >>> record["command"]
    'python -m doctest'
"""

import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path


def _git(*args):
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True,
                              check=True,
                              cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def provenance(command=None):
    """Command, commit (and whether the checkout had uncommitted changes),
    date and machine of a run or a measurement."""
    import tensorflow as tf
    return dict(command=command or " ".join(sys.argv),
                commit=_git("rev-parse", "HEAD") or None,
                dirty=bool(_git("status", "--porcelain",
                                "--untracked-files=no")),
                date=datetime.datetime.now(datetime.timezone.utc).isoformat(
                    timespec="seconds"),
                machine=dict(platform=platform.platform(),
                             processor=platform.processor()
                             or platform.machine(),
                             cpus=os.cpu_count(),
                             python=platform.python_version(),
                             tensorflow=tf.__version__))


__all__ = ["provenance"]
