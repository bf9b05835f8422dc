"""Pure Keras: the LeNet graph of the study, built from hyperparameters.

Nothing here knows about scikit-learn; :class:`sklenet.LeNetClassifier` calls
:func:`build_lenet` from its ``_keras_build_fn``.
"""

import keras

#: The study's standard LeNet (SPEC, model 1); the defaults of ``LeNetClassifier``.
STANDARD_PARAMS = {
    "conv1_filters": 6,
    "conv1_kernel_size": 5,
    "conv2_filters": 16,
    "conv2_kernel_size": 5,
    "conv_activation": "tanh",
    "conv_l2": 0.0,
    "pool1_size": 2,
    "pool2_size": 2,
    "dense1_units": 120,
    "dense2_units": 84,
    "dense_activation": "tanh",
    "dense_l2": 0.0,
}

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

_POOLING_LAYERS = {
    "average": keras.layers.AveragePooling2D,
    "max": keras.layers.MaxPooling2D,
}


def _regularizer(l2):
    return keras.regularizers.L2(l2) if l2 else None


def _kernel_initializer(seed, layer):
    """Keras' default Glorot-uniform kernels, drawn from ``seed`` + ``layer``.

    Unseeded Keras initialisers draw their seeds from Python's global
    ``random``, which other threads of the process (a Dask worker's event
    loop, for one) may draw from meanwhile: seeding them explicitly makes the
    initial weights depend on ``seed`` alone.
    """
    if seed is None:
        return "glorot_uniform"
    return keras.initializers.GlorotUniform(seed=seed + layer)


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
    input_shape,
    n_classes,
    *,
    conv1_filters=6,
    conv1_kernel_size=5,
    conv2_filters=16,
    conv2_kernel_size=5,
    conv_activation="tanh",
    conv_l2=0.0,
    pool1_size=2,
    pool2_size=2,
    dense1_units=120,
    dense2_units=84,
    dense_activation="tanh",
    dense_l2=0.0,
    pooling="average",
    pool_strides=None,
    global_pooling=True,
    seed=None,
):
    """Build the (uncompiled) LeNet of the study.

    Conv2D -> pooling -> Conv2D -> pooling -> global average pooling (or
    Flatten) -> Dense -> Dense -> Dense(n_classes, softmax). Convolutions use
    stride 1 and ``padding="same"``; pooling uses ``padding="valid"``.

    Parameters
    ----------
    input_shape : tuple of int
        ``(height, width, channels)`` of one image.
    n_classes : int
        Number of output units (softmax).
    conv1_filters, conv1_kernel_size, conv2_filters, conv2_kernel_size : int
        Filters and kernel side of the two convolutions.
    conv_activation, dense_activation : str
        Keras activation names of the convolutions and of the two hidden dense
        layers.
    conv_l2, dense_l2 : float
        L2 penalty on the kernels of the convolutions / hidden dense layers
        (0 disables it).
    pool1_size, pool2_size : int
        Side of the two pooling windows.
    dense1_units, dense2_units : int
        Units of the two hidden dense layers.
    pooling : {"average", "max"}
        Kind of the two pooling layers.
    pool_strides : int or None
        Stride of both pooling layers; None means the window side (Keras'
        default), 1 is the study's literal text.
    global_pooling : bool
        True: global average pooling before the dense layers (the study's
        choice, 15,626 trainable parameters for the standard LeNet whatever
        the strides); False: the classic Flatten.
    seed : int or None
        Seed of the initial weights; None lets Keras draw them.

    Returns
    -------
    keras.Model
    """
    if pooling not in _POOLING_LAYERS:
        raise ValueError(
            f"pooling={pooling!r} is not supported; use one of "
            f"{sorted(_POOLING_LAYERS)}."
        )
    height, width = input_shape[0], input_shape[1]
    conv = {"padding": "same", "activation": conv_activation,
            "kernel_regularizer": _regularizer(conv_l2)}
    dense = {"activation": dense_activation,
             "kernel_regularizer": _regularizer(dense_l2)}

    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = keras.layers.Conv2D(conv1_filters, conv1_kernel_size, name="conv1",
                            kernel_initializer=_kernel_initializer(seed, 0),
                            **conv)(inputs)
    pool1, (height, width) = _pooling(
        pooling, pool1_size, pool_strides, height, width, "pool1"
    )
    x = pool1(x)
    x = keras.layers.Conv2D(conv2_filters, conv2_kernel_size, name="conv2",
                            kernel_initializer=_kernel_initializer(seed, 1),
                            **conv)(x)
    pool2, _ = _pooling(pooling, pool2_size, pool_strides, height, width, "pool2")
    x = pool2(x)
    if global_pooling:
        x = keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
    else:
        x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(dense1_units, name="dense1",
                           kernel_initializer=_kernel_initializer(seed, 2),
                           **dense)(x)
    x = keras.layers.Dense(dense2_units, name="dense2",
                           kernel_initializer=_kernel_initializer(seed, 3),
                           **dense)(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="output",
                                 kernel_initializer=_kernel_initializer(seed, 4))(x)
    return keras.Model(inputs, outputs, name="lenet")
