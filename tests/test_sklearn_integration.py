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

from .helpers import LEARNED, fast, learning

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
    pipe = make_pipeline(to_float, LeNetClassifier(**learning())).fit(X, y)
    assert pipe.predict_proba(X_test).shape == (len(X_test), 10)
    assert pipe.score(X_test, y_test) > LEARNED
    # The network saw floats in [0, 1]: pixel scaling is left to the pipeline.
    assert pipe[-1].input_scale_ == 1.0


def test_grid_search_with_roc_auc_ovr(digits):
    X, y, _, _ = digits
    search = GridSearchCV(
        LeNetClassifier(**learning()), {"conv1_filters": [3, 6]}, cv=CV,
        scoring="roc_auc_ovr",
    ).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    # Measured 0.98 for both; a network that learned nothing scores ~0.5-0.6.
    assert np.all(scores > 0.9)
    assert search.best_params_["conv1_filters"] == [3, 6][int(np.argmax(scores))]
    assert search.best_estimator_.conv1_filters == search.best_params_["conv1_filters"]


def test_cross_validate_with_several_scorers(digits):
    X, y, _, _ = digits
    scores = cross_validate(
        LeNetClassifier(**learning()), X, y, cv=CV,
        scoring=["accuracy", "roc_auc_ovr", "neg_log_loss"],
    )
    # Measured: accuracy 0.81/0.87, AUC 0.98/0.99, log loss 0.74/0.48; a
    # network that learned nothing: 0.10, ~0.55, ln(10) = 2.30.
    assert np.all(scores["test_accuracy"] > LEARNED)
    assert np.all((scores["test_roc_auc_ovr"] > 0.9)
                  & (scores["test_roc_auc_ovr"] <= 1))
    assert np.all((scores["test_neg_log_loss"] > -1.5)
                  & (scores["test_neg_log_loss"] < 0))


def test_roc_auc_ovr_scorer_matches_predict_proba(digits):
    from sklearn.metrics import roc_auc_score

    X, y, X_test, y_test = digits
    clf = LeNetClassifier(**fast()).fit(X, y)
    expected = roc_auc_score(y_test, clf.predict_proba(X_test), multi_class="ovr")
    assert get_scorer("roc_auc_ovr")(clf, X_test, y_test) == pytest.approx(expected)


def test_learning_curve(digits):
    X, y, _, _ = digits
    sizes, train_scores, test_scores = learning_curve(
        LeNetClassifier(**learning()), X, y, train_sizes=[0.5, 1.0], cv=CV
    )
    assert list(sizes) == [75, 150]
    assert train_scores.shape == test_scores.shape == (2, 2)
    # Measured mean test accuracy: 0.59 on 75 images, 0.84 on 150.
    assert test_scores[1].mean() > LEARNED
    assert test_scores[1].mean() > test_scores[0].mean()


def test_cross_val_predict_probabilities(digits):
    X, y, _, _ = digits
    proba = cross_val_predict(LeNetClassifier(**learning()), X, y, cv=CV,
                              method="predict_proba")
    assert proba.shape == (len(y), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    # Each image predicted by the model that did not train on it.
    assert np.mean(proba.argmax(axis=1) == y) > LEARNED


def test_calibrated_classifier(digits):
    X, y, X_test, y_test = digits
    calibrated = CalibratedClassifierCV(LeNetClassifier(**learning()), cv=CV)
    proba = calibrated.fit(X, y).predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    assert calibrated.score(X_test, y_test) > LEARNED


def test_stacking_classifier(digits):
    X, y, X_test, y_test = digits
    stack = StackingClassifier(
        [("lenet", LeNetClassifier(**learning()))],
        final_estimator=LogisticRegression(max_iter=200), cv=CV,
    ).fit(X, y)
    assert stack.predict(X_test).shape == y_test.shape
    assert stack.score(X_test, y_test) > LEARNED
