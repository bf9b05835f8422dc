"""LeNetSearchCV on the offline MNIST sample: pruning's saving, extended space.

The study's protocol on the 5,000-digit sample: a stratified 60/20/20 split
(3,000 train / 1,000 validation / 1,000 test), each trial trains on the
training part with early stopping (patience 5) on the validation part, which
also scores it. An epoch cap (default 15 instead of the study's 100) keeps
the run near a quarter of an hour on 2 CPU cores. Three searches, all with
TPE seeded 0:

1. the study's space with the default MedianPruner,
2. the same with NopPruner (no pruning): epochs trained and best validation
   accuracy against 1.,
3. EXTENDED_SEARCH_SPACE with the default pruner: its best against 1.

The best model of each is refitted (the same training and validation data) and
scored on the test part. Prints a Markdown table.

Run: python bench/bench_search.py [--trials 30] [--extended-trials 30]
     [--epochs 15] [--figures DIR]
"""

import argparse
import time

import numpy as np
import optuna
from sklearn.model_selection import train_test_split

from sklenet import LeNetClassifier
from sklenet.datasets import load_sample_digits
from sklenet.model_selection import (
    EXTENDED_SEARCH_SPACE,
    STUDY_SEARCH_SPACE,
    LeNetSearchCV,
)
from sklenet.plotting import (
    plot_intermediate_values,
    plot_optimization_history,
    plot_param_importances,
)


def split_60_20_20(seed=0):
    X, y = load_sample_digits(return_X_y=True)
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=seed)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=0.25, stratify=y_rest, random_state=seed)
    return X_train, y_train, X_val, y_val, X_test, y_test


def run(name, space, pruner, n_trials, epochs, data):
    X_train, y_train, X_val, y_val, X_test, y_test = data
    search = LeNetSearchCV(
        LeNetClassifier(epochs=epochs, random_state=0), space,
        n_trials=n_trials, pruner=pruner, random_state=0, verbose=1,
    )
    start = time.perf_counter()
    search.fit(X_train, y_train, validation_data=(X_val, y_val))
    seconds = time.perf_counter() - start
    states = list(search.cv_results_["state"])
    row = {
        "search": name,
        "trials": f"{states.count('COMPLETE')} / {states.count('PRUNED')}",
        "epochs": int(np.nansum(search.cv_results_["n_epochs"])),
        "best_val": search.best_score_,
        "test": search.score(X_test, y_test),
        "minutes": seconds / 60,
        "best_params": search.best_params_,
    }
    print(f"{name}: {row}", flush=True)
    return search, row


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--extended-trials", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--figures", help="save the study figures of search 1 here")
    args = parser.parse_args()
    data = split_60_20_20()
    print(f"MNIST sample: {len(data[1])} train / {len(data[3])} validation / "
          f"{len(data[5])} test; epoch cap {args.epochs}, early stopping "
          "patience 5", flush=True)

    median, median_row = run("study space, MedianPruner", STUDY_SEARCH_SPACE,
                             None, args.trials, args.epochs, data)
    _, nop_row = run("study space, NopPruner", STUDY_SEARCH_SPACE,
                     optuna.pruners.NopPruner(), args.trials, args.epochs, data)
    rows = [median_row, nop_row]
    if args.extended_trials:
        _, extended_row = run("extended space, MedianPruner", EXTENDED_SEARCH_SPACE,
                              None, args.extended_trials, args.epochs, data)
        rows.append(extended_row)

    print("\n| search | complete / pruned | epochs trained | best val acc "
          "| test acc of best | minutes |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['search']} | {r['trials']} | {r['epochs']} | "
              f"{r['best_val']:.4f} | {r['test']:.4f} | {r['minutes']:.1f} |")
    saved = 1 - median_row["epochs"] / nop_row["epochs"]
    gap = nop_row["best_val"] - median_row["best_val"]
    saved_time = 1 - median_row["minutes"] / nop_row["minutes"]
    print(f"\nMedianPruner trained {saved:.0%} fewer epochs than NopPruner "
          f"(target >= 40%) in {saved_time:.0%} less time; best validation "
          f"accuracy {gap:+.4f} behind (target <= 0.005).")
    if args.extended_trials:
        print(f"Extended space best {extended_row['best_val']:.4f} validation / "
              f"{extended_row['test']:.4f} test vs study space "
              f"{median_row['best_val']:.4f} / {median_row['test']:.4f}.")
    for r in rows:
        print(f"best params, {r['search']}: {r['best_params']}")

    if args.figures:
        import pathlib

        folder = pathlib.Path(args.figures)
        folder.mkdir(parents=True, exist_ok=True)
        for plot in (plot_intermediate_values, plot_optimization_history,
                     plot_param_importances):
            ax = plot(median)
            ax.figure.savefig(folder / f"{plot.__name__}.png", bbox_inches="tight")


if __name__ == "__main__":
    main()
