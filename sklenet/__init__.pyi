# What type checkers and editors see of the sklenet package: its public names,
# which __init__.py imports on first use (PEP 562), imported here directly.
# tests/typing/test_stub.py holds this list to __init__.py's _EXPORTS.
from typing import Any

from . import datasets as datasets
from . import evaluation as evaluation
from ._classifier import LeNetClassifier as LeNetClassifier
from ._ensemble import LeNetEnsembleClassifier as LeNetEnsembleClassifier
from ._export import export as export
from ._export import register_skl2onnx_converters as register_skl2onnx_converters
from ._model import build_lenet as build_lenet
from .model_selection._search import LeNetSearchCV as LeNetSearchCV
from .model_selection._search_space import (
    EXTENDED_SEARCH_SPACE as EXTENDED_SEARCH_SPACE,
)
from .model_selection._search_space import STUDY_SEARCH_SPACE as STUDY_SEARCH_SPACE
from .persistence import load as load
from .persistence import save as save
from .study import reproduce as reproduce

# Keyword arguments of the estimators: LeNetClassifier(**BEST_PARAMS).
BEST_PARAMS: dict[str, Any]
OPTIMIZED_PARAMS: dict[str, Any]
STANDARD_PARAMS: dict[str, Any]

__all__: list[str]
__version__: str
