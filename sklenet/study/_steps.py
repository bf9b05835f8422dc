"""The steps of a reproduction as objects: one class per kind of step.

A step (:class:`StudyStep`) owns everything about its kind: its trainings
(:class:`Training`, each keyed and seeded), what a training fits and keeps
(:meth:`StudyStep.train`, run in a worker), what a training costs for the
estimate, the record it assembles from its trainings' results
(:meth:`StudyStep.assemble`), its title, and what it depends on: the steps
whose results its trainings need before they start (:attr:`StudyStep.after`,
the search for the searched models) and those whose records its own record
needs (:attr:`StudyStep.needs`, a convergence step that shows its model's
first evaluation training). :func:`study_steps` lists the steps of a run in
the study's order; the plan, the titles, :meth:`Settings.plan
<._settings.Settings.plan>` and the estimate all derive from it.

The ensemble is special in one way only, which :meth:`Settings.networks
<._settings.Settings.networks>` states: a training of it trains several
networks. A training of several networks is split into one task per member
(:attr:`Training.member_trainings`) except on the search, whose networks are
its trials.
"""

import dataclasses
from typing import ClassVar

import numpy as np

from .._recipes import MODEL_TITLES
from ..evaluation import (
    TrainingInputs,
    evaluation_frames,
    evaluation_training_inputs,
    fit_and_score,
    learning_curve_frames,
    learning_curve_sizes,
    learning_curve_training_inputs,
)
from ._plan import (
    SEARCHED,
    estimator,
    fitted_from_members,
    histories,
    plain,
    saved,
    search,
)
from ._results import (
    Convergence,
    Evaluation,
    LearningCurve,
    Search,
    Step,
    step_name,
)
from ._settings import MEMBERS_OF, MODELS, trainings


@dataclasses.dataclass(frozen=True)
class Training:
    """One training of step ``of``, keyed by :attr:`key` within it."""

    of: "StudyStep"
    repeat: int = 0
    train_size: int | None = None
    networks: int = 1  # networks it trains: the ensemble's members, trials
    member: int | None = None  # the member of an ensemble training it is

    @property
    def model(self):
        return self.of.model

    @property
    def step(self):
        """The name of its step."""
        return self.of.name

    @property
    def key(self):
        """Its name within its step, e.g. ``repeat-3``,
        ``repeat-0-size-1200`` or ``repeat-1-member-4``."""
        member = "" if self.member is None else f"-member-{self.member}"
        return f"{self.of.key(self)}{member}"

    @property
    def member_trainings(self):
        """The trainings of its members, each a task of its own, when it
        trains more than one network of a model (the study's ensemble, of
        independent members): its result is then assembled from theirs."""
        if not self.of.has_members or self.member is not None or self.networks < 2:
            return ()
        return tuple(dataclasses.replace(self, member=index, networks=1)
                     for index in range(self.networks))

    @property
    def needs_search(self):
        """Whether it waits for the results of another step (the search's
        best parameters)."""
        return bool(self.of.after)


@dataclasses.dataclass(frozen=True)
class StudyStep:
    """A step of the study under ``settings``: of ``model``, or of none."""

    settings: object
    model: str | None = None

    #: The kind of step: its name's suffix and how it is cached.
    kind: ClassVar[str]
    #: The type of its record (:mod:`._results`), in its cache entry.
    record: ClassVar[type]
    #: Whether a training of several networks is one task per network.
    has_members = True
    #: Whether its training's networks run as tasks side by side on Dask
    #: (:class:`~._spread_search.SpreadSearch`).
    spreads_on_dask = False

    @property
    def name(self):
        return step_name(self.kind, self.model)

    @property
    def after(self):
        """The steps whose results its trainings need before they start:
        the search, whose best parameters the searched models take."""
        return (SearchStep.kind,) if self.model in SEARCHED else ()

    @property
    def needs(self):
        """The steps whose records its record needs."""
        return ()

    def title(self):
        """How the command line's plan names it."""
        raise NotImplementedError

    def read(self, folder):
        """Its :class:`~._results.Step` cached in ``folder`` (a
        :class:`~._results.RunFolder`), or None when it is missing or
        unreadable (:meth:`Step.read <._results.Step.read>`)."""
        return Step.read(folder, self.name, self.record)

    def trainings(self, data):
        """Its :class:`Training` tasks on ``data`` (a :class:`~._plan.StudyData`)."""
        raise NotImplementedError

    def n_networks(self):
        """Networks it trains, counted from the settings alone."""
        raise NotImplementedError

    def key(self, training):
        """The key of ``training`` within the step, its member aside."""
        size = "" if training.train_size is None else f"-size-{training.train_size}"
        return f"repeat-{training.repeat}{size}"

    def network_seconds(self, training, data, calibration):
        """Estimated seconds of one network of ``training``."""
        return calibration.network_seconds(self.model, *self.sizes(training, data))

    def sizes(self, training, data):
        """``(training, validation, scored)`` images of ``training``: what it
        trains on, validates on after every pass, and predicts once trained
        to score it."""
        n_train, n_val, n_test = len(data.y_train), len(data.y_val), len(data.y_test)
        return n_train, n_val, n_train + n_val + n_test

    def pieces(self, seconds, training, spread_search):
        """The seconds of each task that runs ``training`` of ``seconds``,
        on Dask when ``spread_search``."""
        if spread_search and self.spreads_on_dask:
            return [seconds / training.networks] * training.networks
        return [seconds]

    def inputs(self, training, data, best_params=None):
        """What ``training`` fits and scores: an
        :class:`~sklenet.evaluation.TrainingInputs`, as the step-level
        functions draw it."""
        raise NotImplementedError

    def train(self, training, data, best_params=None, members=None):
        """Run ``training`` (in a worker); return ``(result, model_bytes)``:
        its JSON result and the saved model the run keeps, or None.
        ``members``: see :func:`~._plan.run_training`."""
        fit = None if members is None else fitted_from_members(members)
        row, fitted = fit_and_score(self.inputs(training, data, best_params),
                                    fit=fit)
        if members is not None:  # the members' training time, not the assembly's
            row["fit_time"] = sum(result["result"]["fit_time"]
                                  for result, _ in members)
        return self.result(training, plain(row), fitted, data)

    def result(self, training, row, fitted, data):
        """``(result, model_bytes)`` of ``training``, which scored ``row``
        and fitted ``fitted``."""
        return {"row": row}, None

    def assemble(self, trainings, outcomes, data, records):
        """The step's record from the ``outcomes`` of its ``trainings`` (in
        plan order; by training, as :func:`~._plan.run_training` returns
        them); ``records`` holds the records of finished steps, by name,
        among them those it :attr:`needs`."""
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class EvaluationStep(StudyStep):
    """Repeated evaluation of ``model`` on the 60/20/20 split."""

    kind = "evaluation"
    record = Evaluation

    def title(self):
        return (f"{model_title(self.model, self.settings)}, "
                f"{trainings(self.settings.n_repeats)}")

    def trainings(self, data):
        s = self.settings
        return [Training(self, repeat, networks=s.networks(self.model))
                for repeat in range(s.n_repeats)]

    def n_networks(self):
        return self.settings.n_repeats * self.settings.networks(self.model)

    def inputs(self, training, data, best_params=None):
        s = self.settings
        return evaluation_training_inputs(
            estimator(self.model, s, best_params), data.X_train, data.y_train,
            data.X_test, data.y_test, repeat=training.repeat,
            validation_data=(data.X_val, data.y_val), random_state=s.random_state)

    def result(self, training, row, fitted, data):
        result, model_bytes = {"row": row}, None
        if training.repeat == 0:  # the report's figures show the first one
            result.update(
                classes=fitted.classes_.tolist(),
                test_proba=np.round(fitted.predict_proba(data.X_test), 6).tolist(),
                histories=histories(fitted),
                validation_accuracy=float(row["validation_accuracy"]))
            if not self.settings.convergence_trains:  # its convergence shows it
                model_bytes = saved(fitted)
        return result, model_bytes

    def assemble(self, trainings, outcomes, data, records):
        rows = [outcomes[training]["result"]["row"] for training in trainings]
        runs, summary = evaluation_frames(rows)
        first = outcomes[trainings[0]]["result"]
        return Evaluation(runs=runs, summary=summary, classes=first["classes"],
                          y_test=data.y_test.tolist(), test_proba=first["test_proba"],
                          histories=first["histories"],
                          validation_accuracy=first["validation_accuracy"])


@dataclasses.dataclass(frozen=True)
class SearchStep(StudyStep):
    """The Optuna search of the optimised LeNet's hyperparameters: one
    training whose networks are its trials."""

    kind = "search"
    record = Search
    has_members = False
    # On Dask each trial is a task; locally one task runs them one after
    # another, against the storage whose seeded sampler makes them
    # reproducible.
    spreads_on_dask = True

    def title(self):
        return f"Optuna search, {self.settings.n_trials} trials"

    def trainings(self, data):
        return [Training(self, networks=self.settings.n_trials)]

    def n_networks(self):
        return self.settings.n_trials

    def key(self, training):
        return self.kind

    def network_seconds(self, training, data, calibration):
        # A trial scores its validation.
        return calibration.network_seconds(
            "standard", len(data.y_train), len(data.y_val), len(data.y_val))

    def train(self, training, data, best_params=None, members=None):
        return search(data).to_json(), None

    def assemble(self, trainings, outcomes, data, records):
        return Search.from_json(outcomes[trainings[0]]["result"])


@dataclasses.dataclass(frozen=True)
class LearningCurveStep(StudyStep):
    """Train and test accuracy of ``model`` at several training-set sizes
    (none when the settings leave its curve to another preset)."""

    kind = "learning_curve"
    record = LearningCurve

    @property
    def drawn(self):
        return self.model in self.settings.learning_curve_models

    def title(self):
        s = self.settings
        if not self.drawn:
            return f"{self.model} learning curve: not drawn by this preset"
        return (f"{self.model} learning curve, {len(s.learning_curve_sizes)} sizes "
                f"x {trainings(s.learning_curve_repeats)}")

    def trainings(self, data):
        s = self.settings
        if not self.drawn:
            return []
        X, y = data.curve_data
        sizes = learning_curve_sizes(X, y, train_sizes=s.learning_curve_sizes,
                                     test_size=len(data.y_test),
                                     random_state=s.random_state)
        return [Training(self, repeat, size, networks=s.networks(self.model))
                for repeat in range(s.learning_curve_repeats) for size in sizes]

    def n_networks(self):
        s = self.settings
        return (len(s.learning_curve_sizes) * s.learning_curve_repeats
                * s.networks(self.model) * self.drawn)

    def sizes(self, training, data):
        # Scored on its training images and the test's.
        return (training.train_size, len(data.y_val),
                training.train_size + len(data.y_test))

    def inputs(self, training, data, best_params=None):
        s = self.settings
        X, y = data.curve_data
        return learning_curve_training_inputs(
            estimator(self.model, s, best_params), X, y, repeat=training.repeat,
            train_size=training.train_size, test_size=len(data.y_test),
            validation_data=(data.X_val, data.y_val),
            n_iter_no_change=s.learning_curve_patience, random_state=s.random_state)

    def assemble(self, trainings, outcomes, data, records):
        runs, summary = learning_curve_frames(
            [training.repeat for training in trainings],
            [training.train_size for training in trainings],
            [outcomes[training]["result"]["row"] for training in trainings])
        return LearningCurve(runs=runs, summary=summary)


@dataclasses.dataclass(frozen=True)
class ConvergenceStep(StudyStep):
    """The per-epoch histories of ``model``: of a training on the deployment
    split, or of its first evaluation training (which it then needs)."""

    kind = "convergence"
    record = Convergence

    @property
    def needs(self):
        if self.settings.convergence_trains:
            return ()
        return (EvaluationStep(self.settings, self.model).name,)

    def title(self):
        return f"{self.model} convergence, {self.settings.convergence_split} split"

    def trainings(self, data):
        if not self.settings.convergence_trains:
            return []
        return [Training(self, networks=self.settings.networks(self.model))]

    def n_networks(self):
        return self.settings.networks(self.model) * self.settings.convergence_trains

    def key(self, training):
        return self.kind

    def sizes(self, training, data):
        return len(data.y_deploy), len(data.y_deploy_val), len(data.y_deploy_val)

    def inputs(self, training, data, best_params=None):
        s = self.settings
        model = estimator(self.model, s, best_params)
        return TrainingInputs(
            model.set_params(random_state=s.random_state), s.random_state,
            data.X_deploy, data.y_deploy,
            {"validation_data": (data.X_deploy_val, data.y_deploy_val)}, {})

    def result(self, training, row, fitted, data):
        result = Convergence(
            histories=histories(fitted),
            validation_accuracy=float(fitted.score(data.X_deploy_val,
                                                   data.y_deploy_val)),
        ).to_json()
        return result, saved(fitted)

    def assemble(self, trainings, outcomes, data, records):
        if trainings:
            return Convergence.from_json(outcomes[trainings[0]]["result"])
        evaluation = records[EvaluationStep(self.settings, self.model).name]
        return Convergence(histories=evaluation.histories,
                           validation_accuracy=evaluation.validation_accuracy)


def study_steps(settings):
    """The steps of a run of ``settings``, in the study's order: the
    standard LeNet's evaluation, the search, the other models' evaluations,
    then every model's learning curve and convergence."""
    standard, *others = MODELS
    return [EvaluationStep(settings, standard), SearchStep(settings),
            *(EvaluationStep(settings, model) for model in others),
            *(LearningCurveStep(settings, model) for model in MODELS),
            *(ConvergenceStep(settings, model) for model in MODELS)]


def model_title(model, settings):
    """How the report, its figures and the command line's plan name
    ``model`` (a model type) under ``settings``: its title, with the
    networks of a model of several (the ensemble's members) counted.

    >>> from ._settings import PRESETS
    >>> model_title("ensemble", PRESETS["quick"]), model_title("best", None)
    ('ensemble of 3', 'sklenet best (beyond the study)')
    """
    title = MODEL_TITLES[model]
    if model in MEMBERS_OF:  # counted even when it is one, as the settings say
        return f"{title} of {settings.networks(model)}"
    return title


def plan(data):
    """{step name: [Training, ...]} of a run on ``data``, in the study's order."""
    return {step.name: step.trainings(data) for step in study_steps(data.settings)}
