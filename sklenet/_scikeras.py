"""scikeras, imported without changing Keras for the user.

``import scikeras`` replaces five methods of Keras classes
(``keras.Model.__reduce__`` and ``__deepcopy__``, and ``__reduce__`` of
``keras.losses.Loss``, ``keras.metrics.Metric`` and
``keras.optimizers.Optimizer``), so that every Keras model of the process,
the user's own included, pickles and copies through scikeras (which also
registers the model's class in Keras' global custom objects on each pickle).
sklenet imports scikeras only through this module, which puts those methods
back as they were: the estimators' networks then pickle and copy through
Keras' own ``__reduce__`` (an in-memory ``.keras`` file, weights, optimizer
state and compilation included), as every Keras model does. A user who
imported scikeras first keeps its hooks: whatever the methods were before,
they are afterwards.
"""

import importlib
import sys

import keras

# The methods scikeras 0.13's __init__ assigns.
_PATCHED = (
    (keras.Model, "__reduce__"),
    (keras.Model, "__deepcopy__"),
    (keras.losses.Loss, "__reduce__"),
    (keras.metrics.Metric, "__reduce__"),
    (keras.optimizers.Optimizer, "__reduce__"),
)
_ABSENT = object()


def _import_untouched(name):
    """Import module ``name`` of scikeras, Keras' classes left as they were."""
    if "scikeras" in sys.modules:  # imported before: by the user, or by us
        return importlib.import_module(name)
    before = [vars(cls).get(attr, _ABSENT) for cls, attr in _PATCHED]
    try:
        return importlib.import_module(name)
    finally:
        for (cls, attr), value in zip(_PATCHED, before):
            if value is _ABSENT:
                if attr in vars(cls):
                    delattr(cls, attr)
            else:
                setattr(cls, attr, value)


KerasClassifier = _import_untouched("scikeras.wrappers").KerasClassifier
route_params = _import_untouched("scikeras._utils").route_params

