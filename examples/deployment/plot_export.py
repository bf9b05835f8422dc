"""
===================================================
Deploying a digit recogniser without TensorFlow
===================================================

:func:`sklenet.export` writes a fitted LeNet as one ONNX file that takes raw
pixel rows, exactly what ``predict_proba`` takes, and returns the class
probabilities; the class labels travel in the file. Any ONNX runtime can then
classify digits: a web service, a phone, a browser. This example exports a
model and classifies digits in a separate Python process that imports only
NumPy and onnxruntime, never TensorFlow.
"""

# %%
# A model to ship
# ---------------
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

import sklenet
from sklenet import LeNetClassifier
from sklenet.datasets import load_sample_digits

X, y = load_sample_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=1000, test_size=500, stratify=y, random_state=0
)
clf = LeNetClassifier(learning_rate=0.005, epochs=8,
                      early_stopping=False, random_state=0)
clf.fit(X_train, y_train)
print(f"pixels: {X_train.dtype}, test accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# Export
# ------
# The graph inside the file casts the uint8 pixels to float, scales them by
# 1/255 and reshapes them to 28x28 images, as the estimator does; exporting
# ``clf.model_`` alone would skip that and silently give wrong answers on raw
# pixels.
folder = Path(tempfile.mkdtemp())
path = folder / "digits.onnx"
metadata = sklenet.export(clf, path, format="onnx")
print(f"{path.name}: {path.stat().st_size / 1024:.0f} KiB")
print({key: metadata[key] for key in
       ("classes", "n_features", "input_dtype", "image_shape", "input_scale")})

# %%
# Classify in a process without TensorFlow
# ----------------------------------------
# This is the whole program a service needs: NumPy and onnxruntime
# (``pip install onnxruntime``), the ONNX file, and pixels. The labels come
# from the file's metadata.
program = '''
import json, sys
import numpy as np
import onnxruntime

session = onnxruntime.InferenceSession(sys.argv[1])
metadata = session.get_modelmeta().custom_metadata_map
classes = np.array(json.loads(metadata["classes"]))
pixels = np.load(sys.argv[2])  # (n, 784) uint8, as in training
(proba,) = session.run(["probabilities"], {"pixels": pixels})
print(json.dumps({
    "labels": classes[proba.argmax(axis=1)].tolist(),
    "probabilities": proba.tolist(),
    "tensorflow imported": "tensorflow" in sys.modules,
}))
'''
(folder / "classify.py").write_text(program)
np.save(folder / "pixels.npy", X_test)
run = subprocess.run(
    [sys.executable, folder / "classify.py", path, folder / "pixels.npy"],
    capture_output=True, text=True, check=True,
)
answer = json.loads(run.stdout)
labels = np.array(answer["labels"])
print("TensorFlow imported:", answer["tensorflow imported"])
print(f"accuracy in the TensorFlow-free process: {np.mean(labels == y_test):.3f}")

# %%
# The runtime's probabilities are those of ``predict_proba``, up to float
# rounding:
difference = np.abs(np.array(answer["probabilities"]) - clf.predict_proba(X_test))
print(f"largest difference from predict_proba: {difference.max():.1e}")
print("same labels as predict:", np.array_equal(labels, clf.predict(X_test)))

fig, axes = plt.subplots(3, 8, figsize=(8, 3.4), layout="constrained")
for ax, pixels, label, truth in zip(axes.flat, X_test, labels, y_test):
    ax.imshow(pixels.reshape(28, 28), cmap="gray_r")
    ax.set_title(f"{label}", color="black" if label == truth else "red")
    ax.axis("off")
fig.suptitle("digits classified by onnxruntime (red: wrong)")

# %%
# Other targets
# -------------
# ``format="tflite"`` writes a LiteRT (TensorFlow Lite) file for phones and
# microcontrollers, run with ``ai_edge_litert``; ``format="saved_model"``
# writes a TensorFlow SavedModel folder for TensorFlow Serving. Those formats
# have no metadata field, so the labels go to ``<path>.json`` beside them.
# To convert a whole scikit-learn pipeline that ends in a LeNet, call
# :func:`sklenet.register_skl2onnx_converters` and then ``skl2onnx.to_onnx``.
# ``pip install "sklenet[export]"`` installs the converters and runtimes.
