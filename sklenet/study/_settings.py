"""What a reproduction does: its settings, the presets and the models."""

import dataclasses

#: The study's three models, then sklenet's own recipe (not in the study).
STUDY_MODELS = ("standard", "optimized", "ensemble")
MODELS = (*STUDY_MODELS, "best")

#: convergence_split -> how the report describes it.
CONVERGENCE_SPLITS = {
    "deployment": "a training on the deployment split (70/30)",
    "evaluation": "the first evaluation training (60/20/20 split)",
}


def trainings(n):
    """"1 training", "2 trainings": how the log and the report count them."""
    return f"{n} training" if n == 1 else f"{n} trainings"


@dataclasses.dataclass(frozen=True)
class Settings:
    """What a run of the study does; a preset is one of these.

    ``max_epochs`` caps every training (early stopping ends most before);
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

    def networks(self, model):
        """Networks one training of ``model`` trains: the ensemble's
        members, one otherwise."""
        return self.n_estimators if model == "ensemble" else 1

    def plan(self):
        """{step name: networks it trains}, in the study's order: what a run
        of these settings costs, counted before any training. A search trial
        is one network; the convergence step trains nothing when it plots
        the first evaluation training.

        >>> plan = PRESETS["full"].plan()
        >>> plan["ensemble_evaluation"], plan["search"], sum(plan.values())
        (100, 200, 1643)
        """
        curve = len(self.learning_curve_sizes) * self.learning_curve_repeats
        convergence = 1 if self.convergence_split == "deployment" else 0
        plan = {"standard_evaluation": self.n_repeats, "search": self.n_trials}
        plan.update({f"{model}_evaluation": self.n_repeats * self.networks(model)
                     for model in MODELS[1:]})
        plan.update({f"{model}_learning_curve": curve * self.networks(model)
                     for model in MODELS})
        plan.update({f"{model}_convergence": convergence * self.networks(model)
                     for model in MODELS})
        return plan

    def __post_init__(self):
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
    # Every step on the 5,000-digit sample in under 10 minutes on 2 idle CPU
    # cores, every training ended by early stopping: the study's epoch cap, so
    # fewer trainings instead (2 repeats train in parallel on 2 cores). The
    # smallest learning-curve size stays large enough (1,200 images) for a
    # converged LeNet, and 3 members let the ensemble beat its members. With
    # the study's learning-curve patience of 10, the optimised LeNet's slow
    # gains at 1,200 images kept it training to the 100-epoch cap: quick uses
    # the patience of every other training, 5.
    "quick": Settings(n_repeats=2, n_trials=4, n_estimators=3,
                      learning_curve_repeats=1,
                      learning_curve_sizes=(0.4, 1.0),
                      max_epochs=100, convergence_split="evaluation",
                      learning_curve_patience=5),
    # A smoke test of the pipeline in seconds (the command-line tests); its
    # one-epoch trainings all stop at their cap.
    "tiny": Settings(n_repeats=1, n_trials=1, n_estimators=1,
                     learning_curve_repeats=1, learning_curve_sizes=(0.5, 1.0),
                     max_epochs=1, max_samples=500),
}
