"""What both command lines share: a quiet TensorFlow start, one-line
warnings and errors, and exit status 130 on Ctrl-C.

TensorFlow's C++ side prints start-up lines straight to file descriptor 2
before absl's logging is initialised, so ``TF_CPP_MIN_LOG_LEVEL`` cannot
silence them (``WARNING: All log messages before absl::InitializeLog() ...``,
the oneDNN and CPU-feature notes, ``Could not find cuda drivers``, and at the
first device query ``failed call to cuInit`` on a machine without a GPU).
:func:`start_tensorflow` imports TensorFlow and lists its devices with fd 2
sent to a temporary file, then writes back every line that is not one of
those known notices, so real errors still show.
"""

import os
import re
import sys
import tempfile
import warnings
from contextlib import contextmanager

NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\)"
    r"|I\d{4} [\d:. ]+\d+ \S+\] "             # absl INFO lines
    r"|To enable the following instructions:"  # cpu_feature_guard's 2nd line
    r"|E\d{4} [\d:. ]+\d+ cuda_(platform|executor|diagnostics)\.cc:\d+\] "
    r"(failed call to cuInit|.*CUDA error))")


@contextmanager
def filtered_stderr(noise=NOISE):
    """Sends fd 2 to a temporary file inside the block; afterwards writes
    back the lines that ``noise`` does not match (all of them if the block
    raised)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        failed = True
        try:
            yield
            failed = False
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode("utf-8", errors="replace")
            kept = [line for line in text.splitlines(keepends=True)
                    if failed or not noise.search(line)]
            sys.stderr.write("".join(kept))
            sys.stderr.flush()


def start_tensorflow():
    """Imports TensorFlow and Keras and initialises the devices, quietly.

    Example:
        >>> start_tensorflow().__name__
        'tensorflow'
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with filtered_stderr():
        import tensorflow as tf
        import keras  # noqa: F401
        tf.config.list_physical_devices()
    return tf


def _one_line_warning(message, category, filename, lineno, file=None,
                      line=None):
    print(f"warning: {message}", file=sys.stderr if file is None else file)


def run_command(function, args, errors=(OSError, ValueError, RuntimeError)):
    """Runs ``function(args)`` for a command line; returns the exit status.

    Warnings print as one ``warning: ...`` line; an expected error (bad
    input, missing file, ...) as one ``error: ...`` line and status 2;
    Ctrl-C as ``interrupted`` and status 130 (128 + SIGINT), as shells do.
    """
    warnings.showwarning = _one_line_warning
    try:
        return function(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except errors as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
