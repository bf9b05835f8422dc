"""Start-up time of the ``sklenet`` command line (hyperfine-like).

Each case runs as a fresh subprocess ``--runs`` times after ``--warmup`` runs
(which fill the OS file cache); the table shows the median and the fastest
wall time, and which of TensorFlow, Keras and Optuna the process imported
(seen in one extra run with ``python -X importtime``). With ``--baseline DIR``
(a folder holding another version's ``sklenet`` package, for instance from
``git archive <commit> sklenet | tar -x -C DIR``) every run of a case is
followed by one of that version, so that both see the same machine load.
Run: python bench/bench_cli.py [--runs 10] [--warmup 2] [--baseline DIR]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

CASES = {
    "sklenet --help": ["-m", "sklenet", "--help"],
    "sklenet train --help": ["-m", "sklenet", "train", "--help"],
    "sklenet tune --help": ["-m", "sklenet", "tune", "--help"],
    "sklenet --version": ["-m", "sklenet", "--version"],
    "import sklenet": ["-c", "import sklenet"],
    "python -c pass (floor)": ["-c", "pass"],
}
HEAVY = ("tensorflow", "keras", "optuna")
# Python puts the working directory first on sys.path for -m and -c: run in an
# empty one, so that --baseline's package is not shadowed by a source tree.
CWD = tempfile.mkdtemp(prefix="bench_cli.")


def environment(package_dir):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    if package_dir is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            [package_dir, *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def wall_time(args, env):
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], capture_output=True, env=env, cwd=CWD,
                   check=False)
    return time.perf_counter() - start


def heavy_imports(args, env):
    stderr = subprocess.run([sys.executable, "-X", "importtime", *args],
                            capture_output=True, text=True, env=env,
                            cwd=CWD).stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines()}
    return ", ".join(name for name in HEAVY if name in imported) or "none"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--baseline", metavar="DIR",
                        help="a folder with another version's sklenet package")
    args = parser.parse_args()
    versions = {"this": environment(None)}
    if args.baseline:
        versions["baseline"] = environment(os.path.abspath(args.baseline))
    print(f"{args.runs} runs per case after {args.warmup} warm-up runs; "
          f"wall seconds: median (min)\n")
    print("| case | " + " | ".join(f"{name} (s) | {name} imports"
                                   for name in versions) + " |")
    print("|---|" + "---:|---|" * len(versions))
    for case, command in CASES.items():
        times = {name: [] for name in versions}
        for run in range(args.warmup + args.runs):
            for name, env in versions.items():  # interleaved: same load
                seconds = wall_time(command, env)
                if run >= args.warmup:
                    times[name].append(seconds)
        cells = [f"{statistics.median(times[name]):.2f} ({min(times[name]):.2f}) | "
                 f"{heavy_imports(command, env)}" for name, env in versions.items()]
        print(f"| `{case}` | " + " | ".join(cells) + " |", flush=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
