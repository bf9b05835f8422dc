"""scikit-learn's own estimator checks over every estimator sklenet exports."""

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklenet import LeNetClassifier, LeNetEnsembleClassifier, LeNetSearchCV

# Small, fast configurations: the checks test the API, not LeNet's accuracy, but
# they do require > 0.83 training accuracy on blobs (check_classifiers_train),
# hence the larger learning rate. The search is checked around a linear model:
# its sklearn contract does not depend on the estimator it tunes, and around a
# LeNet the same checks take 4 minutes of CPU (the LeNet paths, pruning
# included, are tested in tests/test_search.py). error_score="raise" is how
# sklearn configures its own search CVs for these checks.
ESTIMATORS = [
    LeNetClassifier(epochs=10, learning_rate=0.01, early_stopping=False,
                    random_state=0),
    # Every training option of the accuracy recipe on (mild augmentation:
    # sklearn's blobs are one-row "images" of a few pixels).
    LeNetClassifier(epochs=10, learning_rate=0.01, early_stopping=False,
                    rotation_range=5.0, shift_range=0.05, zoom_range=0.05,
                    dropout=0.1, batch_normalization=True, label_smoothing=0.05,
                    learning_rate_schedule="cosine", random_state=0),
    # One snapshot training per fit; the independent configuration passes the
    # same checks in 230 s instead of 123 s (tests/test_ensemble.py covers it).
    LeNetEnsembleClassifier(n_estimators=2, epochs=10, learning_rate=0.01,
                            early_stopping=False, ensemble="snapshot",
                            random_state=0),
    LeNetSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, n_trials=2,
                  error_score="raise", random_state=0),
]

_SCIKERAS_MORE_TAGS = (
    "scikeras' BaseWrapper, a base class sklenet cannot change, still defines "
    "_more_tags without __sklearn_tags__; sklenet's own __sklearn_tags__ is "
    "complete (tests/test_base.py checks it)"
)
_MINIBATCH_SGD = (
    "mini-batch training: a weight of 2 scales one sample's loss in its batch, "
    "repeating the sample changes the batches and the number of steps, so the "
    "fits differ (sklearn marks SGDClassifier and MLPClassifier likewise)"
)

_FLOAT32_ORDER = (
    "predict_proba of one image differs by up to ~2e-8 with the order of the "
    "rows on some x86 CPUs (batched float32 kernels), above the check's 1e-9; "
    "it passes on others, so it is not a strict expected failure. "
    "tests/test_estimators.py asserts order invariance at 1e-6"
)
# Checks whose outcome depends on the CPU: run, and reported as xfail (not
# strict) where they fail.
CPU_DEPENDENT_CHECKS = {"check_methods_sample_order_invariance": _FLOAT32_ORDER}

EXPECTED_FAILED_CHECKS = {
    "LeNetClassifier": {
        "check_estimator_tags_renamed": _SCIKERAS_MORE_TAGS,
        "check_sample_weight_equivalence_on_dense_data": _MINIBATCH_SGD,
    },
    "LeNetEnsembleClassifier": {
        "check_sample_weight_equivalence_on_dense_data": _MINIBATCH_SGD,
    },
    "LeNetSearchCV": {},
}


# Each check takes seconds, but together the 240 of them take ~6 minutes:
# `pytest -m "not slow"` leaves them to CI and the full run.
@pytest.mark.slow
@parametrize_with_checks(
    ESTIMATORS,
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS[type(est).__name__],
    xfail_strict=True,
)
def test_sklearn_compatible_estimator(estimator, check):
    name = getattr(check, "func", check).__name__
    if name in CPU_DEPENDENT_CHECKS and not isinstance(estimator, LeNetSearchCV):
        try:
            check(estimator)
        except AssertionError:
            pytest.xfail(CPU_DEPENDENT_CHECKS[name])
        return
    check(estimator)
