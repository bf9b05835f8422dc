"""
=======================================
Saving and loading models safely
=======================================

:func:`sklenet.save` writes a fitted estimator to a pickle-free archive that
:func:`sklenet.load` can read even from an untrusted source. ``joblib`` works
too, but only for files you trust: this example shows both, and why.
"""

# %%
# A model to save
# ---------------
import json
import pickle
import tempfile
import zipfile
from pathlib import Path

import joblib
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

import sklenet
from sklenet import LeNetClassifier
from sklenet.datasets import load_sample_digits
from sklenet.persistence import InvalidArchiveError, read_manifest

X, y = load_sample_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=1000, test_size=500, stratify=y, random_state=0
)
clf = LeNetClassifier(learning_rate=0.005, epochs=4,
                      early_stopping=False, random_state=0)
clf.fit(X_train, y_train)
folder = Path(tempfile.mkdtemp())

# %%
# The safe format
# ---------------
# One zip archive: JSON documents for the parameters and fitted attributes, a
# manifest with SHA-256 digests and versions, and the network in Keras'
# ``.keras`` format.
path = folder / "lenet.sklenet"
sklenet.save(clf, path)
with zipfile.ZipFile(path) as archive:
    for member in archive.infolist():
        print(f"{member.filename:28} {member.file_size:>8,} bytes")

# %%
# :func:`~sklenet.persistence.read_manifest` reads the manifest without
# loading anything:
manifest = read_manifest(path)
keys = ("format", "format_version", "estimator_class", "models")
print(json.dumps({key: manifest[key] for key in keys}, indent=1))
manifest["versions"]

# %%
# :func:`sklenet.load` checks the archive, allows only sklenet classes and
# loads the network with Keras' safe mode. The loaded model predicts exactly
# what the original did:
loaded = sklenet.load(path)
print(type(loaded).__name__, loaded.classes_)
original = clf.predict_proba(X_test)
restored = loaded.predict_proba(X_test)
print("same probabilities:", np.array_equal(original, restored))

fig, ax = plt.subplots(figsize=(4, 4), layout="constrained")
ax.scatter(original.ravel(), restored.ravel(), s=4, alpha=0.3)
ax.set(xlabel="probability, fitted model",
       ylabel="probability, loaded model",
       title="every test probability, before and after")

# %%
# joblib and pickle
# -----------------
# The estimators pickle like any scikit-learn estimator:
joblib.dump(clf, folder / "lenet.joblib")
from_joblib = joblib.load(folder / "lenet.joblib")
print("same predictions:",
      np.array_equal(from_joblib.predict(X_test), clf.predict(X_test)))

# %%
# But loading a pickle **runs code** chosen by whoever wrote the file: any
# object can tell pickle to call any importable function with any arguments
# while it is loaded. A harmless demonstration, calling ``print``; a real
# attack would call ``os.system`` instead.


class Payload:
    def __reduce__(self):
        return print, ("this ran while the file was being loaded!",)


(folder / "model.joblib").write_bytes(pickle.dumps(Payload()))
_ = joblib.load(folder / "model.joblib")

# %%
# No check after loading can undo what already ran. :func:`sklenet.load`
# never unpickles: handed that file, it refuses it before reading anything
# inside.
try:
    sklenet.load(folder / "model.joblib")
except InvalidArchiveError as error:
    print("InvalidArchiveError:", error)

# %%
# So: ``sklenet.save``/``sklenet.load`` for models you share or download,
# ``joblib`` only for files you created yourself (for instance a whole
# :class:`~sklearn.pipeline.Pipeline` around a LeNet). See :ref:`persistence`.
