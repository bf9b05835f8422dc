"""What every command shares (`sklenet.cli._main`, `sklenet.cli._common`):
user errors in one line without a traceback or a half-written file, usage
errors (exit 2), --help and --version without TensorFlow or stderr output, a
lazy `import sklenet`, Ctrl-C and SIGTERM, a failed write, hostile files."""

import importlib
import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import sklenet
from sklenet import LeNetClassifier, save
from sklenet.cli import main
from sklenet.datasets import load_sample_digits

from .helpers import environment, one_error_line


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
    err = one_error_line(capsys, expected)
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
    one_error_line(capsys, expected)


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


def _python(code, *args, **kwargs):
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                          text=True, timeout=120, env=environment(), **kwargs)


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
        env=environment())
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


def test_a_failed_write_is_one_line(lenet_file, kaggle_files, tmp_path, monkeypatch,
                                    capsys):
    def disk_full(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(importlib.import_module("sklenet._io"), "atomic_write",
                        disk_full)
    assert main(["predict", "--model", str(lenet_file), "--data",
                 str(kaggle_files[1]), "--out", str(tmp_path / "s.csv"),
                 "--quiet"]) == 1
    one_error_line(capsys, r"--out .*s.csv: \[Errno 28\] No space left on device")


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
    one_error_line(capsys, expected)
    assert sorted(os.listdir(tmp_path)) == before
