"""LeNetSearchCV as GridSearchCV: metadata routing, several metrics, classifier
conventions, Optuna callbacks."""

import importlib
import os

import numpy as np
import optuna
import pytest
import sklearn
from optuna.distributions import FloatDistribution
from sklearn.base import is_classifier
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.linear_model import Ridge
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    get_scorer,
    make_scorer,
)
from sklearn.model_selection import GroupKFold, cross_validate
from sklearn.naive_bayes import GaussianNB

from sklenet import LeNetClassifier
from sklenet.model_selection import LeNetSearchCV

from ..helpers import LEARNED, fast, learning

SPACE = {"var_smoothing": FloatDistribution(1e-3, 1.0, log=True)}


def bayes_search(estimator=None, **params):
    """A search over GaussianNB: no Keras, fast; its fit takes sample_weight."""
    return LeNetSearchCV(estimator or GaussianNB(), SPACE,
                         **{"n_trials": 2, "random_state": 0, **params})


@pytest.fixture(scope="module")
def weights(digits):
    """Uneven weights (0 to 3) of the 300 training digits."""
    _, y, _, _ = digits
    return np.random.default_rng(0).integers(0, 4, len(y)).astype(float)


def _groups(y):
    return np.arange(len(y)) % 7


# ----------------------------------------------------------------- routing
@pytest.mark.parametrize("routing", [False, True])
def test_groups_reach_the_group_splitter(digits, routing):
    X, y, _, _ = digits
    groups = _groups(y)
    with sklearn.config_context(enable_metadata_routing=routing):
        search = bayes_search(cv=GroupKFold(3)).fit(X, y, groups=groups)
    # Each trial's split scores are those of its parameters on the group
    # folds, which exist only with the groups.
    for index, params in enumerate(search.cv_results_["params"]):
        expected = cross_validate(GaussianNB(**params), X, y, groups=groups,
                                  cv=GroupKFold(3))["test_score"]
        got = [search.cv_results_[f"split{k}_test_score"][index] for k in range(3)]
        np.testing.assert_allclose(got, expected)


def test_groups_without_a_group_splitter_are_refused(digits):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match=r"cv=None .*takes no \['groups'\]"):
        bayes_search().fit(X, y, groups=_groups(y))


def _weighted_split_scores(search, X, y, weights):
    """Each trial's split scores recomputed: weighted fit, weighted accuracy."""
    scores = []
    for params in search.cv_results_["params"]:
        row = []
        for train, test in GroupKFold(3).split(X, y, _groups(y)):
            clf = GaussianNB(**params).fit(X[train], y[train],
                                           sample_weight=weights[train])
            row.append(accuracy_score(y[test], clf.predict(X[test]),
                                      sample_weight=weights[test]))
        scores.append(row)
    return np.array(scores)


@pytest.mark.parametrize("routing", [False, True])
def test_sample_weight_reaches_the_fit_and_the_scorer(digits, weights, routing):
    X, y, _, _ = digits
    with sklearn.config_context(enable_metadata_routing=routing):
        if routing:
            estimator = GaussianNB().set_fit_request(sample_weight=True)
            scoring = make_scorer(accuracy_score).set_score_request(
                sample_weight=True)
        else:  # sklearn's legacy rule: to fit, and to scorers that take it
            estimator, scoring = GaussianNB(), "accuracy"
        search = bayes_search(estimator, cv=GroupKFold(3), scoring=scoring)
        search.fit(X, y, groups=_groups(y), sample_weight=weights)
    got = np.column_stack([search.cv_results_[f"split{k}_test_score"]
                           for k in range(3)])
    expected = _weighted_split_scores(search, X, y, weights)
    np.testing.assert_allclose(got, expected)
    # The refit was weighted, and score() passes the weights to the scorer.
    best = GaussianNB(**search.best_params_).fit(X, y, sample_weight=weights)
    np.testing.assert_array_equal(search.best_estimator_.theta_, best.theta_)
    with sklearn.config_context(enable_metadata_routing=routing):
        assert search.score(X, y, sample_weight=weights) == pytest.approx(
            accuracy_score(y, best.predict(X), sample_weight=weights))
    # The weights change the scores: the test would see them ignored.
    unweighted = bayes_search(cv=GroupKFold(3)).fit(X, y, groups=_groups(y))
    assert not np.allclose(got[0], [unweighted.cv_results_[f"split{k}_test_score"][0]
                                    for k in range(3)])


def test_unrequested_metadata_is_refused_before_any_trial(digits, weights):
    X, y, _, _ = digits
    search = bayes_search()
    with sklearn.config_context(enable_metadata_routing=True):
        with pytest.raises(UnsetMetadataPassedError, match="sample_weight"):
            search.fit(X, y, sample_weight=weights)
    assert not hasattr(search, "study_")


@pytest.mark.parametrize(
    "params, match",
    [({"sample_weight": np.ones(5)}, r"sample_weight.shape == \(5,\), expected \(300"),
     ({"sample_weight": -np.ones(300)}, "non-negative"),
     ({"sample_weight": np.zeros(300)}, "not all zero"),
     ({"classes": [0, 1]}, r"GaussianNB.fit takes no \['classes'\]")],
)
def test_bad_fit_metadata_is_refused_before_any_trial(digits, params, match):
    X, y, _, _ = digits
    search = bayes_search()
    with pytest.raises(ValueError, match=match):
        search.fit(X, y, **params)
    assert not hasattr(search, "study_")


def test_metadata_routing_describes_fit_and_score():
    with sklearn.config_context(enable_metadata_routing=True):
        search = bayes_search(
            GaussianNB().set_fit_request(sample_weight=True), cv=GroupKFold(3),
            scoring=make_scorer(accuracy_score).set_score_request(
                sample_weight="score_weight"),
        )
        routing = search.get_metadata_routing()
        assert routing.consumes("fit", ["groups", "sample_weight", "score_weight",
                                        "other"]) == {"groups", "sample_weight",
                                                      "score_weight"}
        assert routing.consumes("score", ["score_weight", "sample_weight"]) == {
            "score_weight"}
        # validation_data is the search's own parameter.
        assert "validation_data" in str(routing)


def test_a_zero_weight_class_stays_a_class_and_is_never_predicted(digits):
    """Weights that leave digit 9 out: the refit's early-stopping split is
    stratified over every class (it used to fail with "at least 0 of each of
    10 classes"), 9 stays in classes_, and the network never predicts it."""
    X, y, X_test, y_test = digits
    weights = (y != 9).astype(float)
    search = LeNetSearchCV(LeNetClassifier(**learning(early_stopping=True)),
                           {"conv1_filters": [6]}, n_trials=1, random_state=0)
    search.fit(X, y, sample_weight=weights)
    np.testing.assert_array_equal(search.classes_, np.arange(10))
    predicted = search.predict(X_test)
    assert 9 not in predicted
    others = y_test != 9
    assert accuracy_score(y_test[others], predicted[others]) > LEARNED
    # The trial was scored with the weights (accuracy takes them): the 9s
    # of the holdout, all wrong, do not count.
    assert search.best_score_ > LEARNED


# ------------------------------------------------------------ several metrics
def test_several_metrics_give_columns_per_metric_and_refit_picks_one(digits):
    X, y, X_test, y_test = digits
    search = bayes_search(n_trials=3, cv=3, scoring=["accuracy",
                                                     "balanced_accuracy"],
                          refit="balanced_accuracy").fit(X, y)
    results = search.cv_results_
    assert search.multimetric_ and set(search.scorer_) == {"accuracy",
                                                           "balanced_accuracy"}
    for name in ("accuracy", "balanced_accuracy"):
        for column in ("mean_test", "std_test", "rank_test", "split2_test"):
            assert f"{column}_{name}" in results
    assert "mean_test_score" not in results
    # Optuna optimised balanced accuracy: the best trial is its rank 1.
    best = search.best_index_
    assert results["rank_test_balanced_accuracy"][best] == 1
    assert search.best_score_ == pytest.approx(
        results["mean_test_balanced_accuracy"][best])
    expected = cross_validate(GaussianNB(**search.best_params_), X, y, cv=3,
                              scoring=["accuracy", "balanced_accuracy"])
    assert results["mean_test_accuracy"][best] == pytest.approx(
        expected["test_accuracy"].mean())
    assert search.score(X_test, y_test) == pytest.approx(
        balanced_accuracy_score(y_test, search.predict(X_test)))
    # Every metric is in the trial's user attributes (the Optuna dashboard).
    attrs = search.study_.best_trial.user_attrs
    assert attrs["mean_test_accuracy"] == pytest.approx(
        results["mean_test_accuracy"][best])
    assert {"split0_test_balanced_accuracy", "mean_test_balanced_accuracy"} <= \
        set(attrs)


def test_a_dict_and_a_callable_returning_a_dict(digits):
    X, y, _, _ = digits

    def metrics(estimator, X, y):
        predicted = estimator.predict(X)
        return {"acc": accuracy_score(y, predicted),
                "errors": float((predicted != y).sum())}

    by_dict = bayes_search(scoring={"acc": get_scorer("accuracy"),
                                    "bal": "balanced_accuracy"},
                           refit="acc").fit(X, y)
    by_callable = bayes_search(scoring=metrics, refit="acc").fit(X, y)
    for search in (by_dict, by_callable):
        assert search.best_score_ == by_dict.best_score_
        assert search.cv_results_["rank_test_acc"][search.best_index_] == 1
    assert "mean_test_errors" in by_callable.cv_results_
    np.testing.assert_allclose(by_callable.cv_results_["mean_test_errors"],
                               (1 - by_dict.cv_results_["mean_test_acc"]) * 30)


@pytest.mark.parametrize("refit", [True, False, "f1"])
def test_several_metrics_need_refit_to_name_one(digits, refit):
    X, y, _, _ = digits
    search = bayes_search(scoring=["accuracy", "balanced_accuracy"], refit=refit)
    with pytest.raises(ValueError, match=f"refit must name .*refit={refit!r}"):
        search.fit(X, y)
    assert not hasattr(search, "study_")


def test_a_callable_without_the_refit_metric_stops_the_search(digits):
    X, y, _, _ = digits
    search = bayes_search(scoring=lambda est, X, y: {"acc": est.score(X, y)})
    with pytest.raises(ValueError, match=r"metrics \['acc'\].*refit='score'"):
        search.fit(X, y)


# ---------------------------------------------------------------- callbacks
def test_optuna_callbacks_see_every_trial_with_its_metrics(digits):
    X, y, _, _ = digits
    seen = []

    def track(study, trial):
        seen.append((trial.number, trial.user_attrs["mean_test_accuracy"]))

    search = bayes_search(n_trials=3, scoring=["accuracy", "balanced_accuracy"],
                          refit="accuracy",
                          callbacks=[track, optuna.study.MaxTrialsCallback(2)])
    search.fit(X, y)
    # MaxTrialsCallback stopped the study after 2 of the 3 trials.
    assert [number for number, _ in seen] == [0, 1] == \
        [t.number for t in search.study_.trials]
    np.testing.assert_allclose([score for _, score in seen],
                               search.cv_results_["mean_test_accuracy"])


# ------------------------------------------------------ classifier conventions
def test_the_search_is_a_classifier_with_a_documentation_link(monkeypatch):
    search = LeNetSearchCV()
    assert is_classifier(search)
    # Around a regressor the tags follow it, as GridSearchCV's do.
    assert not is_classifier(LeNetSearchCV(Ridge(), {"alpha": [1.0]}))
    monkeypatch.delenv("SKLENET_DOCS_URL", raising=False)
    assert search._get_doc_link() == ""
    monkeypatch.setenv("SKLENET_DOCS_URL", "https://docs.example.org/sklenet")
    url = search._get_doc_link()
    assert url == "https://docs.example.org/sklenet/generated/sklenet.LeNetSearchCV.html"
    assert url in search._repr_html_()


def _runtime(module):
    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(f"{module} is not installed: CI installs sklenet[test].")
        pytest.skip(f'{module} is not installed (pip install "sklenet[export]")')


def test_skl2onnx_converts_a_fitted_search(digits):
    skl2onnx = _runtime("skl2onnx")
    ort = _runtime("onnxruntime")
    from sklenet._export import register_skl2onnx_converters

    X, y, X_test, _ = digits
    X, X_test = X.astype(np.float32), X_test.astype(np.float32)
    search = LeNetSearchCV(LeNetClassifier(**fast()), {"conv1_filters": [4]},
                           n_trials=1, random_state=0).fit(X, y)
    register_skl2onnx_converters()
    onx = skl2onnx.to_onnx(search, X[:1], options={"zipmap": False})
    labels, proba = ort.InferenceSession(onx.SerializeToString()).run(
        None, {"X": X_test})
    np.testing.assert_allclose(proba, search.predict_proba(X_test), rtol=0,
                               atol=1e-5)
    np.testing.assert_array_equal(labels, search.predict(X_test))
