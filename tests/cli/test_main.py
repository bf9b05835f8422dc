"""The sklenet command line: reproduce (tiny preset), train, evaluate, predict,
tune, export, --help and --version without TensorFlow, no TensorFlow logs on
stderr, user errors reported in one line without a traceback, Ctrl-C."""

import dataclasses
import importlib
import importlib.metadata
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

import sklenet
from sklenet import LeNetClassifier, load, save
from sklenet._search import LeNetSearchCV
from sklenet._search_space import STUDY_SEARCH_SPACE
from sklenet.cli import main
from sklenet.cli.export import FORMATS as EXPORT_FORMATS
from sklenet.datasets import load_sample_digits
from sklenet.study import PRESETS, STUDY_NAME, Reproduction

TINY = ["reproduce", "--preset", "tiny", "--n-jobs", "1"]


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
@pytest.mark.slow  # the tiny reproduction they share takes ~30 s
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


@pytest.mark.slow  # the tiny reproduction they share takes ~30 s
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
        [*_step_names(tiny_run), "run"])


def _step_names(out):
    X, y = load_sample_digits(return_X_y=True)
    return [name for name, _ in
            Reproduction(X, y, PRESETS["tiny"], out, "sample").steps()]


@pytest.fixture
def submitted(monkeypatch):
    """The keys of the trainings that runs submit to their local workers
    (calibrations left out)."""
    from sklenet.study._executors import LocalExecutor

    keys, submit = [], LocalExecutor.submit

    def recording(self, function, *args, key):
        if not key.startswith("calibration-"):
            keys.append(key)
        return submit(self, function, *args, key=key)

    monkeypatch.setattr(LocalExecutor, "submit", recording)
    return keys


@pytest.mark.slow  # the tiny reproduction they share takes ~30 s
def test_reproduce_resumes_after_an_interruption(tiny_run, monkeypatch, capsys,
                                                 submitted):
    from sklenet.study._executors import LocalExecutor

    (tiny_run / "cache" / "standard_convergence.json").unlink()
    shutil.rmtree(tiny_run / "cache" / "trainings" / "standard_convergence")
    submit = LocalExecutor.submit

    def interrupt(self, function, *args, key):
        if key.startswith("standard_convergence"):
            raise KeyboardInterrupt
        return submit(self, function, *args, key=key)

    with monkeypatch.context() as patch:
        patch.setattr(LocalExecutor, "submit", interrupt)
        assert main([*TINY, "--out", str(tiny_run)]) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == ("sklenet reproduce: interrupted. Run the same "
                                    "command again to continue from the cached "
                                    "steps.")
    assert not list((tiny_run / "cache").glob("standard_convergence*"))
    assert main([*TINY, "--out", str(tiny_run)]) == 0
    assert submitted == ["standard_convergence-convergence"]  # nothing else ran
    captured = capsys.readouterr()
    names = _step_names(tiny_run)
    assert captured.err.count(": cached (") == len(names) - 1  # progress: stderr
    number = names.index("standard_convergence") + 1
    assert re.search(rf"\[{number}/{len(names)}\] standard convergence.*: done \(",
                     captured.err)
    assert "| standard LeNet" in captured.out  # results: stdout
    assert "cached" not in captured.out
    assert (tiny_run / "cache" / "standard_convergence.json").is_file()


def test_search_step_continues_an_interrupted_study(tmp_path):
    X, y = load_sample_digits(return_X_y=True)
    settings = dataclasses.replace(PRESETS["tiny"], n_trials=2)
    reproduction = Reproduction(X, y, settings, tmp_path, "sample")
    # The first trial finished before the interruption.
    LeNetSearchCV(LeNetClassifier(epochs=1), n_trials=1, refit=False,
                  storage=f"sqlite:///{tmp_path / 'search.db'}",
                  study_name=STUDY_NAME).fit(
        reproduction.X_train, reproduction.y_train,
        validation_data=(reproduction.X_val, reproduction.y_val))
    trials = reproduction._search().trials
    assert trials["number"].tolist() == [0, 1]


@pytest.mark.slow  # the tiny reproduction they share takes ~30 s
def test_reproduce_refuses_a_folder_of_other_settings(tiny_run, capsys):
    before = (tiny_run / "cache" / "run.json").read_text()
    assert main([*TINY, "--out", str(tiny_run), "--n-repeats", "2"]) == 1
    _one_error_line(capsys, r"another run \(n_repeats: 1 there, 2 now\)")
    assert main([*TINY, "--out", str(tiny_run), "--min-epoch-samples", "600"]) == 1
    _one_error_line(capsys, r"another run \(min_epoch_samples: None there, 600 now\)")
    assert (tiny_run / "cache" / "run.json").read_text() == before


@pytest.mark.slow  # the tiny reproduction they share takes ~30 s
def test_reproduce_refuses_a_folder_in_use_and_cleans_a_killed_write(
        tiny_run, capsys, submitted):
    from sklenet._io import exclusive_lock
    from sklenet.study import RunFolder

    folder = RunFolder(tiny_run)
    with exclusive_lock(folder.lock, what="held"):  # as another run would
        assert main([*TINY, "--out", str(tiny_run)]) == 1
    _one_error_line(capsys, re.escape(
        f"--out {tiny_run} is in use by another process (process {os.getpid()}): "
        "wait for that run to end, or use another --out folder."))
    # What writes killed midway leave (SIGKILL), and files of the user's.
    unfinished = [tiny_run / f".report.html.{'0' * 32}.tmp",
                  folder.training("standard_evaluation", "r0").parent /
                  f".r0.json.{'a1' * 16}.tmp",
                  folder.figures / f".roc.png.{'f' * 32}.tmp"]
    mine = [tiny_run / ".my-notes.tmp", tiny_run / "notes" / f".x.{'0' * 32}.tmp"]
    for path in [*unfinished, *mine]:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"half")
    assert main([*TINY, "--out", str(tiny_run)]) == 0
    assert submitted == []  # all cached: nothing trained
    assert [path.exists() for path in unfinished] == [False] * len(unfinished)
    assert all(path.read_bytes() == b"half" for path in mine)
    for path in mine:
        path.unlink()


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
    predict = ["predict", "--model", str(lenet_file), "--data", str(test_csv),
               "--out", str(submission)]
    assert main(predict) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"20 predictions written to {submission}\n"
    assert main([*predict, "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")
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
@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    """A LeNet fitted on 400-pixel images of the digits 0-4 only."""
    X, y = load_sample_digits(return_X_y=True)
    X, y = X[y < 5][::10, :400], y[y < 5][::10]
    path = tmp_path_factory.mktemp("small") / "small.sklenet"
    save(LeNetClassifier(epochs=1, early_stopping=False).fit(X, y), path)
    return path


@pytest.fixture
def bad_csv(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("label,colour\n1,red\n")
    return path


@pytest.mark.parametrize("argv, expected", [
    (["reproduce", "--data", "missing.csv"], r"--data missing.csv: .*does not exist"),
    (["reproduce", "--data", "{bad_csv}"], r"lacks 784 of the 784 pixel columns"),
    (["reproduce", "--out", "{bad_csv}"], r"--out .*bad.csv is a file"),
    # issue 20: below a regular file, on a file system that takes no files
    (["reproduce", "--out", "{bad_csv}/sub"],
     r"--out .*bad.csv/sub is below .*bad.csv, which is a file"),
    (["reproduce", "--out", "/proc/sklenet-report"],
     r"--out /proc/sklenet-report is not writable \(cannot write in /proc\)"),
    (["train", "--model", "{tmp}/m.sklenet", "--params", "{params}"],
     r"unknown hyperparameters \['filters'\]"),
    (["train", "--model", "{tmp}/no/m.sklenet"], r"the folder of .* does not exist"),
    (["evaluate", "--model", "{tmp}/missing.sklenet"], r"--model .*missing.sklenet"),
    (["evaluate", "--model", "{bad_csv}"], r"--model .*bad.csv"),
    (["predict", "--model", "{tmp}/m.sklenet", "--data", "{bad_csv}",
      "--out", "{tmp}/no/submission.csv"], r"the folder of .* does not exist"),
    (["tune", "--storage", "nosuchdialect://x", "--max-samples", "300"],
     r"Cannot open the Optuna storage"),
    # issue 12, item 6
    (["predict", "--model", "{small}", "--data", "sample", "--out", "{tmp}/s.csv"],
     r"--data sample: X has 784 features, but LeNetClassifier is expecting 400"),
    (["evaluate", "--model", "{small}", "--out", "{tmp}/metrics.json"],
     r"--data sample has labels the model does not know: \[5, 6, 7, 8, 9\]; its "
     r"classes are \[0, 1, 2, 3, 4\]"),
    (["train", "--model", "{tmp}/m.sklenet", "--max-samples", "5"],
     r"--max-samples 5: too few images for the stratified 70/30 split"),
    (["train", "--model", "{tmp}/m.sklenet", "--max-samples", "300", "--params",
      '{{"learning_rate": -1}}'], r"'learning_rate' parameter .* Got -1"),
    (["train", "--model", "{tmp}/m.sklenet", "--params", "{tmp}/missing.json"],
     r"--params .*missing.json: .*No such file"),
    (["tune", "--max-samples", "20"],  # creates no sklenet-tune.db
     r"--max-samples 20: too few images for the stratified 60/20/20 split"),
    (["export", "--model", "{tmp}/missing.sklenet", "--out", "{tmp}/m.onnx"],
     r"--model .*missing.sklenet"),
    (["export", "--model", "{small}", "--out", "{tmp}/no/m.onnx"],
     r"the folder of .* does not exist"),
    (["export", "--model", "{small}", "--out", "{tmp}"], r"is a folder"),
])
def test_user_errors_are_one_line_without_output(argv, expected, tmp_path, bad_csv,
                                                 small_model, capsys):
    params = tmp_path / "params.json"
    params.write_text('{"filters": 3}')
    argv = [arg.format(tmp=tmp_path, bad_csv=bad_csv, params=params,
                       small=small_model) for arg in argv]
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
    (["reproduce", "--min-epoch-samples", "-1"], r"'-1' is not a positive integer"),
    (["predict", "--model", "m.sklenet"], r"the following arguments are required"),
    (["tune", "--timeout", "-1"], r"'-1' is not a positive number"),
    (["train", "--model-type", "huge"], r"invalid choice: 'huge'"),
    (["export", "--format", "pickle"], r"invalid choice: 'pickle'"),
])
def test_usage_errors_exit_2_in_one_line(argv, expected, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    _one_error_line(capsys, expected)


@pytest.mark.parametrize("command", ["reproduce", "train", "evaluate", "predict",
                                     "tune", "export", "serve"])
def test_help_of_every_command(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: sklenet {command}" in capsys.readouterr().out


def test_no_command_prints_the_commands(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert all(name in err for name in ("reproduce", "train", "predict", "tune",
                                        "export"))


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


# ------------------------------------- a fast, quiet command line (issue 13)
HEAVY = ("tensorflow", "keras", "optuna", "starlette", "uvicorn")


def _environment():
    """The environment of a user who has not quieted TensorFlow."""
    return {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}


def _python(code, *args, **kwargs):
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                          text=True, timeout=120, env=_environment(), **kwargs)


@pytest.mark.parametrize("command", [[], ["reproduce"], ["train"], ["evaluate"],
                                     ["predict"], ["tune"], ["export"],
                                     ["serve"]])
def test_help_imports_no_tensorflow_and_writes_no_stderr(command):
    result = _python(
        "import json, sys\n"
        "from sklenet.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(json.dumps([name for name in {HEAVY} if name in sys.modules]))",
        *command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    *help_lines, heavy = result.stdout.splitlines()
    assert help_lines[0].startswith(f"usage: sklenet {' '.join(command)}".rstrip())
    assert json.loads(heavy) == []


def test_import_sklenet_is_lazy():
    result = _python(
        "import json, sys\n"
        "from sklenet import OPTIMIZED_PARAMS, __version__\n"
        f"print(json.dumps([name for name in {HEAVY} if name in sys.modules]))")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_every_public_name_resolves():
    assert set(sklenet.__all__) <= set(dir(sklenet))
    for name in sklenet.__all__:
        assert getattr(sklenet, name) is not None, name
    assert sklenet.export is sklenet._export.export
    with pytest.raises(AttributeError, match="has no attribute 'nonesuch'"):
        _ = sklenet.nonesuch


def test_version_comes_from_the_package_metadata(capsys):
    installed = importlib.metadata.version("sklenet")
    assert sklenet.__version__ == installed
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr() == (f"sklenet {installed}\n", "")


def test_export_formats_are_those_of_sklenet_export():
    assert EXPORT_FORMATS == importlib.import_module("sklenet._export").FORMATS


# Lines that TensorFlow writes to stderr: absl/glog C++ logs, absl's notice,
# Python loggers.
TENSORFLOW_LOG = re.compile(r"^[IWEF]\d{4} |absl|tensorflow|oneDNN|cuInit|cuda|"
                            r"NodeDef|retracing", re.MULTILINE | re.IGNORECASE)


def test_train_writes_progress_to_stderr_and_no_tensorflow_log(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sklenet", "train", "--model", "m.sklenet",
         "--max-samples", "300", "--epochs", "1"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env=_environment())
    assert result.returncode == 0, result.stderr
    assert not TENSORFLOW_LOG.search(result.stderr), result.stderr
    progress = result.stderr.splitlines()
    assert len(progress) == 2, result.stderr
    assert progress[0].startswith("training the standard LeNet on 210 images")
    assert progress[1].startswith("trained in ")
    assert re.fullmatch(r"validation accuracy 0\.\d{4} \(90 images\)\n",
                        result.stdout)
    assert load(tmp_path / "m.sklenet").n_epochs_ == 1


def _wait_for_tensorflow_import(process):
    """Return once ``process`` has mapped TensorFlow's library (it then spends
    seconds importing it); Linux only."""
    maps = f"/proc/{process.pid}/maps"
    if not os.path.exists(maps):
        pytest.skip("needs /proc to see when TensorFlow is being imported")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        with open(maps) as f:
            if "tensorflow" in f.read():
                return
        time.sleep(0.01)
    raise AssertionError("the command did not start importing TensorFlow")


@pytest.mark.parametrize("number, status, said", [
    (signal.SIGINT, 130, "interrupted"),  # Ctrl-C
    (signal.SIGTERM, 143, "terminated"),  # kill, a scheduler, a container stop
])
@pytest.mark.parametrize("when", ["importing TensorFlow", "training"])
def test_a_signal_ends_a_command_in_one_line(when, number, status, said, tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "sklenet", "train", "--model", "m.sklenet",
         "--max-samples", "1000", "--epochs", "100"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env=_environment())
    try:
        if when == "training":
            progress = process.stderr.readline()
            assert progress.startswith("training the standard LeNet"), progress
            time.sleep(1)
        else:
            _wait_for_tensorflow_import(process)
            progress = ""
        process.send_signal(number)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == status, (out, err)
    assert (out, progress + err) == ("", progress + f"sklenet train: {said}.\n")
    assert os.listdir(tmp_path) == []  # no model, no temporary file


class _Finalised:
    def __del__(self):
        signal.raise_signal(signal.SIGINT)  # its handler runs in here
        sum(range(1000))


def _dropped_by_a_finaliser():
    _Finalised()  # Python drops what a __del__ raises


def _dropped_by_a_bare_except():
    try:
        signal.raise_signal(signal.SIGINT)
        sum(range(1000))
    except:  # noqa: E722 (as in Keras' tracing)
        pass


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("drop", [_dropped_by_a_finaliser, _dropped_by_a_bare_except])
def test_an_interruption_dropped_reaches_the_command(drop):
    # Seen in CI: a Ctrl-C during a Keras fit that trained on and saved.
    from sklenet.cli._main import _Interrupts

    interrupts = _Interrupts(sys.stderr)
    deadline = time.monotonic() + 60
    with interrupts.installed():
        with pytest.raises(KeyboardInterrupt):
            drop()
            assert interrupts.signal == signal.SIGINT  # received, dropped
            while time.monotonic() < deadline:
                pass  # delivered again here
    assert time.monotonic() < deadline


def _processes_with(marker):
    """PIDs of the live processes whose environment holds ``marker``."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as file:
                if marker.encode() in file.read():
                    with open(f"/proc/{entry}/stat") as stat:
                        if stat.read().rsplit(")", 1)[1].split()[0] != "Z":
                            found.add(int(entry))
        except OSError:  # ended meanwhile, or not ours to read
            continue
    return found


@pytest.mark.slow  # two tiny reproductions
def test_sigterm_stops_reproduce_and_its_workers_and_the_next_run_continues(
        tmp_path):
    if not os.path.isdir("/proc/self"):
        pytest.skip("counts processes through /proc")
    marker = f"SKLENET_TEST_RUN={os.getpid()}-{time.monotonic_ns()}"
    out = tmp_path / "report"
    argv = [*TINY[:-1], "2", "--n-repeats", "2", "--max-samples", "300",
            "--out", str(out)]
    process = subprocess.Popen(
        [sys.executable, "-m", "sklenet", *argv], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        env={**_environment(), marker.split("=")[0]: marker.split("=")[1]})
    try:
        deadline = time.monotonic() + 300
        # The command, its two loky workers and their resource tracker.
        while len(_processes_with(marker)) < 3:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no worker processes started"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=300)  # 2x the slowest seen, loaded
    finally:
        process.kill()
    assert process.returncode == 143
    assert err.splitlines()[-1] == ("sklenet reproduce: terminated. Run the same "
                                    "command again to continue from the cached "
                                    "steps."), err
    assert "Traceback" not in err
    deadline = time.monotonic() + 30
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_with(marker) == set()  # no worker left running
    left = [path.name for path in out.rglob("*") if path.name.startswith(".")]
    assert left == []  # no temporary file of an atomic write
    assert main(argv) == 0
    assert (out / "report.html").is_file()


@pytest.mark.slow  # the tiny reproduction they share takes ~30 s
def test_an_unreadable_cache_entry_is_named_and_its_step_runs_again(
        tiny_run, capsys, submitted):
    entry = tiny_run / "cache" / "standard_convergence.json"
    text = entry.read_text()
    entry.write_text(text[:len(text) // 2])  # cut in half, as by a full disk

    assert main([*TINY, "--out", str(tiny_run)]) == 0
    # Its trainings' results are stored: the step is put together again from
    # them, and nothing trains.
    assert submitted == []
    warnings = [line for line in capsys.readouterr().err.splitlines()
                if line.startswith(f"cache entry '{entry}' is not valid JSON: ")]
    assert len(warnings) == 1 and warnings[0].endswith("the step runs again.")
    assert json.loads(entry.read_text())["result"]["histories"]


@pytest.mark.slow  # the tiny reproduction they share takes ~30 s
def test_an_unreadable_run_description_is_one_line_naming_it(tiny_run, capsys):
    description = tiny_run / "cache" / "run.json"
    before = description.read_text()
    description.write_text(before[:10])
    try:
        assert main([*TINY, "--out", str(tiny_run)]) == 1
        _one_error_line(capsys, rf"run description '{re.escape(str(description))}' "
                                r"is not valid JSON: .*; delete it to use ")
    finally:
        description.write_text(before)


def test_tune_removes_the_database_it_created_when_it_fails(tmp_path, monkeypatch,
                                                             capsys):
    import optuna

    def fail(self, X, y, validation_data=None):
        optuna.create_study(storage=self.storage, study_name=self.study_name)
        raise ValueError("the data is refused")

    monkeypatch.setattr(LeNetSearchCV, "fit", fail)
    database = tmp_path / "study.db"
    assert main(["tune", "--storage", f"sqlite:///{database}", "--max-samples",
                 "300"]) == 1
    _one_error_line(capsys, "sklenet tune: error: the data is refused")
    assert os.listdir(tmp_path) == []
    # A database that was there before, or that holds trials, stays.
    optuna.create_study(storage=f"sqlite:///{database}", study_name="other")
    assert main(["tune", "--storage", f"sqlite:///{database}", "--max-samples",
                 "300"]) == 1
    assert os.listdir(tmp_path) == ["study.db"]


def test_export_writes_a_graph_and_prints_its_metadata(lenet_file, tmp_path,
                                                      capsys):
    pytest.importorskip("tf2onnx")
    onnx = pytest.importorskip("onnx")
    out = tmp_path / "lenet.onnx"
    assert main(["export", "--model", str(lenet_file), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["classes"] == list(range(10))
    assert captured.err == f"onnx written to {out}\n"
    labels = {p.key: p.value for p in onnx.load(out).metadata_props}["classes"]
    assert json.loads(labels) == list(range(10))


def test_export_without_its_extra_is_one_line(lenet_file, tmp_path, monkeypatch,
                                              capsys):
    def missing(*args, **kwargs):
        raise ImportError("Exporting to onnx needs the 'tf2onnx' package: pip "
                          'install "sklenet[export]"')

    monkeypatch.setattr(importlib.import_module("sklenet._export"), "export",
                        missing)
    assert main(["export", "--model", str(lenet_file), "--out",
                 str(tmp_path / "m.onnx")]) == 1
    _one_error_line(capsys,
                    r'needs the .tf2onnx. package: pip install "sklenet\[export\]"')
    assert os.listdir(tmp_path) == []


def test_a_failed_write_is_one_line(lenet_file, kaggle_files, tmp_path, monkeypatch,
                                    capsys):
    def disk_full(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(importlib.import_module("sklenet._io"), "atomic_write",
                        disk_full)
    assert main(["predict", "--model", str(lenet_file), "--data",
                 str(kaggle_files[1]), "--out", str(tmp_path / "s.csv"),
                 "--quiet"]) == 1
    _one_error_line(capsys, r"--out .*s.csv: \[Errno 28\] No space left on device")


# issue 20: hostile files end in one line, read nothing and write nothing
@pytest.mark.parametrize("argv, expected", [
    (["train", "--model", "{tmp}/m.sklenet", "--params", "/dev/zero"],
     r"--params /dev/zero: file '/dev/zero' is a character device, not a regular"),
    (["train", "--model", "{tmp}/m.sklenet", "--params", "{tmp}/cut.json"],
     r"--params .*cut.json: file '.*cut.json' is not valid JSON: Expecting"),
    (["predict", "--model", "/dev/zero", "--data", "sample", "--out", "{tmp}/s.csv"],
     r"--model /dev/zero: sklenet archive '/dev/zero' is a character device"),
])
def test_hostile_files_are_one_line_errors(argv, expected, tmp_path, capsys):
    (tmp_path / "cut.json").write_text('{"epochs": ')
    argv = [arg.format(tmp=tmp_path) for arg in argv]
    before = sorted(os.listdir(tmp_path))
    assert main(argv) == 1
    _one_error_line(capsys, expected)
    assert sorted(os.listdir(tmp_path)) == before
