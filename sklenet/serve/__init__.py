"""``sklenet serve``: a drawing page and a JSON endpoint for a fitted model.

:func:`mnist_preprocess` turns a drawing into the 28x28 input a model
trained on MNIST expects, the way MNIST was made; the server, the page's
preview and the tests share it. :class:`Predictor` runs a fitted estimator
(with onnxruntime when the ``[export]`` extra is installed),
:func:`create_app` is the Starlette application around it and
:func:`running_server` runs it with uvicorn in a thread. The application
needs the ``[serve]`` extra: ``pip install "sklenet[serve]"``.

The public names are imported on first use, so that the command line's
``--help`` imports neither TensorFlow nor Starlette.
"""

from .._lazy import lazy_exports

_EXPORTS = {
    "IDLE_TIMEOUT": "._server",
    "MAX_BODY_BYTES": "._app",
    "MAX_CONNECTIONS": "._server",
    "MAX_IMAGES": "._app",
    "MAX_PNG_PIXELS": "._preprocess",
    "REQUEST_TIMEOUT": "._server",
    "WORKERS": "._app",
    "Predictor": "._predictor",
    "create_app": "._app",
    "mnist_preprocess": "._preprocess",
    "png_ink": "._preprocess",
    "running_server": "._server",
    "serve": "._server",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
