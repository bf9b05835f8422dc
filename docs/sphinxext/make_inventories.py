"""Write the intersphinx inventories that the offline docs build links with.

The documentation links to scikit-learn, NumPy, pandas, Optuna and Keras
without the internet: ``docs/_inventories/<project>.inv`` lists the public
names of the installed package, each with its page on the project's site,
in Sphinx's inventory format (version 2, the ``objects.inv`` that
intersphinx reads). Run it again after upgrading one of them::

    python3 docs/sphinxext/make_inventories.py

Each project's URL scheme is its autosummary layout (the page of
``sklearn.model_selection.GridSearchCV`` is
``modules/generated/sklearn.model_selection.GridSearchCV.html``). Keras has
no Sphinx site: its names map to the keras.io page that documents them, from
:data:`KERAS_PAGES`, the Keras API that sklenet's documentation names.
"""

import argparse
import importlib
import importlib.metadata
import inspect
import sys
import types
import warnings
import zlib
from pathlib import Path

#: Where the inventories go, and their base URLs (conf.py's intersphinx_mapping).
INVENTORIES = Path(__file__).resolve().parent.parent / "_inventories"
BASE_URLS = {
    "sklearn": "https://scikit-learn.org/stable/",
    "python": "https://docs.python.org/3/",
    "numpy": "https://numpy.org/doc/stable/",
    "pandas": "https://pandas.pydata.org/docs/",
    "optuna": "https://optuna.readthedocs.io/en/stable/",
    "keras": "https://keras.io/api/",
}

#: Python's names that numpydoc links the types of docstrings to (its
#: DEFAULT_LINKS: ``int``, ``bool``, ``iterable``...) -> (role, page on
#: https://docs.python.org/3/, title for a label or term).
PYTHON_PAGES = {
    **{name: ("py:class", f"library/functions.html#{name}", "-")
       for name in ("bool", "float", "int")},
    **{name: ("py:class", f"library/stdtypes.html#{name}", "-")
       for name in ("dict", "list", "str", "tuple")},
    **{name: ("py:data", f"library/constants.html#{name}", "-")
       for name in ("None", "True", "False")},
    "callable": ("py:function", "library/functions.html#callable", "-"),
    "contextlib.contextmanager":
        ("py:function", "library/contextlib.html#contextlib.contextmanager", "-"),
    "collections.namedtuple":
        ("py:function", "library/collections.html#collections.namedtuple", "-"),
    "os.PathLike": ("py:class", "library/os.html#os.PathLike", "-"),
    "bltin-boolean-values": ("std:label", "library/stdtypes.html#bltin-boolean-values",
                             "Boolean Type - bool"),
    **{term: ("std:term", f"glossary.html#term-{term.replace(' ', '-')}", term)
       for term in ("generator", "iterable", "sequence", "path-like object",
                    "file object")},
}

#: The Keras names sklenet's documentation refers to -> their keras.io page
#: (relative to https://keras.io/api/). keras.io is not a Sphinx site and
#: its layout follows no rule that a name gives: one page per class or
#: topic, grouped by the API guide's chapters.
KERAS_PAGES = {
    "keras.Model": "models/model/",
    "keras.Model.compile": "models/model_training_apis/#compile-method",
    "keras.Model.fit": "models/model_training_apis/#fit-method",
    "keras.Model.evaluate": "models/model_training_apis/#evaluate-method",
    "keras.Model.predict": "models/model_training_apis/#predict-method",
    "keras.Model.save": "models/model_saving_apis/model_saving_and_loading/",
    "keras.Model.summary": "models/model/#summary-method",
    "keras.Sequential": "models/sequential/",
    "keras.Input": "layers/core_layers/input/",
    "keras.layers.Layer": "layers/base_layer/",
    "keras.layers.Conv2D": "layers/convolution_layers/convolution2d/",
    "keras.layers.AveragePooling2D": "layers/pooling_layers/average_pooling2d/",
    "keras.layers.MaxPooling2D": "layers/pooling_layers/max_pooling2d/",
    "keras.layers.GlobalAveragePooling2D":
        "layers/pooling_layers/global_average_pooling2d/",
    "keras.layers.Dense": "layers/core_layers/dense/",
    "keras.layers.Identity": "layers/core_layers/identity/",
    "keras.layers.Dropout": "layers/regularization_layers/dropout/",
    "keras.layers.Flatten": "layers/reshaping_layers/flatten/",
    "keras.layers.Reshape": "layers/reshaping_layers/reshape/",
    "keras.layers.Rescaling": "layers/preprocessing_layers/image_preprocessing/"
                              "rescaling/",
    "keras.layers.BatchNormalization":
        "layers/normalization_layers/batch_normalization/",
    "keras.layers.RandomRotation":
        "layers/preprocessing_layers/image_augmentation/random_rotation/",
    "keras.layers.RandomTranslation":
        "layers/preprocessing_layers/image_augmentation/random_translation/",
    "keras.layers.RandomZoom":
        "layers/preprocessing_layers/image_augmentation/random_zoom/",
    "keras.callbacks.Callback": "callbacks/base_callback/",
    "keras.callbacks.EarlyStopping": "callbacks/early_stopping/",
    "keras.callbacks.ModelCheckpoint": "callbacks/model_checkpoint/",
    "keras.callbacks.ReduceLROnPlateau": "callbacks/reduce_lr_on_plateau/",
    "keras.callbacks.LearningRateScheduler": "callbacks/learning_rate_scheduler/",
    "keras.callbacks.TensorBoard": "callbacks/tensorboard/",
    "keras.callbacks.CSVLogger": "callbacks/csv_logger/",
    "keras.callbacks.TerminateOnNaN": "callbacks/terminate_on_nan/",
    "keras.callbacks.LambdaCallback": "callbacks/lambda_callback/",
    "keras.callbacks.BackupAndRestore": "callbacks/backup_and_restore/",
    "keras.optimizers.Optimizer": "optimizers/",
    "keras.optimizers.Adam": "optimizers/adam/",
    "keras.optimizers.schedules.CosineDecay":
        "optimizers/learning_rate_schedules/cosine_decay/",
    "keras.losses.Loss": "losses/",
    "keras.losses.SparseCategoricalCrossentropy":
        "losses/probabilistic_losses/#sparsecategoricalcrossentropy-class",
    "keras.metrics.Metric": "metrics/base_metric/",
    "keras.regularizers.L2": "layers/regularizers/#l2-class",
    "keras.datasets.mnist.load_data": "datasets/mnist/#load_data-function",
    "keras.utils.to_categorical": "utils/python_utils/#to_categorical-function",
}


# ------------------------------------------------------------ the entries
def _kind(obj):
    """The py domain role of a public object, or None to leave it out."""
    if inspect.isclass(obj):
        return "class"
    if callable(obj):
        return "function"
    return None


def _public(module):
    """Public name -> object of a module: its ``__all__``, else what it defines."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [name for name, obj in vars(module).items()
                 if getattr(obj, "__module__", "").startswith(module.__name__)]
    return {name: getattr(module, name) for name in names
            if not name.startswith("_") and hasattr(module, name)}


def _members(cls):
    """Public methods, properties and attributes of a class, its bases' too."""
    return sorted(name for name in dir(cls) if not name.startswith("_"))


def _import(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return importlib.import_module(name)
        except ImportError:  # an optional part of a package (needs an extra)
            return None


def sklearn_entries():
    """Every public class and function of scikit-learn's API reference."""
    import sklearn
    import sklearn.base

    # The experimental estimators have pages too; importing these enables them.
    from sklearn.experimental import (  # noqa: F401
        enable_halving_search_cv,
        enable_iterative_imputer,
    )

    modules = ["sklearn"] + [f"sklearn.{name}" for name in sklearn.__all__
               if isinstance(getattr(sklearn, name, None), types.ModuleType)
               or _import(f"sklearn.{name}") is not None]
    modules += ["sklearn.base", "sklearn.utils"] + [
        f"sklearn.utils.{name}" for name in (
            "class_weight", "discovery", "estimator_checks", "extmath",
            "metadata_routing", "metaestimators", "multiclass", "parallel",
            "random", "sparsefuncs", "validation")]
    entries = {}
    for module_name in dict.fromkeys(modules):
        module = _import(module_name)
        if not isinstance(module, types.ModuleType):
            continue
        if module_name != "sklearn":  # the top level has no page of its own
            entries[module_name] = ("module", f"api/{module_name}.html")
        for name, obj in _public(module).items():
            kind = _kind(obj)
            if kind is None or isinstance(obj, types.ModuleType):
                continue
            if module_name == "sklearn" and hasattr(sklearn.base, name):
                continue  # clone: documented as sklearn.base.clone only
            full = f"{module_name}.{name}"
            page = f"modules/generated/{full}.html"
            entries.setdefault(full, (kind, f"{page}#{full}"))
            if kind == "class":
                for member in _members(obj):
                    entries.setdefault(f"{full}.{member}",
                                       ("method", f"{page}#{full}.{member}"))
    return entries


def numpy_entries():
    """NumPy's functions, classes (ndarray's members too), scalar types,
    constants, and the random and typing names users meet."""
    import numpy as np

    entries = {}
    for name, obj in _public(np).items():
        full = f"numpy.{name}"
        if isinstance(obj, types.ModuleType):
            continue
        if inspect.isclass(obj) and issubclass(obj, np.generic):
            entries[full] = ("class", f"reference/arrays.scalars.html#{full}")
        elif isinstance(obj, (int, float)):
            entries[full] = ("data", f"reference/constants.html#{full}")
        elif _kind(obj) is not None:
            entries[full] = (_kind(obj), f"reference/generated/{full}.html#{full}")
    for member in _members(np.ndarray):
        full = f"numpy.ndarray.{member}"
        entries[full] = ("method", f"reference/generated/{full}.html#{full}")
    random_pages = {
        "Generator": "reference/random/generator.html",
        "default_rng": "reference/random/generator.html",
        "RandomState": "reference/random/legacy.html",
        "SeedSequence": "reference/random/bit_generators/generated/"
                        "numpy.random.SeedSequence.html",
    }
    for name, page in random_pages.items():
        full = f"numpy.random.{name}"
        entries[full] = (_kind(getattr(np.random, name)), f"{page}#{full}")
    for name in ("ArrayLike", "DTypeLike", "NDArray"):
        full = f"numpy.typing.{name}"
        entries[full] = ("data", f"reference/typing.html#{full}")
    entries["numpy.typing"] = ("module", "reference/typing.html")
    entries["numpy"] = ("module", "reference/index.html")
    # What numpydoc's DEFAULT_LINKS refer to: numpy:array_like, the scalars.
    entries["array_like"] = ("std:term", "glossary.html#term-array_like",
                             "array_like")
    entries["arrays.scalars"] = ("std:label", "reference/arrays.scalars.html",
                                 "Scalars")
    return entries


def pandas_entries():
    """pandas' top-level functions and classes, and the members of its data
    structures."""
    import pandas as pd

    entries = {}
    for name, obj in _public(pd).items():
        kind = _kind(obj)
        if kind is None or isinstance(obj, types.ModuleType):
            continue
        full = f"pandas.{name}"
        entries[full] = (kind, f"reference/api/{full}.html#{full}")
    for cls in (pd.DataFrame, pd.Series, pd.Index):
        for member in _members(cls):
            full = f"pandas.{cls.__name__}.{member}"
            entries[full] = ("method", f"reference/api/{full}.html#{full}")
    return entries


def _optuna_folder(module_name):
    """Optuna's autosummary folder of a module's pages."""
    if module_name == "optuna.visualization.matplotlib":
        return "reference/visualization/matplotlib/generated"
    if module_name in ("optuna.samplers", "optuna.visualization"):
        return f"reference/{module_name.split('.')[1]}/generated"
    return "reference/generated"


def optuna_entries():
    """Optuna's public functions and classes (their methods too), module by
    module, as its API reference lists them."""
    import optuna

    modules = ["optuna"] + [
        f"optuna.{name}" for name in optuna.__all__
        if isinstance(getattr(optuna, name), types.ModuleType)
        and name not in ("integration", "version")
    ] + ["optuna.visualization.matplotlib"]
    entries = {}
    for module_name in modules:
        module = _import(module_name)
        if module is None:
            continue
        if module_name != "optuna":
            entries[module_name] = (
                "module", f"reference/{module_name.removeprefix('optuna.')}.html"
                .replace("visualization.matplotlib", "visualization/matplotlib"))
        for name, obj in _public(module).items():
            kind = _kind(obj)
            if kind is None or isinstance(obj, types.ModuleType):
                continue
            full = f"{module_name}.{name}"
            page = f"{_optuna_folder(module_name)}/{full}.html"
            entries[full] = (kind, f"{page}#{full}")
            if kind == "class":
                for member in _members(obj):
                    entries[f"{full}.{member}"] = ("method",
                                                   f"{page}#{full}.{member}")
    return entries


def keras_entries():
    """:data:`KERAS_PAGES`, each name checked against the installed Keras."""
    import keras

    entries = {}
    for full, page in KERAS_PAGES.items():
        parent, obj = None, keras
        for part in full.split(".")[1:]:
            parent, obj = obj, getattr(obj, part)  # AttributeError: Keras lost it
        entries[full] = ("method" if inspect.isclass(parent) else _kind(obj), page)
    return entries


def python_entries():
    """:data:`PYTHON_PAGES`."""
    return dict(PYTHON_PAGES)


PROJECTS = {
    "python": ("Python", python_entries),
    "sklearn": ("scikit-learn", sklearn_entries),
    "numpy": ("NumPy", numpy_entries),
    "pandas": ("pandas", pandas_entries),
    "optuna": ("Optuna", optuna_entries),
    "keras": ("Keras", keras_entries),
}


# ------------------------------------------------------------ the format
def inventory_bytes(project, version, entries):
    """Sphinx's inventory format, version 2: a four-line header, then one
    zlib-compressed line per object, ``name domain:role priority uri
    dispname`` (``-``: the name itself). ``entries`` maps a name to its role
    (``class``: ``py:class``) and URI, and a title for labels and terms."""
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    lines = "".join(
        f"{name} {role if ':' in role else 'py:' + role} 1 {uri} {title}\n"
        for name, (role, uri, title) in sorted(
            (name, (*entry, "-")[:3]) for name, entry in entries.items())
    )
    return header.encode() + zlib.compress(lines.encode(), 9)


def write(key, folder=INVENTORIES):
    """Write ``<folder>/<key>.inv``; returns its path and number of names."""
    project, entries_of = PROJECTS[key]
    if key == "python":
        version = ".".join(map(str, sys.version_info[:2]))
    else:
        version = importlib.metadata.version(
            {"sklearn": "scikit-learn"}.get(key, key))
    entries = entries_of()
    path = Path(folder) / f"{key}.inv"
    path.write_bytes(inventory_bytes(project, version, entries))
    return path, len(entries)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("projects", nargs="*", metavar="PROJECT",
                        help=f"any of {', '.join(PROJECTS)} (default: all)")
    projects = parser.parse_args(argv).projects or list(PROJECTS)
    unknown = sorted(set(projects) - set(PROJECTS))
    if unknown:
        parser.error(f"unknown projects {unknown}: choose from {list(PROJECTS)}")
    for key in projects:
        path, count = write(key)
        print(f"{path}: {count} names, {path.stat().st_size:,} bytes",
              file=sys.stderr)


if __name__ == "__main__":
    main()
