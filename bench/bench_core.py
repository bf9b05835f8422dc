"""LeNetClassifier vs plain Keras: fit overhead and prediction throughput.

Same architecture (sklenet.build_lenet), same data, same epochs, no early
stopping; median of --repeats runs, each in this one process, interleaved.
Fit is compared at equal Keras settings (one batch per TensorFlow call, then
32) and as each comes by default (plain Keras: 1; LeNetClassifier: "auto",
which is 32 here).
Run: python bench/bench_core.py [--repeats 3] [--epochs 3]
"""

import argparse
import statistics
import time

import keras
import numpy as np

from sklenet import LeNetClassifier, build_lenet
from sklenet.datasets import load_mnist_idx, load_sample_digits


def plain_keras_fit(X, y, epochs, seed, steps_per_execution=1):
    """What a Keras user writes: seed, scale, build, compile, fit (all timed,
    as LeNetClassifier.fit does all of it)."""
    start = time.perf_counter()
    keras.utils.set_random_seed(seed)
    images = (X.reshape(-1, 28, 28, 1) / 255.0).astype("float32")
    model = build_lenet((28, 28, 1), 10)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  steps_per_execution=steps_per_execution)
    model.fit(images, y, batch_size=32, epochs=epochs, verbose=0)
    return time.perf_counter() - start, model


def sklenet_fit(X, y, epochs, seed, steps_per_execution="auto"):
    clf = LeNetClassifier(epochs=epochs, early_stopping=False, random_state=seed,
                          steps_per_execution=steps_per_execution)
    start = time.perf_counter()
    clf.fit(X, y)
    return time.perf_counter() - start, clf


def timed(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    X, y = load_sample_digits(return_X_y=True)
    n = len(y)

    fit_cases = {
        "plain Keras, 1 step per execution (Keras' default)":
            lambda seed: plain_keras_fit(X, y, args.epochs, seed),
        "LeNetClassifier(steps_per_execution=1)":
            lambda seed: sklenet_fit(X, y, args.epochs, seed, 1),
        "plain Keras, 32 steps per execution":
            lambda seed: plain_keras_fit(X, y, args.epochs, seed, 32),
        "LeNetClassifier() (auto: 32 here)":
            lambda seed: sklenet_fit(X, y, args.epochs, seed),
    }
    fit_times = {name: [] for name in fit_cases}
    for seed in range(args.repeats):
        for name, fn in fit_cases.items():
            fit_times[name].append(fn(seed)[0])
    fit_median = {name: statistics.median(t) for name, t in fit_times.items()}
    names = list(fit_cases)
    for name, seconds in fit_median.items():
        print(f"fit, {n} images x {args.epochs} epochs, {name}: {seconds:.2f} s "
              f"({n * args.epochs / seconds:.0f} img/s)")
    for a, b in [(1, 0), (3, 2), (3, 0)]:
        print(f"fit ratio {names[a]} / {names[b]}: "
              f"{fit_median[names[a]] / fit_median[names[b]]:.3f}")

    try:
        X_big, _ = load_mnist_idx("/usr/share/datasets/fashion-mnist",
                                  return_X_y=True)
    except FileNotFoundError:
        X_big = np.tile(X, (12, 1))
    _, model = plain_keras_fit(X, y, 1, 0)
    _, clf = sklenet_fit(X, y, 1, 0)
    images = (X_big.reshape(-1, 28, 28, 1) / 255.0).astype("float32")
    cases = {
        "plain Keras predict(batch_size=1024) on prepared float32 images":
            lambda: model.predict(images, batch_size=1024, verbose=0),
        "plain Keras predict(batch_size=1024) incl. scaling uint8":
            lambda: model.predict(
                (X_big.reshape(-1, 28, 28, 1) / 255.0).astype("float32"),
                batch_size=1024, verbose=0),
        "scikeras default (predict batch 32)":
            lambda: clf.predict_proba(X_big, batch_size=32),
        "LeNetClassifier.predict_proba (uint8 in)":
            lambda: clf.predict_proba(X_big),
    }
    for fn in cases.values():
        fn()  # warm-up: trace each predict function once
    # Round robin, so that drifting machine load hits every case alike.
    samples = {name: [] for name in cases}
    for _ in range(args.repeats):
        for name, fn in cases.items():
            samples[name].append(timed(fn))
    results = {name: statistics.median(times) for name, times in samples.items()}
    base = results["plain Keras predict(batch_size=1024) incl. scaling uint8"]
    for name, seconds in results.items():
        print(f"predict {len(X_big)} images, {name}: {seconds:.2f} s "
              f"({len(X_big) / seconds:.0f} img/s, throughput ratio vs Keras "
              f"{base / seconds:.2f})")


if __name__ == "__main__":
    main()
