import os

import pytest
from sklearn.model_selection import train_test_split

from sklenet.datasets import load_sample_digits

# Re-exported for the test modules that still import them from here; new code
# imports them from .helpers.
from .helpers import assert_same_global_random_state, fast  # noqa: F401


@pytest.fixture(scope="session")
def digits():
    """A small stratified slice of the offline MNIST sample: 300 train, 100 test."""
    X, y = load_sample_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, train_size=300, test_size=100, stratify=y, random_state=0
    )
    return X_train, y_train, X_test, y_test


@pytest.fixture
def no_training():
    """A Keras callback that fails the test if training ever starts."""
    import keras

    class _NoTraining(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            raise AssertionError("training started although the input was invalid")

    return _NoTraining()


@pytest.fixture
def worker_recorder():
    """A Keras callback recording, for each training it sees, the process it
    ran in and TensorFlow's intra-op thread count there."""
    import os

    import keras
    import tensorflow as tf

    class _RecordWorker(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.trainings = []

        def on_train_begin(self, logs=None):
            threads = tf.config.threading.get_intra_op_parallelism_threads()
            self.trainings.append((os.getpid(), threads))

    return _RecordWorker()


@pytest.fixture(scope="module")
def postgres_url():
    """The URL of the test PostgreSQL server (SKLENET_TEST_POSTGRES_URL):
    skipped without one locally, failed under CI, which must run them."""
    from sklenet.model_selection._compat_optuna import check_postgresql_support

    try:
        check_postgresql_support()
    except ImportError as exc:  # the lowest-versions job's Optuna 4.2
        pytest.skip(str(exc))
    url = os.environ.get("SKLENET_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("SKLENET_TEST_POSTGRES_URL is not set: CI must run the "
                        "PostgreSQL tests (.ci/run starts a server with "
                        ".ci/postgres.sh start).")
        pytest.skip("SKLENET_TEST_POSTGRES_URL is not set "
                    "(export SKLENET_TEST_POSTGRES_URL=$(.ci/postgres.sh start))")
    return url
