"""Plain helpers shared by the command line's test modules (fixtures live in
conftest.py)."""

import os
import re


def one_error_line(capsys, expected):
    """Check that the command wrote one line to stderr, matching ``expected``
    and without a traceback; return it."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") == 1, err
    assert re.search(expected, err), err
    return err


def environment():
    """The environment of a user who has not quieted TensorFlow."""
    return {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
