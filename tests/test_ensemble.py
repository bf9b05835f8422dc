"""LeNetEnsembleClassifier: soft voting, training modes, parallelism, persistence."""

import copy
import inspect
import os
import random
import re
import subprocess
import sys

import joblib
import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from sklenet import LeNetClassifier
from sklenet._base import spawn_seeds
from sklenet._ensemble import LeNetEnsembleClassifier, soft_vote
from sklenet._export import _inference_model
from sklenet.persistence import read_manifest, save
from sklenet.serve._predictor import Predictor

from .helpers import assert_same_global_random_state, fast

NAMES = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven",
                  "eight", "nine"])


def small(**params):
    """Parameters of a 2-member ensemble that trains in a few seconds."""
    return fast(n_estimators=2, **params)


class _RecordLearningRate(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.learning_rates = []

    def on_train_batch_begin(self, batch, logs=None):
        self.learning_rates.append(float(self.model.optimizer.learning_rate))


class _DivergeAtTraining(keras.callbacks.Callback):
    """Makes the n-th training this instance sees report a NaN loss."""

    def __init__(self, n):
        super().__init__()
        self.n = n
        self.seen = 0

    def on_train_begin(self, logs=None):
        self.seen += 1

    def on_epoch_end(self, epoch, logs=None):
        if self.seen == self.n:
            logs["loss"] = float("nan")


@pytest.fixture(scope="module")
def fitted(digits):
    """A 2-member ensemble fitted on string labels, and its test probabilities."""
    X, y, X_test, _ = digits
    ensemble = LeNetEnsembleClassifier(**small()).fit(X, NAMES[y])
    return ensemble, ensemble.predict_proba(X_test)


# ------------------------------------------------------------------ params
def test_constructor_mirrors_lenet_classifier():
    single = inspect.signature(LeNetClassifier).parameters
    ensemble = inspect.signature(LeNetEnsembleClassifier).parameters
    assert {name: p.default for name, p in single.items()} == {
        name: p.default for name, p in ensemble.items() if name in single
    }
    extra = {name: p.default for name, p in ensemble.items() if name not in single}
    assert extra == {"n_estimators": 10, "ensemble": "independent", "n_jobs": None}


def test_one_grid_serves_both_estimators():
    point = {"conv1_filters": 3, "learning_rate": 0.01, "optimizer__amsgrad": True}
    for estimator in (LeNetClassifier(), LeNetEnsembleClassifier()):
        params = estimator.set_params(**point).get_params()
        assert {k: params[k] for k in point} == point
    ensemble = LeNetEnsembleClassifier(n_estimators=3, optimizer__amsgrad=True)
    assert clone(ensemble).get_params() == ensemble.get_params()
    assert repr(ensemble) == (
        "LeNetEnsembleClassifier(n_estimators=3, optimizer__amsgrad=True)"
    )


# ------------------------------------------------------------ soft voting
def test_predict_proba_is_the_mean_of_the_members(fitted, digits):
    ensemble, proba = fitted
    X, _, X_test, _ = digits
    members = [member.predict_proba(X_test) for member in ensemble.estimators_]
    np.testing.assert_array_equal(proba, np.mean(members, axis=0))
    assert list(ensemble.classes_) == sorted(NAMES)
    np.testing.assert_array_equal(
        ensemble.predict(X_test), ensemble.classes_[np.argmax(proba, axis=1)]
    )
    assert ensemble.n_features_in_ == 784 and ensemble.image_shape_ == (28, 28, 1)
    np.testing.assert_allclose(ensemble.predict_proba(X_test[:1]), proba[:1],
                               atol=1e-6)
    assert ensemble.predict(X_test[:1]).tolist() == [
        ensemble.classes_[np.argmax(proba[0])]]


def test_soft_vote_of_arrays_and_of_keras_tensors_agree():
    # The exported graph votes with keras.ops, predict_proba with NumPy.
    probabilities = list(np.random.default_rng(0).dirichlet(
        np.ones(10), size=(3, 5)).astype(np.float32))
    expected = (probabilities[0] + probabilities[1] + probabilities[2]) / 3
    np.testing.assert_allclose(soft_vote(probabilities), expected, rtol=1e-6)
    in_keras = keras.ops.convert_to_numpy(soft_vote(
        [keras.ops.convert_to_tensor(p) for p in probabilities], ops=keras.ops))
    np.testing.assert_allclose(in_keras, soft_vote(probabilities), rtol=1e-6)
    np.testing.assert_array_equal(soft_vote(probabilities[:1]), probabilities[0])


@pytest.mark.parametrize("caller", ["predict_proba", "export", "serve"])
def test_every_caller_votes_by_the_one_rule(fitted, digits, caller, monkeypatch):
    # The ensemble, its exported graph and the server's Keras runtime combine
    # the members by soft_vote: a caller averaging on its own fails here.
    ensemble, proba = fitted
    X_test = digits[2][:3]
    votes = []

    def spy(member_probabilities, ops=np):
        votes.append(len(member_probabilities))
        return soft_vote(member_probabilities, ops)

    members = ensemble.estimators_
    if caller == "export":
        monkeypatch.setattr("sklenet._export.soft_vote", spy)
        graph = _inference_model(members, np.dtype(members[0].input_dtype_))
        answer = keras.ops.convert_to_numpy(
            graph(X_test.astype(members[0].input_dtype_))["probabilities"])
    else:
        monkeypatch.setattr("sklenet._ensemble.soft_vote", spy)
        if caller == "predict_proba":
            answer = ensemble.predict_proba(X_test)
        else:
            # The digits are 0-255 grey levels already, as the server takes.
            answer = Predictor(ensemble, runtime="keras").predict_proba(X_test)
    assert votes == [2]
    np.testing.assert_allclose(answer, proba[:3], rtol=0, atol=1e-5)


def test_members_have_distinct_recorded_seeds_and_own_histories(fitted):
    ensemble, _ = fitted
    seeds = ensemble.random_seeds_
    assert len(set(seeds)) == 2
    assert [m.random_seed_ for m in ensemble.estimators_] == list(seeds)
    assert all(set(m.history_) == {"loss", "accuracy"} for m in ensemble.estimators_)
    weights = [m.model_.get_weights()[0] for m in ensemble.estimators_]
    assert not np.array_equal(weights[0], weights[1])
    # Seeds depend on random_state only: a bigger ensemble extends a smaller one.
    assert list(seeds) == spawn_seeds(0, 4)[:2]
    assert not set(seeds) & set(spawn_seeds(1, 4))


def test_same_random_state_same_predictions_whatever_the_input_layout(fitted,
                                                                     digits):
    ensemble, proba = fitted
    X, y, X_test, _ = digits
    before = (random.getstate(), np.random.get_state())
    images = clone(ensemble).fit(X.reshape(-1, 28, 28), NAMES[y])
    assert_same_global_random_state(before)
    np.testing.assert_array_equal(images.predict_proba(X_test), proba)
    np.testing.assert_array_equal(images.predict_proba(X_test.reshape(-1, 28, 28)),
                                  proba)


def test_parallel_members_equal_sequential_ones(fitted, digits, worker_recorder):
    ensemble, proba = fitted
    X, y, X_test, _ = digits
    parallel = clone(ensemble).set_params(n_jobs=2, callbacks=[worker_recorder])
    parallel.fit(X, NAMES[y])
    np.testing.assert_array_equal(parallel.random_seeds_, ensemble.random_seeds_)
    np.testing.assert_allclose(parallel.predict_proba(X_test), proba, atol=1e-6)
    trainings = [t for m in parallel.estimators_ for t in m.callbacks[0].trainings]
    assert len(trainings) == 2 and os.getpid() not in {pid for pid, _ in trainings}
    # Each of the 2 workers uses its share of the cores (loky: cores // 2).
    assert {threads for _, threads in trainings} == {max(1, joblib.cpu_count() // 2)}


def test_members_trained_one_by_one_assemble_the_same_ensemble(fitted, digits):
    # sklenet reproduce trains each member as a task of its own.
    ensemble, proba = fitted
    X, y, X_test, _ = digits
    members = [clone(ensemble).fit_member(index, X, NAMES[y])
               for index in range(2)]
    assert [m.random_state for m in members] == ensemble.random_seeds_.tolist()
    assembled = clone(ensemble).fit_from_members(members, X, NAMES[y])
    np.testing.assert_array_equal(assembled.random_seeds_, ensemble.random_seeds_)
    np.testing.assert_array_equal(assembled.predict_proba(X_test), proba)
    assert assembled.n_features_in_ == ensemble.n_features_in_
    with pytest.raises(ValueError, match="are not this ensemble's members'"):
        clone(ensemble).fit_from_members(members[::-1], X, NAMES[y])
    with pytest.raises(ValueError, match="index=2: the ensemble has members 0 to 1"):
        clone(ensemble).fit_member(2, X, NAMES[y])
    with pytest.raises(ValueError, match="only independent members train one by"):
        clone(ensemble).set_params(ensemble="snapshot").fit_member(
            0, X, NAMES[y])


# ------------------------------------------------------------ input forms
def test_dataframes_and_feature_names(fitted, digits):
    ensemble, proba = fitted
    X, y, X_test, _ = digits
    columns = [f"pixel{i}" for i in range(784)]
    frame = clone(ensemble).fit(pd.DataFrame(X, columns=columns), NAMES[y])
    assert list(frame.feature_names_in_) == columns
    np.testing.assert_array_equal(
        frame.predict_proba(pd.DataFrame(X_test, columns=columns)), proba
    )
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        np.testing.assert_array_equal(frame.predict_proba(X_test), proba)
    with pytest.raises(
        ValueError,
        match="X has 700 features, but LeNetEnsembleClassifier is expecting 784",
    ):
        ensemble.predict(X_test[:, :700])


# --------------------------------------------------------------- training
def test_validation_data_and_early_stopping_per_member(digits):
    X, y, X_test, y_test = digits
    ensemble = LeNetEnsembleClassifier(n_estimators=2, epochs=3, n_iter_no_change=1,
                                       random_state=0)
    ensemble.fit(X, y, validation_data=(X_test, y_test))
    for member in ensemble.estimators_:
        assert member.n_epochs_ == len(member.history_["val_accuracy"]) <= 3
        best = int(np.argmax(member.history_["val_accuracy"]))
        assert member.best_epoch_ == best + 1


@pytest.mark.parametrize("params, labels, match", [
    ({}, "one class", "LeNetEnsembleClassifier needs samples of at least 2"),
    ({"early_stopping": True, "epochs": 2, "validation_fraction": 0.99}, "all",
     "early_stopping needs a stratified validation split"),
    ({"class_weight": {99: 1.0}}, "all", "are not in class_weight"),
    ({"optimizer__bogus": 1}, "all", "not recognized"),
], ids=["one class", "split", "class_weight", "optimizer"])
def test_input_checks_build_no_network(digits, monkeypatch, params, labels, match):
    import sklenet._classifier

    def refuse(*args, **kwargs):
        raise AssertionError("a network was built to check the input")

    monkeypatch.setattr(sklenet._classifier, "build_lenet", refuse)
    X, y, _, _ = digits
    y = np.zeros_like(y) if labels == "one class" else y
    with pytest.raises(ValueError, match=match):
        LeNetEnsembleClassifier(**small(**params)).fit(X, y)


def test_snapshot_ensemble_restarts_a_cosine_learning_rate(digits):
    X, y, X_test, y_test = digits
    recorder = _RecordLearningRate()
    # early_stopping=True is ignored: snapshot training runs every epoch.
    ensemble = LeNetEnsembleClassifier(
        n_estimators=2, epochs=4, ensemble="snapshot", learning_rate=0.002,
        callbacks=[recorder], random_state=0,
    ).fit(X, y, validation_data=(X_test, y_test))
    steps_per_cycle = 2 * int(np.ceil(len(y) / 32))
    rates = np.reshape(recorder.learning_rates, (2, steps_per_cycle))
    np.testing.assert_allclose(rates[:, 0], 0.002)
    np.testing.assert_allclose(rates[0], rates[1], rtol=1e-5)
    assert np.all(np.diff(rates[0]) < 0) and rates[0, -1] < 0.0001
    first, second = ensemble.estimators_
    assert first.n_epochs_ == second.n_epochs_ == 2
    assert len(first.history_["val_accuracy"]) == 2 and first.best_epoch_ is None
    assert first.history_["loss"] != second.history_["loss"]
    # One training, cut into cycles: the members' histories are its epochs.
    assert first.history_["loss"][-1] != second.history_["loss"][0]
    assert all(len(m.history_[key]) == 2 for m in ensemble.estimators_
               for key in ("loss", "accuracy", "val_loss", "val_accuracy"))
    assert list(ensemble.random_seeds_) == [first.random_seed_] * 2
    np.testing.assert_array_equal(
        ensemble.predict_proba(X_test),
        np.mean([m.predict_proba(X_test) for m in ensemble.estimators_], axis=0),
    )


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_failing_member_fails_the_fit_and_leaves_it_unfitted(fitted, digits,
                                                               n_jobs):
    X, y, _, _ = digits
    ensemble = copy.deepcopy(fitted[0])  # fitted: the failure must unfit it
    seeds = ensemble.random_seeds_
    # Sequentially one callback sees both trainings: the second one diverges;
    # in parallel each worker has its own copy, so both do.
    ensemble.set_params(n_jobs=n_jobs,
                        callbacks=[_DivergeAtTraining(2 if n_jobs == 1 else 1)])
    with pytest.raises(RuntimeError, match="Training diverged") as error:
        ensemble.fit(X, NAMES[y])
    index, seed = re.search(r"member (\d) \(random_state=(\d+)\)",
                            str(error.value)).groups()
    assert seeds[int(index)] == int(seed)
    if n_jobs == 1:
        assert index == "1"
    assert not [key for key in vars(ensemble) if key.endswith("_")]
    with pytest.raises(NotFittedError):
        check_is_fitted(ensemble)


# ------------------------------------------------------- ensemble params
# Those shared with LeNetClassifier: tests/test_estimators.py.
@pytest.mark.parametrize("params, message", [
    ({"n_estimators": 0},
     "The 'n_estimators' parameter of LeNetEnsembleClassifier must be"),
    ({"ensemble": "bagging"},
     "The 'ensemble' parameter of LeNetEnsembleClassifier must be"),
    ({"n_jobs": "two"}, "The 'n_jobs' parameter of LeNetEnsembleClassifier must be"),
    ({"ensemble": "snapshot", "n_estimators": 3, "epochs": 4},
     "epochs=4 into n_estimators=3 cycles"),
])
def test_invalid_ensemble_parameters_are_named(digits, params, message,
                                               no_training):
    X, y, _, _ = digits
    ensemble = LeNetEnsembleClassifier(**{**small(callbacks=[no_training]),
                                          **params})
    with pytest.raises(ValueError, match=re.escape(message)):
        ensemble.fit(X, y)


# ------------------------------------------------------------ persistence
_LOAD_IN_A_NEW_PROCESS = """
import sys, joblib, numpy as np
from sklenet.persistence import load
directory = sys.argv[1]
X_test = np.load(directory + "/X_test.npy")
expected = np.load(directory + "/proba.npy")
for ensemble in (load(directory + "/ensemble.sklenet"),
                 joblib.load(directory + "/ensemble.joblib")):
    assert np.array_equal(ensemble.predict_proba(X_test), expected)
    print(type(ensemble).__name__, ensemble.random_seeds_.tolist(),
          [len(m.history_["loss"]) for m in ensemble.estimators_])
"""


def test_save_load_and_joblib_round_trips_in_a_new_process(fitted, digits,
                                                            tmp_path):
    ensemble, proba = fitted
    _, _, X_test, _ = digits
    save(ensemble, tmp_path / "ensemble.sklenet")
    joblib.dump(ensemble, tmp_path / "ensemble.joblib")
    np.save(tmp_path / "X_test.npy", X_test)
    np.save(tmp_path / "proba.npy", proba)
    assert read_manifest(tmp_path / "ensemble.sklenet")["models"] == [
        "member_0", "member_1"
    ]
    result = subprocess.run(
        [sys.executable, "-c", _LOAD_IN_A_NEW_PROCESS, str(tmp_path)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    expected = (f"LeNetEnsembleClassifier {ensemble.random_seeds_.tolist()} "
                "[1, 1]")
    assert result.stdout.splitlines() == [expected] * 2
