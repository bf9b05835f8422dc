"""The search spaces of :class:`sklenet.LeNetSearchCV`, as Optuna distributions.

Each space maps a :class:`sklenet.LeNetClassifier` constructor argument to an
Optuna distribution; extend one with ``{**STUDY_SEARCH_SPACE, "name": ...}``.
"""

from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

_ACTIVATIONS = ["sigmoid", "relu", "gelu", "elu", "tanh"]

#: The study's 12-dimensional space (SPEC, model 2). Odd kernel sides, odd
#: filter counts and the pool sides are ordered integer ranges (TPE models
#: their order); the unit counts are powers of two, hence categorical.
STUDY_SEARCH_SPACE = {
    "conv1_kernel_size": IntDistribution(3, 7, step=2),
    "conv2_kernel_size": IntDistribution(3, 7, step=2),
    "conv1_filters": IntDistribution(3, 13, step=2),
    "conv2_filters": IntDistribution(3, 13, step=2),
    "conv_activation": CategoricalDistribution(_ACTIVATIONS),
    "conv_l2": FloatDistribution(1e-6, 1e-2, log=True),
    "pool1_size": IntDistribution(2, 4, step=2),
    "pool2_size": IntDistribution(2, 4, step=2),
    "dense1_units": CategoricalDistribution([32, 64, 128, 256]),
    "dense2_units": CategoricalDistribution([32, 64, 128, 256]),
    "dense_activation": CategoricalDistribution(_ACTIVATIONS),
    "dense_l2": FloatDistribution(1e-6, 1e-2, log=True),
}

#: The study's space plus what it kept fixed (max vs average pooling, the
#: classic Flatten head vs global average pooling, Adam's learning rate, the
#: batch size) and the training options beyond the study (augmentation,
#: dropout, batch normalisation, learning-rate schedule, label smoothing).
#: Classic LeNet-5 (max pooling, flattened head) lies inside it, and so does
#: the study's standard LeNet (every option at 0 / off).
EXTENDED_SEARCH_SPACE = {
    **STUDY_SEARCH_SPACE,
    "pooling": CategoricalDistribution(["average", "max"]),
    "global_pooling": CategoricalDistribution([True, False]),
    "learning_rate": FloatDistribution(1e-4, 1e-2, log=True),
    "batch_size": CategoricalDistribution([16, 32, 64, 128]),
    "batch_normalization": CategoricalDistribution([False, True]),
    "dropout": FloatDistribution(0.0, 0.5),
    "rotation_range": FloatDistribution(0.0, 15.0),
    "shift_range": FloatDistribution(0.0, 0.15),
    "zoom_range": FloatDistribution(0.0, 0.15),
    "learning_rate_schedule": CategoricalDistribution([None, "plateau", "cosine"]),
    "label_smoothing": FloatDistribution(0.0, 0.2),
}
