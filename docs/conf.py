"""Sphinx configuration of the sklenet documentation.

Build (the gallery examples run; warnings are errors, as in CI)::

    python -m pip install -e ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html

Add ``-D plot_gallery=0`` to skip running the examples while writing prose.
Links to the scikit-learn, NumPy, Optuna and Keras documentation need their
inventories from the internet: set ``SKLENET_DOCS_INTERSPHINX=1`` to enable
them (off by default, so that the build works offline).
"""

import os
import sys
from pathlib import Path

# Quiet TensorFlow's C++ start-up messages in the build log and the examples.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "sphinxext"))

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
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sklenet_docs",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "README.md", "sphinxext", "**/GALLERY_HEADER.rst"]
default_role = "obj"
pygments_style = "sphinx"

if os.environ.get("SKLENET_DOCS_INTERSPHINX") == "1":
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "pandas": ("https://pandas.pydata.org/docs", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "matplotlib": ("https://matplotlib.org/stable", None),
        "optuna": ("https://optuna.readthedocs.io/en/stable", None),
        "joblib": ("https://joblib.readthedocs.io/en/stable", None),
    }

# -- autodoc / autosummary / numpydoc -----------------------------------------
autosummary_generate = True
autosummary_ignore_module_all = False  # a module page lists its __all__
autodoc_typehints = "none"
numpydoc_show_class_members = False  # the class template lists the methods
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

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
