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

``--data`` is ``sample`` (the offline 5,000-digit MNIST sample), a Kaggle
Digit Recognizer CSV file or a folder of MNIST-format IDX files. Mistakes in
the command line or the data end the command with one line on stderr and exit
status 1 (2 for unknown options), before anything is written.
"""

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ._io import atomic_write

_MODEL_TYPES = ("standard", "optimized", "ensemble")


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


def _output_file(path):
    """Refuse an output path whose folder does not exist, before any work."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give a file name.")
    if not path.parent.is_dir():
        raise UsageError(f"the folder of {path} does not exist.")
    return path


def _load_model(path):
    from .persistence import load

    try:
        return load(path)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--model {path}: {exc}") from exc


def _read_params(path):
    """Hyperparameters from a JSON file, checked against LeNetClassifier."""
    from ._classifier import LeNetClassifier

    if path is None:
        return {}
    try:
        params = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"--params {path}: {exc}") from exc
    if not isinstance(params, dict):
        raise UsageError(f"--params {path} must hold a JSON object of "
                         "hyperparameters, such as search_best_params.json.")
    valid = LeNetClassifier().get_params()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise UsageError(f"--params {path} has unknown hyperparameters {unknown}; "
                         f"valid: {', '.join(sorted(valid))}.")
    return params


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
    reproduction = Reproduction(X, y, settings, out, args.data, n_jobs=args.n_jobs)
    try:
        reproduction.check_cache()
    except ValueError as exc:
        raise UsageError(str(exc)) from exc

    import optuna

    from ._report import write_report

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    start = time.perf_counter()
    print(f"sklenet reproduce: preset {args.preset}, {len(reproduction.y):,} images "
          f"from {args.data}, results in {out}/")
    results = reproduction.run(log=print)
    print("writing the report ...")
    tables = write_report(reproduction, results, args.preset,
                          time.perf_counter() - start)
    print(tables["accuracy"].to_markdown(index=False))
    print(f"report: {out / 'report.html'} (and report.md); raw results in "
          f"{out / 'results'}/; total {time.perf_counter() - start:.0f} s")
    return 0


def _estimator(model_type, params, epochs, n_estimators, random_state):
    from ._classifier import LeNetClassifier
    from ._model import OPTIMIZED_PARAMS

    params = {**(OPTIMIZED_PARAMS if model_type != "standard" else {}), **params,
              "epochs": epochs, "random_state": random_state}
    if model_type == "ensemble":
        from ._ensemble import LeNetEnsembleClassifier

        return LeNetEnsembleClassifier(n_estimators=n_estimators, **params)
    return LeNetClassifier(**params)


def _train(args):
    from ._reproduce import subsample
    from .evaluation import deployment_split
    from .persistence import save

    model_path = _output_file(args.model)
    params = _read_params(args.params)
    X, y = subsample(*_load_data(args.data), args.max_samples, args.random_state)
    X_train, X_val, y_train, y_val = deployment_split(
        X, y, random_state=args.random_state)
    estimator = _estimator(args.model_type, params, args.epochs, args.n_estimators,
                           args.random_state)
    print(f"training the {args.model_type} model on {len(y_train):,} images, "
          f"early stopping on {len(y_val):,} ...")
    start = time.perf_counter()
    estimator.fit(X_train, y_train, validation_data=(X_val, y_val))
    seconds = time.perf_counter() - start
    save(estimator, model_path)
    print(f"validation accuracy {estimator.score(X_val, y_val):.4f} after "
          f"{seconds:.0f} s; saved to {model_path}")
    return 0


def _evaluate(args):
    from .evaluation import split_scores

    out = None if args.out is None else _output_file(args.out)
    model = _load_model(args.model)
    X, y = _load_data(args.data, kind="test")
    scores = split_scores(model, X, y)
    print(f"{args.model} on {args.data} ({len(y):,} images): "
          f"accuracy {scores['accuracy']:.4f}")
    table = pd.DataFrame(
        [(str(label), scores[f"roc_auc_{label}"]) for label in model.classes_],
        columns=["class", "ROC AUC"])
    print(table.to_markdown(index=False, floatfmt=".4f"))
    if out is not None:
        atomic_write(out, json.dumps({"n_samples": len(y), **scores}, indent=1))
        print(f"metrics written to {out}")
    return 0


def _predict(args):
    out = _output_file(args.out)
    model = _load_model(args.model)
    X, _ = _load_data(args.data, kind="test", labelled=False)
    labels = model.predict(X)
    submission = pd.DataFrame({"ImageId": np.arange(1, len(labels) + 1),
                               "Label": labels})
    atomic_write(out, submission.to_csv(index=False))
    print(f"{len(labels):,} predictions written to {out}")
    return 0


def _tune(args):
    from ._classifier import LeNetClassifier
    from ._reproduce import subsample
    from ._search import LeNetSearchCV, open_storage
    from ._search_space import EXTENDED_SEARCH_SPACE, STUDY_SEARCH_SPACE
    from .evaluation import evaluation_split

    out = None if args.best_params_out is None else _output_file(args.best_params_out)
    X, y = subsample(*_load_data(args.data), args.max_samples, 0)
    try:
        storage = open_storage(args.storage)
    except (ImportError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    # Seed 0: every worker of a shared study must score on the same split.
    X_train, X_val, _, y_train, y_val, _ = evaluation_split(X, y, random_state=0)
    space = {"study": STUDY_SEARCH_SPACE, "extended": EXTENDED_SEARCH_SPACE}
    search = LeNetSearchCV(
        LeNetClassifier(epochs=args.epochs), space[args.space],
        n_trials=args.n_trials, timeout=args.timeout, storage=storage,
        study_name=args.study_name, random_state=args.random_state,
        refit=False, show_progress_bar=True,
    )
    search.fit(X_train, y_train, validation_data=(X_val, y_val))
    print(f"study {args.study_name!r}: {search.n_trials_} trials, best validation "
          f"accuracy {search.best_score_:.4f} (trial {search.best_index_})")
    print(json.dumps(search.best_params_, indent=1))
    if out is not None:
        atomic_write(out, json.dumps(search.best_params_, indent=1))
        print(f"best hyperparameters written to {out} (use: sklenet train "
              f"--model-type optimized --params {out})")
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


def _add_data(parser, default="sample", what="labelled images"):
    parser.add_argument(
        "--data", default=default, required=default is None,
        help=f"{what}: 'sample' (the offline 5,000-digit MNIST sample), a Kaggle "
        "Digit Recognizer CSV or a folder of MNIST IDX files"
        + (f" (default: {default})" if default else ""))


def _parser():
    parser = _Parser(
        prog="sklenet",
        description="The LeNet digit-recognition study as scikit-learn "
        "estimators: reproduce it, train, evaluate, predict and tune.",
        epilog="Run 'sklenet COMMAND --help' for the options of a command.",
    )
    commands = parser.add_subparsers(title="commands", dest="name",
                                     metavar="COMMAND")

    reproduce = commands.add_parser(
        "reproduce", help="run the whole study and write a report",
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
    reproduce.set_defaults(command=_reproduce)

    train = commands.add_parser(
        "train", help="train a model and save it",
        description="Train a model on the 70/30 deployment split (the 30 %% "
        "for early stopping) and save it with sklenet.save.")
    _add_data(train)
    train.add_argument("--model", required=True, metavar="FILE",
                       help="where to save the trained model")
    train.add_argument("--model-type", choices=_MODEL_TYPES, default="standard",
                       help="standard LeNet, the study's optimized LeNet or an "
                       "ensemble of optimized LeNets (default: standard)")
    train.add_argument("--params", metavar="JSON",
                       help="hyperparameters overriding the model type's, e.g. "
                       "the file of sklenet tune --best-params-out")
    train.add_argument("--epochs", type=_positive_int, default=100, metavar="N",
                       help="maximum epochs (default: 100)")
    train.add_argument("--n-estimators", type=_positive_int, default=10, metavar="N",
                       help="ensemble members (default: 10)")
    train.add_argument("--max-samples", type=_positive_int, metavar="N",
                       help="use a stratified subsample of N images")
    train.add_argument("--random-state", type=int, default=0, metavar="SEED",
                       help="seed of the split and the training (default: 0)")
    train.set_defaults(command=_train)

    evaluate = commands.add_parser(
        "evaluate", help="score a saved model on labelled images",
        description="Accuracy and per-class one-vs-rest ROC AUC of a saved model "
        "on labelled images (an IDX folder's t10k test files).")
    evaluate.add_argument("--model", required=True, metavar="FILE",
                          help="a model saved by sklenet train or sklenet.save")
    _add_data(evaluate)
    evaluate.add_argument("--out", metavar="JSON", help="also write the metrics")
    evaluate.set_defaults(command=_evaluate)

    predict = commands.add_parser(
        "predict", help="write a Kaggle submission",
        description="Predict the label of every image and write a Kaggle "
        "submission: ImageId (from 1), Label.")
    predict.add_argument("--model", required=True, metavar="FILE",
                         help="a model saved by sklenet train or sklenet.save")
    _add_data(predict, default=None, what="images to label, e.g. Kaggle's test.csv")
    predict.add_argument("--out", default="submission.csv", metavar="CSV",
                         help="the submission file (default: submission.csv)")
    predict.set_defaults(command=_predict)

    tune = commands.add_parser(
        "tune", help="run Optuna trials of the study's search",
        description="Run trials of the study's Optuna search (TPE, median "
        "pruning) on the 60/20/20 split with seed 0: trials train on the 60 %% and "
        "are scored on the 20 %% validation part. Workers started with the same "
        "--storage and --study-name share one study.")
    _add_data(tune)
    tune.add_argument("--storage", default="sqlite:///sklenet-tune.db",
                      help="Optuna storage: an SQLAlchemy URL (sqlite:///FILE, "
                      "postgresql://...) or a journal file path "
                      "(default: sqlite:///sklenet-tune.db)")
    tune.add_argument("--study-name", default="sklenet",
                      help="study to create or continue (default: sklenet)")
    tune.add_argument("--n-trials", type=_positive_int, default=10, metavar="N",
                      help="trials this worker runs (default: 10)")
    tune.add_argument("--timeout", type=float, metavar="SECONDS",
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
    tune.set_defaults(command=_tune)
    return parser


def main(argv=None):
    """Run the ``sklenet`` command line; return its exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.name is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.command(args)
    except UsageError as exc:
        print(f"sklenet {args.name}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        hint = (" Run the same command again to continue from the cached steps."
                if args.name == "reproduce" else "")
        print(f"sklenet {args.name}: interrupted.{hint}", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
