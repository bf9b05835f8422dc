"""``BEST_PARAMS`` against the study's LeNets and MLPClassifier.

The protocol of RESULTS.md section 4 (``bench_baselines.py``): the same
splits (sample 3,000 / 1,000 / 1,000; Fashion-MNIST 9,600 / 2,400 / 10,000),
seeds 0-2, early stopping on the validation part (patience 5, best weights),
the standard LeNet measured in the same run, interleaved seed by seed with
the other LeNets, so that the fit-time ratio compares like with like.

Two modes:

- ``--screen``: the candidates of :data:`CANDIDATES`, one or more seeds,
  scored on the VALIDATION part only (the choice of ``BEST_PARAMS`` never
  looks at the test part). ``--screen-train N`` screens on the first N
  training images (and a proportional share of validation images) to save
  time on Fashion-MNIST.
- default: the final table, test accuracy mean ± std over the seeds, epochs,
  median fit time and its ratio to the standard LeNet's.

Run::

    python bench/bench_best.py --screen --data sample --seeds 1
    python bench/bench_best.py --data sample --models standard best ensemble
    python bench/bench_best.py --data fashion --models standard best --seeds 3
"""

import argparse
import os
import time
from types import SimpleNamespace

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from bench_baselines import fashion_split, sample_split  # noqa: E402
from bench_baselines import fit_mlp as baseline_mlp  # noqa: E402

from sklenet import (  # noqa: E402
    BEST_PARAMS,
    OPTIMIZED_PARAMS,
    LeNetClassifier,
    LeNetEnsembleClassifier,
)

MAX_EPOCHS = 100  # the study's cap; recipes that set "epochs" keep theirs

#: What the modern options share in every candidate: a classic LeNet-5 body
#: (ReLU, max pooling, Flatten head), batch normalisation, dropout, label
#: smoothing, large batches with a larger learning rate and a cosine decay.
_MODERN = {
    "conv_activation": "relu",
    "dense_activation": "relu",
    "pooling": "max",
    "global_pooling": False,
    "batch_normalization": True,
    "dropout": 0.3,
    "label_smoothing": 0.1,
    "batch_size": 128,
    "learning_rate": 3e-3,
    "learning_rate_schedule": "cosine",
    "epochs": 30,
}
_AUGMENT = {"rotation_range": 10.0, "shift_range": 0.1, "zoom_range": 0.1}

#: The screened candidates, in the order they were screened (validation
#: accuracy in RESULTS.md, "Beyond the study"). A wider 32/64 candidate ("D")
#: was dropped unscreened: about 4x A's convolution cost, over the 2x budget.
CANDIDATES = {
    "A: 16/32 k5, dense 128/64, augmented": {
        **_MODERN, **_AUGMENT,
        "conv1_filters": 16, "conv2_filters": 32,
        "dense1_units": 128, "dense2_units": 64,
    },
    "B: A without augmentation": {
        **_MODERN,
        "conv1_filters": 16, "conv2_filters": 32,
        "dense1_units": 128, "dense2_units": 64,
    },
    "C: 20/40 k3, dense 128/64, augmented": {
        **_MODERN, **_AUGMENT,
        "conv1_filters": 20, "conv1_kernel_size": 3,
        "conv2_filters": 40, "conv2_kernel_size": 3,
        "dense1_units": 128, "dense2_units": 64,
    },
    "E: A with batch 64, learning rate 2e-3": {
        **_MODERN, **_AUGMENT,
        "conv1_filters": 16, "conv2_filters": 32,
        "dense1_units": 128, "dense2_units": 64,
        "batch_size": 64, "learning_rate": 2e-3,
    },
    "F: A with patience 10": {
        **_MODERN, **_AUGMENT,
        "conv1_filters": 16, "conv2_filters": 32,
        "dense1_units": 128, "dense2_units": 64,
        "n_iter_no_change": 10,
    },
    "G: A without batch normalisation": {
        **_MODERN, **_AUGMENT,
        "conv1_filters": 16, "conv2_filters": 32,
        "dense1_units": 128, "dense2_units": 64,
        "batch_normalization": False,
    },
    "H: E with patience 10": {
        **_MODERN, **_AUGMENT,
        "conv1_filters": 16, "conv2_filters": 32,
        "dense1_units": 128, "dense2_units": 64,
        "batch_size": 64, "learning_rate": 2e-3, "n_iter_no_change": 10,
    },
    # Issue 23: a stronger recipe within 2x the standard LeNet's fit time.
    # G stopped after about 16 of its 30 cosine epochs, before the low
    # learning rates of the end of the schedule.
    "I: G with patience 10": {**BEST_PARAMS, "n_iter_no_change": 10},
    "J: I with 24/48 filters": {
        **BEST_PARAMS, "n_iter_no_change": 10,
        "conv1_filters": 24, "conv2_filters": 48,
    },
    "K: I with 32/64 filters over 15 epochs": {
        **BEST_PARAMS, "n_iter_no_change": 10, "epochs": 15,
        "conv1_filters": 32, "conv2_filters": 64,
    },
}


def _lenet(params):
    def fit(seed, X_train, y_train, X_val, y_val):
        clf = LeNetClassifier(**{"epochs": MAX_EPOCHS, **params},
                              random_state=seed)
        clf.fit(X_train, y_train, validation_data=(X_val, y_val))
        return clf, clf.n_epochs_
    return fit


def fit_ensemble(seed, X_train, y_train, X_val, y_val):
    clf = LeNetEnsembleClassifier(**{"epochs": MAX_EPOCHS, **BEST_PARAMS},
                                  n_estimators=5, random_state=seed)
    clf.fit(X_train, y_train, validation_data=(X_val, y_val))
    return clf, sum(member.n_epochs_ for member in clf.estimators_)


def fit_mlp(seed, X_train, y_train, X_val, y_val):
    """MLPClassifier exactly as in section 4 (``bench_baselines.fit_mlp``)."""
    clf, n_iter, predict = baseline_mlp(seed, X_train, y_train, X_val, y_val)
    return SimpleNamespace(predict=predict), n_iter


MODELS = {
    "standard": ("standard LeNet (study defaults)", _lenet({})),
    "optimized": ("OPTIMIZED_PARAMS (study's model 2)", _lenet(OPTIMIZED_PARAMS)),
    "best": ("BEST_PARAMS", _lenet(BEST_PARAMS)),
    "ensemble": ("ensemble of 5 BEST_PARAMS", fit_ensemble),
    "mlp": ("MLPClassifier (sklearn defaults + early stopping)", fit_mlp),
}


def _augments(clf):
    """Whether ``clf`` (a LeNet or an ensemble of them) has augmentation."""
    return bool(clf.get_params().get("rotation_range")
                or clf.get_params().get("shift_range")
                or clf.get_params().get("zoom_range"))


def tta_scores(clf, X, y, copies):
    """``[(n, accuracy, predict seconds)]`` with test_time_augmentation=n for
    n in ``copies`` (0, plain predict, always first); the median of 3 timed
    predicts after a warm-up one."""
    results = []
    for n in [0, *copies]:
        clf.set_params(test_time_augmentation=n)
        predicted = clf.predict(X)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            clf.predict(X)
            times.append(time.perf_counter() - start)
        results.append((n, float(np.mean(predicted == y)), float(np.median(times))))
    clf.set_params(test_time_augmentation=0)
    return results


def _print_tta(label, results, n_images):
    plain_s = results[0][2]
    for n, accuracy, seconds in results[1:]:
        print(f"<!-- {label} TTA {n}: {accuracy:.4f} (plain {results[0][1]:.4f}, "
              f"gain {accuracy - results[0][1]:+.4f}), predict {seconds:.2f} s for "
              f"{n_images} images (plain {plain_s:.2f} s, "
              f"{(seconds - plain_s) / n / plain_s:.2f}x plain per copy), "
              f"load {os.getloadavg()[0]:.1f} -->", flush=True)


def _splits(args):
    return {"sample": sample_split,
            "fashion": lambda: fashion_split(args.fashion_train)}


def screen(args):
    """Validation accuracy of each candidate (the standard LeNet first)."""
    candidates = {name: params for name, params in CANDIDATES.items()
                  if not args.candidates or name.split(":")[0] in args.candidates}
    candidates = {"standard LeNet": {}, **candidates}
    print("| data | candidate | validation accuracy (mean ± std) | epochs | "
          "fit s | fit time vs standard |")
    print("|---|---|---|---|---|---|")
    for data in args.data:
        X_train, y_train, X_val, y_val, _, _ = _splits(args)[data]()
        if args.screen_train:
            n_val = args.screen_train * len(y_val) // len(y_train)
            X_train, y_train = X_train[:args.screen_train], y_train[:args.screen_train]
            X_val, y_val = X_val[:n_val], y_val[:n_val]
        base_time = None
        for name, params in candidates.items():
            scores, epochs, times = [], [], []
            for seed in range(args.seeds):
                start = time.perf_counter()
                clf, n_epochs = _lenet(params)(seed, X_train, y_train, X_val, y_val)
                times.append(time.perf_counter() - start)
                scores.append(np.mean(clf.predict(X_val) == y_val))
                epochs.append(n_epochs)
                if args.tta and _augments(clf):
                    _print_tta(f"{data} seed {seed} {name} validation",
                               tta_scores(clf, X_val, y_val, args.tta), len(y_val))
            fit_time = np.median(times)
            base_time = base_time or fit_time
            print(f"| {data} ({len(y_train)} / {len(y_val)}) | {name} | "
                  f"{np.mean(scores):.4f} ± {np.std(scores):.4f} | "
                  f"{round(np.mean(epochs))} | {fit_time:.1f} | "
                  f"{fit_time / base_time:.2f} |", flush=True)


def final(args):
    """Test accuracy of the chosen models, seeds interleaved."""
    print("| data | model | test accuracy (mean ± std) | epochs | fit s | "
          "fit time vs standard LeNet |")
    print("|---|---|---|---|---|---|")
    for data in args.data:
        X_train, y_train, X_val, y_val, X_test, y_test = _splits(args)[data]()
        results = {key: ([], [], []) for key in args.models}
        tta = {key: [] for key in args.models}
        for seed in range(args.seeds):
            # Seed by seed, so that a change of machine load hits every model.
            for key in args.models:
                if key == "ensemble" and seed >= args.ensemble_seeds:
                    continue
                scores, epochs, times = results[key]
                start = time.perf_counter()
                clf, n_epochs = MODELS[key][1](seed, X_train, y_train, X_val, y_val)
                times.append(time.perf_counter() - start)
                scores.append(np.mean(clf.predict(X_test) == y_test))
                epochs.append(n_epochs)
                # Per seed, so that an interrupted run still leaves numbers.
                print(f"<!-- {data} seed {seed} {key}: test {scores[-1]:.4f}, "
                      f"{n_epochs} epochs, {times[-1]:.1f} s, load "
                      f"{os.getloadavg()[0]:.1f} -->", flush=True)
                if args.tta and key != "mlp" and _augments(clf):
                    # The number of copies is chosen on validation data.
                    _print_tta(f"{data} seed {seed} {key} validation",
                               tta_scores(clf, X_val, y_val, args.tta), len(y_val))
                    tta[key].append(tta_scores(clf, X_test, y_test, args.tta))
                    _print_tta(f"{data} seed {seed} {key}", tta[key][-1],
                               len(y_test))
                if key == "ensemble":
                    members = [np.mean(m.predict(X_test) == y_test)
                               for m in clf.estimators_]
                    print(f"<!-- {data} seed {seed}: ensemble {scores[-1]:.4f}, "
                          f"members {np.round(members, 4).tolist()}, mean "
                          f"{np.mean(members):.4f}, gain "
                          f"{scores[-1] - np.mean(members):+.4f} -->", flush=True)
        base = np.median(results["standard"][2]) if "standard" in results else None
        for key, (scores, epochs, times) in results.items():
            ratio = f"{np.median(times) / base:.2f}" if base else "n/a"
            print(f"| {data} ({len(y_train)} train / {len(y_val)} val / "
                  f"{len(y_test)} test) | {MODELS[key][0]} | {np.mean(scores):.4f} "
                  f"± {np.std(scores):.4f} | {round(np.mean(epochs))} | "
                  f"{np.median(times):.1f} | {ratio} |", flush=True)
            for index, n in enumerate(args.tta if tta[key] else []):
                gains = [seed_results[index + 1][1] - seed_results[0][1]
                         for seed_results in tta[key]]
                accuracies = [seed_results[index + 1][1] for seed_results in tta[key]]
                cost = np.median([(r[index + 1][2] - r[0][2]) / n / r[0][2]
                                  for r in tta[key]])
                print(f"| {data} | {MODELS[key][0]} + test_time_augmentation={n} "
                      f"| {np.mean(accuracies):.4f} ± {np.std(accuracies):.4f} "
                      f"(gain {np.mean(gains):+.4f}) | | predict: +{cost:.2f}x "
                      "plain per copy | |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screen", action="store_true",
                        help="score CANDIDATES on the validation part")
    parser.add_argument("--candidates", nargs="+",
                        help="screen only these candidate letters (the "
                             "standard LeNet is always screened first)")
    parser.add_argument("--screen-train", type=int, default=None,
                        help="screen on the first N training images")
    parser.add_argument("--tta", type=int, nargs="+", default=[],
                        help="also score augmented models with these numbers "
                             "of test-time augmentation copies")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--ensemble-seeds", type=int, default=3,
                        help="fit the ensemble for the first N seeds only")
    parser.add_argument("--fashion-train", type=int, default=12000)
    parser.add_argument("--data", nargs="+", default=["sample", "fashion"],
                        choices=["sample", "fashion"])
    parser.add_argument("--models", nargs="+", default=list(MODELS),
                        choices=list(MODELS))
    args = parser.parse_args()
    screen(args) if args.screen else final(args)


if __name__ == "__main__":
    main()
