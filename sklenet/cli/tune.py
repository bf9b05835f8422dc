"""``sklenet tune``: one Optuna worker of a search that several can share."""

import contextlib
import json
import logging
from pathlib import Path

from ._common import (
    UsageError,
    add_data,
    load_data,
    output_file,
    positive_float,
    positive_int,
    split,
    writing,
)

HELP = "run Optuna trials of the study's search"
DESCRIPTION = (
    "Run trials of the study's Optuna search (TPE, median pruning) on the "
    "60/20/20 split with seed 0: trials train on the 60 % and are scored on the "
    "20 % validation part. Workers started with the same --storage and "
    "--study-name share one study. Prints the best hyperparameters as JSON.")
#: What `main` adds to the one line of an interruption.
INTERRUPTED = "Finished trials are kept in the storage."
_LOGGER = logging.getLogger(__name__)


def add_arguments(parser):
    add_data(parser)
    parser.add_argument("--storage", default="sqlite:///sklenet-tune.db",
                        help="Optuna storage: an SQLAlchemy URL (sqlite:///FILE, "
                        "postgresql://...) or a journal file path "
                        "(default: sqlite:///sklenet-tune.db)")
    parser.add_argument("--study-name", default="sklenet",
                        help="study to create or continue (default: sklenet)")
    parser.add_argument("--n-trials", type=positive_int, default=10, metavar="N",
                        help="trials this worker runs (default: 10)")
    parser.add_argument("--timeout", type=positive_float, metavar="SECONDS",
                        help="stop starting trials after this time")
    parser.add_argument("--space", choices=("study", "extended"), default="study",
                        help="the study's 12 hyperparameters, or those plus "
                        "pooling, head, learning rate and batch size "
                        "(default: study)")
    parser.add_argument("--epochs", type=positive_int, default=100, metavar="N",
                        help="maximum epochs per trial (default: 100)")
    parser.add_argument("--max-samples", type=positive_int, metavar="N",
                        help="use a stratified subsample of N images")
    parser.add_argument("--random-state", type=int, metavar="SEED",
                        help="seed of the sampler; give workers different seeds "
                        "(default: fresh)")
    parser.add_argument("--best-params-out", metavar="JSON",
                        help="write the best hyperparameters for sklenet train")


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


def run(args):
    import optuna

    from .._classifier import LeNetClassifier
    from ..model_selection import (
        EXTENDED_SEARCH_SPACE,
        STUDY_SEARCH_SPACE,
        LeNetSearchCV,
    )
    from ..model_selection._storage import (
        _shown,
        open_storage,
        optuna_verbosity,
        write_error,
    )

    out = None if args.best_params_out is None else output_file(args.best_params_out)
    # Seed 0: every worker of a shared study must score on the same split.
    X_train, X_val, _, y_train, y_val, _ = split(
        args, "evaluation", *load_data(args.data), 0)
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
        with optuna_verbosity(level):
            try:
                search.fit(X_train, y_train, validation_data=(X_val, y_val))
            except ValueError as exc:
                raise UsageError(str(exc)) from exc
    except BaseException as exc:
        if created is not None:
            _remove_if_no_trials(created, storage)
        # A full disk under the storage: Optuna may have wrapped its OSError.
        error = None if isinstance(exc, UsageError) or not isinstance(
            exc, Exception) else write_error(exc)
        if error is None:
            raise
        where = "" if error.filename is None else f" ({error.filename})"
        raise UsageError(
            f"--storage {_shown(args.storage)}{where}: {error.strerror or error}. "
            "Finished trials are kept in the storage: once that is fixed (room "
            "made, say), run the same command again to continue.") from exc
    print(f"study {args.study_name!r}: {search.n_trials_} trials, best validation "
          f"accuracy {search.best_score_:.4f} (trial {search.best_index_})")
    print(json.dumps(search.best_params_, indent=1))
    if out is not None:
        from .._io import atomic_write

        with writing("--best-params-out", out):
            atomic_write(out, json.dumps(search.best_params_, indent=1))
        _LOGGER.info("best hyperparameters written to %s (use: sklenet train "
                     "--model-type optimized --params %s)", out, out)
    return 0
