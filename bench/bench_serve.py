"""``sklenet serve`` under load: latency of POST /predict on loopback.

Fits the standard LeNet on 2,000 images of the offline sample (3 epochs:
accuracy does not matter here), serves it in this process (uvicorn in a
thread, as the tests do) once with each runtime, onnxruntime and Keras, and
sends 200 requests from 8 concurrent clients (each its own connection) with
``tests.helpers.post_concurrently``, as the load test does: one request is
one digit, either 784 pixels as JSON or a 280x280 PNG drawing (the page's
request: decoded and put through ``mnist_preprocess`` by the server). Reports
p50 and p99 latency and the requests per second, after 16 warm-up requests.

Then ``GET /health`` latency beside the costliest requests the limits allow
(64 images of 256x256 pixels, one RGBA 2048x2048 drawing, 1,300 rows of
pixels: each about 2 MiB or MAX_PNG_PIXELS), sent for ``--load-seconds``
by 3 client processes to the onnxruntime server, while another process
polls ``/health`` every 50 ms (``--no-load`` skips it).

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


def costly_bodies():
    """JSON bodies of the costliest requests the server's limits allow."""
    import json

    import numpy as np
    from PIL import Image

    def png(image):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return base64.b64encode(buffer.getvalue()).decode()

    def stripes(side, mode):  # ink over the whole drawing: all of it is scaled
        grey = np.full((side, side), 255, dtype=np.uint8)
        grey[::7] = 0
        return Image.fromarray(grey).convert(mode)

    bodies = [{"image": [png(stripes(256, "L"))] * 64},
              {"image": png(stripes(2048, "RGBA"))},
              {"pixels": [[0] * 784] * 1300}]
    return [json.dumps(body, separators=(",", ":")) for body in bodies]


def post_for(url, bodies, seconds):
    """POST ``bodies`` in turn for ``seconds``; the statuses (a client process)."""
    import httpx

    statuses = []
    end = time.monotonic() + seconds
    with httpx.Client(timeout=120) as client:
        while time.monotonic() < end:
            body = bodies[len(statuses) % len(bodies)]
            statuses.append(client.post(url, content=body, headers={
                "Content-Type": "application/json"}).status_code)
    return statuses


def poll_health(url, seconds):
    """``GET /health`` latencies, every 50 ms for ``seconds`` (a process)."""
    import httpx

    latencies = []
    end = time.monotonic() + seconds
    with httpx.Client(timeout=60) as client:
        while time.monotonic() < end:
            start = time.perf_counter()
            client.get(f"{url}/health").raise_for_status()
            latencies.append(time.perf_counter() - start)
            time.sleep(0.05)
    return latencies


def health_under_load(clf, seconds, n_clients=3):
    """/health latency while ``n_clients`` processes send the costliest
    requests to a ``sklenet serve`` process of ``clf``."""
    import multiprocessing
    import re
    import subprocess
    import tempfile

    import numpy as np

    from sklenet.persistence import save

    bodies = costly_bodies()
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "model.sklenet"
        log = Path(tmp) / "serve.log"
        save(clf, model)
        server = subprocess.Popen(
            [sys.executable, "-m", "sklenet", "serve", "--model", str(model),
             "--port", "0"], stderr=log.open("w"), stdout=subprocess.DEVNULL)
        try:
            for _ in range(1200):
                found = re.search(r" on (http://\S+) ", log.read_text())
                if found or server.poll() is not None:
                    break
                time.sleep(0.2)
            url = found.group(1)
            # spawn: the parent holds TensorFlow's threads, which fork copies badly
            context = multiprocessing.get_context("spawn")
            with context.Pool(n_clients + 1) as pool:
                health = pool.apply_async(poll_health, (url, seconds + 2))
                time.sleep(1)
                posts = [pool.apply_async(post_for, (f"{url}/predict", bodies,
                                                     seconds))
                         for _ in range(n_clients)]
                statuses = [status for post in posts for status in post.get()]
                latencies = health.get()
        finally:
            server.terminate()
            server.wait(60)
    print(f"\n/health beside {n_clients} clients sending the costliest requests "
          f"({len(statuses)} answered in {seconds} s, "
          f"{sum(status != 200 for status in statuses)} failed): p50 "
          f"{1000 * np.median(latencies):.0f} ms, p99 "
          f"{1000 * np.percentile(latencies, 99):.0f} ms, max "
          f"{1000 * max(latencies):.0f} ms ({len(latencies)} polls)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--load-seconds", type=int, default=30)
    parser.add_argument("--no-load", action="store_true")
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
    if not args.no_load:
        health_under_load(clf, args.load_seconds)


if __name__ == "__main__":
    main()
