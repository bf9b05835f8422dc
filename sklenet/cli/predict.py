"""``sklenet predict``: a Kaggle submission from a saved model."""

import logging

from ._common import (
    UsageError,
    add_data,
    add_model,
    load_data,
    load_model,
    output_file,
    writing,
)

HELP = "write a Kaggle submission"
DESCRIPTION = ("Predict the label of every image and write a Kaggle submission: "
               "ImageId (from 1), Label.")
_LOGGER = logging.getLogger(__name__)


def add_arguments(parser):
    add_model(parser)
    add_data(parser, default=None, what="images to label, e.g. Kaggle's test.csv")
    parser.add_argument("--out", default="submission.csv", metavar="CSV",
                        help="the submission file (default: submission.csv)")


def run(args):
    import numpy as np
    import pandas as pd

    from .._io import atomic_write

    out = output_file(args.out)
    model = load_model(args.model)
    X, _ = load_data(args.data, kind="test", labelled=False)
    try:
        labels = model.predict(X)
    except ValueError as exc:  # such as images of another size
        raise UsageError(f"--data {args.data}: {exc}") from exc
    submission = pd.DataFrame({"ImageId": np.arange(1, len(labels) + 1),
                               "Label": labels})
    with writing("--out", out):
        atomic_write(out, submission.to_csv(index=False))
    _LOGGER.info("%s predictions written to %s", f"{len(labels):,}", out)
    return 0
