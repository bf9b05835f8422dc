"""``sklenet reproduce``: the whole study and its report."""

import argparse
import logging
import os
import time
from pathlib import Path

from ._common import UsageError, add_data, load_data, positive_int

HELP = "run the whole study and write a report"
DESCRIPTION = (
    "Run the study end to end (standard LeNet, Optuna search, optimized LeNet, "
    "ensemble: repeated evaluation, learning curves, convergence curves, Optuna "
    "plots) and write OUT/report.html, OUT/report.md and the raw results. Each "
    "training is cached in OUT as soon as it finishes: run the same command "
    "again to continue an interrupted run. Trainings run in worker processes, "
    "local ones (--n-jobs) or a Dask cluster's (--dask), each TensorFlow on "
    "one thread, so that the numbers do not depend on where they ran.")
#: What `main` adds to the one line of an interruption.
INTERRUPTED = "Run the same command again to continue from the cached steps."
_LOGGER = logging.getLogger(__name__)


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


def _epoch_samples(text):
    """--min-epoch-samples: a count of images, 0 for None (one pass)."""
    if text == "0":
        return 0
    return positive_int(text)


def add_arguments(parser):
    add_data(parser)
    parser.add_argument("--out", default="sklenet-report",
                        help="output folder (default: sklenet-report)")
    parser.add_argument(
        "--preset", choices=("tiny", "quick", "full"), default="quick",
        help="quick: every step with fewer trainings, each as long as the "
        "study's, about 30 minutes on the sample with 2 CPU cores; full: the "
        "study's settings (10 trainings per model, 200 "
        "trials, 10 members, 20 trainings per learning-curve size, 100 epochs); "
        "tiny: a smoke test (default: quick)")
    for flag, what in (("--n-repeats", "trainings per model"),
                       ("--n-trials", "search trials"),
                       ("--n-estimators", "ensemble members"),
                       ("--learning-curve-repeats", "trainings per size"),
                       ("--epochs", "maximum epochs"),
                       ("--max-samples", "images used, a stratified subsample")):
        parser.add_argument(flag, type=positive_int, metavar="N",
                            help=f"{what} (overrides the preset)")
    parser.add_argument("--min-epoch-samples", type=_epoch_samples, metavar="N",
                        help="count the study's epochs and patience in epochs "
                        "of at least N training images (default: 25200, the "
                        "study's training set, so that early stopping means on "
                        "the sample what it meant in the study; 0: an epoch is "
                        "one pass, the study's code run as written on this data)")
    parser.add_argument("--learning-curve-sizes", type=_sizes, metavar="SHARES",
                        help="training-set sizes as shares of the training "
                        "part, e.g. 0.1,0.5,1 (overrides the preset)")
    parser.add_argument("--random-state", type=int, metavar="SEED",
                        help="seed of the splits and trainings (default: 0)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the plan (the trainings and networks of "
                        "each step, and the run's time estimated from a short "
                        "calibration training) and exit without training")
    parser.add_argument("--n-jobs", type=int, metavar="N",
                        default=min(2, os.cpu_count() or 1),
                        help="trainings run at once in local worker processes, "
                        "each on one thread (default: 2, or 1 on a single core)")
    parser.add_argument("--dask", metavar="ADDRESS",
                        help="run every training as a task on a dask.distributed "
                        "cluster: a scheduler's address, or local:N for a "
                        "LocalCluster of N single-threaded workers (needs "
                        'pip install "sklenet[dask]"; --n-jobs is then unused). '
                        # CONNECT_TIMEOUT_S of sklenet.study._executors, which
                        # --help does not import (TensorFlow).
                        "A scheduler that does not answer within 10 s ends "
                        "the command before it writes anything")
    parser.add_argument("--storage", metavar="URL",
                        help="the search's Optuna storage, e.g. a PostgreSQL URL "
                        "that every Dask worker reaches (default: the SQLite "
                        "database OUT/search.db; on Dask, a study on the "
                        "scheduler whose finished trials are copied there)")


#: --option -> the Settings field it overrides.
_OVERRIDES = {"n_repeats": "n_repeats", "n_trials": "n_trials",
              "n_estimators": "n_estimators",
              "learning_curve_repeats": "learning_curve_repeats",
              "learning_curve_sizes": "learning_curve_sizes",
              "epochs": "max_epochs", "max_samples": "max_samples",
              "min_epoch_samples": "min_epoch_samples",
              "random_state": "random_state"}
#: What to do about a --out folder that another run holds.
_IN_USE = "wait for that run to end, or use another --out folder."


def _failed_write(out, exc):
    """The one line of a run that an OSError ended (a full disk, a
    permission): the folder, the file and the cause. Every file of the run
    is written whole or not at all, and the search's database (SQLite) is
    written a transaction at a time, so the next run continues."""
    where = ""
    if exc.filename is not None:
        path = Path(os.fsdecode(exc.filename))
        where = f" ({path.relative_to(out) if path.is_relative_to(out) else path})"
    return (f"--out {out}{where}: {exc.strerror or exc}. Nothing was left "
            "half-written: once that is fixed (room made, say), run the same "
            "command again to continue from the cached steps.")


def print_tables(accuracy, claims):
    """Print the report's accuracy and claims tables (stdout), as Markdown."""
    print(accuracy.to_markdown(index=False))
    # The means alone do not rank the models: each comparison, tested.
    print()
    print(claims.to_markdown(index=False, disable_numparse=True))


def run(args):
    from .._io import InUseError
    from ..study import check_output_folder, prepare, run_prepared
    from ..study._executors import SchedulerUnreachableError, WorkersKilledError
    from ..study._reproduce import TooFewImagesError
    from ..study._tables import accuracy_table, claims_table

    overrides = {field: getattr(args, option)
                 for option, field in _OVERRIDES.items()
                 if getattr(args, option) is not None}
    if overrides.get("min_epoch_samples") == 0:
        overrides["min_epoch_samples"] = None
    try:
        check_output_folder(args.out)
    except ValueError as exc:
        raise UsageError(f"--out {exc}") from exc
    X, y = load_data(args.data)
    options = dict(preset=args.preset, out=args.out, dask=args.dask,
                   n_jobs=args.n_jobs, storage=args.storage, data_name=args.data,
                   **overrides)
    try:
        reproduction = prepare(X, y, **options)
    except InUseError as exc:
        raise UsageError(f"--out {exc}: {_IN_USE}") from exc
    except TooFewImagesError as exc:
        given = (f"--max-samples {args.max_samples}" if args.max_samples
                 else f"--data {args.data}")
        raise UsageError(f"{given}: {exc}") from exc
    except (ImportError, SchedulerUnreachableError) as exc:
        raise UsageError(f"--dask: {exc}") from exc
    except ValueError as exc:
        raise UsageError(str(exc)) from exc

    import optuna

    from ..model_selection._storage import optuna_verbosity, write_error

    if args.dry_run:
        print(reproduction.estimate(dask=args.dask, log=_LOGGER.info))
        return 0
    folder = reproduction.folder
    start = time.perf_counter()
    plan = reproduction.settings.plan()
    _LOGGER.info("sklenet reproduce: preset %s, %s images from %s, %s networks "
                 "to train, results in %s/", args.preset,
                 f"{len(reproduction.y):,}", args.data,
                 f"{sum(plan.values()):,}", folder.out)
    try:
        with optuna_verbosity(optuna.logging.WARNING):
            results = run_prepared(reproduction, preset=args.preset,
                                   dask=args.dask, log=_LOGGER.info)
    except InUseError as exc:
        raise UsageError(f"--out {exc}: {_IN_USE}") from exc
    # The scheduler gone since prepare() reached it; a training that ended
    # its workers.
    except (SchedulerUnreachableError, WorkersKilledError) as exc:
        raise UsageError(f"--dask: {exc}") from exc
    except Exception as exc:  # an OSError, or one that Optuna wrapped
        error = write_error(exc)
        if error is None:  # not the system's: a bug, say
            raise
        raise UsageError(_failed_write(folder.out, error)) from exc
    print_tables(accuracy_table(results, reproduction.settings),
                 claims_table(results, reproduction.settings))
    _LOGGER.info("report: %s (and %s); raw results in %s/; total %.0f s",
                 folder.report_html, folder.report_md.name, folder.results,
                 time.perf_counter() - start)
    return 0
