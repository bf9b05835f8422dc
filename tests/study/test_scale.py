"""The study at its own scale (issue 18): every training a task stored as soon
as it finishes, the same numbers on 1 local worker or 2 Dask workers, after
a lost worker and after a killed run; the plan and its estimate."""

import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import types

import numpy as np
import pandas as pd
import pytest

import sklenet
from sklenet._base import spawn_seeds
from sklenet.cli import main
from sklenet.datasets import load_sample_digits
from sklenet.model_selection._storage import optuna_verbosity
from sklenet.study import PRESETS, Reproduction, RunFolder
from sklenet.study._estimate import (
    CALIBRATION_EPOCHS,
    Calibration,
    Timings,
    calibration_from_timings,
    calibration_training,
    estimate,
)
from sklenet.study._executors import LocalExecutor
from sklenet.study._plan import (
    StudyData,
    pin_threads,
    run_member,
    run_training,
    search,
)
from sklenet.study._steps import plan

#: The tiny preset on 300 images: 17 one-epoch trainings.
TINY = dict(preset="tiny", max_samples=300)
CLI = ["reproduce", "--preset", "tiny", "--max-samples", "300"]


def _reproduction(out, **overrides):
    X, y = load_sample_digits(return_X_y=True)
    settings = dataclasses.replace(PRESETS["tiny"], max_samples=300, **overrides)
    return Reproduction(X, y, settings, out, "sample")


def _trained(out):
    """{training file: its result} of a run folder, without what differs from
    one run to the next (times, the trials' dates)."""
    results = {}
    for path in sorted((RunFolder(out).cache / "trainings").rglob("*.json")):
        result = json.loads(path.read_text())["result"]
        result.get("row", {}).pop("fit_time", None)
        result.pop("trials", None)
        results[str(path.relative_to(out))] = result
    return results


# ------------------------------------------------------------------ records
def _step_level(data):
    """The standard LeNet's evaluation and learning curve as the step-level
    functions compute them, in a worker (TensorFlow on one thread)."""
    from sklenet.evaluation import repeated_evaluation, repeated_learning_curve
    from sklenet.study._plan import estimator

    pin_threads()
    s = data.settings
    X, y = data.curve_data
    evaluation = repeated_evaluation(
        estimator("standard", s), data.X_train, data.y_train, data.X_test,
        data.y_test, validation_data=(data.X_val, data.y_val),
        n_repeats=s.n_repeats, random_state=s.random_state)
    curve = repeated_learning_curve(
        estimator("standard", s), X, y, train_sizes=s.learning_curve_sizes,
        n_repeats=s.learning_curve_repeats, test_size=len(data.y_test),
        validation_data=(data.X_val, data.y_val),
        n_iter_no_change=s.learning_curve_patience, random_state=s.random_state)
    return evaluation, curve


@pytest.mark.slow  # 6 one-epoch trainings
def test_step_records_from_trainings_equal_the_step_level_functions(tmp_path):
    data = _reproduction(tmp_path, n_repeats=2).study_data()
    planned = plan(data)
    names = ("standard_evaluation", "standard_learning_curve")
    with LocalExecutor(1) as workers:
        results = {training: workers.submit(run_training, training, data,
                                            key=training.key).result()[0]
                   for name in names for training in planned[name]}
        expected = workers.submit(_step_level, data, key="step-level").result()
    # Through JSON, as the cache stores them.
    results = {training: json.loads(json.dumps(result))
               for training, result in results.items()}
    for name, (runs, summary) in zip(names, expected):
        record = planned[name][0].of.assemble(planned[name], results, data, {})
        pd.testing.assert_frame_equal(record.runs.drop(columns="fit_time"),
                                      runs.drop(columns="fit_time"))
        pd.testing.assert_frame_equal(record.summary.drop(index="fit_time",
                                                          errors="ignore"),
                                      summary.drop(index="fit_time", errors="ignore"),
                                      check_exact=False, rtol=0, atol=0)
    trainings = planned["standard_evaluation"]
    evaluation = trainings[0].of.assemble(trainings, results, data, {})
    assert len(evaluation.runs) == 2 and evaluation.y_test == data.y_test.tolist()
    assert np.asarray(evaluation.test_proba).shape == (len(data.y_test), 10)


@pytest.mark.slow  # an ensemble of 2 one-epoch members, twice
def test_an_ensemble_assembled_from_member_tasks_is_its_plain_fit(tmp_path):
    data = _reproduction(tmp_path, n_estimators=2).study_data()
    [training] = plan(data)["ensemble_evaluation"]
    members = training.member_trainings
    assert [member.key for member in members] == ["repeat-0-member-0",
                                                  "repeat-0-member-1"]
    with LocalExecutor(1) as workers:
        # The ensemble's own fit (LeNetEnsembleClassifier.fit), in one task.
        whole, _ = workers.submit(run_training, training, data,
                                  key="whole").result()
        trained = [workers.submit(run_member, member, data, key=member.key).result()
                   for member in members]
        assembled, _ = workers.submit(run_training, training, data, None, trained,
                                      key="assembled").result()
    seed = whole["result"]["row"]["random_state"]  # the repeat's ensemble seed
    assert [result["result"]["random_state"] for result, _ in trained] == (
        spawn_seeds(seed, 2))
    assert assembled["result"]["row"].pop("fit_time") == pytest.approx(
        sum(result["result"]["fit_time"] for result, _ in trained))
    whole["result"]["row"].pop("fit_time")
    # Scores, test probabilities, every member's history: identical.
    assert assembled["result"] == whole["result"]
    assert len(whole["result"]["histories"]) == 2


def test_an_interruption_as_the_workers_start_leaves_none_running(monkeypatch):
    # loky starts the workers in submit, then the thread that would stop them:
    # an interruption in between (here at that thread's start) must still end
    # every worker, or each waits for a task forever.
    def interrupted(pool):
        time.sleep(5)  # the workers are up, waiting for a task
        raise KeyboardInterrupt

    monkeypatch.setattr(type(LocalExecutor(1)._pool),
                        "_start_executor_manager_thread", interrupted)
    with pytest.raises(KeyboardInterrupt):
        with LocalExecutor(2) as workers:
            started = workers._pool._processes
            workers.submit(time.sleep, 60, key="never")
    assert len(started) == 2
    assert [process.is_alive() for process in started.values()] == [False, False]


def test_the_plan_keys_every_training_once():
    data = StudyData(PRESETS["full"], *[np.zeros((1000, 28, 28))] * 3,
                     *[np.arange(1000) % 10] * 3, *[np.zeros((1000, 28, 28))] * 2,
                     *[np.arange(1000) % 10] * 2, search_storage="sqlite://")
    planned = plan(data)
    networks = {name: sum(t.networks for t in trainings)
                for name, trainings in planned.items()}
    assert networks == PRESETS["full"].plan()  # 1,643 in all
    keys = [(t.step, t.key) for trainings in planned.values() for t in trainings]
    assert len(keys) == len(set(keys)) == 10 * 4 + 1 + 5 * 20 * 4 + 4
    # Each of the ensemble's 111 trainings has 10 member tasks, keyed apart.
    members = [(m.step, m.key) for trainings in planned.values()
               for t in trainings for m in t.member_trainings]
    assert len(members) == len(set(members) - set(keys)) == 111 * 10
    assert {step for step, _ in members} == {
        f"ensemble_{kind}" for kind in ("evaluation", "learning_curve",
                                        "convergence")}
    # Only what needs the search's parameters waits for it.
    waiting = {t.step for trainings in planned.values() for t in trainings
               if t.needs_search}
    assert waiting == {f"{model}_{kind}" for model in ("optimized", "ensemble")
                       for kind in ("evaluation", "learning_curve", "convergence")}


def test_the_calibration_times_epochs_after_the_first():
    # The first epoch traces the network; the median of the others is an
    # epoch, whatever the fit's start cost (one slow later epoch changes it
    # little), and splits into its training and its validation.
    measured = calibration_from_timings(Timings(
        whole=5.0, epochs=[2.0, 0.3, 0.2, 0.9], validation=[0.5, 0.1, 0.05, 0.1],
        predictions=[0.4, 0.1], n_images=100, n_validation=20))
    assert measured == pytest.approx({
        "overhead": 5.0 - 4 * 0.3 + (0.4 - 0.1),  # and the prediction's trace
        "train": (0.3 - 0.1) / 100, "validation": 0.1 / 20, "predict": 0.1 / 100})
    # A fit whose epochs took longer than the whole (clock noise) costs no
    # negative overhead.
    assert calibration_from_timings(Timings(0.5, [0.3, 0.3], [0.1, 0.1], [0.1, 0.2],
                                            10, 5))["overhead"] == 0.0


def test_a_calibration_training_times_every_epoch_of_its_fit(monkeypatch):
    # Here, not in a worker: this process's TensorFlow threads stay as they are.
    monkeypatch.setattr("sklenet.study._estimate.pin_threads", lambda: None)
    monkeypatch.setattr("sklenet.study._estimate.exit_with_parent", lambda: None)
    X, y = load_sample_digits(return_X_y=True)
    order = np.random.RandomState(0).permutation(len(y))
    X, y = X[order], y[order]
    data = StudyData(PRESETS["quick"], X[:300], X[300:400], X[400:500],
                     y[:300], y[300:400], y[400:500], X[:10], X[:10],
                     y[:10], y[:10], search_storage="sqlite://")
    timings = calibration_training("standard", data, 200)
    assert (timings.n_images, timings.n_validation) == (200, 66)
    assert len(timings.epochs) == len(timings.validation) == CALIBRATION_EPOCHS
    assert all(0 < validation < epoch for validation, epoch
               in zip(timings.validation, timings.epochs))
    assert sum(timings.epochs) < timings.whole
    assert len(timings.predictions) == 2 and min(timings.predictions) > 0


def test_a_learning_curve_training_validates_on_all_the_validation_images():
    kinds = ("standard", "optimized", "best")
    calibration = Calibration(dict.fromkeys(kinds, 2.0), dict.fromkeys(kinds, 1e-3),
                              dict.fromkeys(kinds, 5e-4), dict.fromkeys(kinds, 1e-4),
                              dict.fromkeys(kinds, 10), dict.fromkeys(kinds, 0))
    # 10 passes of 100 training and 50 validation images, then 400 scored.
    assert calibration.network_seconds("standard", 100, 50, 400) == pytest.approx(
        2.0 + 10 * (100 * 1e-3 + 50 * 5e-4) + 400 * 1e-4)
    data = StudyData(PRESETS["quick"], *[np.zeros((1000, 28, 28))] * 3,
                     *[np.arange(1000) % 10] * 3, *[np.zeros((1000, 28, 28))] * 2,
                     *[np.arange(1000) % 10] * 2, search_storage="sqlite://")
    table = estimate(plan(data), data, calibration, 1).table.set_index("step")
    curve = plan(data)["standard_learning_curve"]
    expected = sum(calibration.network_seconds("standard", t.train_size, 1000,
                                               t.train_size + 1000) for t in curve)
    assert table.loc["standard_learning_curve", "hours of training"] == (
        pytest.approx(expected / 3600, rel=1e-2))


def _blank_data():
    """The tiny preset's StudyData on 100 blank images a split, for a search
    task whose trials a test makes up."""
    return StudyData(PRESETS["tiny"], *[np.zeros((100, 28, 28))] * 3,
                     *[np.arange(100) % 10] * 3, *[np.zeros((100, 28, 28))] * 2,
                     *[np.arange(100) % 10] * 2, search_storage="sqlite://")


def test_the_search_step_counts_the_seconds_of_its_search(monkeypatch):
    class Record:
        def to_json(self):
            return {"trials": []}

    def slow_search(data):
        time.sleep(0.3)
        return Record()

    # Here, not in a worker: this process's TensorFlow threads stay as they are.
    monkeypatch.setattr("sklenet.study._plan.pin_threads", lambda: None)
    monkeypatch.setattr("sklenet.study._plan.exit_with_parent", lambda: None)
    monkeypatch.setattr("sklenet.study._steps.search", slow_search)
    data = _blank_data()
    [training] = plan(data)["search"]
    outcome, model_bytes = run_training(training, data)
    assert outcome["seconds"] >= 0.3  # was the time before the search ran
    assert outcome["result"] == {"trials": []} and model_bytes is None


def test_a_search_task_creates_its_study_without_optunas_info_line(monkeypatch):
    """A worker runs the search at Optuna's default verbosity (INFO), not the
    command's WARNING: its study is created without "A new study created"."""
    import optuna

    from sklenet.study._results import STUDY_NAME

    class Searcher:  # the trials themselves: one completed, made up
        def fit(self, X, y, validation_data):
            study = optuna.load_study(study_name=STUDY_NAME, storage=storage)
            study.add_trial(optuna.trial.create_trial(
                params={"dropout": 0.1}, value=0.5, distributions={
                    "dropout": optuna.distributions.FloatDistribution(0, 1)}))
            return types.SimpleNamespace(study_=study)

    class Lines(logging.Handler):
        def __init__(self):
            super().__init__()
            self.lines = []

        def emit(self, record):
            self.lines.append(record.getMessage())

    storage = optuna.storages.InMemoryStorage()
    monkeypatch.setattr("sklenet.study._plan.searcher", lambda *args, **kw: Searcher())
    monkeypatch.setattr("sklenet.model_selection._storage.open_storage",
                        lambda url: storage)
    data = _blank_data()
    optuna_log, handler = logging.getLogger("optuna"), Lines()
    optuna_log.addHandler(handler)
    try:
        with optuna_verbosity(optuna.logging.INFO):  # Optuna's default
            record = search(data)
            assert optuna.logging.get_verbosity() == optuna.logging.INFO  # put back
            optuna.create_study()  # what the handler sees of another study
    finally:
        optuna_log.removeHandler(handler)
    assert record.best_score == 0.5
    [line] = handler.lines
    assert line.startswith("A new study created in memory with name: no-name-")


# ---------------------------------------------------------------- no Dask
def test_without_dask_the_option_names_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    X, y = load_sample_digits(return_X_y=True)
    with pytest.raises(ImportError, match=r'pip install "sklenet\[dask\]"'):
        sklenet.reproduce(X, y, out=tmp_path / "run", dask="local:2", **TINY)
    assert main([*CLI, "--out", str(tmp_path / "cli"), "--dask", "local:2"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install "sklenet[dask]"' in err
    assert not (tmp_path / "run").exists() and not (tmp_path / "cli").exists()


def test_without_optuna_integration_a_dask_search_names_the_extra(
        tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setitem(sys.modules, "optuna_integration.dask", None)
    X, y = load_sample_digits(return_X_y=True)
    with pytest.raises(ImportError, match=r'optuna-integration: pip install '
                                          r'"sklenet\[dask\]"'):
        sklenet.reproduce(X, y, out=tmp_path / "run", dask="local:2", **TINY)
    assert not (tmp_path / "run").exists()


def test_bad_arguments_are_refused_before_any_training(tmp_path):
    X, y = load_sample_digits(return_X_y=True)
    with pytest.raises(ValueError, match="local:N needs a positive number"):
        sklenet.reproduce(X, y, out=tmp_path, dask="local:0", **TINY)
    with pytest.raises(ValueError, match="n_repeatz: not a setting of the study"):
        sklenet.reproduce(X, y, out=tmp_path, n_repeatz=2, **TINY)
    with pytest.raises(ValueError, match="preset='huge' is not one of"):
        sklenet.reproduce(X, y, out=tmp_path, preset="huge")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------- local and Dask
@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """The tiny preset on 300 images in 1 local worker."""
    out = tmp_path_factory.mktemp("local") / "run"
    X, y = load_sample_digits(return_X_y=True)
    results = sklenet.reproduce(X, y, out=out, n_jobs=1, progress=False, **TINY)
    return out, results


def _kill_a_worker_during_a_training(client, killed):
    """Kill (SIGKILL) the process of the first worker seen training."""
    pids = client.run(os.getpid)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        for worker, keys in client.processing().items():
            if any(str(key).startswith("sklenet-standard_learning_curve")
                   for key in keys) and worker in pids:
                time.sleep(1)  # into the training
                os.kill(pids[worker], signal.SIGKILL)
                killed.append(worker)
                return
        time.sleep(0.05)


@pytest.mark.slow  # two tiny reproductions
def test_two_dask_workers_give_the_local_numbers_after_losing_one(
        local_run, tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    stored = []
    store = Reproduction._store

    def recording(self, training, outcome, model_bytes):
        stored.append((training.step, training.key))
        return store(self, training, outcome, model_bytes)

    monkeypatch.setattr(Reproduction, "_store", recording)
    X, y = load_sample_digits(return_X_y=True)
    killed = []
    with (distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                   processes=True, host="127.0.0.1",
                                   dashboard_address=None) as cluster,
          distributed.Client(cluster) as client):
        killer = threading.Thread(target=_kill_a_worker_during_a_training,
                                  args=(client, killed), daemon=True)
        killer.start()
        results = sklenet.reproduce(X, y, out=tmp_path / "dask", dask=client,
                                    progress=False, **TINY)
        killer.join(timeout=1)
    assert killed, "no worker was killed during a training"
    out, local = local_run
    assert _trained(tmp_path / "dask") == _trained(out)
    # Each training's result stored exactly once, the lost one included.
    assert len(stored) == len(set(stored)) == len(_trained(out)) == 17
    for model in ("standard", "optimized", "ensemble", "best"):
        assert results.evaluation(model).runs.drop(columns="fit_time").equals(
            local.evaluation(model).runs.drop(columns="fit_time"))
    assert (tmp_path / "dask" / "report.html").is_file()


@pytest.mark.slow  # a tiny reproduction with 2 members, interrupted, resumed
def test_a_run_interrupted_keeps_the_ensemble_members_it_trained(
        tmp_path, monkeypatch):
    out = tmp_path / "run"
    X, y = load_sample_digits(return_X_y=True)
    store = Reproduction._store

    def interrupted(self, training, outcome, model_bytes):
        store(self, training, outcome, model_bytes)
        if training.member is not None:
            raise KeyboardInterrupt  # the first member is stored

    monkeypatch.setattr(Reproduction, "_store", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sklenet.reproduce(X, y, out=out, n_jobs=1, n_estimators=2,
                          progress=False, **TINY)
    monkeypatch.undo()
    [member] = (RunFolder(out).cache / "trainings").glob("ensemble_*/*member*.json")
    model = member.with_suffix(".sklenet")
    before = {path: path.stat().st_mtime_ns for path in (member, model)}
    results = sklenet.reproduce(X, y, out=out, n_jobs=1, n_estimators=2,
                                progress=False, **TINY)
    assert {path: path.stat().st_mtime_ns for path in before} == before
    # Every ensemble training (1 evaluation, 2 learning-curve sizes, 1
    # convergence): its 2 members, each with its model, and its result.
    stored = list((RunFolder(out).cache / "trainings").glob("ensemble_*/*"))
    trainings = [path for path in stored if "-member-" not in path.name]
    assert len(trainings) == 4 and len(stored) == 4 * 5
    assert all(path.with_name(f"{path.stem}-member-{index}{suffix}") in stored
               for path in trainings for index in (0, 1)
               for suffix in (".json", ".sklenet"))
    assert len(results.evaluation("ensemble").histories) == 2
    assert (out / "report.html").is_file()


def _stored(out):
    """{training file: (inode, modification time)}."""
    return {path: (path.stat().st_ino, path.stat().st_mtime_ns)
            for path in (RunFolder(out).cache / "trainings").rglob("*.json")}


@pytest.mark.slow  # a tiny reproduction killed twice, then finished
def test_a_run_killed_twice_trains_each_training_once(local_run, tmp_path):
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "sklenet", *CLI, "--n-jobs", "1", "--out",
            str(out)]
    seen = {}
    with open(tmp_path / "killed.log", "w") as log:
        for at_least in (3, 8):  # killed with 3, then 8 trainings stored
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
            try:
                deadline = time.monotonic() + 600
                while len(_stored(out)) < at_least:
                    assert process.poll() is None, "the run ended before the kill"
                    assert time.monotonic() < deadline, "too slow to kill"
                    time.sleep(0.05)
            finally:
                process.kill()
                process.wait()
            now = _stored(out)
            assert {path: now[path] for path in seen} == seen  # none trained again
            seen = now
    assert len(seen) < 17
    assert main([*CLI, "--n-jobs", "1", "--out", str(out)]) == 0
    final = _stored(out)
    assert {path: final[path] for path in seen} == seen
    assert _trained(out) == _trained(local_run[0])  # the uninterrupted numbers
    assert (out / "report.html").is_file()
    assert [p for p in out.rglob("*") if p.name.startswith(".")] == []


# ---------------------------------------------------------- the search on Dask
@pytest.fixture(scope="module")
def dask_client():
    """A loopback LocalCluster of 2 single-threaded workers, and its Client."""
    distributed = pytest.importorskip("distributed")
    with (distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                   processes=True, host="127.0.0.1",
                                   dashboard_address=None) as cluster,
          distributed.Client(cluster) as client):
        yield client


def test_the_search_study_on_the_scheduler_opens_without_an_error_there(
        dask_client):
    optuna = pytest.importorskip("optuna")
    from sklenet.study._dask_storage import scheduler_storage

    # The scheduler logs every exception of its handlers, with its traceback.
    errors = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = errors.append
    logger = logging.getLogger("distributed")
    logger.addHandler(handler)
    try:
        storage = scheduler_storage(dask_client)
        created = optuna.create_study(storage=storage, study_name="fresh",
                                      load_if_exists=True)
        opened = optuna.create_study(storage=storage, study_name="fresh",
                                     load_if_exists=True)
        with pytest.raises(optuna.exceptions.DuplicatedStudyError):
            optuna.create_study(storage=storage, study_name="fresh")
    finally:
        logger.removeHandler(handler)
    assert opened._study_id == created._study_id
    assert [record.getMessage() for record in errors] == []


def _finish(search, workers):
    """Wait for every trial task of ``search``; its outcome."""
    while search.pending:
        for future in workers.wait(search.pending):
            search.trial_done(future)
    return search.outcome()


def _trial(trial):
    return trial.state.name, trial.params, trial.value, trial.datetime_start


@pytest.mark.slow  # 3 one-epoch trials, 2 at a time, and one abandoned
def test_a_dask_search_killed_resumes_with_its_finished_trials(
        dask_client, tmp_path):
    optuna = pytest.importorskip("optuna")
    from sklenet._recipes import OPTIMIZED_PARAMS
    from sklenet.study._executors import DaskExecutor
    from sklenet.study._results import STUDY_NAME, Search
    from sklenet.study._spread_search import SpreadSearch

    reproduction = _reproduction(tmp_path, n_trials=3)
    data = reproduction.study_data()
    [training] = plan(data)["search"]
    record = data.search_storage  # search.db in the run folder
    with DaskExecutor(dask_client) as workers:
        first = SpreadSearch(training, workers, workers.share(data), data, None)
        assert first.n_tasks == 3  # one task per trial, on either worker
        [done, *_] = workers.wait(first.pending)
        assert not first.trial_done(done)
        # The run is killed: its DaskStorage study and its trials in flight
        # are lost, the finished trials are in the run folder.
        dask_client.cancel(list(first.pending))
    kept = optuna.load_study(study_name=STUDY_NAME, storage=record).trials
    assert 1 <= len(kept) < 3
    assert {trial.state.name for trial in kept} == {"COMPLETE"}
    with DaskExecutor(dask_client) as workers:
        second = SpreadSearch(training, workers, workers.share(data), data, None)
        assert second.n_tasks == 3 - len(kept)  # only the missing trials
        result = Search.from_json(_finish(second, workers)["result"])
    trials = optuna.load_study(study_name=STUDY_NAME, storage=record).trials
    assert [trial.state.name for trial in trials] == ["COMPLETE"] * 3
    assert [_trial(t) for t in trials[:len(kept)]] == [_trial(t) for t in kept]
    # The study's own hyperparameters were tried, once; distinct seeds drew
    # distinct parameters for the others.
    assert [t.params for t in trials].count(OPTIMIZED_PARAMS) == 1
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 3
    assert result.best_score == max(trial.value for trial in trials)
    assert result.trials["state"].tolist() == ["COMPLETE"] * 3


@pytest.mark.slow  # a tiny reproduction on Dask until its search ends, then all
def test_a_dask_search_killed_before_its_record_is_stored_ends_on_resume(
        tmp_path, monkeypatch):
    optuna = pytest.importorskip("optuna")
    pytest.importorskip("distributed")
    from sklenet.study._results import STUDY_NAME

    out = RunFolder(tmp_path / "run")
    X, y = load_sample_digits(return_X_y=True)
    store = Reproduction._store

    def killed_before_the_search_is_stored(self, training, outcome, model_bytes):
        if training.step == "search":
            raise KeyboardInterrupt
        return store(self, training, outcome, model_bytes)

    monkeypatch.setattr(Reproduction, "_store", killed_before_the_search_is_stored)
    with pytest.raises(KeyboardInterrupt):
        sklenet.reproduce(X, y, out=out.out, dask="local:2", progress=False,
                          **TINY)
    monkeypatch.undo()
    # Every trial is in the run folder's study, no result of the search.
    [trial] = optuna.load_study(study_name=STUDY_NAME,
                                storage=out.search_storage).trials
    assert trial.state.name == "COMPLETE"
    assert not out.step("search").exists()
    assert not out.training("search", "search").exists()
    done = subprocess.run(
        [sys.executable, "-m", "sklenet", *CLI, "--out", str(out.out), "--dask",
         "local:2"], capture_output=True, text=True, timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-3000:]
    # A fresh scheduler's study, opened without an error logged there.
    assert "Traceback" not in done.stderr and "ERROR" not in done.stderr, (
        done.stderr[-3000:])
    trials = optuna.load_study(study_name=STUDY_NAME,
                               storage=out.search_storage).trials
    assert [_trial(t) for t in trials] == [_trial(trial)]  # none trained again
    assert out.step("search").is_file() and out.report_html.is_file()


@pytest.fixture
def postgres_study(postgres_url):
    """The PostgreSQL URL, without the reproduction's study before or after."""
    optuna = pytest.importorskip("optuna")
    from sklenet.study._results import STUDY_NAME

    def drop():
        try:
            optuna.delete_study(study_name=STUDY_NAME, storage=postgres_url)
        except KeyError:
            pass

    drop()
    yield postgres_url
    drop()


@pytest.mark.slow  # a tiny reproduction with 3 trials on 2 Dask workers
def test_the_search_on_dask_fills_a_postgresql_study(
        dask_client, postgres_study, tmp_path):
    import optuna

    from sklenet.model_selection._storage import sqlite_url
    from sklenet.study._results import STUDY_NAME

    X, y = load_sample_digits(return_X_y=True)
    out = tmp_path / "run"
    results = sklenet.reproduce(X, y, out=out, dask=dask_client,
                                storage=postgres_study, n_trials=3,
                                progress=False, **TINY)
    study = optuna.load_study(study_name=STUDY_NAME, storage=postgres_study)
    assert [trial.state.name for trial in study.trials] == ["COMPLETE"] * 3
    assert results.search.best_score == study.best_value
    assert results.search.best_params == study.best_params
    # The study is in PostgreSQL; the run folder keeps a copy for its report.
    copy = optuna.load_study(study_name=STUDY_NAME,
                             storage=sqlite_url(RunFolder(out).search_db))
    assert [(trial.params, trial.values) for trial in copy.trials] == [
        (trial.params, trial.values) for trial in study.trials]
    assert (out / "report.html").is_file()
