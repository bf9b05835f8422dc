"""The study's steps, one class per kind (sklenet.study._steps), and the
scheduler that the run and its estimate share (sklenet.study._scheduler):
trainings, keys, seeds, dependencies, titles, costs and records from fake
outcomes. Nothing here trains a network."""

import dataclasses
import json
import math

import numpy as np
import pytest

from sklenet._base import spawn_seeds
from sklenet.study import PRESETS, Settings
from sklenet.study._estimate import Calibration, estimate
from sklenet.study._plan import StudyData
from sklenet.study._results import (
    Convergence,
    Evaluation,
    LearningCurve,
    RunFolder,
    Search,
    Step,
)
from sklenet.study._scheduler import Scheduler, replay
from sklenet.study._steps import (
    ConvergenceStep,
    EvaluationStep,
    LearningCurveStep,
    SearchStep,
    Training,
    plan,
    study_steps,
)

SETTINGS = Settings(n_repeats=2, n_trials=4, n_estimators=3, learning_curve_repeats=2,
                    learning_curve_sizes=(0.5, 1.0), max_epochs=1, random_state=7,
                    min_epoch_samples=None)
KINDS = ("standard", "optimized", "best")


def _data(settings=SETTINGS, n=100):
    """Study data of ``n`` blank images per split (train, validation, test,
    deployment and its validation)."""
    X, y = np.zeros((n, 28, 28), dtype=np.uint8), np.arange(n) % 10
    return StudyData(settings, X, X, X, y, y, y, X, X, y, y,
                     search_storage="sqlite://")


def _calibration(overhead=1.0, epochs=40):
    """1 s per network whatever its images (the hours count networks)."""
    return Calibration(dict.fromkeys(KINDS, overhead),
                       *[dict.fromkeys(KINDS, 0.0)] * 3,
                       dict.fromkeys(KINDS, epochs), dict.fromkeys(KINDS, 0))


def _row(accuracy, seed):
    return {"train_accuracy": accuracy, "test_accuracy": accuracy,
            "validation_accuracy": accuracy, "fit_time": 1.0, "n_epochs": 1,
            "epoch_cap_hits": 1, "still_learning": False, "random_state": seed}


# ------------------------------------------------------------------ steps
def test_the_steps_are_the_studys_in_order_and_make_settings_plan():
    steps = study_steps(SETTINGS)
    assert [step.name for step in steps] == [
        "standard_evaluation", "search", "optimized_evaluation",
        "ensemble_evaluation", "best_evaluation",
        *(f"{model}_learning_curve" for model in
          ("standard", "optimized", "ensemble", "best")),
        *(f"{model}_convergence" for model in
          ("standard", "optimized", "ensemble", "best"))]
    assert SETTINGS.plan() == {step.name: step.n_networks() for step in steps}
    # What the settings count is what the plan of any data trains.
    for settings in (SETTINGS, *PRESETS.values()):
        planned = plan(_data(settings))
        assert settings.plan() == {name: sum(t.networks for t in trainings)
                                   for name, trainings in planned.items()}


def test_evaluation_step_trainings_keys_seeds_and_dependencies():
    data = _data()
    standard, ensemble = (EvaluationStep(SETTINGS, model)
                          for model in ("standard", "ensemble"))
    trainings = standard.trainings(data)
    assert [t.key for t in trainings] == ["repeat-0", "repeat-1"]
    assert [t.networks for t in trainings] == [1, 1]
    assert standard.after == () and standard.needs == ()
    assert not any(t.needs_search or t.member_trainings for t in trainings)
    # The seeds of repeated_evaluation: the SeedSequence children of the run's.
    seeds = [standard.inputs(t, data).seed for t in trainings]
    assert seeds == list(spawn_seeds(SETTINGS.random_state, 2))
    assert [standard.inputs(t, data).estimator.random_state
            for t in trainings] == seeds
    # The ensemble: its members each a task, keyed apart; it waits for the search.
    [first, _] = ensemble.trainings(data)
    assert first.networks == 3 and first.needs_search and ensemble.after == ("search",)
    assert [m.key for m in first.member_trainings] == [
        "repeat-0-member-0", "repeat-0-member-1", "repeat-0-member-2"]
    assert all(m.networks == 1 and not m.member_trainings and m.step == ensemble.name
               for m in first.member_trainings)
    assert standard.title() == "standard LeNet, 2 trainings"
    assert ensemble.title() == "ensemble of 3, 2 trainings"
    # The report's name of each model (model_title), the same in the plan.
    assert (EvaluationStep(SETTINGS, "best").title()
            == "sklenet best (beyond the study), 2 trainings")
    assert ensemble.n_networks() == 6
    # Trained on the training images, validated on the validation's, then
    # every split scored: 100 + 100 + 100 images predicted.
    calibration = Calibration(*[dict.fromkeys(KINDS, 0.0)] * 3,
                              dict.fromkeys(KINDS, 1.0), dict.fromkeys(KINDS, 1),
                              dict.fromkeys(KINDS, 0))
    assert standard.network_seconds(trainings[0], data, calibration) == 300


def test_evaluation_step_assembles_its_record_from_fake_outcomes():
    step = EvaluationStep(SETTINGS, "standard")
    data = _data()
    trainings = step.trainings(data)
    first = {"classes": list(range(10)), "test_proba": [[0.1] * 10] * 100,
             "histories": [{"loss": [1.0]}], "validation_accuracy": 0.5}
    outcomes = {trainings[0]: {"seconds": 1, "result": {"row": _row(0.5, 1),
                                                        **first}},
                trainings[1]: {"seconds": 2, "result": {"row": _row(0.7, 2)}}}
    record = step.assemble(trainings, outcomes, data, {})
    assert isinstance(record, Evaluation)
    assert record.runs["test_accuracy"].tolist() == [0.5, 0.7]
    assert record.summary.loc["test_accuracy", "mean"] == pytest.approx(0.6)
    assert record.y_test == data.y_test.tolist()
    assert record.histories == first["histories"]
    assert record.validation_accuracy == 0.5


def test_search_step_is_one_training_of_its_trials():
    step = SearchStep(SETTINGS)
    data = _data()
    [training] = step.trainings(data)
    assert (step.name, training.key, training.networks) == ("search", "search", 4)
    assert training.member_trainings == () and not training.needs_search
    assert step.title() == "Optuna search, 4 trials"
    # Locally one task runs the trials one after another; on Dask each is one.
    assert step.pieces(8.0, training, spread_search=False) == [8.0]
    assert step.pieces(8.0, training, spread_search=True) == [2.0] * 4
    # A trial scores its validation only.
    assert step.network_seconds(training, data, _calibration()) == 1.0
    search = Search(best_params={"conv1_filters": 6}, best_score=0.9,
                    trials=Search.from_json(_search_json()).trials)
    record = step.assemble([training], {training: {"seconds": 3, "result":
                                                   search.to_json()}}, data, {})
    assert record.best_params == {"conv1_filters": 6} and record.best_score == 0.9


def _search_json():
    import pandas as pd

    from sklenet.study._results import frame_to_json

    trials = pd.DataFrame({"number": [0], "state": ["COMPLETE"], "value": [0.9]})
    return {"best_params": {}, "best_score": 0.9, "trials": frame_to_json(trials)}



def test_a_records_frame_reads_back_the_numbers_it_wrote():
    """The report is drawn from the cached records: their numbers must read
    back as written. pandas' default JSON float parser read 0.94 as
    0.9400000000000001, and the claims' differences moved by an ULP."""
    import pandas as pd

    from sklenet.study._results import frame_from_json, frame_to_json

    frame = pd.DataFrame(
        {"test_accuracy": [0.94, 0.945, 0.943, 0.951], "n_epochs": [3, 4, 5, 6]},
        index=pd.Index([0, 1, 2, 3], name="repeat"))
    back = frame_from_json(json.loads(json.dumps(frame_to_json(frame))))
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    assert back["test_accuracy"].tolist() == [0.94, 0.945, 0.943, 0.951]

def test_learning_curve_step_trainings_sizes_and_record():
    data = _data()
    step = LearningCurveStep(SETTINGS, "optimized")
    trainings = step.trainings(data)
    # Sizes of the curve's data (training and test parts, 200 images) less
    # the test's 100: half of 100, and all of it.
    assert [t.key for t in trainings] == ["repeat-0-size-50", "repeat-0-size-100",
                                          "repeat-1-size-50", "repeat-1-size-100"]
    assert all(t.needs_search for t in trainings)
    assert step.title() == "optimized learning curve, 2 sizes x 2 trainings"
    assert step.sizes(trainings[0], data) == (50, 100, 150)
    seeds = {t.repeat: step.inputs(t, data).seed for t in trainings}
    assert sorted(seeds) == [0, 1] and seeds[0] != seeds[1]
    outcomes = {t: {"seconds": 1, "result": {"row": _row(t.train_size / 100,
                                                         t.repeat)}}
                for t in trainings}
    record = step.assemble(trainings, outcomes, data, {})
    assert isinstance(record, LearningCurve)
    assert record.runs["train_size"].tolist() == [50, 100, 50, 100]
    assert record.summary["test_accuracy_mean"].tolist() == [0.5, 1.0]
    # A curve that the settings leave out: no trainings, an empty record.
    skipped = dataclasses.replace(SETTINGS, learning_curve_models=("standard",))
    step = LearningCurveStep(skipped, "optimized")
    assert step.trainings(data) == [] and step.n_networks() == 0
    assert step.title() == "optimized learning curve: not drawn by this preset"
    assert step.assemble([], {}, data, {}).runs.empty


def test_convergence_step_trains_on_the_deployment_split_or_needs_the_evaluation():
    data = _data()
    step = ConvergenceStep(SETTINGS, "ensemble")
    [training] = step.trainings(data)
    assert (training.key, training.networks, step.needs) == ("convergence", 3, ())
    assert len(training.member_trainings) == 3
    assert step.title() == "ensemble convergence, deployment split"
    assert step.sizes(training, data) == (100, 100, 100)
    assert step.inputs(training, data).X is data.X_deploy
    converged = Convergence(histories=[{"loss": [2.0, 1.0]}], validation_accuracy=0.8)
    record = step.assemble([training], {training: {"seconds": 1, "result":
                                                   converged.to_json()}}, data, {})
    assert record == converged
    # On the evaluation split it trains nothing and shows the first
    # evaluation training, which it needs.
    shown = dataclasses.replace(SETTINGS, convergence_split="evaluation")
    step = ConvergenceStep(shown, "ensemble")
    assert step.trainings(data) == [] and step.n_networks() == 0
    assert step.needs == ("ensemble_evaluation",)
    evaluation = Evaluation(runs=None, summary=None, classes=[], y_test=[],
                            test_proba=[], histories=[{"loss": [1.0]}],
                            validation_accuracy=0.6)
    record = step.assemble([], {}, data, {"ensemble_evaluation": evaluation})
    assert record == Convergence(histories=[{"loss": [1.0]}], validation_accuracy=0.6)


def test_each_step_reads_its_cached_record_as_its_own_type(tmp_path):
    steps = {step.name: step for step in study_steps(SETTINGS)}
    assert {type(step).__name__: step.record for step in steps.values()} == {
        "EvaluationStep": Evaluation, "SearchStep": Search,
        "LearningCurveStep": LearningCurve, "ConvergenceStep": Convergence}
    folder = RunFolder(tmp_path)
    folder.cache.mkdir()
    converged = Convergence(histories=[{"loss": [1.0]}], validation_accuracy=0.5)
    search = Search.from_json(_search_json())
    for name, record in (("best_convergence", converged), ("search", search),
                         ("best_evaluation", converged)):
        folder.step(name).write_text(json.dumps(Step(name, 2.0, record).to_json()))
    assert steps["best_convergence"].read(folder) == Step("best_convergence", 2.0,
                                                          converged)
    read = steps["search"].read(folder)
    assert isinstance(read.result, Search) and read.result.best_score == (
        search.best_score)
    # Another kind's record under its name is not its record: it runs again.
    assert steps["best_evaluation"].read(folder) is None
    assert steps["standard_evaluation"].read(folder) is None  # not cached


def test_trainings_are_keyed_once_and_hash_by_their_step():
    planned = plan(_data(PRESETS["full"], n=1000))
    keys = [(t.step, t.key) for trainings in planned.values() for t in trainings]
    assert len(keys) == len(set(keys))
    training = planned["standard_evaluation"][0]
    again = Training(EvaluationStep(PRESETS["full"], "standard"))
    assert training == again and hash(training) == hash(again)
    assert training != Training(EvaluationStep(PRESETS["quick"], "standard"))


# -------------------------------------------------------------- scheduler
@dataclasses.dataclass(frozen=True)
class Job:
    """A training as the scheduler sees it: what it waits for, and seconds."""

    name: str
    seconds: float = 1.0
    after: tuple = ()
    member_trainings: tuple = ()

    @property
    def of(self):  # its step: the steps whose trainings it waits for
        return self


def _replay(jobs, n_workers):
    searches = [job for job in jobs if job.name.startswith("search")]
    todo = [task for job in jobs for task in (*job.member_trainings, job)]
    return replay(Scheduler({"search": searches}, todo),
                  lambda job: [job.seconds], n_workers)


def test_the_scheduler_releases_members_then_their_ensemble_after_the_search():
    planned = plan(_data())
    todo = [task for trainings in planned.values() for training in trainings
            for task in (*training.member_trainings, training)]
    scheduler = Scheduler(planned, todo)
    first = scheduler.release()
    assert first == [t for t in todo if not t.needs_search]
    assert scheduler.release() == []  # once
    [search] = planned["search"]
    for training in first:
        if training != search:
            assert scheduler.finished(training) == []
    searched = scheduler.finished(search)
    # Everything that waited for the search, in plan order, but the
    # ensembles, which wait for their members too.
    assert searched == [t for t in todo if t.needs_search and not t.member_trainings]
    [ensemble, _] = planned["ensemble_evaluation"]
    *members, last = ensemble.member_trainings
    assert [scheduler.finished(member) for member in members] == [[], []]
    assert scheduler.finished(last) == [ensemble]


def test_a_training_waits_only_for_what_is_left_to_run():
    planned = plan(_data())
    [ensemble, _] = planned["ensemble_evaluation"]
    # The search is done and two members are stored: the third is all it
    # waits for.
    todo = [ensemble.member_trainings[2], ensemble]
    scheduler = Scheduler(planned, todo)
    assert scheduler.release() == [ensemble.member_trainings[2]]
    assert scheduler.finished(ensemble.member_trainings[2]) == [ensemble]


def test_the_replay_runs_first_come_first_served_with_the_search_first():
    # 2 workers: the last long task leaves one idle (a bound would say 2.5).
    assert _replay([Job("a"), Job("b"), Job("c", 3)], 2) == 4
    # The searched wait for the search, and run on whichever workers are free.
    jobs = [Job("a"), Job("search", 4), Job("b"), Job("c"),
            Job("d", 2, ("search",)), Job("e", 2, ("search",))]
    assert _replay(jobs, 2) == 6  # 0-4 search; 0-1-2-3 the rest; then 4-6
    assert _replay(jobs, 1) == 11
    assert _replay(jobs, 10) == 6
    assert _replay([Job("d", 2, ("search",))], 3) == 2  # no search planned
    # A worker idle since 1 starts nothing that waits for the search before 4.
    assert _replay([Job("search", 4), Job("a"),
                    *[Job(f"s{i}", 2, ("search",)) for i in range(4)]], 3) == 8
    # An ensemble's members run side by side; it is assembled once all end.
    members = tuple(Job(f"m{i}", 2) for i in range(3))
    assert _replay([Job("ensemble", 0, (), members)], 3) == 2
    assert _replay([Job("ensemble", 0, (), members)], 2) == 4


def test_the_estimate_replays_the_runs_scheduler():
    data = _data(PRESETS["full"])
    planned = plan(data)
    one = estimate(planned, data, _calibration(), 1)
    assert one.table.iloc[-1]["networks"] == 1643
    assert one.hours == pytest.approx(1643 / 3600)
    assert str(one).endswith("estimated time: 27 min on 1 worker")
    # On many workers the 200 trials of the one search task bound it, then
    # what waits for them: one task per network, in rounds of 1,000.
    searched = sum(t.networks for trainings in planned.values() for t in trainings
                   if t.needs_search)
    assert searched > 1000
    many = estimate(planned, data, _calibration(), 1000)
    assert many.hours == pytest.approx((200 + math.ceil(searched / 1000)) / 3600)
    # On Dask the trials spread too: 200 trials on 1,000 workers take one.
    spread = estimate(planned, data, _calibration(), 1000, spread_search=True)
    assert spread.hours == pytest.approx((1 + math.ceil(searched / 1000)) / 3600)
    assert estimate(planned, data, _calibration(), 1,
                    spread_search=True).hours == pytest.approx(one.hours)
    # Epochs of at least 25,200 images cost as much as 25,200 images do.
    calibration = Calibration(dict.fromkeys(KINDS, 0.0), dict.fromkeys(KINDS, 1e-3),
                              *[dict.fromkeys(KINDS, 0.0)] * 2,
                              dict.fromkeys(KINDS, 10), dict.fromkeys(KINDS, 25_200))
    assert calibration.network_seconds("ensemble", 100) == pytest.approx(252)
    assert calibration.network_seconds("best", 30_000) == pytest.approx(300)
