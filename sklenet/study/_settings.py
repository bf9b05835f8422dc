"""What a reproduction does: its settings, the presets and the models."""

import dataclasses

from .. import LeNetClassifier

#: The study's three models, then sklenet's own recipe (not in the study).
STUDY_MODELS = ("standard", "optimized", "ensemble")
MODELS = (*STUDY_MODELS, "best")

#: The models whose trainings train several networks, and the model each
#: network is: the ensemble's members are optimised LeNets. This is all that
#: sets the ensemble apart in a run's plan.
MEMBERS_OF = {"ensemble": "optimized"}

#: convergence_split -> how the report describes it.
CONVERGENCE_SPLITS = {
    "deployment": "a training on the deployment split (70/30)",
    "evaluation": "the first evaluation training (60/20/20 split)",
}


#: The study's training set: 60 % of Kaggle's 42,000 digits.
STUDY_TRAIN_SIZE = 25_200


def trainings(n):
    """"1 training", "2 trainings": how the log and the report count them."""
    return f"{n} training" if n == 1 else f"{n} trainings"


def settings_fields(written):
    """The :class:`Settings` fields of a run description's ``settings``
    (``run.json``), with the tuples that JSON wrote as lists made tuples
    again. A description written before ``learning_curve_models`` existed
    has no such field; one without ``learning_curve_sizes`` raises
    KeyError."""
    fields = {**written}
    fields["learning_curve_sizes"] = tuple(fields["learning_curve_sizes"])
    if "learning_curve_models" in fields:
        fields["learning_curve_models"] = tuple(fields["learning_curve_models"])
    return fields


@dataclasses.dataclass(frozen=True)
class Settings:
    """What a run of the study does; a preset is one of these.

    ``max_epochs`` caps every training (early stopping ends most before);
    ``min_epoch_samples`` makes the study's models count it, and early
    stopping's patience, in epochs of at least that many images, so that on
    a small training set they mean what they meant on the study's 25,200
    (see :class:`sklenet.LeNetClassifier`); sklenet's best recipe keeps its
    own schedule;
    ``convergence_split`` is where the convergence curves come from:
    "deployment" trains every model once more on the 70/30 deployment split
    (the study's protocol), "evaluation" plots the first evaluation training
    of each model instead, which saves those trainings.
    """

    n_repeats: int
    n_trials: int
    n_estimators: int
    learning_curve_repeats: int
    learning_curve_sizes: tuple
    max_epochs: int
    max_samples: int | None = None
    random_state: int = 0
    convergence_split: str = "deployment"
    # The study's patience for learning curves; 5 elsewhere (LeNet's default).
    learning_curve_patience: int = 10
    # The study's models count epochs and patience in epochs of at least its
    # 25,200 training images (LeNetClassifier's min_epoch_samples); None:
    # epochs are passes over whatever the run trains on.
    min_epoch_samples: int | None = STUDY_TRAIN_SIZE
    # The models whose learning curves the run draws (the others' are left
    # to a larger preset).
    learning_curve_models: tuple = MODELS

    def networks(self, model):
        """Networks one training of ``model`` trains: the ensemble's
        members, one otherwise."""
        return self.n_estimators if model in MEMBERS_OF else 1

    def epoch_cap(self, model, n_images):
        """The most passes a training of ``model`` on ``n_images`` training
        images may run: ``max_epochs`` epochs of at least
        ``min_epoch_samples`` images for the study's models.

        >>> PRESETS["quick"].epoch_cap("standard", 3_000)
        840
        """
        if model not in STUDY_MODELS:
            return self.max_epochs
        # The rule a LeNet's fit follows (its max_epochs_).
        network = LeNetClassifier(epochs=self.max_epochs,
                                  min_epoch_samples=self.min_epoch_samples)
        return network.fit_schedule(n_images).max_epochs

    @property
    def convergence_trains(self):
        """Whether the convergence steps train on the deployment split (else
        they show each model's first evaluation training)."""
        return self.convergence_split == "deployment"

    def plan(self):
        """{step name: networks it trains}, in the study's order: what a run
        of these settings costs, counted before any training. A search trial
        is one network; the convergence step trains nothing when it plots
        the first evaluation training.

        >>> plan = PRESETS["full"].plan()
        >>> plan["ensemble_evaluation"], plan["search"], sum(plan.values())
        (100, 200, 1643)
        """
        from ._steps import study_steps  # the steps hold settings

        return {step.name: step.n_networks() for step in study_steps(self)}

    def __post_init__(self):
        mes = self.min_epoch_samples
        if mes is not None and (not isinstance(mes, int) or isinstance(mes, bool)
                                or mes < 1):
            raise ValueError(f"min_epoch_samples={mes!r} must be a positive int "
                             "or None (an epoch is one pass).")
        unknown = sorted(set(self.learning_curve_models) - set(MODELS))
        if unknown:
            raise ValueError(f"learning_curve_models holds {unknown}, not models "
                             f"of the study; they are {list(MODELS)}.")
        if self.convergence_split not in CONVERGENCE_SPLITS:
            raise ValueError(
                f"convergence_split={self.convergence_split!r} is not one of "
                f"{list(CONVERGENCE_SPLITS)}.")


PRESETS = {
    # The study's protocol (SPEC): hours to days on a CPU.
    "full": Settings(n_repeats=10, n_trials=200, n_estimators=10,
                     learning_curve_repeats=20,
                     learning_curve_sizes=(0.1, 0.325, 0.55, 0.775, 1.0),
                     max_epochs=100),
    # Every step of the study on the 5,000-digit sample, each training ended
    # by early stopping when learning ends: epochs and patience count epochs
    # of the study's 25,200 images (min_epoch_samples), so that on the
    # sample's 3,000 training images the patience of 5 waits 42 passes, as
    # many images as the study's did; with a patience of 5 passes the
    # optimised LeNet stopped at 0.844 while still learning (issue 19).
    # Fewer trainings than the study instead of shorter ones: 2 repeats (a
    # spread), 3 members (enough for the ensemble to beat its members),
    # learning curves of 3 sizes x 2 trainings, the convergence curves of the
    # first evaluation training. The ensemble's learning curve (18 networks
    # of 52, a third of the run) is left to the full preset. The study's
    # learning-curve patience of 10 doubles their cost: quick uses the
    # patience of every other training.
    "quick": Settings(n_repeats=2, n_trials=4, n_estimators=3,
                      learning_curve_repeats=2,
                      learning_curve_sizes=(0.25, 0.5, 1.0),
                      max_epochs=100, convergence_split="evaluation",
                      learning_curve_patience=5,
                      learning_curve_models=("standard", "optimized", "best")),
    # A smoke test of the pipeline in seconds (the command-line tests); its
    # one-epoch trainings all stop at their cap.
    "tiny": Settings(n_repeats=1, n_trials=1, n_estimators=1,
                     learning_curve_repeats=1, learning_curve_sizes=(0.5, 1.0),
                     max_epochs=1, max_samples=500, min_epoch_samples=None),
}
