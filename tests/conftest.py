import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from sklenet.datasets import load_sample_digits


@pytest.fixture(scope="session")
def digits():
    """A small stratified slice of the offline MNIST sample: 300 train, 100 test."""
    X, y = load_sample_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, train_size=300, test_size=100, stratify=y, random_state=0
    )
    return X_train, y_train, X_test, y_test


def fast(**params):
    """Keyword arguments for a LeNetClassifier that trains in about a second."""
    return {"epochs": 1, "early_stopping": False, "random_state": 0, **params}


@pytest.fixture
def no_training():
    """A Keras callback that fails the test if training ever starts."""
    import keras

    class _NoTraining(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            raise AssertionError("training started although the input was invalid")

    return _NoTraining()


def assert_same_global_random_state(before):
    import random

    python_state, numpy_state = before
    assert random.getstate() == python_state
    after = np.random.get_state()
    assert all(np.array_equal(a, b) for a, b in zip(after, numpy_state))
