"""What differs across the supported versions of sklenet's dependencies.

sklenet supports about two years of releases of each dependency (the floors
are in ``pyproject.toml`` and ``.ci/lowest-constraints.txt``, which CI
installs to run the suite at the lowest versions). Every version-dependent
import or behaviour lives here, so that the rest of the package reads as if
there were one version of each; nothing else checks a version.
"""

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
