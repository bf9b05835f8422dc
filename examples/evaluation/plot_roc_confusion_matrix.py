"""
=============================================
Per-class ROC AUC and the confusion matrix
=============================================

The study reported the one-vs-rest ROC AUC of every digit (its hardest digit
was 9) besides accuracy. This example trains the optimised LeNet, computes
those numbers with :func:`sklenet.evaluation.split_scores`, draws the ROC
curves and the confusion matrix, and shows the digits the model gets wrong.
"""

# %%
# Train the optimised LeNet
# -------------------------
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.model_selection import train_test_split

from sklenet import OPTIMIZED_PARAMS, LeNetClassifier
from sklenet.datasets import load_sample_digits
from sklenet.evaluation import confused_pairs, split_scores
from sklenet.plotting import (
    plot_confused_pairs,
    plot_confusion_matrix,
    plot_misclassified,
    plot_roc_curves,
)

X, y = load_sample_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=3000, test_size=1000, stratify=y, random_state=0
)
clf = LeNetClassifier(**OPTIMIZED_PARAMS, learning_rate=0.005,
                      epochs=15, random_state=0)
clf.fit(X_train, y_train)

# %%
# Accuracy and ROC AUC per digit
# ------------------------------
# :func:`~sklenet.evaluation.split_scores` returns the accuracy and, for each
# class, the ROC AUC of "this digit against all others" computed from
# ``predict_proba``.
scores = split_scores(clf, X_test, y_test)
print(f"test accuracy: {scores['accuracy']:.4f}")
auc = pd.Series(
    {digit: scores[f"roc_auc_{digit}"] for digit in clf.classes_},
    name="ROC AUC",
)
auc.index.name = "digit"
auc.sort_values().to_frame().T.round(4)

# %%
# ROC curves
# ----------
# One curve per digit; the closer to the top-left corner, the better the
# model separates that digit from the others.
proba = clf.predict_proba(X_test)
ax = plot_roc_curves(y_test, proba, labels=clf.classes_)
ax.set_title(f"lowest AUC: digit {auc.idxmin()} ({auc.min():.4f})")
plt.show()

# %%
# Confusion matrix
# ----------------
# Rows are the true digits, columns the predicted ones, normalised per row:
# the diagonal is the recall of each digit.
plot_confusion_matrix(y_test, clf.predict(X_test), normalize="true")
plt.show()

# %%
# The digits it gets wrong
# ------------------------
# :func:`~sklenet.plotting.plot_misclassified` draws the misclassified test
# digits, the most confident mistakes first, each with its true label, the
# predicted one and the probability the model gave it. It takes the
# ``predict_proba`` of any classifier on rows of pixels.
plot_misclassified(X_test, y_test, proba, labels=clf.classes_, max_images=16)
plt.show()

# %%
# Which digits are mistaken for which: the off-diagonal cells of the
# confusion matrix, largest first (:func:`sklenet.evaluation.confused_pairs`
# gives the same as a table).
predicted = clf.classes_[proba.argmax(axis=1)]
plot_confused_pairs(y_test, predicted, labels=clf.classes_, n_pairs=8)
plt.show()
confused_pairs(y_test, predicted, labels=clf.classes_, n_pairs=5)
