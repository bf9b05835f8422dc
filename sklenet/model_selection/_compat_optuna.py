"""What differs across the supported versions of Optuna.

The model-selection layer's counterpart of :mod:`sklenet._compat`: the
estimator core imports that one and never imports Optuna, so Optuna's
differences live here, beside the modules that use Optuna. Nothing else
checks Optuna's version.
"""

import optuna
from optuna.storages import RDBStorage

try:  # Optuna >= 5 names the heartbeat's retry callback for what it does.
    from optuna.storages import RetryHeartbeatStaleTrialCallback
    _STALE_TRIAL_CALLBACK = "heartbeat_stale_trial_callback"
except ImportError:  # Optuna < 5: the same callback under its older name
    from optuna.storages import (
        RetryFailedTrialCallback as RetryHeartbeatStaleTrialCallback,
    )
    _STALE_TRIAL_CALLBACK = "failed_trial_callback"

__all__ = ["RetryHeartbeatStaleTrialCallback", "check_postgresql_support",
           "rdb_storage"]


def rdb_storage(url, *, max_retry, storage_class=RDBStorage, **kwargs):
    """An ``RDBStorage`` (or ``storage_class``, a subclass) whose
    heartbeat-stale trials are retried ``max_retry`` times; ``kwargs`` go to
    ``RDBStorage``."""
    retry = RetryHeartbeatStaleTrialCallback(max_retry=max_retry)
    return storage_class(url, **kwargs, **{_STALE_TRIAL_CALLBACK: retry})


# Optuna before 4.5 compares its value-type enum with text in SQL, which
# PostgreSQL refuses through psycopg 3 (optuna#6096, fixed in 4.5 by #6099):
# the first best-trial query fails. Tested: 4.4.0 fails, 4.5.0 works.
POSTGRESQL_OPTUNA = (4, 5)


def check_postgresql_support():
    """Raise ImportError, naming the version needed, when the installed
    Optuna cannot run a study on PostgreSQL through psycopg 3."""
    installed = tuple(int(part) for part in optuna.__version__.split(".")[:2])
    if installed < POSTGRESQL_OPTUNA:
        needed = ".".join(map(str, POSTGRESQL_OPTUNA))
        raise ImportError(
            f"a PostgreSQL storage needs Optuna >= {needed} (older Optuna's "
            "best-trial query fails on PostgreSQL through psycopg 3, "
            f"optuna#6096); Optuna {optuna.__version__} is installed: pip "
            f"install 'optuna>={needed}'")
