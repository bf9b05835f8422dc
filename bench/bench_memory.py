"""Memory: peak RSS of prediction on 70,000 images, and RSS across 50 fits.

Each case runs in a fresh child process. Peak RSS of a call is measured
exactly with Linux' high-water mark: ``/proc/self/clear_refs`` is reset to the
current RSS just before the call and ``VmHWM`` read just after it; the table
gives the peak above the RSS before the call.

Run: python bench/bench_memory.py [--fits 50]
"""

import argparse
import json
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PREDICT_CASES = (
    "plain Keras predict(batch_size=1024), float32 scaled first",
    "LeNetClassifier.predict_proba, uint8 in",
)
FIT_CASES = ("plain Keras", "LeNetClassifier")


def status_mb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(field)


def peak_above_current(fn):
    """Run fn(); return (peak RSS above the RSS before, in MB, result)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    before = status_mb("VmRSS")
    result = fn()
    return status_mb("VmHWM") - before, result


def fashion():
    import numpy as np

    from sklenet.datasets import load_mnist_idx

    directory = "/usr/share/datasets/fashion-mnist"
    X_train, y_train = load_mnist_idx(directory, return_X_y=True)
    X_test, y_test = load_mnist_idx(directory, kind="test", return_X_y=True)
    return np.concatenate([X_train, X_test]), np.concatenate([y_train, y_test])


def predict_case(case):

    from sklenet import LeNetClassifier

    X, y = fashion()
    clf = LeNetClassifier(epochs=1, early_stopping=False, random_state=0)
    clf.fit(X[:2000], y[:2000])
    clf.predict_proba(X[:2048])  # trace the predict function first
    model = clf.model_

    def keras_predict():
        images = (X.reshape(-1, 28, 28, 1) / 255.0).astype("float32")
        return model.predict(images, batch_size=1024, verbose=0)

    if case == PREDICT_CASES[0]:
        keras_predict()  # same warm-up of Keras' own path
        peak, proba = peak_above_current(keras_predict)
    else:
        peak, proba = peak_above_current(lambda: clf.predict_proba(X))
    assert proba.shape == (len(X), 10)
    return {"peak_mb": peak, "input_mb": X.nbytes / 2**20,
            "n_images": len(X)}


def fit_case(case, n_fits):
    import gc

    import keras
    import numpy as np

    from sklenet import LeNetClassifier, build_lenet

    X = np.random.RandomState(0).randint(0, 256, (40, 784)).astype(np.uint8)
    y = np.arange(40) % 4
    rss = []
    for i in range(n_fits):
        if case == "plain Keras":
            keras.utils.set_random_seed(i)
            model = build_lenet((28, 28, 1), 4, seed=i)
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            model.fit(X.reshape(-1, 28, 28, 1) / 255.0, y, epochs=1, verbose=0)
        else:
            LeNetClassifier(epochs=1, early_stopping=False, random_state=i).fit(X, y)
        gc.collect()
        rss.append(status_mb("VmRSS"))
    return {"rss_after_first_10": rss[9], "rss_last": rss[-1],
            "mb_per_fit": (rss[-1] - rss[9]) / (n_fits - 10)}


def run_child(*args):
    out = subprocess.run([sys.executable, __file__, "--child", *args],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--fits", type=int, default=50)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, case = args.child[0], args.child[1]
        result = (predict_case(case) if kind == "predict"
                  else fit_case(case, int(args.child[2])))
        print(json.dumps(result))
        return

    print("| prediction on Fashion-MNIST, 70,000 images | peak RSS above before "
          "the call | ratio |")
    print("|---|---|---|")
    peaks = {case: run_child("predict", case) for case in PREDICT_CASES}
    base = peaks[PREDICT_CASES[0]]["peak_mb"]
    for case, r in peaks.items():
        print(f"| {case} | {r['peak_mb']:.0f} MB | {r['peak_mb'] / base:.2f} |")
    print(f"\n(the uint8 input itself: {r['input_mb']:.0f} MB)\n")
    print(f"| {args.fits} fits in one process | RSS after 10 fits | after "
          f"{args.fits} | growth per fit |")
    print("|---|---|---|---|")
    for case in FIT_CASES:
        r = run_child("fit", case, str(args.fits))
        print(f"| {case} | {r['rss_after_first_10']:.0f} MB | {r['rss_last']:.0f} "
              f"MB | {r['mb_per_fit']:.2f} MB |")


if __name__ == "__main__":
    main()
