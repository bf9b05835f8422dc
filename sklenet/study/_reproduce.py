"""``sklenet.reproduce``: the study from Python, as the command line runs it."""

from __future__ import annotations  # the Client and StudyResults hints need no import

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from .._typing import ArrayLike, PathLike
from ._executors import check_dask
from ._report import draw_report, read_run, record_run
from ._reproduction import Reproduction, check_output_folder
from ._settings import PRESETS

if TYPE_CHECKING:
    from distributed import Client

    from ._results import StudyResults

_LOGGER = logging.getLogger(__name__)


class TooFewImagesError(ValueError):
    """The data cannot be split the way the study splits it."""


def reproduce(
    X: ArrayLike,
    y: ArrayLike,
    *,
    preset: Literal["quick", "full", "tiny"] = "quick",
    out: PathLike = "sklenet-report",
    dask: str | Client | None = None,
    n_jobs: int | None = None,
    storage: str | None = None,
    data_name: str = "arrays",
    progress: bool = True,
    log: Callable[[str], object] = _LOGGER.info,
    **overrides: Any,
) -> StudyResults:
    """Reproduce the study on ``(X, y)`` and write its report in ``out``.

    Every training of the study is a task with a stable key and the seed
    that the key fixes; each result is stored in ``out`` as soon as it
    finishes, so calling this again with the same arguments after an
    interruption trains only what is missing, and the numbers are the same
    whether the run was interrupted or not, on 1 worker or N, locally or on
    Dask (every training runs TensorFlow on one thread, in a worker
    process), for the same best parameters of the search (see
    ``storage``).

    Parameters
    ----------
    X, y : ndarray
        Labelled images (uint8 pixels, e.g. from
        :func:`sklenet.datasets.load_sample_digits`) and their labels.
    preset : {"quick", "full", "tiny"}, default="quick"
        The settings: ``sklenet.study.PRESETS[preset]``.
    out : path-like, default="sklenet-report"
        The run folder: cache, models, figures, report. One run at a time
        writes in it: while another process runs in ``out``, this raises
        ``sklenet._io.InUseError`` (a ValueError) before any training.
    dask : str, ``distributed.Client`` or None, default=None
        Run every training as a task on a ``dask.distributed`` cluster: a
        scheduler's address, ``"local:N"`` (a ``LocalCluster`` of N
        single-threaded worker processes, closed at the end) or a Client.
        None: ``n_jobs`` local worker processes. Needs the ``dask`` extra.
    n_jobs : int or None, default=None
        Local worker processes (None: 1; -1: one per core).
    storage : str or None, default=None
        The search's Optuna storage URL, e.g. PostgreSQL's, which every Dask
        worker reaches. None: ``out/search.db`` (SQLite); on Dask, a study
        on the scheduler (optuna-integration's ``DaskStorage``) whose
        finished trials are copied to ``out/search.db``. On Dask the trials
        run side by side, one task each, and the search is not
        reproducible; locally they run one after another and it is.
    data_name : str, default="arrays"
        How the report names the data.
    progress : bool, default=True
        Show one progress bar over all trainings (stderr).
    log : callable, default=the ``sklenet.study`` logger's ``info``
        Receives the plan and one line per step.
    **overrides
        Fields of ``sklenet.study.Settings`` that replace the preset's,
        e.g. ``n_repeats=3`` or ``max_samples=1000``.

    Returns
    -------
    sklenet.study.StudyResults
        What the report was drawn from: each step's record by step name
        (``results.evaluation("ensemble").summary``, ``results.search``).

    Examples
    --------
    >>> import sklenet
    >>> from sklenet.datasets import load_sample_digits
    >>> X, y = load_sample_digits(return_X_y=True)
    >>> results = sklenet.reproduce(X, y, preset="tiny", out="report",
    ...                             n_jobs=2)  # doctest: +SKIP
    >>> results.evaluation("standard").summary.loc["test_accuracy", "mean"]
    ... # doctest: +SKIP
    """
    reproduction = prepare(X, y, preset=preset, out=out, dask=dask, n_jobs=n_jobs,
                           storage=storage, data_name=data_name, **overrides)
    return run_prepared(reproduction, preset=preset, dask=dask, progress=progress,
                        log=log)


def run_prepared(
    reproduction: Reproduction,
    *,
    preset: Literal["quick", "full", "tiny"],
    dask: str | Client | None = None,
    progress: bool = True,
    log: Callable[[str], object] = _LOGGER.info,
) -> StudyResults:
    """Run the ``Reproduction`` that :func:`prepare` returned and write its
    report: the rest of :func:`reproduce`, for a caller that prepared the
    run itself (the command line checks its arguments with :func:`prepare`
    and then runs what it prepared, so the data is subsampled, split and
    hashed once). ``preset``, ``dask``: those given to :func:`prepare`;
    ``progress``, ``log``: as in :func:`reproduce`, which returns what this
    returns.

    The report is drawn from the run folder
    (:func:`sklenet.study.write_report`), which holds everything it needs
    once the run has ended.
    """
    start = time.perf_counter()
    with reproduction.folder.claimed():
        results = reproduction.run(log=log, dask=dask, progress=progress,
                                   show_plan=True)
        log("writing the report ...")
        record_run(reproduction, preset, time.perf_counter() - start)
        draw_report(read_run(reproduction.out))
    return results


def prepare(
    X: ArrayLike,
    y: ArrayLike,
    *,
    preset: Literal["quick", "full", "tiny"],
    out: PathLike,
    dask: str | Client | None = None,
    n_jobs: int | None = None,
    storage: str | None = None,
    data_name: str = "arrays",
    **overrides: Any,
) -> Reproduction:
    """The ``Reproduction`` that :func:`reproduce` runs,
    every argument checked before any training: ValueError (or
    :class:`TooFewImagesError`) names a bad one, ImportError the missing
    ``dask`` extra, ``SchedulerUnreachableError`` (a ConnectionError) a
    scheduler address where none answers within ``CONNECT_TIMEOUT_S``
    (``sklenet.study._executors``), ``sklenet._io.InUseError`` a folder
    that another run is writing in."""
    if preset not in PRESETS:
        raise ValueError(f"preset={preset!r} is not one of {list(PRESETS)}.")
    fields = {field.name for field in dataclasses.fields(PRESETS[preset])}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: not a setting of the study; "
                         f"the settings are {sorted(fields)}.")
    settings = dataclasses.replace(PRESETS[preset], **overrides)
    check_dask(dask, storage)
    check_output_folder(out)
    try:
        reproduction = Reproduction(X, y, settings, out, data_name, n_jobs=n_jobs,
                                    storage=storage)
    except ValueError as exc:
        raise TooFewImagesError(
            f"too few images for the study's stratified splits ({exc}).") from exc
    reproduction.check_cache()
    reproduction.folder.check_free()
    return reproduction
