"""LeNetClassifier: the study's LeNet as a scikit-learn estimator."""

import math
from numbers import Integral
from typing import Any, Literal, NamedTuple, Self

import keras
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.metrics import accuracy_score
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from ._base import (
    BaseLeNet,
    ScikerasFixes,
    _fill_docstring,
    derive_seed,
    pixel_scale,
    stretched_epochs,
)
from ._callbacks import CosineAnnealing, EpochTasks
from ._checks import drop_zero_weights
from ._io import shorten
from ._model import AUGMENTATION_LAYER, build_lenet
from ._params import NETWORK_PARAMS
from ._scikeras import route_params
from ._sklearn_callbacks import begin_fit_task, end_fit_task, has_callbacks
from ._typing import Activation, ArrayLike, RandomState, fit_context

# steps_per_execution="auto": run this many batches per call into TensorFlow
# once a fit has enough batches to repay the extra tracing of the loop
# (about 0.2 s per fit). bench/bench_throughput.py measured both.
_AUTO_STEPS_PER_EXECUTION = 32
_AUTO_MIN_TRAIN_STEPS = 256
# Prediction converts and predicts this many batches of images at a time.
_PREDICT_CHUNK_BATCHES = 16


class FitSchedule(NamedTuple):
    """What :meth:`LeNetClassifier.fit_schedule` returns: the most passes
    over the training images, early stopping's patience in passes, and the
    batches run per call into TensorFlow."""

    max_epochs: int
    n_iter_no_change: int
    steps_per_execution: int


class ImageEncoder(TransformerMixin, BaseEstimator):
    """Flat pixel rows -> float32 image batch ``(n, H, W, C)`` scaled by ``scale``.

    The feature encoder of :class:`LeNetClassifier` (scikeras' hook for
    turning validated X into what the Keras model takes).
    """

    def __init__(self, image_shape, scale=1.0):
        self.image_shape = image_shape
        self.scale = scale

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        images = np.asarray(X, dtype=np.float32).reshape((-1, *self.image_shape))
        if self.scale != 1:
            images *= np.float32(self.scale)
        return images


@_fill_docstring
class LeNetClassifier(BaseLeNet, ScikerasFixes):
    """The LeNet convolutional network of the study as a scikit-learn classifier.

    Conv2D -> pooling -> Conv2D -> pooling -> global average pooling ->
    Dense -> Dense -> softmax, trained with Adam on sparse categorical
    cross-entropy. The defaults are the study's standard LeNet (15,626
    trainable parameters on 28x28 digits); ``LeNetClassifier(**OPTIMIZED_PARAMS)``
    is its Optuna-optimised LeNet.

    $input

    Parameters
    ----------
    $hyperparameters
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and the validation split. With
        an int, two fits on the same machine give identical predictions. The
        global Python, NumPy and TensorFlow random states are left as they
        were.
    $verbose_and_kwargs

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    n_features_in_ : int
        Number of features (pixels per image) seen during fit.
    feature_names_in_ : ndarray of str
        Column names of a DataFrame X, when it had string column names.
    image_shape_ : tuple of int
        ``(H, W, C)`` the network was built for.
    input_scale_ : float
        Factor applied to X before the network (1/255 or 1).
    input_dtype_ : numpy.dtype
        The dtype of the validated training X (what :func:`sklenet.export`'s
        graphs take).
    model_ : keras.Model
        The trained network.
    history_ : dict of list
        Per-epoch ``loss``, ``accuracy`` and, with a validation set,
        ``val_loss`` and ``val_accuracy``.
    n_epochs_ : int
        Epochs actually trained (passes over the training set).
    max_epochs_ : int
        The most epochs (passes) the last ``fit`` could train: ``epochs``,
        stretched by ``min_epoch_samples`` on a small training set.
    n_iter_no_change_ : int
        Early stopping's patience in that ``fit``, in passes:
        ``n_iter_no_change``, stretched alike.
    best_epoch_ : int or None
        1-based epoch whose weights were kept by early stopping.
    random_seed_ : int
        The seed derived from ``random_state`` for this fit.

    See Also
    --------
    sklenet.LeNetEnsembleClassifier : soft-voting ensemble of LeNets.

    Examples
    --------
    >>> from sklenet import LeNetClassifier
    >>> from sklenet.datasets import load_sample_digits
    >>> X, y = load_sample_digits(return_X_y=True)
    >>> clf = LeNetClassifier(epochs=1, early_stopping=False, random_state=0)
    >>> clf.fit(X[::10], y[::10]).predict(X[:3]).shape
    (3,)
    >>> clf.model_.count_params()
    15626
    """

    def __init__(
        self,
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
        test_time_augmentation: int = 0,
        image_shape: tuple[int, ...] | list[int] | None = None,
        learning_rate: float = 1e-3,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        learning_rate_schedule: Literal["plateau", "cosine"] | None = None,
        label_smoothing: float = 0.0,
        batch_size: int = 32,
        steps_per_execution: int | Literal["auto"] = "auto",
        epochs: int = 100,
        early_stopping: bool = True,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 5,
        min_epoch_samples: int | None = None,
        class_weight: dict[Any, float] | Literal["balanced"] | None = None,
        predict_batch_size: int = 1024,
        callbacks: list[keras.callbacks.Callback] | None = None,
        random_state: RandomState = None,
        verbose: int = 0,
        **kwargs: Any,
    ):
        self.conv1_filters = conv1_filters
        self.conv1_kernel_size = conv1_kernel_size
        self.conv2_filters = conv2_filters
        self.conv2_kernel_size = conv2_kernel_size
        self.conv_activation = conv_activation
        self.conv_l2 = conv_l2
        self.pool1_size = pool1_size
        self.pool2_size = pool2_size
        self.dense1_units = dense1_units
        self.dense2_units = dense2_units
        self.dense_activation = dense_activation
        self.dense_l2 = dense_l2
        self.pooling = pooling
        self.pool_strides = pool_strides
        self.global_pooling = global_pooling
        self.batch_normalization = batch_normalization
        self.dropout = dropout
        self.rotation_range = rotation_range
        self.shift_range = shift_range
        self.zoom_range = zoom_range
        self.test_time_augmentation = test_time_augmentation
        self.image_shape = image_shape
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.learning_rate_schedule = learning_rate_schedule
        self.label_smoothing = label_smoothing
        self.batch_size = batch_size
        self.steps_per_execution = steps_per_execution
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.min_epoch_samples = min_epoch_samples
        self.class_weight = class_weight
        self.predict_batch_size = predict_batch_size
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose
        self.__dict__.update(kwargs)

    # scikeras reads these; LeNetClassifier builds and compiles its own model.
    model = None
    build_fn = None
    warm_start = False
    loss = "sparse_categorical_crossentropy"
    shuffle = True

    # ------------------------------------------------------------- initialise
    @property
    def feature_encoder(self):
        return ImageEncoder(self.image_shape_, self.input_scale_)

    def initialize(self, X, y):
        """Validate ``(X, y)`` and build the untrained network, without fitting.

        Returns
        -------
        self : LeNetClassifier
        """
        self._validate_params()
        self.classes_ = None
        self._initialize(*self._validate_data(X, y, reset=True))
        return self

    def _initialize(self, X, y=None):
        """Set fitted metadata and build the network (parameters, X and y
        already valid)."""
        self.random_seed_ = derive_seed(self.random_state)
        self._random_state = self.random_seed_
        self._fit_image_shape(X)
        self.input_scale_ = pixel_scale(X.dtype)
        self.input_dtype_ = X.dtype
        self.target_encoder_ = self.target_encoder.fit(y)
        vars(self).update(self.target_encoder_.get_metadata())
        self._check_classes(self.classes_)
        self.feature_encoder_ = self.feature_encoder.fit(X)
        self.model_ = self._build_keras_model()
        self._initialize_callbacks()
        return X, y

    # -------------------------------------------------------------- the model
    def _keras_build_fn(self):
        hyperparameters = {name: getattr(self, name) for name in NETWORK_PARAMS}
        model = build_lenet(self.image_shape_, self.n_classes_,
                            seed=self.random_seed_, **hyperparameters)
        model.compile(**self._get_compile_kwargs())
        return model

    def _get_compile_kwargs(self):
        # Label smoothing needs one-hot targets (_keras_targets).
        loss = (
            keras.losses.CategoricalCrossentropy(label_smoothing=self.label_smoothing)
            if self.label_smoothing else self.loss
        )
        return {"optimizer": self._optimizer(), "loss": loss, "metrics": ["accuracy"]}

    def _keras_targets(self, y):
        """Encoded labels as the loss takes them: one-hot with label smoothing."""
        if self.label_smoothing:
            return keras.utils.to_categorical(y, self.n_classes_)
        return y

    # -------------------------------------------------------------------- fit
    @fit_context(prefer_skip_nested_validation=True)
    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
        validation_data: tuple[ArrayLike, ArrayLike] | None = None,
    ) -> Self:
        """Train the LeNet on ``(X, y)``.

        Every input check runs before any training.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_pixels), (n, H, W) or (n, H, W, C)
            Training images.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights (multiplied by ``class_weight``).
        validation_data : tuple (X_val, y_val), default=None
            A fixed validation set, as in the study: monitored every epoch
            and used by early stopping instead of an internal split.

        Returns
        -------
        self : LeNetClassifier
        """
        self._fit(X, y, sample_weight=sample_weight, warm_start=False,
                  epochs=self.epochs, initial_epoch=0,
                  validation_data=validation_data)
        return self

    @fit_context(prefer_skip_nested_validation=True)
    def partial_fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        classes: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> Self:
        """Train one more epoch on ``(X, y)``, keeping the current weights.

        The first call builds the network; pass every label in ``classes``
        then if ``y`` does not hold them all. No early stopping.

        Returns
        -------
        self : LeNetClassifier
        """
        self._fit(X, y, sample_weight=sample_weight, warm_start=True, epochs=1,
                  initial_epoch=self.current_epoch, classes=classes)
        return self

    def _fit(self, X, y, sample_weight, warm_start, epochs, initial_epoch,
             validation_data=None, classes=None, **kwargs):
        resume = warm_start and self.initialized_
        X, y = self._validate_data(X, y, reset=not resume)
        if validation_data is not None:
            known = self.classes_ if resume else np.unique(y)
            validation_data = self._check_validation_data(validation_data, known)
        if not resume:
            self.classes_ = None if classes is None else np.asarray(classes)
            X, y = self._initialize(X, y)
        given_weight = self._checked_sample_weight(X, sample_weight)
        # What scikit-learn's callbacks are told the fit was given.
        fit_data = {"X": X, "y": y, "sample_weight": given_weight}
        sample_weight = self._combined_sample_weight(y, given_weight)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X,
                                                 dtype=keras.backend.floatx())
        y = self.target_encoder_.transform(y)
        X = self.feature_encoder_.transform(X)
        if validation_data is not None:
            X_val, y_val = validation_data
            validation_data = (self.feature_encoder_.transform(X_val),
                               self.target_encoder_.transform(y_val))
        elif self.early_stopping and epochs > 1:
            X, y, sample_weight, validation_data = self._split_validation(
                X, y, sample_weight
            )
        if sample_weight is not None:
            # Only after the stratified split: a class whose rows all weigh
            # 0 is still a class of both sides (sklearn's rule: a zero
            # weight leaves the loss, never classes_).
            X, y, sample_weight = drop_zero_weights(X, y, sample_weight)
        self._fit_keras_model(X, y, sample_weight=sample_weight,
                              warm_start=warm_start, epochs=epochs,
                              initial_epoch=initial_epoch,
                              validation_data=validation_data, fit_data=fit_data,
                              **kwargs)

    def _resolve_steps_per_execution(self, n_samples, epochs):
        if self.steps_per_execution != "auto":
            return int(self.steps_per_execution)
        n_steps = epochs * math.ceil(n_samples / self.batch_size)
        return _AUTO_STEPS_PER_EXECUTION if n_steps >= _AUTO_MIN_TRAIN_STEPS else 1

    def _split_validation(self, X, y, sample_weight):
        train, val = self._early_stopping_holdout(y, self.n_classes_,
                                                  self.random_seed_)
        weight_train = None if sample_weight is None else sample_weight[train]
        return X[train], y[train], weight_train, (X[val], y[val])

    def fit_schedule(self, n_samples: int) -> "FitSchedule":
        """How :meth:`fit` on ``n_samples`` training images would train.

        ``epochs`` and ``n_iter_no_change`` count epochs of at least
        ``min_epoch_samples`` images; a fit on fewer images runs them as
        more passes. This is the rule :meth:`fit` follows (its
        ``max_epochs_`` and ``n_iter_no_change_``), for a caller that plans
        or times trainings before running them. ``n_samples`` counts the
        images trained on, after any ``validation_fraction`` is held out.

        Parameters
        ----------
        n_samples : int
            Number of training images.

        Returns
        -------
        FitSchedule
            ``(max_epochs, n_iter_no_change, steps_per_execution)``: the
            most passes, early stopping's patience in passes, and the
            batches per call into TensorFlow (``steps_per_execution="auto"``
            resolved).

        Examples
        --------
        >>> LeNetClassifier(epochs=5, min_epoch_samples=3_000).fit_schedule(1_000)
        FitSchedule(max_epochs=15, n_iter_no_change=15, steps_per_execution=32)
        """
        max_epochs, patience = (
            stretched_epochs(count, self.min_epoch_samples, n_samples)
            for count in (self.epochs, self.n_iter_no_change))
        return FitSchedule(max_epochs, patience,
                           self._resolve_steps_per_execution(n_samples, max_epochs))

    def _schedule_callbacks(self, validated, max_epochs, patience):
        """The callbacks of ``learning_rate_schedule``."""
        if self.learning_rate_schedule == "cosine":
            return [CosineAnnealing(self.learning_rate, max_epochs)]
        if self.learning_rate_schedule == "plateau":
            # Patience below early stopping's, so that a lower rate gets a
            # chance before training stops.
            return [keras.callbacks.ReduceLROnPlateau(
                monitor="val_accuracy" if validated else "accuracy", mode="max",
                factor=0.5, patience=max(1, patience // 2))]
        return []

    def _fit_keras_model(self, X, y, sample_weight, warm_start, epochs,
                         initial_epoch, *, fit_data, validation_data=None, **kwargs):
        fit_args = route_params(
            self.get_params(), destination="fit", pass_filter=set(), strict=True
        )
        fit_args = {k: v for k, v in fit_args.items() if not k.startswith("callbacks")}
        callbacks = list(self._fit_callbacks)
        if warm_start:
            # partial_fit trains one pass whatever min_epoch_samples says; a
            # cosine schedule spans ``epochs`` of its calls.
            self.max_epochs_ = self.epochs
            self.n_iter_no_change_ = self.n_iter_no_change
        else:
            self.max_epochs_, self.n_iter_no_change_, _ = self.fit_schedule(len(X))
            epochs = self.max_epochs_
        stopper = None
        if validation_data is not None and self.early_stopping:
            stopper = keras.callbacks.EarlyStopping(
                monitor="val_accuracy",
                patience=self.n_iter_no_change_,
                restore_best_weights=True,
            )
            callbacks.append(stopper)
        callbacks += self._schedule_callbacks(validation_data is not None,
                                              self.max_epochs_, self.n_iter_no_change_)
        # scikit-learn's callbacks: the fit is a task, each epoch a subtask.
        task = begin_fit_task(self, max_subtasks=epochs,
                              task_name="partial_fit" if warm_start else "fit",
                              **fit_data)
        if task is not None and has_callbacks(self):
            # First, so that an epoch ends before a later callback (a pruner)
            # may end the training.
            callbacks.insert(0, EpochTasks(task, self, **fit_data))
        if validation_data is not None:
            validation_data = (validation_data[0],
                               self._keras_targets(validation_data[1]))
        fit_args.update(
            batch_size=self.batch_size,
            epochs=initial_epoch + epochs,
            initial_epoch=initial_epoch,
            verbose=self.verbose,
            sample_weight=sample_weight,
            validation_data=validation_data,
            callbacks=callbacks,
            **kwargs,
        )
        self.model_.steps_per_execution = self._resolve_steps_per_execution(
            len(X), epochs
        )
        try:
            with self._training_context():
                hist = self.model_.fit(x=X, y=self._keras_targets(y), **fit_args)
        finally:
            # predict keeps one batch per call (its batches are large).
            self.model_.steps_per_execution = 1
        # The traced train/test steps hold ~15 MB per model; a later fit
        # retraces them in well under a second.
        self.model_.train_function = self.model_.test_function = None
        self._record_history(
            hist.history,
            best_epoch=(stopper.best_epoch + 1 + initial_epoch
                        if stopper is not None and stopper.best_weights is not None
                        else None),
            extend=warm_start and initial_epoch > 0,
        )
        if not np.isfinite(self.history_["loss"][-1]):
            raise ValueError(
                f"Training diverged: the loss is {self.history_['loss'][-1]} after "
                f"epoch {self.n_epochs_}. Lower learning_rate or check X's scaling."
            )
        end_fit_task(task, self, **fit_data)

    def _record_history(self, history, best_epoch, extend=False):
        """Set ``history_``, ``n_epochs_`` and ``best_epoch_`` from a Keras
        history (``extend``: after the epochs already in ``history_``)."""
        merged = {key: list(values) for key, values in
                  (getattr(self, "history_", {}) if extend else {}).items()}
        for key, values in history.items():
            if key != "compile_metrics":
                merged.setdefault(key, []).extend(float(v) for v in values)
        self.history_ = merged
        self.n_epochs_ = len(merged["loss"])
        self.best_epoch_ = best_epoch

    def _fit_snapshot(self, X, y, weights, history):
        """Become one member of a snapshot ensemble, which trains once for all
        its members: the network built for ``(X, y)`` takes ``weights`` (its
        weights at the end of one cycle), ``history`` is that cycle's.

        Returns
        -------
        self : LeNetClassifier
        """
        self.initialize(X, y)
        self.model_.set_weights(weights)
        self._record_history(history, best_epoch=None)
        # A cycle always runs to its end (no early stopping).
        self.max_epochs_, self.n_iter_no_change_ = self.n_epochs_, self.n_iter_no_change
        return self

    # ---------------------------------------------------------------- predict
    def _predict_raw(self, X, **kwargs):
        return self._predict_images(X, self.test_time_augmentation, **kwargs)

    def _predict_images(self, X, n_copies, **kwargs):
        """Probabilities of the images X, averaged with those of ``n_copies``
        augmented copies of them (test-time augmentation; 0: none)."""
        check_is_fitted(self, "model_")
        if not isinstance(n_copies, Integral) or isinstance(n_copies, bool) or (
                n_copies < 0):
            # set_params after fit is not validated by fit.
            raise ValueError(f"test_time_augmentation={n_copies!r} must be an int "
                             ">= 0 (the number of augmented copies; 0: none).")
        X, _ = self._validate_data(X, reset=False)
        augment = self._test_time_augmenter(n_copies) if n_copies else None
        predict_args = route_params(
            self.get_params(), destination="predict", pass_filter=set(), strict=True
        )
        predict_args = {
            "batch_size": self.predict_batch_size,
            "verbose": 0,
            **{k: v for k, v in predict_args.items() if not k.startswith("callbacks")},
            **kwargs,
        }

        def predict(images):
            return self.model_.predict(images, callbacks=self._predict_callbacks,
                                       **predict_args)

        # Scaled float32 images exist for one chunk at a time: peak memory
        # stays flat in the number of images instead of growing ~12 bytes per
        # pixel (bench/bench_memory.py).
        chunk = predict_args["batch_size"] * _PREDICT_CHUNK_BATCHES
        parts = []
        for start in range(0, len(X), chunk):
            images = self.feature_encoder_.transform(X[start:start + chunk])
            proba = predict(images)
            for _ in range(n_copies):
                # In inference mode the model's own augmentation is the
                # identity, so the copy goes through the rest of it unchanged.
                proba += predict(np.asarray(augment(images, training=True)))
            parts.append(proba / (1 + n_copies))
        return np.concatenate(parts)

    def _test_time_augmenter(self, n_copies):
        """A fresh copy of the model's augmentation layers.

        Fresh, so that its random generators start from the seeds the fit
        gave them (derived from ``random_state``): every call draws the same
        copies, and neither the model's generators nor any global random
        state move.
        """
        try:
            layer = self.model_.get_layer(AUGMENTATION_LAYER)
        except ValueError:
            raise ValueError(
                f"test_time_augmentation={n_copies} draws augmented copies with "
                "the model's augmentation layers, but this "
                "model was fitted without augmentation (rotation_range, "
                "shift_range and zoom_range all 0). Set "
                "test_time_augmentation=0."
            ) from None
        return type(layer).from_config(layer.get_config())

    # ------------------------------------------------------------ persistence
    def __copy__(self):
        """A shallow copy that shares ``model_``, as ``copy.copy`` promises
        (without it, copying would go through pickling's ``__getstate__``,
        which writes the network out and reads it back). scikit-learn's
        callbacks copy the estimator at every epoch's end to predict with
        that epoch's weights."""
        shallow = type(self).__new__(type(self))
        vars(shallow).update(vars(self))
        return shallow

    def _get_persistent_state(self):
        """Fitted state for :func:`sklenet.save`: JSON-able attributes + models."""
        check_is_fitted(self, "model_")
        attributes = {
            "classes": self.classes_.tolist(),
            "classes_dtype": self.classes_.dtype.str,
            **self._input_attributes(),
            "image_shape": list(self.image_shape_),
            "input_scale": float(self.input_scale_),
            "input_dtype": self.input_dtype_.str,
            "history": self.history_,
            "n_epochs": int(self.n_epochs_),
            "max_epochs": int(self.max_epochs_),
            "n_iter_no_change": int(self.n_iter_no_change_),
            "best_epoch": self.best_epoch_,
            "random_seed": int(self.random_seed_),
        }
        return attributes, {"model": self.model_}

    @classmethod
    def _from_persistent_state(cls, params, attributes, models):
        """Inverse of :meth:`_get_persistent_state` (used by :func:`sklenet.load`)."""
        est = cls(**params)
        classes = np.asarray(attributes["classes"], dtype=_stored_dtype(
            attributes["classes_dtype"], "classes_dtype", kinds="biufUO"))
        est._restore_input_attributes(attributes)
        est.image_shape_ = tuple(attributes["image_shape"])
        est.input_scale_ = attributes["input_scale"]
        # Archives written before input_dtype_ existed: the scaling's dtype.
        est.input_dtype_ = _stored_dtype(attributes.get(
            "input_dtype", "uint8" if est.input_scale_ != 1 else "float32"),
            "input_dtype", kinds="biuf")
        est.history_ = attributes["history"]
        est.n_epochs_ = attributes["n_epochs"]
        # Archives written before min_epoch_samples: the parameters' counts.
        est.max_epochs_ = attributes.get("max_epochs", est.epochs)
        est.n_iter_no_change_ = attributes.get("n_iter_no_change", est.n_iter_no_change)
        est.best_epoch_ = attributes["best_epoch"]
        est.random_seed_ = est._random_state = attributes["random_seed"]
        est.classes_ = None
        est.target_encoder_ = est.target_encoder.fit(classes)
        vars(est).update(est.target_encoder_.get_metadata())
        est.feature_encoder_ = est.feature_encoder.fit(None)
        est.model_ = models["model"]
        est._initialize_callbacks()
        return est

    def score(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> float:
        """Accuracy of ``predict(X)`` against ``y``, as in sklearn."""
        return accuracy_score(y, self.predict(X), sample_weight=sample_weight)

    # ---- persistence ----
    def _check_loaded_state(self):
        """Refuse fitted attributes that contradict ``model_``.

        Called by :func:`sklenet.load` once the attributes are restored: an
        archive's hashes prove nothing about a crafted file, and a LeNet whose
        ``classes_`` do not match its output units predicts garbage without
        an error. Raises a ValueError naming the first attribute that
        disagrees.
        """
        shape, n_features = self.image_shape_, self.n_features_in_
        # Sizes first, so that no product below multiplies strings or lists.
        if not (isinstance(shape, tuple)
                and all(type(s) is int and s > 0 for s in shape)):
            raise ValueError(
                f"image_shape_={shape!r} is not a tuple of positive ints")
        self._check_loaded_input()
        if math.prod(shape) != n_features:
            raise ValueError(f"image_shape_={shape} holds {math.prod(shape)} pixels, "
                             f"n_features_in_ is {n_features}")
        scale = self.input_scale_
        if not (isinstance(scale, float | int) and 0 < scale < math.inf):
            raise ValueError(f"input_scale_={scale!r} is not a positive number")
        inputs = [tuple(tensor.shape[1:]) for tensor in self.model_.inputs or ()]
        if inputs != [shape]:
            raise ValueError(f"model_ takes images of shape {inputs}, image_shape_ "
                             f"is {shape}")
        outputs = [tuple(tensor.shape[1:]) for tensor in self.model_.outputs or ()]
        if np.ndim(self.classes_) != 1:
            raise ValueError("classes_ is not a list of labels")
        if outputs != [(len(self.classes_),)]:
            raise ValueError(f"model_ outputs {outputs}, one unit per class, but "
                             f"classes_ holds {len(self.classes_)} classes")


# A class label of up to 1,024 characters: wider stored dtypes are refused
# before NumPy allocates them (a crafted archive's "<U100000000" would take
# gigabytes per class).
_MAX_STORED_ITEMSIZE = 4 * 1024


def _stored_dtype(spelling, what, *, kinds):
    """The dtype an archive declares as ``what``, refused unless it is of one
    of ``kinds`` (NumPy's kind codes) and at most ``_MAX_STORED_ITEMSIZE``
    bytes per item."""
    try:
        dtype = np.dtype(spelling) if isinstance(spelling, str) else None
    except TypeError:
        dtype = None
    if (dtype is None or dtype.kind not in kinds
            or dtype.itemsize > _MAX_STORED_ITEMSIZE):
        raise ValueError(
            f"{what} {shorten(spelling)} is not a dtype LeNetClassifier "
            f"saves (kinds {', '.join(kinds)}, at most {_MAX_STORED_ITEMSIZE} "
            "bytes per item)")
    return dtype
