"""Sphinx configuration of the sklenet documentation.

Build (the gallery examples run; warnings are errors, as in CI)::

    python -m pip install -e ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html

Add ``-D plot_gallery=0`` to skip running the examples while writing prose.
The API pages link to the scikit-learn, NumPy, pandas, Optuna and Keras
documentation in every build, offline too: the inventories of their names are
in ``_inventories/`` (``python3 docs/sphinxext/make_inventories.py`` writes
them from the installed packages). ``SKLENET_DOCS_INTERSPHINX=1`` downloads
the projects' own inventories instead, and adds Matplotlib and joblib.
"""

import os
import sys
from pathlib import Path

# Quiet TensorFlow's C++ start-up messages in the build log and the examples.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "sphinxext"))

from make_inventories import BASE_URLS, INVENTORIES  # noqa: E402

import sklenet  # noqa: E402

# -- Project ------------------------------------------------------------------
project = "sklenet"
author = "the sklenet developers"
copyright = "the sklenet developers"
release = sklenet.__version__
version = ".".join(release.split(".")[:2])

# -- General ------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sklenet_docs",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "README.md", "sphinxext", "_inventories",
                    "**/GALLERY_HEADER.rst"]
default_role = "obj"
pygments_style = "sphinx"

# Intersphinx: each project's site and the inventory of its names (Python's:
# the built-in names numpydoc links types to). The shipped inventories work
# offline; with SKLENET_DOCS_INTERSPHINX=1 Sphinx downloads the projects' own
# (None), scikit-learn's labels and glossary terms included, which
# sklenet_docs otherwise turns into plain text.
sklenet_intersphinx_online = os.environ.get("SKLENET_DOCS_INTERSPHINX") == "1"
intersphinx_mapping = {
    # keras.io is no Sphinx site: its inventory is always the shipped one.
    key: (site, None if sklenet_intersphinx_online and key != "keras"
          else str(INVENTORIES / f"{key}.inv"))
    for key, site in BASE_URLS.items()
}
if sklenet_intersphinx_online:
    intersphinx_mapping.update({
        "matplotlib": ("https://matplotlib.org/stable", None),
        "joblib": ("https://joblib.readthedocs.io/en/stable", None),
    })

# -- autodoc / autosummary / numpydoc -----------------------------------------
autosummary_generate = True
autosummary_ignore_module_all = False  # a module page lists its __all__
autodoc_typehints = "none"
numpydoc_show_class_members = False  # the class template lists the methods
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# The types of Parameters, Returns and Attributes link to their pages: these
# names and numpydoc's own (ndarray, array-like, int, bool, ...), no other word.
numpydoc_xref_param_type = True
numpydoc_xref_ignore = "all"
numpydoc_xref_aliases = {  # a name mapped to itself needs a role to be linked
    "DataFrame": "pandas.DataFrame",
    "Series": "pandas.Series",
    "Bunch": "sklearn.utils.Bunch",
    "keras.Model": ":class:`keras.Model`",
    "keras.callbacks.Callback": ":class:`keras.callbacks.Callback`",
    "optuna.study.Study": ":class:`optuna.study.Study`",
    "optuna.trial.Trial": ":class:`optuna.trial.Trial`",
    "optuna.trial.FrozenTrial": ":class:`optuna.trial.FrozenTrial`",
    "LeNetClassifier": "sklenet.LeNetClassifier",
    "LeNetEnsembleClassifier": "sklenet.LeNetEnsembleClassifier",
    "LeNetSearchCV": "sklenet.LeNetSearchCV",
    "ScoreComparison": "sklenet.evaluation.ScoreComparison",
    "StudyResults": "sklenet.study.StudyResults",
}

# -- sphinx-gallery -----------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "subsection_order": [
        "../examples/basics",
        "../examples/model_selection",
        "../examples/evaluation",
        "../examples/deployment",
    ],
    "within_subsection_order": "sklenet_docs.ExampleOrder",
    # Mini-galleries ("Examples using ...") on the API pages.
    "doc_module": ("sklenet",),
    "backreferences_dir": "generated",
    "image_scrapers": ("sklenet_docs.matplotlib_scraper",),
    "reset_modules": ("matplotlib", "sklenet_docs.reset_keras"),
    "reset_modules_order": "both",
    "remove_config_comments": True,
    "min_reported_time": 0,
    "show_memory": False,
    "download_all_examples": False,
    "matplotlib_animations": False,
}

# -- HTML ---------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklenet {release}"
html_static_path = ["_static"]
html_css_files = ["sklenet.css"]
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "header_links_before_dropdown": 5,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_sidebars = {"index": [], "getting_started": []}
html_show_sourcelink = True
html_last_updated_fmt = None
