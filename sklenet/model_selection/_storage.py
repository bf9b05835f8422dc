"""Where Optuna studies live: opening storages, their URLs, orphaned trials,
and the OS error behind a storage's failed write."""

import contextlib
import errno
import os
import sqlite3
import warnings
from pathlib import Path

import optuna
from optuna.storages import RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.trial import TrialState
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from ._compat_optuna import check_postgresql_support, rdb_storage

# Heartbeat of RDB storages given as a URL: a killed worker's trial is failed
# (and retried once) by the next worker that starts a trial 2 minutes later.
_HEARTBEAT_INTERVAL = 60
_GRACE_PERIOD = 120
# The user attribute that marks a trial failed by fail_interrupted_trials.
INTERRUPTED = "interrupted"
# The OS errors of a machine that cannot store what it is given, whoever
# wrapped them: a full disk or quota, a failing or read-only device.
_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS})


def sqlite_url(path):
    """The SQLAlchemy URL of the SQLite database file ``path``.

    The path is made absolute, so that the URL names the same file whatever
    the working directory of the process that opens it.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    str

    Examples
    --------
    >>> sqlite_url("/tmp/study.db")
    'sqlite:////tmp/study.db'
    """
    return f"sqlite:///{Path(path).resolve()}"


def _shown(url):
    """The URL with its password hidden, for messages.

    Examples
    --------
    >>> _shown("postgresql://user:secret@dbhost/lenet")
    'postgresql://user:***@dbhost/lenet'
    >>> _shown("study.log")
    'study.log'
    """
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def open_storage(storage):
    """The Optuna storage that ``LeNetSearchCV(storage=...)`` uses.

    Parameters
    ----------
    storage : None, str, path-like or optuna.storages.BaseStorage
        None keeps the study in memory. A URL (``sqlite:///study.db``,
        ``postgresql://user:password@host/db``, any SQLAlchemy URL) opens an
        :class:`optuna.storages.RDBStorage` with a heartbeat: a trial whose
        worker died is marked failed after 2 minutes without heartbeat and
        retried once. A file path without ``://`` is an Optuna journal file
        (created if missing), as with Optuna's command line and dashboard: the
        choice for several processes on one machine. A storage object is used
        as it is (to choose other heartbeat settings, pass your own
        ``RDBStorage``).

    Returns
    -------
    optuna.storages.BaseStorage or None

    Raises
    ------
    ValueError
        If the storage cannot be opened (unreachable server, bad URL,
        missing directory), before any training.
    ImportError
        If the URL's database driver is not installed.

    Examples
    --------
    >>> open_storage(None) is None
    True
    >>> type(open_storage("sqlite://")).__name__  # an in-memory SQLite database
    'RDBStorage'
    """
    if storage is None or isinstance(storage, optuna.storages.BaseStorage):
        return storage
    location = os.fspath(storage)
    if location.startswith(("postgresql:", "postgresql+")):
        check_postgresql_support()
    try:
        if "://" not in location:
            return JournalStorage(JournalFileBackend(location))
        engine_kwargs = {}
        if make_url(location).get_backend_name() == "postgresql":
            # Fail within seconds on an unreachable host, and replace
            # connections a server dropped during a long trial.
            engine_kwargs = {"connect_args": {"connect_timeout": 10},
                             "pool_pre_ping": True}
        with warnings.catch_warnings():
            # The heartbeat is "experimental" in Optuna since 2.9.
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sqlite_file = _sqlite_file(location)
            opened = rdb_storage(
                database_url(location),
                storage_class=RDBStorage if sqlite_file is None else _SQLiteStorage,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=_HEARTBEAT_INTERVAL,
                grace_period=_GRACE_PERIOD,
                max_retry=1,
            )
        if sqlite_file is not None:
            _raise_full_disk_as_os_error(opened.engine, location)
        return opened
    except ImportError as exc:
        raise ImportError(
            f"Cannot open the Optuna storage {_shown(location)!r}: its database "
            f"driver is missing ({exc}). For PostgreSQL install psycopg "
            "(pip install 'sklenet[postgres]')."
        ) from exc
    except (SQLAlchemyError, OSError) as exc:
        full = _sqlite_full(exc, location)
        if full is not None:  # creating the tables filled the disk
            raise full from exc
        raise ValueError(
            f"Cannot open the Optuna storage {_shown(location)!r}: {exc}"
        ) from exc


class _SQLiteStorage(RDBStorage):
    """An SQLite file's storage, whose heartbeat a full disk stops quietly.

    Optuna records a trial's heartbeat from a thread of its own, where the
    full disk's OSError (:func:`_raise_full_disk_as_os_error`) would print a
    traceback beside the command line's one line; the trial's own next
    write (a report, its end) raises it where it is reported.
    """

    def record_heartbeat(self, trial_id):
        try:
            super().record_heartbeat(trial_id)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise


def _sqlite_file(location):
    """The absolute path of the SQLite database file that the URL
    ``location`` opens, or None (another database, or one in memory)."""
    if "://" not in location:
        return None
    url = make_url(location)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return os.path.abspath(url.database)


def _sqlite_full(exc, location):
    """An ``OSError(ENOSPC)`` naming the SQLite file of the URL ``location``
    when ``exc`` is, or was raised from, SQLite's "database or disk is
    full"; else None. SQLite reports the full disk in its own error, without
    the system's errno, and SQLAlchemy and Optuna wrap that error in theirs."""
    while exc is not None:
        if (isinstance(exc, sqlite3.Error)
                and exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_FULL):
            return OSError(errno.ENOSPC, str(exc), _sqlite_file(location))
        exc = exc.__cause__
    return None


def _raise_full_disk_as_os_error(engine, location):
    """Make ``engine`` raise :func:`_sqlite_full`'s OSError for a full disk,
    in place of SQLAlchemy's OperationalError. Optuna wraps that one in a
    StorageInternalError that blames "invalid data in the commit"; an
    OSError passes through Optuna as it is, and the command line reports it
    as the full disk it is (:func:`write_error`)."""

    def handle_error(context):
        full = _sqlite_full(context.original_exception, location)
        if full is not None:
            raise full from context.original_exception

    event.listen(engine, "handle_error", handle_error)


def write_error(exc):
    """The OS error that ``exc`` reports, or None.

    ``exc`` itself when it is an OSError with an errno; else the first
    exception of its chain (causes and contexts) that is an OSError of a
    machine that cannot store what it is given (no space, a quota, an I/O
    error, a read-only file system). Optuna raises other exceptions over a
    storage's failed write: a StorageInternalError, or an AssertionError
    when it cannot record a trial's end.

    Parameters
    ----------
    exc : BaseException

    Returns
    -------
    OSError or None

    Examples
    --------
    >>> try:
    ...     try:
    ...         raise OSError(errno.ENOSPC, "No space left on device", "x.db")
    ...     except OSError:
    ...         raise AssertionError("Should not reach.")
    ... except AssertionError as exc:
    ...     print(write_error(exc))
    [Errno 28] No space left on device: 'x.db'
    >>> write_error(ValueError("a bug")) is None
    True
    """
    if isinstance(exc, OSError) and exc.errno is not None:
        return exc
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _WRITE_ERRNOS:
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def database_url(url):
    """``url`` with the database driver sklenet installs made explicit.

    A ``postgresql://`` URL means psycopg 3, which ``sklenet[postgres]``
    installs, whatever SQLAlchemy's default driver (psycopg 3 since
    SQLAlchemy 2.1, psycopg2 before); any other URL is returned as it is.

    Examples
    --------
    >>> database_url("postgresql://user:secret@dbhost/lenet")
    'postgresql+psycopg://user:secret@dbhost/lenet'
    >>> database_url("sqlite:///study.db")
    'sqlite:///study.db'
    """
    parsed = make_url(url)
    if parsed.drivername != "postgresql":
        return url
    return parsed.set(drivername="postgresql+psycopg").render_as_string(
        hide_password=False)


def fail_interrupted_trials(storage, study_name):
    """Mark failed the running trials of a study that no process runs.

    Only for a study that one process at a time works on, such as the one of
    ``sklenet reproduce``: when that process starts, a trial still RUNNING
    belongs to a run that was killed. Optuna's heartbeat would notice it only
    once it is 2 minutes old, and a killed run's trial would otherwise count
    as running forever. Each such trial becomes FAIL with the user attribute
    ``interrupted=True``; it is not run again.

    Parameters
    ----------
    storage : optuna.storages.BaseStorage
    study_name : str
        A study that is missing is left alone.

    Returns
    -------
    list of int
        The numbers of the trials marked failed.

    Examples
    --------
    >>> import optuna
    >>> storage = optuna.storages.InMemoryStorage()
    >>> study = optuna.create_study(storage=storage, study_name="s")
    >>> _ = study.ask()  # a trial its process never told
    >>> fail_interrupted_trials(storage, "s")
    [0]
    >>> study.trials[0].state.name, study.trials[0].user_attrs
    ('FAIL', {'interrupted': True})
    """
    try:
        study_id = storage.get_study_id_from_name(study_name)
    except KeyError:
        return []
    running = storage.get_all_trials(study_id, deepcopy=False,
                                     states=(TrialState.RUNNING,))
    for trial in running:
        trial_id = storage.get_trial_id_from_study_id_trial_number(
            study_id, trial.number)
        storage.set_trial_user_attr(trial_id, INTERRUPTED, True)
        storage.set_trial_state_values(trial_id, TrialState.FAIL)
    return [trial.number for trial in running]


@contextlib.contextmanager
def optuna_verbosity(level):
    """Optuna's logging level (``optuna.logging.INFO``, ...) for the block,
    restored after it."""
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(level)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)
