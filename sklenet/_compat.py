"""What differs across the supported versions of sklenet's dependencies.

sklenet supports about two years of releases of each dependency (the floors
are in ``pyproject.toml`` and ``.ci/lowest-constraints.txt``, which CI
installs to run the suite at the lowest versions). Every version-dependent
import or behaviour lives here, so that the rest of the package reads as if
there were one version of each; nothing else checks a version.
"""

import inspect
import tempfile

# ---------------------------------------------- scikit-learn's callback API
# scikit-learn 1.9 added ``sklearn.callback`` (sklenet._sklearn_callbacks
# speaks it). Before 1.9 ``sklearn_callback`` is None and
# ``CallbackSupportMixin`` an empty placeholder base; the estimators read
# ``sklearn_callback`` at call time, so a test can monkeypatch it to None.
try:
    import sklearn.callback as sklearn_callback
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # scikit-learn < 1.9
    sklearn_callback = None

    class CallbackSupportMixin:
        """scikit-learn < 1.9 has no callback API to support."""


# ------------------------------------------- tags of scikeras' subclasses
# scikit-learn 1.6 still reads the old ``_more_tags``: when any class of an
# estimator's MRO defines it without ``__sklearn_tags__`` (scikeras 0.13's
# ``BaseWrapper`` and ``KerasClassifier`` do), it merges every class's
# ``_more_tags`` over the ``__sklearn_tags__`` of the others, so scikeras'
# ``multilabel=True`` overrides a subclass's ``__sklearn_tags__``. Listed
# right after that subclass, ``SklearnTagsOverScikeras`` hands scikit-learn
# 1.6 the subclass's own ``__sklearn_tags__`` as old tags, merged last. From
# 1.7 on, scikit-learn reads ``__sklearn_tags__`` only and the mixin is empty.
# (1.6 warns that ``_more_tags`` is deprecated: scikeras' classes have it.)
try:
    from sklearn.utils._tags import _to_old_tags
except ImportError:  # scikit-learn >= 1.7

    class SklearnTagsOverScikeras:
        """Nothing to do: scikit-learn >= 1.7 reads ``__sklearn_tags__``."""

else:  # scikit-learn 1.6

    class SklearnTagsOverScikeras:
        """The subclass's ``__sklearn_tags__``, as scikit-learn 1.6's old
        tags, so that they win over scikeras' ``_more_tags``."""

        def _more_tags(self):
            return _to_old_tags(type(self).__sklearn_tags__(self))


# ------------------------------------------------- ROC curves' line options
# scikit-learn 1.7 moved the line's options of RocCurveDisplay into
# ``curve_kwargs`` (and deprecated passing them as ``**kwargs``).
def roc_curve_line(**line):
    """Keyword arguments that give ``RocCurveDisplay.from_predictions`` these
    line options (``label``, ``color``, ...)."""
    from sklearn.metrics import RocCurveDisplay

    parameters = inspect.signature(RocCurveDisplay.from_predictions).parameters
    return {"curve_kwargs": line} if "curve_kwargs" in parameters else line


# ------------------------------------------------------------ LiteRT export
# Keras 3.10 exports "tf_saved_model" and "onnx" only; later versions also
# write LiteRT themselves, through the same TensorFlow converter as below.
def export_litert(model, path, **kwargs):
    """Write ``model`` as a LiteRT (TensorFlow Lite) flatbuffer at ``path``;
    ``kwargs`` go to ``model.export``."""
    try:
        model.export(path, format="litert", **kwargs)
        return
    except ValueError as error:
        if "Unrecognized format" not in str(error):
            raise
    import tensorflow as tf

    with tempfile.TemporaryDirectory(prefix="sklenet-litert-") as folder:
        model.export(folder, format="tf_saved_model", **kwargs)
        flatbuffer = tf.lite.TFLiteConverter.from_saved_model(folder).convert()
    with open(path, "wb") as file:
        file.write(flatbuffer)
