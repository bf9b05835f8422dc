"""The one declaration of the LeNet hyperparameters.

Every hyperparameter that :class:`sklenet.LeNetClassifier` and
:class:`sklenet.LeNetEnsembleClassifier` share is declared here once: its
name, default, scikit-learn constraint and one line of documentation. The
estimators' ``_parameter_constraints``, the ``Parameters`` section of their
docstrings, :data:`STANDARD_PARAMS` and the names passed to
:func:`sklenet.build_lenet` all derive from :data:`HYPERPARAMETERS`. The
``__init__`` signatures stay explicit, as scikit-learn requires;
``tests/test_params.py`` holds them to this declaration.

Adding a hyperparameter: one :class:`Hyperparameter` below, one argument in
each ``__init__`` (the test says where), and its use in ``build_lenet`` (for
a ``network`` one) or in the estimator.
"""

import dataclasses
import textwrap
from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

_POSITIVE_INT = Interval(Integral, 1, None, closed="left")
_NON_NEGATIVE = Interval(Real, 0, None, closed="left")
_FRACTION = Interval(Real, 0, 1, closed="left")  # [0, 1)


@dataclasses.dataclass(frozen=True)
class Hyperparameter:
    """One constructor argument shared by the LeNet estimators.

    Attributes
    ----------
    name : str
    default : object
    constraints : list
        scikit-learn parameter constraints (``sklearn.utils._param_validation``).
    type : str
        The numpydoc type, as the docstring shows it.
    doc : str
        One line (or a short paragraph) of documentation.
    network : bool
        Whether it is an argument of :func:`sklenet.build_lenet`.
    study : bool
        Whether it is one of the study's 12 searched hyperparameters (its
        default is then the study's standard LeNet, see ``STANDARD_PARAMS``).
    """

    name: str
    default: object
    constraints: list
    type: str
    doc: str
    network: bool = False
    study: bool = False

    def docstring(self):
        """The numpydoc entry: ``name : type, default=...`` and the text."""
        text = textwrap.fill(self.doc, width=72, initial_indent="    ",
                             subsequent_indent="    ")
        return f"{self.name} : {self.type}, default={self.default!r}\n{text}"


def _network(name, default, constraints, type_, doc, study=True):
    return Hyperparameter(name, default, constraints, type_, doc, network=True,
                          study=study)


_ACTIVATION = [str, callable]

#: The LeNet hyperparameters, in the order of the constructors' signatures.
HYPERPARAMETERS = (
    # The study's architecture (SPEC, model 1); its 12 searched dimensions.
    _network("conv1_filters", 6, [_POSITIVE_INT], "int",
             "Filters of the first convolution."),
    _network("conv1_kernel_size", 5, [_POSITIVE_INT], "int",
             'Kernel side of the first convolution (stride 1, "same" padding).'),
    _network("conv2_filters", 16, [_POSITIVE_INT], "int",
             "Filters of the second convolution."),
    _network("conv2_kernel_size", 5, [_POSITIVE_INT], "int",
             'Kernel side of the second convolution (stride 1, "same" padding).'),
    _network("conv_activation", "tanh", _ACTIVATION, "str",
             "Keras activation of both convolutions."),
    _network("conv_l2", 0.0, [_NON_NEGATIVE], "float",
             "L2 penalty on the convolution kernels (0 disables it)."),
    _network("pool1_size", 2, [_POSITIVE_INT], "int",
             'Window side of the first pooling layer ("valid" padding).'),
    _network("pool2_size", 2, [_POSITIVE_INT], "int",
             'Window side of the second pooling layer ("valid" padding).'),
    _network("dense1_units", 120, [_POSITIVE_INT], "int",
             "Units of the first hidden dense layer."),
    _network("dense2_units", 84, [_POSITIVE_INT], "int",
             "Units of the second hidden dense layer."),
    _network("dense_activation", "tanh", _ACTIVATION, "str",
             "Keras activation of the two hidden dense layers."),
    _network("dense_l2", 0.0, [_NON_NEGATIVE], "float",
             "L2 penalty on the hidden dense kernels (0 disables it)."),
    # What the study kept fixed.
    _network("pooling", "average", [StrOptions({"average", "max"})],
             '{"average", "max"}',
             "Kind of the two pooling layers (the study: average).",
             study=False),
    _network("pool_strides", None, [_POSITIVE_INT, None], "int or None",
             "Stride of both pooling layers; None means the window side, "
             "Keras' default. The study's text says stride 1 \"to "
             "downsample\", which does not downsample; ``pool_strides=1`` "
             "gives that literal text (slower, and less accurate on the "
             "sample: see the performance page).", study=False),
    _network("global_pooling", True, ["boolean"], "bool",
             "Global average pooling before the dense layers (the study); "
             "False uses the classic Flatten.", study=False),
    # Modern training options beyond the study, all off by default.
    _network("batch_normalization", False, ["boolean"], "bool",
             "Batch normalisation after each convolution, before its "
             "activation.", study=False),
    _network("dropout", 0.0, [_FRACTION], "float",
             "Dropout rate before each dense layer, in [0, 1); 0 disables "
             "it.", study=False),
    _network("rotation_range", 0.0, [Interval(Real, 0, 180, closed="both")],
             "float",
             "Data augmentation while training only: random rotation of "
             "each training image by up to this many degrees either way "
             "(Keras' ``RandomRotation``); 0 disables it.", study=False),
    _network("shift_range", 0.0, [_FRACTION], "float",
             "Data augmentation while training only: random shift by up to "
             "this fraction of the image side, horizontally and vertically "
             "(Keras' ``RandomTranslation``); 0 disables it.", study=False),
    _network("zoom_range", 0.0, [_FRACTION], "float",
             "Data augmentation while training only: random zoom in or out "
             "by up to this fraction (Keras' ``RandomZoom``); 0 disables it. "
             "The augmentation layers are part of ``model_`` (saved with it) "
             "and are inactive in ``predict``.", study=False),
    Hyperparameter(
        "test_time_augmentation", 0, [Interval(Integral, 0, None, closed="left")],
        "int",
        "Test-time augmentation: ``predict_proba`` (and so ``predict``) "
        "averages the probabilities of each image and of this many copies "
        "transformed by the model's own augmentation layers (see "
        "``rotation_range``, ``shift_range``, ``zoom_range``; at least one "
        "must be on), drawn from the fit's ``random_state``, so the same "
        "call gives the same result. Each copy costs about one more "
        "``predict``; 0 disables it. Exported graphs and ``sklenet serve`` "
        "never augment."),
    # Input.
    Hyperparameter(
        "image_shape", None, [tuple, list, None], "tuple of int or None",
        "``(H, W)`` or ``(H, W, C)`` of one image. None infers it: from the "
        "array for 3-D/4-D X, else a square single-channel image when the "
        "feature count is a perfect square (784 -> 28x28x1), else a one-row "
        "image ``(1, n_features, 1)`` (pooling windows are then clipped to "
        "the map, so any feature count works)."),
    # Training.
    Hyperparameter("learning_rate", 1e-3,
                   [Interval(Real, 0, None, closed="neither")], "float",
                   "Adam's (initial) learning rate, > 0. Other Adam arguments "
                   "route with ``optimizer__``."),
    Hyperparameter("beta_1", 0.9, [_FRACTION], "float", "Adam's beta_1."),
    Hyperparameter("beta_2", 0.999, [_FRACTION], "float", "Adam's beta_2."),
    Hyperparameter("learning_rate_schedule", None,
                   [StrOptions({"plateau", "cosine"}), None],
                   '{None, "plateau", "cosine"}',
                   "None keeps ``learning_rate``; \"plateau\" halves it when "
                   "the validation accuracy (the training accuracy without a "
                   "validation set) has not improved for "
                   "``max(1, n_iter_no_change // 2)`` epochs (Keras' "
                   "``ReduceLROnPlateau``); \"cosine\" decays it along a "
                   "cosine to 0 over ``epochs`` (Keras' ``CosineDecay``)."),
    Hyperparameter("label_smoothing", 0.0, [_FRACTION], "float",
                   "Label smoothing of the cross-entropy, in [0, 1)."),
    Hyperparameter("batch_size", 32, [_POSITIVE_INT], "int",
                   "Training mini-batch size."),
    Hyperparameter("steps_per_execution", "auto",
                   [_POSITIVE_INT, StrOptions({"auto"})], 'int or "auto"',
                   "Batches run per call into TensorFlow (Keras' ``compile`` "
                   "argument of that name); the trained weights are the same "
                   "for every value, only the per-batch overhead changes. "
                   "\"auto\" uses 32 when the fit runs at least 256 batches "
                   "(epochs x batches per epoch), else 1 (see the performance "
                   "page). Keras calls batch-level callbacks (and the progress "
                   "bar) once per execution, so pass 1 for callbacks that must "
                   "see every batch."),
    Hyperparameter("epochs", 100, [_POSITIVE_INT], "int",
                   "Maximum number of epochs."),
    Hyperparameter("early_stopping", True, ["boolean"], "bool",
                   "Stop when the validation accuracy has not improved for "
                   "``n_iter_no_change`` epochs and restore the best weights. "
                   "The validation set is ``validation_data`` given to "
                   "``fit``, else a stratified ``validation_fraction`` of the "
                   "training data."),
    Hyperparameter("validation_fraction", 0.1,
                   [Interval(Real, 0, 1, closed="neither")], "float",
                   "Share of the training data held out for early stopping."),
    Hyperparameter("n_iter_no_change", 5, [_POSITIVE_INT], "int",
                   "Patience of early stopping, in epochs."),
    Hyperparameter("min_epoch_samples", None, [_POSITIVE_INT, None], "int or None",
                   "Count ``epochs`` and ``n_iter_no_change`` in epochs of at "
                   "least this many training images, so that they mean on a "
                   "small training set what they mean on a large one. On n "
                   "training images (after any validation split) with n < "
                   "``min_epoch_samples``, one such epoch is "
                   "``min_epoch_samples / n`` passes: early stopping waits "
                   "``ceil(n_iter_no_change * min_epoch_samples / n)`` passes "
                   "without improvement, training stops after at most "
                   "``ceil(epochs * min_epoch_samples / n)`` passes, and the "
                   "learning-rate schedules stretch alike. Validation, "
                   "``history_`` and ``n_epochs_`` still count passes; "
                   "``max_epochs_`` and ``n_iter_no_change_`` give the fit's "
                   "counts. None (default): an epoch is one pass, as in Keras. "
                   "``sklenet reproduce`` uses 25,200, the study's training "
                   "set (see the evaluation guide, \"Early stopping on small "
                   "data\")."),
    Hyperparameter("class_weight", None, [dict, StrOptions({"balanced"}), None],
                   'dict, "balanced" or None',
                   "Weights of the classes, as in scikit-learn; weights must "
                   "be non-negative."),
    Hyperparameter("predict_batch_size", 1024, [_POSITIVE_INT], "int",
                   "Batch size of ``predict``/``predict_proba`` (see the "
                   "performance page for why not Keras' 32)."),
    Hyperparameter("callbacks", None, [list, None],
                   "list of keras.callbacks.Callback or None",
                   "Extra Keras callbacks for ``fit``."),
)

#: name -> :class:`Hyperparameter`.
BY_NAME = {hp.name: hp for hp in HYPERPARAMETERS}

#: Arguments of :func:`sklenet.build_lenet` taken from the estimator.
NETWORK_PARAMS = tuple(hp.name for hp in HYPERPARAMETERS if hp.network)

#: The study's standard LeNet (SPEC, model 1): its 12 searched
#: hyperparameters at their defaults, the defaults of ``LeNetClassifier``.
STANDARD_PARAMS = {hp.name: hp.default for hp in HYPERPARAMETERS if hp.study}

#: Defaults of every shared hyperparameter.
DEFAULTS = {hp.name: hp.default for hp in HYPERPARAMETERS}

#: scikit-learn ``_parameter_constraints`` of the shared hyperparameters
#: (each estimator adds its own: ``random_state``, ``verbose``, ...).
PARAMETER_CONSTRAINTS = {hp.name: list(hp.constraints) for hp in HYPERPARAMETERS}

#: The numpydoc ``Parameters`` entries of the shared hyperparameters.
DOCSTRING = "\n".join(hp.docstring() for hp in HYPERPARAMETERS)
