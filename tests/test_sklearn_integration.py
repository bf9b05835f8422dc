"""LeNetClassifier inside scikit-learn's meta-estimators and model selection."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import StackingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import get_scorer
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    cross_val_predict,
    cross_validate,
    learning_curve,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklenet import LeNetClassifier

from .helpers import fast

CV = StratifiedKFold(n_splits=2, shuffle=True, random_state=0)


def test_clone_keeps_every_parameter_and_no_fitted_state(digits):
    X, y, _, _ = digits
    clf = LeNetClassifier(**fast(conv1_filters=4, optimizer__amsgrad=True))
    clf.fit(X, y)
    copy = clone(clf)
    assert copy.get_params() == clf.get_params()
    assert not hasattr(copy, "model_")


def test_pipeline(digits):
    X, y, X_test, y_test = digits
    to_float = FunctionTransformer(lambda X: X / 255.0)
    pipe = make_pipeline(to_float, LeNetClassifier(**fast())).fit(X, y)
    assert pipe.predict_proba(X_test).shape == (len(X_test), 10)
    assert 0 <= pipe.score(X_test, y_test) <= 1


def test_grid_search_with_roc_auc_ovr(digits):
    X, y, _, _ = digits
    search = GridSearchCV(
        LeNetClassifier(**fast()), {"conv1_filters": [3, 6]}, cv=CV,
        scoring="roc_auc_ovr",
    ).fit(X, y)
    assert search.best_params_["conv1_filters"] in (3, 6)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.conv1_filters == search.best_params_["conv1_filters"]


def test_cross_validate_with_several_scorers(digits):
    X, y, _, _ = digits
    scores = cross_validate(
        LeNetClassifier(**fast()), X, y, cv=CV,
        scoring=["accuracy", "roc_auc_ovr", "neg_log_loss"],
    )
    assert np.all((scores["test_roc_auc_ovr"] > 0) & (scores["test_roc_auc_ovr"] <= 1))
    assert np.all(scores["test_neg_log_loss"] < 0)


def test_roc_auc_ovr_scorer_matches_predict_proba(digits):
    from sklearn.metrics import roc_auc_score

    X, y, X_test, y_test = digits
    clf = LeNetClassifier(**fast()).fit(X, y)
    expected = roc_auc_score(y_test, clf.predict_proba(X_test), multi_class="ovr")
    assert get_scorer("roc_auc_ovr")(clf, X_test, y_test) == pytest.approx(expected)


def test_learning_curve(digits):
    X, y, _, _ = digits
    sizes, train_scores, test_scores = learning_curve(
        LeNetClassifier(**fast()), X, y, train_sizes=[0.5, 1.0], cv=CV
    )
    assert list(sizes) == [75, 150]
    assert train_scores.shape == test_scores.shape == (2, 2)


def test_cross_val_predict_probabilities(digits):
    X, y, _, _ = digits
    proba = cross_val_predict(LeNetClassifier(**fast()), X, y, cv=CV,
                              method="predict_proba")
    assert proba.shape == (len(y), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)


def test_calibrated_classifier(digits):
    X, y, X_test, _ = digits
    calibrated = CalibratedClassifierCV(LeNetClassifier(**fast()), cv=CV)
    proba = calibrated.fit(X, y).predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)


def test_stacking_classifier(digits):
    X, y, X_test, y_test = digits
    stack = StackingClassifier(
        [("lenet", LeNetClassifier(**fast()))],
        final_estimator=LogisticRegression(max_iter=200), cv=CV,
    ).fit(X, y)
    assert stack.predict(X_test).shape == y_test.shape
