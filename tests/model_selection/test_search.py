"""LeNetSearchCV: search spaces, validation, pruning, failures, storage."""

import random

import numpy as np
import optuna
import pandas as pd
import pytest
import scipy.sparse
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.trial import TrialState
from sklearn.base import clone
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import accuracy_score
from sklearn.naive_bayes import GaussianNB
from sklearn.utils._param_validation import InvalidParameterError

from sklenet import LeNetClassifier
from sklenet._ensemble import LeNetEnsembleClassifier
from sklenet.model_selection import (
    EXTENDED_SEARCH_SPACE,
    STUDY_SEARCH_SPACE,
    LeNetSearchCV,
)
from sklenet.model_selection._compat_optuna import check_postgresql_support
from sklenet.model_selection._storage import open_storage

from ..helpers import assert_same_global_random_state

SPACE = {"conv1_filters": [3, 4], "dense_activation": ["relu", "tanh"]}


def lenet(**params):
    """A LeNet that learns something on 270 digits in 2 epochs, fast."""
    return LeNetClassifier(**{"epochs": 2, "learning_rate": 0.01,
                              "batch_size": 64, "random_state": 0, **params})


def bayes_search(**params):
    """A search over a sklearn classifier: no Keras, fast."""
    return LeNetSearchCV(
        GaussianNB(),
        {"var_smoothing": FloatDistribution(1e-3, 1.0, log=True)},
        **{"n_trials": 2, "random_state": 0, **params},
    )


class PruneAllButFirst(optuna.pruners.BasePruner):
    """Prunes every trial but trial 0 at its first report."""

    def prune(self, study, trial):
        return trial.number > 0


@pytest.fixture(scope="module")
def pruned_search(digits):
    """3 trials, holdout: trial 0 completes its 2 epochs, 1 and 2 are pruned."""
    X, y, _, _ = digits
    search = LeNetSearchCV(lenet(), SPACE, n_trials=3, pruner=PruneAllButFirst(),
                           random_state=0)
    return search.fit(X, y)


# ---------------------------------------------------------- search spaces
def _choices(distribution):
    if isinstance(distribution, IntDistribution):
        return list(range(distribution.low, distribution.high + 1,
                          distribution.step))
    return list(distribution.choices)


def test_study_space_is_the_spec_space():
    space = STUDY_SEARCH_SPACE
    assert len(space) == 12
    assert set(space) <= set(LeNetClassifier().get_params())
    assert _choices(space["conv2_kernel_size"]) == [3, 5, 7]
    assert _choices(space["conv1_filters"]) == [3, 5, 7, 9, 11, 13]
    assert _choices(space["pool2_size"]) == [2, 4]
    assert _choices(space["dense1_units"]) == [32, 64, 128, 256]
    assert _choices(space["conv_activation"]) == ["sigmoid", "relu", "gelu",
                                                  "elu", "tanh"]
    assert space["dense_l2"] == FloatDistribution(1e-6, 1e-2, log=True)


def test_extended_space_adds_what_the_study_kept_fixed():
    added = set(EXTENDED_SEARCH_SPACE) - set(STUDY_SEARCH_SPACE)
    assert {"pooling", "global_pooling", "learning_rate", "batch_size"} <= added
    training_options = {"batch_normalization", "dropout", "rotation_range",
                        "shift_range", "zoom_range", "learning_rate_schedule",
                        "label_smoothing"}
    assert training_options <= added
    # Every option can be off: the study's standard LeNet lies in the space.
    for name in training_options:
        assert EXTENDED_SEARCH_SPACE[name]._contains(
            EXTENDED_SEARCH_SPACE[name].to_internal_repr(
                LeNetClassifier().get_params()[name]))
    assert set(EXTENDED_SEARCH_SPACE) <= set(LeNetClassifier().get_params())
    assert _choices(EXTENDED_SEARCH_SPACE["pooling"]) == ["average", "max"]


@pytest.mark.parametrize(
    "space, error, match",
    [({"conv3_filters": [3]}, ValueError, r"'conv3_filters'.*conv1_filters"),
     ({}, ValueError, "empty"),
     ({"conv1_filters": range(3, 5)}, TypeError, "list of choices or an Optuna"),
     ({"conv1_filters": []}, ValueError, r"\['conv1_filters'\]")],
)
def test_bad_search_space_fails_before_training(digits, no_training, space, error,
                                                 match):
    X, y, _, _ = digits
    search = LeNetSearchCV(lenet(callbacks=[no_training]), space,
                           error_score="raise")
    with pytest.raises(error, match=match):
        search.fit(X, y)


def test_default_space_of_a_foreign_estimator_is_refused(digits):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="not a parameter of LogisticRegression"):
        LeNetSearchCV(LogisticRegression()).fit(X, y)


def test_invalid_parameters_are_named(digits):
    X, y, _, _ = digits
    with pytest.raises(InvalidParameterError, match="'n_trials'"):
        bayes_search(n_trials=0).fit(X, y)
    with pytest.raises(ValueError, match="validation_data is the holdout"):
        bayes_search(cv=2).fit(X, y, validation_data=(X, y))


# --------------------------------------------------- holdout and pruning
def test_fitted_attributes(pruned_search, digits):
    X, y, X_test, y_test = digits
    search = pruned_search
    assert search.n_trials_ == 3 and search.n_splits_ == 1
    assert search.best_trial_.number == search.best_index_ == 0
    assert search.best_params_ == search.study_.trials[0].params
    assert search.best_score_ == search.study_.trials[0].value
    assert search.best_estimator_.get_params()["conv1_filters"] == \
        search.best_params_["conv1_filters"]
    assert search.best_estimator_.n_epochs_ == 2  # refit on all of X
    assert search.best_estimator_.n_features_in_ == search.n_features_in_ == 784
    np.testing.assert_array_equal(search.classes_, np.arange(10))
    assert search.predict_proba(X_test).shape == (100, 10)
    assert search.score(X_test, y_test) == accuracy_score(y_test,
                                                          search.predict(X_test))


def test_pruned_trials_stop_mid_training(pruned_search):
    results = pruned_search.cv_results_
    assert results["state"].tolist() == ["COMPLETE", "PRUNED", "PRUNED"]
    assert results["n_epochs"].tolist() == [2, 1, 1]
    trials = pruned_search.study_.trials
    assert [sorted(t.intermediate_values) for t in trials] == [[0, 1], [0], [0]]
    assert results["rank_test_score"].tolist() == [1, 2, 2]
    assert np.isnan(results["mean_test_score"][1:]).all()


def test_cv_results_load_into_pandas(pruned_search):
    frame = pd.DataFrame(pruned_search.cv_results_)
    assert len(frame) == 3
    expected = {"params", "param_conv1_filters", "param_dense_activation",
                "split0_test_score", "mean_test_score", "std_test_score",
                "rank_test_score", "mean_fit_time", "state", "n_epochs",
                "duration"}
    assert expected <= set(frame.columns)
    trials = pruned_search.trials_dataframe()
    assert trials["state"].tolist() == ["COMPLETE", "PRUNED", "PRUNED"]


def test_validation_data_is_the_holdout_and_the_refit_validation(digits):
    X, y, X_test, y_test = digits
    search = LeNetSearchCV(lenet(), {"conv1_filters": [3, 4]}, n_trials=2,
                           random_state=0)
    search.fit(X, y, validation_data=(X_test, y_test))
    # The trial trained on all of X against (X_test, y_test): so did the refit.
    assert search.best_score_ == pytest.approx(search.score(X_test, y_test))
    assert "val_accuracy" in search.best_estimator_.history_


def test_holdout_is_a_fixed_stratified_validation_fraction(digits):
    X, y, _, _ = digits
    seen = []

    def record(estimator, X_val, y_val):
        seen.append(np.sort(X_val.sum(axis=1)))
        return len(y_val) + np.bincount(y_val).min() / 100

    for random_state in (0, 1):
        bayes_search(scoring=record, random_state=random_state).fit(X, y)
    sgd = LeNetSearchCV(SGDClassifier(validation_fraction=0.2, max_iter=5, tol=None),
                        {"alpha": [1e-4]},
                        n_trials=1, scoring=record).fit(X, y)
    # 10% of 300 (GaussianNB has no validation_fraction), 3 per class,
    # the same samples whatever the sampler's seed; SGD's own 20%.
    assert seen[0].tolist() == seen[3].tolist()
    assert bayes_search(scoring=record).fit(X, y).best_score_ == \
        pytest.approx(30.03)
    assert sgd.best_score_ == pytest.approx(60.06)


def test_kfold_reports_one_step_per_split_and_epoch(digits):
    X, y, _, _ = digits
    search = LeNetSearchCV(lenet(), {"conv1_filters": [3]}, n_trials=1, cv=2,
                           refit=False).fit(X, y)
    (trial,) = search.study_.trials
    assert sorted(trial.intermediate_values) == [0, 1, 2, 3]  # split * 2 + epoch
    results = search.cv_results_
    assert results["n_epochs"][0] == 4
    assert results["mean_test_score"][0] == pytest.approx(
        (results["split0_test_score"][0] + results["split1_test_score"][0]) / 2)
    with pytest.raises(AttributeError, match="refit=False"):
        search.predict(X)


def test_any_sklearn_classifier_is_tuned_without_pruning(digits):
    X, y, X_test, _ = digits
    before = (random.getstate(), np.random.get_state())
    search = bayes_search(n_trials=3, cv=3).fit(X, y)
    assert_same_global_random_state(before)
    assert search.cv_results_["state"].tolist() == ["COMPLETE"] * 3
    assert all(not t.intermediate_values for t in search.study_.trials)
    assert np.isnan(search.cv_results_["n_epochs"]).all()
    assert search.predict(X_test).shape == (100,)
    assert 1e-3 <= search.best_params_["var_smoothing"] <= 1



def test_sparse_x_goes_to_an_estimator_that_takes_it(digits):
    """The search checks X with sklenet's estimators' rules only: scikit-learn
    1.6's BaseEstimator._validate_data refused the sparse X that
    LogisticRegression takes (its sparse-tag check failed at the floor)."""
    X, y, X_test, _ = digits
    search = LeNetSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, n_trials=2,
                           error_score="raise", random_state=0)
    search.fit(scipy.sparse.csr_matrix(X), y)
    assert search.cv_results_["state"].tolist() == ["COMPLETE"] * 2
    assert search.predict(scipy.sparse.csr_matrix(X_test)).shape == (100,)
    # A LeNet still refuses it, before any trial.
    with pytest.raises(TypeError, match="[Ss]parse"):
        LeNetSearchCV(LeNetClassifier(), n_trials=1).fit(
            scipy.sparse.csr_matrix(X), y)

def test_ensemble_is_pruned_after_its_first_member(digits):
    X, y, _, _ = digits
    ensemble = LeNetEnsembleClassifier(n_estimators=2, epochs=2, learning_rate=0.01,
                                       batch_size=64, random_state=0)
    search = LeNetSearchCV(ensemble, {"conv1_filters": [3, 4]}, n_trials=2,
                           pruner=PruneAllButFirst(), refit=False).fit(X, y)
    results = search.cv_results_
    assert results["state"].tolist() == ["COMPLETE", "PRUNED"]
    # Trial 0: 2 members x 2 epochs, member 0 reporting; trial 1: stopped
    # after member 0's first epoch (the ensemble wraps the TrialPruned).
    assert results["n_epochs"].tolist() == [4, 1]
    assert sorted(search.study_.trials[0].intermediate_values) == [0, 1]


def test_trials_in_threads(digits):
    X, y, _, _ = digits
    search = bayes_search(n_trials=4, n_jobs=2).fit(X, y)
    assert sorted(t.number for t in search.study_.trials) == [0, 1, 2, 3]


# ----------------------------------------------------------------- failures
def _failing_search(**params):
    """One trial builds a LeNet with an unknown activation, the other works."""
    activations = ["bogus", "relu"]
    sampler = optuna.samplers.GridSampler({"conv_activation": activations}, seed=0)
    return LeNetSearchCV(lenet(epochs=1), {"conv_activation": activations},
                         n_trials=2, sampler=sampler, **params)


def test_failed_trial_is_marked_and_the_search_continues(digits):
    X, y, _, _ = digits
    with pytest.warns(FitFailedWarning, match="bogus"):
        search = _failing_search().fit(X, y)
    states = dict(zip(search.cv_results_["param_conv_activation"],
                      search.cv_results_["state"]))
    assert states == {"bogus": "FAIL", "relu": "COMPLETE"}
    assert search.best_params_ == {"conv_activation": "relu"}


def test_error_score_number_raise_and_catch(digits):
    X, y, _, _ = digits
    with pytest.warns(FitFailedWarning):
        scored = _failing_search(error_score=0.0, refit=False).fit(X, y)
    assert scored.cv_results_["state"].tolist() == ["COMPLETE", "COMPLETE"]
    assert 0.0 in scored.cv_results_["mean_test_score"]
    with pytest.raises(ValueError, match="bogus"):
        _failing_search(error_score="raise").fit(X, y)
    caught = _failing_search(error_score="raise", catch=(ValueError,),
                             refit=False).fit(X, y)
    assert sorted(caught.cv_results_["state"]) == ["COMPLETE", "FAIL"]


@pytest.mark.parametrize("error_score", [np.nan, 0.0])
def test_refused_parameter_values_fail_the_trial(digits, error_score):
    X, y, _, _ = digits
    space = {"var_smoothing": [-1.0, 1e-9]}  # GaussianNB refuses a negative one

    def search(**params):
        return LeNetSearchCV(
            GaussianNB(), space, n_trials=2, refit=False,
            sampler=optuna.samplers.GridSampler(space, seed=0), **params)

    with pytest.warns(FitFailedWarning, match="var_smoothing"):
        fitted = search(error_score=error_score).fit(X, y)
    trials = {t.params["var_smoothing"]: t for t in fitted.study_.trials}
    # Failed, not scored error_score: the trial never trained.
    assert trials[-1.0].state == TrialState.FAIL
    assert "InvalidParameterError" in trials[-1.0].user_attrs["error"]
    assert trials[1e-9].state == TrialState.COMPLETE
    with pytest.raises(InvalidParameterError, match="var_smoothing"):
        search(error_score="raise").fit(X, y)


def test_negative_learning_rate_fails_the_trial_before_training(digits,
                                                                no_training):
    X, y, _, _ = digits
    storage = optuna.storages.InMemoryStorage()
    search = LeNetSearchCV(lenet(callbacks=[no_training]),
                           {"learning_rate": FloatDistribution(-1.0, -0.1)},
                           n_trials=1, storage=storage, study_name="lr",
                           error_score=0.0)
    with pytest.warns(FitFailedWarning, match="learning_rate"), \
            pytest.raises(ValueError, match="No trial .* completed"):
        search.fit(X, y)
    (trial,) = optuna.load_study(study_name="lr", storage=storage).trials
    assert trial.state == TrialState.FAIL
    assert "learning_rate" in trial.user_attrs["error"]


@pytest.mark.parametrize("bad, match", [
    ("nan", "Input X contains NaN"),
    ("inf", "Input X contains infinity"),
    ("nan validation", "Input X contains NaN"),
    ("narrow validation", "X has 100 features"),
])
def test_bad_data_is_refused_before_any_trial(tmp_path, digits, no_training, bad,
                                              match):
    X, y, X_val, y_val = digits
    X, X_val = X / 255.0, X_val / 255.0
    if bad == "nan":
        X[0, 0] = np.nan
    elif bad == "inf":
        X[0, 0] = np.inf
    elif bad == "nan validation":
        X_val[0, 0] = np.nan
    else:
        X_val = X_val[:, :100]
    path = tmp_path / "study.db"
    search = LeNetSearchCV(lenet(callbacks=[no_training]), SPACE,
                           storage=f"sqlite:///{path}", study_name="bad")
    with pytest.raises(ValueError, match=match):
        search.fit(X, y, validation_data=None if "validation" not in bad
                   else (X_val, y_val))
    assert not path.exists()  # no study, no FAIL records


def test_nan_score_fails_the_trial_and_all_failed_is_an_error(digits):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match=r"No trial .* completed \({'FAIL': 2}\)"):
        bayes_search(scoring=lambda est, X, y: float("nan")).fit(X, y)


# ------------------------------------------------------------------ storage
def test_resume_continues_the_study(tmp_path, digits):
    X, y, _, _ = digits
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    first = bayes_search(storage=storage, study_name="nb").fit(X, y)
    before = [(t.number, t.params, t.value) for t in first.study_.trials]
    second = bayes_search(storage=storage, study_name="nb",
                             random_state=1).fit(X, y)
    trials = second.study_.trials
    assert [t.number for t in trials] == [0, 1, 2, 3]
    assert [(t.number, t.params, t.value) for t in trials[:2]] == before
    assert second.n_trials_ == 4 and len(second.cv_results_["params"]) == 4
    assert second.best_score_ == max(t.value for t in trials)


def test_resumed_seeded_search_proposes_new_parameters(tmp_path, digits):
    X, y, _, _ = digits
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    for _ in range(2):  # stopped after 2 trials, then resumed with the same seed
        resumed = bayes_search(storage=storage, study_name="nb",
                               refit=False).fit(X, y)
    proposed = [t.params["var_smoothing"] for t in resumed.study_.trials]
    assert len(proposed) == 4 and len(set(proposed)) == 4
    # The seed still fixes the trials: a new study proposes the same first two.
    again = bayes_search(refit=False).fit(X, y)
    assert [t.params["var_smoothing"] for t in again.study_.trials] == proposed[:2]


def test_journal_file_storage(tmp_path, digits):
    X, y, _, _ = digits
    path = tmp_path / "study.log"
    for _ in range(2):
        bayes_search(storage=path, study_name="nb", refit=False).fit(X, y)
    study = optuna.load_study(study_name="nb",
                              storage=JournalStorage(JournalFileBackend(str(path))))
    assert len(study.trials) == 4


@pytest.mark.parametrize("url, match", [
    ("sqlite:////no/such/directory/study.db", "unable to open database file"),
    ("postgresql://user:secret@127.0.0.1:1/db", "Connection refused"),
])
def test_unreachable_storage_fails_before_training(digits, no_training, url, match):
    if url.startswith("postgresql"):
        pytest.importorskip("psycopg")
        try:
            check_postgresql_support()
        except ImportError as exc:  # the lowest-versions job's Optuna
            pytest.skip(str(exc))
    X, y, _, _ = digits
    search = LeNetSearchCV(lenet(callbacks=[no_training]), SPACE, storage=url,
                           error_score="raise")
    with pytest.raises(ValueError, match=match) as error:
        search.fit(X, y)
    assert "Cannot open the Optuna storage" in str(error.value)
    assert "secret" not in str(error.value)


def test_a_minimizing_study_is_refused(tmp_path, digits):
    X, y, _, _ = digits
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    optuna.create_study(storage=storage, study_name="min", direction="minimize")
    with pytest.raises(ValueError, match="minimizes"):
        bayes_search(storage=storage, study_name="min").fit(X, y)


def test_a_postgresql_storage_names_the_optuna_it_needs(monkeypatch):
    monkeypatch.setattr(optuna, "__version__", "4.4.0")
    with pytest.raises(ImportError, match=r"PostgreSQL storage needs Optuna >= "
                       r"4\.5 .* Optuna 4\.4\.0 is installed"):
        open_storage("postgresql://user:secret@127.0.0.1:1/lenet")


def test_open_storage_forms(tmp_path):
    assert open_storage(None) is None
    assert isinstance(open_storage(tmp_path / "s.log"), JournalStorage)
    storage = open_storage(f"sqlite:///{tmp_path / 's.db'}")
    assert storage.get_heartbeat_interval() == 60
    assert open_storage(storage) is storage


def test_clone_keeps_every_parameter():
    search = LeNetSearchCV(lenet(), SPACE, n_trials=3, storage="study.log",
                           pruner=optuna.pruners.NopPruner())
    assert clone(search).get_params().keys() == search.get_params().keys()
    assert clone(search).storage == "study.log"


# ----------------------------------------------------------------- feedback
def test_progress_bar(digits, capsys):
    X, y, _, _ = digits
    bayes_search(show_progress_bar=True).fit(X, y)
    assert "2/2" in capsys.readouterr().err


@pytest.mark.parametrize("verbose, level", [(0, optuna.logging.WARNING),
                                            (1, optuna.logging.INFO)])
def test_optuna_logs_a_line_per_trial_only_when_verbose(digits, verbose, level):
    X, y, _, _ = digits
    previous = optuna.logging.get_verbosity()
    levels = []
    bayes_search(verbose=verbose, n_trials=1, callbacks=[
        lambda study, trial: levels.append(optuna.logging.get_verbosity())
    ]).fit(X, y)
    assert levels == [level]
    assert optuna.logging.get_verbosity() == previous
