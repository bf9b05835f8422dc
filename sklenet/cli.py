"""The ``sklenet`` command line (also ``python -m sklenet``).

Commands
--------
``sklenet reproduce``
    The whole study (standard LeNet, Optuna search, optimised LeNet,
    ensemble, learning and convergence curves) with a report in
    ``--out``; every step is cached there, so an interrupted run continues.
``sklenet train``
    Train one model on the 70/30 deployment split and save it.
``sklenet evaluate``
    Accuracy and per-class ROC AUC of a saved model on labelled data.
``sklenet predict``
    A Kaggle submission (``ImageId,Label``) from a saved model.
``sklenet tune``
    Optuna trials of the study's search, in a storage that several workers
    can share.
``sklenet export``
    A saved model as an ONNX, LiteRT or SavedModel inference graph.

``--data`` is ``sample`` (the offline 5,000-digit MNIST sample), a Kaggle
Digit Recognizer CSV file or a folder of MNIST-format IDX files.

Results (tables, JSON) go to stdout, progress to stderr (``--quiet`` keeps
only warnings, ``--verbose`` adds TensorFlow's own logs, hidden otherwise).
Mistakes in the command line or the data end the command with one line on
stderr and exit status 1 (2 for unknown options), before anything is
written; Ctrl-C ends it with one line and exit status 130.

This module imports TensorFlow, Keras, Optuna, NumPy and pandas only inside
the commands that need them, so that ``--help`` answers at once.
"""

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import sys
import time
from pathlib import Path

from ._logging import command_output
from ._recipes import MODEL_TITLES, MODEL_TYPES

_LOGGER = logging.getLogger(__name__)

# What `sklenet export --format` offers: sklenet._export.FORMATS (not imported
# here: it imports Keras; a test holds the two equal).
_EXPORT_FORMATS = ("onnx", "tflite", "saved_model")


class UsageError(Exception):
    """A mistake of the user: reported as one line, without a traceback."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ------------------------------------------------------------------- data
def _load_data(spec, *, kind="train", labelled=True):
    """(X, y) from ``sample``, a Kaggle CSV or an IDX folder; y may be None
    for an unlabelled CSV unless ``labelled``."""
    from .datasets import load_digit_recognizer, load_mnist_idx, load_sample_digits

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


def _split(args, split, X, y, random_state):
    """``split(X, y)`` of the ``--max-samples`` subsample, or a UsageError when
    there are too few images of some class for a stratified split."""
    from ._reproduce import subsample
    from .evaluation import deployment_split, evaluation_split

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


def _output_file(path):
    """Refuse an output path whose folder does not exist, before any work."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give a file name.")
    if not path.parent.is_dir():
        raise UsageError(f"the folder of {path} does not exist.")
    return path


@contextlib.contextmanager
def _writing(option, path):
    """Report an OSError while writing ``path`` (permissions, a full disk) as
    a UsageError; the atomic writers leave nothing behind."""
    try:
        yield
    except OSError as exc:
        raise UsageError(f"{option} {path}: {exc}") from exc


def _load_model(path):
    from .persistence import load

    try:
        return load(path)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--model {path}: {exc}") from exc


def _read_params(text):
    """Hyperparameters from a JSON object or a JSON file, checked by name."""
    from ._classifier import LeNetClassifier
    from ._io import read_json

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


@contextlib.contextmanager
def _optuna_verbosity(level):
    """Optuna's logging level for the block (set after Optuna is imported:
    its first use resets it)."""
    import optuna

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(level)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


# --------------------------------------------------------------- commands
def _reproduce(args):
    from ._reproduce import PRESETS, Reproduction

    overrides = {name: getattr(args, name) for name in (
        "n_repeats", "n_trials", "n_estimators", "learning_curve_repeats",
        "learning_curve_sizes", "epochs", "max_samples", "random_state",
    ) if getattr(args, name) is not None}
    settings = dataclasses.replace(PRESETS[args.preset], **overrides)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a folder.")
    X, y = _load_data(args.data)
    try:
        reproduction = Reproduction(X, y, settings, out, args.data,
                                    n_jobs=args.n_jobs)
    except ValueError as exc:  # too few images for the stratified splits
        given = (f"--max-samples {settings.max_samples}" if settings.max_samples
                 else f"--data {args.data}")
        raise UsageError(f"{given}: too few images for the study's stratified "
                         f"splits ({exc}).") from exc
    try:
        reproduction.check_cache()
    except ValueError as exc:
        raise UsageError(str(exc)) from exc

    import optuna

    from ._report import write_report

    start = time.perf_counter()
    _LOGGER.info("sklenet reproduce: preset %s, %s images from %s, results in %s/",
                 args.preset, f"{len(reproduction.y):,}", args.data, out)
    with _optuna_verbosity(optuna.logging.WARNING):
        results = reproduction.run(log=_LOGGER.info)
    _LOGGER.info("writing the report ...")
    tables = write_report(reproduction, results, args.preset,
                          time.perf_counter() - start)
    print(tables["accuracy"].to_markdown(index=False))
    _LOGGER.info("report: %s (and report.md); raw results in %s/; total %.0f s",
                 out / "report.html", out / "results", time.perf_counter() - start)
    return 0


def _train(args):
    from ._recipes import make_estimator
    from .persistence import save

    model_path = _output_file(args.model)
    params = _read_params(args.params)
    X_train, X_val, y_train, y_val = _split(
        args, "deployment", *_load_data(args.data), args.random_state)
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
    with _writing("--model", model_path):
        save(estimator, model_path)
    print(f"validation accuracy {estimator.score(X_val, y_val):.4f} "
          f"({len(y_val):,} images)")
    _LOGGER.info("trained in %.0f s; saved to %s", seconds, model_path)
    return 0


def _evaluate(args):
    import pandas as pd

    from .evaluation import split_scores

    out = None if args.out is None else _output_file(args.out)
    model = _load_model(args.model)
    X, y = _load_data(args.data, kind="test")
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
        from ._io import atomic_write

        with _writing("--out", out):
            atomic_write(out, json.dumps({"n_samples": len(y), **scores}, indent=1))
        _LOGGER.info("metrics written to %s", out)
    return 0


def _predict(args):
    import numpy as np
    import pandas as pd

    from ._io import atomic_write

    out = _output_file(args.out)
    model = _load_model(args.model)
    X, _ = _load_data(args.data, kind="test", labelled=False)
    try:
        labels = model.predict(X)
    except ValueError as exc:  # such as images of another size
        raise UsageError(f"--data {args.data}: {exc}") from exc
    submission = pd.DataFrame({"ImageId": np.arange(1, len(labels) + 1),
                               "Label": labels})
    with _writing("--out", out):
        atomic_write(out, submission.to_csv(index=False))
    _LOGGER.info("%s predictions written to %s", f"{len(labels):,}", out)
    return 0


def _storage_file(storage):
    """The file that opening ``storage`` would create, or None (a server, an
    in-memory database or a file that exists already)."""
    if "://" not in storage:
        path = Path(storage)  # an Optuna journal file
    else:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(storage)
        except ArgumentError:
            return None
        if url.get_backend_name() != "sqlite" or url.database in (None, "",
                                                                  ":memory:"):
            return None
        path = Path(url.database)
    return None if path.exists() else path


def _remove_if_no_trials(path, storage):
    """Remove the storage file ``path`` that this command created, unless a
    trial was started in it: trials are work to keep."""
    import optuna

    if storage is not None:
        with contextlib.suppress(Exception):  # unreadable: nothing worth keeping
            if any(summary.n_trials for summary in optuna.get_all_study_summaries(
                    storage, include_best_trial=False)):
                return
        with contextlib.suppress(AttributeError):
            storage.engine.dispose()  # an RDBStorage's open SQLite connections
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _tune(args):
    import optuna

    from ._classifier import LeNetClassifier
    from ._search import LeNetSearchCV
    from ._search_space import EXTENDED_SEARCH_SPACE, STUDY_SEARCH_SPACE
    from ._storage import open_storage

    out = None if args.best_params_out is None else _output_file(args.best_params_out)
    # Seed 0: every worker of a shared study must score on the same split.
    X_train, X_val, _, y_train, y_val, _ = _split(
        args, "evaluation", *_load_data(args.data), 0)
    space = {"study": STUDY_SEARCH_SPACE, "extended": EXTENDED_SEARCH_SPACE}
    created, storage = _storage_file(args.storage), None
    try:
        try:
            storage = open_storage(args.storage)
        except (ImportError, ValueError) as exc:
            raise UsageError(str(exc)) from exc
        search = LeNetSearchCV(
            LeNetClassifier(epochs=args.epochs), space[args.space],
            n_trials=args.n_trials, timeout=args.timeout, storage=storage,
            study_name=args.study_name, random_state=args.random_state,
            refit=False, show_progress_bar=not args.quiet,
        )
        level = optuna.logging.WARNING if args.quiet else optuna.logging.INFO
        with _optuna_verbosity(level):
            try:
                search.fit(X_train, y_train, validation_data=(X_val, y_val))
            except ValueError as exc:
                raise UsageError(str(exc)) from exc
    except BaseException:
        if created is not None:
            _remove_if_no_trials(created, storage)
        raise
    print(f"study {args.study_name!r}: {search.n_trials_} trials, best validation "
          f"accuracy {search.best_score_:.4f} (trial {search.best_index_})")
    print(json.dumps(search.best_params_, indent=1))
    if out is not None:
        from ._io import atomic_write

        with _writing("--best-params-out", out):
            atomic_write(out, json.dumps(search.best_params_, indent=1))
        _LOGGER.info("best hyperparameters written to %s (use: sklenet train "
                     "--model-type optimized --params %s)", out, out)
    return 0


def _export(args):
    out = Path(args.out)
    if not out.parent.is_dir():
        raise UsageError(f"the folder of {out} does not exist.")
    if args.format != "saved_model" and out.is_dir():
        raise UsageError(f"--out {out} is a folder; give a file name.")
    model = _load_model(args.model)
    try:
        from ._export import export

        metadata = export(model, out, format=args.format)
    except (ImportError, ValueError, TypeError, OSError) as exc:
        # ImportError: the [export] extra is missing, and the message says so.
        raise UsageError(str(exc)) from exc
    print(json.dumps(metadata, indent=1))
    sidecar = "" if args.format == "onnx" else f" (labels in {out}.json)"
    _LOGGER.info("%s written to %s%s", args.format, out, sidecar)
    return 0


# ----------------------------------------------------------------- parser
def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def _sizes(text):
    try:
        sizes = tuple(float(part) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or not all(0 < size <= 1 for size in sizes):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of shares in (0, 1], "
            "e.g. 0.1,0.5,1")
    return sizes


class _Version(argparse.Action):
    """``--version``: read from the package metadata only when asked."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from . import __version__

        print(f"sklenet {__version__}")
        parser.exit()


def _output_options(default):
    """--quiet / --verbose, accepted before and after the command name."""
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true", default=default,
                       help="show only results, warnings and errors")
    group.add_argument("-v", "--verbose", action="store_true", default=default,
                       help="also show TensorFlow's logs (hidden otherwise)")
    return options


def _add_data(parser, default="sample", what="labelled images"):
    parser.add_argument(
        "--data", default=default, required=default is None,
        help=f"{what}: 'sample' (the offline 5,000-digit MNIST sample), a Kaggle "
        "Digit Recognizer CSV or a folder of MNIST IDX files"
        + (f" (default: {default})" if default else ""))


def _parser():
    parser = _Parser(
        prog="sklenet", parents=[_output_options(False)],
        description="The LeNet digit-recognition study as scikit-learn "
        "estimators: reproduce it, train, evaluate, predict, tune and export. "
        "Results go to stdout, progress to stderr.",
        epilog="Run 'sklenet COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action=_Version,
                        help="print sklenet's version and exit")
    commands = parser.add_subparsers(title="commands", dest="name",
                                     metavar="COMMAND")
    # SUPPRESS: an option given before the command name is not reset by it.
    common = [_output_options(argparse.SUPPRESS)]

    def command(name, function, **kwargs):
        sub = commands.add_parser(name, parents=common, **kwargs)
        sub.set_defaults(command=function)
        return sub

    reproduce = command(
        "reproduce", _reproduce, help="run the whole study and write a report",
        description="Run the study end to end (standard LeNet, Optuna search, "
        "optimized LeNet, ensemble: repeated evaluation, learning curves, "
        "convergence curves, Optuna plots) and write OUT/report.html, "
        "OUT/report.md and the raw results. Each step is cached in OUT: run "
        "the same command again to continue an interrupted run.")
    _add_data(reproduce)
    reproduce.add_argument("--out", default="sklenet-report",
                           help="output folder (default: sklenet-report)")
    reproduce.add_argument(
        "--preset", choices=("tiny", "quick", "full"), default="quick",
        help="quick: every step scaled down, under 10 minutes on the sample with "
        "2 CPU cores; full: the study's settings (10 trainings per model, 200 "
        "trials, 10 members, 20 trainings per learning-curve size, 100 epochs); "
        "tiny: a smoke test (default: quick)")
    for flag, what in (("--n-repeats", "trainings per model"),
                       ("--n-trials", "search trials"),
                       ("--n-estimators", "ensemble members"),
                       ("--learning-curve-repeats", "trainings per size"),
                       ("--epochs", "maximum epochs"),
                       ("--max-samples", "images used, a stratified subsample")):
        reproduce.add_argument(flag, type=_positive_int, metavar="N",
                               help=f"{what} (overrides the preset)")
    reproduce.add_argument("--learning-curve-sizes", type=_sizes, metavar="SHARES",
                           help="training-set sizes as shares of the training "
                           "part, e.g. 0.1,0.5,1 (overrides the preset)")
    reproduce.add_argument("--random-state", type=int, metavar="SEED",
                           help="seed of the splits and trainings (default: 0)")
    reproduce.add_argument("--n-jobs", type=int, metavar="N",
                           default=min(2, os.cpu_count() or 1),
                           help="trainings run at once in worker processes "
                           "(default: 2, or 1 on a single core)")

    train = command(
        "train", _train, help="train a model and save it",
        description="Train a model on the 70/30 deployment split (the 30 % "
        "for early stopping) and save it with sklenet.save. Prints the "
        "validation accuracy.")
    _add_data(train)
    train.add_argument("--model", required=True, metavar="FILE",
                       help="where to save the trained model")
    train.add_argument("--model-type", choices=tuple(MODEL_TYPES),
                       default="standard",
                       help="; ".join(f"{name}: {title}" for name, title in
                                      MODEL_TITLES.items()) + " (default: standard)")
    train.add_argument("--params", metavar="JSON",
                       help="hyperparameters overriding the model type's: a JSON "
                       "file, such as the one of sklenet tune --best-params-out, "
                       "or a JSON object such as '{\"learning_rate\": 0.01}'")
    train.add_argument("--epochs", type=_positive_int, default=100, metavar="N",
                       help="maximum epochs; a model type with fewer epochs of "
                       "its own (best: a 30-epoch schedule) keeps them "
                       "(default: 100)")
    train.add_argument("--n-estimators", type=_positive_int, default=10, metavar="N",
                       help="ensemble members (default: 10)")
    train.add_argument("--max-samples", type=_positive_int, metavar="N",
                       help="use a stratified subsample of N images")
    train.add_argument("--random-state", type=int, default=0, metavar="SEED",
                       help="seed of the split and the training (default: 0)")

    evaluate = command(
        "evaluate", _evaluate, help="score a saved model on labelled images",
        description="Accuracy and per-class one-vs-rest ROC AUC of a saved model "
        "on labelled images (an IDX folder's t10k test files), as a Markdown "
        "table on stdout.")
    evaluate.add_argument("--model", required=True, metavar="FILE",
                          help="a model saved by sklenet train or sklenet.save")
    _add_data(evaluate)
    evaluate.add_argument("--out", metavar="JSON", help="also write the metrics")

    predict = command(
        "predict", _predict, help="write a Kaggle submission",
        description="Predict the label of every image and write a Kaggle "
        "submission: ImageId (from 1), Label.")
    predict.add_argument("--model", required=True, metavar="FILE",
                         help="a model saved by sklenet train or sklenet.save")
    _add_data(predict, default=None, what="images to label, e.g. Kaggle's test.csv")
    predict.add_argument("--out", default="submission.csv", metavar="CSV",
                         help="the submission file (default: submission.csv)")

    tune = command(
        "tune", _tune, help="run Optuna trials of the study's search",
        description="Run trials of the study's Optuna search (TPE, median "
        "pruning) on the 60/20/20 split with seed 0: trials train on the 60 % "
        "and are scored on the 20 % validation part. Workers started with the "
        "same --storage and --study-name share one study. Prints the best "
        "hyperparameters as JSON.")
    _add_data(tune)
    tune.add_argument("--storage", default="sqlite:///sklenet-tune.db",
                      help="Optuna storage: an SQLAlchemy URL (sqlite:///FILE, "
                      "postgresql://...) or a journal file path "
                      "(default: sqlite:///sklenet-tune.db)")
    tune.add_argument("--study-name", default="sklenet",
                      help="study to create or continue (default: sklenet)")
    tune.add_argument("--n-trials", type=_positive_int, default=10, metavar="N",
                      help="trials this worker runs (default: 10)")
    tune.add_argument("--timeout", type=_positive_float, metavar="SECONDS",
                      help="stop starting trials after this time")
    tune.add_argument("--space", choices=("study", "extended"), default="study",
                      help="the study's 12 hyperparameters, or those plus pooling, "
                      "head, learning rate and batch size (default: study)")
    tune.add_argument("--epochs", type=_positive_int, default=100, metavar="N",
                      help="maximum epochs per trial (default: 100)")
    tune.add_argument("--max-samples", type=_positive_int, metavar="N",
                      help="use a stratified subsample of N images")
    tune.add_argument("--random-state", type=int, metavar="SEED",
                      help="seed of the sampler; give workers different seeds "
                      "(default: fresh)")
    tune.add_argument("--best-params-out", metavar="JSON",
                      help="write the best hyperparameters for sklenet train")

    export = command(
        "export", _export, help="export a saved model for inference runtimes",
        description="Write a saved model as one inference graph that takes flat "
        "rows of raw pixels and returns class probabilities, for onnxruntime "
        "(onnx), LiteRT (tflite) or TensorFlow Serving (saved_model); see "
        "sklenet.export. Needs the export extra: pip install 'sklenet[export]'. "
        "Prints the metadata written with the graph.")
    export.add_argument("--model", required=True, metavar="FILE",
                        help="a model saved by sklenet train or sklenet.save")
    export.add_argument("--format", choices=_EXPORT_FORMATS, default="onnx",
                        help="the graph's format (default: onnx)")
    export.add_argument("--out", required=True, metavar="PATH",
                        help="the file to write (a folder for saved_model); "
                        "tflite and saved_model also write PATH.json with the "
                        "class labels")
    return parser


class _Interrupts:
    """SIGINT handling for the time of a command.

    The first Ctrl-C raises KeyboardInterrupt, as Python's own handler does,
    and silences ``sys.stderr``: TensorFlow turns a KeyboardInterrupt raised
    inside its tracing into other exceptions and prints tracebacks of its
    own, and none of that is for the user. Any exception that follows counts
    as the interruption. A second Ctrl-C exits at once.
    """

    def __init__(self, stderr):
        self.stderr = stderr
        self.count = 0
        self._sink = None

    def __call__(self, signum, frame):
        self.count += 1
        if self.count > 1:
            self.stderr.write("sklenet: interrupted twice, exiting.\n")
            self.stderr.flush()
            os._exit(130)
        self._sink = sys.stderr = open(os.devnull, "w")  # closed by installed()
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def installed(self):
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            yield self  # signal handlers can only be set in the main thread
            return
        previous = signal.signal(signal.SIGINT, self)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)
            sys.stderr = self.stderr
            if self._sink is not None:
                self._sink.close()


def main(argv=None):
    """Run the ``sklenet`` command line; return its exit status."""
    name = "sklenet"
    stderr = sys.stderr
    with _Interrupts(stderr).installed() as interrupts:
        try:
            parser = _parser()
            args = parser.parse_args(argv)
            if args.name is None:
                parser.print_help(stderr)
                return 2
            name = f"sklenet {args.name}"
            with command_output(-1 if args.quiet else 1 if args.verbose else 0):
                return args.command(args)
        except BaseException as exc:
            if not (interrupts.count or isinstance(exc, KeyboardInterrupt)):
                if not isinstance(exc, UsageError):
                    raise
                print(f"{name}: error: {exc}", file=stderr)
                return 1
        hint = {
            "sklenet reproduce": " Run the same command again to continue from "
            "the cached steps.",
            "sklenet tune": " Finished trials are kept in the storage.",
        }.get(name, "")
        print(f"{name}: interrupted.{hint}", file=stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
