"""LeNetClassifier against what users would otherwise pick: scikit-learn's
MLPClassifier and the same LeNet through plain scikeras.

Same split, same seeds, each model's own early stopping (patience 5):
- sample: the offline 5,000-digit MNIST sample, stratified 60/20/20;
- fashion: Fashion-MNIST (Debian's dataset-fashion-mnist), the first
  --fashion-train training images split 80/20 into train/validation, and the
  official 10,000 test images.
LeNetClassifier and scikeras use the validation part for early stopping;
MLPClassifier (defaults: one hidden layer of 100, Adam) holds out the same
share of its training data with ``early_stopping=True``, as sklearn users
write it; its input is scaled to [0, 1] like the others'.

Run: python bench/bench_baselines.py [--seeds 3] [--fashion-train 12000]
"""

import argparse
import os
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from scikeras.wrappers import KerasClassifier  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

from sklenet import LeNetClassifier, build_lenet  # noqa: E402
from sklenet.datasets import load_mnist_idx, load_sample_digits  # noqa: E402

FASHION = "/usr/share/datasets/fashion-mnist"
MAX_EPOCHS = 100


def sample_split():
    X, y = load_sample_digits(return_X_y=True)
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=0)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=0.25, stratify=y_rest, random_state=0)
    return X_train, y_train, X_val, y_val, X_test, y_test


def fashion_split(n_train):
    X, y = load_mnist_idx(FASHION, return_X_y=True)
    X_test, y_test = load_mnist_idx(FASHION, kind="test", return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(
        X[:n_train], y[:n_train], test_size=0.2, stratify=y[:n_train],
        random_state=0)
    return X_train, y_train, X_val, y_val, X_test, y_test


def lenet_model(meta):
    model = build_lenet((28, 28, 1), meta["n_classes_"])
    # scikeras compiles with its own optimizer/loss arguments.
    return model


def fit_sklenet(seed, X_train, y_train, X_val, y_val):
    clf = LeNetClassifier(epochs=MAX_EPOCHS, random_state=seed)
    clf.fit(X_train, y_train, validation_data=(X_val, y_val))
    return clf, clf.n_epochs_, lambda X: clf.predict(X)


def fit_scikeras(seed, X_train, y_train, X_val, y_val):
    """The same LeNet as a scikeras user writes it: scale and reshape by
    hand, scikeras' defaults otherwise."""
    def images(X):
        return (X.reshape(-1, 28, 28, 1) / 255.0).astype("float32")

    stopper = keras.callbacks.EarlyStopping(
        monitor="val_accuracy", patience=5, restore_best_weights=True)
    clf = KerasClassifier(
        model=lenet_model, loss="sparse_categorical_crossentropy",
        optimizer="adam", optimizer__learning_rate=1e-3, metrics=["accuracy"],
        epochs=MAX_EPOCHS, batch_size=32, callbacks=[stopper], verbose=0,
        random_state=seed)
    clf.fit(images(X_train), y_train,
            validation_data=(images(X_val), y_val))
    return clf, len(clf.history_["loss"]), lambda X: clf.predict(images(X))


def fit_mlp(seed, X_train, y_train, X_val, y_val):
    X = np.concatenate([X_train, X_val]) / 255.0
    y = np.concatenate([y_train, y_val])
    clf = MLPClassifier(early_stopping=True, validation_fraction=len(y_val) / len(y),
                        n_iter_no_change=5, max_iter=MAX_EPOCHS, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    return clf, clf.n_iter_, lambda X: clf.predict(X / 255.0)


MODELS = {
    "LeNetClassifier": fit_sklenet,
    "plain scikeras KerasClassifier, same LeNet": fit_scikeras,
    "MLPClassifier (sklearn defaults + early stopping)": fit_mlp,
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--fashion-train", type=int, default=12000)
    parser.add_argument("--data", nargs="+", default=["sample", "fashion"])
    args = parser.parse_args()
    splits = {"sample": sample_split,
              "fashion": lambda: fashion_split(args.fashion_train)}
    print("| data | model | test accuracy (mean ± std) | epochs | fit s | "
          "fit time vs LeNetClassifier | predict s |")
    print("|---|---|---|---|---|---|---|")
    for data in args.data:
        X_train, y_train, X_val, y_val, X_test, y_test = splits[data]()
        base_time = None
        for name, fit in MODELS.items():
            scores, epochs, fit_times, predict_times = [], [], [], []
            for seed in range(args.seeds):
                start = time.perf_counter()
                _, n_epochs, predict = fit(seed, X_train, y_train, X_val, y_val)
                fit_times.append(time.perf_counter() - start)
                start = time.perf_counter()
                scores.append(np.mean(predict(X_test) == y_test))
                predict_times.append(time.perf_counter() - start)
                epochs.append(n_epochs)
            fit_time = np.median(fit_times)
            base_time = base_time or fit_time
            print(f"| {data} ({len(y_train)} train / {len(y_val)} val / "
                  f"{len(y_test)} test) | {name} | {np.mean(scores):.4f} ± "
                  f"{np.std(scores):.4f} | {np.mean(epochs):.0f} | {fit_time:.1f} | "
                  f"{fit_time / base_time:.2f} | {np.median(predict_times):.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
