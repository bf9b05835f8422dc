"""sklenet: the LeNet digit-recognition study as scikit-learn estimators.

The public names are imported on first use (PEP 562), so that ``import
sklenet`` and the command line's ``--help`` do not pay for TensorFlow, Keras
and Optuna; ``from sklenet import LeNetClassifier`` works as usual.
"""

from ._lazy import lazy_exports

# public name -> the module that defines it (itself, for a submodule)
_EXPORTS = {
    "BEST_PARAMS": "._recipes",
    "EXTENDED_SEARCH_SPACE": ".model_selection._search_space",
    "LeNetClassifier": "._classifier",
    "LeNetEnsembleClassifier": "._ensemble",
    "LeNetSearchCV": ".model_selection._search",
    "OPTIMIZED_PARAMS": "._recipes",
    "STANDARD_PARAMS": "._params",
    "STUDY_SEARCH_SPACE": ".model_selection._search_space",
    "build_lenet": "._model",
    "datasets": ".datasets",
    "evaluation": ".evaluation",
    "export": "._export",
    "load": ".persistence",
    "register_skl2onnx_converters": "._export",
    "reproduce": ".study",
    "save": ".persistence",
}

__all__ = sorted(_EXPORTS)


def _installed_version():
    """The version in the installed package's metadata (pyproject.toml's)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(__name__)
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


__getattr__, __dir__ = lazy_exports(
    __name__, _EXPORTS, computed={"__version__": _installed_version})
