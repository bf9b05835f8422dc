"""sklenet: the LeNet digit-recognition study as scikit-learn estimators."""

from . import datasets
from ._classifier import LeNetClassifier
from ._model import OPTIMIZED_PARAMS, STANDARD_PARAMS, build_lenet
from .persistence import load, save

__version__ = "0.1.0"

__all__ = [
    "LeNetClassifier",
    "OPTIMIZED_PARAMS",
    "STANDARD_PARAMS",
    "build_lenet",
    "datasets",
    "load",
    "save",
]
