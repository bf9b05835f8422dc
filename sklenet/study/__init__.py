"""The study that sklenet reproduces, as a package: ``sklenet reproduce``.

- :mod:`._settings`: what a run does (:class:`Settings`, :data:`PRESETS`);
- :mod:`._reproduction`: the run, one cached training at a time
  (:class:`Reproduction`), and :mod:`._reproduce`, its entry point
  (:func:`reproduce`);
- :mod:`._steps`: the steps, one class per kind, and their trainings, each
  with a stable key and seed; :mod:`._plan`: a training as a worker's task;
  :mod:`._scheduler`: which trainings may start, for the run and its
  estimate; :mod:`._executors`: where the tasks run (local processes or Dask);
  :mod:`._estimate`: the plan's time, from a calibration training;
- :mod:`._results`: the typed record that the run writes and the report
  reads (:class:`StudyResults` and one dataclass per kind of step), and the
  run folder's layout (:class:`RunFolder`);
- :mod:`._tables`, :mod:`._figures`, :mod:`._report`: the report's tables,
  its figures, and its rendering (Jinja2 templates) with the raw results,
  drawn from the run folder alone (:func:`write_report`).
"""

from ._report import write_report
from ._reproduce import prepare, reproduce, run_prepared
from ._reproduction import Reproduction, check_output_folder, subsample
from ._results import (
    STUDY_NAME,
    Convergence,
    Evaluation,
    LearningCurve,
    RunFolder,
    Search,
    Step,
    StudyResults,
    frame_from_json,
    frame_to_json,
)
from ._settings import CONVERGENCE_SPLITS, MODELS, PRESETS, STUDY_MODELS, Settings

__all__ = [
    "CONVERGENCE_SPLITS",
    "MODELS",
    "PRESETS",
    "STUDY_MODELS",
    "STUDY_NAME",
    "Convergence",
    "Evaluation",
    "LearningCurve",
    "Reproduction",
    "RunFolder",
    "Search",
    "Settings",
    "Step",
    "StudyResults",
    "check_output_folder",
    "frame_from_json",
    "frame_to_json",
    "prepare",
    "reproduce",
    "run_prepared",
    "subsample",
    "write_report",
]
