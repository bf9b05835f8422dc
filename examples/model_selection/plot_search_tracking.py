"""
====================================================
Tracking a search: several metrics, Optuna callbacks
====================================================

:class:`~sklenet.LeNetSearchCV` scores every trial with several metrics, as
:class:`~sklearn.model_selection.GridSearchCV` does, and calls Optuna study
callbacks after each trial: the hook for experiment trackers (MLflow through
``optuna_integration.MLflowCallback``, or a function of your own) and for
rules such as :class:`optuna.study.MaxTrialsCallback`. Every metric is also
kept in the trial's user attributes, in the study's storage, where the
Optuna dashboard shows it.
"""

# %%
# A tracker
# ---------
# A callback receives the study and the finished trial. This one records what
# an experiment tracker would log: the trial's state, parameters and the
# score of each metric.
import os
import tempfile

import matplotlib.pyplot as plt
import optuna
import pandas as pd
from optuna.distributions import FloatDistribution
from sklearn.model_selection import train_test_split

from sklenet import LeNetClassifier, LeNetSearchCV
from sklenet.datasets import load_sample_digits

runs = []


def track(study, trial):
    metrics = {key.removeprefix("mean_test_"): value
               for key, value in trial.user_attrs.items()
               if key.startswith("mean_test_")}
    runs.append({"trial": trial.number, "state": trial.state.name,
                 **trial.params, **metrics})


# %%
# The search
# ----------
# Accuracy and log loss are measured on the same fixed validation set; Optuna
# optimises the log loss (``refit``), which rewards a LeNet whose
# probabilities are right, not only its top class. The study lives in an
# Optuna journal file, which ``optuna-dashboard`` opens as it is;
# ``MaxTrialsCallback`` caps the study at 6 trials of any state (pruned ones
# included), however many ``fit`` calls or workers add to it.
X, y = load_sample_digits(return_X_y=True)
X_train, X_val, y_train, y_val = train_test_split(
    X, y, train_size=800, test_size=400, stratify=y, random_state=0
)
storage = os.path.join(tempfile.mkdtemp(), "study.log")
search = LeNetSearchCV(
    LeNetClassifier(conv_activation="relu", pooling="max", global_pooling=False,
                    epochs=4, random_state=0),
    {"learning_rate": FloatDistribution(1e-3, 3e-2, log=True),
     "dense_activation": ["relu", "tanh"]},
    n_trials=4,
    scoring=["accuracy", "neg_log_loss"],
    refit="neg_log_loss",
    storage=storage,
    study_name="tracked",
    callbacks=[track, optuna.study.MaxTrialsCallback(6, states=None)],
    random_state=0,
)
search.fit(X_train, y_train, validation_data=(X_val, y_val))
search.fit(X_train, y_train, validation_data=(X_val, y_val))  # 2 more, then 6
pd.DataFrame(runs)

# %%
# ``cv_results_`` has one set of columns per metric, in scikit-learn's
# layout; ``best_score_`` is the best log loss (negated: higher is better).
results = pd.DataFrame(search.cv_results_)
results[["state", "mean_test_accuracy", "rank_test_accuracy",
         "mean_test_neg_log_loss", "rank_test_neg_log_loss"]]

# %%
# The two metrics need not agree on the best trial.
completed = results[results["state"] == "COMPLETE"]
fig, ax = plt.subplots(figsize=(5, 4))
ax.scatter(completed["mean_test_accuracy"], -completed["mean_test_neg_log_loss"])
for number, row in completed.iterrows():
    ax.annotate(str(number), (row["mean_test_accuracy"],
                              -row["mean_test_neg_log_loss"]))
ax.set(xlabel="validation accuracy", ylabel="validation log loss",
       title=f"6 trials; best by log loss: trial {search.best_index_}")
plt.show()
