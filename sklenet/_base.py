"""The base of the LeNet estimators.

:class:`BaseLeNet` holds what :class:`sklenet.LeNetClassifier` and
:class:`sklenet.LeNetEnsembleClassifier` share about their input and their
training (as sklearn's ``BaseMultilayerPerceptron`` does for its two
estimators): parameter validation, image shapes, the pixel rule, sample and
class weights, validation data and early stopping's split, and their common
documentation. Seeding (:func:`derive_seed`, :func:`spawn_seeds`,
:func:`seeded`) and TensorFlow's per-fit memory (:func:`release_trace_memory`)
are here too.

:class:`ScikerasFixes` is scikeras' ``KerasClassifier`` with its scikit-learn
incompatibilities fixed. scikeras 0.13 is no longer maintained. Against
scikit-learn >= 1.6 it

* only declares tags through the removed ``_more_tags`` mechanism, so sklearn
  sees no ``__sklearn_tags__`` of its own (no classifier tags, sparse allowed);
* inherits ``BaseEstimator`` before ``ClassifierMixin``, so the mixin's tags and
  ``score`` are shadowed;
* reports a feature-count mismatch as a shape error instead of sklearn's
  "X has N features, but ... is expecting M features as input.";
* converts sparse input to a LIL matrix that TensorFlow then chokes on;
* maps every ``np.random.RandomState`` to seed 0 (``randint(low=1)``);
* squeezes ``predict_proba`` of a single sample to shape ``(n_classes,)``;
* seeds through ``tensorflow_random_state``, which sets ``TF_DETERMINISTIC_OPS``
  while TensorFlow may read it for the first time: op determinism then stays
  on for the whole process and every later unseeded Keras fit of the user
  fails ("Random ops require a seed ...").

The input fixes (sklearn's feature-count message, the refusal of sparse
input) are :meth:`BaseLeNet._validate_data`, which overrides scikeras' in
``LeNetClassifier(BaseLeNet, ScikerasFixes)``; :class:`ScikerasFixes` fixes
the rest. ``tests/test_base.py`` guards every fix.
"""

import contextlib
import math
import os
import random
import string
import textwrap
import warnings
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, validate_data

from ._checks import check_weights, validation_pair
from ._compat import SklearnTagsOverScikeras
from ._params import DOCSTRING, PARAMETER_CONSTRAINTS
from ._scikeras import KerasClassifier as _ScikerasClassifier
from ._scikeras import route_params
from ._sklearn_callbacks import CallbackSupport
from ._typing import ArrayLike, NDArray

_SEED_BOUND = np.iinfo(np.int32).max


def derive_seed(random_state):
    """An int seed for Keras from sklearn's ``random_state`` convention.

    An int is used as it is; a ``RandomState`` draws a seed from its stream
    (so distinct generators give distinct seeds, and a generator shared by
    several estimators gives each its own); None draws fresh OS entropy
    without touching NumPy's global generator.
    """
    if random_state is None:
        return int(np.random.default_rng().integers(_SEED_BOUND))
    if isinstance(random_state, (int, np.integer)) and not isinstance(
        random_state, bool
    ):
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(_SEED_BOUND))
    raise ValueError(
        f"random_state={random_state!r} must be None, an int or a "
        "numpy.random.RandomState instance."
    )


def spawn_seeds(random_state, n):
    """``n`` distinct int seeds, children of ``random_state``'s SeedSequence.

    Child ``i`` depends on ``random_state`` and ``i`` only, so more seeds
    extend fewer with the same ``random_state`` (a larger ensemble extends a
    smaller one, more repeats extend fewer).

    Examples
    --------
    >>> spawn_seeds(0, 3)[:2] == spawn_seeds(0, 2)
    True
    """
    root = np.random.SeedSequence(derive_seed(random_state))
    return [int(child.generate_state(1)[0]) for child in root.spawn(n)]


@contextlib.contextmanager
def seeded(seed):
    """Seed Python, NumPy and TensorFlow with ``seed`` and turn TensorFlow's op
    determinism on, for the duration of the block only.

    Afterwards Python's and NumPy's global random states, TensorFlow's global
    seed and op determinism are as they were. ``TF_DETERMINISTIC_OPS`` is
    never touched: TensorFlow reads it once, at its first determinism query,
    so setting it even briefly could switch determinism on for the rest of
    the process (scikeras' ``tensorflow_random_state`` does this).
    """
    import tensorflow as tf
    from tensorflow.python.eager import context
    from tensorflow.python.framework import config

    python_state = random.getstate()
    numpy_state = np.random.get_state()
    tf_seed = context.global_seed()
    was_deterministic = config.is_op_determinism_enabled()
    try:
        random.seed(seed)
        np.random.seed(seed)
        tf.random.set_seed(seed)
        config.enable_op_determinism()
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        tf.random.set_seed(tf_seed)
        if not was_deterministic:
            config.disable_op_determinism()


@contextlib.contextmanager
def release_trace_memory():
    """Free what TensorFlow keeps alive after tracing a ``model.fit``.

    Without this, every ``fit`` of a new Keras 3 model on the TensorFlow
    backend leaks about 10 MB (keras-team/keras#17458): Keras' optimizer step
    calls ``tf.distribute``'s ``all_reduce``, a ``tf.custom_gradient`` that
    registers a ``CustomGradient-N`` entry in TensorFlow's process-global
    gradient registry and never removes it; its closure holds the traced
    train-step graph. The entry is only needed while the gradient is traced,
    so the entries added during the block are dropped afterwards, and the
    eager kernel cache (one instantiated kernel per traced function) is
    cleared. Measured on 50 consecutive fits: 10 MB -> 0.03 MB per fit, at no
    measurable cost in time.

    Both are private TensorFlow APIs: if they move, this does nothing. Do not
    trace other TensorFlow functions in another thread while a fit runs.
    """
    try:
        from tensorflow.python.framework import ops

        registry = ops.gradient_registry._registry
        before = set(registry)
    except (ImportError, AttributeError):  # pragma: no cover - TF moved it
        registry = None
    try:
        yield
    finally:
        if registry is not None:
            for key in set(registry) - before:
                if key.startswith("CustomGradient-"):
                    registry.pop(key, None)
        try:
            from tensorflow.python.eager import context

            context.context().clear_kernel_cache()
        except (ImportError, AttributeError):  # pragma: no cover
            pass


# ------------------------------------------------------------------ images
def stretched_epochs(epochs, min_epoch_samples, n_samples):
    """``epochs`` epochs of at least ``min_epoch_samples`` images, in passes
    over ``n_samples`` training images (the rule of the estimators'
    ``min_epoch_samples``; None: one pass per epoch).

    >>> stretched_epochs(5, 25_200, 3_000), stretched_epochs(5, None, 3_000)
    (42, 5)
    """
    if min_epoch_samples is None:
        return epochs
    return math.ceil(epochs * max(1.0, min_epoch_samples / n_samples))


def holdout_split(y, validation_fraction, random_state, n_classes=None):
    """Train and validation indices of a holdout of ``validation_fraction``.

    The one rule of early stopping's validation split (of
    :class:`~sklenet.LeNetClassifier`, checked up front by
    :class:`~sklenet.LeNetEnsembleClassifier`) and of
    :class:`~sklenet.LeNetSearchCV`'s ``cv=None`` holdout: the last
    ``ceil(validation_fraction * len(y))`` samples of a shuffle seeded by
    ``random_state``, stratified for a classifier and then at least one
    sample of each class.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels (or a regressor's targets).
    validation_fraction : float
        Share of the samples held out.
    random_state : int
        Seed of the shuffle.
    n_classes : int or None, default=None
        A classifier's number of classes: the split is then stratified and
        needs every one of them on both sides. None: a plain shuffled split.

    Returns
    -------
    train, validation : ndarray of int
        Indices into ``y``, as :func:`~sklearn.model_selection.train_test_split`
        gives them for ``y``'s other arrays.

    Raises
    ------
    ValueError
        If a class has fewer than 2 samples, or the training side is left
        with fewer samples than classes.

    Examples
    --------
    >>> train, validation = holdout_split([0] * 6 + [1] * 6, 0.1, 0, n_classes=2)
    >>> len(train), len(validation)  # 2, not 10 % of 12: one of each class
    (10, 2)
    """
    n_samples = len(y)
    n_val = math.ceil(validation_fraction * n_samples)
    if n_classes is None:
        return train_test_split(np.arange(n_samples), test_size=n_val,
                                random_state=random_state)
    n_val = max(n_val, n_classes)
    _, codes = np.unique(y, return_inverse=True)
    counts = np.bincount(codes.ravel(), minlength=n_classes)
    if counts.min() < 2 or n_samples - n_val < n_classes:
        raise ValueError(
            f"validation_fraction={validation_fraction} of {n_samples} samples "
            f"with at least {counts.min()} of each of {n_classes} classes cannot "
            "hold out a stratified validation split with every class on both "
            "sides.")
    return train_test_split(np.arange(n_samples), test_size=n_val, stratify=y,
                            random_state=random_state)


def infer_image_shape(n_features, image_shape=None):
    """The (height, width, channels) of one image of ``n_features`` pixels.

    Parameters
    ----------
    n_features : int
        Length of one flattened image.
    image_shape : tuple of int or None
        ``(H, W)`` or ``(H, W, C)``; None infers a square single-channel image
        when ``n_features`` is a perfect square (784 -> 28x28x1) and a one-row
        image ``(1, n_features, 1)`` otherwise.

    Returns
    -------
    tuple of int

    Examples
    --------
    >>> infer_image_shape(784)
    (28, 28, 1)
    >>> infer_image_shape(5)
    (1, 5, 1)
    >>> infer_image_shape(3072, (32, 32, 3))
    (32, 32, 3)
    """
    if image_shape is None:
        side = math.isqrt(n_features)
        if side * side == n_features:
            return (side, side, 1)
        return (1, n_features, 1)
    shape = tuple(int(s) for s in image_shape)
    if len(shape) == 2:
        shape = (*shape, 1)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            f"image_shape={image_shape!r} must be (height, width) or "
            "(height, width, channels) of positive ints."
        )
    if math.prod(shape) != n_features:
        raise ValueError(
            f"image_shape={image_shape!r} holds {math.prod(shape)} pixels, but X "
            f"has {n_features} features per sample."
        )
    return shape


def pixel_scale(dtype):
    """The factor that scales validated pixels of ``dtype`` for the network.

    Integer pixels are 0-255 grey levels (divided by 255); bool pixels are
    0/1 and float pixels already scaled (used as they are).

    Examples
    --------
    >>> pixel_scale(np.dtype("uint8")) == 1 / 255, pixel_scale(np.dtype("float32"))
    (True, 1.0)
    """
    return 1 / 255 if dtype.kind in "iu" else 1.0


def _as_hwc(shape):
    """``(H, W)`` or ``(H, W, C)`` -> ``(H, W, C)``."""
    shape = tuple(int(side) for side in shape)
    return (*shape, 1) if len(shape) == 2 else shape


def _numeric_objects(X):
    """Object-dtype pixels as numbers: whole numbers become int64 (0-255 grey
    levels, scaled by 1/255), anything else float64 (taken as scaled)."""
    dtypes = X.dtypes if hasattr(X, "dtypes") else [getattr(X, "dtype", None)]
    if not any(dtype == np.dtype(object) for dtype in dtypes):
        return X
    try:
        numbers = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        return X  # sklearn's validation names the non-numeric values
    if np.isfinite(numbers).all() and np.array_equal(numbers, np.round(numbers)):
        numbers = numbers.astype(np.int64)
    if hasattr(X, "iloc"):
        return type(X)(numbers, index=X.index, columns=X.columns)
    return numbers


# ----------------------------------------------------------- documentation
#: numpydoc fragments shared by the docstrings of the LeNet estimators (one
#: constructor, one documentation): ``$name`` placeholders in a class
#: docstring are filled by :func:`_fill_docstring`.
_DOCSTRING_FRAGMENTS = {
    "input": """Input
        ``X`` is ``(n_samples, n_pixels)`` (a NumPy array or a DataFrame such
        as Kaggle's ``pixel0..pixel783``), ``(n, H, W)`` or ``(n, H, W, C)``.
        Pixel scaling is decided once, from the training data, and applied
        identically at predict time: integer dtypes (uint8, int64, ...) are
        taken as 0-255 and divided by 255; float input is taken as already
        scaled and used as it is. Nothing is ever scaled twice. Labels may be
        of any kind (ints, strings); ``predict`` returns them via ``classes_``.""",
    "hyperparameters": textwrap.indent(DOCSTRING, "    ").lstrip(),
    "verbose_and_kwargs": """verbose : int, default=0
        Keras' verbosity during ``fit``.
    **kwargs
        Routed parameters, scikeras style: ``optimizer__<arg>``,
        ``fit__<arg>``, ``predict__<arg>`` and ``callbacks__<arg>``.""",
}


def _fill_docstring(cls):
    """Class decorator: fill the ``$name`` placeholders of the docstring."""
    cls.__doc__ = string.Template(cls.__doc__).substitute(_DOCSTRING_FRAGMENTS)
    return cls


_ROUTING_PREFIXES = ("optimizer__", "fit__", "predict__", "callbacks__")


# -------------------------------------------------------- the shared base
class DocLinkMixin:
    """The HTML repr's "?" links to the class's page of sklenet's API
    reference (sklearn's ``_doc_link_*`` hooks) where the documentation is
    published: its base URL is the ``SKLENET_DOCS_URL`` environment variable
    (for example a team's own build of ``docs/``). Without it the repr shows
    no link, rather than one to a site that does not exist.
    """

    _doc_link_module = "sklenet"

    @property
    def _doc_link_template(self):
        base = os.environ.get("SKLENET_DOCS_URL", "").rstrip("/")
        return base and base + "/generated/{estimator_module}.{estimator_name}.html"

    def _doc_link_url_param_generator(self):
        # The API reference documents each estimator as sklenet.<Name>, where
        # it is imported from; sklearn's default names the module up to its
        # first private part (sklenet.model_selection for the search).
        return {"estimator_module": self._doc_link_module,
                "estimator_name": type(self).__name__}


class BaseLeNet(DocLinkMixin, CallbackSupport):
    """Mixin: the input and training rules of the LeNet estimators.

    Both :class:`sklenet.LeNetClassifier` and
    :class:`sklenet.LeNetEnsembleClassifier` inherit it, so they accept the
    same input and refuse bad input with the same messages, each naming
    itself. Every method works on the estimator's own parameters and sets
    only its own fitted attributes. ``_validate_data`` records the shape of
    image-shaped X for :meth:`_fit_image_shape`.
    Both take scikit-learn's callbacks (``set_callbacks``, scikit-learn >= 1.9;
    :mod:`sklenet._sklearn_callbacks`).
    """

    _parameter_constraints = {
        **PARAMETER_CONSTRAINTS,
        "random_state": ["random_state"],
        "verbose": ["verbose", StrOptions({"auto"})],
    }

    # ------------------------------------------------------------- parameters
    def _validate_params(self):
        """sklearn's constraints, and the prefixes of routed parameters."""
        for key in vars(self):
            if not key.endswith("_") and "__" in key and not key.startswith(
                _ROUTING_PREFIXES
            ):
                raise ValueError(
                    f"Unknown routed parameter {key!r}: routed parameters start "
                    f"with one of {list(_ROUTING_PREFIXES)}."
                )
        super()._validate_params()
        self._check_test_time_augmentation()

    def _check_test_time_augmentation(self):
        """Refuse test-time augmentation for a model without augmentation
        layers to draw its copies with."""
        if self.test_time_augmentation and not (
            self.rotation_range or self.shift_range or self.zoom_range
        ):
            raise ValueError(
                f"test_time_augmentation={self.test_time_augmentation} draws "
                "augmented copies with the model's augmentation layers, but "
                "rotation_range, shift_range and zoom_range are all 0. Set one "
                "of them or test_time_augmentation=0."
            )

    def _optimizer(self):
        """Adam with ``learning_rate``, ``beta_1``, ``beta_2`` and the routed
        ``optimizer__`` arguments."""
        optimizer_args = route_params(
            self.get_params(), destination="optimizer", pass_filter=set(), strict=True
        )
        return keras.optimizers.Adam(
            learning_rate=self.learning_rate,
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            **optimizer_args,
        )

    # ------------------------------------------------------------------ input
    def _validate_data(self, X=None, y=None, reset=False, y_numeric=False):
        """sklearn's ``validate_data`` with a clear refusal of sparse input.

        Returns X as a 2-D numeric array (images are flattened by
        :meth:`_flatten_images`) and y as a 1-D array of class labels.
        """
        if X is not None:
            if sp.issparse(X):
                raise TypeError(
                    f"{type(self).__name__} does not accept sparse input "
                    f"(got {type(X).__name__}): convolutions need dense "
                    "images. Convert it with X.toarray()."
                )
            X = self._flatten_images(X, reset=reset)
        common = {"dtype": "numeric", "ensure_min_samples": 1}
        if X is not None and y is not None:
            X, y = validate_data(self, X, y, reset=reset, **common)
        elif X is not None:
            X = validate_data(self, X, reset=reset, **common)
        if X is not None:
            self._check_pixels(X, reset=reset)
        if y is not None:
            check_classification_targets(y)
        return X, y

    def _flatten_images(self, X, reset):
        """Image-shaped X -> pixel rows; object arrays -> numbers (see Input)."""
        if not hasattr(X, "iloc") and not hasattr(X, "__array__"):
            X = np.asarray(X)
        X = _numeric_objects(X)
        if reset:  # a previous fit's image shape no longer applies
            vars(self).pop("image_shape_", None)
        ndim = getattr(X, "ndim", 2)
        if ndim not in (3, 4):
            if reset:
                self._input_image_shape = None
            return X
        shape = tuple(X.shape[1:])
        if reset:
            self._input_image_shape = shape
        else:
            self._check_image_shape(shape)
        return np.reshape(X, (X.shape[0], -1))

    def _check_image_shape(self, shape):
        """Refuse images of another height x width than the fitted ones, even
        when their pixel count is the same."""
        expected = getattr(self, "image_shape_", None)
        if expected is not None and _as_hwc(shape) != tuple(expected):
            raise ValueError(
                f"X holds images of shape {shape}, but {type(self).__name__} was "
                f"fitted on images of shape {tuple(expected)}."
            )

    def _check_pixels(self, X, reset):
        """The pixel rule of the Input section, checked on validated X."""
        if X.size == 0:
            return
        if X.dtype.kind in "iu":
            low, high = X.min(), X.max()
            if low < 0 or high > 255:
                raise ValueError(
                    f"X holds integer pixels from {low} to {high}, but integer "
                    "pixels must be 8-bit grey levels in 0-255. Pass other "
                    "ranges as floats scaled to [0, 1] (for 16-bit images: "
                    "X / 65535)."
                )
        elif X.dtype.kind == "f" and reset and np.nanmax(X) > 1:
            warnings.warn(
                f"X holds float pixels up to {np.nanmax(X):g}: floats are taken "
                "as already scaled to [0, 1] and used as they are. Pass integer "
                "pixels (0-255) to have them divided by 255.",
                UserWarning, stacklevel=4,
            )

    def _fit_image_shape(self, X):
        """Set ``image_shape_`` for validated training X: ``image_shape``, else
        the shape of image-shaped X, else inferred from the pixel count."""
        self.image_shape_ = infer_image_shape(
            X.shape[1], self.image_shape or self._input_image_shape
        )

    def _check_classes(self, classes):
        """Refuse training labels of fewer than two classes."""
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes, but "
                f"y contains only one class: {classes[0]!r}."
            )

    def _check_validation_data(self, validation_data, classes):
        """Validated ``(X_val, y_val)``, checked against the training X just
        validated and its ``classes``."""
        X_val, y_val = validation_pair(validation_data)
        X_val, y_val = self._validate_data(X_val, y_val, reset=False)
        unseen = np.setdiff1d(np.unique(y_val), classes)
        if unseen.size:
            raise ValueError(
                f"validation_data has labels not present in the training y: "
                f"{unseen.tolist()}."
            )
        return X_val, y_val

    # ---------------------------------------------------------------- weights
    def _checked_sample_weight(self, X, sample_weight):
        """``sample_weight`` as a float array of one weight per row of X, or
        None."""
        if sample_weight is None:
            return None
        check_weights(sample_weight, "sample_weight")
        return _check_sample_weight(sample_weight, X)

    def _combined_sample_weight(self, y, sample_weight):
        """``class_weight``'s weights of the labels ``y`` times
        ``sample_weight``, checked; ``sample_weight`` without ``class_weight``.
        """
        if sample_weight is not None:
            check_weights(sample_weight, "sample_weight")
        if self.class_weight is None:
            return sample_weight
        if isinstance(self.class_weight, dict):
            check_weights(list(self.class_weight.values()), "class_weight")
        weights = compute_sample_weight(self.class_weight, y)
        if sample_weight is not None:
            weights = weights * np.asarray(sample_weight, dtype=np.float64)
        return check_weights(weights, "class_weight x sample_weight")

    # --------------------------------------------------------- early stopping
    def _early_stopping_holdout(self, y, n_classes, random_state=None):
        """``(train, validation)`` indices of early stopping's split of the
        labels ``y`` (of ``n_classes`` classes, some perhaps absent from
        ``y``), by :func:`holdout_split`; refuse a ``y`` it cannot split."""
        try:
            return holdout_split(y, self.validation_fraction, random_state,
                                 n_classes)
        except ValueError as exc:
            raise ValueError(
                f"early_stopping needs a stratified validation split: {exc} Pass "
                "validation_data=(X_val, y_val), change validation_fraction or "
                "set early_stopping=False."
            ) from None

    # ------------------------------------------------------------ persistence
    # The input attributes both estimators keep, saved, restored and checked
    # on load in one place.
    def _input_attributes(self):
        """``n_features_in_`` and ``feature_names_in_`` (None when fitted
        without names) as :func:`sklenet.save` stores them."""
        return {
            "n_features_in": int(self.n_features_in_),
            "feature_names_in": (
                self.feature_names_in_.tolist()
                if hasattr(self, "feature_names_in_") else None
            ),
        }

    def _restore_input_attributes(self, attributes):
        """Inverse of :meth:`_input_attributes` (used by :func:`sklenet.load`)."""
        self.n_features_in_ = attributes["n_features_in"]
        if attributes["feature_names_in"] is not None:
            self.feature_names_in_ = np.asarray(attributes["feature_names_in"],
                                                dtype=object)

    def _check_loaded_input(self):
        """Refuse a loaded ``n_features_in_`` that is not an int, or
        ``feature_names_in_`` of another length: part of each estimator's
        ``_check_loaded_state``."""
        n_features = self.n_features_in_
        if type(n_features) is not int:
            raise ValueError(f"n_features_in_={n_features!r} is not an int")
        names = getattr(self, "feature_names_in_", None)
        if names is not None and len(names) != n_features:
            raise ValueError(f"feature_names_in_ has {len(names)} names, "
                             f"n_features_in_ is {n_features}")


# --------------------------------------------------------- scikeras fixes
class _ClassifierFirstMRO(type(_ScikerasClassifier)):
    """Metaclass that puts ``ClassifierMixin`` before ``BaseEstimator``.

    scikeras declares ``KerasClassifier(BaseWrapper, ClassifierMixin)``; C3
    linearisation then forbids any subclass from listing the mixin first. A
    metaclass ``mro`` is Python's hook for exactly this: the mixin is moved in
    front of ``BaseEstimator`` so that its ``__sklearn_tags__`` and ``score``
    take effect, as in every sklearn classifier.
    """

    def mro(cls):
        order = super().mro()
        if ClassifierMixin in order and BaseEstimator in order:
            order.remove(ClassifierMixin)
            order.insert(order.index(BaseEstimator), ClassifierMixin)
        return order


class ScikerasFixes(SklearnTagsOverScikeras, _ScikerasClassifier,
                    metaclass=_ClassifierFirstMRO):
    """scikeras ``KerasClassifier`` that passes scikit-learn's estimator checks.

    Subclasses build their network in ``_keras_build_fn`` as with scikeras;
    :class:`BaseLeNet`, listed before it, validates their input.
    """

    # scikeras' own repr is a tab-separated dump; use sklearn's.
    __repr__ = BaseEstimator.__repr__

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        tags.target_tags.required = True
        tags.classifier_tags.multi_class = True
        tags.classifier_tags.multi_label = False
        return tags

    @contextlib.contextmanager
    def _training_context(self):
        """Seed Python, NumPy and TensorFlow with ``self._random_state`` (their
        global states are restored afterwards) and release TensorFlow's
        per-fit trace memory (:func:`release_trace_memory`)."""
        with seeded(self._random_state), release_trace_memory():
            yield

    def _build_keras_model(self):
        """scikeras' model building, seeded by :func:`seeded` instead of
        scikeras' ``tensorflow_random_state`` (see the module docstring)."""
        random_state, self._random_state = self._random_state, None
        try:
            with (seeded(random_state) if random_state is not None
                  else contextlib.nullcontext()):
                return super()._build_keras_model()
        finally:
            self._random_state = random_state

    if TYPE_CHECKING:
        # scikeras' predict, as a type checker sees it (scikeras has no types).
        def predict(self, X: ArrayLike, **kwargs: Any) -> NDArray[Any]: ...

    def predict_proba(self, X: ArrayLike, **kwargs: Any) -> NDArray[np.floating]:
        """Class probabilities, of shape ``(n_samples, n_classes)``.

        Routed ``predict__`` parameters apply; ``**kwargs`` go to Keras'
        ``Model.predict``.
        """
        proba = super().predict_proba(X, **kwargs)
        return proba.reshape(-1, self.n_classes_)
