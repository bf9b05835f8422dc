"""LeNetEnsembleClassifier on a real Dask cluster through joblib's Dask backend."""

import os

import joblib
import numpy as np
import pytest
from sklearn.base import clone

from sklenet._ensemble import LeNetEnsembleClassifier

from .helpers import fast

try:
    from dask.distributed import Client, LocalCluster
except ImportError:
    # CI installs the extra: there a missing Dask is a failure, not a skip.
    if os.environ.get("CI"):
        raise
    pytest.skip("needs dask[distributed] (pip install 'sklenet[dask]')",
                allow_module_level=True)


def test_members_train_on_dask_worker_processes(digits, worker_recorder):
    X, y, X_test, _ = digits
    sequential = LeNetEnsembleClassifier(**fast(n_estimators=2)).fit(X, y)
    ensemble = clone(sequential).set_params(callbacks=[worker_recorder])
    with (
        LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                     dashboard_address=None) as cluster,
        Client(cluster),
        joblib.parallel_backend("dask"),
    ):
        ensemble.fit(X, y)
    np.testing.assert_array_equal(ensemble.random_seeds_, sequential.random_seeds_)
    # Same members: only TensorFlow's summation order differs with its thread
    # count (1 on a Dask worker), in the last float32 bits.
    np.testing.assert_allclose(ensemble.predict_proba(X_test),
                               sequential.predict_proba(X_test), atol=1e-6)
    trainings = [t for m in ensemble.estimators_ for t in m.callbacks[0].trainings]
    assert len(trainings) == 2 and os.getpid() not in {pid for pid, _ in trainings}
    # Dask's nanny sets OMP_NUM_THREADS=1 in its workers; TensorFlow follows.
    assert {threads for _, threads in trainings} == {1}
