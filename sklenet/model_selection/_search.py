"""LeNetSearchCV: the study's Optuna search as a scikit-learn meta-estimator."""

import copy
import inspect
import os
import time
import warnings
from collections.abc import Callable, Iterable
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any, Literal, Self

import numpy as np
import optuna
from optuna.distributions import (
    CategoricalDistribution,
)
from optuna.trial import TrialState
from sklearn import get_config
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    clone,
    is_classifier,
)
from sklearn.exceptions import NotFittedError
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.metrics._scorer import _check_multimetric_scoring, _MultimetricScorer
from sklearn.model_selection import check_cv
from sklearn.utils import Bunch, _safe_indexing, get_tags
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
)
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    process_routing,
)
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_method_params,
    _check_sample_weight,
    _num_samples,
    check_is_fitted,
    indexable,
)

from .._base import BaseLeNet, DocLinkMixin, derive_seed, holdout_split
from .._checks import check_weights, validation_pair
from .._classifier import LeNetClassifier
from .._sklearn_callbacks import (
    CallbackSupport,
    begin_fit_task,
    end_fit_task,
    fit_subtask,
    subtask,
)
from .._typing import (
    ArrayLike,
    CVSplitter,
    NDArray,
    PathLike,
    RandomState,
    available_if,
    fit_context,
)
from ._cv_results import _cv_results
from ._objective import _SUGGEST, _Objective, _scores, _Split
from ._search_space import STUDY_SEARCH_SPACE
from ._storage import open_storage, optuna_verbosity

if TYPE_CHECKING:
    import pandas as pd

# Holdout (cv=None) without validation_data: LeNetClassifier's and sklearn's
# usual share, for estimators that have no validation_fraction of their own.
_DEFAULT_VALIDATION_FRACTION = 0.1
# Fixed, so that every fit and every worker on the same data scores its trials
# on the same validation set (sklearn's default k-fold split depends on the
# data only, too): trials of one study stay comparable.
_HOLDOUT_SEED = 0


# ---------------------------------------------------------------- checks
def _check_param_distributions(param_distributions, estimator):
    """name -> Optuna distribution, each name a parameter of ``estimator``."""
    space = STUDY_SEARCH_SPACE if param_distributions is None else param_distributions
    if not space:
        raise ValueError(
            "param_distributions is empty: give at least one parameter to tune, "
            "for example sklenet.STUDY_SEARCH_SPACE."
        )
    valid = estimator.get_params(deep=True)
    checked = {}
    for name, values in space.items():
        if name not in valid:
            raise ValueError(
                f"param_distributions has {name!r}, which is not a parameter of "
                f"{type(estimator).__name__}. Valid parameters: {sorted(valid)}."
            )
        if isinstance(values, (list, tuple)):
            try:
                values = CategoricalDistribution(values)
            except ValueError as exc:
                raise ValueError(f"param_distributions[{name!r}]: {exc}") from exc
        if type(values) not in _SUGGEST:
            raise TypeError(
                f"param_distributions[{name!r}] is {values!r}; use a list of "
                "choices or an Optuna distribution (IntDistribution, "
                "FloatDistribution, CategoricalDistribution)."
            )
        checked[name] = values
    return checked


def _check_data(estimator, X, y, validation_data):
    """Refuse data that every trial would fail on, before the study opens.

    Otherwise each trial would train on it, fail, and leave a FAIL record in
    a persistent storage. sklenet's estimators check with their own rules
    (image shapes, pixel types), on a copy. Other estimators are left to
    their trials, as sklearn's searches do: sklearn's ``allow_nan`` tag cannot
    tell, for instance, that a pipeline starting with an imputer takes NaN.
    """
    # Not hasattr(estimator, "_validate_data"): scikit-learn 1.6's
    # BaseEstimator has one too (deprecated), which refuses sparse X that
    # the estimator itself takes.
    if not isinstance(estimator, BaseLeNet):
        return
    checker = clone(estimator)
    checker._validate_data(X, y, reset=True)
    if validation_data is not None:
        checker._validate_data(*validation_pair(validation_data), reset=False)


def _check_fit_params(estimator, X, fit_params):
    """Refuse metadata that the estimator's ``fit`` cannot take, and invalid
    ``sample_weight``, before the study opens (else every trial fails)."""
    signature = inspect.signature(estimator.fit).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in signature.values())
    unknown = [name for name in fit_params if name not in signature]
    if unknown and not takes_any:
        takes = [name for name in signature if name not in ("X", "y")]
        raise ValueError(
            f"{type(estimator).__name__}.fit takes no {unknown}: fit's metadata "
            f"goes to the estimator, which takes {takes} (groups goes to the "
            "splitter)."
        )
    sample_weight = fit_params.get("sample_weight")
    if sample_weight is not None:
        _check_sample_weight(check_weights(sample_weight, "sample_weight"), X)


# -------------------------------------------------------------- estimator
def _estimator_has(attr):
    """available_if check: the refitted (or, before fit, the base) estimator
    has ``attr``."""

    def check(self):
        estimator = (self.best_estimator_ if hasattr(self, "best_estimator_")
                     else self._get_estimator())
        getattr(estimator, attr)
        return True

    return check


class LeNetSearchCV(DocLinkMixin, CallbackSupport, ClassifierMixin, MetaEstimatorMixin,
                    BaseEstimator):
    """Bayesian hyperparameter search with Optuna, pruning epoch by epoch.

    The study's tuning as a scikit-learn estimator: Optuna's TPE sampler
    proposes hyperparameters, each trial trains the estimator and reports its
    validation accuracy after every epoch, and Optuna's median pruner stops
    trials that fall below the median of earlier trials at the same epoch.
    The study can live in a database, so that a search can be resumed and
    run by several workers at once.

    Validation
        ``cv=None`` (the study's protocol) scores each trial on one holdout
        set: ``validation_data`` given to :meth:`fit`, else a stratified
        ``validation_fraction`` of ``(X, y)`` (the estimator's own parameter,
        0.1 if it has none; at least one sample per class), drawn with a
        fixed seed so that every fit and every worker on the same data uses
        the same validation set. An int or a CV splitter: k-fold
        cross-validation, the trial's score is the mean over the splits.
        Estimators whose ``fit`` takes ``validation_data``
        (:class:`LeNetClassifier`, ensembles) get the held-out part of each
        split as their validation set, which early stopping also monitors, as
        in the study; estimate the final accuracy on separate test data.

    Metadata
        ``fit(X, y, groups=..., sample_weight=...)`` routes metadata as
        ``GridSearchCV`` does, with sklearn's metadata routing or, without
        it, by sklearn's legacy rules (see :meth:`fit`). Zero weights count
        as absent from the loss; they never remove a class from
        ``classes_``.

    Pruning
        LeNet-style estimators (Keras ``callbacks``, ``epochs`` and
        ``fit(..., validation_data)``) report the validation accuracy after
        every epoch to the trial, which the pruner may stop mid-training.
        With k-fold CV the step reported is ``split_index * epochs + epoch``:
        a step means the same split and the same epoch in every trial (the
        splits are computed once per fit, identically for all trials), so the
        pruner compares like with like; Optuna's median pruner compares the
        best value a trial reached so far, so pruning mostly happens in the
        first split. Ensembles report the first member to reach each epoch (all
        members share the trial's hyperparameters). The intermediate values
        are validation accuracy whatever ``scoring`` is. Other sklearn
        estimators are tuned without pruning.

    Parameters
    ----------
    estimator : estimator object, default=None
        The estimator to tune, cloned for every fit; None means
        ``LeNetClassifier()``.
    param_distributions : dict, default=None
        Parameter name -> Optuna distribution (``IntDistribution``,
        ``FloatDistribution``, ``CategoricalDistribution``) or a list of
        choices. Names are parameters of ``estimator`` (nested ones with
        ``__``). None means :data:`sklenet.STUDY_SEARCH_SPACE`, the study's 12
        dimensions; :data:`sklenet.EXTENDED_SEARCH_SPACE` adds pooling type,
        head, learning rate, batch size and the training options
        (augmentation, dropout, batch normalisation, schedule, smoothing).
    n_trials : int or None, default=10
        Trials this call of :meth:`fit` runs (Optuna's meaning): ``k`` workers
        on one study run exactly ``k * n_trials`` trials, and a resumed study
        grows by ``n_trials``. None: until ``timeout``. The study ran 200.
        ``optuna.study.MaxTrialsCallback`` in ``callbacks`` caps the study's
        total instead (concurrent workers may each add one trial more).
    timeout : float or None, default=None
        Stop starting trials after this many seconds.
    cv : int, CV splitter, iterable or None, default=None
        None: one holdout split (see Validation). An int: (stratified) k-fold.
        Splitters that shuffle need a fixed ``random_state`` for trials of
        several fits to be comparable.
    scoring : str, callable, list, tuple, set, dict or None, default=None
        sklearn scorer of each split; None is the estimator's ``score``
        (accuracy for classifiers). Several metrics, as in ``GridSearchCV``:
        a list, tuple or set of scorer names, a dict name -> scorer, or a
        callable returning a dict name -> score; ``refit`` names the one
        Optuna optimises, and ``cv_results_`` has the columns of each.
    sampler : optuna.samplers.BaseSampler, default=None
        None: ``TPESampler(seed=...)`` seeded from ``random_state``.
    pruner : optuna.pruners.BasePruner, default=None
        None: ``MedianPruner()``. ``optuna.pruners.NopPruner()`` disables
        pruning.
    storage : None, str, path-like or optuna.storages.BaseStorage, default=None
        Where the study lives. None: in memory. A URL (``sqlite:///study.db``,
        ``postgresql://user:password@host/db``, any SQLAlchemy URL): an
        :class:`optuna.storages.RDBStorage` with a heartbeat, so that a trial
        whose worker died is marked failed after 2 minutes and retried once.
        A path without ``://``: an Optuna journal file, for several processes
        on one machine. A storage object is used as it is. A storage that
        cannot be opened is reported before any training.
    study_name : str or None, default=None
        The study to create or continue in ``storage``; None creates a new
        study with a unique name.
    n_jobs : int or None, default=None
        Trials run at once in threads of this process (Optuna's ``n_jobs``).
        Keras models train faster one at a time per process; to use more cores
        or machines start several workers on a shared ``storage``.
    refit : bool or str, default=True
        Refit ``estimator`` with ``best_params_`` on the whole of ``(X, y)``
        (with ``validation_data`` and the ``fit`` metadata when given) as
        ``best_estimator_``. With several metrics: the name of the metric
        that Optuna optimises and ``best_score_``, ``best_params_`` and
        ``best_estimator_`` follow. Unlike ``GridSearchCV``, several metrics
        need that name even without a refit (an Optuna study optimises one
        value), so ``refit=False`` and a callable are refused there; a
        multi-objective study is not supported.
    random_state : int, RandomState instance or None, default=None
        Seeds the default sampler, together with the number of trials the
        study already has: a resumed study proposes new parameters instead of
        its first trials again, and the same seed on the same study gives the
        same trials. Workers that start on a study at the same time should use
        different seeds (or None), or they propose the same first trials.
    show_progress_bar : bool, default=False
        Optuna's progress bar (tqdm) over the trials of this fit.
    callbacks : list of callable or None, default=None
        Optuna study callbacks ``f(study, frozen_trial)``, called after each
        trial, such as ``optuna.study.MaxTrialsCallback`` or
        optuna-integration's ``MLflowCallback`` (tracking). The trial's
        user attributes hold its score of every metric
        (``mean_test_<metric>``, ``split<k>_test_<metric>``), which the Optuna
        dashboard shows too.
    catch : tuple of exception types, default=()
        With ``error_score="raise"``: exceptions that fail the trial without
        stopping the search (Optuna's ``catch``).
    error_score : "raise" or float, default=np.nan
        Score of a trial whose training or scoring raises. NaN (the default)
        marks the trial failed and the search goes on, as does a NaN score;
        a number completes it with that score; "raise" stops the search
        unless the exception is in ``catch``. A trial whose parameter values
        the estimator refuses (``InvalidParameterError``, such as a negative
        ``learning_rate`` from ``param_distributions``) fails whatever the
        number: it never trained. The failure's reason is the trial's
        ``error`` user attribute.
    verbose : int, default=0
        0: Optuna logs warnings only; >= 1: a line per trial.

    Attributes
    ----------
    study_ : optuna.study.Study
        The study (live: trials other workers add later appear in it).
    best_trial_ : optuna.trial.FrozenTrial
        Best completed trial of the study when this fit ended (all fits and
        workers included). ``best_params_``, ``best_score_``, ``best_index_``
        and ``cv_results_`` are that same snapshot, consistent with
        ``best_estimator_``.
    best_params_ : dict
        Parameters of ``best_trial_``.
    best_score_ : float
        Score of ``best_trial_`` (the mean over the splits).
    best_index_ : int
        Row of ``best_trial_`` in ``cv_results_`` (its trial number).
    best_estimator_ : estimator
        ``estimator`` refitted with ``best_params_`` (only with refit=True).
    refit_time_ : float
        Seconds the refit took (only with refit=True).
    cv_results_ : dict of ndarray
        One entry per trial of the study, in trial order, in sklearn's layout
        (``pandas.DataFrame(search.cv_results_)``): ``params``,
        ``param_<name>`` (masked where a trial lacks it),
        ``split<k>_test_score``, ``mean_test_score``, ``std_test_score``,
        ``rank_test_score`` (pruned and failed trials: NaN score, ranked
        last; with several metrics one set of these per metric,
        ``mean_test_<metric>`` and so on), ``mean_fit_time``,
        ``std_fit_time``, ``mean_score_time``, ``std_score_time``, and
        Optuna's view: ``state`` ("COMPLETE", "PRUNED", "FAIL", ...),
        ``n_epochs`` (epochs trained over all splits, pruned epochs
        included) and ``duration`` (seconds).
    n_trials_ : int
        Trials in the study when this fit ended, all states.
    n_splits_ : int
        Number of splits (1 for the holdout).
    scorer_ : callable or dict
        The scorer used for each split and by :meth:`score`; with several
        metrics a dict name -> scorer.
    multimetric_ : bool
        Whether ``scoring`` has several metrics.
    classes_ : ndarray
        Class labels of ``best_estimator_``.
    n_features_in_ : int
        Features seen by ``best_estimator_``.

    See Also
    --------
    sklenet.STUDY_SEARCH_SPACE, sklenet.EXTENDED_SEARCH_SPACE : search spaces.
    sklenet.plotting.plot_intermediate_values : validation accuracy per epoch.
    sklenet.plotting.plot_optimization_history : score of every trial.
    sklenet.plotting.plot_param_importances : fANOVA importances.

    Notes
    -----
    Several workers, one study: start the same search (same data, same
    ``study_name``, a shared ``storage``, different or no ``random_state``)
    in several processes. On one machine a journal file is enough
    (``storage="study.log"``); across machines use PostgreSQL
    (``pip install 'sklenet[postgres]'``)::

        # once: a database, and the study in it (so that the workers do not
        # race to create Optuna's tables, optuna/optuna#1092)
        createdb lenet
        optuna create-study --storage postgresql://user:password@dbhost/lenet \
            --study-name lenet --direction maximize
        # then on each machine, as many times as there are workers
        sklenet tune --storage postgresql://user:password@dbhost/lenet \
            --study-name lenet --n-trials 50 --data train.csv

    which is ``LeNetSearchCV(storage=..., study_name=..., n_trials=...,
    refit=False).fit(X, y, validation_data=(X_val, y_val))`` on a fixed split
    of the data. ``k`` workers run exactly ``k * n_trials`` trials. A worker
    killed mid-trial leaves its trial running until its heartbeat is 2
    minutes old; the next worker to start a trial then marks it failed and
    runs its parameters again (journal files have no heartbeat: the trial
    stays running). Rerunning a fit continues the study: trials are numbered
    on, none is lost or repeated. The sklearn attributes of each worker
    describe the study when that worker ended; ``best_params_`` of the last
    one is the study's best.

    Examples
    --------
    >>> from sklenet import LeNetClassifier, LeNetSearchCV
    >>> from sklenet.datasets import load_sample_digits
    >>> X, y = load_sample_digits(return_X_y=True)
    >>> search = LeNetSearchCV(
    ...     LeNetClassifier(epochs=2, random_state=0),
    ...     {"conv1_filters": [4, 6], "conv_activation": ["relu", "tanh"]},
    ...     n_trials=2, random_state=0,
    ... ).fit(X[::10], y[::10])
    >>> sorted(search.best_params_)
    ['conv1_filters', 'conv_activation']
    >>> search.cv_results_["state"].tolist()
    ['COMPLETE', 'COMPLETE']
    >>> search.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit"]), None],
        "param_distributions": [dict, None],
        "n_trials": [Interval(Integral, 1, None, closed="left"), None],
        "timeout": [Interval(Real, 0, None, closed="neither"), None],
        "cv": ["cv_object"],
        "scoring": [StrOptions(set(get_scorer_names())), callable, list, tuple,
                    set, dict, None],
        "sampler": [optuna.samplers.BaseSampler, None],
        "pruner": [optuna.pruners.BasePruner, None],
        "storage": [str, os.PathLike, optuna.storages.BaseStorage, None],
        "study_name": [str, None],
        "n_jobs": [Integral, None],
        "refit": ["boolean", str],
        "random_state": ["random_state"],
        "show_progress_bar": ["boolean"],
        "callbacks": [list, None],
        "catch": [tuple, list, type],
        "error_score": [StrOptions({"raise"}), Real],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        estimator: BaseEstimator | None = None,
        param_distributions: (
            dict[str, optuna.distributions.BaseDistribution | list[Any]] | None
        ) = None,
        *,
        n_trials: int | None = 10,
        timeout: float | None = None,
        cv: int | CVSplitter | Iterable[tuple[ArrayLike, ArrayLike]] | None = None,
        scoring: (
            str | Callable[..., Any] | list[str] | tuple[str, ...] | set[str]
            | dict[str, Callable[..., Any]] | None
        ) = None,
        sampler: optuna.samplers.BaseSampler | None = None,
        pruner: optuna.pruners.BasePruner | None = None,
        storage: PathLike | optuna.storages.BaseStorage | None = None,
        study_name: str | None = None,
        n_jobs: int | None = None,
        refit: bool | str = True,
        random_state: RandomState = None,
        show_progress_bar: bool = False,
        callbacks: (
            list[Callable[[optuna.study.Study, optuna.trial.FrozenTrial], None]]
            | None
        ) = None,
        catch: (
            type[Exception] | tuple[type[Exception], ...] | list[type[Exception]]
        ) = (),
        error_score: float | Literal["raise"] = np.nan,
        verbose: int = 0,
    ):
        self.estimator = estimator
        self.param_distributions = param_distributions
        self.n_trials = n_trials
        self.timeout = timeout
        self.cv = cv
        self.scoring = scoring
        self.sampler = sampler
        self.pruner = pruner
        self.storage = storage
        self.study_name = study_name
        self.n_jobs = n_jobs
        self.refit = refit
        self.random_state = random_state
        self.show_progress_bar = show_progress_bar
        self.callbacks = callbacks
        self.catch = catch
        self.error_score = error_score
        self.verbose = verbose

    def _get_estimator(self):
        return LeNetClassifier() if self.estimator is None else self.estimator

    def __sklearn_tags__(self):
        # As sklearn's searches: the search is whatever its estimator is. The
        # class is a ClassifierMixin (a search of classifiers, as skl2onnx's
        # parser requires), but its tags still follow a foreign estimator.
        tags = super().__sklearn_tags__()
        sub = get_tags(self._get_estimator())
        tags.estimator_type = sub.estimator_type
        tags.classifier_tags = copy.deepcopy(sub.classifier_tags)
        tags.regressor_tags = copy.deepcopy(sub.regressor_tags)
        tags.target_tags.required = sub.target_tags.required
        tags.input_tags.pairwise = sub.input_tags.pairwise
        tags.input_tags.sparse = sub.input_tags.sparse
        tags.input_tags.allow_nan = sub.input_tags.allow_nan
        return tags

    # -------------------------------------------------------------------- fit
    @fit_context(prefer_skip_nested_validation=False)
    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        validation_data: tuple[ArrayLike, ArrayLike] | None = None,
        **params: Any,
    ) -> Self:
        """Run ``n_trials`` trials of the study, then refit the best.

        Every check (parameters, search space, scoring, data, metadata, data
        split, storage) runs before the first trial, so that bad input leaves
        no trial in a persistent storage.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (LeNet also takes image-shaped arrays).
        y : array-like of shape (n_samples,)
            Targets.
        validation_data : tuple (X_val, y_val), default=None
            The holdout set of ``cv=None`` (the study's fixed validation
            set); without it a stratified split of ``(X, y)`` is held out.
        **params : dict of str -> object
            Metadata, routed as ``GridSearchCV`` routes it. With
            ``sklearn.set_config(enable_metadata_routing=True)``: to the
            estimator's ``fit``, the scorers and the ``cv`` splitter, each as
            it requests it (``set_fit_request``, ``set_score_request``).
            Without: ``groups`` to the splitter, everything else to the
            estimator's ``fit``, and ``sample_weight`` also to the scorers
            that accept it. Sample-aligned metadata (``sample_weight``) is
            split with ``X``; with ``validation_data`` the scorers get none of
            it (the weights of the validation set are not known), and
            ``cv=None`` refuses ``groups`` (its holdout is stratified, not
            grouped: use ``cv=GroupKFold(...)``).

        Returns
        -------
        self : LeNetSearchCV
        """
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target "
                "y is None."
            )
        estimator = self._get_estimator()
        param_distributions = _check_param_distributions(
            self.param_distributions, estimator
        )
        scorer, refit_metric = self._get_scorers()
        X, y = indexable(X, y)
        if is_classifier(estimator):
            check_classification_targets(y)
        params = _check_method_params(X, params=params)
        routed = self._get_routed_params_for_fit(params)
        _check_fit_params(estimator, X, routed.estimator.fit)
        splits = self._splits(estimator, X, y, validation_data, routed)
        _check_data(estimator, X, y, validation_data)
        self.multimetric_ = isinstance(scorer, _MultimetricScorer)
        self.scorer_ = scorer._scorers if self.multimetric_ else scorer
        self.n_splits_ = len(splits)
        sample_weight = routed.estimator.fit.get("sample_weight")
        # scikit-learn's callbacks: the trials, then the refit, as GridSearchCV.
        task = begin_fit_task(self, max_subtasks=1 + (self.refit is not False),
                              X=X, y=y, sample_weight=sample_weight)
        # Optuna's per-trial log lines only with verbose (sklearn is silent).
        with optuna_verbosity(optuna.logging.INFO if self.verbose
                              else optuna.logging.WARNING):
            study = self._create_study()
            n_before = len(study.trials)
            with subtask(task, self, "search", max_subtasks=self.n_trials,
                         sequential_subtasks=False) as search_task:
                objective = _Objective(estimator, param_distributions, splits,
                                       scorer, refit_metric, self.error_score,
                                       search_task, self)
                study.optimize(
                    objective,
                    n_trials=self.n_trials,
                    timeout=self.timeout,
                    n_jobs=self.n_jobs or 1,
                    catch=self.catch,
                    callbacks=self.callbacks,
                    show_progress_bar=self.show_progress_bar,
                )
        trials = study.get_trials(deepcopy=False)
        if not any(trial.state == TrialState.COMPLETE for trial in trials):
            raise ValueError(_no_trial_completed(study.study_name, trials[n_before:]))
        self.study_ = study
        self.best_trial_ = study.best_trial
        self.best_params_ = self.best_trial_.params
        self.best_score_ = self.best_trial_.value
        self.best_index_ = self.best_trial_.number
        metrics = list(self.scorer_) if self.multimetric_ else ["score"]
        self.cv_results_ = _cv_results(trials, self.n_splits_, metrics)
        self.n_trials_ = len(trials)
        if self.refit is not False:
            self.best_estimator_ = clone(estimator).set_params(**self.best_params_)
            fit_params = dict(routed.estimator.fit)
            if validation_data is not None:
                fit_params["validation_data"] = validation_data
            start = time.perf_counter()
            with fit_subtask(None if task is None
                             else task.subcontext(task_name="refit"),
                             self, self.best_estimator_, X, y, sample_weight):
                self.best_estimator_.fit(X, y, **fit_params)
            self.refit_time_ = time.perf_counter() - start
        end_fit_task(task, self, X, y, sample_weight, predicts=False)
        return self

    def _get_scorers(self):
        """``(scorer, refit_metric)``: one scorer, or a ``_MultimetricScorer``
        whose metric ``refit`` names (GridSearchCV's rules, except that
        Optuna needs that one metric even without a refit)."""
        estimator = self._get_estimator()
        if callable(self.scoring):
            # Perhaps a dict of metrics: checked against refit when it runs.
            refit = self.refit if isinstance(self.refit, str) else "score"
            return self.scoring, refit
        if self.scoring is None or isinstance(self.scoring, str):
            return check_scoring(estimator, scoring=self.scoring), "score"
        scorers = _check_multimetric_scoring(estimator, self.scoring)
        if not (isinstance(self.refit, str) and self.refit in scorers):
            raise ValueError(
                f"With several metrics ({sorted(scorers)}), refit must name the "
                "one that Optuna optimises and best_score_, best_params_ and "
                f"best_estimator_ follow, but refit={self.refit!r}. ("
                "GridSearchCV also takes refit=False or a callable here; an "
                "Optuna study optimises one metric.)"
            )
        return (_MultimetricScorer(scorers=scorers,
                                   raise_exc=self.error_score == "raise"),
                self.refit)

    def _get_routed_params_for_fit(self, params):
        """Metadata per consumer: sklearn's routing when it is enabled, else
        sklearn's legacy rules (GridSearchCV's)."""
        if get_config()["enable_metadata_routing"]:
            return process_routing(self, "fit", **params)
        params = dict(params)
        groups = params.pop("groups", None)
        score_params = {}
        if params.get("sample_weight") is not None:
            scorer, _ = self._get_scorers()
            if hasattr(scorer, "_accept_sample_weight"):
                accepts = scorer._accept_sample_weight()
            else:
                accepts = "sample_weight" in inspect.signature(scorer).parameters
            if accepts:
                score_params["sample_weight"] = params["sample_weight"]
            else:
                warnings.warn(
                    f"scoring={self.scoring!r} takes no sample_weight: the "
                    "trials are scored unweighted although the fits are "
                    "weighted."
                )
        return Bunch(
            estimator=Bunch(fit=params),
            splitter=Bunch(split={} if groups is None else {"groups": groups}),
            scorer=Bunch(score=score_params),
        )

    def get_metadata_routing(self):
        """How :meth:`fit` and :meth:`score` route metadata (sklearn's
        `metadata routing
        <https://scikit-learn.org/stable/metadata_routing.html>`_).

        ``fit`` routes to the estimator's ``fit``, to the scorers' ``score``
        and to the splitter's ``split`` (with ``cv`` given); ``score`` routes
        to the scorers. ``validation_data`` is the search's own parameter.

        Returns
        -------
        routing : sklearn.utils.metadata_routing.MetadataRouter
        """
        router = MetadataRouter(owner=self).add_self_request(self)
        router.add(
            estimator=self._get_estimator(),
            method_mapping=MethodMapping().add(caller="fit", callee="fit"),
        )
        router.add(
            scorer=self._get_scorers()[0],
            method_mapping=MethodMapping()
            .add(caller="score", callee="score")
            .add(caller="fit", callee="score"),
        )
        if self.cv is not None:
            router.add(
                splitter=check_cv(self.cv, classifier=is_classifier(
                    self._get_estimator())),
                method_mapping=MethodMapping().add(caller="fit", callee="split"),
            )
        return router

    @staticmethod
    def sampler_seed(random_state: RandomState, n_trials: int) -> int:
        """The default sampler's seed for a study that has ``n_trials`` trials.

        TPE's first proposals are random draws from its seed: a resumed study
        seeded as it was at the start would propose its first trials again.
        With the number of trials mixed in, each resumption draws new
        parameters, and one seed on one study still gives the same trials. A
        caller that runs the trials of one study side by side seeds each
        one's sampler so too.

        Parameters
        ----------
        random_state : int, RandomState instance or None
            The search's ``random_state``.
        n_trials : int
            Trials the study holds (or the trial's number).

        Returns
        -------
        int
            The seed of the default :class:`optuna.samplers.TPESampler`.

        Examples
        --------
        >>> seed = LeNetSearchCV.sampler_seed
        >>> seed(0, 0) == seed(0, 0) != seed(0, 2)
        True
        """
        entropy = [derive_seed(random_state), n_trials]
        return int(np.random.SeedSequence(entropy).generate_state(1)[0])

    def _create_study(self):
        """A new study, or the one ``study_name`` names in ``storage``."""
        study = optuna.create_study(
            storage=open_storage(self.storage),
            sampler=self.sampler,
            pruner=self.pruner or optuna.pruners.MedianPruner(),
            study_name=self.study_name,
            direction="maximize",
            load_if_exists=True,
        )
        if study.direction != optuna.study.StudyDirection.MAXIMIZE:
            raise ValueError(
                f"Study {study.study_name!r} minimizes; LeNetSearchCV maximizes "
                "scores (sklearn's convention). Use another study_name."
            )
        if self.sampler is None:
            # Seeded after loading: the seed depends on the trials already
            # there (see sampler_seed).
            study.sampler = optuna.samplers.TPESampler(seed=self.sampler_seed(
                self.random_state, len(study.get_trials(deepcopy=False))))
        return study

    def _splits(self, estimator, X, y, validation_data, routed):
        """The :class:`_Split` of each split, metadata indexed with them."""
        fit_params, score_params = routed.estimator.fit, routed.scorer.score
        split_params = routed.splitter.split
        if validation_data is not None:
            if self.cv is not None:
                raise ValueError(
                    f"validation_data is the holdout set of cv=None, but cv="
                    f"{self.cv!r}: with cross-validation each split's held-out "
                    "part is the validation set. Drop one of them."
                )
            # Sample-aligned metadata describes X, not the validation set.
            score_params = {
                name: value for name, value in score_params.items()
                if not (hasattr(value, "__len__") and not isinstance(value, str)
                        and _num_samples(value) == _num_samples(X))
            }
            return [_Split(X, y, *validation_pair(validation_data), fit_params,
                           score_params)]
        classifier = is_classifier(estimator)
        if self.cv is None:
            if split_params:
                raise ValueError(
                    f"cv=None holds out a stratified split, which takes no "
                    f"{sorted(split_params)}; for a grouped split pass "
                    "cv=GroupKFold(...) (or another group splitter)."
                )
            fraction = estimator.get_params().get(
                "validation_fraction", _DEFAULT_VALIDATION_FRACTION
            )
            try:
                train, test = holdout_split(
                    y, fraction, _HOLDOUT_SEED,
                    n_classes=len(np.unique(y)) if classifier else None)
            except ValueError as exc:
                raise ValueError(
                    f"cv=None holds out a stratified validation_fraction="
                    f"{fraction} of the {len(y)} samples, which fails: {exc} "
                    "Pass validation_data=(X_val, y_val) or an int cv."
                ) from exc
            indices = [(train, test)]
        else:
            cv = check_cv(self.cv, y, classifier=classifier)
            indices = list(cv.split(X, y, **split_params))
        return [
            _Split(_safe_indexing(X, train), _safe_indexing(y, train),
                   _safe_indexing(X, test), _safe_indexing(y, test),
                   _check_method_params(X, fit_params, train),
                   _check_method_params(X, score_params, test))
            for train, test in indices
        ]

    # ---------------------------------------------------------------- results
    def trials_dataframe(self, **kwargs: Any) -> "pd.DataFrame":
        """The study's trials as a DataFrame (``Study.trials_dataframe``).

        Parameters
        ----------
        **kwargs
            ``attrs`` and ``multi_index`` of
            :meth:`optuna.study.Study.trials_dataframe`.

        Returns
        -------
        pandas.DataFrame
        """
        check_is_fitted(self, "study_")
        return self.study_.trials_dataframe(**kwargs)

    # ---------------------------------------------------------------- predict
    def _best_estimator(self, method):
        check_is_fitted(self, "study_")
        if not self.refit:
            raise AttributeError(
                f"This {type(self).__name__} was fitted with refit=False: {method} "
                "needs the refitted best_estimator_ (refit=True)."
            )
        return self.best_estimator_

    @available_if(_estimator_has("predict"))
    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """Predict with ``best_estimator_``."""
        return self._best_estimator("predict").predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X: ArrayLike) -> NDArray[np.floating]:
        """Class probabilities from ``best_estimator_``."""
        return self._best_estimator("predict_proba").predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X: ArrayLike) -> NDArray[np.floating]:
        """Log class probabilities from ``best_estimator_``."""
        return self._best_estimator("predict_log_proba").predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X: ArrayLike) -> NDArray[np.floating]:
        """Decision function of ``best_estimator_``."""
        return self._best_estimator("decision_function").decision_function(X)

    def score(self, X: ArrayLike, y: ArrayLike, **params: Any) -> float:
        """Score of ``best_estimator_`` on ``(X, y)``: ``scorer_``, or with
        several metrics the one ``refit`` names.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        **params : dict
            Metadata for the scorer (``sample_weight``); with metadata
            routing enabled, as the scorer requests it.

        Returns
        -------
        float
        """
        estimator = self._best_estimator("score")
        if get_config()["enable_metadata_routing"]:
            params = process_routing(self, "score", **params).scorer.score
        if self.multimetric_:
            return float(self.scorer_[self.refit](estimator, X, y, **params))
        value = self.scorer_(estimator, X, y, **params)
        refit = self.refit if isinstance(self.refit, str) else "score"
        return _scores(value, refit)[refit] if isinstance(value, dict) else value

    @property
    def classes_(self):
        """Class labels of ``best_estimator_``."""
        return self._best_estimator("classes_").classes_

    @property
    def n_features_in_(self):
        """Number of features seen by ``best_estimator_``."""
        try:
            check_is_fitted(self, "study_")
        except NotFittedError as exc:
            raise AttributeError(
                f"{type(self).__name__} has no n_features_in_ before fit."
            ) from exc
        return self._best_estimator("n_features_in_").n_features_in_


def _no_trial_completed(study_name, trials):
    states = {}
    for trial in trials:
        states[trial.state.name] = states.get(trial.state.name, 0) + 1
    errors = [t.user_attrs["error"] for t in trials if "error" in t.user_attrs]
    return (
        f"No trial of study {study_name!r} completed ({states}), so there is no "
        "best trial."
        + (f" First error: {errors[0]}" if errors else "")
    )
