"""sklenet._checks: the input checks the estimators share."""

import numpy as np
import pytest

from sklenet._checks import check_weights, drop_zero_weights


def test_drop_zero_weights_keeps_the_weighted_rows_of_images():
    X = np.arange(4 * 2 * 2).reshape(4, 2, 2)
    X_kept, y_kept, w_kept = drop_zero_weights(X, np.array([0, 1, 2, 3]),
                                               np.array([0.0, 1.0, 0.0, 3.0]))
    np.testing.assert_array_equal(X_kept, X[[1, 3]])
    assert y_kept.tolist() == [1, 3] and w_kept.tolist() == [1.0, 3.0]


def test_drop_zero_weights_names_the_empty_training_set():
    with pytest.raises(ValueError, match="all 2 training samples .* weigh 0"):
        drop_zero_weights(np.ones((2, 3)), np.array([0, 1]), np.zeros(2))


@pytest.mark.parametrize("weights, match", [([1, -1], "from -1 to 1"),
                                            ([0, 0], r"\(sum 0\)")])
def test_check_weights_refuses_negative_and_all_zero(weights, match):
    with pytest.raises(ValueError, match=match):
        check_weights(weights, "sample_weight")
