"""The sklenet command line: reproduce (tiny preset), train, evaluate, predict,
tune, --help, and user errors reported in one line without a traceback."""

import dataclasses
import json
import os
import re
import subprocess
import sys

import pandas as pd
import pytest

from sklenet import LeNetClassifier, load
from sklenet._reproduce import (
    _STUDY_NAME,
    PRESETS,
    Reproduction,
    frame_from_json,
)
from sklenet._search import LeNetSearchCV
from sklenet._search_space import STUDY_SEARCH_SPACE
from sklenet.cli import main
from sklenet.datasets import load_sample_digits

TINY = ["reproduce", "--preset", "tiny", "--n-jobs", "1"]
STEPS = ["standard_evaluation", "search", "optimized_evaluation",
         "ensemble_evaluation", "standard_learning_curve",
         "optimized_learning_curve", "ensemble_learning_curve",
         "standard_convergence", "optimized_convergence", "ensemble_convergence"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One run of `sklenet reproduce --preset tiny` (about a minute)."""
    out = tmp_path_factory.mktemp("reproduce") / "report"
    assert main([*TINY, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def kaggle_files(tmp_path_factory):
    """A 300-image train.csv and a 20-image test.csv in Kaggle's format."""
    folder = tmp_path_factory.mktemp("kaggle")
    digits = load_sample_digits(as_frame=True)
    frame = digits.frame.sample(300, random_state=0)
    frame.to_csv(folder / "train.csv", index=False)
    frame.drop(columns="label").head(20).to_csv(folder / "test.csv", index=False)
    return folder / "train.csv", folder / "test.csv"


def _one_error_line(capsys, expected):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") == 1, err
    assert re.search(expected, err), err
    return err


# --------------------------------------------------------------- reproduce
def test_reproduce_writes_a_self_contained_report(tiny_run):
    page = (tiny_run / "report.html").read_text()
    sources = re.findall(r'src="([^"]+)"', page)
    assert len(sources) >= 14
    assert all(src.startswith("data:image/png;base64,") for src in sources)
    assert "<link" not in page and "<script" not in page
    for published in ("0.965 ± 0.005", "0.985 ± 0.001", "0.99924 (digit 9)"):
        assert published in page
    assert "preset tiny" in page and "tensorflow" in page
    markdown = (tiny_run / "report.md").read_text()
    figures = re.findall(r"!\[[^]]*\]\((figures/[^)]+)\)", markdown)
    assert len(figures) >= 14
    assert all((tiny_run / figure).is_file() for figure in figures)
    assert "| standard LeNet" in markdown


def test_reproduce_writes_raw_results_and_models(tiny_run):
    results = tiny_run / "results"
    runs = pd.read_csv(results / "ensemble_evaluation_runs.csv", index_col="repeat")
    assert len(runs) == 1 and {"test_accuracy", "test_roc_auc_9"} <= set(runs)
    predictions = pd.read_csv(results / "standard_test_predictions.csv")
    assert len(predictions) == 100  # 20 % of the tiny preset's 500 images
    curve = pd.read_csv(results / "optimized_learning_curve.csv")
    assert sorted(curve["train_size"]) == [150, 300]
    best = json.loads((results / "search_best_params.json").read_text())
    assert set(best) == set(STUDY_SEARCH_SPACE)
    assert len(pd.read_csv(results / "search_trials.csv")) == 1
    histories = json.loads((results / "ensemble_convergence.json").read_text())
    assert len(histories["histories"]) == 1
    model = load(tiny_run / "models" / "optimized.sklenet")
    X, _ = load_sample_digits(return_X_y=True)
    assert model.predict(X[:3]).shape == (3,)
    assert sorted(p.stem for p in (tiny_run / "cache").glob("*.json")) == sorted(
        [*STEPS, "run"])


def test_reproduce_resumes_after_an_interruption(tiny_run, monkeypatch, capsys):
    (tiny_run / "cache" / "standard_convergence.json").unlink()

    def interrupt(self, model):
        raise KeyboardInterrupt

    monkeypatch.setattr(Reproduction, "_convergence", interrupt)
    assert main([*TINY, "--out", str(tiny_run)]) == 130
    _one_error_line(capsys, "interrupted. Run the same command again")
    assert not list((tiny_run / "cache").glob("standard_convergence*"))

    def fail(*args):
        raise AssertionError("a cached step ran again")

    monkeypatch.undo()
    for step in ("_evaluation", "_search", "_learning_curve"):
        monkeypatch.setattr(Reproduction, step, fail)
    assert main([*TINY, "--out", str(tiny_run)]) == 0
    out = capsys.readouterr().out
    assert out.count(": cached (") == 9
    assert "[8/10] standard convergence, deployment split: done in" in out
    assert (tiny_run / "cache" / "standard_convergence.json").is_file()


def test_search_step_continues_an_interrupted_study(tmp_path):
    X, y = load_sample_digits(return_X_y=True)
    settings = dataclasses.replace(PRESETS["tiny"], n_trials=2)
    reproduction = Reproduction(X, y, settings, tmp_path, "sample")
    # The first trial finished before the interruption.
    LeNetSearchCV(LeNetClassifier(epochs=1), n_trials=1, refit=False,
                  storage=f"sqlite:///{tmp_path / 'search.db'}",
                  study_name=_STUDY_NAME).fit(
        reproduction.X_train, reproduction.y_train,
        validation_data=(reproduction.X_val, reproduction.y_val))
    trials = frame_from_json(reproduction._search()["trials"])
    assert trials["number"].tolist() == [0, 1]


def test_reproduce_refuses_a_folder_of_other_settings(tiny_run, capsys):
    before = (tiny_run / "cache" / "run.json").read_text()
    assert main([*TINY, "--out", str(tiny_run), "--n-repeats", "2"]) == 1
    _one_error_line(capsys, r"another run \(n_repeats: 1 there, 2 now\)")
    assert (tiny_run / "cache" / "run.json").read_text() == before


# ------------------------------------------------- train, evaluate, predict
@pytest.fixture(scope="module")
def lenet_file(kaggle_files, tmp_path_factory):
    """A LeNet trained for one epoch by `sklenet train` on the 300-image CSV."""
    model = tmp_path_factory.mktemp("train") / "lenet.sklenet"
    assert main(["train", "--data", str(kaggle_files[0]), "--model", str(model),
                 "--epochs", "1"]) == 0
    return model


def test_train_evaluate_predict(lenet_file, kaggle_files, tmp_path, capsys):
    train_csv, test_csv = kaggle_files
    assert load(lenet_file).n_epochs_ == 1
    metrics = tmp_path / "metrics.json"
    assert main(["evaluate", "--model", str(lenet_file), "--data", str(train_csv),
                 "--out", str(metrics)]) == 0
    scores = json.loads(metrics.read_text())
    assert scores["n_samples"] == 300 and 0 <= scores["accuracy"] <= 1
    assert "roc_auc_9" in scores and "ROC AUC" in capsys.readouterr().out
    submission = tmp_path / "submission.csv"
    assert main(["predict", "--model", str(lenet_file), "--data", str(test_csv),
                 "--out", str(submission)]) == 0
    frame = pd.read_csv(submission)
    assert list(frame.columns) == ["ImageId", "Label"]
    assert frame["ImageId"].tolist() == list(range(1, 21))
    assert frame["Label"].between(0, 9).all()


def test_evaluate_needs_labels(lenet_file, kaggle_files, capsys):
    assert main(["evaluate", "--model", str(lenet_file), "--data",
                 str(kaggle_files[1])]) == 1
    _one_error_line(capsys, "has no label column")


def test_train_an_ensemble_with_tuned_params(tmp_path, capsys):
    best = tmp_path / "best.json"
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    tune = ["tune", "--storage", storage, "--study-name", "lenet", "--n-trials",
            "1", "--epochs", "1", "--max-samples", "300", "--random-state", "0"]
    assert main([*tune, "--best-params-out", str(best)]) == 0
    assert set(json.loads(best.read_text())) == set(STUDY_SEARCH_SPACE)
    assert main(tune) == 0  # a second worker continues the same study
    assert "'lenet': 2 trials" in capsys.readouterr().out
    model = tmp_path / "ensemble.sklenet"
    assert main(["train", "--model-type", "ensemble", "--n-estimators", "2",
                 "--params", str(best), "--epochs", "1", "--max-samples", "300",
                 "--model", str(model)]) == 0
    assert len(load(model).estimators_) == 2


# -------------------------------------------------------------- user errors
@pytest.fixture
def bad_csv(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("label,colour\n1,red\n")
    return path


@pytest.mark.parametrize("argv, expected", [
    (["reproduce", "--data", "missing.csv"], r"--data missing.csv: .*does not exist"),
    (["reproduce", "--data", "{bad_csv}"], r"lacks 784 of the 784 pixel columns"),
    (["reproduce", "--out", "{bad_csv}"], r"--out .*bad.csv is a file"),
    (["train", "--model", "{tmp}/m.sklenet", "--params", "{params}"],
     r"unknown hyperparameters \['filters'\]"),
    (["train", "--model", "{tmp}/no/m.sklenet"], r"the folder of .* does not exist"),
    (["evaluate", "--model", "{tmp}/missing.sklenet"], r"--model .*missing.sklenet"),
    (["evaluate", "--model", "{bad_csv}"], r"--model .*bad.csv"),
    (["predict", "--model", "{tmp}/m.sklenet", "--data", "{bad_csv}",
      "--out", "{tmp}/no/submission.csv"], r"the folder of .* does not exist"),
    (["tune", "--storage", "nosuchdialect://x", "--max-samples", "300"],
     r"Cannot open the Optuna storage"),
])
def test_user_errors_are_one_line_without_output(argv, expected, tmp_path, bad_csv,
                                                 capsys):
    params = tmp_path / "params.json"
    params.write_text('{"filters": 3}')
    argv = [arg.format(tmp=tmp_path, bad_csv=bad_csv, params=params) for arg in argv]
    before = sorted(os.listdir(tmp_path))
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert main(argv) == 1
    finally:
        os.chdir(cwd)
    err = _one_error_line(capsys, expected)
    assert err.startswith(f"sklenet {argv[0]}: error: ")
    assert sorted(os.listdir(tmp_path)) == before  # nothing half-written


@pytest.mark.parametrize("argv, expected", [
    (["reproduce", "--preset", "huge"], r"invalid choice: 'huge'"),
    (["reproduce", "--n-repeats", "0"], r"'0' is not a positive integer"),
    (["reproduce", "--learning-curve-sizes", "0.5,2"], r"not a comma-separated"),
    (["predict", "--model", "m.sklenet"], r"the following arguments are required"),
])
def test_usage_errors_exit_2_in_one_line(argv, expected, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    _one_error_line(capsys, expected)


@pytest.mark.parametrize("command", ["reproduce", "train", "evaluate", "predict",
                                     "tune"])
def test_help_of_every_command(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: sklenet {command}" in capsys.readouterr().out


def test_no_command_prints_the_commands(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert all(name in err for name in ("reproduce", "train", "predict", "tune"))


def test_python_dash_m_sklenet_reports_errors_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sklenet", "predict", "--model", "missing.sklenet",
         "--data", "test.csv"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(
        "sklenet predict: error: --model missing.sklenet")
    assert os.listdir(tmp_path) == []
