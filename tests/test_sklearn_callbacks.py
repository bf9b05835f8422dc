"""scikit-learn's callback API (``sklearn.callback``) on the LeNet estimators.

The task trees are asserted with :class:`TaskRecorder`, an auto-propagated
callback that records every task that ends, from any process (through
scikit-learn's callback transport, as ``ProgressBar`` and
``ScoringMonitor`` do); ``ProgressBar``'s printed bars are asserted too.
"""

import os
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklenet import LeNetClassifier, LeNetEnsembleClassifier, LeNetSearchCV, _compat

from .helpers import fast, learning

try:
    import sklearn.callback as callback
    from sklearn.callback._transport import open_listener, send
except ImportError:  # scikit-learn < 1.9: only the refusal is tested
    callback = None

needs_callbacks = pytest.mark.skipif(
    callback is None, reason="scikit-learn >= 1.9 has the callback API")


class TaskRecorder:
    """Auto-propagated callback recording each task that ends: its path of
    ``(estimator_name, task_name, task_id)`` from the root, its
    ``max_subtasks`` and the process it ended in. ``stop_after``: ask the
    estimator to stop after that many epochs."""

    max_propagation_depth = None

    def __init__(self, stop_after=None):
        self.ended = []
        self.stop_after = stop_after
        self._listener = open_listener(self.ended.append, owner=self)

    def __getstate__(self):
        # A worker's copy sends to this process' list, never ships it.
        return {**self.__dict__, "ended": []}

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        path = []
        node = context
        while node is not None:
            path.insert(0, (node.estimator_name, node.task_name, node.task_id))
            node = node.parent
        send(self._listener, {"path": tuple(path), "pid": os.getpid(),
                              "max_subtasks": context.max_subtasks})
        return (context.task_name == "epoch"
                and self.stop_after is not None
                and context.task_id + 1 >= self.stop_after)

    def paths(self, task_name=None):
        return [entry["path"] for entry in self.ended
                if task_name is None or entry["path"][-1][1] == task_name]


def _epoch_paths_by_fit(recorder):
    """``{path of a LeNet fit: [its epochs' task ids]}``."""
    fits = {}
    for path in recorder.paths("epoch"):
        fits.setdefault(path[:-1], []).append(path[-1][2])
    return fits


def _bars(capsys):
    """ProgressBar's printed bars, in order: ``(description, percentage)``,
    the description indented by its depth."""
    bars = []
    for line in capsys.readouterr().out.splitlines():
        if "%" in line:
            description, _, rest = line.partition("━")
            bars.append((description.rstrip(), rest.split("%")[0].strip(" ━")))
    return bars


@pytest.fixture
def wide_console(monkeypatch):
    """ProgressBar's rich console at 200 columns: no description cut."""
    pytest.importorskip("rich")
    monkeypatch.setenv("COLUMNS", "200")


# ----------------------------------------------------------- one LeNet fit
@needs_callbacks
def test_scoring_monitor_scores_every_epoch(digits):
    X, y, _, _ = digits
    monitor = callback.ScoringMonitor(scoring="accuracy")
    clf = LeNetClassifier(**learning(epochs=3)).set_callbacks(monitor).fit(X, y)
    rows = monitor.get_logs().data
    epochs = [row for row in rows if row["task_name"] == "epoch"]
    assert [row["task_id"] for row in epochs] == [0, 1, 2]
    assert all(row["task_id_path"] == (0, row["task_id"]) for row in epochs)
    # Real scores, on the training data: the last epoch's model is the
    # fitted one (no early stopping), and the network learned meanwhile.
    assert epochs[-1]["accuracy"] == clf.score(X, y)
    assert epochs[-1]["accuracy"] > epochs[0]["accuracy"] + 0.1
    (root,) = [row for row in rows if row["task_name"] == "fit"]
    assert root["accuracy"] == clf.score(X, y)
    # Scoring predicts between epochs and changes nothing of the training.
    plain = LeNetClassifier(**learning(epochs=3)).fit(X, y)
    np.testing.assert_array_equal(plain.predict_proba(X), clf.predict_proba(X))


@needs_callbacks
def test_early_stopping_ends_the_fit_task(digits):
    X, y, _, _ = digits
    recorder = TaskRecorder()
    clf = LeNetClassifier(**learning(epochs=30, early_stopping=True,
                                     n_iter_no_change=1))
    clf.set_callbacks(recorder).fit(X, y)
    assert clf.n_epochs_ < clf.max_epochs_
    assert recorder.paths("epoch")[-1][-1][2] == clf.n_epochs_ - 1
    assert len(recorder.paths("epoch")) == clf.n_epochs_
    root = recorder.ended[-1]
    assert root["path"] == (("LeNetClassifier", "fit", 0),)
    assert root["max_subtasks"] == clf.max_epochs_


@needs_callbacks
def test_a_callback_can_stop_the_training(digits):
    X, y, _, _ = digits
    clf = LeNetClassifier(**fast(epochs=5)).set_callbacks(TaskRecorder(stop_after=2))
    assert clf.fit(X, y).n_epochs_ == 2


@needs_callbacks
def test_partial_fit_is_a_task_of_one_epoch(digits):
    X, y, _, _ = digits
    recorder = TaskRecorder()
    clf = LeNetClassifier(**fast()).set_callbacks(recorder)
    clf.partial_fit(X, y, classes=np.unique(y))
    assert recorder.paths() == [
        (("LeNetClassifier", "partial_fit", 0), ("LeNetClassifier", "epoch", 0)),
        (("LeNetClassifier", "partial_fit", 0),),
    ]


@needs_callbacks
def test_callbacks_survive_clone_and_pickle(digits):
    X, y, _, _ = digits
    monitor = callback.ScoringMonitor(scoring="accuracy")
    clf = LeNetClassifier(**fast()).set_callbacks(monitor, TaskRecorder())
    # scikit-learn's clone passes the callbacks on (by reference).
    assert clone(clf)._skl_callbacks == clf._skl_callbacks
    clf.fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    assert [type(cb) for cb in restored._skl_callbacks] == [
        callback.ScoringMonitor, TaskRecorder]
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_older_scikit_learn_says_what_set_callbacks_needs(digits, monkeypatch):
    import sklearn

    # With scikit-learn >= 1.9, as _compat is before it.
    monkeypatch.setattr(_compat, "sklearn_callback", None)
    X, y, _, _ = digits
    for estimator in (LeNetClassifier(), LeNetEnsembleClassifier(),
                      LeNetSearchCV(LeNetClassifier())):
        with pytest.raises(ImportError) as info:
            estimator.set_callbacks(object())
        message = str(info.value)
        assert "\n" not in message
        assert message == (
            f"{type(estimator).__name__}.set_callbacks needs scikit-learn >= 1.9 "
            f"(sklearn.callback); scikit-learn {sklearn.__version__} is installed."
        )
    # Everything else works as before, and no task is begun.
    clf = LeNetClassifier(**fast()).fit(X, y)
    assert clf.n_epochs_ == 1 and not hasattr(clf, "_skl_callbacks_to_teardown")


# ----------------------------------------------------- in meta-estimators
@needs_callbacks
def test_progress_bar_in_a_pipeline(digits, capsys, wide_console):
    X, y, _, _ = digits
    recorder = TaskRecorder()
    pipe = make_pipeline(StandardScaler(), LeNetClassifier(**fast(epochs=2)))
    with pytest.warns(UserWarning, match="taken as already scaled"):
        pipe.set_callbacks(callback.ProgressBar(), recorder).fit(X, y)
    assert _bars(capsys) == [
        ("Pipeline - fit", "100"),
        ("  Pipeline - fit-transform-standardscaler | StandardScaler - fit #0",
         "100"),
        ("  Pipeline - fit-final-estimator | LeNetClassifier - fit #1", "100"),
    ]
    lenet = (("Pipeline", "fit", 0), ("LeNetClassifier", "fit", 1))
    assert _epoch_paths_by_fit(recorder) == {lenet: [0, 1]}
    assert lenet in recorder.paths()


@needs_callbacks
@pytest.mark.parametrize("n_jobs", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_progress_bar_in_grid_search(digits, capsys, wide_console, n_jobs):
    X, y, _, _ = digits
    recorder = TaskRecorder()
    search = GridSearchCV(LeNetClassifier(**fast(epochs=2)),
                          {"dense2_units": [16]}, cv=2, n_jobs=n_jobs)
    search.set_callbacks(callback.ProgressBar(), recorder).fit(X, y)
    evaluation = "GridSearchCV - candidate-split-evaluation | LeNetClassifier - fit"
    bars = _bars(capsys)
    # With 2 jobs the two evaluations' bars come in the order they end.
    bars[2:4] = sorted(bars[2:4])
    assert bars == [
        ("GridSearchCV - fit", "100"),
        ("  GridSearchCV - search #0", "100"),
        *[(f"    {evaluation} #{index}", "100") for index in range(2)],
        ("  GridSearchCV - refit-with-best-params | LeNetClassifier - fit #1",
         "100"),
    ]
    search_root = (("GridSearchCV", "fit", 0), ("GridSearchCV", "search", 0))
    assert _epoch_paths_by_fit(recorder) == {
        **{(*search_root, ("LeNetClassifier", "fit", index)): [0, 1]
           for index in range(2)},
        (("GridSearchCV", "fit", 0), ("LeNetClassifier", "fit", 1)): [0, 1],
    }
    epoch_pids = {entry["pid"] for entry in recorder.ended
                  if len(entry["path"]) == 4}
    # With 2 jobs the epochs ended in loky's worker processes and still
    # reached this process' callbacks.
    assert (os.getpid() not in epoch_pids) == (n_jobs == 2)


@needs_callbacks
@pytest.mark.parametrize("n_jobs", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_ensemble_members_are_subtasks(digits, n_jobs):
    X, y, _, _ = digits
    recorder = TaskRecorder()
    ensemble = LeNetEnsembleClassifier(**fast(epochs=2), n_estimators=2,
                                       n_jobs=n_jobs)
    ensemble.set_callbacks(recorder).fit(X, y)
    root = ("LeNetEnsembleClassifier", "fit", 0)
    assert _epoch_paths_by_fit(recorder) == {
        (root, ("LeNetClassifier", "fit", index)): [0, 1] for index in range(2)
    }
    assert recorder.ended[-1]["path"] == (root,)
    assert recorder.ended[-1]["max_subtasks"] == 2
    epoch_pids = {entry["pid"] for entry in recorder.ended
                  if entry["path"][-1][1] == "epoch"}
    assert (os.getpid() not in epoch_pids) == (n_jobs == 2)
    # The members keep no callback of the ensemble's.
    assert not any(hasattr(member, "_skl_callbacks")
                   for member in ensemble.estimators_)


@needs_callbacks
def test_snapshot_ensemble_is_one_training(digits):
    X, y, _, _ = digits
    recorder = TaskRecorder()
    LeNetEnsembleClassifier(**fast(epochs=2), n_estimators=2, ensemble="snapshot",
                            ).set_callbacks(recorder).fit(X, y)
    root = ("LeNetEnsembleClassifier", "fit", 0)
    assert _epoch_paths_by_fit(recorder) == {
        (root, ("LeNetClassifier", "fit", 0)): [0, 1]
    }


@needs_callbacks
@pytest.mark.slow
def test_search_trials_and_their_splits_are_subtasks(digits, capsys, wide_console):
    from optuna.distributions import IntDistribution

    X, y, _, _ = digits
    recorder = TaskRecorder()
    search = LeNetSearchCV(LeNetClassifier(**fast(epochs=2)),
                           {"dense2_units": IntDistribution(8, 16)},
                           n_trials=2, cv=2, random_state=0)
    search.set_callbacks(callback.ProgressBar(), recorder).fit(X, y)
    root = ("LeNetSearchCV", "fit", 0)
    trial = [(root, ("LeNetSearchCV", "search", 0), ("LeNetSearchCV", "trial", n))
             for n in range(2)]
    assert _epoch_paths_by_fit(recorder) == {
        **{(*trial[n], ("LeNetClassifier", "fit", split)): [0, 1]
           for n in range(2) for split in range(2)},
        (root, ("LeNetClassifier", "fit", 1)): [0, 1],  # the refit
    }
    split = "LeNetSearchCV - split | LeNetClassifier - fit"
    assert _bars(capsys) == [
        ("LeNetSearchCV - fit", "100"),
        ("  LeNetSearchCV - search #0", "100"),
        *[bar for n in range(2) for bar in (
            (f"    LeNetSearchCV - trial #{n}", "100"),
            (f"      {split} #0", "100"),
            (f"      {split} #1", "100"),
        )],
        ("  LeNetSearchCV - refit | LeNetClassifier - fit #1", "100"),
    ]
