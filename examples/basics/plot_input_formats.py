"""
===================================
Input formats and pixel scaling
===================================

:class:`~sklenet.LeNetClassifier` takes flat pixel rows, image-shaped arrays
and DataFrames, and scales pixels by one rule fixed at ``fit``: integer dtypes
are 0-255 and divided by 255, floats are used as they are. This example shows
each format, and the two mistakes the rule cannot catch.
"""

# %%
# Four ways to give the same images
# ---------------------------------
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from sklenet import LeNetClassifier
from sklenet.datasets import load_sample_digits

# X: a DataFrame of columns pixel0 ... pixel783, uint8
X, y = load_sample_digits(return_X_y=True, as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=1500, test_size=500, stratify=y, random_state=0
)
pixels, test_pixels = X_train.to_numpy(), X_test.to_numpy()  # 0-255

formats = {
    "DataFrame, uint8": (X_train, X_test),
    "flat uint8 array": (pixels, test_pixels),
    "uint8 images (n, 28, 28)": (
        pixels.reshape(-1, 28, 28), test_pixels.reshape(-1, 28, 28)
    ),
    "flat float32 in [0, 1]": (
        pixels.astype(np.float32) / 255,
        test_pixels.astype(np.float32) / 255,
    ),
}

# %%
# Each fit records the scale it chose in ``input_scale_`` and the image shape
# in ``image_shape_``; a DataFrame's column names are kept in
# ``feature_names_in_``, as in scikit-learn.
models, rows = {}, []
for name, (train, test) in formats.items():
    clf = LeNetClassifier(learning_rate=0.005, epochs=6,
                          early_stopping=False, random_state=0)
    models[name] = clf.fit(train, y_train)
    rows.append({
        "X": name,
        "input_scale_": f"{clf.input_scale_:.5f}",
        "image_shape_": clf.image_shape_,
        "feature_names_in_": hasattr(clf, "feature_names_in_"),
        "test accuracy": clf.score(test, y_test),
    })
pd.DataFrame(rows)

# %%
# The four models see the same numbers and reach the same accuracy: the
# loaders return ``uint8``, so there is no need to divide by 255 yourself.
#
# The two mistakes
# ----------------
# The scale is decided by the dtype of the *training* data and kept.
# Changing the pixels' scale between ``fit`` and ``predict`` therefore feeds
# the network numbers it was not trained on:
#
# * a model fitted on ``uint8`` pixels, given test pixels already divided by
#   255, divides them once more: it sees nearly black images;
# * a model fitted on floats in [0, 1], given raw ``uint8`` pixels, takes them
#   as they are: values up to 255 instead of 1.
#
# Test accuracy of each case:
uint8_model = models["flat uint8 array"]
float_model = models["flat float32 in [0, 1]"]
scaled = test_pixels / 255
cases = {
    "uint8 model, uint8 pixels": uint8_model.score(test_pixels, y_test),
    "uint8 model, pixels / 255": uint8_model.score(scaled, y_test),
    "float model, floats": float_model.score(scaled, y_test),
    "float model, uint8 pixels": float_model.score(test_pixels, y_test),
}
fig, ax = plt.subplots(figsize=(6, 2.6), layout="constrained")
bars = ax.barh(list(cases), list(cases.values()),
               color=["C2", "C3", "C2", "C3"])
ax.bar_label(bars, fmt="%.2f", padding=3)
ax.set_xlim(0, 1.1)
ax.invert_yaxis()
ax.set_xlabel("test accuracy")
plt.show()

# %%
# The first mistake ruins the predictions. The second does little harm to
# this network, whose tanh units saturate on large inputs either way, but its
# outputs are no longer those that were validated: do not rely on it. Keep
# the same dtype from ``fit`` to ``predict``, or put the conversion in a
# :class:`~sklearn.pipeline.Pipeline` so that it happens at both (see
# :ref:`sphx_glr_auto_examples_model_selection_plot_grid_search_pipeline.py`).
