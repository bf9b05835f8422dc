"""``sklenet serve`` under load: latency of POST /predict on loopback.

Fits the standard LeNet on 2,000 images of the offline sample (3 epochs:
accuracy does not matter here), serves it in this process (uvicorn in a
thread, as the tests do) once with each runtime, onnxruntime and Keras, and
sends 200 requests from 8 concurrent clients (each its own connection) with
``tests.helpers.post_concurrently``, as the load test does: one request is
one digit, either 784 pixels as JSON or a 280x280 PNG drawing (the page's
request: decoded and put through ``mnist_preprocess`` by the server). Reports
p50 and p99 latency and the requests per second, after 16 warm-up requests.

Run from the repository root: python bench/bench_serve.py [--requests 200]
"""

import argparse
import base64
import io
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def png_drawing(row):
    """A sample digit as the page sends it: black ink on a white 280x280 PNG."""
    import numpy as np
    from PIL import Image

    ink = np.kron(row.reshape(28, 28) > 127, np.ones((10, 10)))
    buffer = io.BytesIO()
    Image.fromarray(np.where(ink > 0, 0, 255).astype(np.uint8)).save(
        buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()

    import numpy as np

    from sklenet import LeNetClassifier
    from sklenet.datasets import load_sample_digits
    from sklenet.serve import Predictor, create_app, running_server
    from tests.helpers import post_concurrently

    X, y = load_sample_digits(return_X_y=True)
    clf = LeNetClassifier(epochs=3, early_stopping=False, random_state=0).fit(
        X[::2][:2000], y[::2][:2000])
    rows = X[1::2][:args.requests]
    bodies = {
        "784 pixels (JSON)": [{"pixels": [row.tolist()]} for row in rows],
        "280x280 PNG drawing": [{"image": png_drawing(row)} for row in rows],
    }
    print(f"{args.requests} requests from {args.clients} clients, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print("| runtime | request | p50 | p99 | requests/s | failed |")
    print("|---|---|---:|---:|---:|---:|")
    for runtime in ("onnxruntime", "keras"):
        predictor = Predictor(clf, runtime=runtime)
        with running_server(create_app(predictor)) as url:
            for name, requests in bodies.items():
                post_concurrently(f"{url}/predict", requests, n_requests=16,
                                  n_clients=args.clients)  # warm-up
                start = time.perf_counter()
                statuses, latencies = post_concurrently(
                    f"{url}/predict", requests, n_requests=args.requests,
                    n_clients=args.clients)
                seconds = time.perf_counter() - start
                p50 = statistics.median(latencies)
                p99 = float(np.percentile(latencies, 99))
                failed = sum(status != 200 for status in statuses)
                print(f"| {runtime} | {name} | {1000 * p50:.1f} ms | "
                      f"{1000 * p99:.1f} ms | {len(statuses) / seconds:.0f} | "
                      f"{failed} |", flush=True)


if __name__ == "__main__":
    main()
