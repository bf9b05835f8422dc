"""LeNetSearchCV on a real PostgreSQL server: several workers, killed workers.

The server's URL comes from SKLENET_TEST_POSTGRES_URL (``.ci/run`` starts one
with ``.ci/postgres.sh start``). Without it the tests are skipped locally and
fail under CI (the CI environment variable is set), so that CI never passes
without running them.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import optuna
import pytest
from optuna.distributions import IntDistribution
from optuna.trial import TrialState
from sklearn.model_selection import train_test_split

from sklenet import LeNetClassifier
from sklenet.datasets import load_sample_digits
from sklenet.model_selection import LeNetSearchCV
from sklenet.model_selection._compat_optuna import (
    RetryHeartbeatStaleTrialCallback,
    rdb_storage,
)
from sklenet.model_selection._storage import database_url

REPOSITORY = Path(__file__).resolve().parents[2]
# Optuna calls its heartbeat and retry machinery experimental.
pytestmark = pytest.mark.filterwarnings(
    "ignore::optuna.exceptions.ExperimentalWarning"
)


@pytest.fixture
def study_name(postgres_url):
    """A fresh maximising study, created before any worker starts (as the
    recipe does), deleted afterwards."""
    name = f"sklenet-test-{uuid.uuid4().hex[:12]}"
    optuna.create_study(storage=database_url(postgres_url), study_name=name,
                        direction="maximize")
    yield name
    optuna.delete_study(study_name=name, storage=database_url(postgres_url))


def make_search(storage, study_name, n_trials, epochs):
    return LeNetSearchCV(
        LeNetClassifier(epochs=epochs, early_stopping=False, learning_rate=0.01,
                        batch_size=64, random_state=0),
        {"conv1_filters": IntDistribution(2, 8), "dense1_units": [16, 32, 64]},
        n_trials=n_trials, storage=storage, study_name=study_name, refit=False,
    )


def worker_data():
    X, y = load_sample_digits(return_X_y=True)
    X, X_val, y, y_val = train_test_split(X, y, train_size=200, test_size=100,
                                          stratify=y, random_state=0)
    return X, y, (X_val, y_val)


def run_worker(url, study_name, n_trials, epochs):
    """The body of one worker process: a search fit, then a JSON report."""
    X, y, validation_data = worker_data()
    search = make_search(url, study_name, int(n_trials), int(epochs))
    search.fit(X, y, validation_data=validation_data)
    print(json.dumps({"best_score": search.best_score_,
                      "n_trials": search.n_trials_}))


def start_worker(url, study_name, n_trials, epochs):
    code = ("import sys; from tests.model_selection.test_postgres import run_worker; "
            "run_worker(*sys.argv[1:])")
    return subprocess.Popen(
        [sys.executable, "-c", code, url, study_name, str(n_trials), str(epochs)],
        cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )


def report(worker):
    out, err = worker.communicate(timeout=600)
    assert worker.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def test_two_workers_run_exactly_their_trials(postgres_url, study_name):
    workers = [start_worker(postgres_url, study_name, 3, 1) for _ in range(2)]
    reports = [report(worker) for worker in workers]
    study = optuna.load_study(study_name=study_name,
                              storage=database_url(postgres_url))
    trials = study.trials
    assert sorted(t.number for t in trials) == list(range(6))
    assert {t.state for t in trials} <= {TrialState.COMPLETE, TrialState.PRUNED}
    # The last worker to finish saw all six trials; the study's best is the
    # best of what the workers reported and of the stored values.
    assert max(r["n_trials"] for r in reports) == 6
    completed = [t.value for t in trials if t.state == TrialState.COMPLETE]
    assert study.best_value == max(completed) == max(r["best_score"]
                                                     for r in reports)


def test_killed_worker_trial_fails_by_heartbeat_and_is_retried(postgres_url,
                                                               study_name):
    worker = start_worker(postgres_url, study_name, 1, 10_000)
    study = optuna.load_study(study_name=study_name,
                              storage=database_url(postgres_url))
    deadline = time.monotonic() + 300
    while not any(t.intermediate_values for t in study.trials):  # mid-training
        assert worker.poll() is None, worker.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the worker never started training"
        time.sleep(0.5)
    worker.send_signal(signal.SIGKILL)
    worker.communicate()
    (killed,) = study.trials
    assert killed.state == TrialState.RUNNING
    # The next worker fails trials whose heartbeat is older than its grace
    # period (1 s here instead of the URL default of 120 s) and retries them.
    time.sleep(2)
    storage = rdb_storage(database_url(postgres_url), heartbeat_interval=1,
                          grace_period=1, max_retry=1)
    X, y, validation_data = worker_data()
    search = make_search(storage, study_name, 2, 1)
    search.fit(X, y, validation_data=validation_data)
    trials = study.trials
    assert [t.number for t in trials] == [0, 1, 2]
    assert trials[0].state == TrialState.FAIL
    retry = trials[1]
    assert RetryHeartbeatStaleTrialCallback.retried_trial_number(retry) == 0
    assert retry.params == killed.params and retry.state == TrialState.COMPLETE
    assert search.n_trials_ == 3 and search.cv_results_["state"][0] == "FAIL"
