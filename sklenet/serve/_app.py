"""The ASGI application: the drawing page and its JSON endpoints.

``GET /`` the page (its script and style under ``/static/``, all shipped
with the package: no CDN), ``GET /health``, ``GET /model`` and ``POST
/predict``. A request the server cannot answer gets a JSON ``{"error":
...}`` with a 4xx status naming the problem, and the server keeps serving.
"""

import base64
import binascii
import json
import math
from importlib import resources

import numpy as np

from ._preprocess import FIELD_SIDE, mnist_preprocess, png_ink

#: The largest request body ``POST /predict`` reads (bytes): about 600 rows
#: of pixels as JSON, or a large canvas's PNG.
MAX_BODY_BYTES = 2 * 1024 * 1024

_N_PIXELS = FIELD_SIDE * FIELD_SIDE
_INSTALL_HINT = 'pip install "sklenet[serve]"'


def _starlette():
    """Import Starlette, or say which extra installs it."""
    try:
        import starlette  # noqa: F401
    except ImportError as error:
        raise ImportError(
            f"sklenet serve needs Starlette and uvicorn: {_INSTALL_HINT}"
        ) from error


class RequestError(Exception):
    """A request the server refuses: its HTTP status and a message for the client."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def create_app(predictor, *, max_body_bytes=MAX_BODY_BYTES):
    """The Starlette application serving ``predictor``.

    Parameters
    ----------
    predictor : Predictor
        The model to serve (see :class:`sklenet.serve.Predictor`).
    max_body_bytes : int, default=MAX_BODY_BYTES
        Larger request bodies are refused with status 413 before they are
        read to the end.

    Returns
    -------
    starlette.applications.Starlette
        Run it with uvicorn (:func:`sklenet.serve.running_server` does, in a
        thread).
    """
    _starlette()
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.responses import FileResponse, JSONResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    static = resources.files(__package__) / "static"
    description = predictor.describe()

    async def index(request):
        return FileResponse(static / "index.html", media_type="text/html")

    async def health(request):
        return JSONResponse({"status": "ok"})

    async def model(request):
        return JSONResponse(description)

    async def predict(request):
        try:
            payload = _parse_json(await _read_body(request, max_body_bytes))
            pixels, from_images = _pixels(payload)
            # CPU-bound: in a worker thread, so that the event loop goes on
            # accepting and answering other requests meanwhile.
            proba = await run_in_threadpool(predictor.predict_proba, pixels)
        except RequestError as error:
            return _error(error.status, str(error))
        answer = {
            "classes": predictor.classes.tolist(),
            "probabilities": np.asarray(proba, dtype=np.float64).tolist(),
            "labels": predictor.classes[np.argmax(proba, axis=1)].tolist(),
        }
        if from_images:  # what the model saw, for the page's preview
            answer["pixels"] = pixels.astype(int).tolist()
        return JSONResponse(answer)

    async def http_error(request, exc):
        return _error(exc.status_code, exc.detail)

    async def server_error(request, exc):
        return _error(500, f"internal error: {type(exc).__name__}: {exc}")

    return Starlette(
        routes=[
            Route("/", index),
            Route("/health", health),
            Route("/model", model),
            Route("/predict", predict, methods=["POST"]),
            Mount("/static", StaticFiles(directory=static), name="static"),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )


def _error(status, message):
    from starlette.responses import JSONResponse

    return JSONResponse({"error": message}, status_code=status)


async def _read_body(request, limit):
    """The request's body, refused with 413 once it exceeds ``limit`` bytes."""
    too_large = RequestError(413, f"The request body exceeds the limit of "
                                  f"{limit:,} bytes.")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_json(body):
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        raise RequestError(400, f"The body is not valid JSON: {error}.") from None
    if not isinstance(payload, dict) or len(
            {"pixels", "image"} & set(payload)) != 1:
        raise RequestError(422, 'The body must be a JSON object with "pixels" '
                                '(a list of rows of 784 grey levels 0-255) or '
                                '"image" (a base64 PNG, or a list of them).')
    return payload


def _pixels(payload):
    """``(rows, from_images)``: float64 ``(n, 784)`` grey levels of a request."""
    if "pixels" in payload:
        return _check_rows(payload["pixels"]), False
    images = payload["image"]
    images = [images] if isinstance(images, str) else images
    if not isinstance(images, list) or not images or not all(
            isinstance(image, str) for image in images):
        raise RequestError(422, '"image" must be a base64 PNG string or a '
                                'non-empty list of them.')
    rows = []
    for index, text in enumerate(images):
        where = f"image {index}" if len(images) > 1 else "image"
        try:
            data = base64.b64decode(text.split(",", 1)[-1] if text.startswith(
                "data:") else text, validate=True)
        except (binascii.Error, ValueError):
            raise RequestError(400, f"{where} is not valid base64.") from None
        try:
            rows.append(mnist_preprocess(png_ink(data)).ravel())
        except ValueError as error:
            raise RequestError(422, f"{where}: {error}") from None
    return np.asarray(rows, dtype=np.float64), True


def _check_rows(rows):
    """``rows`` as a float64 array, or a 422 naming the first bad value."""
    if not isinstance(rows, list) or not rows:
        raise RequestError(422, '"pixels" must be a non-empty list of rows.')
    for i, row in enumerate(rows):
        if not isinstance(row, list):
            hint = (" (wrap a single row in a list: [[...]])"
                    if isinstance(row, (int, float)) else "")
            raise RequestError(422, f"pixels row {i} is not a list{hint}.")
        if len(row) != _N_PIXELS:
            raise RequestError(422, f"pixels row {i} has {len(row)} values; "
                                    f"a 28x28 image has {_N_PIXELS}.")
        for j, value in enumerate(row):
            # bool is an int in Python, and JSON's true is no grey level.
            if type(value) not in (int, float) or not math.isfinite(value):
                raise RequestError(
                    422, f"pixels row {i}, value {j} is {json.dumps(value)}, "
                         "not a number.")
            if not 0 <= value <= 255:
                raise RequestError(
                    422, f"pixels row {i}, value {j} is {value}, out of the "
                         "grey levels 0-255.")
    return np.asarray(rows, dtype=np.float64)
