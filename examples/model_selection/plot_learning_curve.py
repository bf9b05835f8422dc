"""
==============================
Learning curve of a LeNet
==============================

The study drew train and test accuracy against the training-set size, 20
trainings per size, as mean ± standard deviation.
:func:`sklenet.evaluation.repeated_learning_curve` runs that protocol for any
classifier (each repeat: a new stratified train/test split and a new seed,
then scikit-learn's :func:`~sklearn.model_selection.learning_curve`), and
:func:`sklenet.plotting.plot_learning_curve` draws it.
"""

# %%
# Data and model
# --------------
# 2,000 digits of the sample, 400 of them held out as the test set of each
# repeat, and the study's standard LeNet. ``repeated_learning_curve`` sets
# each training's early-stopping patience to the study's 10 epochs.
import matplotlib.pyplot as plt
from sklearn.model_selection import train_test_split

from sklenet import LeNetClassifier
from sklenet.datasets import load_sample_digits
from sklenet.evaluation import repeated_learning_curve
from sklenet.plotting import plot_learning_curve

X, y = load_sample_digits(return_X_y=True)
X, _, y, _ = train_test_split(
    X, y, train_size=2000, stratify=y, random_state=0
)
lenet = LeNetClassifier(learning_rate=0.005, epochs=12)

# %%
# The curve
# ---------
# Three sizes (25 %, 50 % and 100 % of the 1,600 training images) and two
# repeats per size: 6 trainings. The study used 20 repeats and up to 100
# epochs.
runs, summary = repeated_learning_curve(
    lenet, X, y, train_sizes=[0.25, 0.5, 1.0], n_repeats=2,
    test_size=400, random_state=0,
)
runs

# %%
# ``summary`` has the mean and standard deviation per size:
summary

# %%
ax = plot_learning_curve(runs)
ax.set_title("standard LeNet, 12 epochs at most")
plt.show()

# %%
# Reading the curve
# -----------------
# Two effects add up here. More images teach the network more, as in the
# study; and with at most 12 epochs, a small training set also gets fewer
# weight updates (an epoch of 400 images is about 12 updates of a batch of
# 32, of 1,600 images about 45, 10 % being held out for early stopping).
# The study's trainings ran until early stopping (up to 100 epochs), which
# removes the second effect; raise ``epochs`` to see it vanish.
#
# Pass another estimator (``LeNetClassifier(**OPTIMIZED_PARAMS)``, a
# :class:`~sklenet.LeNetEnsembleClassifier`) for the study's other curves.
# scikit-learn's own :func:`~sklearn.model_selection.learning_curve` and
# :class:`~sklearn.model_selection.LearningCurveDisplay` work on any sklenet
# estimator as well.
