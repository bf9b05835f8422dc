"""Keras callbacks of the LeNet estimators' training loop.

The search's pruning callback (``_TrialReporter``) lives with the search in
``sklenet.model_selection._objective``: it reports to Optuna, which the
estimators never import.
"""

import keras

from ._sklearn_callbacks import fit_metadata


class CosineAnnealing(keras.callbacks.Callback):
    """Cosine learning-rate decay to 0, updated every batch.

    Parameters
    ----------
    learning_rate : float
        The rate at the start of a cycle.
    cycle_epochs : int
        Epochs over which the rate goes down to 0.
    restarts : bool
        False: one decay (Keras' ``CosineDecay``), the rate stays at 0
        afterwards. True: the cycle restarts every ``cycle_epochs`` epochs
        (Loshchilov & Hutter's SGDR with equal cycles, Keras'
        ``CosineDecayRestarts``).

    The schedule is a function of the optimizer's step counter, so a training
    continued by ``partial_fit`` continues the same curve.
    """

    def __init__(self, learning_rate, cycle_epochs, restarts=False):
        super().__init__()
        self.learning_rate = learning_rate
        self.cycle_epochs = cycle_epochs
        self.restarts = restarts

    def on_train_begin(self, logs=None):
        # The number of batches per epoch is known only now.
        steps = self.params["steps"] * self.cycle_epochs
        schedules = keras.optimizers.schedules
        self.model.optimizer.learning_rate = (
            schedules.CosineDecayRestarts(self.learning_rate, steps, t_mul=1.0)
            if self.restarts else schedules.CosineDecay(self.learning_rate, steps)
        )


class SnapshotCycles(CosineAnnealing):
    """Cosine annealing with warm restarts, keeping the weights of each cycle.

    The learning rate goes from ``learning_rate`` to 0 along a cosine over
    ``cycle_epochs`` epochs, updated every batch, then restarts (as in Huang
    et al.'s snapshot ensembles); ``weights`` collects the model's weights at
    every cycle's end.
    """

    def __init__(self, learning_rate, cycle_epochs):
        super().__init__(learning_rate, cycle_epochs, restarts=True)
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.cycle_epochs == 0:
            self.weights.append(self.model.get_weights())


class EpochTasks(keras.callbacks.Callback):
    """Each Keras epoch as a subtask of scikit-learn's fit task.

    The bridge from Keras' training loop to ``sklearn.callback`` (see
    :mod:`sklenet._sklearn_callbacks`): every epoch is a subtask "epoch" of
    ``context``; its end gives the callbacks the data given to ``fit`` and
    a ``fitted_estimator`` predicting with the epoch's weights (a shallow
    copy of ``estimator``, whose ``model_`` is training). A callback that
    asks to stop ends the training after this epoch.

    Parameters
    ----------
    context : sklearn.callback.CallbackContext
        The fit's task.
    estimator : LeNetClassifier
        The estimator being fitted.
    X, y : array-like
        The data given to ``fit``, validated.
    sample_weight : array-like or None
        The ``sample_weight`` given to ``fit``, validated.
    """

    def __init__(self, context, estimator, X, y, sample_weight):
        super().__init__()
        self.context = context
        self.estimator = estimator
        self.data = {"X": X, "y": y, "metadata": fit_metadata(sample_weight)}
        self._epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = self.context.subcontext(task_name="epoch")
        self._epoch.call_on_fit_task_begin(estimator=self.estimator, **self.data)

    def on_epoch_end(self, epoch, logs=None):
        stop = self._epoch.call_on_fit_task_end(
            estimator=self.estimator, reconstruction_attributes={}, **self.data
        )
        if stop:
            self.model.stop_training = True
