"""sklenet: the LeNet digit-recognition study as scikit-learn estimators."""

from . import datasets, evaluation
from ._classifier import LeNetClassifier
from ._ensemble import LeNetEnsembleClassifier
from ._model import OPTIMIZED_PARAMS, STANDARD_PARAMS, build_lenet
from ._search import LeNetSearchCV
from ._search_space import EXTENDED_SEARCH_SPACE, STUDY_SEARCH_SPACE
from .persistence import load, save

__version__ = "0.1.0"

__all__ = [
    "EXTENDED_SEARCH_SPACE",
    "LeNetClassifier",
    "LeNetEnsembleClassifier",
    "LeNetSearchCV",
    "OPTIMIZED_PARAMS",
    "STANDARD_PARAMS",
    "STUDY_SEARCH_SPACE",
    "build_lenet",
    "datasets",
    "evaluation",
    "load",
    "save",
]
