"""
================================================================
Progress bars and per-epoch scores with scikit-learn's callbacks
================================================================

scikit-learn 1.9 added callbacks (:mod:`sklearn.callback`): objects that hear
every step of a ``fit``, set with ``set_callbacks``. sklenet's estimators
speak them: a :class:`~sklenet.LeNetClassifier` fit is a task with one
subtask per epoch, so :class:`~sklearn.callback.ScoringMonitor` scores every
epoch and :class:`~sklearn.callback.ProgressBar` shows the epochs of every
training inside a :class:`~sklearn.model_selection.GridSearchCV`. See
:ref:`callbacks` in the user guide.
"""

# %%
# A score after every epoch
# -------------------------
# :class:`~sklearn.callback.ScoringMonitor` scores the model of each epoch on
# the training data given to ``fit``: here two metrics, at the cost of one
# prediction of those 400 images per epoch and per kind of prediction
# (``predict`` for the accuracy, ``predict_proba`` for the log loss).
import matplotlib.pyplot as plt
from sklearn.callback import ProgressBar, ScoringMonitor
from sklearn.model_selection import GridSearchCV, train_test_split

from sklenet import LeNetClassifier
from sklenet.datasets import load_sample_digits

X, y = load_sample_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=400, test_size=200, stratify=y, random_state=0
)
# Classic LeNet-5 choices that learn 400 digits in a few epochs.
recipe = dict(conv_activation="relu", dense_activation="relu", pooling="max",
              global_pooling=False, learning_rate=0.01, early_stopping=False,
              random_state=0)
lenet = LeNetClassifier(**recipe, epochs=3)
monitor = ScoringMonitor(scoring=["accuracy", "neg_log_loss"])
lenet.set_callbacks(monitor).fit(X_train, y_train)

scores = monitor.get_logs().data_as_pandas
epochs = scores[scores["task_name"] == "epoch"]
epochs[["task_id", "accuracy", "neg_log_loss"]]

# %%
# Keras' own per-epoch accuracy (``history_``) is the running mean over each
# epoch's batches while the weights change; the monitor's is the model at
# the end of the epoch.
fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
ax.plot(epochs["task_id"] + 1, epochs["accuracy"], "o-",
        label="ScoringMonitor (end of epoch)")
ax.plot(range(1, lenet.n_epochs_ + 1), lenet.history_["accuracy"], "s--",
        label="history_ (during the epoch)")
ax.set_xlabel("epoch")
ax.set_ylabel("training accuracy")
ax.legend()
plt.show()

# %%
# Progress bars inside a grid search
# ----------------------------------
# Callbacks set on a scikit-learn meta-estimator reach the fits inside it: the
# grid search's bar holds one bar per candidate and fold, each advancing epoch
# by epoch (with ``n_jobs=2`` too, from the worker processes).
# ``max_propagation_depth=None`` shows every level (the default, 1, stops at
# the search's direct sub-estimators, which here are the LeNets anyway).
grid = GridSearchCV(LeNetClassifier(**recipe, epochs=2),
                    {"dense1_units": [32, 120]}, cv=2)
grid.set_callbacks(ProgressBar(max_propagation_depth=None))
grid.fit(X_train, y_train)
print(f"best: {grid.best_params_}, test accuracy {grid.score(X_test, y_test):.3f}")
