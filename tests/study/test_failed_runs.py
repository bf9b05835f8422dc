"""Failed runs of ``sklenet reproduce`` that end in one line (issue 30): a
full disk under the search's SQLite database, and a Dask scheduler lost
during the run. Nothing is left half-written, and the next run continues.
The kills and the other failed runs are in ``test_kills.py``."""

import contextlib
import errno
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from sklenet.model_selection._storage import open_storage, sqlite_url, write_error
from sklenet.study._executors import LocalExecutor

from ..helpers import mounted_tmpfs

#: The tiny preset on 300 images: 17 one-epoch trainings.
CLI = [sys.executable, "-m", "sklenet", "reproduce", "--preset", "tiny",
       "--max-samples", "300"]
#: The study of a reproduction's search (sklenet.study._plan.STUDY_NAME).
STUDY_NAME = "sklenet-reproduce"
#: A tiny run takes about 2 minutes on 2 loaded cores; the bound of each.
RUN_TIMEOUT_S = 600

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="mounts a tmpfs and reads /proc (Linux)")


def _run(*options, out):
    """``sklenet reproduce`` on the tiny preset in a fresh process."""
    return subprocess.run([*CLI, "--out", str(out), *options], capture_output=True,
                          text=True, timeout=RUN_TIMEOUT_S,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


def _one_error_line(stderr):
    """The one line of a failed run: no traceback, no other error."""
    assert "Traceback" not in stderr, stderr[-3000:]
    errors = [line for line in stderr.splitlines()
              if "error" in line.lower() or "exception" in line.lower()]
    assert len(errors) == 1, stderr[-3000:]
    return errors[0]


def _half_written(*folders):
    """Files that a write cut short would leave: the atomic writers'
    temporary files, SQLite's rollback journal."""
    return [path for folder in folders for path in folder.rglob("*")
            if path.name.startswith(".") or path.suffix == ".tmp"
            or path.name.endswith("-journal")]


def _fill(folder):
    """Fill the file system of ``folder`` to its last byte."""
    with open(folder / "ballast", "wb", buffering=0) as ballast:
        with contextlib.suppress(OSError):
            while True:
                ballast.write(bytes(4096))


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs, unmounted after the test."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    with mounted_tmpfs(tmp_path / "disk", "1m") as folder:
        yield folder


# ------------------------------------------------ a full disk under SQLite
@linux_only
def test_a_full_disk_while_the_tables_are_created_is_an_os_error(small_disk):
    database = small_disk / "search.db"
    _fill(small_disk)
    with pytest.raises(OSError) as raised:
        open_storage(sqlite_url(database))
    assert raised.value.errno == errno.ENOSPC
    assert raised.value.strerror == "database or disk is full"
    assert raised.value.filename == str(database)


@linux_only
def test_a_full_disk_during_a_trial_is_the_os_error_behind_optunas(small_disk):
    import optuna

    database = small_disk / "search.db"
    study = optuna.create_study(storage=open_storage(sqlite_url(database)),
                                study_name=STUDY_NAME, direction="maximize")

    def objective(trial):
        for step in range(100):
            if step == 3:  # the disk fills while the trial reports
                _fill(small_disk)
            trial.report(step / 100, step)
        return 1.0

    # Optuna cannot record the trial's end either: it raises its own
    # AssertionError over the OSError ("Should not reach.").
    with pytest.raises(Exception) as raised:
        study.optimize(objective, n_trials=1)
    error = write_error(raised.value)
    assert error is not None, repr(raised.value)
    assert (error.errno, error.strerror, error.filename) == (
        errno.ENOSPC, "database or disk is full", str(database))
    assert _half_written(small_disk) == []
    (small_disk / "ballast").unlink()  # and the study is whole:
    assert sqlite3.connect(database).execute(
        "PRAGMA integrity_check").fetchone() == ("ok",)


@linux_only
def test_a_full_disk_stops_the_heartbeat_quietly(small_disk):
    # Optuna records heartbeats from a thread of its own, where an exception
    # prints a traceback beside the command line's one line: the trial's own
    # writes report the full disk instead.
    import optuna

    storage = open_storage(sqlite_url(small_disk / "search.db"))
    study = optuna.create_study(storage=storage, study_name=STUDY_NAME)
    trial = study.ask()
    _fill(small_disk)
    storage.record_heartbeat(trial._trial_id)
    with pytest.raises(OSError) as raised:
        for step in range(100):
            trial.report(step / 100, step)
    assert raised.value.errno == errno.ENOSPC


def test_a_task_raises_the_os_error_that_its_exception_hides():
    # A worker's exception reaches the caller without its chain.
    with LocalExecutor(1) as workers:
        future = workers.submit(_assertion_over_a_full_disk, key="full")
        with pytest.raises(OSError) as raised:
            future.result()
        assert raised.value.errno == errno.ENOSPC
        assert raised.value.filename == "search.db"
        bug = workers.submit(_assertion_over_a_full_disk, errno.ENOENT, key="bug")
        with pytest.raises(AssertionError):  # a bug stays a bug
            bug.result()


def _assertion_over_a_full_disk(number=errno.ENOSPC):
    try:
        raise OSError(number, os.strerror(number), "search.db")
    except OSError:
        raise AssertionError("Should not reach.") from None


@linux_only
@pytest.mark.slow  # a tiny reproduction that fails, then the whole of it
def test_a_full_disk_under_the_search_ends_the_run_in_one_line_and_the_next_continues(
        tmp_path, small_disk):
    import optuna

    out, database = tmp_path / "run", small_disk / "search.db"
    storage = sqlite_url(database)
    # The search started on this disk, which then filled: its next trial
    # cannot be written.
    optuna.create_study(storage=open_storage(storage), study_name=STUDY_NAME,
                        direction="maximize")
    _fill(small_disk)
    start = time.monotonic()
    done = _run("--n-jobs", "2", "--storage", storage, out=out)
    seconds = time.monotonic() - start
    assert done.returncode == 1, done.stderr[-3000:]
    line = _one_error_line(done.stderr)
    assert line.startswith(f"sklenet reproduce: error: --out {out} ({database}): "
                           "database or disk is full. Nothing was left"), line
    assert "run the same command again" in line
    assert _half_written(out, small_disk) == []
    print(f"full disk under the search: ended after {seconds:.1f} s")

    (small_disk / "ballast").unlink()
    done = _run("--n-jobs", "2", "--storage", storage, out=out)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (out / "report.html").is_file()
    # The search went on in the study it had started.
    study = optuna.load_study(study_name=STUDY_NAME, storage=open_storage(storage))
    assert [s.study_name for s in optuna.get_all_study_summaries(
        open_storage(storage), include_best_trial=False)] == [STUDY_NAME]
    assert [trial.state.name for trial in study.trials] == ["COMPLETE"]


@linux_only
def test_a_full_disk_under_the_storage_of_tune_ends_it_in_one_line(small_disk):
    import optuna

    database = small_disk / "tune.db"
    storage = sqlite_url(database)
    optuna.create_study(storage=open_storage(storage), study_name="sklenet",
                        direction="maximize")
    _fill(small_disk)
    done = subprocess.run(
        [sys.executable, "-m", "sklenet", "tune", "--storage", storage,
         "--n-trials", "1", "--epochs", "1", "--max-samples", "300"],
        capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 1, done.stderr[-3000:]
    assert _one_error_line(done.stderr) == (
        f"sklenet tune: error: --storage {storage} ({database}): database or disk "
        "is full. Finished trials are kept in the storage: once that is fixed "
        "(room made, say), run the same command again to continue.")
    assert _half_written(small_disk) == []


# ----------------------------------------- a scheduler lost during the run
def _start(command, log):
    """A process in a session of its own, so that its children go with it."""
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(process):
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


@linux_only
@pytest.mark.slow  # a cluster, a tiny reproduction until its first training,
# then the whole of it on a LocalCluster
def test_a_scheduler_lost_during_the_run_ends_it_in_one_line_and_the_next_continues(
        tmp_path):
    pytest.importorskip("distributed")
    out, scheduler_file = tmp_path / "run", tmp_path / "scheduler.json"
    with open(tmp_path / "cluster.log", "w") as log:
        scheduler = _start(["dask", "scheduler", "--scheduler-file",
                            str(scheduler_file), "--host", "127.0.0.1",
                            "--port", "0", "--no-dashboard"], log)
        workers = None
        try:
            deadline = time.monotonic() + 60
            while not scheduler_file.exists() or not scheduler_file.stat().st_size:
                assert time.monotonic() < deadline, "the scheduler did not start"
                time.sleep(0.2)
            address = json.loads(scheduler_file.read_text())["address"]
            workers = _start(["dask", "worker", "--scheduler-file",
                              str(scheduler_file), "--nworkers", "2", "--nthreads",
                              "1", "--no-dashboard"], log)
            with open(tmp_path / "run.log", "w") as run_log:
                run = subprocess.Popen(
                    [*CLI, "--out", str(out), "--dask", address], stderr=run_log,
                    stdout=subprocess.DEVNULL, text=True,
                    env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
            try:
                deadline = time.monotonic() + RUN_TIMEOUT_S
                while not any((out / "cache" / "trainings").rglob("*.json")):
                    assert run.poll() is None, (tmp_path / "run.log").read_text()
                    assert time.monotonic() < deadline, "no training finished"
                    time.sleep(0.1)
                _stop(scheduler)  # kill -9, mid-run
                killed = time.monotonic()
                status = run.wait(timeout=120)
                seconds = time.monotonic() - killed
            finally:
                run.kill()
                run.wait()
        finally:
            _stop(scheduler)
            if workers is not None:
                _stop(workers)
    stderr = (tmp_path / "run.log").read_text()
    assert status == 1, stderr[-3000:]
    line = _one_error_line(stderr)
    assert line.startswith(f"sklenet reproduce: error: --dask: the Dask scheduler "
                           f"at {address!r} was lost during the run ("), line
    assert "run the same command again" in line
    assert seconds < 30, seconds
    stored = sorted((out / "cache").rglob("*.json"))
    assert stored and _half_written(out) == []
    print(f"scheduler lost: ended {seconds:.1f} s after the kill")

    done = _run("--dask", "local:2", out=out)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (out / "report.html").is_file()
    assert set(stored) <= set((out / "cache").rglob("*.json"))
    assert "cached" in done.stderr  # the finished step was not trained again


# --------------------------------------- a training that kills its workers
@pytest.mark.slow  # a LocalCluster of 1 worker, killed once
def test_a_training_that_kills_its_workers_ends_the_run_in_one_line():
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    from sklenet.study._executors import DaskExecutor, WorkersKilledError

    # One death of a worker running it makes a task Dask's KilledWorker.
    with (dask.config.set({"distributed.scheduler.allowed-failures": 0}),
          distributed.LocalCluster(n_workers=1, threads_per_worker=1,
                                   processes=True, host="127.0.0.1",
                                   dashboard_address=None) as cluster,
          distributed.Client(cluster) as client):
        with pytest.raises(WorkersKilledError) as raised:
            with DaskExecutor(client) as workers:
                workers.retries = 0  # a retry would kill a second worker
                future = workers.submit(os._exit, 1,
                                        key="standard_evaluation-repeat-0")
                workers.wait({future})
                future.result()
        assert client.status == "running"  # the scheduler stays
    message = str(raised.value)
    assert message.startswith(
        "the training 'standard_evaluation-repeat-0' ended every Dask worker "
        "that ran it (1 died running it, the last at tcp://127.0.0.1:"), message
    assert "KilledWorker" in message and "are cached" in message
    assert "\n" not in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_the_command_line_ends_a_run_whose_workers_were_killed_in_one_line(
        tmp_path, monkeypatch, capsys):
    import sklenet.study
    from sklenet.cli import main
    from sklenet.study._executors import WorkersKilledError

    message = "the training 'search-trial-0' ended every Dask worker that ran it"

    def killed(*args, **kwargs):
        raise WorkersKilledError(message)

    monkeypatch.setattr(sklenet.study, "run_prepared", killed)
    assert main([*CLI[3:], "--out", str(tmp_path / "run")]) == 1
    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr
    assert stderr.splitlines()[-1] == f"sklenet reproduce: error: --dask: {message}"
