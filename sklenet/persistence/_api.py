"""The save/load API: :func:`save`, :func:`load` and :func:`read_manifest`."""

import contextlib
import importlib.metadata
import os
import platform
import sys
import tempfile
import warnings
from typing import Any

import keras
import numpy as np

from .._typing import PathLike
from ._archive import (
    _ATTRIBUTES,
    _MAX_ARRAY_BYTES,
    _MODEL_DIR,
    _MODEL_NAME,
    _MODEL_SUFFIX,
    _PACKAGE,
    _PARAMS,
    InvalidArchiveError,
    _class_path,
    _read_verified,
    _resolve_class,
    _write_archive,
)
from ._codec import _ArrayBudget, _dumps, _loads

# Versions whose mismatch with the running ones makes load() warn.
_CHECKED_VERSIONS = ("sklenet", "keras", "scikit-learn")


class ArchiveVersionWarning(UserWarning):
    """The archive was written with other sklenet/Keras/scikit-learn versions.

    Emitted by :func:`load`; the estimator is still loaded, but it may behave
    differently or fail. Refit or re-save it with the installed versions.
    """


# ---------------------------------------------------------------- versions
def _distribution_version(*names):
    for name in names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def _current_versions():
    sklenet_module = sys.modules.get(_PACKAGE)
    tensorflow = sys.modules.get("tensorflow")
    return {
        "sklenet": getattr(sklenet_module, "__version__", None)
        or _distribution_version("sklenet"),
        "keras": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "tensorflow": getattr(tensorflow, "__version__", None)
        or _distribution_version("tensorflow", "tensorflow-cpu"),
        "scikit-learn": _distribution_version("scikit-learn"),
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


# --------------------------------------------------------------------- save
def save(estimator: Any, path: PathLike) -> None:
    """Save a fitted sklenet estimator to one archive file, without pickle.

    The file is a zip archive of JSON documents and Keras ``.keras`` models
    (layout in :mod:`sklenet.persistence`); read it back with :func:`load`.
    It is written atomically: to a temporary file in the same directory,
    flushed to disk, then renamed over ``path``, so a failure never leaves a
    partial file and never damages an existing ``path``.

    Parameters
    ----------
    estimator : estimator of the sklenet package
        A fitted estimator implementing the persistence protocol, such as
        :class:`~sklenet.LeNetClassifier`. Its parameters must be JSON data:
        ``None``, bools, numbers, strings and lists, tuples, dicts or NumPy
        arrays of them (so ``callbacks`` must be None and ``random_state``
        None or an int).
    path : str or path-like
        The file to write (the suffix ``.sklenet`` is suggested, not
        required). An existing file is replaced and keeps its permission
        bits.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    TypeError
        If the estimator is not a sklenet estimator, or one of its parameters
        or fitted attributes is not JSON data (for example Keras callbacks or
        a ``np.random.RandomState``). Nothing is written then. Set such a
        parameter to None (or an int), or use ``joblib.dump``, which pickles
        the estimator (load such files only from trusted sources).
    ValueError
        If the archive would be larger than :func:`load` accepts (16 MiB for
        the parameters or the attributes, 64 MiB for their NumPy arrays
        together, 1 GiB in all). Nothing is written then.
    OSError
        If ``path`` cannot be written: its folder is missing, it is read-only
        (refused even where it could be replaced) or the disk is full. The
        error names ``path``; an existing file is left as it was. A device
        (``/dev/null``) is written in place and a symbolic link's target
        replaced.

    See Also
    --------
    load : Load an archive written by this function.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sklenet import LeNetClassifier
    >>> from sklenet.persistence import load, save
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, size=(40, 784), dtype=np.uint8)
    >>> y = np.arange(40) % 3
    >>> clf = LeNetClassifier(epochs=1, early_stopping=False, random_state=0)
    >>> clf = clf.fit(X, y)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "lenet.sklenet")
    ...     save(clf, path)
    ...     restored = load(path)
    >>> np.array_equal(restored.predict_proba(X), clf.predict_proba(X))
    True
    >>> restored.get_params() == clf.get_params()
    True
    """
    cls = type(estimator)
    class_path = _class_path(cls)
    resolved, reason = _resolve_class(class_path)
    if resolved is not cls:
        raise TypeError(
            f"sklenet.save stores estimators of the sklenet package that "
            f"implement the persistence protocol; {cls.__qualname__} cannot be "
            f"stored ({reason or 'its class cannot be found again by name'}). "
            "Use joblib.dump instead."
        )
    name = cls.__name__
    budget = _ArrayBudget(_MAX_ARRAY_BYTES)
    params = _dumps(
        estimator.get_params(deep=False),
        "params",
        f"sklenet.save stores {name}'s parameters as JSON, so this one cannot "
        "be saved. Set it to None or a plain value (random_state to an int or "
        "None) before saving, or save the estimator with joblib.dump, which "
        "pickles it (load such files only from trusted sources).",
        budget,
    )
    attributes, models = estimator._get_persistent_state()
    attributes = _dumps(
        attributes,
        "attributes",
        f"This is a bug in {name}._get_persistent_state; please report it.",
        budget,
    )
    members = {_PARAMS: params, _ATTRIBUTES: attributes,
               **_model_members(models, name)}
    _write_archive(path, class_path, members, _current_versions(), name=name)


def _model_members(models, name):
    """``{"models/<name>.keras": bytes}`` for the models of estimator class
    ``name``, once their names and types are checked."""
    if not isinstance(models, dict) or not models:
        raise TypeError(f"{name}._get_persistent_state returned no models.")
    for model_name, model in models.items():
        if not isinstance(model_name, str) or not _MODEL_NAME.fullmatch(model_name):
            raise ValueError(
                f"Model name {model_name!r} of {name} is not allowed: use "
                "letters, digits, '_', '.' and '-' (at most 128)."
            )
        if not isinstance(model, keras.Model):
            raise TypeError(f"Model {model_name!r} of {name} is not a keras.Model.")
    members = {}
    with tempfile.TemporaryDirectory(prefix="sklenet-save-") as tmp:
        for model_name, model in models.items():
            model_file = os.path.join(tmp, model_name + _MODEL_SUFFIX)
            model.save(model_file)
            with open(model_file, "rb") as f:
                members[_MODEL_DIR + model_name + _MODEL_SUFFIX] = f.read()
    return members


# --------------------------------------------------------------------- load
def read_manifest(path: PathLike) -> dict[str, Any]:
    """The manifest of a sklenet archive, after checking the archive's integrity.

    Runs every check of :func:`load` (format, members, sizes, SHA-256,
    estimator class) but deserialises nothing besides the manifest itself,
    and writes nothing.

    Parameters
    ----------
    path : str or path-like
        An archive written by :func:`save`.

    Returns
    -------
    manifest : dict
        ``format``, ``format_version``, ``estimator_class``, ``models``,
        ``members`` (by member, ``{"sha256": ..., "size": ...}``; for a
        version 1 archive, the SHA-256 only), ``versions`` and ``created``.

    Raises
    ------
    InvalidArchiveError
        If the file is not an intact sklenet archive.
    """
    manifest, _, _ = _read_verified(path)
    return manifest


def load(path: PathLike) -> Any:
    """Load an estimator saved with :func:`save`, without unpickling anything.

    Every check comes before anything inside the file is deserialised: the
    file must be a complete zip archive of format ``"sklenet.estimator"``
    (version 1 or 2) holding exactly the members its manifest lists, each of
    the size the manifest declares (checked before it is inflated; 16 MiB at
    most for JSON, 1 GiB in all) and matching its SHA-256, and the manifest
    must name an estimator class of the ``sklenet`` package implementing the
    persistence protocol. Then the JSON parameters and attributes are
    decoded; each NumPy array in them must have a dtype that :func:`save`
    writes (bool, int, uint, float up to 64 bits, str, object) and data that
    fill its shape, and all of them together may take 64 MiB, which is
    checked before each is allocated. Each model is loaded with
    ``keras.saving.load_model(..., compile=True, safe_mode=True)`` (safe mode
    is enforced even if ``keras.config.enable_unsafe_deserialization()`` was
    called). Last, the fitted attributes must agree with the models: as many
    classes as output units, the image shape the models take, and so on
    (each estimator's ``_check_loaded_state`` says what must agree).

    The SHA-256 digests only detect corruption and naive tampering (an
    attacker can rewrite the manifest as well); the safety against malicious
    files comes from the absence of pickle, the restriction to sklenet
    classes and Keras' safe mode.

    Parameters
    ----------
    path : str or path-like
        An archive written by :func:`save`.

    Returns
    -------
    estimator : estimator of the sklenet package
        The fitted estimator, with the saved parameters, fitted attributes
        and (compiled) Keras models; its predictions equal the saved one's.

    Raises
    ------
    InvalidArchiveError
        If the file is not an intact sklenet archive (see above), is not a
        regular file (``/dev/zero``, a FIFO: refused unread), is larger than
        2 GiB or cannot be read, a member fails to decode (e.g. an array of
        another dtype or past the 64 MiB, a model that Keras' safe mode
        refuses) or the attributes disagree with the models.
    FileNotFoundError
        If the file does not exist.

    Warns
    -----
    ArchiveVersionWarning
        If the archive was written with another version of sklenet, Keras or
        scikit-learn than the installed one (it is loaded nevertheless).

    See Also
    --------
    save : Its examples show a round trip.
    read_manifest : Check an archive and read its manifest only.
    """
    shown = repr(os.fspath(path))
    with tempfile.TemporaryDirectory(prefix="sklenet-load-") as model_dir:
        manifest, cls, members = _read_verified(path, model_dir)
        _warn_on_other_versions(manifest, shown)
        budget = _ArrayBudget(_MAX_ARRAY_BYTES)
        params = _decoded(members, _PARAMS, shown, budget)
        attributes = _decoded(members, _ATTRIBUTES, shown, budget)
        if not isinstance(params, dict) or not isinstance(attributes, dict):
            raise InvalidArchiveError(
                f"Refusing to load {shown}: {_PARAMS} and {_ATTRIBUTES} must "
                "hold JSON objects."
            )
        models = {}
        for name in manifest["models"]:
            try:
                with _enforced_safe_mode():
                    models[name] = keras.saving.load_model(
                        os.path.join(model_dir, name + _MODEL_SUFFIX),
                        compile=True,
                        safe_mode=True,
                    )
            except Exception as exc:
                raise InvalidArchiveError(
                    f"Refusing to load {shown}: Keras cannot load model "
                    f"{name!r} in safe mode ({exc})."
                ) from exc
    try:
        estimator = cls._from_persistent_state(params, attributes, models)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise InvalidArchiveError(
            f"Refusing to load {shown}: its parameters or attributes do not fit "
            f"{cls.__qualname__} ({type(exc).__name__}: {exc})."
        ) from exc
    try:
        estimator._check_loaded_state()
    except ValueError as exc:
        raise InvalidArchiveError(
            f"Refusing to load {shown}: its fitted attributes disagree with its "
            f"models: {exc}."
        ) from exc
    return estimator


def _decoded(members, member, shown, budget):
    """The decoded JSON member ``member`` of a verified archive, its arrays'
    bytes spent from ``budget``."""
    try:
        return _loads(members[member], budget)
    except ValueError as exc:
        raise InvalidArchiveError(
            f"Refusing to load {shown}: {member} is not valid sklenet JSON "
            f"({exc})."
        ) from exc


def _warn_on_other_versions(manifest, shown):
    saved = manifest.get("versions", {})
    current = _current_versions()
    mismatched = [
        f"{lib} {saved[lib]} (installed: {current[lib]})"
        for lib in _CHECKED_VERSIONS
        if saved.get(lib) is not None and saved[lib] != current[lib]
    ]
    if mismatched:
        warnings.warn(
            f"{shown} was saved with {', '.join(mismatched)}. The estimator may "
            "behave differently or fail; refit it or re-save it with the "
            "installed versions.",
            ArchiveVersionWarning,
            stacklevel=3,
        )


def _enforced_safe_mode():
    """Keras' safe-mode scope, which overrides a global unsafe setting.

    ``keras.config.enable_unsafe_deserialization()`` would otherwise override
    ``load_model(safe_mode=True)``. The scope is private Keras API, hence the
    fallback.
    """
    try:
        from keras.src.saving.serialization_lib import SafeModeScope
    except ImportError:  # pragma: no cover - Keras moved it
        return contextlib.nullcontext()
    return SafeModeScope(True)

