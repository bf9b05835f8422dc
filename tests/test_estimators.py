"""Behaviour shared by LeNetClassifier and LeNetEnsembleClassifier, tested once
for both."""

import warnings

import numpy as np
import pandas as pd
import pytest

from sklenet import LeNetClassifier, LeNetEnsembleClassifier

from .conftest import fast

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
    X, y, _, _ = digits
    return {name: factory().fit(X, y) for name, factory in ESTIMATORS.items()}


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
