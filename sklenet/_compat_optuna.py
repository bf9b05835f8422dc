"""What differs across the supported versions of Optuna.

The model-selection layer's counterpart of :mod:`sklenet._compat`: the
estimator core imports that one and never imports Optuna, so Optuna's
differences live here, beside the modules that use Optuna. Nothing else
checks Optuna's version.
"""

from optuna.storages import RDBStorage

try:  # Optuna >= 5 names the heartbeat's retry callback for what it does.
    from optuna.storages import RetryHeartbeatStaleTrialCallback
    _STALE_TRIAL_CALLBACK = "heartbeat_stale_trial_callback"
except ImportError:  # Optuna < 5: the same callback under its older name
    from optuna.storages import (
        RetryFailedTrialCallback as RetryHeartbeatStaleTrialCallback,
    )
    _STALE_TRIAL_CALLBACK = "failed_trial_callback"

__all__ = ["RetryHeartbeatStaleTrialCallback", "rdb_storage"]


def rdb_storage(url, *, max_retry, **kwargs):
    """An ``RDBStorage`` whose heartbeat-stale trials are retried
    ``max_retry`` times; ``kwargs`` go to ``RDBStorage``."""
    retry = RetryHeartbeatStaleTrialCallback(max_retry=max_retry)
    return RDBStorage(url, **kwargs, **{_STALE_TRIAL_CALLBACK: retry})
