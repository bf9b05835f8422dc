"""Where a reproduction's trainings run: local worker processes or Dask.

Both executors take the same calls: ``share`` sends the study's data to the
workers once, ``submit`` starts a task, ``wait`` returns the tasks that have
finished, and closing the executor (it is a context manager) stops what it
started. Every training runs in a worker process, never in the caller's: a
worker's TensorFlow is pinned to one thread (``_plan.pin_threads``), which
must not happen to the user's own process.
"""

import concurrent.futures
import contextlib
import logging
import os
import queue
import signal
import uuid

from .._io import exit_with_parent

#: How ``--dask`` asks for a LocalCluster of N single-threaded workers.
LOCAL_PREFIX = "local:"
DASK_EXTRA = 'pip install "sklenet[dask]"'
#: How long a run waits for the scheduler of ``--dask ADDRESS`` to answer.
CONNECT_TIMEOUT_S = 10
#: The environment of a local worker: what Dask's nanny sets in its workers.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "OPENBLAS_NUM_THREADS": "1"}


class LocalExecutor:
    """``n_workers`` worker processes on this machine, started fresh by loky
    (joblib's): TensorFlow does not survive a fork, and unlike
    multiprocessing's ``spawn`` loky does not import the caller's script
    again. Their threads are limited to one, as on a Dask worker. Each
    worker ends with this process, even when this one is killed
    (:func:`sklenet._io.exit_with_parent`), as Dask's workers end with
    their nanny's process; loky's resource tracker then ends with the last
    of them."""

    def __init__(self, n_workers):
        from joblib.externals.loky import ProcessPoolExecutor

        self.n_workers = n_workers
        self._pool = ProcessPoolExecutor(
            max_workers=n_workers, env=dict(ONE_THREAD),
            initializer=exit_with_parent, initargs=(os.getpid(),))

    def share(self, data):
        return data  # pickled with each task: small next to a training

    def submit(self, function, *args, key):
        return self._pool.submit(_task, function, *args)

    def wait(self, futures):
        done, _ = concurrent.futures.wait(
            futures, return_when=concurrent.futures.FIRST_COMPLETED)
        return done

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        # After an interruption the workers' trainings are lost anyway: end
        # them instead of waiting for them.
        interrupted = exc_info[0] is not None
        if interrupted:
            self._drop_queued_tasks()
        self._pool.shutdown(wait=True, kill_workers=interrupted)
        if interrupted:
            self._kill_unmanaged_workers()

    def _drop_queued_tasks(self):
        """Empty loky's queue of the tasks that no worker has been given.
        ``shutdown(kill_workers=True)`` forgets those tasks but not their IDs:
        its thread then hands the next ID to a worker with a free slot, and
        dies of a KeyError printed on stderr (seen when a full disk failed a
        run, whose other tasks were queued)."""
        work_ids = getattr(self._pool, "_work_ids", None)
        with contextlib.suppress(queue.Empty):
            while work_ids is not None:
                work_ids.get_nowait()

    def _kill_unmanaged_workers(self):
        """Kill the workers that ``shutdown`` cannot see. loky starts its
        workers in ``submit`` before the thread that manages them: a signal
        between the two leaves started workers that no thread will stop, each
        waiting for a task forever (seen in CI, a SIGTERM at the second
        worker's start)."""
        for process in list(getattr(self._pool, "_processes", {}).values()):
            # is_alive() first: the PID of a worker already reaped may belong
            # to another process by now.
            if process.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
                process.join(timeout=5)


class DaskExecutor:
    """The workers of a ``dask.distributed`` cluster.

    ``dask`` is a scheduler's address, ``"local:N"`` (a LocalCluster of N
    single-threaded worker processes on the loopback interface, closed with
    the executor) or a :class:`distributed.Client` (left open). Dask retries
    the tasks of a lost worker on another one; ``retries`` adds retries of
    tasks that failed.
    """

    retries = 2

    def __init__(self, dask):
        try:
            import distributed
        except ImportError:
            raise ImportError(
                f"running on Dask needs dask.distributed: {DASK_EXTRA}") from None
        self._distributed = distributed
        self._stack = contextlib.ExitStack()
        self.address = (dask.scheduler.address
                        if isinstance(dask, distributed.Client) else str(dask))
        if isinstance(dask, distributed.Client):
            self.client = dask
        else:
            address = self.address
            if address.startswith(LOCAL_PREFIX):
                n_workers = _workers(address)
                cluster = self._stack.enter_context(distributed.LocalCluster(
                    n_workers=n_workers, threads_per_worker=1, processes=True,
                    host="127.0.0.1", dashboard_address=None))
                self.client = self._stack.enter_context(distributed.Client(cluster))
            else:
                self.client = self._stack.enter_context(_connect(address))
        self._run = uuid.uuid4().hex[:8]
        self._trainings = {}  # Dask's key of each task -> the key it was given

    @property
    def n_workers(self):
        return max(1, len(self.client.scheduler_info()["workers"]))

    def share(self, data):
        [future] = self.client.scatter([data], broadcast=True, hash=False)
        return future

    def submit(self, function, *args, key):
        dask_key = f"sklenet-{key}-{self._run}"
        self._trainings[dask_key] = key
        return self.client.submit(_task, function, *args, key=dask_key,
                                  pure=False, retries=self.retries)

    def wait(self, futures):
        return self._distributed.wait(list(futures),
                                      return_when="FIRST_COMPLETED").done

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, traceback):
        lost = exc is not None and self._connection_lost(exc)
        with _quiet("distributed.client") if lost else contextlib.nullcontext():
            self._stack.close()
        if lost:
            raise SchedulerUnreachableError(
                f"the Dask scheduler at {self.address!r} was lost during the run "
                f"({_root_cause(exc)}); the trainings that finished are cached: "
                "run the same command again, with a scheduler there, to "
                "continue.") from None
        if isinstance(exc, self._distributed.KilledWorker):
            training = self._trainings.get(exc.task, exc.task)
            raise WorkersKilledError(
                f"the training {training!r} ended every Dask worker that ran it "
                f"({exc.allowed_failures + 1} died running it, the last at "
                f"{exc.last_worker.address}: Dask's KilledWorker; a worker out "
                "of memory is the most common cause, its log says); the "
                "trainings that finished are cached: run the same command "
                "again, on workers that can run it, to continue.") from None

    def _connection_lost(self, exc):
        """Whether ``exc`` comes of the scheduler's connection lost: Dask
        cancels every future of a client that lost it (the run cancels
        none), and a call without the connection raises an OSError without
        errno (CommClosedError)."""
        return isinstance(exc, concurrent.futures.CancelledError) or (
            isinstance(exc, OSError) and exc.errno is None
            and self.client.status != "running")


@contextlib.contextmanager
def _quiet(name):
    """No log records of the logger ``name`` in the block: a client closed
    while it tries to reconnect to a lost scheduler logs the cancelled
    attempt's traceback (the run's one line says what happened)."""
    logger = logging.getLogger(name)
    before = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = before


def _task(function, *args):
    """``function(*args)`` in a worker, a failure for want of room (or of a
    writable device) raised as the OSError it is.

    A task's exception reaches the caller pickled, without its causes and
    contexts, and Optuna raises its own exceptions over a storage's failed
    write (:func:`sklenet.model_selection._storage.write_error`): the command line could
    not tell a full disk from a bug."""
    try:
        return function(*args)
    except Exception as exc:
        from ..model_selection._storage import write_error

        error = write_error(exc)
        if error is None or error is exc:
            raise
        raise error from None


def _workers(address):
    """N of ``local:N``; ValueError unless a positive int."""
    text = address[len(LOCAL_PREFIX):]
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"dask={address!r}: {LOCAL_PREFIX}N needs a positive "
                         "number of workers N, e.g. local:2.")
    return int(text)


class SchedulerUnreachableError(ConnectionError):
    """No Dask scheduler answered at the address given, in time, or the
    scheduler was lost during the run."""


class WorkersKilledError(RuntimeError):
    """A training ended every Dask worker that ran it (Dask's
    ``KilledWorker``: as many as the scheduler's ``allowed-failures`` and
    one died while running it); the scheduler is still there."""


def _connect(address):
    """A :class:`distributed.Client` of the scheduler at ``address``, or a
    :class:`SchedulerUnreachableError` after ``CONNECT_TIMEOUT_S``."""
    import distributed

    try:
        return distributed.Client(address, timeout=CONNECT_TIMEOUT_S)
    except OSError as exc:  # Dask's timeout, or a refused connection
        raise SchedulerUnreachableError(
            f"no Dask scheduler answered at {address!r} within "
            f"{CONNECT_TIMEOUT_S} s ({_root_cause(exc)}); start one there, or "
            f"use {LOCAL_PREFIX}N for a cluster on this machine.") from None


def _root_cause(exc):
    """Why ``exc`` happened, in a few words: the system's reason of the
    first OS error in its chain, e.g. "connection refused"; Dask's reason
    for cancelling a future, e.g. "scheduler-connection-lost"; or else the
    first line of Dask's own message (its last attempt to connect can be
    cancelled by the timeout before the system answers)."""
    cause = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror.lower()
        cause = cause.__cause__ or cause.__context__
    # FutureCancelledError has a reason, FuturesCancelledError one per group.
    groups = getattr(exc, "error_groups", None) or [exc]
    reason = getattr(groups[0], "reason", None)
    if reason:
        return reason
    message = str(exc).strip().lower()
    return message.splitlines()[0] if message else type(exc).__name__


def check_dask(dask, storage=None):
    """Raise before any work: ValueError for a malformed ``local:N``,
    ImportError naming the extra when Dask is missing, or when
    optuna-integration is, which keeps the search's study on the scheduler
    when no ``storage`` is given; :class:`SchedulerUnreachableError` when no
    scheduler answers at an address within ``CONNECT_TIMEOUT_S``."""
    if dask is None:
        return
    local = isinstance(dask, str) and dask.startswith(LOCAL_PREFIX)
    if local:
        _workers(dask)
    try:
        import distributed
    except ImportError:
        raise ImportError(
            f"running on Dask needs dask.distributed: {DASK_EXTRA}") from None
    if storage is None:
        try:
            import optuna_integration.dask  # noqa: F401
        except ImportError:
            raise ImportError(
                "the search on Dask without a storage URL keeps its study on the "
                f"scheduler with optuna-integration: {DASK_EXTRA}") from None
    if not (local or isinstance(dask, distributed.Client)):
        _connect(str(dask)).close()


def executor(dask=None, n_jobs=None):
    """The executor of a run: Dask's when ``dask`` is given, else ``n_jobs``
    local worker processes (None: 1)."""
    if dask is not None:
        return DaskExecutor(dask)
    n_jobs = n_jobs or 1
    if n_jobs < 0:  # joblib's convention: -1 is every core
        n_jobs = (os.cpu_count() or 1) + 1 + n_jobs
    return LocalExecutor(max(1, n_jobs))
