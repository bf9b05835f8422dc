"""Compare two run folders of ``sklenet reproduce``: every JSON and CSV file
under ``cache/`` and ``results/``, all but their wall-clock fields.

    python bench/compare_runs.py RUN_A RUN_B

Prints each file that one run lacks and each value that differs (by file and
key path); exits with 1 on any difference, else 0. The same seeds must give
the same numbers, so every other value compares exactly.
"""

import argparse
import json
import re
import sys
from pathlib import Path

import pandas as pd

#: Keys and columns that hold wall-clock time, which no two runs share: a
#: step's or training's seconds (the report's timings table too), a trial's
#: duration and start, fit and score times.
WALL_CLOCK = re.compile(
    r"^(seconds|duration|fit time \(s\))$|(^|_)(fit|score)_time$|^datetime_")
FOLDERS = ("cache", "results")


def is_wall_clock(name):
    return isinstance(name, str) and bool(WALL_CLOCK.search(name))


def differences(a, b, path=""):
    """``(path, a, b)`` of each value that differs between the JSON values
    ``a`` and ``b``, wall-clock keys and rows (a summary's ``fit_time`` row)
    left out."""
    if isinstance(a, dict) and isinstance(b, dict):
        if is_wall_clock(a.get("index")) and is_wall_clock(b.get("index")):
            return []
        found = []
        for key in sorted(set(a) | set(b), key=str):
            if is_wall_clock(key):
                continue
            if key not in a or key not in b:
                found.append((f"{path}/{key}", a.get(key, "<missing>"),
                              b.get(key, "<missing>")))
            else:
                found += differences(a[key], b[key], f"{path}/{key}")
        return found
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [(f"{path}[len]", len(a), len(b))]
        return [found for index, (x, y) in enumerate(zip(a, b))
                for found in differences(x, y, f"{path}[{index}]")]
    return [] if a == b else [(path, a, b)]


def _csv(path):
    # A summary's row names are its first, unnamed column.
    frame = pd.read_csv(path).rename(columns={"Unnamed: 0": "index"})
    frame = frame.drop(columns=[c for c in frame.columns if is_wall_clock(c)])
    return json.loads(frame.to_json(orient="records"))


def files(run):
    return {str(path.relative_to(run)) for folder in FOLDERS
            for path in (run / folder).rglob("*") if path.suffix in (".json", ".csv")}


def compare(run_a, run_b):
    """Print the differences between the run folders; return their count."""
    run_a, run_b = Path(run_a), Path(run_b)
    names_a, names_b = files(run_a), files(run_b)
    count = 0
    for name in sorted(names_a ^ names_b):
        print(f"{name}: only in {run_a if name in names_a else run_b}")
        count += 1
    for name in sorted(names_a & names_b):
        read = _csv if name.endswith(".csv") else (
            lambda path: json.loads(path.read_text()))
        for path, a, b in differences(read(run_a / name), read(run_b / name)):
            print(f"{name}: {path}: {str(a)[:80]} != {str(b)[:80]}")
            count += 1
    print(f"{len(names_a | names_b)} files compared, {count} differences")
    return count


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_a", type=Path)
    parser.add_argument("run_b", type=Path)
    args = parser.parse_args(argv)
    for run in (args.run_a, args.run_b):
        if not (run / "cache").is_dir():
            parser.error(f"{run} is not a run folder of sklenet reproduce "
                         "(it has no cache/ folder)")
    return 1 if compare(args.run_a, args.run_b) else 0


if __name__ == "__main__":
    sys.exit(main())
