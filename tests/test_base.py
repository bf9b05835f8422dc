"""Regression tests for what sklenet fixes in scikeras' KerasClassifier
(``sklenet._base.ScikerasFixes``), and the base's seeding."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scikeras.wrappers import KerasClassifier as ScikerasClassifier
from sklearn.base import BaseEstimator, ClassifierMixin, is_classifier
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import GaussianNB
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import check_mixin_order

from sklenet import LeNetClassifier, LeNetEnsembleClassifier, LeNetSearchCV
from sklenet._base import BaseLeNet, derive_seed, holdout_split

from .helpers import fast


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


@pytest.mark.parametrize("n_classes", [2, 10])
def test_predict_proba_of_one_sample_keeps_two_dimensions(digits, n_classes):
    X, y, X_test, _ = digits
    keep = y < n_classes
    clf = LeNetClassifier(**fast()).fit(X[keep], y[keep])
    proba = clf.predict_proba(X_test[:1])
    assert proba.shape == (1, n_classes)
    np.testing.assert_allclose(proba, clf.predict_proba(X_test)[:1], atol=1e-6)
    assert clf.predict(X_test[:1]).tolist() == [clf.classes_[np.argmax(proba)]]


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


def test_a_fit_leaves_later_plain_keras_code_working():
    """In a fresh process with no TensorFlow work before it, a sklenet fit must
    not switch on TensorFlow's op determinism (scikeras' seeding helper does,
    through TF_DETERMINISTIC_OPS): a plain Keras fit with Dropout and
    shuffling afterwards must train, and the global seeds stay as they were."""
    import textwrap

    script = textwrap.dedent("""
        import os, random
        import numpy as np
        from sklenet import LeNetClassifier, LeNetEnsembleClassifier
        from sklenet.datasets import load_sample_digits

        X, y = load_sample_digits(return_X_y=True)
        python_state, numpy_state = random.getstate(), np.random.get_state()
        LeNetClassifier(epochs=1, early_stopping=False).fit(X[::25], y[::25])
        LeNetEnsembleClassifier(n_estimators=1, epochs=1,
                                random_state=3).fit(X[::25], y[::25])
        assert random.getstate() == python_state
        assert np.array_equal(np.random.get_state()[1], numpy_state[1])
        assert "TF_DETERMINISTIC_OPS" not in os.environ

        import keras
        import tensorflow as tf
        from tensorflow.python.eager import context
        from tensorflow.python.framework import config

        assert not config.is_op_determinism_enabled()
        assert context.global_seed() is None
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8),
                                  keras.layers.Dropout(0.5), keras.layers.Dense(2)])
        model.compile("adam", "sparse_categorical_crossentropy")
        history = model.fit(np.random.rand(64, 4), np.random.randint(0, 2, 64),
                            epochs=2, shuffle=True, verbose=0)
        assert len(history.history["loss"]) == 2
        print("trained")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True,
                            text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("trained")


def test_the_estimator_core_never_imports_optuna():
    # export recognises a search by its attributes, not by importing it.
    modules = ["_base", "_callbacks", "_model", "_classifier", "_ensemble",
               "_export", "evaluation"]
    code = (f"import sys\nfor name in {modules}:\n"
            "    __import__('sklenet.' + name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'optuna'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "[]"


# ------------------------------------------------------ the holdout split
def test_the_holdout_holds_every_class_on_both_sides():
    y = np.repeat(np.arange(3), 10)
    _, validation = holdout_split(y, 0.05, 0, n_classes=3)
    assert sorted(y[validation]) == [0, 1, 2]  # 2 samples would miss a class
    # Where the share holds every class, train_test_split's stratified split.
    X = np.arange(60).reshape(30, 2)
    train, validation = holdout_split(y, 0.2, 7, n_classes=3)
    X_train, X_val = train_test_split(X, test_size=6, stratify=y, random_state=7)
    np.testing.assert_array_equal(X[train], X_train)
    np.testing.assert_array_equal(X[validation], X_val)
    with pytest.raises(ValueError, match="at least 1 of each of 4 classes"):
        holdout_split(np.r_[y, 3], 0.2, 0, n_classes=4)
    with pytest.raises(ValueError, match="validation_fraction=0.95 of 30 samples"):
        holdout_split(y, 0.95, 0, n_classes=3)
    _, validation = holdout_split(np.linspace(0, 1, 30), 0.05, 0)  # a regressor's
    assert len(validation) == 2


@pytest.mark.parametrize("caller", ["classifier", "ensemble", "search"])
def test_every_holdout_is_drawn_by_the_one_rule(caller, digits, monkeypatch):
    # Early stopping's split (and the ensemble's check of it) and the search's
    # cv=None holdout: a caller that splits by its own rule fails here.
    X, y, _, _ = digits
    drawn = []

    def spy(y, validation_fraction, random_state, n_classes=None):
        train, validation = holdout_split(y, validation_fraction, random_state,
                                          n_classes)
        drawn.append(len(validation))
        return train, validation

    monkeypatch.setattr("sklenet._base.holdout_split", spy)
    monkeypatch.setattr("sklenet.model_selection._search.holdout_split", spy)
    params = fast(early_stopping=True, epochs=2, validation_fraction=0.2)
    if caller == "classifier":
        LeNetClassifier(**params).fit(X, y)
    elif caller == "ensemble":
        LeNetEnsembleClassifier(n_estimators=2, **params).fit(X, y)
    else:
        LeNetSearchCV(GaussianNB(), {"var_smoothing": [1e-9]}, n_trials=1,
                      random_state=0).fit(X, y)
    # 20 % of 300 digits; the ensemble checks once, then each member splits;
    # GaussianNB has no validation_fraction: the search holds out 10 %.
    assert drawn == {"classifier": [60], "ensemble": [60] * 3, "search": [30]}[caller]


# ------------------------------------------------- loaded input attributes
@pytest.mark.parametrize("estimator", [
    LeNetClassifier(**fast()), LeNetEnsembleClassifier(n_estimators=1, **fast())],
    ids=["classifier", "ensemble"])
def test_both_estimators_save_and_check_their_input_attributes_alike(
        estimator, digits, monkeypatch):
    # One rule for n_features_in_ and feature_names_in_ on load: an
    # estimator with checks of its own fails here.
    X, y, _, _ = digits
    names = [f"pixel{i}" for i in range(X.shape[1])]
    estimator.fit(pd.DataFrame(X, columns=names), y)
    attributes, models = estimator._get_persistent_state()
    loaded = type(estimator)._from_persistent_state(
        estimator.get_params(), attributes, models)
    assert loaded.feature_names_in_.tolist() == names
    checked = []
    monkeypatch.setattr(BaseLeNet, "_check_loaded_input",
                        lambda self: checked.append(type(self).__name__))
    loaded._check_loaded_state()
    # The ensemble checks its own, then its member checks the member's.
    assert checked[0] == type(estimator).__name__
    monkeypatch.undo()
    loaded.feature_names_in_ = loaded.feature_names_in_[:3]
    with pytest.raises(ValueError, match="feature_names_in_ has 3 names, "
                                         "n_features_in_ is 784"):
        loaded._check_loaded_state()
    del loaded.feature_names_in_
    loaded.n_features_in_ = 784.0
    with pytest.raises(ValueError, match="n_features_in_=784.0 is not an int"):
        loaded._check_loaded_state()
