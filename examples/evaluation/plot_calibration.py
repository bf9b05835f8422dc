"""
=============================================
Calibrating a LeNet's probabilities
=============================================

A network trained to a low training loss is usually *overconfident*: among the
digits it predicts with 99% confidence, fewer than 99% are right. Temperature
scaling (Guo et al., 2017) divides the logits by one number fitted on held-out
data; it keeps every prediction (the order of the classes does not change)
and makes the probabilities honest. In scikit-learn it is one line:
:class:`~sklearn.calibration.CalibratedClassifierCV` with
``method="temperature"`` around a :class:`~sklearn.frozen.FrozenEstimator`,
which uses the trained LeNet as it is instead of training it again.
"""

# %%
# An overconfident LeNet
# ----------------------
# Trained for many epochs without early stopping on 600 digits, it fits its
# training set closely; a separate calibration set fits the temperature, and
# the test set measures the result.
import matplotlib.pyplot as plt
from sklearn.calibration import CalibratedClassifierCV, calibration_curve
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split

from sklenet import LeNetClassifier
from sklenet.datasets import load_sample_digits
from sklenet.evaluation import expected_calibration_error

X, y = load_sample_digits(return_X_y=True)
X_train, X_rest, y_train, y_rest = train_test_split(
    X, y, train_size=600, test_size=1500, stratify=y, random_state=0
)
X_cal, X_test, y_cal, y_test = train_test_split(
    X_rest, y_rest, train_size=500, stratify=y_rest, random_state=0
)
lenet = LeNetClassifier(epochs=25, learning_rate=0.01, early_stopping=False,
                        random_state=0).fit(X_train, y_train)

# %%
# Temperature scaling
# -------------------
# ``FrozenEstimator`` makes ``fit`` a no-op for the LeNet, so
# ``CalibratedClassifierCV`` only fits the temperature, on the calibration set.
# The temperature is the one that minimises the log loss on that set.
calibrated = CalibratedClassifierCV(FrozenEstimator(lenet), method="temperature")
calibrated.fit(X_cal, y_cal)
beta = calibrated.calibrated_classifiers_[0].calibrators[0].beta_
print(f"temperature {1 / beta:.2f} (above 1: the LeNet was overconfident)")

models = {"LeNet": lenet, "LeNet + temperature": calibrated}
for name, model in models.items():
    proba = model.predict_proba(X_test)
    ece = expected_calibration_error(y_test, proba, labels=model.classes_)
    print(f"{name:20s} accuracy {model.score(X_test, y_test):.3f}  "
          f"expected calibration error {ece:.3f}")
same = (calibrated.predict(X_test) == lenet.predict(X_test)).mean()
print(f"predictions unchanged: {same:.0%}")

# %%
# Reliability diagram
# -------------------
# Each point is a bin of test predictions: their mean confidence (the top
# probability) against the share of them that is right. A calibrated model
# lies on the diagonal; an overconfident one below it.
fig, ax = plt.subplots(figsize=(5, 5))
ax.plot([0, 1], [0, 1], ":", color="grey", label="perfectly calibrated")
for name, model in models.items():
    proba = model.predict_proba(X_test)
    correct = model.classes_[proba.argmax(axis=1)] == y_test
    accuracy, confidence = calibration_curve(correct, proba.max(axis=1),
                                             n_bins=10)
    ece = expected_calibration_error(y_test, proba, labels=model.classes_)
    ax.plot(confidence, accuracy, "o-", label=f"{name} (ECE {ece:.3f})")
ax.set(xlabel="confidence (top probability)", ylabel="accuracy",
       title="Reliability diagram, test digits")
ax.legend(loc="upper left")
plt.show()
