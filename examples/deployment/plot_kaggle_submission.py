"""
=======================================
A Kaggle "Digit Recognizer" submission
=======================================

The study's data came from Kaggle's "Digit Recognizer" competition:
``train.csv`` (a ``label`` column and ``pixel0`` ... ``pixel783``) and
``test.csv`` (pixels only), predictions submitted as ``ImageId,Label`` with
``ImageId`` counting from 1. This example writes small files of that format
from the offline sample, trains on ``train.csv`` as the study deployed its
models (70 % to train, 30 % for early stopping), and writes the submission.
"""

# %%
# Small Kaggle-style files
# ------------------------
# With the competition's files, skip this step and point the paths at them.
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.model_selection import train_test_split

from sklenet import LeNetClassifier
from sklenet.datasets import load_digit_recognizer, load_sample_digits
from sklenet.evaluation import deployment_split

# frame: the columns label, pixel0 ... pixel783, as Kaggle's train.csv
frame = load_sample_digits(as_frame=True).frame
train_frame, test_frame = train_test_split(
    frame, train_size=3000, test_size=1000, stratify=frame["label"],
    random_state=0,
)
folder = Path(tempfile.mkdtemp())
train_frame.to_csv(folder / "train.csv", index=False)
test_frame.drop(columns="label").to_csv(folder / "test.csv",
                                       index=False)
hidden_labels = test_frame["label"].to_numpy()  # Kaggle keeps these
print(pd.read_csv(folder / "test.csv", nrows=3).iloc[:, :6])

# %%
# Train
# -----
# :func:`~sklenet.datasets.load_digit_recognizer` reads either file and checks
# its columns; :func:`~sklenet.evaluation.deployment_split` is the study's
# 70/30 split, the 30 % used only for early stopping.
X, y = load_digit_recognizer(folder / "train.csv", return_X_y=True)
X_train, X_val, y_train, y_val = deployment_split(X, y, random_state=0)
clf = LeNetClassifier(learning_rate=0.005, epochs=15, random_state=0)
clf.fit(X_train, y_train, validation_data=(X_val, y_val))
print(f"{clf.n_epochs_} epochs, "
      f"validation accuracy {clf.score(X_val, y_val):.3f}")

# %%
# Predict and write the submission
# --------------------------------
X_test, _ = load_digit_recognizer(folder / "test.csv", return_X_y=True)
submission = pd.DataFrame({
    "ImageId": range(1, len(X_test) + 1),
    "Label": clf.predict(X_test),
})
submission.to_csv(folder / "submission.csv", index=False)
print((folder / "submission.csv").read_text()[:60])

# %%
# Kaggle would score the submission by its accuracy on the hidden labels:
print(f"accuracy: {(submission['Label'] == hidden_labels).mean():.3f}")

fig, axes = plt.subplots(1, 8, figsize=(8, 1.6), layout="constrained")
rows = submission.to_numpy()
for ax, (image_id, label), pixels in zip(axes, rows, X_test):
    ax.imshow(pixels.reshape(28, 28), cmap="gray_r")
    ax.set_title(f"#{image_id}: {label}", fontsize=9)
    ax.set_axis_off()
plt.show()

# %%
# From the command line
# ---------------------
# The same with the ``sklenet`` command, the model saved with
# :func:`sklenet.save` in between (add ``--model-type optimized`` or
# ``ensemble`` for the study's other models):
#
# .. code-block:: bash
#
#    sklenet train --data train.csv --model lenet.sklenet
#    sklenet predict --model lenet.sklenet --data test.csv \
#        --out submission.csv
