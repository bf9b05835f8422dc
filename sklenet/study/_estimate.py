"""The plan up front: how many trainings each step holds and how long the run
will take, from a short calibration training of each model on the run's data.

The calibration trains each kind of network (the standard LeNet, the
study's optimised one, which the ensemble's members also are, and sklenet's
best) for :data:`CALIBRATION_EPOCHS` epochs on at most
:data:`CALIBRATION_IMAGES` of the run's training images, in the run's own
workers, and times each epoch: the median of the epochs after the first
(which traces the network) is the time per epoch, the rest of the fit the
time to build and trace a network. A training
of ``n`` images is then assumed to take that overhead plus
:data:`EXPECTED_EPOCHS` epochs (or the epoch cap, if lower) scaled from the
calibration's images to ``n``. Locally the search's trials run one after
another on one worker, on Dask they spread over all workers; meanwhile the
other workers train what does not need the search, and the trainings of the
searched models share all workers once it is done.
"""

import dataclasses
import math
import time

import numpy as np
import pandas as pd

from ._plan import SEARCHED, estimator, exit_with_parent, pin_threads

#: Epochs an early-stopped training is assumed to run: the standard LeNet
#: trained 42-43 epochs on the sample with the study's patience of 5
#: (bench/RESULTS.md, section 4).
EXPECTED_EPOCHS = 40
#: The same in epochs of the study's 25,200 images (min_epoch_samples): the
#: standard and optimised LeNets stopped after 123-200 passes over the
#: sample's 3,000 training images, 15-24 such epochs (issue 19).
EXPECTED_LONG_EPOCHS = 16
#: Training images of a calibration training (at most).
CALIBRATION_IMAGES = 1000
#: Epochs of a calibration training: the first traces the network, the
#: median of the others is the time of an epoch. (Timing a 1- and a 3-epoch
#: fit and taking the difference measured mostly noise: on 1,000 images the
#: difference of 0.6-0.9 s was smaller than the spread of a fit's start, and
#: the best recipe's 3 epochs once took less than its 1; issue 18.)
CALIBRATION_EPOCHS = 4
#: The kinds of network that the calibration times; the ensemble's members
#: are optimised LeNets.
CALIBRATED = ("standard", "optimized", "best")


def _epoch_timer():
    """A Keras callback that records the seconds of each epoch (validation
    included) in its ``seconds`` list."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    return EpochTimer()


def calibration_training(model, data, n_images):
    """``(seconds of the whole fit, seconds of each epoch)`` of
    :data:`CALIBRATION_EPOCHS` epochs of ``model`` on the first ``n_images``
    training images of ``data`` (run in a worker)."""
    exit_with_parent()
    pin_threads()
    n_val = max(1, len(data.y_val) * n_images // len(data.y_train))
    X, y = data.X_train[:n_images], data.y_train[:n_images]
    validation = (data.X_val[:n_val], data.y_val[:n_val])
    timer = _epoch_timer()
    # The run's trainings are long enough to run several batches per call
    # into TensorFlow (steps_per_execution="auto"), which is faster per
    # batch; the calibration runs them so too.
    planned = estimator(model, data.settings)
    steps_per_execution = planned._resolve_steps_per_execution(
        len(data.y_train), planned._epoch_counts(len(data.y_train))[0])
    # Passes, not epochs of min_epoch_samples images; no early stopping ends
    # so short a fit (the patience is 5 passes or more).
    network = estimator(model, data.settings, random_state=0,
                        epochs=CALIBRATION_EPOCHS, min_epoch_samples=None,
                        steps_per_execution=steps_per_execution,
                        callbacks=[timer])
    start = time.perf_counter()
    network.fit(X, y, validation_data=validation)
    return time.perf_counter() - start, timer.seconds


def calibration_from_timings(whole, epochs, n_images):
    """``(seconds to build and trace a network, seconds of an epoch per
    image)`` from a calibration fit of ``whole`` seconds whose epochs took
    ``epochs`` seconds each on ``n_images`` images."""
    epoch = float(np.median(epochs[1:])) if len(epochs) > 1 else float(epochs[0])
    return max(whole - len(epochs) * epoch, 0.0), epoch / n_images


@dataclasses.dataclass(frozen=True)
class Calibration:
    """Per kind of network: seconds to build and trace one, and seconds of
    one epoch per training image."""

    overhead: dict
    epoch_per_image: dict
    epochs: dict  # expected epochs of a training
    epoch_images: dict  # images of one such epoch: at least min_epoch_samples

    def network_seconds(self, model, n_images):
        kind = "optimized" if model == "ensemble" else model
        return (self.overhead[kind] + self.epochs[kind] * self.epoch_per_image[kind]
                * max(n_images, self.epoch_images[kind]))


def expected_epochs(model, settings):
    """Epochs a training of ``model`` is assumed to run: a cosine schedule's
    networks run to their cap by design, the others stop early after
    :data:`EXPECTED_EPOCHS` (:data:`EXPECTED_LONG_EPOCHS` when an epoch
    holds ``min_epoch_samples`` images) unless capped lower."""
    network = estimator(model, settings)
    if getattr(network, "learning_rate_schedule", None) == "cosine":
        return network.epochs
    expected = (EXPECTED_EPOCHS if getattr(network, "min_epoch_samples", None) is None
                else EXPECTED_LONG_EPOCHS)
    return min(network.epochs, expected)


def _epoch_images(model, settings):
    """The fewest images an epoch of ``model`` holds under ``settings``."""
    return getattr(estimator(model, settings), "min_epoch_samples", None) or 0


def calibrate(workers, shared, data):
    """The :class:`Calibration` of the run's ``workers`` on its data."""
    n_images = min(CALIBRATION_IMAGES, len(data.y_train))
    futures = {workers.submit(calibration_training, model, shared, n_images,
                              key=f"calibration-{model}"): model
               for model in CALIBRATED}
    timings = {}
    while len(timings) < len(futures):
        for future in workers.wait([f for f in futures
                                    if futures[f] not in timings]):
            timings[futures[future]] = future.result()
    overhead, per_image = {}, {}
    for model, (whole, epochs) in timings.items():
        overhead[model], per_image[model] = calibration_from_timings(
            whole, epochs, n_images)
    return Calibration(overhead, per_image, {
        model: expected_epochs(model, data.settings) for model in CALIBRATED}, {
        model: _epoch_images(model, data.settings) for model in CALIBRATED})


@dataclasses.dataclass(frozen=True)
class Estimate:
    """The plan: ``table`` has one row per step (trainings, networks, hours
    of training) and a total; ``hours`` is the run's estimated wall-clock
    time on ``n_workers``."""

    table: pd.DataFrame
    hours: float
    n_workers: int

    def __str__(self):
        duration = (f"{self.hours:.1f} h" if self.hours >= 1
                    else f"{self.hours * 60:.0f} min")
        workers = f"{self.n_workers} worker" + ("s" if self.n_workers > 1 else "")
        return (f"{self.table.to_markdown(index=False)}\n"
                f"estimated time: {duration} on {workers}")


def estimate(planned, data, calibration, n_workers, spread_search=False):
    """The :class:`Estimate` of the trainings ``planned`` on ``n_workers``;
    ``spread_search``: the search's trials run side by side (on Dask)."""
    rows, search, searched, total = [], 0.0, 0.0, 0.0
    for name, trainings in planned.items():
        seconds = 0.0
        for training in trainings:
            if training.kind == "search":
                per_trial = calibration.network_seconds("standard",
                                                        len(data.y_train))
                seconds += training.networks * per_trial
                rounds = (math.ceil(training.networks / n_workers) if spread_search
                          else training.networks)
                search += rounds * per_trial
                continue
            n_images = (training.train_size or
                        (len(data.y_deploy) if training.kind == "convergence"
                         else len(data.y_train)))
            per_network = calibration.network_seconds(training.model, n_images)
            cost = training.networks * per_network
            seconds += cost
            searched += cost if training.model in SEARCHED else 0.0
        total += seconds
        rows.append({"step": name, "trainings": len(trainings),
                     "networks": sum(t.networks for t in trainings),
                     "hours of training": seconds / 3600})
    # The search's trials run in rounds (of one trial locally, of one per
    # worker on Dask), the rest wherever a worker is free; what needs the
    # search waits for it.
    wall = max(total / n_workers, search + searched / n_workers)
    table = pd.DataFrame(rows)
    table.loc[len(table)] = {"step": "total", "trainings": table["trainings"].sum(),
                             "networks": table["networks"].sum(),
                             "hours of training": total / 3600}
    # Three significant digits: a tiny run's steps take a few seconds.
    table["hours of training"] = [float(f"{hours:.3g}")
                                  for hours in table["hours of training"]]
    return Estimate(table, wall / 3600, n_workers)

