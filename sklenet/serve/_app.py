"""The ASGI application: the drawing page and its JSON endpoints.

``GET /`` the page (its script and style under ``/static/``, all shipped
with the package: no CDN), ``GET /health``, ``GET /model`` and ``POST
/predict``. A request the server cannot answer gets a JSON ``{"error":
...}`` with a 4xx status naming the problem, and the server keeps serving.

The event loop only reads requests and writes answers: parsing a body,
decoding its images, preprocessing and inference run in a thread pool, a
few requests at a time, and what a request may cost is checked before it
is paid (its body's size, its number of images, their pixels from the PNG
headers), so that ``GET /health`` answers at once whatever ``/predict`` is
given.
"""

import base64
import binascii
import itertools
import json
import math
import os
from importlib import resources

import numpy as np

from ._preprocess import (
    FIELD_SIDE,
    MAX_PNG_PIXELS,
    _png_size,
    mnist_preprocess,
    png_ink,
)

#: The largest request body ``POST /predict`` reads (bytes): about 1,300 rows
#: of pixels as JSON, or a large canvas's PNG.
MAX_BODY_BYTES = 2 * 1024 * 1024

#: The most images one ``POST /predict`` may list; together they may have at
#: most :data:`MAX_PNG_PIXELS` pixels.
MAX_IMAGES = 64

#: Requests worked on at once (parsed, decoded, preprocessed, predicted) in
#: the thread pool; more wait for their turn. Each may hold about 100 MB
#: while it decodes a :data:`MAX_PNG_PIXELS` image.
WORKERS = min(4, os.cpu_count() or 1)

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


def create_app(predictor, *, max_body_bytes=MAX_BODY_BYTES, max_images=MAX_IMAGES,
               max_pixels=MAX_PNG_PIXELS, workers=WORKERS):
    """The Starlette application serving ``predictor``.

    Parameters
    ----------
    predictor : Predictor
        The model to serve (see :class:`sklenet.serve.Predictor`).
    max_body_bytes : int, default=MAX_BODY_BYTES
        Larger request bodies are refused with status 413 before they are
        read to the end.
    max_images : int, default=MAX_IMAGES
        Requests listing more images are refused with status 413.
    max_pixels : int, default=MAX_PNG_PIXELS
        Requests whose images have more pixels together (read from their
        PNG headers, before anything is decoded) are refused with status 413.
    workers : int, default=WORKERS
        Requests worked on at once in the thread pool.

    Returns
    -------
    starlette.applications.Starlette
        Run it with uvicorn (:func:`sklenet.serve.running_server` does, in a
        thread).
    """
    _starlette()
    from anyio import CapacityLimiter, to_thread
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.requests import ClientDisconnect
    from starlette.responses import FileResponse, JSONResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    static = resources.files(__package__) / "static"
    description = predictor.describe()
    limiter = CapacityLimiter(workers)

    async def index(request):
        return FileResponse(static / "index.html", media_type="text/html")

    async def health(request):
        return JSONResponse({"status": "ok"})

    async def model(request):
        return JSONResponse(description)

    async def predict(request):
        try:
            _check_json_type(request.headers.get("content-type"))
            body = await _read_body(request, max_body_bytes)
            # Everything else costs CPU: in a worker thread, so that the
            # event loop goes on accepting and answering other requests.
            return await to_thread.run_sync(answer, body, limiter=limiter)
        except RequestError as error:
            return _error(error.status, str(error))
        except ClientDisconnect:  # no one reads the answer; nothing to log
            return _error(400, "The client closed the connection before the "
                               "end of the body.")

    def answer(body):
        pixels, from_images = _pixels(_parse_json(body), max_images, max_pixels)
        proba = predictor.predict_proba(pixels)
        answer = {
            "classes": predictor.classes.tolist(),
            "probabilities": np.asarray(proba, dtype=np.float64).tolist(),
            "labels": predictor.classes[np.argmax(proba, axis=1)].tolist(),
        }
        if from_images:  # what the model saw, for the page's preview
            answer["pixels"] = pixels.astype(int).tolist()
        return JSONResponse(answer)  # rendered here, in the thread

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


def _check_json_type(content_type):
    """A 415 unless the body is declared ``application/json``.

    Any web page the user visits may POST a ``text/plain`` or form body to
    a local server without asking; a JSON one needs the browser's CORS
    preflight, which this server never approves.
    """
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        given = (f"Content-Type: {_quote(content_type)}" if content_type
                 else "no Content-Type")
        raise RequestError(415, f"The body must be JSON, sent with Content-Type: "
                                f"application/json; the request has {given}.")


def _parse_json(body):
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        raise RequestError(400, f"The body is not valid JSON: {error}.") from None
    except RecursionError:
        raise RequestError(400, "The body nests JSON arrays or objects too "
                                "deeply (about 1,000 levels at most).") from None
    if not isinstance(payload, dict) or len(
            {"pixels", "image"} & set(payload)) != 1:
        raise RequestError(422, 'The body must be a JSON object with "pixels" '
                                '(a list of rows of 784 grey levels 0-255) or '
                                '"image" (a base64 PNG, or a list of them).')
    return payload


def _pixels(payload, max_images, max_pixels):
    """``(rows, from_images)``: float64 ``(n, 784)`` grey levels of a request."""
    if "pixels" in payload:
        return _check_rows(payload["pixels"]), False
    images = payload["image"]
    images = [images] if isinstance(images, str) else images
    if not isinstance(images, list) or not images or not all(
            isinstance(image, str) for image in images):
        raise RequestError(422, '"image" must be a base64 PNG string or a '
                                'non-empty list of them.')
    if len(images) > max_images:
        raise RequestError(413, f"The request lists {len(images):,} images; at "
                                f"most {max_images} are read per request.")
    names = ([f"image {index} of the request" for index in range(len(images))]
             if len(images) > 1 else ["the image"])
    pngs = [_png_bytes(text, name) for text, name in zip(images, names)]
    # The whole request's cost, from the PNG headers, before any decoding.
    sizes = [_image_size(data, name) for data, name in zip(pngs, names)]
    total = sum(width * height for width, height in sizes)
    if total > max_pixels:
        what = (f"The image is {sizes[0][0]}x{sizes[0][1]} pixels ({total:,})"
                if len(sizes) == 1 else
                f"The request's {len(sizes)} images have {total:,} pixels")
        raise RequestError(413, f"{what}; at most {max_pixels:,} are decoded "
                                "per request.")
    rows = []
    for data, (width, height), name in zip(pngs, sizes, names):
        try:  # no more pixels than its header said
            rows.append(mnist_preprocess(
                png_ink(data, max_pixels=width * height)).ravel())
        except ValueError as error:
            raise RequestError(422, f"{name}: {error}") from None
    return np.asarray(rows, dtype=np.float64), True


def _png_bytes(text, name):
    """The bytes of a base64 PNG (or a ``data:`` URL of one)."""
    try:
        return base64.b64decode(text.split(",", 1)[-1] if text.startswith(
            "data:") else text, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(400, f"{name} is not valid base64.") from None


def _image_size(data, name):
    try:
        return _png_size(data)
    except ValueError as error:
        raise RequestError(422, f"{name}: {error}") from None


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
    # All values at once, without a Python step per value (a body holds up
    # to a million); the loop below names the first bad one when any is.
    if set(map(type, itertools.chain.from_iterable(rows))) <= {int, float}:
        try:
            array = np.array(rows, dtype=np.float64)
        except OverflowError:  # an integer beyond float64's range: 10**400
            array = None
        if array is not None and np.isfinite(array).all() and (
                array.min() >= 0 and array.max() <= 255):
            return array
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            # bool is an int in Python, and JSON's true is no grey level.
            if not (type(value) is int
                    or type(value) is float and math.isfinite(value)):
                raise RequestError(
                    422, f"pixels row {i}, value {j} is {_quote(value)}, "
                         "not a number.")
            if not 0 <= value <= 255:  # exact for any int, 10**400 too
                raise RequestError(
                    422, f"pixels row {i}, value {j} is {_quote(value)}, out of "
                         "the grey levels 0-255.")


def _quote(value):
    """A JSON value as it is written, cut to a few dozen characters."""
    if isinstance(value, (list, dict)):  # possibly nested a thousand deep
        return "a list" if isinstance(value, list) else "an object"
    text = json.dumps(value)
    return text if len(text) <= 40 else f"{text[:30]}... ({len(text):,} characters)"
