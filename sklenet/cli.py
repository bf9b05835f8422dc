"""The ``sklenet`` command line.

``sklenet`` (or ``python -m sklenet``) trains the study's standard LeNet on the
offline 5,000-digit MNIST sample with the study's 60/20/20 split and prints its
accuracy on each split.
"""

import argparse
import sys
import time

from sklearn.model_selection import train_test_split

from ._classifier import LeNetClassifier
from ._model import OPTIMIZED_PARAMS
from .datasets import load_sample_digits


def _parser():
    parser = argparse.ArgumentParser(
        prog="sklenet",
        description="Train the study's LeNet on the offline MNIST sample "
        "(60/20/20 split) and print its accuracy.",
    )
    parser.add_argument("--optimized", action="store_true",
                        help="use the study's Optuna-optimised hyperparameters")
    parser.add_argument("--epochs", type=int, default=100,
                        help="maximum epochs (early stopping, patience 5)")
    parser.add_argument("--random-state", type=int, default=0)
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    X, y = load_sample_digits(return_X_y=True)
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=args.random_state
    )
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=0.25, stratify=y_rest,
        random_state=args.random_state,
    )
    params = OPTIMIZED_PARAMS if args.optimized else {}
    clf = LeNetClassifier(epochs=args.epochs, random_state=args.random_state,
                          **params)
    start = time.perf_counter()
    clf.fit(X_train, y_train, validation_data=(X_val, y_val))
    elapsed = time.perf_counter() - start
    name = "optimised" if args.optimized else "standard"
    print(f"{name} LeNet on the MNIST sample ({len(y_train)} train / "
          f"{len(y_val)} validation / {len(y_test)} test), "
          f"{clf.n_epochs_} epochs in {elapsed:.0f} s")
    for split, (X_split, y_split) in {"train": (X_train, y_train),
                                       "validation": (X_val, y_val),
                                       "test": (X_test, y_test)}.items():
        print(f"{split:>10} accuracy: {clf.score(X_split, y_split):.4f}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
