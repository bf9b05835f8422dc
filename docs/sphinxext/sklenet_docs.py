"""Sphinx helpers of the sklenet documentation.

* :class:`ExampleOrder`: the reading order of the gallery examples.
* :func:`matplotlib_scraper`: figures saved with a tight bounding box.
* :func:`reset_keras`: sphinx-gallery's reset hook; clears Keras' session before
  every example and warns (an error under ``-W``) when an example runs longer
  than :data:`EXAMPLE_TIME_LIMIT`, the gallery's budget per example.
* :func:`plain_sklearn_references`: docstrings inherited from scikit-learn
  refer to labels and glossary terms of scikit-learn's documentation, which
  the shipped inventory (``make_inventories.py``: names only) lacks; they
  become plain text instead of broken references, unless the build
  downloads scikit-learn's own inventory (``sklenet_intersphinx_online``).
* :func:`document_constant`: the page of a constant re-exported by
  ``sklenet`` (``STANDARD_PARAMS``, ``STUDY_SEARCH_SPACE``, ...) shows the
  ``#:`` comment from the private module that defines it and its value,
  one entry per line.
* ``.. sklenet-help:: COMMAND``: the ``--help`` text of a ``sklenet``
  command, taken from the installed command line so that it never goes stale.
* ``.. sklenet-hyperparameters::``: the table of the LeNet hyperparameters,
  from their one declaration (``sklenet._params.HYPERPARAMETERS``).
"""

import os
import pprint
import re
import subprocess
import sys
import time
from pathlib import Path

from docutils import nodes
from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

#: Seconds an example may run on a 2-core machine (issue 6); a machine shared
#: with other work may raise it with SKLENET_DOCS_EXAMPLE_TIME_LIMIT.
EXAMPLE_TIME_LIMIT = float(os.environ.get("SKLENET_DOCS_EXAMPLE_TIME_LIMIT", 120))

#: Gallery examples in reading order, within their folder.
EXAMPLES = [
    "plot_quick_start.py",
    "plot_input_formats.py",
    "plot_grid_search_pipeline.py",
    "plot_learning_curve.py",
    "plot_search.py",
    "plot_callbacks.py",
    "plot_roc_confusion_matrix.py",
    "plot_reproduce_study.py",
    "plot_ensembles.py",
    "plot_persistence.py",
    "plot_export.py",
    "plot_kaggle_submission.py",
]


class ExampleOrder:
    """sphinx-gallery's ``within_subsection_order``: the order of EXAMPLES."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        name = os.path.basename(filename)
        return (EXAMPLES.index(name) if name in EXAMPLES else len(EXAMPLES), name)

    def __repr__(self):
        # sphinx-gallery compares configurations by repr between builds.
        return f"ExampleOrder({EXAMPLES!r})"


def matplotlib_scraper(block, block_vars, gallery_conf, **kwargs):
    """sphinx-gallery's matplotlib scraper, saving with a tight bounding box
    (Optuna's plots draw long tick labels outside their figure)."""
    from sphinx_gallery.scrapers import matplotlib_scraper as scrape

    return scrape(block, block_vars, gallery_conf, bbox_inches="tight", **kwargs)


_started = {}


def reset_keras(gallery_conf, fname, when):
    """Start every example from a fresh Keras session; enforce the time limit.

    Logs each example's wall-clock and CPU time (all threads); on a busy
    machine the wall-clock time grows while the CPU time stays about the same.
    """
    if fname is None:
        return
    if when == "before":
        import keras

        keras.backend.clear_session()
        _started[fname] = (time.perf_counter(), time.process_time())
        return
    wall, cpu = _started.pop(fname, (time.perf_counter(), time.process_time()))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    name = Path(fname).name
    logger.info("example %s: %.0f s wall-clock, %.0f s CPU", name, wall, cpu)
    if wall > EXAMPLE_TIME_LIMIT:
        logger.warning(
            "example %s ran for %.0f s (%.0f s CPU), more than the gallery's "
            "limit of %.0f s per example: use fewer images or epochs.",
            name, wall, cpu, EXAMPLE_TIME_LIMIT,
        )


# :ref:`text <label>`, :ref:`label`, :term:`text <term>`, :term:`term`
_CROSS_REFERENCE = re.compile(r":(?:ref|term):`(?:([^`<]*?)\s*<[^`>]*>|([^`]*))`")


def plain_sklearn_references(app, what, name, obj, options, lines):
    """Turn scikit-learn's own cross-references into plain text (offline)."""
    if app.config.sklenet_intersphinx_online:
        return
    if not (getattr(obj, "__module__", None) or "").startswith("sklearn."):
        return
    lines[:] = [
        _CROSS_REFERENCE.sub(lambda m: m.group(1) or m.group(2), line)
        for line in lines
    ]


def _defining_comment(name, obj):
    """The ``#:`` comment of the sklenet module that defines ``obj``."""
    for module_name, module in sorted(sys.modules.items()):
        if module_name.startswith("sklenet.") and getattr(module, name, None) is obj:
            comments = ModuleAnalyzer.for_module(module_name).find_attr_docs()
            if ("", name) in comments:
                return list(comments[("", name)])
    return []


def document_constant(app, what, name, obj, options, lines):
    """Doc comment and pretty-printed value of a constant of ``sklenet``.

    Runs after numpydoc, which has turned the docstring that autodoc found
    (the ``dict`` type's, for want of one of the constant's own) into
    nothing; its deduplication marker is kept at the end.
    """
    if what != "data" or not name.startswith("sklenet."):
        return
    marker = lines[-2:] if lines[-2:-1] == [".."] else []
    value = pprint.pformat(obj, width=72, sort_dicts=False)
    lines[:] = [
        *_defining_comment(name.rpartition(".")[2], obj),
        "",
        ".. code-block:: python",
        "",
        *("   " + line for line in value.splitlines()),
        "",
        *marker,
    ]


class SklenetHelp(SphinxDirective):
    """``.. sklenet-help:: [COMMAND]``: the help of ``sklenet COMMAND``."""

    optional_arguments = 1

    def run(self):
        command = self.arguments[0].split() if self.arguments else []
        environment = {**os.environ, "COLUMNS": "76"}
        result = subprocess.run(
            [sys.executable, "-m", "sklenet", *command, "--help"],
            capture_output=True, text=True, env=environment, check=False,
        )
        if result.returncode != 0:
            raise self.error(
                f"sklenet {' '.join(command)} --help failed with status "
                f"{result.returncode}: {result.stderr.strip()}"
            )
        return [nodes.literal_block(result.stdout, result.stdout, language="text")]


class SklenetHyperparameters(SphinxDirective):
    """``.. sklenet-hyperparameters::``: name, default and meaning of every
    hyperparameter the LeNet estimators share, from its declaration."""

    def run(self):
        from sklenet._params import HYPERPARAMETERS

        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 25 15 60", "",
                 "   * - parameter", "     - default", "     - meaning"]
        for hp in HYPERPARAMETERS:
            lines += [f"   * - ``{hp.name}``", f"     - ``{hp.default!r}``",
                      f"     - {hp.doc}"]
        return self.parse_text_to_nodes("\n".join(lines))


class SklenetPresets(SphinxDirective):
    """``.. sklenet-presets::``: what each preset of ``sklenet reproduce``
    runs, from :data:`sklenet.study.PRESETS`."""

    #: preset -> what the table says it is for
    PURPOSES = {"tiny": "a smoke test", "quick": "default", "full": "the study"}

    def run(self):
        from sklenet.study import PRESETS

        lines = [".. list-table::", "   :header-rows: 1", "",
                 "   * - preset", "     - trainings per model",
                 "     - search trials", "     - ensemble members",
                 "     - learning curve", "     - max epochs"]
        for name, settings in PRESETS.items():
            images = ("" if settings.max_samples is None
                      else f" ({settings.max_samples:,} images)")
            lines += [
                f"   * - ``{name}`` ({self.PURPOSES.get(name, '')})",
                f"     - {settings.n_repeats}", f"     - {settings.n_trials}",
                f"     - {settings.n_estimators}",
                f"     - {len(settings.learning_curve_sizes)} sizes x "
                f"{settings.learning_curve_repeats}",
                f"     - {settings.max_epochs}{images}"]
        return self.parse_text_to_nodes("\n".join(lines))


def setup(app):
    app.add_config_value("sklenet_intersphinx_online", False, "env", bool)
    app.add_directive("sklenet-help", SklenetHelp)
    app.add_directive("sklenet-hyperparameters", SklenetHyperparameters)
    app.add_directive("sklenet-presets", SklenetPresets)
    app.connect("autodoc-process-docstring", plain_sklearn_references)
    # After numpydoc (priority 500), which cannot read a constant's docstring.
    app.connect("autodoc-process-docstring", document_constant, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
