"""
=====================================================
Pipeline and GridSearchCV with one-vs-rest ROC AUC
=====================================================

:class:`~sklenet.LeNetClassifier` is a scikit-learn estimator: it goes into a
:class:`~sklearn.pipeline.Pipeline`, its hyperparameters are tuned with
:class:`~sklearn.model_selection.GridSearchCV` under their ``step__name``, and
any scorer works, here the study's metric: one-vs-rest ROC AUC
(``"roc_auc_ovr"``).
"""

# %%
# A pipeline
# ----------
# The first step scales the pixels to [0, 1] as floats, so the network takes
# them as they are (float input is never rescaled). Written as a pipeline
# step, the same conversion happens at ``fit`` and at ``predict``.
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from sklenet import LeNetClassifier
from sklenet.datasets import load_sample_digits

X, y = load_sample_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=900, test_size=600, stratify=y, random_state=0
)


def to_unit_interval(X):
    """uint8 pixels 0-255 -> float32 in [0, 1]."""
    return X.astype("float32") / 255


lenet = LeNetClassifier(learning_rate=0.005, epochs=6,
                        early_stopping=False, random_state=0)
pipeline = Pipeline([
    ("scale", FunctionTransformer(to_unit_interval)),
    ("lenet", lenet),
])
pipeline

# %%
# Grid search
# -----------
# Two hyperparameters of the study's search, two values each, 3-fold
# cross-validation: 12 trainings, then a refit of the best on all the training
# data. Each training is short (6 epochs on 600 images) to keep the example
# fast.
grid = GridSearchCV(
    pipeline,
    param_grid={
        "lenet__conv_activation": ["tanh", "relu"],
        "lenet__dense1_units": [32, 120],
    },
    scoring="roc_auc_ovr",
    cv=3,
)
grid.fit(X_train, y_train)

results = pd.DataFrame(grid.cv_results_)
columns = ["param_lenet__conv_activation", "param_lenet__dense1_units",
           "mean_test_score", "std_test_score", "mean_fit_time",
           "rank_test_score"]
results[columns].rename(columns=lambda name: name.split("__")[-1])

# %%
print("best:", grid.best_params_, f"(ROC AUC {grid.best_score_:.4f})")

# %%
# Test score
# ----------
# The refitted pipeline scores new images; ``roc_auc_score`` with
# ``multi_class="ovr"`` is what the ``"roc_auc_ovr"`` scorer computes (the
# mean of the ten one-vs-rest AUCs).
proba = grid.predict_proba(X_test)
auc = roc_auc_score(y_test, proba, multi_class="ovr")
print(f"test ROC AUC (ovr): {auc:.4f}")
accuracy = accuracy_score(y_test, grid.predict(X_test))
print(f"test accuracy: {accuracy:.4f}")

# %%
# The mean ROC AUC of each setting, with one standard deviation over the
# folds:
labels = [
    f"{activation}, {units} units" for activation, units in zip(
        results["param_lenet__conv_activation"],
        results["param_lenet__dense1_units"],
    )
]
fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
ax.barh(labels, results["mean_test_score"],
        xerr=results["std_test_score"], color="C0")
ax.set_xlim(results["mean_test_score"].min() - 0.02, 1)
ax.set_xlabel("cross-validated ROC AUC (one-vs-rest)")
plt.show()
