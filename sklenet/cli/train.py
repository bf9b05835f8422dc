"""``sklenet train``: train a model on the deployment split and save it."""

import json
import logging
import time

from .._recipes import MODEL_TITLES, MODEL_TYPES
from ._common import (
    UsageError,
    add_data,
    load_data,
    output_file,
    positive_int,
    split,
    writing,
)

HELP = "train a model and save it"
DESCRIPTION = (
    "Train a model on the 70/30 deployment split (the 30 % for early stopping) "
    "and save it with sklenet.save. Prints the validation accuracy.")
_LOGGER = logging.getLogger(__name__)


def add_arguments(parser):
    add_data(parser)
    parser.add_argument("--model", required=True, metavar="FILE",
                        help="where to save the trained model")
    parser.add_argument("--model-type", choices=tuple(MODEL_TYPES),
                        default="standard",
                        help="; ".join(f"{name}: {title}" for name, title in
                                       MODEL_TITLES.items()) + " (default: standard)")
    parser.add_argument("--params", metavar="JSON",
                        help="hyperparameters overriding the model type's: a JSON "
                        "file, such as the one of sklenet tune --best-params-out, "
                        "or a JSON object such as '{\"learning_rate\": 0.01}'")
    parser.add_argument("--epochs", type=positive_int, default=100, metavar="N",
                        help="maximum epochs; a model type with fewer epochs of "
                        "its own (best: a 30-epoch schedule) keeps them "
                        "(default: 100)")
    parser.add_argument("--n-estimators", type=positive_int, default=10,
                        metavar="N", help="ensemble members (default: 10)")
    parser.add_argument("--max-samples", type=positive_int, metavar="N",
                        help="use a stratified subsample of N images")
    parser.add_argument("--random-state", type=int, default=0, metavar="SEED",
                        help="seed of the split and the training (default: 0)")


def read_params(text):
    """Hyperparameters from a JSON object or a JSON file, checked by name."""
    from .._classifier import LeNetClassifier
    from .._io import read_json

    if text is None:
        return {}
    try:
        params = (json.loads(text) if text.lstrip().startswith("{")
                  else read_json(text, what="file"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"--params {text}: {exc}") from exc
    if not isinstance(params, dict):
        raise UsageError(f"--params {text} must hold a JSON object of "
                         "hyperparameters, such as search_best_params.json.")
    valid = LeNetClassifier().get_params()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise UsageError(f"--params {text} has unknown hyperparameters {unknown}; "
                         f"valid: {', '.join(sorted(valid))}.")
    return params


def run(args):
    from .._recipes import make_estimator
    from ..persistence import save

    model_path = output_file(args.model)
    params = read_params(args.params)
    X_train, X_val, y_train, y_val = split(
        args, "deployment", *load_data(args.data), args.random_state)
    try:
        estimator = make_estimator(
            args.model_type, n_estimators=args.n_estimators, max_epochs=args.epochs,
            **{**params, "random_state": args.random_state})
        estimator._validate_params()  # sklearn's constraints, before training
    except (TypeError, ValueError) as exc:
        given = "--params" if args.params else "--model-type"
        raise UsageError(f"{given} {args.params or args.model_type}: {exc}") from exc
    _LOGGER.info("training the %s on %s images, early stopping on %s ...",
                 MODEL_TITLES[args.model_type], f"{len(y_train):,}",
                 f"{len(y_val):,}")
    start = time.perf_counter()
    try:
        estimator.fit(X_train, y_train, validation_data=(X_val, y_val))
    except ValueError as exc:  # values the constraints cannot see
        raise UsageError(str(exc)) from exc
    seconds = time.perf_counter() - start
    with writing("--model", model_path):
        save(estimator, model_path)
    print(f"validation accuracy {estimator.score(X_val, y_val):.4f} "
          f"({len(y_val):,} images)")
    _LOGGER.info("trained in %.0f s; saved to %s", seconds, model_path)
    return 0
