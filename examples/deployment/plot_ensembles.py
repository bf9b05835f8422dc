"""
=====================================
Independent vs snapshot ensembles
=====================================

The study's best model averages the probabilities of 10 independently trained
optimised LeNets. :class:`~sklenet.LeNetEnsembleClassifier` trains such an
ensemble, or a snapshot ensemble: the snapshots of one training whose
learning rate restarts in cycles. This example compares both, with 3 members,
on the sample.
"""

# %%
# Data
# ----
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from sklenet import OPTIMIZED_PARAMS, LeNetEnsembleClassifier
from sklenet.datasets import load_sample_digits
from sklenet.plotting import plot_convergence

X, y = load_sample_digits(return_X_y=True)
X_train, X_rest, y_train, y_rest = train_test_split(
    X, y, train_size=1200, test_size=1000, stratify=y, random_state=0
)
X_val, X_test, y_val, y_test = train_test_split(
    X_rest, y_rest, test_size=600, stratify=y_rest, random_state=0
)

# %%
# Two ensembles of three
# ----------------------
# *Independent*: three trainings of at most 10 epochs from different seeds
# (drawn from ``random_state``), each stopped early on the validation set.
# They could train in parallel with ``n_jobs``.
#
# *Snapshot*: one training of 15 epochs in 3 cycles of 5; the learning rate
# follows a cosine from ``learning_rate`` down to 0 in each cycle and the
# weights at the end of each cycle are one member. It costs one training,
# always run in full.
common = {**OPTIMIZED_PARAMS, "n_estimators": 3, "learning_rate": 0.005,
          "random_state": 0}
ensembles = {
    "independent": LeNetEnsembleClassifier(**common, epochs=10),
    "snapshot": LeNetEnsembleClassifier(**common, epochs=15,
                                        ensemble="snapshot"),
}
for ensemble in ensembles.values():
    ensemble.fit(X_train, y_train, validation_data=(X_val, y_val))

# %%
# Members and ensemble
# --------------------
# ``estimators_`` are fitted :class:`~sklenet.LeNetClassifier` members; the
# ensemble's ``predict_proba`` is the mean of theirs (soft voting).
rows = {}
for kind, ensemble in ensembles.items():
    members = ensemble.estimators_
    scores = [member.score(X_test, y_test) for member in members]
    rows[kind] = {
        "epochs trained": sum(member.n_epochs_ for member in members),
        "members' test accuracy": "/".join(f"{s:.3f}" for s in scores),
        "best member": f"{max(scores):.3f}",
        "ensemble": f"{ensemble.score(X_test, y_test):.3f}",
    }
pd.DataFrame(rows).T

# %%
# Soft voting gains most when the members are good and make different
# mistakes. Independent members differ by their seeds only; snapshot members
# are the same network at three moments of one training, the first ones
# taken after only a few epochs. The share of test digits on which the
# members' predictions differ:
for kind, ensemble in ensembles.items():
    votes = np.array([m.predict(X_test) for m in ensemble.estimators_])
    disagree = np.mean((votes != votes[0]).any(axis=0))
    print(f"{kind}: members disagree on {disagree:.1%} of the digits")

# %%
# Disagreement alone is not enough: a weak member, such as a first snapshot
# taken after 5 epochs, disagrees often because it is wrong often, and
# averaging it in can pull the ensemble below its best member.

# %%
# Convergence of the members
# --------------------------
# :func:`~sklenet.plotting.plot_convergence` draws every member's history.
# Independent members each train from scratch; each snapshot member holds
# the epochs of its own cycle.
fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True,
                         layout="constrained")
for ax, (kind, ensemble) in zip(axes, ensembles.items()):
    plot_convergence(ensemble, ax=ax)
    ax.set_title(f"{kind}: {ax.get_title()}")
plt.show()

# %%
# The study chose independent training, at ten times the cost of one
# network. A snapshot ensemble is the cheap alternative; give it enough
# epochs per cycle for its first members to be good. On a machine with
# several cores, ``n_jobs=-1`` trains independent members in parallel
# processes, and ``with joblib.parallel_config("dask"): ensemble.fit(X, y)``
# on a Dask cluster (see :ref:`ensembles`).
