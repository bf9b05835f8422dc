"""
=============================================
Tuning with LeNetSearchCV and Optuna's plots
=============================================

The study tuned 12 hyperparameters of its LeNet with Optuna: a TPE sampler,
200 trials, unpromising trials pruned epoch by epoch on validation accuracy.
:class:`~sklenet.LeNetSearchCV` runs that search as a scikit-learn estimator;
here with 10 short trials, then the study's three plots: intermediate values,
optimisation history and hyperparameter importances.
"""

# %%
# The search
# ----------
# A fixed validation set, as in the study: every trial trains on
# ``X_train`` and reports its accuracy on ``X_val`` after each epoch; from the
# sixth trial on, Optuna's median pruner stops trials that fall below the
# median of earlier trials at the same epoch.
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.model_selection import train_test_split

from sklenet import STUDY_SEARCH_SPACE, LeNetClassifier, LeNetSearchCV
from sklenet.datasets import load_sample_digits
from sklenet.plotting import (
    plot_intermediate_values,
    plot_optimization_history,
    plot_param_importances,
)

X, y = load_sample_digits(return_X_y=True)
X_train, X_rest, y_train, y_rest = train_test_split(
    X, y, train_size=1000, test_size=800, stratify=y, random_state=0
)
X_val, X_test, y_val, y_test = train_test_split(
    X_rest, y_rest, test_size=400, stratify=y_rest, random_state=0
)

search = LeNetSearchCV(
    LeNetClassifier(learning_rate=0.01, epochs=5, random_state=0),
    STUDY_SEARCH_SPACE,
    n_trials=10,
    random_state=0,
)
search.fit(X_train, y_train, validation_data=(X_val, y_val))
print(f"best validation accuracy {search.best_score_:.3f}, "
      f"trial {search.best_index_}")
search.best_params_

# %%
# ``cv_results_`` has scikit-learn's layout plus Optuna's view of each trial:
# its state (pruned trials have no score) and the epochs it trained.
results = pd.DataFrame(search.cv_results_)
columns = ["state", "mean_test_score", "n_epochs", "mean_fit_time",
           "param_conv_activation", "param_dense_activation"]
results[columns].rename(columns=lambda name: name.removeprefix("param_"))

# %%
# ``best_estimator_`` is the best trial's LeNet refitted on ``X_train``; the
# search predicts with it.
accuracy = search.score(X_test, y_test)
print(f"test accuracy of the best LeNet: {accuracy:.3f}")

# %%
# Intermediate values
# -------------------
# Validation accuracy after every epoch of every trial; pruned trials are
# dotted and stop early.
plot_intermediate_values(search)
plt.show()

# %%
# Optimisation history
# --------------------
# The score of each completed trial and the best so far.
plot_optimization_history(search)
plt.show()

# %%
# Hyperparameter importances
# --------------------------
# fANOVA estimates how much of the variation of the score each hyperparameter
# explains. With 10 short trials this is noisy; in the study's 200 trials the
# activation of the convolutions came first.
plot_param_importances(search, random_state=0)
plt.show()

# %%
# Going further
# -------------
# * ``storage="sqlite:///search.db"`` and a ``study_name`` keep the trials in
#   a database: calling ``fit`` again continues the search.
# * Several workers on several machines share one study in PostgreSQL:
#   ``sklenet tune --storage postgresql://... --study-name NAME --n-trials N``
#   on each machine (see :ref:`tuning`).
# * :data:`sklenet.EXTENDED_SEARCH_SPACE` also tunes the pooling type, the
#   head, the learning rate and the batch size.
