"""What scikit-learn's callback support costs a LeNetClassifier fit.

Four configurations, each in its own process (a warm-up fit, then --fits
timed fits of the same LeNet on the same images, no early stopping), the
processes interleaved over --repeats rounds; the median of each:

* ``before``: sklenet without callback support, from the source tree given
  by --before (a checkout of the commit before it, e.g.
  ``git worktree add /tmp/cb-before <commit>``); skipped without --before;
* ``none``: this sklenet, no callback set;
* ``ProgressBar``: this sklenet, ``set_callbacks(ProgressBar())`` (needs rich);
* ``ScoringMonitor``: this sklenet, ``ScoringMonitor(scoring="accuracy")``,
  which predicts the training images after every epoch.

On a busy machine fit times vary by more than the support could cost, so it
also times the support's own work in a fit without callbacks (the fit's task
begun and ended, as scikit-learn's ``_fit_context`` wraps it), per fit.

Run: python bench/bench_callbacks.py --before /tmp/cb-before
     [--repeats 3] [--fits 3] [--epochs 3] [--n-images 2000]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CONFIGS = ("before", "none", "ProgressBar", "ScoringMonitor")


def worker(config, fits, epochs, n_images):
    """Time ``fits`` fits after a warm-up one; print their seconds as JSON."""
    from sklearn.model_selection import train_test_split

    from sklenet import LeNetClassifier
    from sklenet.datasets import load_sample_digits

    X, y = load_sample_digits(return_X_y=True)
    X, _, y, _ = train_test_split(X, y, train_size=n_images, stratify=y,
                                  random_state=0)

    def fit():
        clf = LeNetClassifier(epochs=epochs, early_stopping=False, random_state=0)
        if config == "ProgressBar":
            from sklearn.callback import ProgressBar

            clf.set_callbacks(ProgressBar())
        elif config == "ScoringMonitor":
            from sklearn.callback import ScoringMonitor

            clf.set_callbacks(ScoringMonitor(scoring="accuracy"))
        start = time.perf_counter()
        clf.fit(X, y)
        return time.perf_counter() - start

    fit()
    seconds = [fit() for _ in range(fits)]
    print(json.dumps({"config": config, "seconds": seconds}))


def support_cost(n_calls=20_000):
    """Seconds per fit of what the support adds to a fit without callbacks:
    its task begun and ended (the fit's ``_fit_context`` tears it down)."""
    from sklearn.callback._callback_support import callback_management_context

    from sklenet import LeNetClassifier
    from sklenet._sklearn_callbacks import begin_fit_task, end_fit_task

    clf = LeNetClassifier()
    start = time.perf_counter()
    for _ in range(n_calls):
        with callback_management_context(clf):
            end_fit_task(begin_fit_task(clf, max_subtasks=3), clf)
    return (time.perf_counter() - start) / n_calls


def run_worker(config, args):
    # "before" imports sklenet from --before, the others from this tree.
    tree = args.before if config == "before" else os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": tree}
    out = subprocess.run(
        [sys.executable, __file__, "--worker", config, "--fits", str(args.fits),
         "--epochs", str(args.epochs), "--n-images", str(args.n_images)],
        env=env, capture_output=True, text=True, check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])["seconds"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", help="source tree of sklenet without support")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fits", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--n-images", type=int, default=2000)
    parser.add_argument("--worker", choices=CONFIGS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.fits, args.epochs, args.n_images)
        return
    configs = [c for c in CONFIGS if c != "before" or args.before]
    times = {config: [] for config in configs}
    for round_ in range(args.repeats):
        # Rotate the order, so that no configuration always runs first.
        order = configs[round_ % len(configs):] + configs[:round_ % len(configs)]
        for config in order:
            times[config] += run_worker(config, args)
            print(f"round {round_ + 1} {config}: "
                  f"{statistics.median(times[config][-args.fits:]):.3f} s",
                  file=sys.stderr)
    baseline = statistics.median(times[configs[0]])
    print(f"LeNetClassifier fit, {args.epochs} epochs of {args.n_images} images; "
          f"median of {args.repeats} x {args.fits} fits (seconds)")
    print("| configuration | median | min | max | vs " + configs[0] + " |")
    print("|---|---|---|---|---|")
    for config in configs:
        median = statistics.median(times[config])
        print(f"| {config} | {median:.3f} | {min(times[config]):.3f} | "
              f"{max(times[config]):.3f} | {median / baseline - 1:+.1%} |")
    per_fit = support_cost()
    print(f"The support's own work in a fit without callbacks: "
          f"{per_fit * 1e6:.0f} us per fit "
          f"({per_fit / baseline:.1e} of the median fit above)")


if __name__ == "__main__":
    main()
