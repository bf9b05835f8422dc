"""Kills and failed runs of ``sklenet reproduce`` (issue 30): a ``kill -9`` at
any moment leaves no process behind, locally and on a Dask LocalCluster; an
unreachable scheduler and a full disk each end in one line, before anything
is written or with nothing half-written."""

import contextlib
import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sklenet.cli import main
from sklenet.study._executors import CONNECT_TIMEOUT_S, LocalExecutor

from ..helpers import mounted_tmpfs

#: The tiny preset on 300 images: 17 one-epoch trainings.
CLI = ["reproduce", "--preset", "tiny", "--max-samples", "300"]
#: The issue's bound: every process of a killed run gone this long after.
ORPHANS_GONE_S = 30

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads /proc and uses prctl (Linux)")

# Runs the command as its child and, once that child is dead, reports how
# long its descendants took to go. It is a child subreaper (prctl 36): every
# process whose parent dies below it is re-parented to it rather than to
# init, so no descendant escapes the count, and it reaps them (zombies are
# dead). Survivors after the limit are listed and killed.
_REAPER = r"""
import ctypes, json, os, signal, subprocess, sys, time

ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
limit = float(sys.argv[1])
child = subprocess.Popen(sys.argv[2:])
print(child.pid, flush=True)
child.wait()
killed = time.monotonic()

def alive():
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break
    found = {}
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            found[int(entry)] = cmdline[:200]
    return found

while (left := alive()) and time.monotonic() - killed < limit:
    time.sleep(0.05)
seconds = time.monotonic() - killed
for pid in left:
    os.kill(pid, signal.SIGKILL)
print(json.dumps({"seconds": seconds, "left": list(left.values())}), flush=True)
"""


def _children(pid):
    """{pid: command line} of the processes whose parent is ``pid``."""
    children = {}
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, ValueError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children[int(entry.name)] = cmdline.decode(errors="replace")
    return children


def _worker_started(pid, worker):
    return any(worker in cmdline for cmdline in _children(pid).values())


def _training_stored(out):
    return any((out / "cache" / "trainings").rglob("*.json"))


#: When to kill: once ``ready(pid, log, out, worker)`` holds (``worker`` is
#: in a worker's command line), so many seconds later; and what must still
#: hold then for the kill to have come at that moment.
MOMENTS = {
    "start": (lambda pid, log, out, worker: True, 1.0,
              lambda log, out: "calibrating" not in log),
    "workers start": (lambda pid, log, out, worker: _worker_started(pid, worker),
                      0.0, lambda log, out: "the plan:" not in log),
    # The workers import TensorFlow, then train the calibration's passes: 2 s
    # after a worker starts the command is still calibrating, even on an
    # idle machine (which calibrated within 8 s in CI).
    "calibration": (lambda pid, log, out, worker: "calibrating" in log
                    and _worker_started(pid, worker), 2.0,
                    lambda log, out: "the plan:" not in log),
    "training": (lambda pid, log, out, worker: _training_stored(out), 0.0,
                 lambda log, out: not (out / "report.html").exists()),
}


def _kill_at(moment, tmp_path, *options, worker="popen_loky_posix"):
    """Run a tiny reproduction, SIGKILL it at ``moment`` and return the
    reaper's report: ``seconds`` from the kill until no process of the run
    was left, ``left`` the command lines of those still alive after
    ORPHANS_GONE_S, and ``killed_at`` the seconds from the start."""
    out = tmp_path / "run"
    log_path = tmp_path / "run.log"
    command = [sys.executable, "-m", "sklenet", *CLI, "--out", str(out), *options]
    with open(log_path, "w") as log:
        reaper = subprocess.Popen(
            [sys.executable, "-c", _REAPER, str(ORPHANS_GONE_S), *command],
            stdout=subprocess.PIPE, stderr=log, text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    ready, delay, still = MOMENTS[moment]
    pid = int(reaper.stdout.readline())
    try:
        start = time.monotonic()
        while not ready(pid, log_path.read_text(errors="replace"), out, worker):
            assert reaper.poll() is None, log_path.read_text()[-2000:]
            assert time.monotonic() - start < 300, f"never reached {moment!r}"
            time.sleep(0.02)
        time.sleep(delay)
        killed_at = time.monotonic() - start
    finally:  # the reaper then reports, and kills what is left
        with contextlib.suppress(ProcessLookupError):  # ended by itself
            os.kill(pid, signal.SIGKILL)
    try:
        output = reaper.communicate(timeout=ORPHANS_GONE_S + 30)[0]
        # Its last line: a loky worker that outlived its parent by a moment
        # may print why it failed to the same stdout before.
        report = json.loads(output.strip().splitlines()[-1])
    finally:
        reaper.kill()
        reaper.wait()
    assert still(log_path.read_text(errors="replace"), out), (
        f"killed after {moment!r}: {log_path.read_text()[-2000:]}")
    return {**report, "killed_at": killed_at}


@linux_only
def test_a_kill_as_the_local_workers_start_leaves_no_process(tmp_path):
    report = _kill_at("workers start", tmp_path, "--n-jobs", "2")
    assert report["left"] == [], report
    assert report["seconds"] < ORPHANS_GONE_S


@linux_only
@pytest.mark.slow  # a reproduction per moment, killed and run again
@pytest.mark.parametrize("moment", ["start", "calibration", "training"])
def test_a_kill_at_any_moment_leaves_no_local_process(tmp_path, moment):
    report = _kill_at(moment, tmp_path, "--n-jobs", "2")
    assert report["left"] == [], report
    assert report["seconds"] < ORPHANS_GONE_S


@linux_only
@pytest.mark.slow  # a LocalCluster per moment
@pytest.mark.parametrize("moment", ["workers start", "calibration", "training"])
def test_a_kill_at_any_moment_leaves_no_dask_process(tmp_path, moment):
    pytest.importorskip("distributed")
    report = _kill_at(moment, tmp_path, "--dask", "local:2", worker="spawn_main")
    assert report["left"] == [], report
    assert report["seconds"] < ORPHANS_GONE_S


# ------------------------------------------------------------- failed runs
def test_an_unreachable_scheduler_fails_in_one_line_before_any_write(
        tmp_path, capsys):
    out = tmp_path / "run"
    start = time.monotonic()
    assert main([*CLI, "--dask", "tcp://127.0.0.1:1", "--out", str(out)]) == 1
    seconds = time.monotonic() - start
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("sklenet reproduce: error: --dask: ")
    assert "'tcp://127.0.0.1:1'" in line
    # The refusal, or Dask's own timeout where the timeout cancelled its
    # last attempt before the refusal came (CI saw that under load).
    assert ("(connection refused)" in line
            or "(timed out trying to connect to tcp://127.0.0.1:1" in line), line
    assert f"within {CONNECT_TIMEOUT_S} s" in line
    assert CONNECT_TIMEOUT_S <= seconds < CONNECT_TIMEOUT_S + 10
    assert not out.exists()  # no cache/run.json, no lock


def test_the_help_states_the_connection_timeout(capsys):
    with pytest.raises(SystemExit):
        main(["reproduce", "--help"])
    assert f"within {CONNECT_TIMEOUT_S} s" in " ".join(capsys.readouterr().out.split())


def test_a_failed_run_drops_the_tasks_queued_for_its_workers(monkeypatch):
    # A worker that took its task leaves a free slot in loky's call queue;
    # a shutdown that kills the workers then handed the next queued task's
    # ID to that slot and died of a KeyError (printed on stderr).
    errors = []
    monkeypatch.setattr(threading, "excepthook",
                        lambda args: errors.append(args.exc_value))
    with pytest.raises(OSError, match="No space"):
        with LocalExecutor(1) as workers:
            workers.wait([workers.submit(os.getpid, key="started")])
            for index in range(6):
                workers.submit(time.sleep, 60, key=str(index))
            time.sleep(1)  # the worker takes the first
            raise OSError(errno.ENOSPC, "No space left on device")
    time.sleep(0.5)
    assert errors == []


@pytest.fixture
def full_disk(tmp_path):
    """A 2 MiB tmpfs with about 190 kB free, unmounted after the test."""
    if os.geteuid() != 0 and not os.environ.get("CI"):
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    with mounted_tmpfs(tmp_path / "disk", "2m") as folder:
        (folder / "ballast").write_bytes(bytes(1_900_000))
        yield folder


@linux_only
@pytest.mark.slow  # a tiny reproduction until the disk is full, then the rest
def test_a_full_disk_ends_the_run_in_one_line_and_the_next_continues(full_disk):
    out = full_disk / "run"
    done = subprocess.run([sys.executable, "-m", "sklenet", *CLI, "--n-jobs", "2",
                           "--out", str(out)], capture_output=True, text=True,
                          timeout=900,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 1, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines()
              if "Error" in line or "Traceback" in line or "error" in line]
    [line] = errors
    assert line.startswith(f"sklenet reproduce: error: --out {out} (")
    assert "No space left on device" in line and "run the same command" in line
    stored = sorted((out / "cache").rglob("*.json"))
    assert [path for path in out.rglob(".*")] == []  # nothing half-written
    assert all(json.loads(path.read_text()) for path in stored)
    (full_disk / "ballast").unlink()  # and room for the whole run:
    subprocess.run(["mount", "-o", "remount,size=64m", str(full_disk)],
                   check=True)
    assert main([*CLI, "--n-jobs", "2", "--out", str(out)]) == 0
    assert (out / "report.html").is_file()
    assert set(stored) <= set((out / "cache").rglob("*.json"))
