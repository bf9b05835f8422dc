"""sklenet: the LeNet digit-recognition study as scikit-learn estimators.

The public names are imported on first use (PEP 562), so that ``import
sklenet`` and the command line's ``--help`` do not pay for TensorFlow, Keras
and Optuna; ``from sklenet import LeNetClassifier`` works as usual.
"""

import importlib

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


def __getattr__(name):
    if name == "__version__":
        value = _installed_version()
    elif name in _EXPORTS:
        module = importlib.import_module(_EXPORTS[name], __name__)
        value = module if module.__name__ == f"{__name__}.{name}" else getattr(
            module, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__():
    return sorted({*globals(), *__all__, "__version__"})


def _installed_version():
    """The version in the installed package's metadata (pyproject.toml's)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(__name__)
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"
