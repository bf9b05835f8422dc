"""Test accuracy of the standard and the optimised LeNet on the offline sample.

The study's protocol on the 5,000-digit MNIST sample: one stratified 60/20/20
split, the validation part used for early stopping (patience 5, up to 100
epochs, best weights restored), repeated with --seeds seeds.
Run: python bench/bench_accuracy.py [--seeds 3]
"""

import argparse
import time

import numpy as np
from sklearn.model_selection import train_test_split

from sklenet import OPTIMIZED_PARAMS, LeNetClassifier
from sklenet.datasets import load_sample_digits


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    X, y = load_sample_digits(return_X_y=True)
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=0)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=0.25, stratify=y_rest, random_state=0)
    print("| model | test accuracy (mean ± std) | epochs | fit time (s) |")
    print("|---|---|---|---|")
    for name, params in {"standard LeNet": {},
                         "optimised LeNet": OPTIMIZED_PARAMS}.items():
        scores, epochs, times = [], [], []
        for seed in range(args.seeds):
            clf = LeNetClassifier(random_state=seed, **params)
            start = time.perf_counter()
            clf.fit(X_train, y_train, validation_data=(X_val, y_val))
            times.append(time.perf_counter() - start)
            epochs.append(clf.n_epochs_)
            scores.append(clf.score(X_test, y_test))
        print(f"| {name} | {np.mean(scores):.4f} ± {np.std(scores):.4f} | "
              f"{np.mean(epochs):.0f} | {np.mean(times):.0f} |", flush=True)


if __name__ == "__main__":
    main()
