"""Augmentation, dropout, batch normalisation, schedules and label smoothing."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from sklenet import LeNetClassifier, LeNetEnsembleClassifier, save
from sklenet.evaluation import _epochs_run

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
    ensemble = LeNetEnsembleClassifier(learning_rate_schedule=schedule)
    assert ensemble._epoch_cap_is_planned == (schedule == "cosine")
    clf = LeNetClassifier(**fast(epochs=2, learning_rate_schedule=schedule))
    assert _epochs_run(clf.fit(X, y)) == (2, hits)
