"""LeNetEnsembleClassifier: accuracy of independent vs snapshot ensembles, and
the speed-up of training members in parallel.

On the offline MNIST sample (5,000 digits), stratified 60/20/20 split, the
study's optimised hyperparameters:

1. independent ensemble of --members members (early stopping on the
   validation set, at most --epochs epochs each) vs its best member;
2. snapshot ensemble of --members cycles over --epochs epochs vs its best
   snapshot, with the same learning rate (Adam's 1e-3), then with
   --snapshot-learning-rate (cosine restarts profit from a larger one);
3. wall time of a --parallel-members independent ensemble trained for a fixed
   --parallel-epochs epochs (no early stopping) with n_jobs=1, then n_jobs=2
   (loky; first on fresh workers, whose start-up is included, then again on
   the warm ones), and n_jobs=2 with TensorFlow not limited to each worker's
   share of the cores (inner_max_num_threads=2: oversubscribed).

Prints Markdown tables. Run: python bench/bench_ensemble.py [--parts parallel]
"""

import argparse
import os
import time

import joblib
import numpy as np
from sklearn.model_selection import train_test_split

from sklenet import OPTIMIZED_PARAMS
from sklenet._ensemble import LeNetEnsembleClassifier
from sklenet.datasets import load_sample_digits


def split(seed=0):
    X, y = load_sample_digits(return_X_y=True)
    X_train, X_rest, y_train, y_rest = train_test_split(
        X, y, train_size=0.6, stratify=y, random_state=seed
    )
    X_val, X_test, y_val, y_test = train_test_split(
        X_rest, y_rest, train_size=0.5, stratify=y_rest, random_state=seed
    )
    return X_train, y_train, X_val, y_val, X_test, y_test


def timed_fit(ensemble, *args, **kwargs):
    start = time.perf_counter()
    ensemble.fit(*args, **kwargs)
    return time.perf_counter() - start


def accuracy_rows(args, data):
    X_train, y_train, X_val, y_val, X_test, y_test = data
    rows = []
    runs = [("independent", {}), ("snapshot", {}),
            ("snapshot", {"learning_rate": args.snapshot_learning_rate})]
    for kind, params in runs:
        ensemble = LeNetEnsembleClassifier(
            **OPTIMIZED_PARAMS, n_estimators=args.members, epochs=args.epochs,
            ensemble=kind, random_state=0, **params,
        )
        seconds = timed_fit(ensemble, X_train, y_train,
                            validation_data=(X_val, y_val))
        members = [m.score(X_test, y_test) for m in ensemble.estimators_]
        epochs = sum(m.n_epochs_ for m in ensemble.estimators_)
        rows.append(
            f"| {kind}, {args.members} members, learning_rate="
            f"{ensemble.learning_rate:g} | {ensemble.score(X_test, y_test):.4f} "
            f"| {max(members):.4f} (mean {np.mean(members):.4f}) | {epochs} "
            f"| {seconds:.0f} s |"
        )
    return rows


def parallel_rows(args, data):
    X_train, y_train = data[:2]
    ensemble = LeNetEnsembleClassifier(
        **OPTIMIZED_PARAMS, n_estimators=args.parallel_members,
        epochs=args.parallel_epochs, early_stopping=False, random_state=0,
    )
    runs = [
        ("n_jobs=1", {"n_jobs": 1}, {}),
        ("n_jobs=2, fresh workers", {"n_jobs": 2}, {}),
        ("n_jobs=2, warm workers", {"n_jobs": 2}, {}),
        ("n_jobs=2, TF threads not limited (oversubscribed), fresh workers",
         {"n_jobs": 2}, {"backend": "loky", "inner_max_num_threads": 2}),
    ]
    rows, reference = [], None
    for name, params, config in runs:
        with joblib.parallel_config(**config):
            seconds = timed_fit(ensemble.set_params(**params), X_train, y_train)
        reference = reference or seconds
        rows.append(f"| {name} | {seconds:.0f} s | {reference / seconds:.2f}x |")
    return rows


def print_accuracy(args, data):
    print("| ensemble | test accuracy | best member (mean) | epochs trained "
          "| wall time |")
    print("|---|---|---|---|---|")
    print("\n".join(accuracy_rows(args, data)))


def print_parallel(args, data):
    print(f"\n{args.parallel_members} independent members, {args.parallel_epochs} "
          f"epoch(s) each, no early stopping (load average "
          f"{os.getloadavg()[0]:.1f}):\n")
    print("| training | wall time | speed-up |")
    print("|---|---|---|")
    print("\n".join(parallel_rows(args, data)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--snapshot-learning-rate", type=float, default=0.01)
    parser.add_argument("--parallel-members", type=int, default=10)
    parser.add_argument("--parallel-epochs", type=int, default=4)
    parser.add_argument("--parts", nargs="+", choices=["accuracy", "parallel"],
                        default=["accuracy", "parallel"])
    args = parser.parse_args()
    data = split()
    print(f"{len(data[1])} train / {len(data[3])} validation / {len(data[5])} "
          f"test images, OPTIMIZED_PARAMS, {joblib.cpu_count()} cores, load "
          f"average {os.getloadavg()[0]:.1f} at start\n")
    if "accuracy" in args.parts:
        print_accuracy(args, data)
    if "parallel" in args.parts:
        print_parallel(args, data)


if __name__ == "__main__":
    main()
