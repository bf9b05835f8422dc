"""sklenet reproduce's search step: it resumes from any interruption."""

import contextlib
import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
import time

import optuna
import pytest
from optuna.trial import TrialState

from sklenet._report import search_summary
from sklenet._reproduce import _STUDY_NAME, PRESETS, Reproduction, frame_from_json
from sklenet._search_space import STUDY_SEARCH_SPACE
from sklenet._storage import sqlite_url
from sklenet.cli import main
from sklenet.datasets import load_sample_digits


def test_failed_and_interrupted_trials_are_not_done(tmp_path):
    X, y = load_sample_digits(return_X_y=True)
    settings = dataclasses.replace(PRESETS["tiny"], n_trials=2, max_samples=300)
    reproduction = Reproduction(X, y, settings, tmp_path, "sample")
    # What killed runs leave: trials their heartbeat failed, one still running.
    study = optuna.create_study(storage=sqlite_url(tmp_path / "search.db"),
                                study_name=_STUDY_NAME, direction="maximize")
    for _ in range(2):
        study.tell(study.ask(), state=TrialState.FAIL)
    study.ask()
    result = reproduction._search()
    trials = frame_from_json(result["trials"])
    assert trials["state"].tolist() == ["FAIL"] * 3 + ["COMPLETE"] * 2
    assert trials["user_attrs_interrupted"].eq(True).tolist() == [
        False, False, True, False, False]
    assert set(result["best_params"]) == set(STUDY_SEARCH_SPACE)
    summary = search_summary({"search": {"result": result}})
    assert summary.startswith("5 trials (")
    assert {"2 fail", "1 interrupted", "2 complete"} <= set(
        summary[len("5 trials ("):summary.index(")")].split(", "))


def _running_trials(path):
    """Numbers of the RUNNING trials in the SQLite database ``path``, read
    without writing (Optuna would create its tables while the run does)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True,
                                                timeout=1)) as db:
            rows = db.execute("SELECT number FROM trials WHERE state = 'RUNNING'")
            return {number for (number,) in rows}
    except sqlite3.OperationalError:  # no database or no table yet; busy
        return set()


def _kill_during_trial(argv, number, out, log):
    """Run ``sklenet *argv`` and SIGKILL it while trial ``number`` runs."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sklenet", *argv], stdout=log,
        stderr=subprocess.STDOUT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    try:
        deadline = time.monotonic() + 300
        while number not in _running_trials(out / "search.db"):
            assert process.poll() is None, "the run ended before the kill"
            assert time.monotonic() < deadline, f"trial {number} never started"
            time.sleep(0.05)
    finally:
        process.kill()
        process.wait()


@pytest.mark.slow
def test_reproduce_killed_twice_in_the_search_completes(tmp_path):
    out = tmp_path / "report"
    argv = ["reproduce", "--preset", "tiny", "--n-jobs", "1", "--n-trials", "2",
            "--max-samples", "300", "--out", str(out)]
    with open(tmp_path / "killed_runs.log", "w") as log:
        for number in (0, 1):  # trial 0 in the first run, trial 1 in the next
            _kill_during_trial(argv, number, out, log)
    assert main(argv) == 0
    assert (out / "report.html").is_file() and (out / "report.md").is_file()
    result = json.loads((out / "cache" / "search.json").read_text())["result"]
    trials = frame_from_json(result["trials"])
    assert trials["number"].tolist() == [0, 1, 2, 3]
    assert trials["state"].tolist() == ["FAIL", "FAIL", "COMPLETE", "COMPLETE"]
    assert trials["user_attrs_interrupted"].eq(True).tolist() == [
        True, True, False, False]
    markdown = (out / "report.md").read_text()
    assert "2 interrupted" in markdown and "running" not in markdown
