"""What the command line shows on stderr: sklenet's progress, not TensorFlow's logs.

Library modules report through ``logging.getLogger(__name__)`` (children of
the ``"sklenet"`` logger) and :mod:`warnings`, and leave the logging
configuration of the process alone. Only the command line configures it, for
the time of one command, with :func:`command_output`: a handler on the
``"sklenet"`` logger, and, unless ``--verbose``, TensorFlow silenced.

TensorFlow 2.21 writes its C++ logs (absl's "All log messages before
absl::InitializeLog() ...", oneDNN, CUDA and "NodeDef mentions attribute"
lines) straight to file descriptor 2, and ``TF_CPP_MIN_LOG_LEVEL`` no longer
stops all of them. So while a command runs, descriptor 2 is a pipe read by a
thread that forwards every line except those logs, while Python's
``sys.stderr`` writes to the terminal directly. Worker processes inherit the
pipe, so their TensorFlow logs are dropped too.
"""

import contextlib
import logging
import os
import re
import sys
import threading
import warnings

_LOGGER = logging.getLogger("sklenet")

# A line of absl/glog C++ logging ("I0000 00:00:1796032465.447530   24449
# port.cc:153] ..."; the time is "hh:mm:ss.us" in glog, odd in absl),
# absl's notice before its initialisation, or a TensorFlow Python logger line
# of a worker process (which does not run command_output).
_NATIVE_LOG_LINE = re.compile(
    rb"[IWEF]\d{4} [\d:.]+ +\d+ [^ :]+:\d+\] "
    # TensorFlow 2.19's own: "2026-12-06 02:39:35.720857: E path.cc:467] ..."
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] [^ :]+:\d+\] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\)"
    rb"|(?:DEBUG|INFO|WARNING|ERROR):(?:tensorflow|absl):"
)

# Python loggers of TensorFlow and absl: tf.function retracing warnings,
# "Compiled the loaded model, but ..." and the like.
_THIRD_PARTY_LOGGERS = ("tensorflow", "absl", "h5py", "jax")


@contextlib.contextmanager
def command_output(verbosity=0):
    """Configure logging, warnings and TensorFlow's output for one command.

    Everything is restored when the block ends, so calling the command line
    in a process (as the tests do) leaves that process as it was.

    Parameters
    ----------
    verbosity : {-1, 0, 1}
        -1 (``--quiet``): only warnings and errors, no progress bars. 0:
        sklenet's progress on stderr, TensorFlow silenced. 1 (``--verbose``):
        sklenet's debug messages and all of TensorFlow's output.

    Examples
    --------
    >>> import logging
    >>> with command_output(0):
    ...     logging.getLogger("sklenet.cli").info("shown on stderr")
    >>> logging.getLogger("sklenet").handlers
    []
    """
    level = {-1: logging.WARNING, 0: logging.INFO, 1: logging.DEBUG}[verbosity]
    with contextlib.ExitStack() as stack:
        if verbosity < 1:
            # Only read when TensorFlow is imported, which commands do later.
            stack.enter_context(_environ("TF_CPP_MIN_LOG_LEVEL", "2"))
            stack.enter_context(_native_stderr_filter())
            for name in _THIRD_PARTY_LOGGERS:
                stack.enter_context(_logger_level(name, logging.ERROR))
            stack.enter_context(warnings.catch_warnings())
            warnings.filterwarnings(
                "ignore", module=r"(tensorflow|keras|absl|google\.protobuf)\b")
        if verbosity < 0:
            stack.enter_context(_environ("TQDM_DISABLE", "1"))  # progress bars
        stack.enter_context(_logger_level("sklenet", level))
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        _LOGGER.addHandler(handler)
        stack.callback(_LOGGER.removeHandler, handler)
        propagate, _LOGGER.propagate = _LOGGER.propagate, False
        stack.callback(setattr, _LOGGER, "propagate", propagate)
        yield


@contextlib.contextmanager
def _environ(name, value):
    """Set an environment variable the user has not set, for the block."""
    if name in os.environ:
        yield
        return
    os.environ[name] = value
    try:
        yield
    finally:
        os.environ.pop(name, None)


@contextlib.contextmanager
def _logger_level(name, level):
    logger = logging.getLogger(name)
    before = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)


@contextlib.contextmanager
def _native_stderr_filter():
    """Drop TensorFlow's native log lines from file descriptor 2 for the block.

    Python's ``sys.stderr`` keeps writing to the terminal (when it is
    descriptor 2; pytest's capture objects are left alone); what native code
    and child processes write to descriptor 2 goes through a pipe whose
    reader forwards all lines but TensorFlow's logs.
    """
    try:
        sys.stderr.flush()
        terminal = os.dup(2)
    except (OSError, ValueError):  # no usable descriptor 2: nothing to filter
        yield
        return
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    reader = threading.Thread(target=_forward, args=(read_end, terminal),
                              name="sklenet-stderr-filter", daemon=True)
    reader.start()
    python_stderr = sys.stderr
    if _fileno(python_stderr) == 2:
        sys.stderr = open(os.dup(terminal), "w", buffering=1,
                          encoding=python_stderr.encoding,
                          errors=python_stderr.errors)
    try:
        yield
    finally:
        if sys.stderr is not python_stderr:
            sys.stderr.flush()
            # Left open: handlers created during the block (TensorFlow's)
            # may still hold it.
            sys.stderr = python_stderr
        # Closes this process's write end: the reader stops at the end of the
        # pipe, or keeps forwarding for worker processes that still hold it.
        os.dup2(terminal, 2)
        reader.join(timeout=1)


def _fileno(stream):
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def _forward(read_end, terminal):
    """Copy the pipe to the terminal, less TensorFlow's native log lines.

    absl writes a log entry, continuation lines included (cpu_feature_guard's
    "To enable the following instructions: ..."), with one ``write``; lines
    that follow a dropped line in the same read belong to it.
    """
    with open(read_end, "rb", buffering=0) as pipe, \
            open(terminal, "wb", buffering=0) as out:
        while chunk := pipe.read(65536):
            kept, dropping = [], False
            for line in chunk.splitlines(keepends=True):
                if _NATIVE_LOG_LINE.match(line):
                    dropping = True
                elif not dropping:
                    kept.append(line)
            if kept:
                out.write(b"".join(kept))
