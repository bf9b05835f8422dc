"""sklenet.serve: mnist_preprocess, the HTTP endpoints, a load test and the
``sklenet serve`` command (the page in a real browser: test_serve_browser.py)."""

import base64
import io
import json
import re
import signal
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest
from PIL import Image

from sklenet import LeNetClassifier
from sklenet.cli import main
from sklenet.datasets import load_sample_digits
from sklenet.serve import (
    MAX_BODY_BYTES,
    Predictor,
    create_app,
    mnist_preprocess,
    png_ink,
    running_server,
)

from ..helpers import post_concurrently


def _png(array):
    """PNG bytes of a uint8 grey (or RGBA) array."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _b64(data):
    return base64.b64encode(data).decode("ascii")


def _drawing(digit, scale=10, offset=(30, 50), size=(400, 420)):
    """A sample digit as a thresholded drawing: black ink on white paper,
    ``scale`` times larger, anywhere on a larger canvas."""
    ink = np.kron(np.asarray(digit).reshape(28, 28) > 127, np.ones((scale, scale)))
    paper = np.full(size, 255, dtype=np.uint8)
    top, left = offset
    paper[top:top + ink.shape[0], left:left + ink.shape[1]][ink > 0] = 0
    return paper


# ------------------------------------------------------------ preprocessing
def test_mnist_digits_are_already_preprocessed():
    # MNIST was made this way: its digits come back unchanged.
    X, _ = load_sample_digits(return_X_y=True)
    rows = X[::10]
    same = [np.array_equal(mnist_preprocess(row.reshape(28, 28)).ravel(), row)
            for row in rows]
    assert np.mean(same) > 0.98


def test_a_digit_fits_a_20_pixel_box_centred_by_its_mass():
    rng = np.random.default_rng(0)
    for _ in range(20):
        canvas = np.zeros((300, 200))
        top, left = rng.integers(0, 150), rng.integers(0, 100)
        height, width = rng.integers(10, 150), rng.integers(5, 100)
        canvas[top:top + height, left:left + width] = rng.uniform(0.2, 1,
                                                                  (height, width))
        digit = mnist_preprocess(canvas).astype(float)
        rows, cols = np.flatnonzero(digit.any(1)), np.flatnonzero(digit.any(0))
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 == 20
        centre = [(np.indices(digit.shape)[axis] * digit).sum() / digit.sum()
                  for axis in (0, 1)]
        assert np.allclose(centre, 14, atol=0.75)


def test_where_a_digit_is_drawn_does_not_matter():
    X, _ = load_sample_digits(return_X_y=True)
    first = mnist_preprocess(png_ink(_png(_drawing(X[1234], offset=(0, 0)))))
    moved = mnist_preprocess(png_ink(_png(_drawing(X[1234], offset=(70, 110)))))
    assert np.array_equal(first, moved)


def test_a_large_drawing_becomes_its_mnist_digit(fitted):
    clf, X_test, y_test = fitted
    rows = np.array([mnist_preprocess(png_ink(_png(_drawing(row)))).ravel()
                     for row in X_test[:100]])
    correlation = [np.corrcoef(a, b)[0, 1] for a, b in zip(rows, X_test[:100])]
    assert np.median(correlation) > 0.8
    assert np.mean(clf.predict(rows) == y_test[:100]) > 0.8


@pytest.mark.parametrize("image, expected", [
    (np.zeros((3, 28, 28)), "2-D"),
    (np.zeros((28, 28)), "no ink"),
    (np.full((28, 28), 300), "from 0 to 255"),
    (np.full((28, 28), 1.5), "from 0 to 1.0"),
    (np.full((28, 28), np.nan), "NaN"),
    (np.full((28, 28), "a"), "numbers"),
])
def test_mnist_preprocess_refuses_bad_images(image, expected):
    with pytest.raises(ValueError, match=expected):
        mnist_preprocess(image)


def test_png_ink_reads_both_kinds_of_paper():
    ink = np.zeros((40, 40), dtype=np.uint8)
    ink[10:30, 18:22] = 255
    on_white = png_ink(_png(255 - ink))
    on_black = png_ink(_png(ink))
    strokes = np.zeros((40, 40, 4), dtype=np.uint8)  # transparent canvas
    strokes[..., 3] = ink
    assert np.array_equal(on_white, ink / 255)
    assert np.array_equal(on_black, ink / 255)
    assert np.array_equal(png_ink(_png(strokes)), ink / 255)


def test_png_ink_refuses_what_is_no_png():
    buffer = io.BytesIO()
    Image.new("L", (8, 8)).save(buffer, format="JPEG")
    for data in (b"not an image", buffer.getvalue(), _png(np.zeros((1, 28)))[:20]):
        with pytest.raises(ValueError, match=r"not a PNG image: it begins with b'"):
            png_ink(data)
    with pytest.raises(ValueError, match="not a readable PNG"):
        png_ink(_png(np.zeros((1, 28)))[:40])
    with pytest.raises(ValueError, match=r"4194305x1 pixels \(4,194,305\); at most "
                                         r"4,194,304 are decoded"):
        png_ink(_png(np.zeros((1, 4194305))))


# ---------------------------------------------------------------- the server
@pytest.mark.parametrize("runtime", ["onnxruntime", "keras"])
def test_the_server_answers_without_test_time_augmentation(fitted, runtime):
    """Both runtimes answer the probabilities of test_time_augmentation=0."""
    clf, X_test, _ = fitted
    augmented = LeNetClassifier(rotation_range=15, shift_range=0.1,
                                epochs=1, early_stopping=False, random_state=0)
    augmented.fit(X_test, np.arange(len(X_test)) % 10)
    plain = augmented.predict_proba(X_test)
    augmented.set_params(test_time_augmentation=3)
    assert np.abs(augmented.predict_proba(X_test) - plain).max() > 0
    with pytest.warns(UserWarning, match="without test-time augmentation"):
        predictor = Predictor(augmented, runtime=runtime)
    np.testing.assert_allclose(predictor.predict_proba(X_test), plain,
                               rtol=0, atol=1e-5)


@pytest.fixture(scope="module", params=["onnxruntime", "keras"])
def server(request, fitted):
    """``(url, predictor)`` of a server in this process, on a free port."""
    predictor = Predictor(fitted[0], runtime=request.param, name="test model",
                          test_accuracy=0.5)
    with running_server(create_app(predictor)) as url:
        yield url, predictor


def test_health_and_model(server, fitted):
    url, predictor = server
    assert httpx.get(f"{url}/health").json() == {"status": "ok"}
    model = httpx.get(f"{url}/model").json()
    assert model == {
        "name": "test model", "estimator": "LeNetClassifier",
        "classes": list(range(10)), "n_features": 784, "image_shape": [28, 28],
        "input": "grey levels 0-255, 0 background, row by row",
        "runtime": predictor.runtime, "test_accuracy": 0.5,
    }
    assert predictor.runtime == predictor.describe()["runtime"]


def test_the_page_and_its_files_come_from_the_server(server):
    url, _ = server
    page = httpx.get(url)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sorted(assets) == ["/static/app.js", "/static/style.css"]  # no CDN
    for asset in assets:
        assert httpx.get(url + asset).status_code == 200


def test_predict_pixels_gives_the_models_probabilities(server, fitted):
    url, _ = server
    clf, X_test, y_test = fitted
    answer = httpx.post(f"{url}/predict",
                        json={"pixels": X_test[:50].tolist()}).json()
    assert answer["classes"] == list(range(10))
    assert np.allclose(answer["probabilities"], clf.predict_proba(X_test[:50]),
                       atol=1e-5)
    assert answer["labels"] == clf.predict(X_test[:50]).tolist()
    assert np.mean(np.array(answer["labels"]) == y_test[:50]) > 0.8
    assert "pixels" not in answer


def test_predict_images_gives_what_the_model_saw(server, fitted):
    url, _ = server
    clf, X_test, _ = fitted
    drawings = [_png(_drawing(row)) for row in X_test[:3]]
    seen = np.array([mnist_preprocess(png_ink(data)).ravel() for data in drawings])
    batch = httpx.post(f"{url}/predict",
                       json={"image": [_b64(data) for data in drawings]}).json()
    assert batch["pixels"] == seen.tolist()
    assert batch["labels"] == clf.predict(seen).tolist()
    one = httpx.post(f"{url}/predict", json={
        "image": "data:image/png;base64," + _b64(drawings[0])}).json()
    assert one["pixels"] == seen[:1].tolist()


ROW = [0] * 784
JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("body, status, expected", [
    (b"{not json", 400, "not valid JSON"),
    (b"\xff\xfe", 400, "not valid JSON"),
    (b"[1, 2]", 422, "JSON object"),
    (json.dumps({"pixel": [ROW]}).encode(), 422, "JSON object"),
    (json.dumps({"pixels": [ROW], "image": ""}).encode(), 422, "JSON object"),
    (json.dumps({"pixels": []}).encode(), 422, "non-empty list"),
    (json.dumps({"pixels": ROW}).encode(), 422, r"wrap a single row"),
    (json.dumps({"pixels": [ROW, ROW[1:]]}).encode(), 422, "row 1 has 783 values"),
    (json.dumps({"pixels": [ROW + [0]]}).encode(), 422, "785 values"),
    (json.dumps({"pixels": [ROW[1:] + ["7"]]}).encode(), 422,
     'value 783 is "7", not a number'),
    (json.dumps({"pixels": [[True] + ROW[1:]]}).encode(), 422, "true, not a number"),
    (json.dumps({"pixels": [[None] + ROW[1:]]}).encode(), 422, "null, not a number"),
    (("{\"pixels\": [[NaN" + ", 0" * 783 + "]]}").encode(), 422, "not a number"),
    (json.dumps({"pixels": [ROW[1:] + [256]]}).encode(), 422, "out of the grey"),
    (json.dumps({"pixels": [[-0.5] + ROW[1:]]}).encode(), 422, "out of the grey"),
    (json.dumps({"image": 5}).encode(), 422, "base64 PNG string"),
    (json.dumps({"image": []}).encode(), 422, "base64 PNG string"),
    (json.dumps({"image": "not base64!"}).encode(), 400, "not valid base64"),
    (json.dumps({"image": _b64(b"GIF89a...")}).encode(), 422,
     r"^the image: The data is not a PNG image: it begins with b'GIF89a\.\.\.',"),
    (json.dumps({"image": _b64(_png(np.full((50, 50), 255)))}).encode(), 422,
     "no ink"),
    (json.dumps({"image": ["", _b64(b"x")]}).encode(), 422,
     "^image 0 of the request: The data is not a PNG image: it begins with b''"),
])
def test_bad_requests_get_a_4xx_naming_the_problem(server, body, status, expected):
    url, _ = server
    response = httpx.post(f"{url}/predict", content=body, headers=JSON)
    assert response.status_code == status
    assert re.search(expected, response.json()["error"]), response.json()
    assert httpx.get(f"{url}/health").status_code == 200  # still serving


def test_too_large_bodies_are_refused_unread(server):
    url, _ = server
    body = b" " * (MAX_BODY_BYTES + 1)
    declared = httpx.post(f"{url}/predict", content=body, headers=JSON)

    def chunks():  # no Content-Length: the limit applies while reading
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b" " * 65536

    streamed = httpx.post(f"{url}/predict", content=chunks(), headers=JSON)
    for response in (declared, streamed):
        assert response.status_code == 413
        assert "exceeds the limit of 2,097,152 bytes" in response.json()["error"]
    assert httpx.get(f"{url}/health").status_code == 200


def test_unknown_paths_and_methods_get_json_errors(server):
    url, _ = server
    missing = httpx.get(f"{url}/nothing-here")
    wrong_method = httpx.get(f"{url}/predict")
    assert (missing.status_code, wrong_method.status_code) == (404, 405)
    assert missing.json() == {"error": "Not Found"}
    assert wrong_method.json() == {"error": "Method Not Allowed"}


@pytest.mark.parametrize("runtime", [
    "onnxruntime",
    pytest.param("keras", marks=pytest.mark.slow),  # ~30 s: one request at a time
])
def test_200_requests_from_8_clients_are_all_answered(runtime, fitted):
    app = create_app(Predictor(fitted[0], runtime=runtime))
    with running_server(app) as url:
        statuses, latencies = post_concurrently(
            f"{url}/predict", [{"pixels": [row.tolist()]} for row in fitted[1]])
    assert statuses == [200] * 200
    assert max(latencies) < 30  # bounded; p50/p99 in bench/RESULTS.md


def _ensemble(X, y):
    from sklenet import LeNetEnsembleClassifier

    return LeNetEnsembleClassifier(n_estimators=2, epochs=1, early_stopping=False,
                                   random_state=0).fit(X, y)


def _search(X, y, refit=True):
    from sklenet import LeNetClassifier, LeNetSearchCV

    return LeNetSearchCV(LeNetClassifier(epochs=1, early_stopping=False),
                         {"conv1_filters": [3]}, n_trials=1, cv=2, refit=refit,
                         random_state=0).fit(X, y)


def _on_floats(X, y):
    from sklenet import LeNetClassifier

    clf = LeNetClassifier(epochs=1, early_stopping=False, random_state=0)
    return clf.fit((X / 255).astype(np.float32), y)


@pytest.mark.parametrize("make", [_ensemble, _search, _on_floats])
def test_every_kind_of_model_is_served_as_it_predicts(make):
    X, y = load_sample_digits(return_X_y=True)
    model = make(X[::25], y[::25])
    expected = model.predict_proba(
        (X[1::250] / 255).astype(np.float32) if make is _on_floats else X[1::250])
    for runtime in ("onnxruntime", "keras"):
        predictor = Predictor(model, runtime=runtime)
        assert predictor.runtime == runtime
        assert np.allclose(predictor.predict_proba(X[1::250]), expected, atol=1e-5)
        assert predictor.describe()["estimator"] == type(model).__name__


def test_the_predictor_refuses_models_it_cannot_serve(fitted):
    from sklearn.linear_model import LogisticRegression

    from sklenet import LeNetClassifier

    with pytest.raises(ValueError, match="runtime='gpu'"):
        Predictor(fitted[0], runtime="gpu")
    with pytest.raises(TypeError, match="LogisticRegression"):
        Predictor(LogisticRegression())
    X, y = load_sample_digits(return_X_y=True)
    with pytest.raises(ValueError, match="refit=False"):
        Predictor(_search(X[::25], y[::25], refit=False))
    small = LeNetClassifier(epochs=1, early_stopping=False, image_shape=(14, 56),
                            pool2_size=1).fit(X[::50], y[::50])
    with pytest.raises(ValueError, match=r"28x28 grey images.*\(14, 56, 1\)"):
        Predictor(small, runtime="keras")


# ------------------------------------------------------------ command line
def _one_error_line(capsys, expected):
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert re.search(expected, err), err


def test_the_help_states_the_servers_limits():
    from sklenet.cli.serve import DESCRIPTION
    from sklenet.serve import (
        IDLE_TIMEOUT,
        MAX_CONNECTIONS,
        MAX_IMAGES,
        MAX_PNG_PIXELS,
        REQUEST_TIMEOUT,
    )

    text = " ".join(DESCRIPTION.split())
    for limit in (f"at most {MAX_BODY_BYTES // 2**20} MiB",
                  f"at most {MAX_IMAGES} images of {MAX_PNG_PIXELS:,} pixels",
                  f"idle for {IDLE_TIMEOUT} s", f"whole {REQUEST_TIMEOUT} s",
                  f"with {MAX_CONNECTIONS} open, requests get 503"):
        assert limit in text


def test_serve_without_the_extra_names_it(model_file, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "starlette", None)  # import fails
    assert main(["serve", "--model", str(model_file)]) == 1
    _one_error_line(capsys, r'pip install "sklenet\[serve\]"')


def test_serve_user_errors_are_one_line(model_file, tmp_path, capsys):
    assert main(["serve", "--model", str(tmp_path / "missing.sklenet")]) == 1
    _one_error_line(capsys, r"sklenet serve: error: --model .*missing.sklenet")
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--model", str(model_file), "--port", "70000"])
    assert exit_info.value.code == 2
    _one_error_line(capsys, "not a port number")
    with pytest.raises(SystemExit):
        main(["serve"])  # --model or --model-type
    _one_error_line(capsys, "one of the arguments --model --model-type")


def test_serve_reports_a_taken_port_in_one_line(model_file, capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--model", str(model_file), "--runtime", "keras",
                     "--port", str(port)]) == 1
    _one_error_line(capsys, rf"--port {port}: .*[Aa]ddress already in use")


def _start(argv, cwd):
    """``sklenet serve`` in a subprocess; (process, URL, stderr lines so far)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sklenet", "serve", "--port", "0", *argv],
        cwd=cwd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    lines = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        found = re.search(r" on (http://127\.0\.0\.1:\d+) ", line)
        if found:
            return process, found.group(1), lines
    process.kill()
    raise AssertionError(f"sklenet serve did not start: {''.join(lines)}")


@pytest.mark.slow  # two processes importing TensorFlow, one training
@pytest.mark.parametrize("stop, argv", [
    (signal.SIGINT, ["--runtime", "keras"]),
    (signal.SIGTERM, ["--model-type", "standard", "--max-samples", "500",
                      "--epochs", "2"]),
])
def test_serve_command_serves_until_a_signal(stop, argv, model_file, tmp_path):
    if "--model-type" not in argv:
        argv = ["--model", str(model_file), *argv]
    process, url, lines = _start(argv, tmp_path)
    try:
        model = httpx.get(f"{url}/model", timeout=30).json()
        answer = httpx.post(f"{url}/predict", json={"pixels": [ROW]}, timeout=30)
        assert answer.status_code == 200
        process.send_signal(stop)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    err = "".join(lines) + err
    assert process.returncode == 0, err
    assert "Traceback" not in err and "server stopped" in err
    if "--model-type" in argv:
        assert "training the standard LeNet on 300 images" in err
        assert model["name"] == "standard LeNet"
        assert 0 <= model["test_accuracy"] <= 1
        assert f"test accuracy {model['test_accuracy']:.4f}" in err
    else:
        assert (model["name"], model["runtime"]) == ("digits.sklenet", "keras")
        assert model["test_accuracy"] is None
    assert list(tmp_path.iterdir()) == []  # nothing written
