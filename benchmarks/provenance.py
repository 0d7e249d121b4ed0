"""Provenance of a measurement: command, commit, date, machine."""

import datetime
import os
import platform
import subprocess
import sys


def provenance():
    def git(*args):
        try:
            return subprocess.run(["git", *args], capture_output=True,
                                  text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    import tensorflow as tf
    return dict(
        command=" ".join([os.path.basename(sys.executable)] + sys.argv),
        commit=git("rev-parse", "HEAD"),
        dirty=bool(git("status", "--porcelain", "--untracked-files=no")),
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        machine=dict(platform=platform.platform(),
                     processor=platform.processor() or platform.machine(),
                     cpus=os.cpu_count(), python=platform.python_version(),
                     tensorflow=tf.__version__),
    )
