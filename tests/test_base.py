"""Regression tests for what sklenet fixes in scikeras' KerasClassifier."""

import numpy as np
import pytest
import scipy.sparse as sp
from scikeras.wrappers import KerasClassifier as ScikerasClassifier
from sklearn.base import BaseEstimator, ClassifierMixin, is_classifier
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import check_mixin_order

from sklenet import LeNetClassifier
from sklenet._base import derive_seed

from .conftest import fast


def test_is_still_a_scikeras_classifier():
    assert isinstance(LeNetClassifier(), ScikerasClassifier)


def test_sklearn_tags_are_declared():
    tags = get_tags(LeNetClassifier())
    assert tags.estimator_type == "classifier"
    assert tags.classifier_tags is not None
    assert tags.classifier_tags.multi_label is False
    assert tags.input_tags.sparse is False
    assert tags.input_tags.allow_nan is False
    assert tags.target_tags.required is True
    assert is_classifier(LeNetClassifier())


def test_classifier_mixin_comes_before_base_estimator():
    mro = type(LeNetClassifier()).mro()
    assert mro.index(ClassifierMixin) < mro.index(BaseEstimator)
    assert LeNetClassifier.__mro__ == tuple(mro)
    check_mixin_order("LeNetClassifier", LeNetClassifier())


def test_score_is_classifier_mixin_accuracy(digits):
    X, y, X_test, y_test = digits
    clf = LeNetClassifier(**fast()).fit(X, y)
    assert clf.score(X_test, y_test) == np.mean(clf.predict(X_test) == y_test)


def test_feature_count_mismatch_uses_sklearn_message(digits):
    X, y, X_test, _ = digits
    clf = LeNetClassifier(**fast()).fit(X, y)
    with pytest.raises(
        ValueError,
        match="X has 700 features, but LeNetClassifier is expecting 784 features",
    ):
        clf.predict(X_test[:, :700])


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "lil"])
def test_sparse_input_is_refused_by_name(digits, fmt, no_training):
    X, y, _, _ = digits
    clf = LeNetClassifier(**fast(callbacks=[no_training]))
    with pytest.raises(TypeError, match="does not accept sparse input.*toarray"):
        clf.fit(sp.random(len(y), 784, format=fmt, random_state=0), y)


@pytest.mark.parametrize("n_classes", [2, 10])
def test_predict_proba_of_one_sample_keeps_two_dimensions(digits, n_classes):
    X, y, X_test, _ = digits
    keep = y < n_classes
    clf = LeNetClassifier(**fast()).fit(X[keep], y[keep])
    assert clf.predict_proba(X_test[:1]).shape == (1, n_classes)
    assert clf.predict(X_test[:1]).shape == (1,)


def test_distinct_random_states_give_distinct_seeds():
    # scikeras draws randint(low=1) from a copy of the state: always 0.
    seeds = {derive_seed(np.random.RandomState(i)) for i in range(5)}
    assert len(seeds) == 5
    shared = np.random.RandomState(0)
    assert derive_seed(shared) != derive_seed(shared)
    assert derive_seed(np.random.RandomState(3)) == derive_seed(
        np.random.RandomState(3)
    )
    assert derive_seed(7) == 7


def test_random_state_objects_reach_the_network(digits):
    X, y, X_test, _ = digits
    probas = [
        LeNetClassifier(**fast(random_state=np.random.RandomState(seed)))
        .fit(X, y)
        .predict_proba(X_test)
        for seed in (1, 2)
    ]
    assert not np.allclose(*probas)


def test_seed_from_none_leaves_numpy_global_state_alone():
    before = np.random.get_state()[1].copy()
    assert derive_seed(None) != derive_seed(None)
    assert np.array_equal(np.random.get_state()[1], before)


@pytest.mark.parametrize("bad", [True, 1.5, "0"])
def test_invalid_random_state_is_named(bad):
    with pytest.raises(ValueError, match="random_state="):
        derive_seed(bad)


def test_repr_is_sklearn_style():
    assert repr(LeNetClassifier(conv1_filters=3)) == "LeNetClassifier(conv1_filters=3)"
