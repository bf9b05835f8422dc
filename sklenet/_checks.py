"""Checks of user input shared by the estimators, the search and evaluation."""

import numpy as np


def validation_pair(validation_data):
    """``(X_val, y_val)`` from ``validation_data``, or a clear ValueError."""
    try:
        X_val, y_val = validation_data
    except (TypeError, ValueError):
        raise ValueError("validation_data must be a tuple (X_val, y_val).") from None
    return X_val, y_val


def check_weights(weights, name):
    """Refuse negative weights, and weights that are all zero (nothing to
    learn); return them as a float64 array.

    Examples
    --------
    >>> check_weights([0.5, 2], "sample_weight")
    array([0.5, 2. ])
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.size and (np.nanmin(weights) < 0 or not weights.sum() > 0):
        raise ValueError(
            f"{name} must be non-negative and not all zero, but got values "
            f"from {np.nanmin(weights):g} to {np.nanmax(weights):g} "
            f"(sum {weights.sum():g})."
        )
    return weights


def drop_zero_weights(X, y, sample_weight):
    """The rows of ``(X, y, sample_weight)`` whose weight is not zero.

    A zero weight counts as absent from the loss (sklearn's rule); dropped
    rows still count where the classes are decided and split, before this.

    Examples
    --------
    >>> import numpy as np
    >>> X, y, w = drop_zero_weights(np.eye(3), np.array([0, 1, 2]),
    ...                             np.array([1.0, 0.0, 2.0]))
    >>> y.tolist(), w.tolist()
    ([0, 2], [1.0, 2.0])
    """
    keep = sample_weight != 0
    if not keep.any():
        raise ValueError(
            f"sample_weight: all {len(keep)} training samples left after the "
            "early-stopping validation split weigh 0, so there is nothing to "
            "learn. Give more samples a positive weight or pass validation_data."
        )
    return X[keep], y[keep], sample_weight[keep]
