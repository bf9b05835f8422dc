"""Named recipes: the study's models and sklenet's own, and their estimators.

A recipe is a dict of :class:`sklenet.LeNetClassifier` hyperparameters; a
*model type* ("standard", "optimized", "ensemble", "best") names a recipe and
whether it is one network or a soft-voting ensemble. The command line and
``sklenet reproduce`` build their estimators with :func:`make_estimator`.
"""

#: The best hyperparameters the study's Optuna search found (SPEC, model 2):
#: ``LeNetClassifier(**OPTIMIZED_PARAMS)`` is the optimised LeNet.
OPTIMIZED_PARAMS = {
    "conv1_filters": 13,
    "conv1_kernel_size": 7,
    "conv2_filters": 11,
    "conv2_kernel_size": 7,
    "conv_activation": "gelu",
    "conv_l2": 0.000413,
    "pool1_size": 2,
    "pool2_size": 4,
    "dense1_units": 64,
    "dense2_units": 256,
    "dense_activation": "gelu",
    "dense_l2": 0.00143,
}

#: sklenet's strongest recipe for 28x28 grey digits, beyond the study: a
#: classic LeNet-5 body (16/32 filters of 5x5, ReLU, max pooling, Flatten head,
#: dense 128/64) trained with augmentation (rotation, shift, zoom), dropout,
#: label smoothing and a cosine-decayed learning rate over at most 30 epochs
#: of batches of 128, with an early-stopping patience of 10 so that the low
#: learning rates at the end of the schedule get their turn. Chosen by
#: validation accuracy, 2 seeds, on the sample and a Fashion-MNIST subset
#: among the candidates of ``bench/bench_best.py --screen`` (batch
#: normalisation made early stopping stop after 6 epochs and was dropped;
#: patience 10 beat 5, 24/48 and 32/64 filters, issue 23); test accuracy, fit
#: time, ensemble and test-time augmentation in bench/RESULTS.md ("Beyond the
#: study: BEST_PARAMS") and the performance page.
BEST_PARAMS = {
    "conv1_filters": 16,
    "conv1_kernel_size": 5,
    "conv2_filters": 32,
    "conv2_kernel_size": 5,
    "conv_activation": "relu",
    "pool1_size": 2,
    "pool2_size": 2,
    "pooling": "max",
    "global_pooling": False,
    "dense1_units": 128,
    "dense2_units": 64,
    "dense_activation": "relu",
    "batch_normalization": False,
    "dropout": 0.3,
    "rotation_range": 10.0,
    "shift_range": 0.1,
    "zoom_range": 0.1,
    "learning_rate": 3e-3,
    "learning_rate_schedule": "cosine",
    "label_smoothing": 0.1,
    "batch_size": 128,
    "epochs": 30,
    "n_iter_no_change": 10,
}

#: model type -> (its recipe, whether it is an ensemble). "optimized" and
#: "ensemble" are the study's models 2 and 3; "best" is not part of the study.
MODEL_TYPES = {
    "standard": ({}, False),
    "optimized": (OPTIMIZED_PARAMS, False),
    "ensemble": (OPTIMIZED_PARAMS, True),
    "best": (BEST_PARAMS, False),
}

#: How reports and the command line name each model type.
MODEL_TITLES = {
    "standard": "standard LeNet",
    "optimized": "optimized LeNet",
    "ensemble": "ensemble",
    "best": "sklenet best (beyond the study)",
}


def make_estimator(model_type, params=None, *, n_estimators=None, max_epochs=None,
                   **overrides):
    """An unfitted estimator of ``model_type``.

    Parameters
    ----------
    model_type : {"standard", "optimized", "ensemble", "best"}
    params : dict or None
        Hyperparameters that replace the recipe's (for instance the best
        parameters of a search); None keeps the recipe.
    n_estimators : int or None
        Members of an ensemble model type (ignored otherwise); None keeps the
        ensemble's default.
    max_epochs : int or None
        A cap on ``epochs``: a recipe with fewer epochs of its own (a cosine
        schedule decays over them) keeps them; None keeps the recipe's, or
        the estimator's default of 100.
    **overrides
        Further constructor arguments (``epochs``, ``random_state``, ...).

    Returns
    -------
    LeNetClassifier or LeNetEnsembleClassifier

    Examples
    --------
    >>> make_estimator("ensemble", n_estimators=3, epochs=5).n_estimators
    3
    >>> make_estimator("best", max_epochs=100).epochs == BEST_PARAMS["epochs"]
    True
    >>> make_estimator("standard", max_epochs=10).epochs
    10
    """
    try:
        recipe, is_ensemble = MODEL_TYPES[model_type]
    except KeyError:
        raise ValueError(
            f"model_type={model_type!r} is not one of {list(MODEL_TYPES)}."
        ) from None
    params = {**(recipe if params is None else params), **overrides}
    if max_epochs is not None:
        params["epochs"] = min(params.get("epochs", max_epochs), max_epochs)
    if is_ensemble:
        from ._ensemble import LeNetEnsembleClassifier

        if n_estimators is not None:
            params["n_estimators"] = n_estimators
        return LeNetEnsembleClassifier(**params)
    from ._classifier import LeNetClassifier

    return LeNetClassifier(**params)
