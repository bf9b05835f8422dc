"""Type aliases of sklenet's public signatures, and typed views of untyped APIs.

scikit-learn ships no type information, so a method under its ``_fit_context``
or ``available_if`` decorator would be an untyped ``Any`` to a type checker
(its return type, the estimator itself, lost). :func:`fit_context` and
:func:`available_if` are those decorators, declared to return the method
unchanged: the checker sees the method's own signature, and at run time they
are scikit-learn's decorators themselves.
"""

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "Activation",
    "ArrayLike",
    "CVSplitter",
    "NDArray",
    "PathLike",
    "RandomState",
    "available_if",
    "fit_context",
]

#: A file path, as ``open`` takes it.
PathLike = os.PathLike[str] | str

#: scikit-learn's ``random_state``: a seed, a NumPy generator, or None.
RandomState = int | np.random.RandomState | None

#: A Keras activation: its name or the function itself.
Activation = str | Callable[..., Any]


class CVSplitter(Protocol):
    """A scikit-learn cross-validation splitter (``KFold``, ``ShuffleSplit``...)."""

    def split(self, X: Any, y: Any = ..., groups: Any = ...
              ) -> Iterator[tuple[Any, Any]]: ...

    def get_n_splits(self, X: Any = ..., y: Any = ..., groups: Any = ...
                     ) -> int: ...


_Method = TypeVar("_Method", bound=Callable[..., Any])

if TYPE_CHECKING:
    def fit_context(*, prefer_skip_nested_validation: bool
                    ) -> Callable[[_Method], _Method]:
        """scikit-learn's ``_fit_context``, as a type checker sees it."""
        ...

    def available_if(check: Callable[[Any], bool]
                     ) -> Callable[[_Method], _Method]:
        """scikit-learn's ``available_if``, as a type checker sees it."""
        ...
else:
    from sklearn.base import _fit_context as fit_context
    from sklearn.utils.metaestimators import available_if
