"""Behaviour shared by LeNetClassifier and LeNetEnsembleClassifier, tested once
for both."""

import random
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from sklenet import LeNetClassifier, LeNetEnsembleClassifier

from .helpers import LEARNED, assert_same_global_random_state, fast, learning

ESTIMATORS = {
    "LeNetClassifier": lambda **params: LeNetClassifier(**fast(**params)),
    "LeNetEnsembleClassifier": lambda **params: LeNetEnsembleClassifier(
        **fast(n_estimators=2, **params)),
}


@pytest.fixture(params=list(ESTIMATORS))
def make(request):
    return ESTIMATORS[request.param]


@pytest.fixture(scope="module")
def fitted(digits):
    """Both estimators trained with settings that learn the tiny data."""
    X, y, _, _ = digits
    return {name: factory(**learning()).fit(X, y)
            for name, factory in ESTIMATORS.items()}


def test_both_estimators_learn_the_digits(fitted, digits):
    _, _, X_test, y_test = digits
    for name, estimator in fitted.items():
        assert estimator.score(X_test, y_test) > LEARNED, name


# ------------------------------------------------------------------ pixels
@pytest.mark.parametrize("dtype, low, high", [
    (np.int64, -1, 255), (np.int64, 0, 256), (np.uint16, 0, 65535),
])
def test_integer_pixels_outside_0_255_are_refused(make, digits, dtype, low, high,
                                                  no_training):
    X, y, _, _ = digits
    X = X.astype(dtype)
    X[0, 0], X[1, 1] = low, high
    with pytest.raises(ValueError, match=f"integer pixels from {low} to {high}"):
        make(callbacks=[no_training]).fit(X, y)


def test_integer_pixels_outside_0_255_are_refused_at_predict(fitted, digits):
    X, _, X_test, _ = digits
    for estimator in fitted.values():
        with pytest.raises(ValueError, match="0-255"):
            estimator.predict(X_test.astype(np.int32) * 2)


def test_float_pixels_above_1_warn(make, digits):
    X, y, _, _ = digits
    with pytest.warns(UserWarning, match="float pixels up to 255"):
        make().fit(X.astype(np.float32), y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # scikit-learn 1.6 warns of scikeras' _more_tags on every get_tags
        # (sklenet._compat.SklearnTagsOverScikeras): not a warning of ours.
        warnings.filterwarnings("ignore", r".*_more_tags", DeprecationWarning)
        make().fit(X / 255.0, y)


def test_object_pixels_follow_the_integer_or_float_rule(fitted, digits):
    X, _, X_test, _ = digits
    for estimator in fitted.values():
        expected = estimator.predict_proba(X_test)
        np.testing.assert_allclose(
            estimator.predict_proba(X_test.astype(object)), expected, atol=1e-6)
        np.testing.assert_allclose(
            estimator.predict_proba(pd.DataFrame(X_test.astype(object))), expected,
            atol=1e-6)


def test_object_integer_pixels_are_scaled_like_uint8(make, digits):
    X, y, X_test, _ = digits
    from_objects = make().fit(X.astype(object), y)
    assert from_objects.predict(X_test).tolist() == make().fit(X, y).predict(
        X_test).tolist()


def test_bool_pixels_are_zero_or_one(digits):
    X, y, _, _ = digits
    clf = LeNetClassifier(**fast()).fit(X > 127, y)
    assert clf.input_scale_ == 1.0
    np.testing.assert_array_equal(clf.feature_encoder_.transform(X[:2] > 127),
                                  (X[:2] > 127).reshape(2, 28, 28, 1))


# ----------------------------------------------------------------- weights
@pytest.mark.parametrize("what", ["negative", "all zero"])
def test_sample_weight_must_be_non_negative_and_not_all_zero(make, digits, what,
                                                             no_training):
    X, y, _, _ = digits
    weight = -np.ones(len(y)) if what == "negative" else np.zeros(len(y))
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        make(callbacks=[no_training]).fit(X, y, sample_weight=weight)


def test_negative_class_weight_is_refused(make, digits, no_training):
    X, y, _, _ = digits
    weights = {label: 1.0 for label in np.unique(y)}
    weights[3] = -1.0
    with pytest.raises(ValueError, match="class_weight must be non-negative"):
        make(class_weight=weights, callbacks=[no_training]).fit(X, y)


# ----------------------------------------------------------------- shapes
def test_images_of_another_shape_with_the_same_pixel_count_are_refused(fitted,
                                                                       digits):
    _, _, X_test, _ = digits
    for estimator in fitted.values():
        estimator.predict(X_test.reshape(-1, 28, 28))  # the fitted shape
        with pytest.raises(ValueError, match=r"shape \(14, 56\)"):
            estimator.predict(X_test.reshape(-1, 14, 56))


# ------------------------------------------------------- order invariance
def test_predictions_do_not_depend_on_the_order_of_the_rows(fitted, digits):
    """At float32 precision: sklearn's own check allows 1e-9, which batched
    float32 kernels of some CPUs exceed (tests/test_common.py)."""
    _, _, X_test, _ = digits
    order = np.random.default_rng(0).permutation(len(X_test))
    for estimator in fitted.values():
        proba = estimator.predict_proba(X_test)
        np.testing.assert_allclose(estimator.predict_proba(X_test[order]),
                                   proba[order], rtol=0, atol=1e-6)


# ---------------------------------------------------------------- bad input
def _bad_inputs(X, y):
    X_nan = X.astype(float)
    X_nan[0, 0] = np.nan
    X_inf = X.astype(float)
    X_inf[0, 0] = np.inf
    return {
        "nan": (X_nan, y, "NaN"),
        "inf": (X_inf, y, "infinity"),
        "one class": (X, np.zeros_like(y), "only one class"),
        "empty": (X[:0], y[:0], "0 sample"),
        "1-D": (X[0], y[:1], "Expected 2D array"),
        "complex": (X.astype(complex), y, "Complex data not supported"),
        "strings": (np.full(X.shape, "junk", dtype=object), y, "could not convert"),
        "length": (X, y[:-1], "inconsistent numbers of samples"),
        "regression target": (X, np.linspace(0, 1, len(y)), "Unknown label type"),
    }


@pytest.mark.parametrize("case", list(_bad_inputs(np.zeros((2, 4)), np.arange(2))))
def test_bad_training_input_is_refused_before_training(make, digits, case,
                                                       no_training):
    X, y, _, _ = digits
    X_bad, y_bad, message = _bad_inputs(X, y)[case]
    with pytest.raises(ValueError, match=message):
        make(callbacks=[no_training]).fit(X_bad, y_bad)


def test_bad_validation_data_is_refused_before_training(make, digits, no_training):
    X, y, X_test, y_test = digits
    estimator = make(callbacks=[no_training])
    keep = y < 9
    with pytest.raises(ValueError, match=r"not present in the training y: \[9\]"):
        estimator.fit(X[keep], y[keep], validation_data=(X_test, y_test))
    with pytest.raises(ValueError, match="X has 700 features"):
        estimator.fit(X, y, validation_data=(X_test[:, :700], y_test))
    with pytest.raises(ValueError, match=r"tuple \(X_val, y_val\)"):
        estimator.fit(X, y, validation_data=X_test)


def test_sample_weight_of_another_length_is_refused(make, digits, no_training):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="sample_weight"):
        make(callbacks=[no_training]).fit(X, y, sample_weight=np.ones(3))


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "lil"])
def test_sparse_input_is_refused_by_name(make, digits, fmt, no_training):
    X, y, _, _ = digits
    estimator = make(callbacks=[no_training])
    with pytest.raises(
            TypeError,
            match=f"{type(estimator).__name__} does not accept sparse input.*toarray"):
        estimator.fit(sp.random(len(y), 784, format=fmt, random_state=0), y)


def test_early_stopping_without_enough_samples_per_class(make, no_training):
    X = np.random.RandomState(0).randint(0, 255, (11, 16)).astype(np.uint8)
    y = np.array([0] * 10 + [1])
    estimator = make(early_stopping=True, epochs=2, callbacks=[no_training])
    with pytest.raises(ValueError, match="early_stopping needs a stratified"):
        estimator.fit(X, y)


# ---------------------------------------------------------- hyperparameters
@pytest.mark.parametrize("name, value", [
    ("epochs", 0), ("batch_size", -1), ("validation_fraction", 1.0),
    ("n_iter_no_change", 0), ("pooling", "median"), ("steps_per_execution", 0),
    ("steps_per_execution", "fast"), ("learning_rate", -1e-3),
    ("learning_rate", 0.0), ("dropout", 1.0), ("rotation_range", -5.0),
    ("zoom_range", -1.0), ("shift_range", 1.5), ("label_smoothing", 1.0),
    ("learning_rate_schedule", "step"), ("batch_normalization", "yes"),
    ("class_weight", "bogus"),
])
def test_impossible_values_are_refused_by_name_before_training(
        make, digits, name, value, no_training):
    X, y, _, _ = digits
    estimator = make(callbacks=[no_training], **{name: value})
    with pytest.raises(
            InvalidParameterError,
            match=f"The '{name}' parameter of {type(estimator).__name__} must be"):
        estimator.fit(X, y)


def test_parameters_are_checked_before_the_data(make, digits, no_training):
    # As in sklearn: an impossible value is named even when X is bad too.
    X, y, _, _ = digits
    estimator = make(conv1_filters=0, callbacks=[no_training])
    with pytest.raises(InvalidParameterError, match="'conv1_filters' parameter"):
        estimator.fit(X.astype(np.int64) - 1000, y)


def test_unknown_routed_parameter_is_named(make, digits, no_training):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="'model__units'"):
        make(model__units=3, callbacks=[no_training]).fit(X, y)


def test_image_shape_mismatch_names_both_numbers(make, digits, no_training):
    X, y, _, _ = digits
    estimator = make(image_shape=(20, 20), callbacks=[no_training])
    with pytest.raises(ValueError, match="holds 400 pixels, but X has 784 features"):
        estimator.fit(X, y)


# ----------------------------------------------------------- not fitted yet
@pytest.mark.parametrize("method", ["predict", "predict_proba", "score"])
def test_predict_before_fit(make, digits, method):
    X, y, _, _ = digits
    args = (X, y) if method == "score" else (X,)
    with pytest.raises(NotFittedError):
        getattr(make(), method)(*args)


def test_the_html_repr_links_to_the_api_reference_only_where_published(
        make, monkeypatch):
    estimator = make()
    monkeypatch.delenv("SKLENET_DOCS_URL", raising=False)
    assert estimator._get_doc_link() == ""
    assert '<a class="sk-estimator-doc-link' not in estimator._repr_html_()
    monkeypatch.setenv("SKLENET_DOCS_URL", "https://docs.example.org/sklenet/")
    url = estimator._get_doc_link()
    assert url == ("https://docs.example.org/sklenet/generated/"
                   f"sklenet.{type(estimator).__name__}.html")
    assert url in estimator._repr_html_()
    # A user's subclass is not in sklenet's reference: no link.
    subclass = type("UserLeNet", (type(estimator),), {})
    assert subclass()._get_doc_link() == ""


# --------------------------------------------------- test-time augmentation
AUGMENTED = {"rotation_range": 10.0, "shift_range": 0.1}


@pytest.fixture(scope="module")
def augmented(digits):
    """Both estimators trained with augmentation, test-time augmentation off."""
    X, y, _, _ = digits
    return {name: factory(**learning(**AUGMENTED)).fit(X, y)
            for name, factory in ESTIMATORS.items()}


@pytest.fixture
def with_copies():
    """``with_copies(estimator, n)``: set test_time_augmentation=n for one test."""
    changed = []

    def set_copies(estimator, n_copies):
        changed.append(estimator)
        return estimator.set_params(test_time_augmentation=n_copies)

    yield set_copies
    for estimator in changed:
        estimator.set_params(test_time_augmentation=0)


def test_test_time_augmentation_same_call_same_result(augmented, digits,
                                                      with_copies):
    _, _, X_test, y_test = digits
    for name, estimator in augmented.items():
        plain = estimator.predict_proba(X_test)
        before = (random.getstate(), np.random.get_state())
        with_copies(estimator, 4)
        proba = estimator.predict_proba(X_test)
        assert_same_global_random_state(before)
        np.testing.assert_array_equal(estimator.predict_proba(X_test), proba)
        # The copies are transformed images, not the original ones again.
        assert np.abs(proba - plain).max() > 1e-3, name
        np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
        np.testing.assert_array_equal(
            estimator.predict(X_test), estimator.classes_[proba.argmax(axis=1)])
        assert estimator.score(X_test, y_test) > LEARNED, name
        # Off again: exactly the plain probabilities.
        estimator.set_params(test_time_augmentation=0)
        np.testing.assert_array_equal(estimator.predict_proba(X_test), plain)


def test_ensemble_averages_its_members_test_time_augmentation(augmented, digits,
                                                              with_copies):
    _, _, X_test, _ = digits
    ensemble = augmented["LeNetEnsembleClassifier"]
    members = [with_copies(member, 3).predict_proba(X_test)
               for member in ensemble.estimators_]
    # The ensemble's own setting counts, whatever its members' are.
    for member in ensemble.estimators_:
        member.set_params(test_time_augmentation=0)
    proba = with_copies(ensemble, 3).predict_proba(X_test)
    np.testing.assert_allclose(proba, np.mean(members, axis=0), rtol=1e-6)


def test_test_time_augmentation_needs_augmentation(make, digits, no_training):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="test_time_augmentation=2 draws.*all 0"):
        make(test_time_augmentation=2, callbacks=[no_training]).fit(X, y)
    with pytest.raises(InvalidParameterError, match="test_time_augmentation"):
        make(test_time_augmentation=-1, callbacks=[no_training]).fit(X, y)


def test_test_time_augmentation_of_a_model_fitted_without_it_is_refused(
        fitted, digits, with_copies):
    _, _, X_test, _ = digits
    for estimator in fitted.values():
        with_copies(estimator, 2)
        with pytest.raises(ValueError, match="fitted without augmentation"):
            estimator.predict_proba(X_test)


@pytest.mark.parametrize("n_copies", [-1, 1.5, True])
def test_test_time_augmentation_set_after_fit_is_checked(augmented, digits,
                                                         with_copies, n_copies):
    _, _, X_test, _ = digits
    for estimator in augmented.values():
        with_copies(estimator, n_copies)
        with pytest.raises(ValueError, match=f"test_time_augmentation={n_copies!r} "
                           "must be an int >= 0"):
            estimator.predict_proba(X_test)


def test_test_time_augmentation_in_a_pipeline_and_clone(digits):
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y, X_test, y_test = digits
    lenet = LeNetClassifier(**learning(**AUGMENTED, test_time_augmentation=2))
    assert clone(lenet).get_params()["test_time_augmentation"] == 2
    pipeline = make_pipeline(FunctionTransformer(), lenet).fit(X, y)
    proba = pipeline.predict_proba(X_test)
    np.testing.assert_array_equal(pipeline.predict_proba(X_test), proba)
    assert pipeline.score(X_test, y_test) > LEARNED
    plain = pipeline.set_params(
        lenetclassifier__test_time_augmentation=0).predict_proba(X_test)
    assert np.abs(proba - plain).max() > 1e-3
