"""Augmentation, dropout, batch normalisation, schedules and label smoothing."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from sklenet import LeNetClassifier, LeNetEnsembleClassifier, save
from sklenet.evaluation import (
    _epochs_run,
    stopped_at_epoch_cap,
    stopped_while_learning,
)

from .helpers import fast

AUGMENTED = {"rotation_range": 15.0, "shift_range": 0.15, "zoom_range": 0.15}
# Classic LeNet-5 choices: learns 300 digits in a few epochs.
CLASSIC = {"conv_activation": "relu", "dense_activation": "relu",
           "pooling": "max", "global_pooling": False}
ALL_OPTIONS = {**AUGMENTED, "dropout": 0.3, "batch_normalization": True,
               "learning_rate_schedule": "plateau", "label_smoothing": 0.1}


def test_augmentation_layers_are_part_of_the_model(digits):
    X, y, _, _ = digits
    clf = LeNetClassifier(**fast(**AUGMENTED)).initialize(X, y)
    augmentation = clf.model_.get_layer("augmentation")
    assert [layer.name for layer in augmentation.layers] == ["rotation", "shift",
                                                            "zoom"]
    assert "augmentation" not in [
        layer.name for layer in LeNetClassifier().initialize(X, y).model_.layers]


def test_augmentation_is_off_in_predict(digits, tmp_path):
    """Repeated predictions agree, and so do those of the saved model loaded
    in a new process."""
    X, y, X_test, _ = digits
    clf = LeNetClassifier(**fast(**ALL_OPTIONS, epochs=2)).fit(X, y)
    proba = clf.predict_proba(X_test)
    np.testing.assert_array_equal(proba, clf.predict_proba(X_test))
    # The training-time transformation does change the images.
    images = clf.feature_encoder_.transform(X_test[:8])
    augmented = clf.model_.get_layer("augmentation")(images, training=True)
    assert np.abs(np.asarray(augmented) - images).max() > 0.1
    path = tmp_path / "model.sklenet"
    save(clf, path)
    np.save(tmp_path / "X.npy", X_test)
    script = textwrap.dedent(f"""
        import numpy as np
        from sklenet import load
        model = load({str(path)!r})
        np.save({str(tmp_path / 'proba.npy')!r},
                model.predict_proba(np.load({str(tmp_path / 'X.npy')!r})))
    """)
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
    np.testing.assert_allclose(np.load(tmp_path / "proba.npy"), proba, atol=1e-6)


def test_same_int_random_state_gives_identical_fits_with_augmentation(digits):
    X, y, X_test, _ = digits
    fits = [LeNetClassifier(**fast(**ALL_OPTIONS, epochs=2)).fit(X, y)
            for _ in range(2)]
    assert fits[0].history_ == fits[1].history_
    np.testing.assert_array_equal(fits[0].predict_proba(X_test),
                                  fits[1].predict_proba(X_test))


def test_another_random_state_draws_other_augmentations(digits):
    X, y, X_test, _ = digits
    a, b = (LeNetClassifier(**fast(**AUGMENTED, random_state=seed)).fit(X, y)
            for seed in (0, 1))
    assert not np.allclose(a.predict_proba(X_test), b.predict_proba(X_test))


def test_dropout_and_batch_normalization_layers(digits):
    X, y, _, _ = digits
    model = LeNetClassifier(dropout=0.25, batch_normalization=True).initialize(
        X, y).model_
    names = [layer.name for layer in model.layers]
    assert {"conv1_bn", "conv2_bn", "dropout1", "dropout2", "dropout3"} <= set(names)
    assert model.get_layer("dropout1").rate == 0.25
    assert model.get_layer("conv1").use_bias is False


@pytest.mark.parametrize("schedule", ["plateau", "cosine"])
def test_learning_rate_schedules_lower_the_rate(digits, schedule):
    X, y, _, _ = digits
    # Cosine: all four epochs (no early stopping) of a four-epoch decay.
    clf = LeNetClassifier(**fast(learning_rate_schedule=schedule, epochs=4,
                                 n_iter_no_change=2,
                                 early_stopping=schedule == "plateau",
                                 learning_rate=0.05)).fit(X, y)
    optimizer = clf.model_.optimizer
    rate = float(np.asarray(optimizer.learning_rate))
    assert rate < 0.05
    if schedule == "cosine":
        assert rate < 0.05 * 0.1


def test_label_smoothing_trains_with_one_hot_targets(digits):
    X, y, X_test, y_test = digits
    clf = LeNetClassifier(**fast(**CLASSIC, label_smoothing=0.2, epochs=5,
                                 learning_rate=0.01)).fit(X, y)
    assert clf.model_.loss.get_config()["label_smoothing"] == 0.2
    assert clf.score(X_test, y_test) > 0.7


@pytest.mark.parametrize("schedule, hits", [(None, 1), ("plateau", 1), ("cosine", 0)])
def test_only_a_cosine_schedule_plans_to_end_at_the_epoch_cap(digits, schedule,
                                                              hits):
    # A cosine decays the rate to 0 at the cap: ending there is no cap hit.
    X, y, _, _ = digits
    assert stopped_at_epoch_cap(2, 2, schedule) == (schedule != "cosine")
    clf = LeNetClassifier(**fast(epochs=2, learning_rate_schedule=schedule))
    assert _epochs_run(clf.fit(X, y))[:2] == (2, hits)


def test_min_epoch_samples_counts_epochs_of_that_many_images(digits):
    # 2 epochs of at least 600 images on 300 are 4 passes: the same network,
    # weight for weight, as 4 epochs of one pass each.
    X, y, X_test, _ = digits
    stretched = LeNetClassifier(**fast(epochs=2, min_epoch_samples=600)).fit(X, y)
    assert (stretched.n_epochs_, stretched.max_epochs_) == (4, 4)
    assert stretched.n_iter_no_change_ == 10  # 5 epochs of 600 images
    passes = LeNetClassifier(**fast(epochs=4)).fit(X, y)
    assert (passes.max_epochs_, passes.n_iter_no_change_) == (4, 5)
    np.testing.assert_array_equal(stretched.predict_proba(X_test),
                                  passes.predict_proba(X_test))
    # Fewer images than a training set: one pass per epoch; partial_fit: one.
    few = LeNetClassifier(**fast(epochs=2, min_epoch_samples=100)).fit(X, y)
    assert (few.n_epochs_, few.n_iter_no_change_) == (2, 5)
    clf = LeNetClassifier(**fast(epochs=2, min_epoch_samples=600))
    assert clf.partial_fit(X, y, classes=np.arange(10)).n_epochs_ == 1


def test_min_epoch_samples_stretches_early_stopping_and_schedules(digits):
    # Early stopping splits off 10 % (270 images stay): its patience of 2
    # epochs of 540 images waits 4 passes; the cosine decays over 6 passes.
    X, y, _, _ = digits
    clf = LeNetClassifier(**fast(epochs=3, early_stopping=True, n_iter_no_change=2,
                                 min_epoch_samples=540,
                                 learning_rate_schedule="cosine")).fit(X, y)
    assert (clf.max_epochs_, clf.n_iter_no_change_) == (6, 4)
    assert clf.n_epochs_ <= 6
    ensemble = LeNetEnsembleClassifier(**fast(
        epochs=2, min_epoch_samples=600, n_estimators=2, ensemble="snapshot"))
    ensemble.fit(X, y)
    assert [member.n_epochs_ for member in ensemble.estimators_] == [2, 2]


def test_a_training_stopped_while_learning_is_flagged(digits):
    # Stopped by construction after 3 passes of a LeNet that learns fast:
    # both losses still falling.
    X, y, X_test, y_test = digits
    params = {**CLASSIC, "learning_rate": 0.01, "n_iter_no_change": 2}
    stopped = LeNetClassifier(**fast(epochs=3, **params)).fit(
        X, y, validation_data=(X_test, y_test))
    assert stopped.history_["val_loss"][-1] < stopped.history_["val_loss"][0]
    assert stopped_while_learning(stopped)
    assert _epochs_run(stopped) == (3, 1, 1)
    # Losses that no longer move (a learning rate of 1e-9): not flagged.
    flat = LeNetClassifier(**fast(epochs=3, **{**params, "learning_rate": 1e-9})).fit(
        X, y, validation_data=(X_test, y_test))
    assert not stopped_while_learning(flat)
    assert _epochs_run(flat) == (3, 1, 0)
