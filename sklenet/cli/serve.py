"""``sklenet serve``: a drawing page and a JSON endpoint for a model."""

import argparse
import logging
import time

from .._recipes import MODEL_TITLES, MODEL_TYPES
from ._common import UsageError, add_data, load_data, load_model, positive_int, split

_LOGGER = logging.getLogger(__name__)

HELP = "serve a drawing page and a JSON endpoint for a model"

DESCRIPTION = (
    "Start a local web server for a saved model (or one trained first with "
    "--model-type): a page to draw a digit on, with the class probabilities "
    "and the 28x28 image the model sees, and the JSON endpoints POST "
    "/predict, GET /model and GET /health. Inference runs the model's ONNX "
    "graph with onnxruntime when the export extra is installed, the model "
    "itself otherwise. Needs the serve extra: pip install 'sklenet[serve]'. "
    "Ctrl-C (or SIGTERM) stops it cleanly, with exit status 0. Limits: POST "
    "/predict takes a JSON body (Content-Type: application/json) of at most "
    "2 MiB, with at most 64 images of 4,194,304 pixels together (2048x2048, "
    "read from the PNG headers before decoding); requests are worked on a "
    "few at a time in a thread pool, so that GET /health always answers. "
    "Connections idle for 5 s, or whose request has not arrived whole 10 s "
    "after its first byte, are closed; with 64 open, requests get 503."
)


def _port(text):
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a port number from 0 (any free port) to 65535")
    return int(text)


def add_arguments(parser):
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", metavar="FILE",
                        help="a model saved by sklenet train or sklenet.save "
                        "(a LeNet, an ensemble or a search)")
    source.add_argument("--model-type", choices=tuple(MODEL_TYPES),
                        help="train a model of this type first, on the 60/20 "
                        "part of the 60/20/20 split of --data, and report its "
                        "accuracy on the 20 %% test part")
    add_data(parser)
    parser.add_argument("--epochs", type=positive_int, default=100, metavar="N",
                        help="maximum epochs with --model-type (default: 100)")
    parser.add_argument("--max-samples", type=positive_int, metavar="N",
                        help="with --model-type: train on a stratified "
                        "subsample of N images")
    parser.add_argument("--random-state", type=int, default=0, metavar="SEED",
                        help="seed of the split and training with --model-type "
                        "(default: 0)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1, this "
                        "machine only; 0.0.0.0 opens it to the network)")
    parser.add_argument("--port", type=_port, default=8000,
                        help="port to listen on, 0 for any free one "
                        "(default: 8000)")
    parser.add_argument("--runtime", choices=("auto", "onnxruntime", "keras"),
                        default="auto",
                        help="what runs the model: onnxruntime (needs the "
                        "export extra), keras, or auto: onnxruntime when "
                        "installed (default: auto)")


def run(args):
    try:
        from ..serve._app import _starlette

        _starlette()
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            'sklenet serve needs Starlette and uvicorn: pip install "sklenet[serve]"'
        ) from exc
    from ..serve._server import bind

    try:  # before the model is loaded or trained: a taken port fails at once
        sock = bind(args.host, args.port)
    except OSError as exc:
        raise UsageError(f"--host {args.host} --port {args.port}: {exc}") from exc
    with sock:
        return _serve(args, sock)


def _serve(args, sock):
    from pathlib import Path

    if args.model is not None:
        model, name, accuracy = load_model(args.model), Path(args.model).name, None
    else:
        model, name, accuracy = _train(args)
    from ..serve._app import create_app
    from ..serve._predictor import Predictor
    from ..serve._server import serve_socket

    _LOGGER.info("preparing the model for inference (--runtime %s) ...", args.runtime)
    try:
        predictor = Predictor(model, runtime=args.runtime, name=name,
                              test_accuracy=accuracy)
    except (ImportError, TypeError, ValueError) as exc:
        given = f"--model {args.model}" if args.model else f"--runtime {args.runtime}"
        raise UsageError(f"{given}: {exc}") from exc
    app = create_app(predictor)

    def started(url):
        _LOGGER.info("serving %s (%s, %s) on %s (Ctrl-C stops)", name,
                     predictor.estimator_name, predictor.runtime, url)

    serve_socket(app, sock, on_start=started)
    _LOGGER.info("server stopped")
    return 0


def _train(args):
    """``(estimator, name, test accuracy)`` of a model trained on ``--data``."""
    from .._recipes import make_estimator

    X_train, X_val, X_test, y_train, y_val, y_test = split(
        args, "evaluation", *load_data(args.data), args.random_state)
    estimator = make_estimator(args.model_type, max_epochs=args.epochs,
                               random_state=args.random_state)
    title = MODEL_TITLES[args.model_type]
    _LOGGER.info("training the %s on %s images, early stopping on %s ...", title,
                 f"{len(y_train):,}", f"{len(y_val):,}")
    start = time.perf_counter()
    try:
        estimator.fit(X_train, y_train, validation_data=(X_val, y_val))
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    accuracy = float(estimator.score(X_test, y_test))
    _LOGGER.info("trained in %.0f s; test accuracy %.4f (%s images)",
                 time.perf_counter() - start, accuracy, f"{len(y_test):,}")
    return estimator, title, accuracy
