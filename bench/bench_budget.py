"""Issue 19's budget: the quick preset's wall time at two commits, timed
interleaved (old, new, old, new) on the same machine.

    python bench/bench_budget.py OLD_COMMIT NEW_COMMIT --rounds 2

Each commit is checked out once into a temporary git worktree and run from
there (its folder the working directory and ``PYTHONPATH``), each run in a
fresh output folder with ``sklenet reproduce --preset quick --n-jobs 2``;
the load average before each run is recorded beside its wall time and its
models' test accuracy.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _worktree(commit, folder):
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach",
                    str(folder), commit], check=True, capture_output=True)
    return folder


def _accuracies(out):
    """{model: mean test accuracy} from the report's raw results."""
    import pandas as pd

    return {path.name.removesuffix("_evaluation_runs.csv"):
            round(float(pd.read_csv(path)["test_accuracy"].mean()), 4)
            for path in sorted(Path(out).rglob("*_evaluation_runs.csv"))}


def _run(source, argv):
    env = {**os.environ, "PYTHONPATH": str(source)}
    imported = subprocess.run(
        [sys.executable, "-c", "import sklenet; print(sklenet.__file__)"],
        capture_output=True, text=True, check=True, env=env, cwd=source).stdout
    if not imported.startswith(str(source)):
        raise SystemExit(f"sklenet imported from {imported}, not {source}")
    with tempfile.TemporaryDirectory() as out:
        load = os.getloadavg()[0]
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "sklenet", "reproduce", *argv, "--out", out],
            capture_output=True, text=True, check=False, env=env, cwd=source)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(done.stderr[-2000:])
        return {"wall_s": round(wall, 1), "load_before": round(load, 2),
                "accuracy": _accuracies(out)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--n-jobs", default="2")
    args = parser.parse_args()
    argv = ["--preset", "quick", "--n-jobs", args.n_jobs]
    with tempfile.TemporaryDirectory() as trees:
        sources = {name: _worktree(commit, Path(trees) / name)
                   for name, commit in (("old", args.old), ("new", args.new))}
        try:
            for round_ in range(args.rounds):
                for name, source in sources.items():
                    row = {"round": round_, "commit": name,
                           **_run(source, argv)}
                    print(json.dumps(row), flush=True)
        finally:
            for source in sources.values():
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove",
                                "--force", str(source)], check=False)


if __name__ == "__main__":
    main()
