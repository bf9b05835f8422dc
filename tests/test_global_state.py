"""sklenet changes nothing global, checked in fresh processes in the user's
order: import, use the estimators, then the user's own Keras code.

TensorFlow caches some settings at first use, so each check runs in a new
interpreter; the snapshots are compared there and the child reports the
differences.
"""

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# Everything a library could change behind the user's back, as comparable
# values (identities for functions and classes).
_SNAPSHOT = '''
import logging, os, random, signal, sys, warnings
import keras, matplotlib, numpy as np, sklearn, tensorflow as tf
from tensorflow.python.eager import context
from tensorflow.python.framework import config as tf_config

KERAS_CLASSES = (keras.Model, keras.layers.Layer, keras.losses.Loss,
                 keras.metrics.Metric, keras.optimizers.Optimizer,
                 keras.callbacks.Callback)
LOGGERS = ("", "tensorflow", "absl", "keras", "h5py", "optuna", "sklenet",
           "py.warnings", "distributed", "matplotlib")


def snapshot():
    def logger(name):
        log = logging.getLogger(name)
        return (log.level, list(log.handlers), log.propagate, log.disabled)

    optuna = sys.modules.get("optuna")
    return {
        # (Python itself adds an empty __annotations__ to a class the first
        # time anything, such as pickle, asks for it.)
        **{f"{cls.__name__} class dict": {
            key: value for key, value in vars(cls).items()
            if key != "__annotations__"} for cls in KERAS_CLASSES},
        "keras config": (keras.config.floatx(),
                         keras.config.image_data_format(),
                         keras.config.epsilon(), keras.config.backend(),
                         keras.config.dtype_policy().name,
                         keras.config.is_interactive_logging_enabled()),
        "keras custom objects": {
            key: value for key, value in keras.saving.get_custom_objects().items()
            # sklenet's own layers, registered under their package's name
            # when sklenet's model module is imported: additive and namespaced,
            # as Keras intends libraries to register.
            if not key.startswith("sklenet>")},
        "tensorflow": (tf_config.is_op_determinism_enabled(),
                       context.global_seed(),
                       tf.config.threading.get_intra_op_parallelism_threads(),
                       tf.config.threading.get_inter_op_parallelism_threads(),
                       tf.config.functions_run_eagerly(),
                       tf.config.get_soft_device_placement()),
        "python random": random.getstate(),
        "numpy random": repr(np.random.get_state()),
        "numpy errors and printing": (np.geterr(), np.get_printoptions()),
        "loggers": {name: logger(name) for name in LOGGERS},
        "logging disable": logging.root.manager.disable,
        "optuna verbosity": optuna and optuna.logging.get_verbosity(),
        "warnings filters": list(warnings.filters),
        "environment": dict(os.environ),
        "signal handlers": {sig: signal.getsignal(sig)
                            for sig in (signal.SIGINT, signal.SIGTERM)},
        "excepthook": sys.excepthook,
        "sklearn config": sklearn.get_config(),
        "matplotlib": (matplotlib.get_backend(), dict(matplotlib.rcParams)),
    }


def differences(before, after):
    return sorted(key for key in before if before[key] != after[key])
'''


def _run(code, tmp_path=None):
    script = textwrap.dedent(code)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True,
                          text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()


def test_import_and_use_change_nothing_global():
    lines = _run(_SNAPSHOT + '''
import optuna  # the search's verbosity is part of the snapshot
before = snapshot()

import sklenet
from sklearn.base import clone
from sklenet import LeNetClassifier, LeNetEnsembleClassifier, LeNetSearchCV
from sklenet.datasets import load_sample_digits

after_import = snapshot()

X, y = load_sample_digits(return_X_y=True)
X, y = X[::25], y[::25]
quick = {"epochs": 1, "early_stopping": False, "random_state": 0}
clf = LeNetClassifier(**quick).fit(X, y)
clf.predict_proba(X)
clone(clf)
LeNetEnsembleClassifier(n_estimators=2, **quick).fit(X, y).predict(X)
LeNetSearchCV(LeNetClassifier(**quick), {"learning_rate": [1e-3, 1e-2]},
              n_trials=2, cv=2, random_state=0).fit(X, y)
import pickle
pickle.loads(pickle.dumps(clf))

after_use = snapshot()
print("import:", differences(before, after_import))
print("use:", differences(before, after_use))
''')
    assert lines[-2:] == ["import: []", "use: []"]


def test_the_users_keras_code_after_a_fit_works_as_without_sklenet():
    """A fit, then the user's own unseeded Keras model: it trains (op
    determinism is off again), and it pickles and copies through Keras' own
    hooks, not scikeras'."""
    lines = _run('''
import copy, pickle
import keras, numpy as np
from keras.src.saving.keras_saveable import KerasSaveable

from sklenet import LeNetClassifier
from sklenet.datasets import load_sample_digits

X, y = load_sample_digits(return_X_y=True)
LeNetClassifier(epochs=1, early_stopping=False, random_state=0).fit(
    X[::25], y[::25])

model = keras.Sequential([keras.Input((4,)), keras.layers.Dropout(0.5),
                          keras.layers.Dense(2, activation="softmax")])
model.compile("adam", "sparse_categorical_crossentropy")
rng = np.random.default_rng(0)
model.fit(rng.random((16, 4)), rng.integers(0, 2, 16), epochs=1, verbose=0)
print("reduce is Keras':", type(model).__reduce__ is KerasSaveable.__reduce__)
print("no deepcopy hook:", not hasattr(keras.Model, "__deepcopy__"))
x = rng.random((3, 4))
for copied in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
    print("same predictions:", np.array_equal(copied.predict(x, verbose=0),
                                              model.predict(x, verbose=0)))
''')
    assert lines[-4:] == ["reduce is Keras': True", "no deepcopy hook: True",
                          "same predictions: True", "same predictions: True"]


def test_scikeras_imported_first_keeps_its_hooks():
    lines = _run('''
import keras
import scikeras  # the user's choice: scikeras' pickling hooks
hooks = keras.Model.__reduce__, keras.Model.__deepcopy__
import sklenet
from sklenet import LeNetClassifier  # imports scikeras' wrappers
print((keras.Model.__reduce__, keras.Model.__deepcopy__) == hooks)
''')
    assert lines[-1] == "True"


@pytest.mark.slow
def test_round_trips_predict_identically_in_a_fresh_process(tmp_path):
    """pickle, joblib and deepcopy of each fitted estimator; the copies are
    loaded in another interpreter and predict bit-identically."""
    _run('''
import copy, pickle
import joblib, numpy as np
from sklenet import LeNetClassifier, LeNetEnsembleClassifier, LeNetSearchCV
from sklenet.datasets import load_sample_digits

X, y = load_sample_digits(return_X_y=True)
X, y = X[::25], y[::25]
quick = {"epochs": 1, "early_stopping": False, "random_state": 0}
fitted = {
    "classifier": LeNetClassifier(**quick).fit(X, y),
    "ensemble": LeNetEnsembleClassifier(n_estimators=2, **quick).fit(X, y),
    "search": LeNetSearchCV(LeNetClassifier(**quick),
                            {"learning_rate": [1e-3, 1e-2]}, n_trials=2, cv=2,
                            random_state=0).fit(X, y),
}
for name, estimator in fitted.items():
    np.save(f"{name}.npy", estimator.predict_proba(X))
    with open(f"{name}.pkl", "wb") as file:
        pickle.dump(estimator, file)
    joblib.dump(estimator, f"{name}.joblib")
    with open(f"{name}.deepcopy.pkl", "wb") as file:
        pickle.dump(copy.deepcopy(estimator), file)
''', tmp_path)
    lines = _run('''
import pickle
import joblib, numpy as np
from sklenet.datasets import load_sample_digits

X, y = load_sample_digits(return_X_y=True)
X = X[::25]
for name in ("classifier", "ensemble", "search"):
    expected = np.load(f"{name}.npy")
    with open(f"{name}.pkl", "rb") as file:
        pickled = pickle.load(file)
    with open(f"{name}.deepcopy.pkl", "rb") as file:
        deep = pickle.load(file)
    loaded = joblib.load(f"{name}.joblib")
    print(name, [np.array_equal(e.predict_proba(X), expected)
                 for e in (pickled, loaded, deep)])
''', tmp_path)
    assert lines[-3:] == ["classifier [True, True, True]",
                          "ensemble [True, True, True]",
                          "search [True, True, True]"]
