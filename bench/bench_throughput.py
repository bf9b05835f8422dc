"""Training throughput of the standard and optimised LeNet on this CPU.

Plain Keras defaults against the settings that might give headroom: batches
per TensorFlow call (``steps_per_execution``), XLA (``jit_compile``), a
``tf.data`` input pipeline with prefetching, TensorFlow's thread pools and
oneDNN. Then ``LeNetClassifier`` with its defaults (``steps_per_execution=
"auto"``), i.e. what sklenet kept. Steady throughput is the median over
epochs 2.. (epoch 1 includes tracing); "fit" is the whole ``model.fit``.

Thread and oneDNN settings only take effect before TensorFlow starts, so each
of those runs in a child process of this script. Median of --repeats fits,
variants interleaved.

Run: python bench/bench_throughput.py [--repeats 3] [--epochs 3] [--n 20000]
     [--sweep]   (only plain Keras at 1, 4, 8, 16, 32 and 64 steps per execution)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

IN_PROCESS = {
    "plain Keras defaults": {},
    "steps_per_execution=8": {"steps_per_execution": 8},
    "steps_per_execution=32": {"steps_per_execution": 32},
    "jit_compile=True (XLA)": {"jit_compile": True},
    "tf.data pipeline + prefetch": {"tf_data": True},
    "LeNetClassifier defaults": {"sklenet": True},
}
CHILD_PROCESS = {
    "1 intra-op + 1 inter-op thread": {"TF_NUM_INTRAOP_THREADS": "1",
                                       "TF_NUM_INTEROP_THREADS": "1"},
    "oneDNN off": {"TF_ENABLE_ONEDNN_OPTS": "0"},
}


def load(n):
    from sklenet.datasets import load_mnist_idx, load_sample_digits

    if n <= 5000:
        X, y = load_sample_digits(return_X_y=True)
        return X[:n], y[:n], "offline MNIST sample"
    X, y = load_mnist_idx("/usr/share/datasets/fashion-mnist", return_X_y=True)
    return X[:n], y[:n], "Fashion-MNIST"


def fit_once(params, X, y, epochs, seed, steps_per_execution=1,
             jit_compile=False, tf_data=False, sklenet=False):
    import keras
    import tensorflow as tf

    from sklenet import LeNetClassifier, build_lenet

    epoch_times = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            epoch_times.append(time.perf_counter() - self.start)

    start = time.perf_counter()
    if sklenet:
        LeNetClassifier(**params, epochs=epochs, early_stopping=False,
                        random_state=seed, callbacks=[EpochTimer()]).fit(X, y)
    else:
        keras.utils.set_random_seed(seed)
        images = (X.reshape(-1, 28, 28, 1) / 255.0).astype("float32")
        model = build_lenet((28, 28, 1), 10, seed=seed, **params)
        model.compile(optimizer=keras.optimizers.Adam(1e-3),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      steps_per_execution=steps_per_execution,
                      jit_compile=jit_compile)
        if tf_data:
            data = (tf.data.Dataset.from_tensor_slices((images, y))
                    .shuffle(len(y), seed=seed).batch(32)
                    .prefetch(tf.data.AUTOTUNE))
            model.fit(data, epochs=epochs, verbose=0, callbacks=[EpochTimer()])
        else:
            model.fit(images, y, batch_size=32, epochs=epochs, verbose=0,
                      callbacks=[EpochTimer()])
    return {"fit": time.perf_counter() - start,
            "steady": len(y) / statistics.median(epoch_times[1:])}


def measure(variants, args):
    """{model: {variant: {"fit": s, "steady": img/s}}}, medians of repeats."""
    from sklenet import OPTIMIZED_PARAMS, STANDARD_PARAMS

    X, y, _ = load(args.n)
    models = {"standard": STANDARD_PARAMS, "optimised": OPTIMIZED_PARAMS}
    results = {}
    for model, params in models.items():
        samples = {name: [] for name in variants}
        fit_once(params, X, y, 2, 0)  # warm-up
        for seed in range(args.repeats):
            for name, settings in variants.items():
                samples[name].append(fit_once(params, X, y, args.epochs, seed,
                                              **settings))
        results[model] = {
            name: {key: statistics.median(s[key] for s in runs)
                   for key in ("fit", "steady")}
            for name, runs in samples.items()
        }
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # plain Keras defaults under this process' environment
        print(json.dumps(measure({"child": {}}, args)))
        return

    if args.sweep:
        variants = {"plain Keras defaults": {}}
        variants.update({f"steps_per_execution={k}": {"steps_per_execution": k}
                         for k in (4, 8, 16, 32, 64)})
        children = {}
    else:
        variants, children = IN_PROCESS, CHILD_PROCESS
    results = measure(variants, args)
    for name, env in children.items():
        out = subprocess.run(
            [sys.executable, __file__, "--child", "--repeats", str(args.repeats),
             "--epochs", str(args.epochs), "--n", str(args.n)],
            env={**os.environ, **env}, capture_output=True, text=True, check=True,
        ).stdout
        child = json.loads(out.strip().splitlines()[-1])
        for model in results:
            results[model][name] = child[model]["child"]

    _, _, data = load(args.n)
    print(f"{data}, {args.n} images x {args.epochs} epochs, batch 32, "
          f"median of {args.repeats}\n")
    print("| model | variant | steady img/s | x defaults | whole fit s | x defaults |")
    print("|---|---|---|---|---|---|")
    for model, variants in results.items():
        base = variants["plain Keras defaults"]
        for name, r in variants.items():
            print(f"| {model} | {name} | {r['steady']:.0f} | "
                  f"{r['steady'] / base['steady']:.2f} | {r['fit']:.2f} | "
                  f"{r['fit'] / base['fit']:.2f} |")


if __name__ == "__main__":
    main()
