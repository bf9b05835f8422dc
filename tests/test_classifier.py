"""LeNetClassifier: architecture, input forms, training options, bad input."""

import random
import threading

import keras
import numpy as np
import pandas as pd
import pytest

from sklenet import OPTIMIZED_PARAMS, STANDARD_PARAMS, LeNetClassifier
from sklenet._base import infer_image_shape

from .helpers import LEARNED, assert_same_global_random_state, fast, learning


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


# ------------------------------------------------------------- architecture
@pytest.mark.parametrize("pool_strides", [None, 1, 2])
def test_standard_lenet_has_the_study_parameter_count(digits, pool_strides):
    X, y, _, _ = digits
    clf = LeNetClassifier(pool_strides=pool_strides).initialize(X, y)
    assert _trainable(clf.model_) == 15_626


def test_defaults_are_the_standard_lenet():
    params = LeNetClassifier().get_params()
    assert {k: params[k] for k in STANDARD_PARAMS} == STANDARD_PARAMS


def test_optimized_params_build_the_study_model(digits):
    X, y, _, _ = digits
    clf = LeNetClassifier(**OPTIMIZED_PARAMS).initialize(X, y)
    layers = {layer.name: layer for layer in clf.model_.layers}
    assert layers["conv1"].filters == 13 and layers["conv1"].kernel_size == (7, 7)
    assert layers["conv2"].filters == 11 and layers["conv2"].kernel_size == (7, 7)
    assert layers["pool2"].pool_size == (4, 4)
    assert layers["dense1"].units == 64 and layers["dense2"].units == 256
    assert layers["conv1"].kernel_regularizer.l2 == pytest.approx(0.000413)
    assert layers["dense1"].activation.__name__ == "gelu"


def test_architecture_options(digits):
    X, y, _, _ = digits
    clf = LeNetClassifier(pooling="max", global_pooling=False, pool_strides=1)
    layers = {layer.name: layer for layer in clf.initialize(X, y).model_.layers}
    assert isinstance(layers["pool1"], keras.layers.MaxPooling2D)
    assert layers["pool1"].strides == (1, 1)
    assert "flatten" in layers and "global_pool" not in layers


def test_routed_optimizer_arguments_reach_adam(digits):
    X, y, _, _ = digits
    clf = LeNetClassifier(learning_rate=0.01, beta_1=0.8, optimizer__amsgrad=True)
    optimizer = clf.initialize(X, y).model_.optimizer
    assert optimizer.amsgrad is True
    assert float(optimizer.beta_1) == pytest.approx(0.8)
    assert float(optimizer.learning_rate) == pytest.approx(0.01)


# ------------------------------------------------------------ input forms
@pytest.mark.parametrize(
    "n_features, image_shape, expected",
    [(784, None, (28, 28, 1)), (64, None, (8, 8, 1)), (10, None, (1, 10, 1)),
     (784, (28, 28), (28, 28, 1)), (12, (2, 2, 3), (2, 2, 3))],
)
def test_image_shape_inference(n_features, image_shape, expected):
    assert infer_image_shape(n_features, image_shape) == expected


def test_all_input_layouts_give_the_same_model(digits):
    X, y, X_test, _ = digits
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(784)])
    layouts = [X, X.reshape(-1, 28, 28), X.reshape(-1, 28, 28, 1), frame]
    probas = [
        LeNetClassifier(**fast()).fit(data, y).predict_proba(X_test)
        for data in layouts
    ]
    for proba in probas[1:]:
        np.testing.assert_array_equal(proba, probas[0])


def test_images_and_dataframes_at_predict_time(digits):
    X, y, X_test, _ = digits
    columns = [f"pixel{i}" for i in range(784)]
    clf = LeNetClassifier(**fast()).fit(pd.DataFrame(X, columns=columns), y)
    assert list(clf.feature_names_in_) == columns
    expected = clf.predict_proba(pd.DataFrame(X_test, columns=columns))
    np.testing.assert_array_equal(
        clf.predict_proba(X_test.reshape(-1, 28, 28)), expected
    )


def test_integer_pixels_are_scaled_once_floats_are_not(digits):
    X, y, X_test, _ = digits
    as_int = LeNetClassifier(**fast()).fit(X, y)
    as_float = LeNetClassifier(**fast()).fit(X / 255.0, y)
    assert as_int.input_scale_ == pytest.approx(1 / 255)
    assert as_float.input_scale_ == 1.0
    np.testing.assert_allclose(
        as_int.predict_proba(X_test), as_float.predict_proba(X_test / 255.0),
        atol=1e-5,
    )
    # The rule is fixed at fit time: int64 input to a uint8-trained model.
    np.testing.assert_array_equal(
        as_int.predict_proba(X_test.astype(np.int64)), as_int.predict_proba(X_test)
    )


def test_string_labels_round_trip(digits):
    X, y, X_test, y_test = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six",
                      "seven", "eight", "nine"])
    clf = LeNetClassifier(**learning()).fit(X, names[y])
    assert list(clf.classes_) == sorted(names)
    # Each name comes back for the images of its digit.
    assert np.mean(clf.predict(X_test) == names[y_test]) > LEARNED
    assert clf.score(X_test, names[y_test]) > LEARNED
    proba = clf.predict_proba(X_test)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)],
                                  clf.predict(X_test))


# --------------------------------------------------------------- training
def test_validation_data_history_and_best_weights(digits):
    X, y, X_test, y_test = digits
    clf = LeNetClassifier(epochs=4, n_iter_no_change=1, random_state=0)
    clf.fit(X, y, validation_data=(X_test, y_test))
    assert set(clf.history_) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert clf.n_epochs_ == len(clf.history_["loss"]) <= 4
    best = int(np.argmax(clf.history_["val_accuracy"]))
    assert clf.best_epoch_ == best + 1
    # restore_best_weights: the kept model scores the best validation accuracy.
    assert clf.score(X_test, y_test) == pytest.approx(
        clf.history_["val_accuracy"][best], abs=1e-6
    )


class _RecordSteps(keras.callbacks.Callback):
    """The number of training batches per epoch of each fit."""

    def __init__(self):
        super().__init__()
        self.steps = []

    def on_train_begin(self, logs=None):
        self.steps.append(self.params["steps"])


def test_internal_split_is_stratified_and_sized(digits):
    X, y, _, _ = digits
    recorder = _RecordSteps()
    clf = LeNetClassifier(epochs=2, validation_fraction=0.2, random_state=0,
                          callbacks=[recorder])
    clf.fit(X, y)
    assert "val_accuracy" in clf.history_
    clf_no_stop = LeNetClassifier(**fast(epochs=2, callbacks=[recorder])).fit(X, y)
    assert "val_accuracy" not in clf_no_stop.history_
    # 240 of the 300 images train in batches of 32 with the split, all without.
    assert recorder.steps == [8, 10]
    assert clf_no_stop.best_epoch_ is None


def test_sample_and_class_weights(digits):
    X, y, X_test, _ = digits
    weights = np.linspace(0.5, 1.5, len(y))
    original = weights.copy()
    clf = LeNetClassifier(**fast(class_weight="balanced")).fit(X, y, weights)
    np.testing.assert_array_equal(weights, original)  # not modified in place
    unweighted = LeNetClassifier(**fast()).fit(X, y)
    assert not np.allclose(clf.predict_proba(X_test),
                           unweighted.predict_proba(X_test))


def test_partial_fit_continues_training_with_declared_classes(digits):
    X, y, X_test, _ = digits
    clf = LeNetClassifier(random_state=0)
    clf.partial_fit(X[y < 5], y[y < 5], classes=np.arange(10))
    weights = [w.copy() for w in clf.model_.get_weights()]
    clf.partial_fit(X, y)
    assert clf.n_epochs_ == 2 and list(clf.classes_) == list(range(10))
    assert not all(np.array_equal(a, b)
                   for a, b in zip(weights, clf.model_.get_weights()))
    assert clf.predict_proba(X_test).shape == (len(X_test), 10)


def test_repeated_partial_fit_calls_keep_training(digits):
    X, y, X_test, y_test = digits
    params = learning()
    del params["epochs"]  # partial_fit trains one epoch per call
    clf = LeNetClassifier(**params)
    clf.partial_fit(X, y)
    one_epoch = clf.score(X_test, y_test)
    clf.partial_fit(X, y)
    clf.partial_fit(X, y)
    # Measured: 0.46 after one call, 0.83 after three; a call that started
    # again from new weights would stay near the first.
    assert np.all(np.diff(clf.history_["loss"]) < 0)
    assert clf.score(X_test, y_test) > max(LEARNED, one_epoch)


def test_prediction_batch_size_does_not_change_results(digits):
    X, y, X_test, _ = digits
    clf = LeNetClassifier(**fast()).fit(X, y)
    reference = clf.predict_proba(X_test)
    clf.set_params(predict_batch_size=7)
    np.testing.assert_allclose(clf.predict_proba(X_test), reference, atol=1e-6)


# -------------------------------------------------------- reproducibility
def test_same_random_state_same_predictions(digits):
    X, y, X_test, _ = digits
    first, second = (
        LeNetClassifier(epochs=2, random_state=42).fit(X, y).predict_proba(X_test)
        for _ in range(2)
    )
    np.testing.assert_array_equal(first, second)


def test_initial_weights_ignore_other_threads_drawing_random_numbers(digits):
    # A Dask worker's event loop draws from Python's global random while a
    # task fits: the initial weights must depend on random_state alone.
    X, y, _, _ = digits
    reference = LeNetClassifier(random_state=0).initialize(X, y).model_
    stop = threading.Event()

    def draw():
        while not stop.is_set():
            random.random()

    thread = threading.Thread(target=draw)
    thread.start()
    try:
        model = LeNetClassifier(random_state=0).initialize(X, y).model_
    finally:
        stop.set()
        thread.join()
    for expected, weights in zip(reference.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(weights, expected)


@pytest.mark.parametrize("random_state", [0, None])
def test_fit_leaves_global_random_state_untouched(digits, random_state):
    X, y, X_test, _ = digits
    before = (random.getstate(), np.random.get_state())
    LeNetClassifier(**fast(random_state=random_state)).fit(X, y).predict(X_test)
    assert_same_global_random_state(before)


# ------------------------------------------------------ steps_per_execution
def _steps_per_execution_recorder():
    """A Keras callback recording ``model.steps_per_execution`` at each fit."""
    import keras

    class Recorder(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_train_begin(self, logs=None):
            self.seen.append(self.model.steps_per_execution)

    return Recorder()


def test_steps_per_execution_changes_speed_not_weights(digits):
    X, y, X_test, _ = digits
    recorder = _steps_per_execution_recorder()
    params = fast(epochs=2, batch_size=16, early_stopping=True, callbacks=[recorder])
    one = LeNetClassifier(steps_per_execution=1, **params).fit(X, y)
    many = LeNetClassifier(steps_per_execution=4, **params).fit(X, y)
    assert recorder.seen == [1, 4]
    assert many.history_ == one.history_
    np.testing.assert_array_equal(many.predict_proba(X_test), one.predict_proba(X_test))
    # Prediction goes back to one large batch per call.
    assert many.model_.steps_per_execution == 1


def test_auto_steps_per_execution_needs_enough_batches():
    clf = LeNetClassifier(batch_size=32)
    assert clf._resolve_steps_per_execution(n_samples=300, epochs=3) == 1
    assert clf._resolve_steps_per_execution(n_samples=5000, epochs=2) == 32
    assert clf.set_params(steps_per_execution=8)._resolve_steps_per_execution(
        n_samples=300, epochs=1) == 8


def test_fit_schedule_is_what_fit_runs(digits):
    X, y, _, _ = digits
    clf = LeNetClassifier(**fast(epochs=2, min_epoch_samples=600, early_stopping=True,
                                 n_iter_no_change=1, validation_fraction=0.2))
    # 240 of the 300 digits train: epochs of 600 images are 2.5 passes.
    schedule = clf.fit_schedule(240)
    clf.fit(X, y)
    assert (clf.max_epochs_, clf.n_iter_no_change_) == schedule[:2] == (5, 3)
    assert schedule.steps_per_execution == clf._resolve_steps_per_execution(240, 5)


def test_prediction_in_chunks_equals_one_keras_call(digits):
    X, y, X_test, _ = digits
    clf = LeNetClassifier(**fast(predict_batch_size=4)).fit(X, y)
    # 100 images, chunks of 4 x 16 = 64: one full chunk and a partial one.
    whole = clf.model_.predict(clf.feature_encoder_.transform(X_test), verbose=0)
    np.testing.assert_allclose(clf.predict_proba(X_test), whole, rtol=1e-6, atol=1e-7)
    assert clf.predict(X_test[:1]).tolist() == clf.predict(X_test)[:1].tolist()
