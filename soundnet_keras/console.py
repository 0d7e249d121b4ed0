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

import errno
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
        print(f"error: {describe_error(err)}", file=sys.stderr)
        return 2
    except Exception as err:
        if not _is_library_error(err):
            raise
        print(f"error: {describe_error(err)}", file=sys.stderr)
        return 2


#: The hint for each errno of a full disk or an unwritable folder.
_WRITE_ERRORS = {
    errno.ENOSPC: "no space left on the device; free some space or write "
                  "elsewhere",
    errno.EDQUOT: "disk quota exceeded; free some space or write elsewhere",
    errno.EROFS: "the file system is read-only; choose a folder you can "
                 "write to",
    errno.EACCES: "permission denied; choose a folder you can write to",
    errno.EPERM: "operation not permitted; choose a folder you can write to",
}


def _is_library_error(err):
    """An error of TensorFlow or HDF5 (h5py), whose messages span lines."""
    return type(err).__module__.startswith(("tensorflow", "h5py"))


def describe_error(err):
    """One line for an error: a full disk or a folder that cannot be
    written (an ``OSError``, or the same from TensorFlow's or HDF5's file
    writers, whose messages span lines) names the file and the fix; another
    error of TensorFlow or HDF5 gives its first line, any other its
    message.

    Example:
        >>> describe_error(OSError(28, "No space left on device", "/d/x.npz"))
        '/d/x.npz: no space left on the device; free some space or write elsewhere'
        >>> describe_error(RuntimeError("Can't write data (file write failed: "
        ...     "filename = '/d/best.weights.h5', errno = 28, error message "
        ...     "= 'No space left on device')\\nmore"))
        '/d/best.weights.h5: no space left on the device; free some space or write elsewhere'
    """
    from .stores import write_error_code
    text = str(getattr(err, "message", None) or err)
    code = write_error_code(err)
    name = getattr(err, "filename", None)
    if name is None:
        found = re.search(r"filename = '([^']+)'|"
                          r"(?:NewWriteableFile|open|opening):? '?(/[^\s':;]+)",
                          text)
        name = found and (found.group(1) or found.group(2))
    if code in _WRITE_ERRORS and name:
        return f"{name}: {_WRITE_ERRORS[code]}"
    if code in _WRITE_ERRORS:
        return _WRITE_ERRORS[code]
    if not _is_library_error(err):
        return str(err)
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__
