"""What the server runs: a fitted estimator behind one ``predict_proba``.

With the ``[export]`` extra installed, the estimator is exported once to an
ONNX graph (:func:`sklenet.export`: raw pixel rows in, probabilities out) and
requests run it with onnxruntime, so that no TensorFlow call is in the
request path; otherwise the estimator's own ``predict_proba`` runs, one
request at a time (Keras models are not meant to be called from several
threads at once). Either way the answers are deterministic: the estimator's
``test_time_augmentation`` is ignored (with a warning when it is on), so both
runtimes give the same probabilities.
"""

import os
import tempfile
import threading
import warnings

import numpy as np

from ._preprocess import FIELD_SIDE

#: ``runtime`` values: ``"auto"`` is onnxruntime when it is installed.
RUNTIMES = ("auto", "onnxruntime", "keras")


class Predictor:
    """Class probabilities of a fitted LeNet estimator for 0-255 pixel rows.

    Parameters
    ----------
    estimator : LeNetClassifier, LeNetEnsembleClassifier or LeNetSearchCV
        Fitted, on 28x28 grey images (784 pixels a row).
    runtime : {"auto", "onnxruntime", "keras"}, default="auto"
        ``"onnxruntime"`` needs the ``[export]`` extra; ``"auto"`` uses it
        when installed and falls back to ``"keras"``.
    name : str, default="model"
        How the page and ``GET /model`` name the model.
    test_accuracy : float or None, default=None
        Accuracy on held-out images, when known.
    """

    def __init__(self, estimator, *, runtime="auto", name="model",
                 test_accuracy=None):
        if runtime not in RUNTIMES:
            raise ValueError(f"runtime={runtime!r} is not one of {RUNTIMES}.")
        from .._export import _fitted_lenet

        lenet, members = _fitted_lenet(estimator)  # TypeError/ValueError early
        shape = tuple(int(side) for side in members[0].image_shape_)
        if shape[:2] != (FIELD_SIDE, FIELD_SIDE) or shape[2:] not in ((), (1,)):
            raise ValueError(
                f"sklenet serve needs a model of {FIELD_SIDE}x{FIELD_SIDE} grey "
                f"images, as MNIST's, but this one was fitted on images of shape "
                f"{shape}.")
        if lenet.test_time_augmentation:
            warnings.warn(
                f"sklenet serve answers without test-time augmentation: the "
                f"{type(lenet).__name__}'s test_time_augmentation="
                f"{lenet.test_time_augmentation} is ignored.", UserWarning,
                stacklevel=2)
        self.estimator = estimator
        self._members = members
        self.classes = lenet.classes_
        self.input_dtype = np.dtype(members[0].input_dtype_)
        self.n_features = int(members[0].n_features_in_)
        self.name = name
        self.test_accuracy = test_accuracy
        self.estimator_name = type(estimator).__name__
        self._session = None
        self._lock = threading.Lock()
        if runtime != "keras":
            try:
                self._session = _onnx_session(estimator)
            except ImportError:
                if runtime == "onnxruntime":
                    raise
        self.runtime = "keras" if self._session is None else "onnxruntime"

    def predict_proba(self, pixels):
        """Probabilities ``(n, n_classes)`` for grey levels ``(n, 784)``, 0-255."""
        rows = self._model_input(np.asarray(pixels, dtype=np.float64))
        if self._session is not None:
            return self._session.run(None, {"pixels": rows})[0]
        from .._ensemble import soft_vote  # imports TensorFlow, as the members do

        with self._lock:
            # The members without test-time augmentation, averaged by the
            # rule of the exported graph.
            return soft_vote([member._predict_images(rows, n_copies=0)
                              for member in self._members])

    def _model_input(self, rows):
        """0-255 grey levels in the dtype and scale the model was fitted on."""
        if self.input_dtype.kind == "b":
            return rows >= 128
        if np.issubdtype(self.input_dtype, np.integer):
            return np.rint(rows).astype(self.input_dtype)
        return (rows / 255).astype(self.input_dtype)  # floats: already scaled

    def describe(self):
        """What ``GET /model`` answers (JSON-able)."""
        return {
            "name": self.name,
            "estimator": self.estimator_name,
            "classes": self.classes.tolist(),
            "n_features": self.n_features,
            "image_shape": [FIELD_SIDE, FIELD_SIDE],
            "input": "grey levels 0-255, 0 background, row by row",
            "runtime": self.runtime,
            "test_accuracy": self.test_accuracy,
        }


def _onnx_session(estimator):
    """An onnxruntime session of ``estimator`` exported to ONNX, or ImportError."""
    try:
        import onnxruntime
    except ImportError as error:
        raise ImportError('The onnxruntime runtime needs the export extra: pip '
                          'install "sklenet[export]"') from error
    from .._export import export  # ImportError naming the extra without tf2onnx

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.onnx")
        with warnings.catch_warnings():  # Predictor has warned about it
            warnings.filterwarnings("ignore", message=".*test_time_augmentation")
            export(estimator, path, format="onnx")
        options = onnxruntime.SessionOptions()
        # Requests run in a thread pool: one intra-op thread each keeps the
        # server from oversubscribing the cores.
        options.intra_op_num_threads = 1
        return onnxruntime.InferenceSession(
            path, options, providers=["CPUExecutionProvider"])
