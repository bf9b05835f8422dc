"""scikit-learn's callback API (``sklearn.callback``) for the LeNet estimators.

scikit-learn 1.9 describes a fit as a tree of tasks that callbacks
(``ProgressBar``, ``ScoringMonitor``, your own) hear begin and end; a
meta-estimator's callbacks reach the fits inside it. sklenet's trees:

* ``LeNetClassifier.fit``: the task "fit", with one subtask "epoch" per
  epoch (``max_subtasks`` is the most epochs the fit can train, so early
  stopping ends a fit before its last planned subtask, which sklearn's
  callbacks expect); ``partial_fit``: "partial_fit" with its one epoch;
* ``LeNetEnsembleClassifier.fit``: "fit", one subtask "member" per member,
  each that member's ``LeNetClassifier.fit`` with its epochs (a snapshot
  ensemble's one training is one subtask "snapshot-training");
* ``LeNetSearchCV.fit``: "fit" -> "search" -> one "trial" per Optuna trial
  (task id: the trial's number) -> one "split" per split, each that split's
  fit; then "refit".

Every epoch that ends tells the callbacks the data given to ``fit`` (``X``,
``y`` and ``sample_weight`` as metadata), and a ``fitted_estimator`` that
predicts with the epoch's weights: ``ScoringMonitor`` scores each epoch on
the training data, as it does for scikit-learn's own estimators.

The Keras side (a callback that turns Keras' epochs into tasks) is
:class:`sklenet._callbacks.EpochTasks`. On scikit-learn < 1.9 the
estimators skip all of this and ``set_callbacks`` says what it needs.
"""

import contextlib
from typing import Any, Self

import sklearn

from . import _compat


class CallbackSupport(_compat.CallbackSupportMixin):
    """scikit-learn's ``CallbackSupportMixin``, with a clear refusal before 1.9.

    The estimators that inherit it take ``set_callbacks`` and begin their
    fit's task tree with :func:`begin_fit_task`.
    """

    def set_callbacks(self, *callbacks: Any) -> Self:
        """Set scikit-learn callbacks (``sklearn.callback``) for ``fit``.

        Parameters
        ----------
        *callbacks : callback instances
            For instance ``sklearn.callback.ProgressBar()`` or
            ``sklearn.callback.ScoringMonitor(scoring="accuracy")``; none
            removes them.

        Returns
        -------
        self : estimator instance

        Raises
        ------
        ImportError
            With scikit-learn < 1.9, which has no callback API.
        """
        if _compat.sklearn_callback is None:
            raise ImportError(
                f"{type(self).__name__}.set_callbacks needs scikit-learn >= 1.9 "
                f"(sklearn.callback); scikit-learn {sklearn.__version__} is "
                "installed."
            )
        return super().set_callbacks(*callbacks)


def begin_fit_task(estimator, max_subtasks, task_name="fit",
                   sequential_subtasks=True, X=None, y=None, sample_weight=None):
    """Begin the root task of ``estimator``'s fit; None without the API.

    The root merges into a meta-estimator's task when one propagated its
    context; scikit-learn's ``_fit_context`` tears the callbacks down when
    the fit returns or fails.
    """
    if _compat.sklearn_callback is None:
        return None
    context = estimator._init_callback_context(
        task_name=task_name, max_subtasks=max_subtasks,
        sequential_subtasks=sequential_subtasks,
    )
    return context.call_on_fit_task_begin(
        estimator=estimator, X=X, y=y, metadata=fit_metadata(sample_weight)
    )


def end_fit_task(context, estimator, X=None, y=None, sample_weight=None,
                 predicts=True):
    """End the root task :func:`begin_fit_task` began (None: nothing to
    end). ``predicts``: the callbacks get ``estimator`` as fitted as their
    ``fitted_estimator``; a search that may not refit gives none, as
    scikit-learn's searches."""
    if context is not None:
        context.call_on_fit_task_end(
            estimator=estimator, X=X, y=y, metadata=fit_metadata(sample_weight),
            reconstruction_attributes={} if predicts else None,
        )


def has_callbacks(estimator):
    """Whether any callback listens to ``estimator``'s fit (set on it or
    propagated by a meta-estimator): per-epoch hooks cost nothing otherwise."""
    return bool(getattr(estimator, "_skl_callbacks", None))


def fit_metadata(sample_weight):
    """The ``metadata`` of a task: the fit's ``sample_weight``, if any."""
    return None if sample_weight is None else {"sample_weight": sample_weight}


@contextlib.contextmanager
def subtask(parent, caller, task_name, **subcontext_params):
    """A subtask of ``parent`` (None: none) that ``caller`` runs in the
    body: begun, yielded (None without ``parent``), ended even if the body
    fails. ``subcontext_params`` go to ``CallbackContext.subcontext``."""
    if parent is None:
        yield None
        return
    context = parent.subcontext(task_name=task_name, **subcontext_params)
    context.call_on_fit_task_begin(estimator=caller)
    try:
        yield context
    finally:
        context.call_on_fit_task_end(estimator=caller)


@contextlib.contextmanager
def fit_subtask(context, caller, sub_estimator, X=None, y=None,
                sample_weight=None):
    """Run ``sub_estimator``'s fit (the body) as the leaf task ``context`` of
    ``caller``, as scikit-learn's ``_fit_and_score`` does: the callbacks are
    propagated to it and the task ends even if the fit fails. ``context``
    None: the body runs alone."""
    if context is None:
        yield
        return
    metadata = fit_metadata(sample_weight)
    with context.propagate_callback_context(sub_estimator):
        context.call_on_fit_task_begin(estimator=caller, X=X, y=y, metadata=metadata)
        try:
            yield
        finally:
            context.call_on_fit_task_end(estimator=caller, X=X, y=y,
                                         metadata=metadata)
