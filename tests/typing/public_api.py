"""sklenet's public API used the way a user's code uses it, for mypy to check.

Not a test that runs: ``python3 -m mypy --config-file .ci/mypy.ini sklenet
tests/typing`` type-checks it (CI does), so a hint that breaks a user's
ordinary use of sklenet fails CI. ``assert_type`` pins what a call returns;
each ``# type: ignore[code]`` is a call that mypy must reject, and
``warn_unused_ignores`` fails the check if mypy accepts it.
"""

from pathlib import Path
from typing import Any, assert_type

import numpy as np
import optuna
from matplotlib.axes import Axes
from numpy.typing import NDArray
from sklearn.model_selection import GridSearchCV

import sklenet
from sklenet import (
    BEST_PARAMS,
    OPTIMIZED_PARAMS,
    LeNetClassifier,
    LeNetEnsembleClassifier,
    LeNetSearchCV,
    build_lenet,
    export,
    load,
    save,
)
from sklenet.datasets import load_digit_recognizer, load_mnist_idx, load_sample_digits
from sklenet.evaluation import (
    ScoreComparison,
    compare_scores,
    confused_pairs,
    expected_calibration_error,
    repeated_evaluation,
)
from sklenet.plotting import (
    plot_confusion_matrix,
    plot_convergence,
    plot_misclassified,
    plot_optimization_history,
)


def estimators(X: NDArray[np.uint8], y: NDArray[np.int64]) -> None:
    clf = LeNetClassifier(epochs=2, early_stopping=False, random_state=0,
                          pooling="max", learning_rate_schedule="cosine",
                          class_weight="balanced", steps_per_execution=1)
    # fit returns the estimator itself, with its own type (typing.Self).
    assert_type(clf.fit(X, y), LeNetClassifier)
    assert_type(clf.fit(X, y, validation_data=(X[:10], y[:10])), LeNetClassifier)
    assert_type(clf.partial_fit(X, y, classes=np.arange(10)), LeNetClassifier)
    assert_type(clf.predict(X), NDArray[Any])
    assert_type(clf.predict_proba(X), NDArray[np.floating])
    assert_type(clf.score(X, y), float)
    # Lists are array-like too.
    clf.fit([[0.0] * 784] * 20, [0, 1] * 10)

    ensemble = LeNetEnsembleClassifier(**OPTIMIZED_PARAMS, n_estimators=3,
                                       ensemble="snapshot", n_jobs=2)
    assert_type(ensemble.fit(X, y), LeNetEnsembleClassifier)
    assert_type(ensemble.predict_proba(X), NDArray[np.floating])
    best = LeNetClassifier(**BEST_PARAMS)
    assert_type(best.fit(X, y).predict(X[:5]), NDArray[Any])

    # scikit-learn's meta-estimators take them as any estimator.
    grid = GridSearchCV(clf, {"epochs": [1, 2]}, cv=2).fit(X, y)
    print(grid.best_params_)

    # Mistakes that mypy catches before anything trains.
    LeNetClassifier(pooling="min")  # type: ignore[arg-type]
    LeNetClassifier(epochs=1.5)  # type: ignore[arg-type]
    LeNetClassifier(dropout="0.5")  # type: ignore[arg-type]
    LeNetEnsembleClassifier(ensemble="bagging")  # type: ignore[arg-type]
    clf.fit(X)  # type: ignore[call-arg]


def search(X: NDArray[np.uint8], y: NDArray[np.int64], path: Path) -> None:
    searcher = LeNetSearchCV(
        LeNetClassifier(epochs=1),
        {"conv1_filters": optuna.distributions.IntDistribution(4, 8)},
        n_trials=2, cv=3, scoring="accuracy", storage=path / "study.db",
        sampler=optuna.samplers.TPESampler(seed=0), random_state=0,
    )
    assert_type(searcher.fit(X, y), LeNetSearchCV)
    assert_type(searcher.predict(X), NDArray[Any])
    assert_type(searcher.score(X, y), float)
    assert_type(plot_optimization_history(searcher), Axes)
    LeNetSearchCV(n_trials="10")  # type: ignore[arg-type]


def persistence(clf: LeNetClassifier, path: Path) -> None:
    save(clf, path / "lenet.sklenet")
    save(clf, "lenet.sklenet")
    restored = load(path / "lenet.sklenet")
    restored.predict(np.zeros((1, 784)))
    metadata = export(clf, path / "digits.onnx", format="onnx")
    assert_type(metadata, dict[str, Any])
    export(clf, "digits.pt", format="torch")  # type: ignore[arg-type]
    save(clf, 42)  # type: ignore[arg-type]


def data_evaluation_and_plots(path: Path) -> None:
    X, y = load_sample_digits(return_X_y=True)
    digits = load_sample_digits()
    print(digits.data.shape, digits.target_names)
    load_digit_recognizer(path / "train.csv", as_frame=True)
    load_mnist_idx(path, kind="test")
    load_mnist_idx(path, kind="validation")  # type: ignore[call-overload]

    clf = LeNetClassifier(epochs=1).fit(X, y)
    proba = clf.predict_proba(X)
    assert_type(expected_calibration_error(y, proba, n_bins=15), float)
    confused_pairs(y, clf.predict(X), n_pairs=3)
    runs, summary = repeated_evaluation(clf, X, y, X, y, n_repeats=2)[:2]
    comparison = compare_scores([0.97, 0.98], [0.95, 0.96], claim="greater")
    assert_type(comparison, ScoreComparison)

    assert_type(plot_confusion_matrix(y, clf.predict(X), normalize="true"), Axes)
    assert_type(plot_misclassified(X, y, proba, max_images=8), Axes)
    assert_type(plot_convergence(clf), Axes)
    plot_confusion_matrix(y, y, normalize="rows")  # type: ignore[arg-type]

    model = build_lenet((28, 28, 1), 10, conv1_filters=8, pooling="max")
    model.summary()
    assert_type(sklenet.reproduce(X, y, preset="tiny", out=path),
                sklenet.study.StudyResults)
