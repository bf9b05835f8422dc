"""Exported graphs: file sizes, agreement with predict_proba, inference speed.

Fits the standard LeNet, the optimised LeNet (``OPTIMIZED_PARAMS``) and a
10-member ensemble of standard LeNets on the offline digit sample (a few
epochs: accuracy does not matter here), exports each to ONNX, LiteRT and a
SavedModel, and reports

* the size of each export (the SavedModel: the whole folder);
* the largest absolute difference between the runtime's probabilities and
  ``predict_proba`` on the same images;
* on the same 10,000 Fashion-MNIST uint8 test images, the time of one call
  of ``predict_proba`` against one ``onnxruntime`` session run and one LiteRT
  signature call on all of them (defaults of every runtime), after a warm-up
  call each, interleaved round robin, median of --repeats; the ratio is
  ``predict_proba`` time / runtime time (> 1: the runtime is faster).

Run: python bench/bench_export.py [--repeats 3] [--n 10000]
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def folder_size(path):
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()

    import numpy as np
    import onnxruntime
    from ai_edge_litert.interpreter import Interpreter

    from sklenet import OPTIMIZED_PARAMS, LeNetClassifier, LeNetEnsembleClassifier
    from sklenet._export import export
    from sklenet.datasets import load_mnist_idx, load_sample_digits

    X_train, y_train = load_sample_digits(return_X_y=True)
    X_train, y_train = X_train[:2000], y_train[:2000]
    X, _ = load_mnist_idx("/usr/share/datasets/fashion-mnist", kind="test",
                          return_X_y=True)
    X = X[:args.n]
    fit = {"epochs": 2, "early_stopping": False, "random_state": 0}
    models = {
        "standard LeNet": LeNetClassifier(**fit),
        "optimised LeNet": LeNetClassifier(**OPTIMIZED_PARAMS, **fit),
        "ensemble of 10 standard LeNets": LeNetEnsembleClassifier(
            n_estimators=10, **fit),
    }
    folder = Path(tempfile.mkdtemp())
    print(f"{len(X):,} images, uint8; {args.repeats} repeats, round robin\n")
    print("| model | format | size | export time | max abs diff vs predict_proba |")
    print("|---|---|---|---|---|")
    runners = {}
    for name, model in models.items():
        model.fit(X_train, y_train)
        expected = model.predict_proba(X)
        for format in ("onnx", "tflite", "saved_model"):
            path = folder / f"{len(runners)}.{format}"
            start = time.perf_counter()
            export(model, path, format=format)
            seconds = time.perf_counter() - start
            if format == "onnx":
                session = onnxruntime.InferenceSession(path)
                run = (lambda s: lambda: s.run(["probabilities"], {"pixels": X})[0])(
                    session)
            elif format == "tflite":
                runner = Interpreter(model_path=str(path)).get_signature_runner()
                run = (lambda r: lambda: r(pixels=X)["probabilities"])(runner)
            else:
                import tensorflow as tf

                serve = tf.saved_model.load(str(path)).signatures["serving_default"]
                run = (lambda f: lambda: f(pixels=tf.constant(X))[
                    "probabilities"].numpy())(serve)
            diff = np.abs(run() - expected).max()
            print(f"| {name} | {format} | {folder_size(path) / 1024:,.0f} KiB | "
                  f"{seconds:.1f} s | {diff:.1e} |")
            if format != "saved_model":
                runners[(name, format)] = run
        runners[(name, "predict_proba")] = (lambda m: lambda: m.predict_proba(X))(
            model)

    times = {key: [] for key in runners}
    for run in runners.values():
        run()  # warm-up
    for _ in range(args.repeats):
        for key, run in runners.items():
            start = time.perf_counter()
            run()
            times[key].append(time.perf_counter() - start)
    print("\n| model | predict_proba | onnxruntime | ratio | LiteRT | ratio |")
    print("|---|---|---|---|---|---|")
    for name in models:
        base = statistics.median(times[(name, "predict_proba")])
        ort = statistics.median(times[(name, "onnx")])
        lite = statistics.median(times[(name, "tflite")])
        print(f"| {name} | {base:.2f} s | {ort:.2f} s | **{base / ort:.2f}x** | "
              f"{lite:.2f} s | {base / lite:.2f}x |")


if __name__ == "__main__":
    main()
