"""
===========================================
Quick start: train the study's LeNet
===========================================

Train the standard LeNet of the study on the offline MNIST sample, look at its
convergence and architecture, and predict a few digits.
"""

# %%
# Load the data
# -------------
# :func:`~sklenet.datasets.load_sample_digits` returns 5,000 real MNIST digits
# as ``uint8`` pixels (0-255), one row of 784 pixels per image. The rows are
# sorted by class, so we split them with stratification.
import matplotlib.pyplot as plt
from sklearn.model_selection import train_test_split

from sklenet import LeNetClassifier
from sklenet.datasets import load_sample_digits
from sklenet.plotting import plot_architecture, plot_convergence

X, y = load_sample_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=3000, test_size=1000, stratify=y, random_state=0
)
print(X_train.shape, X_train.dtype, y_train[:10])

fig, axes = plt.subplots(2, 8, figsize=(8, 2.4), layout="constrained")
for image, label, ax in zip(X_train, y_train, axes.ravel()):
    ax.imshow(image.reshape(28, 28), cmap="gray_r")
    ax.set_title(label)
    ax.set_axis_off()

# %%
# Train
# -----
# The defaults of :class:`~sklenet.LeNetClassifier` are the study's standard
# LeNet. ``fit`` holds out a stratified 10 % of the training data and stops
# when its accuracy has not improved for ``n_iter_no_change=5`` epochs,
# keeping the best weights. The study trained with Adam's default learning
# rate of 0.001 for up to 100 epochs; to finish in seconds we use 0.005 and at
# most 15 epochs.
clf = LeNetClassifier(learning_rate=0.005, epochs=15, random_state=0)
clf.fit(X_train, y_train)
print(f"trained {clf.n_epochs_} epochs, kept epoch {clf.best_epoch_}")
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# The estimator behaves like any scikit-learn classifier: ``predict`` returns
# labels from ``classes_``, ``predict_proba`` one probability per class.
proba = clf.predict_proba(X_test[:8])
print(clf.classes_)
print(proba.round(2)[:3])

fig, axes = plt.subplots(1, 8, figsize=(8, 1.6), layout="constrained")
labels = clf.predict(X_test[:8])
for image, label, p, ax in zip(X_test, labels, proba, axes):
    ax.imshow(image.reshape(28, 28), cmap="gray_r")
    ax.set_title(f"{label} ({p.max():.0%})", fontsize=9)
    ax.set_axis_off()

# %%
# Convergence
# -----------
# ``history_`` holds the accuracy of every epoch on the training data and on
# the held-out validation part; :func:`~sklenet.plotting.plot_convergence`
# draws the study's convergence curve and marks the epoch early stopping
# kept.
plot_convergence(clf)
plt.show()

# %%
# Architecture
# ------------
# ``model_`` is the trained :class:`keras.Model`.
# :func:`~sklenet.plotting.plot_architecture` draws its layers with their
# output shapes and parameters: 15,626 for the standard LeNet, whatever the
# size of the (grey) images, thanks to the global average pooling before the
# dense layers.
plot_architecture(clf)
print(f"{clf.model_.count_params():,} parameters")
plt.show()
# sphinx_gallery_thumbnail_number = 3
