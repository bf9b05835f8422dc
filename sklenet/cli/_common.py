"""What the commands share: user errors, the data, the splits, the outputs.

Every helper here turns a mistake of the user into a :class:`UsageError`,
which :func:`sklenet.cli.main` reports as one line, before anything is
written.
"""

import argparse
import contextlib
from pathlib import Path


class UsageError(Exception):
    """A mistake of the user: reported as one line, without a traceback."""


# ------------------------------------------------------------ arguments
def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def positive_float(text):
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def add_data(parser, default="sample", what="labelled images"):
    """The ``--data`` option."""
    parser.add_argument(
        "--data", default=default, required=default is None,
        help=f"{what}: 'sample' (the offline 5,000-digit MNIST sample), a Kaggle "
        "Digit Recognizer CSV or a folder of MNIST IDX files"
        + (f" (default: {default})" if default else ""))


def add_model(parser, help="a model saved by sklenet train or sklenet.save"):
    """The ``--model FILE`` option of the commands that read a model."""
    parser.add_argument("--model", required=True, metavar="FILE", help=help)


# ------------------------------------------------------------------- data
def load_data(spec, *, kind="train", labelled=True):
    """(X, y) from ``sample``, a Kaggle CSV or an IDX folder; y may be None
    for an unlabelled CSV unless ``labelled``."""
    from ..datasets import load_digit_recognizer, load_mnist_idx, load_sample_digits

    try:
        if spec == "sample":
            X, y = load_sample_digits(return_X_y=True)
        elif Path(spec).is_dir():
            X, y = load_mnist_idx(spec, kind=kind, return_X_y=True)
        else:
            X, y = load_digit_recognizer(spec, return_X_y=True)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--data {spec}: {exc}") from exc
    if labelled and y is None:
        raise UsageError(
            f"--data {spec} has no label column; this command needs labelled "
            "images such as Kaggle's train.csv."
        )
    return X, y


def split(args, split, X, y, random_state):
    """``split(X, y)`` of the ``--max-samples`` subsample, or a UsageError when
    there are too few images of some class for a stratified split."""
    from ..evaluation import deployment_split, evaluation_split
    from ..study import subsample

    function, name = {"deployment": (deployment_split, "70/30"),
                      "evaluation": (evaluation_split, "60/20/20")}[split]
    try:
        X, y = subsample(X, y, args.max_samples, random_state)
        return function(X, y, random_state=random_state)
    except ValueError as exc:
        given = (f"--max-samples {args.max_samples}" if args.max_samples
                 else f"--data {args.data}")
        raise UsageError(f"{given}: too few images for the stratified {name} "
                         f"split ({exc}).") from exc


def load_model(path):
    from ..persistence import load

    try:
        return load(path)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--model {path}: {exc}") from exc


# ---------------------------------------------------------------- outputs
def output_file(path):
    """Refuse an output path whose folder does not exist, before any work."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give a file name.")
    if not path.parent.is_dir():
        raise UsageError(f"the folder of {path} does not exist.")
    return path


@contextlib.contextmanager
def writing(option, path):
    """Report an OSError while writing ``path`` (permissions, a full disk) as
    a UsageError; the atomic writers leave nothing behind."""
    try:
        yield
    except OSError as exc:
        raise UsageError(f"{option} {path}: {exc}") from exc
