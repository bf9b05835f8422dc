"""`sklenet reproduce` (tiny preset): a self-contained report with its raw
results and models, a run that continues after Ctrl-C or SIGTERM (its workers
stopped), a folder of other settings or in use refused, unreadable cache
entries."""

import dataclasses
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

from sklenet import LeNetClassifier, load
from sklenet.cli import main
from sklenet.datasets import load_sample_digits
from sklenet.model_selection import STUDY_SEARCH_SPACE, LeNetSearchCV
from sklenet.study import PRESETS, STUDY_NAME, Reproduction

from .helpers import environment, one_error_line

TINY = ["reproduce", "--preset", "tiny", "--n-jobs", "1"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One run of `sklenet reproduce --preset tiny` (about a minute)."""
    out = tmp_path_factory.mktemp("reproduce") / "report"
    assert main([*TINY, "--out", str(out)]) == 0
    return out


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
    one_error_line(capsys, r"another run \(n_repeats: 1 there, 2 now\)")
    assert main([*TINY, "--out", str(tiny_run), "--min-epoch-samples", "600"]) == 1
    one_error_line(capsys, r"another run \(min_epoch_samples: None there, 600 now\)")
    assert (tiny_run / "cache" / "run.json").read_text() == before


@pytest.mark.slow  # the tiny reproduction they share takes ~30 s
def test_reproduce_refuses_a_folder_in_use_and_cleans_a_killed_write(
        tiny_run, capsys, submitted):
    from sklenet._io import exclusive_lock
    from sklenet.study import RunFolder

    folder = RunFolder(tiny_run)
    with exclusive_lock(folder.lock, what="held"):  # as another run would
        assert main([*TINY, "--out", str(tiny_run)]) == 1
    one_error_line(capsys, re.escape(
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
        env={**environment(), marker.split("=")[0]: marker.split("=")[1]})
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
        one_error_line(capsys, rf"run description '{re.escape(str(description))}' "
                                r"is not valid JSON: .*; delete it to use ")
    finally:
        description.write_text(before)
