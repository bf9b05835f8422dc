"""Model selection: the study's Optuna search as a scikit-learn estimator.

:class:`LeNetSearchCV` tunes any estimator, sklenet's first, with Optuna's TPE
sampler and median pruner, epoch by epoch; :data:`STUDY_SEARCH_SPACE` and
:data:`EXTENDED_SEARCH_SPACE` are its search spaces. Each is also importable
from :mod:`sklenet` itself.

Inside, one module per job: ``_search`` (the estimator), ``_objective`` (one
Optuna trial: fit, report each epoch, record), ``_cv_results`` (the trials in
scikit-learn's ``cv_results_`` layout), ``_search_space``, ``_storage`` (where
studies live: storages, their URLs, orphaned trials) and ``_compat_optuna``
(what differs across Optuna's versions).

The public names are imported on first use, as :mod:`sklenet`'s are, so that
importing the package (the study and the command line import its storage
tools) does not pay for TensorFlow, Keras and Optuna.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:  # what type checkers see of the names imported on first use
    from ._search import LeNetSearchCV as LeNetSearchCV
    from ._search_space import EXTENDED_SEARCH_SPACE as EXTENDED_SEARCH_SPACE
    from ._search_space import STUDY_SEARCH_SPACE as STUDY_SEARCH_SPACE

# public name -> the module that defines it
_EXPORTS = {
    "EXTENDED_SEARCH_SPACE": "._search_space",
    "LeNetSearchCV": "._search",
    "STUDY_SEARCH_SPACE": "._search_space",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
