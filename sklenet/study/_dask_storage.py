"""The search's study on a Dask scheduler: optuna-integration's ``DaskStorage``.

Imported only on Dask (optuna-integration is part of the ``dask`` extra).
"""

import warnings

import optuna
from optuna_integration import DaskStorage


class SchedulerStorage(DaskStorage):
    """A ``DaskStorage`` whose study lookups raise no error on the scheduler.

    The scheduler logs a traceback for every exception of its handlers.
    Every trial task opens the study with ``load_if_exists=True``, which
    first tries to create it: ``DaskStorage`` would raise the duplicate on
    the scheduler. This one looks the name up among the scheduler's studies
    (a list, which raises nothing for a name it lacks, unlike
    ``get_study_id_from_name`` on a fresh run's first lookup) and raises
    the duplicate where the task runs.
    """

    def create_new_study(self, directions, study_name=None):
        if study_name is not None and any(
                study.study_name == study_name for study in self.get_all_studies()):
            raise optuna.exceptions.DuplicatedStudyError(
                f"Another study with name '{study_name}' already exists.")
        return super().create_new_study(directions, study_name)

    def __reduce__(self):
        # DaskStorage's own rebuilds a DaskStorage (registered already, by
        # name): rebuild this class instead.
        return (_rebuilt, (self.name,))


def scheduler_storage(client):
    """A new in-memory :class:`SchedulerStorage` on ``client``'s scheduler."""
    with warnings.catch_warnings():  # "experimental" since optuna 3.1
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return SchedulerStorage(client=client)


def _rebuilt(name):
    """The storage registered on the scheduler as ``name``, in a task."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return SchedulerStorage(None, name, None, False)
