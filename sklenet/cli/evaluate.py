"""``sklenet evaluate``: accuracy and per-class ROC AUC of a saved model."""

import json
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

HELP = "score a saved model on labelled images"
DESCRIPTION = (
    "Accuracy and per-class one-vs-rest ROC AUC of a saved model on labelled "
    "images (an IDX folder's t10k test files), as a Markdown table on stdout.")
_LOGGER = logging.getLogger(__name__)


def add_arguments(parser):
    add_model(parser)
    add_data(parser)
    parser.add_argument("--out", metavar="JSON", help="also write the metrics")


def run(args):
    import pandas as pd

    from ..evaluation import split_scores

    out = None if args.out is None else output_file(args.out)
    model = load_model(args.model)
    X, y = load_data(args.data, kind="test")
    known = set(model.classes_.tolist())
    unknown = sorted({label for label in y.tolist() if label not in known}, key=str)
    if unknown:
        raise UsageError(
            f"--data {args.data} has labels the model does not know: "
            f"{unknown[:10]}{' ...' if len(unknown) > 10 else ''}; its classes "
            f"are {model.classes_.tolist()}.")
    try:
        scores = split_scores(model, X, y)
    except ValueError as exc:  # such as images of another size
        raise UsageError(f"--data {args.data}: {exc}") from exc
    print(f"{args.model} on {args.data} ({len(y):,} images): "
          f"accuracy {scores['accuracy']:.4f}")
    table = pd.DataFrame(
        [(str(label), scores[f"roc_auc_{label}"]) for label in model.classes_],
        columns=["class", "ROC AUC"])
    print(table.to_markdown(index=False, floatfmt=".4f"))
    if out is not None:
        from .._io import atomic_write

        with writing("--out", out):
            atomic_write(out, json.dumps({"n_samples": len(y), **scores}, indent=1))
        _LOGGER.info("metrics written to %s", out)
    return 0
