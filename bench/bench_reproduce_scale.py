"""The study at its own scale (issue 18): wall time of one reproduction on
1 local worker, 2 local workers and a LocalCluster of 2 Dask workers, each
against the plan's estimate, and the full preset's estimated hours.

    python bench/bench_reproduce_scale.py runs --max-samples 1000 --epochs 5
    python bench/bench_reproduce_scale.py full --data sample
    python bench/bench_reproduce_scale.py full --data fashion
    python bench/bench_reproduce_scale.py workers --data fashion

``runs`` interleaves the three set-ups ``--rounds`` times, each in a fresh
output folder, and records the load average before each. ``full`` prints the
full preset's plan (``--dry-run``) on 2 local workers, ``workers`` its
estimate on 1 to 128 workers.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FASHION = "/usr/share/datasets/fashion-mnist"
SETUPS = {"local, --n-jobs 1": ["--n-jobs", "1"],
          "local, --n-jobs 2": ["--n-jobs", "2"],
          "Dask, --dask local:2": ["--dask", "local:2"]}


def _reproduce(argv):
    """(wall seconds, estimated seconds or None, stderr, seconds from the
    plan to the report) of one run: the last is what the estimate
    estimates, the wall time adds the start, the calibration and the
    report."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "sklenet", "reproduce", *argv],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    lines, marks = [], {}
    for line in process.stderr:  # as it comes, to time the phases
        lines.append(line)
        for mark in ("the plan:", "writing the report"):
            if mark in line:
                marks.setdefault(mark, time.perf_counter())
    process.wait()
    wall = time.perf_counter() - start
    stderr = "".join(lines)
    if process.returncode != 0:
        raise SystemExit(stderr[-2000:])
    found = re.search(r"estimated time: ([\d.]+) (h|min|s) ", stderr)
    estimate = None if found is None else float(found[1]) * {
        "h": 3600, "min": 60, "s": 1}[found[2]]
    training = (marks["writing the report"] - marks["the plan:"]
                if len(marks) == 2 else None)
    return wall, estimate, stderr, training


def _plan_hours(stderr):
    """{step: estimated hours of training} from the plan a run printed."""
    return {found[1]: float(found[2]) for found in re.finditer(
        r"^\|\s*(\w+)\s*\|\s*\d+\s*\|\s*\d+\s*\|\s*([\d.e+-]+)\s*\|",
        stderr, re.MULTILINE) if found[1] != "total"}


def _steps(out, stderr):
    """Per step of a finished run in ``out``: the plan's estimated seconds of
    training, the measured ones (the sum of its trainings') and the mean
    epochs its trainings ran, to see which step an estimate misses."""
    planned = _plan_hours(stderr)
    rows = []
    for name, hours in planned.items():
        step = json.loads((Path(out) / "cache" / f"{name}.json").read_text())
        epochs = []
        for path in (Path(out) / "cache" / "trainings" / name).glob("*.json"):
            row = json.loads(path.read_text())["result"].get("row", {})
            if row.get("n_epochs") is not None:
                epochs.append(row["n_epochs"])
        rows.append({"step": name, "estimated_s": round(hours * 3600, 1),
                     "measured_s": round(step["seconds"], 1),
                     "mean_epochs": round(sum(epochs) / len(epochs), 1)
                     if epochs else None})
    return rows


def runs(args):
    common = ["--preset", args.preset, "--data", args.data]
    if args.max_samples:
        common += ["--max-samples", str(args.max_samples)]
    if args.epochs:
        common += ["--epochs", str(args.epochs)]
    if args.min_epoch_samples is not None:
        common += ["--min-epoch-samples", str(args.min_epoch_samples)]
    rows = []
    for round_ in range(args.rounds):
        for name, options in SETUPS.items():
            with tempfile.TemporaryDirectory() as out:
                load = os.getloadavg()[0]
                wall, estimate, stderr, training = _reproduce(
                    [*common, *options, "--out", out])
                steps = _steps(out, stderr)
            rows.append({"round": round_, "setup": name, "wall_s": round(wall, 1),
                         "training_s": training and round(training, 1),
                         "estimate_s": estimate, "load_before": round(load, 2),
                         "load_after": round(os.getloadavg()[0], 2)})
            print(json.dumps(rows[-1]), flush=True)
            for step in steps:
                print("   ", json.dumps(step), flush=True)
    base = {row["round"]: row["wall_s"] for row in rows
            if row["setup"] == "local, --n-jobs 1"}
    for row in rows:
        row["vs --n-jobs 1"] = round(row["wall_s"] / base[row["round"]], 2)
    print(json.dumps(rows, indent=1))


def full(args):
    """The full preset's plan; ``--data fashion`` is a stratified subsample
    of 42,000 Fashion-MNIST images (Debian's files), standing in for the
    Digit Recognizer's 42,000-image train.csv."""
    data = (["--data", FASHION, "--max-samples", "42000"] if args.data == "fashion"
            else ["--data", args.data])
    with tempfile.TemporaryDirectory() as out:
        load = os.getloadavg()[0]
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "sklenet", "reproduce", "--preset", "full", *data,
             "--n-jobs", "2", "--dry-run", "--out", str(Path(out) / "run")],
            capture_output=True, text=True, check=False)
        print(done.stdout or done.stderr[-2000:])
        print(f"load average before: {load:.2f}; dry run "
              f"{time.perf_counter() - start:.0f} s")


def workers(args):
    """The full preset's estimated hours on N workers: calibrated once on 2
    local workers, the run's schedule replayed for each N, in the local
    order (the search one task) and on Dask (a task per trial)."""
    from sklenet.datasets import load_mnist_idx, load_sample_digits
    from sklenet.study import prepare
    from sklenet.study._estimate import calibrate, estimate
    from sklenet.study._executors import executor
    from sklenet.study._steps import plan

    if args.data == "fashion":
        X, y = load_mnist_idx(FASHION, kind="train", return_X_y=True)
        extra = {"max_samples": 42000}
    else:
        X, y = load_sample_digits(return_X_y=True)
        extra = {}
    with tempfile.TemporaryDirectory() as out:
        data = prepare(X, y, preset="full", out=Path(out) / "run", n_jobs=2,
                       **extra).study_data()
        with executor(None, 2) as pool:
            calibration = calibrate(pool, pool.share(data), data)
    planned = plan(data)
    for n in (1, 2, 8, 32, 128):
        local = estimate(planned, data, calibration, n).hours
        spread = estimate(planned, data, calibration, n, spread_search=True).hours
        print(f"{args.data}, {n} workers: local order {local:.1f} h, "
              f"Dask {spread:.1f} h")


def parser():
    main = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = main.add_subparsers(dest="command", required=True)
    timed = commands.add_parser("runs")
    timed.add_argument("--preset", default="quick")
    timed.add_argument("--data", default="sample")
    timed.add_argument("--max-samples", type=int)
    timed.add_argument("--epochs", type=int)
    timed.add_argument("--min-epoch-samples", type=int)
    timed.add_argument("--rounds", type=int, default=1)
    planned = commands.add_parser("full")
    planned.add_argument("--data", default="sample")
    on_n = commands.add_parser("workers")
    on_n.add_argument("--data", default="sample")
    return main


if __name__ == "__main__":
    arguments = parser().parse_args()
    {"runs": runs, "full": full, "workers": workers}[arguments.command](arguments)
