"""sklenet reproduce: presets whose trainings converge, a report that marks the
trainings that did not, the fourth model, and a search that resumes from any
interruption."""

import contextlib
import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
import time

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState
from sklearn.tree import DecisionTreeClassifier

from sklenet._recipes import MODEL_TITLES, OPTIMIZED_PARAMS
from sklenet.cli import main
from sklenet.datasets import load_sample_digits
from sklenet.model_selection import STUDY_SEARCH_SPACE
from sklenet.model_selection._storage import sqlite_url
from sklenet.study import (
    MODELS,
    PRESETS,
    STUDY_NAME,
    Convergence,
    Evaluation,
    LearningCurve,
    Reproduction,
    RunFolder,
    Search,
    Step,
    StudyResults,
)
from sklenet.study._report import flag_warning
from sklenet.study._results import CLAIMS
from sklenet.study._tables import (
    accuracy_table,
    convergence_table,
    learning_curve_table,
    roc_auc_table,
    search_summary,
    settings_table,
)


# ----------------------------------------------------------------- presets
def test_quick_preset_trains_as_long_as_the_study():
    # A lower cap stopped every quick training before it converged (issue 11);
    # a patience of 5 passes over 3,000 images stopped them while still
    # learning (issue 19): epochs count the study's 25,200 images.
    quick, full = PRESETS["quick"], PRESETS["full"]
    assert quick.max_epochs == full.max_epochs == 100
    assert quick.min_epoch_samples == full.min_epoch_samples == 25_200
    assert quick.epoch_cap("optimized", 3_000) == 840
    assert quick.epoch_cap("best", 3_000) == 100  # its own cosine schedule
    assert quick.n_estimators >= 3  # enough members to beat a single LeNet
    # Learning curves a reader can trust: a spread at 3 sizes or more.
    assert quick.learning_curve_repeats >= 2
    assert len(quick.learning_curve_sizes) >= 3
    assert min(quick.learning_curve_sizes) >= 0.25  # a size a LeNet learns from


def test_settings_refuse_an_unknown_convergence_split():
    with pytest.raises(ValueError, match="convergence_split='train' is not one of"):
        dataclasses.replace(PRESETS["quick"], convergence_split="train")


# ------------------------------------------------------------------ report
class _EpochTree(DecisionTreeClassifier):
    """Stands in for a network that trains ``n_epochs_`` of ``epochs``, its
    losses flat or, with ``learning``, still falling when it stops."""

    def __init__(self, *, epochs=100, n_epochs=20, learning=False,
                 random_state=None):
        super().__init__(max_depth=3, random_state=random_state)
        self.epochs = epochs
        self.n_epochs = n_epochs
        self.learning = learning

    def fit(self, X, y, validation_data=None):
        self.n_epochs_ = min(self.n_epochs, self.epochs)
        self.n_iter_no_change_ = 2
        losses = ([1.0 - 0.1 * epoch for epoch in range(self.n_epochs_)]
                  if self.learning else [1.0] * self.n_epochs_)
        self.max_epochs_ = self.epochs
        self.history_ = {"loss": losses, "val_loss": losses,
                         "val_accuracy": [0.5] * self.n_epochs_}
        return super().fit(X, y)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """A Reproduction of 300 sample images (splits only; nothing trained)."""
    X, y = load_sample_digits(return_X_y=True)
    settings = dataclasses.replace(PRESETS["tiny"], max_samples=300, max_epochs=3)
    return Reproduction(X, y, settings, tmp_path_factory.mktemp("run"), "sample")


def _results(run, n_epochs, learning=False):
    """The records of ``run``'s steps, every training ``n_epochs`` long."""
    import numpy as np

    from sklenet.evaluation import repeated_evaluation, repeated_learning_curve

    tree = _EpochTree(epochs=run.settings.max_epochs, n_epochs=n_epochs,
                      learning=learning)
    settings = run.settings
    steps = {}
    for model in MODELS:
        runs, summary, [first, *_] = repeated_evaluation(
            tree, run.X_train, run.y_train, run.X_test, run.y_test,
            validation_data=(run.X_val, run.y_val), n_repeats=settings.n_repeats,
            random_state=settings.random_state, return_estimator=True)
        evaluation = Evaluation(
            runs=runs, summary=summary, classes=first.classes_.tolist(),
            y_test=run.y_test.tolist(),
            test_proba=first.predict_proba(run.X_test).tolist(),
            histories=[first.history_],
            validation_accuracy=float(runs["validation_accuracy"].iloc[0]))
        curve_runs, curve_summary = repeated_learning_curve(
            tree, np.concatenate([run.X_train, run.X_test]),
            np.concatenate([run.y_train, run.y_test]),
            train_sizes=settings.learning_curve_sizes,
            n_repeats=settings.learning_curve_repeats, test_size=len(run.y_test),
            random_state=settings.random_state)
        for name, record in ((f"{model}_evaluation", evaluation),
                             (f"{model}_learning_curve", LearningCurve(
                                 runs=curve_runs, summary=curve_summary)),
                             (f"{model}_convergence", Convergence(
                                 histories=evaluation.histories,
                                 validation_accuracy=0.5))):
            steps[name] = Step(name, 1.0, record)
    trials = pd.DataFrame({"number": [0], "state": ["COMPLETE"], "value": [0.5],
                           "user_attrs_n_epochs": [n_epochs]})
    steps["search"] = Step("search", 1.0, Search(
        trials=trials, best_params=OPTIMIZED_PARAMS, best_score=0.5))
    return StudyResults(steps)


def test_report_marks_trainings_that_stopped_at_the_epoch_cap(small_run, monkeypatch):
    settings = small_run.settings
    results = _results(small_run, n_epochs=3)  # the cap: epochs=3
    accuracy = accuracy_table(results, settings).set_index("source")
    measured = accuracy.loc["measured (1 training)"]
    assert measured["epochs"].tolist() == ["3"] * len(MODELS)  # integers
    assert measured["stopped at the epoch cap"].tolist() == ["1 of 1 (cap 3)"] * len(
        MODELS)
    curves = learning_curve_table(results, settings)
    assert curves["stopped at the epoch cap"].eq("1 of 1 (cap 3)").all()
    convergence = convergence_table(results, settings, len(small_run.y_train))
    # sklenet best's cosine schedule ends at its cap by design: no cap hit.
    assert convergence["stopped at the epoch cap"].tolist() == [
        "1 of 1 (cap 3)"] * 3 + ["none"]
    warning = flag_warning(results, settings, small_run)
    assert warning.startswith("Warning: some trainings stopped at the epoch cap")
    assert "standard evaluation: 1 of 1" in warning and "search: 1 of 1" in warning
    # Trainings that early stopping ended are not marked.
    results = _results(small_run, n_epochs=2)
    assert flag_warning(results, settings, small_run) is None
    accuracy = accuracy_table(results, settings)
    assert set(accuracy["stopped at the epoch cap"]) == {"none", ""}
    assert learning_curve_table(results, settings)["stopped at the epoch cap"].eq(
        "none").all()


def test_report_marks_trainings_that_stopped_while_still_learning(small_run):
    settings = small_run.settings
    results = _results(small_run, n_epochs=2, learning=True)
    accuracy = accuracy_table(results, settings).set_index("source")
    measured = accuracy.loc["measured (1 training)"]
    assert measured["stopped while still learning"].tolist() == ["1 of 1"] * len(
        MODELS)
    assert measured["stopped at the epoch cap"].eq("none").all()
    curves = learning_curve_table(results, settings)
    assert curves["stopped while still learning"].eq("1 of 1").all()
    warning = flag_warning(results, settings, small_run)
    assert warning.startswith("Warning: some trainings stopped while still learning")
    assert "standard evaluation: 1 of 1" in warning
    assert "epoch cap" not in warning
    # Flat losses: converged, not flagged.
    results = _results(small_run, n_epochs=2)
    accuracy = accuracy_table(results, settings)
    assert set(accuracy["stopped while still learning"]) == {"none", ""}
    assert flag_warning(results, settings, small_run) is None


def test_report_shows_the_fourth_model_without_published_numbers(
    small_run, monkeypatch
):
    settings = small_run.settings
    results = _results(small_run, n_epochs=2)
    best = MODEL_TITLES["best"]
    assert best == "sklenet best (beyond the study)"
    accuracy = accuracy_table(results, settings)
    # One measured row per model, a study row for the study's three only.
    assert accuracy["model"].tolist() == [
        "standard LeNet", "", "optimized LeNet", "", "ensemble of 1", "", best]
    assert accuracy["source"].tolist()[-1] == "measured (1 training)"
    roc = roc_auc_table(results, settings)
    assert f"{best}, measured" in roc and not any(
        column.startswith(best) and column.endswith("study") for column in roc)
    assert best in set(learning_curve_table(results, settings)["model"])
    assert best in set(convergence_table(results, settings,
                                         len(small_run.y_train))["model"])
    # The accuracies are the summaries that repeated_evaluation returned.
    mean, std = results.evaluation("best").summary.loc["test_accuracy"]
    assert accuracy["test accuracy"].tolist()[-1] == f"{mean:.4f}"  # 1 training
    assert mean > 0.25  # a depth-3 tree on 180 digits; chance is 0.1


def test_a_cell_of_one_training_shows_no_spread(small_run, tmp_path, monkeypatch):
    # One training: the mean alone; its std of 0 is no measured spread.
    results = _results(small_run, n_epochs=2)
    settings = small_run.settings
    accuracy = accuracy_table(results, settings)
    measured = accuracy[accuracy["source"] == "measured (1 training)"]
    assert len(measured) == len(MODELS)
    assert not measured["test accuracy"].str.contains("±").any()
    assert not learning_curve_table(results, settings)[
        ["train accuracy", "test accuracy"]].stack().str.contains("±").any()
    # Two trainings: mean ± std, as the summaries give them.
    X, y = load_sample_digits(return_X_y=True)
    twice = Reproduction(X, y, dataclasses.replace(
        settings, n_repeats=2, learning_curve_repeats=2), tmp_path, "sample")
    results = _results(twice, n_epochs=2)
    accuracy = accuracy_table(results, twice.settings)
    mean, std = results.evaluation("standard").summary.loc["test_accuracy"]
    assert accuracy["source"].iloc[0] == "measured (2 trainings)"
    assert accuracy["test accuracy"].iloc[0] == f"{mean:.4f} ± {std:.4f}"
    curves = learning_curve_table(results, twice.settings)
    summary = results.learning_curve("standard").summary.iloc[0]
    assert curves["test accuracy"].iloc[0] == (
        f"{summary['test_accuracy_mean']:.4f} ± {summary['test_accuracy_std']:.4f}")


def test_report_states_every_presets_settings(small_run):
    table = settings_table(small_run, "tiny").set_index("setting")
    assert list(table) == ["this run (preset tiny)", "preset full", "preset quick",
                           "preset tiny", "study"]
    assert table.loc["max epochs"].tolist() == ["3", "100", "100", "1", "100"]
    assert table.loc["ensemble members", "preset quick"] == str(
        PRESETS["quick"].n_estimators)
    assert table.loc["convergence curves", "preset quick"].startswith(
        "the first evaluation training")
    assert table.loc["images used", "this run (preset tiny)"] == "at most 300"


@pytest.mark.slow
def test_a_tiny_run_warns_of_the_cap_and_resolves_no_claim(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["reproduce", "--preset", "tiny", "--n-jobs", "1", "--max-samples",
                 "300", "--n-trials", "1", "--out", str(out)]) == 0
    # stdout: the accuracy table, then the claims, none resolved by 1 training.
    stdout = capsys.readouterr().out
    assert stdout.index("| model") < stdout.index("| claim")
    assert stdout.count("| not resolved |") == len(CLAIMS)
    markdown = (out / "report.md").read_text()
    assert "> Warning: some trainings stopped at the epoch cap (epochs=1)" in markdown
    assert "| sklenet best (beyond the study) | measured (1 training)" in markdown
    assert "1 of 1 (cap 1)" in markdown
    page = (out / "report.html").read_text()
    assert '<p class="warning">Warning: some trainings stopped' in page
    assert (out / "models" / "best.sklenet").is_file()

    # The study's claims: one training per model resolves none of them, and
    # the report says why, in the HTML, the Markdown and the raw results.
    claims = markdown[markdown.index("## The study's claims"):]
    assert claims.index("Welch's t") < claims.index("## Per-class ROC AUC")
    assert claims.count("| not resolved |") == len(CLAIMS)
    assert "ensemble of 1 above optimized LeNet" in claims
    assert "unknown: 2 or more measure the spread first" in claims
    assert "the order of these means alone does not say" in markdown
    assert "<h2>The study&#39;s claims</h2>" in page
    assert page.count("<td>not resolved</td>") == len(CLAIMS)
    raw = pd.read_csv(out / "results" / "claims.csv")
    assert list(zip(raw["model"], raw["baseline"])) == list(CLAIMS)
    assert raw["verdict"].eq("not resolved").all()
    assert raw["n_scores"].eq(1).all() and raw["ci_low"].isna().all()
    records = json.loads((out / "results" / "claims.json").read_text())
    assert records[0]["ci_low"] is None and records[0]["n_needed"] is None
    tables = json.loads((out / "results" / "tables.json").read_text())
    assert [row["verdict"] for row in tables["claims"]] == ["not resolved"] * 5
    # The Markdown shows the cells as the table writes them ("+0.0000", not 0).
    lines = claims[:claims.index("## Per-class")].splitlines()
    cells = [[cell.strip() for cell in line.strip().strip("|").split("|")]
             for line in lines if line.startswith("| ")]
    assert cells == [list(tables["claims"][0]),
                     *(list(row.values()) for row in tables["claims"])]


# ------------------------------------------------------------------ search
def test_the_search_starts_from_the_studys_best_hyperparameters(small_run):
    trials = small_run._search().trials
    first = trials.iloc[0]
    # Optuna stores log-scale floats through their logarithm: 1e-16 apart.
    assert [first[f"params_{name}"] for name in OPTIMIZED_PARAMS] == [
        pytest.approx(value) if isinstance(value, float) else value
        for value in OPTIMIZED_PARAMS.values()]


def test_failed_and_interrupted_trials_are_not_done(tmp_path):
    X, y = load_sample_digits(return_X_y=True)
    settings = dataclasses.replace(PRESETS["tiny"], n_trials=2, max_samples=300)
    reproduction = Reproduction(X, y, settings, tmp_path, "sample")
    # What killed runs leave: trials their heartbeat failed, one still running.
    study = optuna.create_study(storage=sqlite_url(tmp_path / "search.db"),
                                study_name=STUDY_NAME, direction="maximize")
    for _ in range(2):
        study.tell(study.ask(), state=TrialState.FAIL)
    study.ask()
    result = reproduction._search()
    trials = result.trials
    assert trials["state"].tolist() == ["FAIL"] * 3 + ["COMPLETE"] * 2
    assert trials["user_attrs_interrupted"].eq(True).tolist() == [
        False, False, True, False, False]
    assert set(result.best_params) == set(STUDY_SEARCH_SPACE)
    summary = search_summary(result)
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
    trials = Step.read(RunFolder(out), "search", Search).result.trials
    assert trials["number"].tolist() == [0, 1, 2, 3]
    assert trials["state"].tolist() == ["FAIL", "FAIL", "COMPLETE", "COMPLETE"]
    assert trials["user_attrs_interrupted"].eq(True).tolist() == [
        True, True, False, False]
    markdown = (out / "report.md").read_text()
    assert "2 interrupted" in markdown and "running" not in markdown
