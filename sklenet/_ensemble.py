"""LeNetEnsembleClassifier: soft voting over independent or snapshot LeNets."""

import os
from numbers import Integral
from typing import Any, Literal, Self

import keras
import numpy as np
import tensorflow as tf
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted

from ._base import BaseLeNet, _fill_docstring, spawn_seeds, stretched_epochs
from ._callbacks import SnapshotCycles
from ._classifier import LeNetClassifier
from ._sklearn_callbacks import begin_fit_task, end_fit_task, fit_subtask
from ._typing import Activation, ArrayLike, NDArray, RandomState, fit_context

# Parameters of the ensemble itself; every other parameter goes to the members.
_ENSEMBLE_PARAMS = ("n_estimators", "n_jobs", "ensemble")


@_fill_docstring
class LeNetEnsembleClassifier(ClassifierMixin, BaseLeNet, BaseEstimator):
    """Soft-voting ensemble of LeNets, the study's best model.

    ``n_estimators`` :class:`LeNetClassifier` members share every
    hyperparameter of this estimator (same names and defaults as
    :class:`LeNetClassifier`, so one search space serves both);
    :meth:`predict_proba` is the mean of their probabilities and
    :meth:`predict` its argmax. The study's ensemble is
    ``LeNetEnsembleClassifier(**OPTIMIZED_PARAMS)``: 10 members trained
    independently from different seeds.

    ``ensemble="snapshot"`` trains once instead (Huang et al. 2017, "Snapshot
    Ensembles: Train 1, get M for free"): the ``epochs`` are split into
    ``n_estimators`` equal cycles over which the learning rate follows a
    cosine from ``learning_rate`` down to 0, restarting at every cycle
    (Keras' ``CosineDecayRestarts``, updated every batch); the weights at the
    end of each cycle are one member. Snapshot training always runs all
    ``epochs``: early stopping would cut the cycles, so ``early_stopping``,
    ``validation_fraction`` and ``n_iter_no_change`` apply to independent
    members only, and the whole ``X`` is trained on. ``validation_data`` is
    still evaluated after every epoch (in the members' ``history_``).

    $input

    Parameters
    ----------
    $hyperparameters
    n_estimators : int, default=10
        Number of members.
    ensemble : {"independent", "snapshot"}, default="independent"
        How the members are trained: ``n_estimators`` trainings from distinct
        seeds, each with its own early stopping (and, without
        ``validation_data``, its own validation split), or the snapshots of
        one cyclic training (``epochs`` must then be a multiple of
        ``n_estimators``).
    n_jobs : int or None, default=None
        Number of members trained at once in joblib worker processes
        (independent members only). None means 1 unless in a
        ``joblib.parallel_config`` context; -1 means all cores. Any joblib
        backend works, e.g. a Dask cluster with
        ``joblib.parallel_config("dask")``. In a worker process TensorFlow
        uses the worker's share of the cores, ``OMP_NUM_THREADS`` as the
        backend sets it (loky: cores // ``n_jobs``, or
        ``inner_max_num_threads``; Dask: 1), so workers do not oversubscribe
        the machine.
    random_state : int, RandomState instance or None, default=None
        Seeds the members: their seeds (``random_seeds_``) are drawn from a
        ``numpy.random.SeedSequence`` of the seed derived from it. With an
        int, two fits give identical predictions, whatever ``n_jobs``.
    $verbose_and_kwargs

    Attributes
    ----------
    estimators_ : list of LeNetClassifier
        The fitted members, each with its own ``history_`` (a snapshot member
        holds the epochs of its own cycle), ``model_`` and ``random_seed_``.
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    n_features_in_ : int
        Number of features (pixels per image) seen during fit.
    feature_names_in_ : ndarray of str
        Column names of a DataFrame X, when it had string column names.
    image_shape_ : tuple of int
        ``(H, W, C)`` the members were built for.
    random_seeds_ : ndarray of shape (n_estimators,)
        Each member's seed (for snapshots, the one training's seed, repeated).

    See Also
    --------
    sklenet.LeNetClassifier : one LeNet.

    Examples
    --------
    >>> from sklenet import LeNetEnsembleClassifier
    >>> from sklenet.datasets import load_sample_digits
    >>> X, y = load_sample_digits(return_X_y=True)
    >>> ensemble = LeNetEnsembleClassifier(
    ...     n_estimators=2, epochs=1, early_stopping=False, random_state=0
    ... )
    >>> ensemble.fit(X[::10], y[::10]).predict_proba(X[:3]).shape
    (3, 10)
    >>> len(ensemble.estimators_)
    2
    """

    _parameter_constraints = {
        **BaseLeNet._parameter_constraints,
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "ensemble": [StrOptions({"independent", "snapshot"})],
    }

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
        n_estimators: int = 10,
        ensemble: Literal["independent", "snapshot"] = "independent",
        n_jobs: int | None = None,
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
        self.n_estimators = n_estimators
        self.ensemble = ensemble
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.__dict__.update(kwargs)

    # ------------------------------------------------------------------ params
    def _get_param_names(self):
        # Every public attribute __init__ set, **kwargs included, as scikeras
        # does for LeNetClassifier: routed parameters (optimizer__amsgrad=True,
        # ...) are parameters too, passed on to the members, which check them.
        return sorted(
            key for key in vars(self)
            if not key.startswith("_") and not key.endswith("_")
        )

    def set_params(self, **params):
        routed = {key: params.pop(key) for key in list(params) if "__" in key}
        vars(self).update(routed)
        return super().set_params(**params)

    def _member(self, seed):
        """An unfitted member: this estimator's hyperparameters and ``seed``."""
        params = {
            key: value for key, value in self.get_params(deep=False).items()
            if key not in _ENSEMBLE_PARAMS
        }
        return LeNetClassifier(
            **{**params, "image_shape": self.image_shape_, "random_state": seed}
        )

    # --------------------------------------------------------------------- fit
    @fit_context(prefer_skip_nested_validation=True)
    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
        validation_data: tuple[ArrayLike, ArrayLike] | None = None,
    ) -> Self:
        """Train the members on ``(X, y)``.

        Every input check runs once, before any member trains. If a member
        fails, the fit fails and the estimator is left unfitted.

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
            and, for independent members, used by early stopping instead of
            an internal split.

        Returns
        -------
        self : LeNetEnsembleClassifier

        Raises
        ------
        RuntimeError
            If a member's training fails (for instance diverges); the message
            names the member and its seed, and the member's error is chained.
        """
        try:
            self._fit(X, y, sample_weight, validation_data)
        except BaseException:
            # No partial ensemble, nor the previous fit, may look fitted.
            for name in [key for key in vars(self) if key.endswith("_")]:
                delattr(self, name)
            raise
        return self

    def _fit(self, X, y, sample_weight, validation_data):
        X, y, sample_weight, validation_data, seeds = self._checked_input(
            X, y, sample_weight, validation_data)
        snapshot = self.ensemble == "snapshot"
        # scikit-learn's callbacks: a subtask per member (in any order), or
        # the one training of the snapshots.
        task = begin_fit_task(self, max_subtasks=1 if snapshot else len(seeds),
                              sequential_subtasks=snapshot, X=X, y=y,
                              sample_weight=sample_weight)
        if snapshot:
            seeds = seeds[:1] * self.n_estimators
            members = self._fit_snapshots(X, y, sample_weight, validation_data,
                                          seeds[0], task)
        else:
            parent = os.getpid()
            # Created here, not in the workers, so that they join this tree.
            contexts = ([None] * len(seeds) if task is None else
                        [task.subcontext(task_name="member", task_id=index)
                         for index in range(len(seeds))])
            caller = None if task is None else self
            members = Parallel(n_jobs=self.n_jobs)(
                delayed(_fit_member)(*job, parent, context, caller)
                for job, context in zip(
                    self._member_jobs(X, y, sample_weight, validation_data, seeds),
                    contexts)
            )
        self.estimators_ = members
        self.classes_ = members[0].classes_
        self.random_seeds_ = np.asarray(seeds)
        end_fit_task(task, self, X, y, sample_weight)

    def _checked_input(self, X, y, sample_weight, validation_data):
        """Every input check of :meth:`fit`, once, before any member trains;
        sets the input attributes (``n_features_in_``, ``image_shape_``) and
        returns the checked ``X, y, sample_weight, validation_data`` and the
        members' seeds."""
        # The members' own checks, once, on this estimator's parameters: bad
        # input fails here, not in every member (or worker) at once.
        if y is None:  # _validate_data takes y=None for "X only"
            raise ValueError(f"{type(self).__name__} requires y to be passed, but "
                             "the target y is None.")
        X, y = self._validate_data(X, y, reset=True)
        classes = np.unique(y)
        if validation_data is not None:
            validation_data = self._check_validation_data(validation_data, classes)
        sample_weight = self._checked_sample_weight(X, sample_weight)
        self._fit_image_shape(X)
        self._check_classes(classes)
        # Each member combines the weights itself: these are only checked.
        self._combined_sample_weight(y, sample_weight)
        self._optimizer()  # refuses unknown optimizer__ arguments
        if (self.ensemble == "independent" and self.early_stopping
                and self.epochs > 1 and validation_data is None):
            # A check only: each member draws its own split from its seed.
            self._early_stopping_holdout(y, len(classes))
        seeds = spawn_seeds(self.random_state, self.n_estimators)
        return X, y, sample_weight, validation_data, seeds

    def _member_jobs(self, X, y, sample_weight, validation_data, seeds):
        """The arguments of each independent member's :func:`_fit_member`,
        but the parent process id."""
        return [(self._member(seed), f"member {index} (random_state={seed})",
                 X, y, sample_weight, validation_data)
                for index, seed in enumerate(seeds)]

    # ------------------------------------------- members trained one by one
    # For a caller that trains each member elsewhere (sklenet reproduce
    # trains each as a task and keeps it as soon as it is trained): member
    # ``index`` of a fit on the same data, then the ensemble assembled from
    # all of them, identical to fit's.
    def _independent_member_jobs(self, X, y, sample_weight, validation_data):
        self._validate_params()
        if self.ensemble != "independent":
            raise ValueError(
                f"ensemble={self.ensemble!r}: only independent members train "
                "one by one (snapshots are one training).")
        return self._member_jobs(*self._checked_input(X, y, sample_weight,
                                                      validation_data))

    def fit_member(
        self,
        index: int,
        X: ArrayLike,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
        validation_data: tuple[ArrayLike, ArrayLike] | None = None,
    ) -> LeNetClassifier:
        """Train member ``index`` of ``fit(X, y, ...)`` alone.

        The member is the one :meth:`fit` would train with the same
        arguments (its seed, data and checks), so that the members of one
        ensemble can train anywhere, one by one, and be put together by
        :meth:`fit_from_members`. This estimator stays unfitted. Only
        independent members train alone (``ensemble="independent"``).

        Parameters
        ----------
        index : int
            Which member, from 0 to ``n_estimators - 1``.
        X, y, sample_weight, validation_data
            As in :meth:`fit`.

        Returns
        -------
        member : LeNetClassifier
            The fitted member.

        Raises
        ------
        ValueError
            If ``index`` is not a member's, or ``ensemble="snapshot"``.
        """
        jobs = self._independent_member_jobs(X, y, sample_weight, validation_data)
        if not 0 <= index < len(jobs):
            raise ValueError(f"index={index!r}: the ensemble has members 0 to "
                             f"{len(jobs) - 1}.")
        member, name, X, y, sample_weight, validation_data = jobs[index]
        return _fit_member(member, name, X, y, sample_weight, validation_data,
                           os.getpid())

    def fit_from_members(
        self,
        members: list[LeNetClassifier],
        X: ArrayLike,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
        validation_data: tuple[ArrayLike, ArrayLike] | None = None,
    ) -> Self:
        """Fit this ensemble from members trained by :meth:`fit_member`.

        The result is what :meth:`fit` on the same arguments would have
        trained; the members are checked to be fitted and to carry the seeds
        of this ensemble's members, in order.

        Parameters
        ----------
        members : list of LeNetClassifier
            ``fit_member(index, X, y, ...)`` for each index, in order.
        X, y, sample_weight, validation_data
            The arguments the members were trained with, as in :meth:`fit`.

        Returns
        -------
        self : LeNetEnsembleClassifier

        Raises
        ------
        ValueError
            If the members' ``random_state`` are not this ensemble's members'.
        """
        jobs = self._independent_member_jobs(X, y, sample_weight, validation_data)
        seeds = [job[0].random_state for job in jobs]
        theirs = [getattr(member, "random_state", None) for member in members]
        if theirs != seeds:
            raise ValueError(
                f"the members' random_state {theirs} are not this ensemble's "
                f"members' {seeds}: train them with fit_member.")
        for member in members:
            check_is_fitted(member)
        self.estimators_ = list(members)
        self.classes_ = members[0].classes_
        self.random_seeds_ = np.asarray(seeds)
        return self

    def _fit_snapshots(self, X, y, sample_weight, validation_data, seed,
                       task=None):
        """One cyclic training (the subtask of ``task``, the fit's callback
        task); each cycle's final weights become a member."""
        if self.epochs % self.n_estimators:
            raise ValueError(
                f"ensemble='snapshot' splits epochs={self.epochs} into "
                f"n_estimators={self.n_estimators} cycles of equal length: epochs "
                "must be a multiple of n_estimators."
            )
        # Cycles of epochs of at least min_epoch_samples images, in passes
        # over X (snapshot training trains on all of it).
        cycle = stretched_epochs(self.epochs // self.n_estimators,
                                 self.min_epoch_samples, len(X))
        snapshots = SnapshotCycles(self.learning_rate, cycle)
        trainer = self._member(seed).set_params(
            early_stopping=False, epochs=cycle * self.n_estimators,
            min_epoch_samples=None, callbacks=[*(self.callbacks or []), snapshots]
        )
        trainer = _fit_member(
            trainer, f"snapshot training (random_state={seed})", X, y,
            sample_weight, validation_data, os.getpid(),
            None if task is None else task.subcontext(task_name="snapshot-training"),
            self)
        return [
            self._member(seed)._fit_snapshot(X, y, weights, history={
                key: values[index * cycle:(index + 1) * cycle]
                for key, values in trainer.history_.items()
            })
            for index, weights in enumerate(snapshots.weights)
        ]

    # ----------------------------------------------------------------- predict
    def predict_proba(self, X: ArrayLike) -> NDArray[np.floating]:
        """Mean of the members' class probabilities (soft voting).

        With ``test_time_augmentation`` on, each member's probabilities are
        its own test-time-augmented ones, with this estimator's number of
        copies.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_pixels), (n, H, W) or (n, H, W, C)
            Images.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        X, _ = self._validate_data(X, reset=False)
        # This estimator's test_time_augmentation, which set_params may have
        # changed since the members were fitted.
        return soft_vote([
            member._predict_images(X, self.test_time_augmentation)
            for member in self.estimators_
        ])

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """The class of highest mean probability.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_pixels), (n, H, W) or (n, H, W, C)
            Images.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_is_fitted__(self):
        return hasattr(self, "estimators_")

    # ------------------------------------------------------------- persistence
    def _get_persistent_state(self):
        """Fitted state for :func:`sklenet.save`: attributes + one model per member."""
        check_is_fitted(self)
        states = [member._get_persistent_state() for member in self.estimators_]
        attributes = {
            **self._input_attributes(),
            "image_shape": list(self.image_shape_),
            "random_seeds": self.random_seeds_.tolist(),
            "members": [member_attributes for member_attributes, _ in states],
        }
        models = {
            f"member_{index}": models["model"]
            for index, (_, models) in enumerate(states)
        }
        return attributes, models

    @classmethod
    def _from_persistent_state(cls, params, attributes, models):
        """Inverse of :meth:`_get_persistent_state` (used by :func:`sklenet.load`)."""
        est = cls(**params)
        est.image_shape_ = tuple(attributes["image_shape"])
        est.estimators_ = [
            LeNetClassifier._from_persistent_state(
                est._member(seed).get_params(), member_attributes,
                {"model": models[f"member_{index}"]},
            )
            for index, (seed, member_attributes) in enumerate(
                zip(attributes["random_seeds"], attributes["members"], strict=True)
            )
        ]
        est.classes_ = est.estimators_[0].classes_
        est._restore_input_attributes(attributes)
        est.random_seeds_ = np.asarray(attributes["random_seeds"])
        return est

    # ---- persistence ----
    def _check_loaded_state(self):
        """Refuse fitted attributes that contradict the members' models.

        Called by :func:`sklenet.load` once the attributes are restored: as
        many members and ``random_seeds_`` as ``n_estimators``, each member
        consistent with its model (its own ``_check_loaded_state``) and with
        the ensemble's ``classes_``, ``image_shape_`` and ``n_features_in_``.
        Raises a ValueError naming the first attribute that disagrees.
        """
        members, seeds = self.estimators_, self.random_seeds_
        if not len(members) == len(seeds) == self.n_estimators:
            raise ValueError(f"n_estimators={self.n_estimators}, but it holds "
                             f"{len(members)} members and {len(seeds)} random_seeds_")
        self._check_loaded_input()
        for index, member in enumerate(members):
            try:
                member._check_loaded_state()
            except ValueError as exc:
                raise ValueError(f"estimators_[{index}].{exc}") from None
            for name in ("classes_", "image_shape_", "n_features_in_"):
                ours, theirs = getattr(self, name), getattr(member, name)
                if not np.array_equal(theirs, ours):
                    raise ValueError(f"estimators_[{index}].{name}={theirs!r} "
                                     f"differs from {name}={ours!r}")


def soft_vote(member_probabilities, ops=np):
    """Soft voting: the unweighted mean of the members' class probabilities.

    The one rule that combines an ensemble's members:
    :meth:`LeNetEnsembleClassifier.predict_proba`, the exported inference
    graph (:func:`sklenet.export`) and ``sklenet serve``'s Keras runtime all
    call it.

    Parameters
    ----------
    member_probabilities : sequence of arrays of shape (n_samples, n_classes)
        Each member's probabilities, in the members' order.
    ops : module, default=numpy
        The array functions to compute with (``stack`` and ``mean``): NumPy
        for arrays, ``keras.ops`` for the tensors of a Keras graph.

    Returns
    -------
    array of shape (n_samples, n_classes)

    Examples
    --------
    >>> soft_vote([np.array([[0.5, 0.5]]), np.array([[0.9, 0.1]])])
    array([[0.7, 0.3]])
    """
    return ops.mean(ops.stack(member_probabilities), axis=0)


def _fit_member(member, name, X, y, sample_weight, validation_data, parent_pid,
                context=None, caller=None):
    """Fit one member, in a joblib worker or in the calling process, as the
    task ``context`` of ``caller`` (the ensemble) for scikit-learn's
    callbacks (None: none)."""
    if os.getpid() != parent_pid:
        _share_cores()
    try:
        with fit_subtask(context, caller, member, X, y, sample_weight):
            member.fit(X, y, sample_weight=sample_weight,
                       validation_data=validation_data)
    except Exception as exc:
        raise RuntimeError(
            f"LeNetEnsembleClassifier {name} failed: {type(exc).__name__}: {exc}"
        ) from exc
    return member


def _share_cores():
    """Limit TensorFlow in a worker process to the worker's share of the cores.

    Process backends announce that share in ``OMP_NUM_THREADS`` (loky:
    cores // n_jobs, Dask: 1). TensorFlow fixes its thread pools at its first
    operation, so a worker that already trained keeps its first setting.
    """
    n_threads = int(os.environ.get("OMP_NUM_THREADS", 0))
    if n_threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(n_threads)
            tf.config.threading.set_inter_op_parallelism_threads(n_threads)
        except RuntimeError:  # TensorFlow is already running in this worker
            pass
