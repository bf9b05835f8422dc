"""The plan up front: how many trainings each step holds and how long the run
will take, from a short calibration training of each model on the run's data.

The calibration trains each kind of network (the standard LeNet, the
study's optimised one, which the ensemble's members also are, and sklenet's
best) for :data:`CALIBRATION_EPOCHS` epochs on at most
:data:`CALIBRATION_IMAGES` of the run's training images, in the run's own
workers, and times each epoch and the validation within it, then two
predictions: the median of the epochs after the first (which traces the
network) is the time of an epoch, split into its training and its
validation, the second prediction the time of a prediction, and the rest
the time to build and trace a network. A training of ``n`` images
validated on ``v`` after each pass is then assumed to take that overhead,
:data:`EXPECTED_EPOCHS` epochs (or the epoch cap, if lower) of training
scaled from the calibration's images to ``n`` and of validation scaled to
``v``, and the predictions that score it. (Scaling a whole epoch by its
training images alone made a learning curve's small trainings, validated
on the same images as the largest, cost half what they did; issue 18.)
Locally the search's trials run one after
another on one worker, on Dask they spread over all workers; meanwhile the
other workers train what does not need the search, and the trainings of the
searched models share all workers once it is done: :func:`estimate` replays
the run's own :class:`~._scheduler.Scheduler`, task by task (each member of
an ensemble a task), so the estimate counts the workers left idle at the end
as well.
"""

import dataclasses
import time

import numpy as np
import pandas as pd

from ._plan import estimator, exit_with_parent, pin_threads
from ._scheduler import Scheduler, replay
from ._settings import MEMBERS_OF

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
#: median of the others is the time of an epoch (of 3 others, the estimate
#: of one run moved by a third from one try to the next). (Timing a 1- and a 3-epoch
#: fit and taking the difference measured mostly noise: on 1,000 images the
#: difference of 0.6-0.9 s was smaller than the spread of a fit's start, and
#: the best recipe's 3 epochs once took less than its 1; issue 18.)
CALIBRATION_EPOCHS = 6
#: The kinds of network that the calibration times; the ensemble's members
#: are optimised LeNets.
CALIBRATED = ("standard", "optimized", "best")


def _epoch_timer():
    """A Keras callback that records the seconds of each epoch in its
    ``seconds`` list and those of the epoch's validation in ``validation``."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds, self.validation = [], []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_test_begin(self, logs=None):
            self._validation_start = time.perf_counter()

        def on_test_end(self, logs=None):
            self.validation.append(time.perf_counter() - self._validation_start)

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    return EpochTimer()


@dataclasses.dataclass(frozen=True)
class Timings:
    """What a calibration training measured, in seconds: the whole fit, each
    epoch and the validation within it, on ``n_images`` training and
    ``n_validation`` validation images; then two predictions of the
    training images (the first traces the prediction)."""

    whole: float
    epochs: list
    validation: list
    predictions: list
    n_images: int
    n_validation: int


def calibration_training(model, data, n_images):
    """The :class:`Timings` of :data:`CALIBRATION_EPOCHS` epochs of ``model``
    on the first ``n_images`` training images of ``data`` (run in a
    worker)."""
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
    steps_per_execution = planned.fit_schedule(len(data.y_train)).steps_per_execution
    # Passes, not epochs of min_epoch_samples images; no early stopping ends
    # so short a fit (the patience is 5 passes or more).
    network = estimator(model, data.settings, random_state=0,
                        epochs=CALIBRATION_EPOCHS, min_epoch_samples=None,
                        steps_per_execution=steps_per_execution,
                        callbacks=[timer])
    start = time.perf_counter()
    network.fit(X, y, validation_data=validation)
    whole = time.perf_counter() - start
    predictions = []
    for _ in range(2):  # a training's scores: predictions of each split
        start = time.perf_counter()
        network.predict_proba(X)
        predictions.append(time.perf_counter() - start)
    return Timings(whole, timer.seconds, timer.validation, predictions, len(y),
                   n_val)


def calibration_from_timings(timings):
    """``{"overhead", "train", "validation", "predict"}`` from
    :class:`Timings`: seconds to build and trace a network (the first epoch
    and prediction beyond the others, and what the fit spent outside its
    epochs), and seconds per image of an epoch's training, of its
    validation and of a prediction."""
    def typical(values):  # after the first, which traces
        return float(np.median(values[1:])) if len(values) > 1 else float(values[0])

    t = timings
    epoch = typical(t.epochs)
    validation = typical(t.validation) if t.validation else 0.0
    predict = t.predictions[-1]
    return {
        "overhead": max(t.whole - len(t.epochs) * epoch, 0.0)
        + max(t.predictions[0] - predict, 0.0),
        "train": max(epoch - validation, 0.0) / t.n_images,
        "validation": validation / t.n_validation,
        "predict": predict / t.n_images,
    }


@dataclasses.dataclass(frozen=True)
class Calibration:
    """Per kind of network, seconds: ``overhead`` to build and trace one;
    per image, ``train`` of an epoch's training part, ``validation`` of its
    validation and ``predict`` of a prediction; and the ``epochs`` a
    training is expected to run, of ``epoch_images`` images at least."""

    overhead: dict
    train: dict
    validation: dict
    predict: dict
    epochs: dict  # expected epochs of a training
    epoch_images: dict  # images of one such epoch: at least min_epoch_samples

    def network_seconds(self, model, n_images, n_validation=0, n_scored=0):
        """Seconds to train ``model`` on ``n_images`` images, validating on
        ``n_validation`` after every pass, then to predict ``n_scored``."""
        kind = MEMBERS_OF.get(model, model)
        passes = self.epochs[kind] * max(1.0, self.epoch_images[kind] / n_images)
        return (self.overhead[kind] + passes * (
            self.train[kind] * n_images + self.validation[kind] * n_validation)
            + self.predict[kind] * n_scored)


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
    measured = {model: calibration_from_timings(timings[model])
                for model in CALIBRATED}
    return Calibration(
        *({model: measured[model][part] for model in CALIBRATED}
          for part in ("overhead", "train", "validation", "predict")),
        {model: expected_epochs(model, data.settings) for model in CALIBRATED},
        {model: _epoch_images(model, data.settings) for model in CALIBRATED})


@dataclasses.dataclass(frozen=True)
class Estimate:
    """The plan: ``table`` has one row per step (trainings, networks, hours
    of training) and a total; ``hours`` is the run's estimated wall-clock
    time on ``n_workers``."""

    table: pd.DataFrame
    hours: float
    n_workers: int

    def __str__(self):
        minutes = self.hours * 60
        duration = (f"{self.hours:.1f} h" if self.hours >= 1
                    else f"{minutes:.0f} min" if minutes >= 10
                    else f"{minutes:.1f} min" if minutes >= 1
                    else f"{self.hours * 3600:.0f} s")
        workers = f"{self.n_workers} worker" + ("s" if self.n_workers > 1 else "")
        return (f"{self.table.to_markdown(index=False)}\n"
                f"estimated time: {duration} on {workers}")


def estimate(planned, data, calibration, n_workers, spread_search=False):
    """The :class:`Estimate` of the trainings ``planned`` (by step name, see
    :func:`~._steps.plan`) on ``n_workers``; ``spread_search``: the search's
    trials run side by side (on Dask)."""
    seconds = {}  # of each task the run submits: members apart
    rows = []
    for name, trainings in planned.items():
        for training in trainings:
            per_network = training.of.network_seconds(training, data, calibration)
            # An ensemble of members is one task per member (its assembly
            # trains nothing); any other training is one task.
            members = training.member_trainings
            seconds.update(dict.fromkeys(members, per_network))
            seconds[training] = 0.0 if members else training.networks * per_network
        rows.append({"step": name, "trainings": len(trainings),
                     "networks": sum(t.networks for t in trainings),
                     "hours of training": sum(
                         seconds[t] + sum(seconds[m] for m in t.member_trainings)
                         for t in trainings) / 3600})
    table = pd.DataFrame(rows)
    table.loc[len(table)] = {"step": "total", "trainings": table["trainings"].sum(),
                             "networks": table["networks"].sum(),
                             "hours of training": sum(seconds.values()) / 3600}
    # Three significant digits: a tiny run's steps take a few seconds.
    table["hours of training"] = [float(f"{hours:.3g}")
                                  for hours in table["hours of training"]]
    todo = [task for trainings in planned.values() for training in trainings
            for task in (*training.member_trainings, training)]
    hours = replay(Scheduler(planned, todo),
                   lambda task: task.of.pieces(seconds[task], task, spread_search),
                   n_workers) / 3600
    return Estimate(table, hours, n_workers)
