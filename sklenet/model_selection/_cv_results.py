"""The trials of a study in scikit-learn's ``cv_results_`` layout."""

import numpy as np
from optuna.trial import TrialState
from scipy.stats import rankdata


def _metric_names(trials, metrics):
    """``metrics`` first, then any other metric the trials recorded (a
    callable ``scoring`` names its metrics only when it runs)."""
    recorded = (key[len("mean_test_"):] for trial in trials
                for key in trial.user_attrs if key.startswith("mean_test_"))
    return list(dict.fromkeys([*metrics, *recorded]))


def _cv_results(trials, n_splits, metrics):
    """sklearn's ``cv_results_`` layout, one entry per trial of the study:
    ``split<k>_test_<metric>``, ``mean_``, ``std_`` and ``rank_test_<metric>``
    for each metric ("score" for a single one)."""
    n = len(trials)
    attrs = [trial.user_attrs for trial in trials]
    results = {"params": [trial.params for trial in trials]}
    names = dict.fromkeys(name for trial in trials for name in trial.params)
    for name in names:
        column = np.ma.MaskedArray(np.empty(n, dtype=object), mask=True)
        for index, trial in enumerate(trials):
            if name in trial.params:
                column[index] = trial.params[name]
        results[f"param_{name}"] = column
    complete = np.array([t.state == TrialState.COMPLETE for t in trials], dtype=bool)
    for metric in _metric_names(trials, metrics):
        splits = np.array(
            [[a.get(f"split{k}_test_{metric}", np.nan) for k in range(n_splits)]
             for a in attrs], dtype=float,
        ).reshape(n, n_splits)
        for k in range(n_splits):
            results[f"split{k}_test_{metric}"] = splits[:, k]
        # Pruned and failed trials have no score, whatever their splits had.
        results[f"mean_test_{metric}"] = np.where(complete, splits.mean(axis=1),
                                                  np.nan)
        results[f"std_test_{metric}"] = np.where(complete, splits.std(axis=1),
                                                 np.nan)
        results[f"rank_test_{metric}"] = _rank(results[f"mean_test_{metric}"])
    for key in ("mean_fit_time", "std_fit_time", "mean_score_time",
                "std_score_time", "n_epochs"):
        results[key] = np.array([a.get(key, np.nan) for a in attrs], dtype=float)
    results["state"] = np.array([trial.state.name for trial in trials])
    results["duration"] = np.array(
        [(t.datetime_complete - t.datetime_start).total_seconds()
         if t.datetime_complete and t.datetime_start else np.nan
         for t in trials], dtype=float,
    )
    return results


def _rank(scores):
    """Rank 1 = best; trials without a score rank last (sklearn's rule)."""
    if np.isnan(scores).all():
        return np.ones(len(scores), dtype=np.int32)
    filled = np.where(np.isnan(scores), np.nanmin(scores) - 1, scores)
    return rankdata(-filled, method="min").astype(np.int32)
