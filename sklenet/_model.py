"""Pure Keras: the LeNet graph of the study, built from hyperparameters.

Nothing here knows about scikit-learn; :class:`sklenet.LeNetClassifier` calls
:func:`build_lenet` from its ``_keras_build_fn``.
"""

from typing import Literal

import keras

from ._typing import Activation

#: Name of the ``keras.Sequential`` of the augmentation layers in the model.
AUGMENTATION_LAYER = "augmentation"

# Seeds of the random layers: seed + offset, distinct for every layer.
_SEED_OFFSETS = {"conv1": 0, "conv2": 1, "dense1": 2, "dense2": 3, "output": 4,
                 "rotation": 5, "shift": 6, "zoom": 7, "dropout1": 8,
                 "dropout2": 9, "dropout3": 10}

_POOLING_LAYERS = {
    "average": keras.layers.AveragePooling2D,
    "max": keras.layers.MaxPooling2D,
}


def _regularizer(l2):
    return keras.regularizers.L2(l2) if l2 else None


def _seed(seed, layer):
    """The seed of one random layer: ``seed`` + its offset, or None."""
    return None if seed is None else seed + _SEED_OFFSETS[layer]


def _kernel_initializer(seed, layer):
    """Keras' default Glorot-uniform kernels, drawn from ``seed`` and ``layer``.

    Unseeded Keras initialisers draw their seeds from Python's global
    ``random``, which other threads of the process (a Dask worker's event
    loop, for one) may draw from meanwhile: seeding them explicitly makes the
    initial weights depend on ``seed`` alone.
    """
    if seed is None:
        return "glorot_uniform"
    return keras.initializers.GlorotUniform(seed=_seed(seed, layer))


def _augmentation(rotation_range, shift_range, zoom_range, seed):
    """The random image transformations, or None when all are off.

    Keras' preprocessing layers transform only while training: ``predict``
    passes images through unchanged. Pixels moved in from outside the image
    are 0 (background), not a reflection of the digit.
    """
    fill = {"fill_mode": "constant", "fill_value": 0.0}
    layers = []
    if rotation_range:
        layers.append(keras.layers.RandomRotation(
            rotation_range / 360, seed=_seed(seed, "rotation"), name="rotation",
            **fill))
    if shift_range:
        layers.append(keras.layers.RandomTranslation(
            shift_range, shift_range, seed=_seed(seed, "shift"), name="shift",
            **fill))
    if zoom_range:
        layers.append(keras.layers.RandomZoom(
            (-zoom_range, zoom_range), seed=_seed(seed, "zoom"), name="zoom",
            **fill))
    return keras.Sequential(layers, name=AUGMENTATION_LAYER) if layers else None


def _pooled_side(side, window, stride):
    """Side of a feature map after a 'valid' pooling window (Keras' formula)."""
    return (side - window) // stride + 1


def _pooling(kind, size, strides, height, width, name):
    """A pooling layer whose window fits the feature map.

    The window and stride are clipped to the map's height and width, so that
    tiny or one-row images (such as a feature vector that is no perfect square)
    still build; on 28x28 digits nothing is ever clipped.
    """
    strides = size if strides is None else strides
    window = (min(size, height), min(size, width))
    step = (min(strides, height), min(strides, width))
    layer = _POOLING_LAYERS[kind](
        pool_size=window, strides=step, padding="valid", name=name
    )
    side = (
        _pooled_side(height, window[0], step[0]),
        _pooled_side(width, window[1], step[1]),
    )
    return layer, side


def build_lenet(
    input_shape: tuple[int, int, int],
    n_classes: int,
    *,
    conv1_filters: int = 6,
    conv1_kernel_size: int = 5,
    conv2_filters: int = 16,
    conv2_kernel_size: int = 5,
    conv_activation: Activation = "tanh",
    conv_l2: float = 0.0,
    pool1_size: int = 2,
    pool2_size: int = 2,
    dense1_units: int = 120,
    dense2_units: int = 84,
    dense_activation: Activation = "tanh",
    dense_l2: float = 0.0,
    pooling: Literal["average", "max"] = "average",
    pool_strides: int | None = None,
    global_pooling: bool = True,
    batch_normalization: bool = False,
    dropout: float = 0.0,
    rotation_range: float = 0.0,
    shift_range: float = 0.0,
    zoom_range: float = 0.0,
    seed: int | None = None,
) -> keras.Model:
    """Build the (uncompiled) LeNet of the study.

    [augmentation] -> Conv2D -> pooling -> Conv2D -> pooling -> global
    average pooling (or Flatten) -> Dense -> Dense -> Dense(n_classes,
    softmax). Convolutions use stride 1 and ``padding="same"``; pooling uses
    ``padding="valid"``. The defaults are the study's standard LeNet; the
    hyperparameters are documented once, in :class:`sklenet.LeNetClassifier`.

    Parameters
    ----------
    input_shape : tuple of int
        ``(height, width, channels)`` of one image.
    n_classes : int
        Number of output units (softmax).
    conv1_filters, conv1_kernel_size, conv2_filters, conv2_kernel_size, \
conv_activation, conv_l2, pool1_size, pool2_size, dense1_units, dense2_units, \
dense_activation, dense_l2, pooling, pool_strides, global_pooling, \
batch_normalization, dropout, rotation_range, shift_range, zoom_range
        As in :class:`sklenet.LeNetClassifier`.
    seed : int or None
        Seed of the initial weights, the dropout masks and the augmentation;
        None lets Keras draw them.

    Returns
    -------
    keras.Model
        Its first layer after the input is a ``keras.Sequential`` named
        ``"augmentation"`` when any augmentation is on (inactive at
        inference).

    Examples
    --------
    >>> build_lenet((28, 28, 1), 10, seed=0).count_params()
    15626
    """
    if pooling not in _POOLING_LAYERS:
        raise ValueError(
            f"pooling={pooling!r} is not supported; use one of "
            f"{sorted(_POOLING_LAYERS)}."
        )
    height, width = input_shape[0], input_shape[1]
    dense = {"activation": dense_activation,
             "kernel_regularizer": _regularizer(dense_l2)}

    def convolution(x, name, filters, kernel_size):
        # With batch normalisation the convolution's bias is redundant (the
        # normalisation's beta replaces it) and the activation follows it.
        x = keras.layers.Conv2D(
            filters, kernel_size, padding="same", name=name,
            activation=None if batch_normalization else conv_activation,
            use_bias=not batch_normalization,
            kernel_regularizer=_regularizer(conv_l2),
            kernel_initializer=_kernel_initializer(seed, name))(x)
        if batch_normalization:
            # Keras' default momentum of 0.99 leaves the moving statistics,
            # which predict and validation use, near their initial values
            # for the first few hundred steps: on small data sets the network
            # then predicts poorly and early stopping stops too soon. 0.9 is
            # PyTorch's default (its momentum=0.1).
            x = keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
            x = keras.layers.Activation(conv_activation,
                                        name=f"{name}_activation")(x)
        return x

    def dropped(x, index):
        if not dropout:
            return x
        return keras.layers.Dropout(dropout, seed=_seed(seed, f"dropout{index}"),
                                    name=f"dropout{index}")(x)

    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    augmentation = _augmentation(rotation_range, shift_range, zoom_range, seed)
    if augmentation is not None:
        x = augmentation(x)
    x = convolution(x, "conv1", conv1_filters, conv1_kernel_size)
    pool1, (height, width) = _pooling(
        pooling, pool1_size, pool_strides, height, width, "pool1"
    )
    x = pool1(x)
    x = convolution(x, "conv2", conv2_filters, conv2_kernel_size)
    pool2, _ = _pooling(pooling, pool2_size, pool_strides, height, width, "pool2")
    x = pool2(x)
    if global_pooling:
        x = keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
    else:
        x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(dense1_units, name="dense1",
                           kernel_initializer=_kernel_initializer(seed, "dense1"),
                           **dense)(dropped(x, 1))
    x = keras.layers.Dense(dense2_units, name="dense2",
                           kernel_initializer=_kernel_initializer(seed, "dense2"),
                           **dense)(dropped(x, 2))
    outputs = keras.layers.Dense(
        n_classes, activation="softmax", name="output",
        kernel_initializer=_kernel_initializer(seed, "output"))(dropped(x, 3))
    return keras.Model(inputs, outputs, name="lenet")
