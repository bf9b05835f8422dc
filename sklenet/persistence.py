"""Save and load fitted sklenet estimators without pickle.

:func:`save` writes a fitted estimator to one zip archive; :func:`load` reads
it back. Unlike ``joblib.dump``/``pickle``, loading never unpickles anything:
the archive holds only JSON documents and Keras' native ``.keras`` model files,
and the models are loaded with ``keras.saving.load_model(..., safe_mode=True)``.
Loading an archive from an untrusted source is therefore as safe as Keras'
safe mode (which refuses ``Lambda`` layers and unregistered classes; keep Keras
up to date), not as dangerous as unpickling. ``joblib`` remains the right tool
for estimators whose parameters are arbitrary Python objects, for trusted
files only.

Archive layout (format ``"sklenet.estimator"``, version 2)::

    manifest.json          format, class, member hashes and sizes, versions
    params.json            estimator.get_params(deep=False)
    attributes.json        fitted attributes (JSON)
    models/<name>.keras    one Keras model per name (e.g. "model", or
                           "member_0", "member_1", ... for an ensemble)

``manifest.json`` is a JSON object::

    {
      "format": "sklenet.estimator",
      "format_version": 2,
      "estimator_class": "sklenet:LeNetClassifier",   # "module:qualname"
      "models": ["model"],                             # names, in order
      "members": {                                     # every other member
        "params.json": {"sha256": "<hex>", "size": 1234},  # size in bytes
        ...},
      "versions": {"sklenet": ..., "keras": ..., "keras_backend": ...,
                   "tensorflow": ..., "scikit-learn": ..., "numpy": ...,
                   "python": ...},
      "created": "2025-01-01T00:00:00+00:00"
    }

Version 1 archives (``"members": {"params.json": "<sha256 hex>", ...}``, no
sizes) are still read. A member is inflated only after its size in the zip
header has been checked against the size the manifest declares and against
fixed limits (16 MiB for a JSON member, 1 GiB for the whole archive), and it
is read in chunks while hashed, never past that size: a small file that
inflates to gigabytes (a zip bomb) is refused at once, in little memory.

The SHA-256 digests catch accidental corruption and naive edits only: whoever
can rewrite a member can rewrite the manifest too. They are not a signature;
the safety of :func:`load` rests on nothing being unpickled, on the estimator
class being restricted to the ``sklenet`` package and on Keras' safe mode.

Any estimator class of the ``sklenet`` package can be stored if it implements
the persistence protocol:

* ``est._get_persistent_state()`` returns ``(attributes, models)``: a dict of
  JSON-able fitted attributes and a dict ``{name: keras.Model}`` (it raises
  ``NotFittedError`` when unfitted);
* ``cls._from_persistent_state(params, attributes, models)`` returns the
  fitted estimator.

JSON encoding of ``params.json`` and ``attributes.json``: ``None``, ``bool``,
``int``, ``float`` (NaN and infinities included), ``str``, lists and dicts with
``str`` keys are stored as they are; tuples, dicts with other keys (such as
``class_weight={0: 1.0, 1: 2.0}``) and NumPy arrays of bool, int, float, str or
such objects are stored tagged and restored exactly (type, dtype and shape);
NumPy scalars are stored as the equal Python scalars. Anything else (Keras
callbacks, ``np.random.RandomState`` instances, ...) is refused with a
``TypeError`` before any file is written.
"""

import contextlib
import datetime
import hashlib
import hmac
import importlib
import importlib.metadata
import json
import math
import os
import platform
import re
import struct
import sys
import tempfile
import warnings
import zipfile
import zlib

import keras
import numpy as np
from sklearn.base import BaseEstimator

from ._io import atomic_open

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "ArchiveVersionWarning",
    "InvalidArchiveError",
    "load",
    "read_manifest",
    "save",
]

FORMAT_NAME = "sklenet.estimator"
FORMAT_VERSION = 2
# Version 1 declared no member sizes; the fixed limits below bound it instead.
_READABLE_VERSIONS = (1, 2)

_MANIFEST = "manifest.json"
_PARAMS = "params.json"
_ATTRIBUTES = "attributes.json"
_MODEL_DIR = "models/"
_MODEL_SUFFIX = ".keras"
# Inflated sizes load() accepts. JSON members are decoded in memory; models
# are streamed to temporary files. A fitted LeNet's JSON takes kilobytes and
# its model about a megabyte, a 10-member ensemble ten times that.
_MAX_MANIFEST_BYTES = 1 << 20
_MAX_JSON_BYTES = 16 << 20
_MAX_ARCHIVE_BYTES = 1 << 30
# Inflate and hash members this many bytes at a time.
_CHUNK_BYTES = 1 << 20
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MODULE_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUALNAME_PART = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_PACKAGE = "sklenet"
# Versions whose mismatch with the running ones makes load() warn.
_CHECKED_VERSIONS = ("sklenet", "keras", "scikit-learn")
_TAG = "__sklenet_type__"
_ARRAY_KINDS = "biufU"
_PROTOCOL = ("_get_persistent_state", "_from_persistent_state")


class InvalidArchiveError(ValueError):
    """The file is not an intact sklenet archive that :func:`load` may read.

    Raised by :func:`load` and :func:`read_manifest`, before anything inside
    the file is deserialised, for: a file that is not a zip archive or is
    truncated; a missing, duplicated or unexpected member; an unknown format
    name or version; a member larger than its declared size or the limits, or
    whose SHA-256 differs from the manifest; an estimator class outside the
    ``sklenet`` package or one that does not implement the persistence
    protocol. Also raised when a (hash-verified) member then fails to decode,
    e.g. a model that Keras refuses in safe mode, and when the fitted
    attributes contradict the models (e.g. more ``classes_`` than output
    units). A subclass of ``ValueError``.
    """


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


# -------------------------------------------------------------------- JSON
def _to_json(value, where):
    """``value`` as plain JSON data (tagged for tuples, arrays, odd dicts)."""
    if value is None or isinstance(value, (bool, str)):
        return str(value) if isinstance(value, np.str_) else value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, list):
        return [_to_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, tuple):
        items = [_to_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return {_TAG: "tuple", "items": items}
    if isinstance(value, dict):
        if all(type(k) is str for k in value):
            if _TAG in value:
                raise TypeError(f"{where} is a dict with the reserved key {_TAG!r}")
            return {k: _to_json(v, f"{where}[{k!r}]") for k, v in value.items()}
        items = [
            [_to_json(k, f"{where} key {k!r}"), _to_json(v, f"{where}[{k!r}]")]
            for k, v in value.items()
        ]
        return {_TAG: "dict", "items": items}
    if isinstance(value, np.ndarray):
        flat = value.ravel()
        if value.dtype.kind == "O":
            data = [_to_json(v, f"{where}.flat[{i}]") for i, v in enumerate(flat)]
        elif value.dtype.kind in _ARRAY_KINDS and value.dtype.names is None:
            data = flat.tolist()
        else:
            raise TypeError(
                f"{where} is a NumPy array of dtype {value.dtype}; only bool, "
                "int, float, str and object arrays can be stored"
            )
        return {
            _TAG: "ndarray",
            "dtype": value.dtype.str,
            "shape": list(value.shape),
            "data": data,
        }
    raise TypeError(
        f"{where} is a {type(value).__module__}.{type(value).__qualname__}, "
        "which is not JSON data"
    )


def _decode_tagged(obj):
    """``json.loads`` object hook: undo the tagging of :func:`_to_json`."""
    if _TAG not in obj:
        return obj
    kind = obj[_TAG]
    if kind == "tuple" and set(obj) == {_TAG, "items"}:
        return tuple(obj["items"])
    if kind == "dict" and set(obj) == {_TAG, "items"}:
        return {k: v for k, v in obj["items"]}
    if kind == "ndarray" and set(obj) == {_TAG, "dtype", "shape", "data"}:
        dtype = np.dtype(obj["dtype"])
        shape = tuple(obj["shape"])
        data = obj["data"]
        if not all(type(s) is int and s >= 0 for s in shape):
            raise ValueError(f"bad array shape {obj['shape']!r}")
        if not isinstance(data, list) or len(data) != int(np.prod(shape)):
            raise ValueError("array data does not match its shape")
        if dtype.kind == "O":
            flat = np.empty(len(data), dtype=object)
            for i, item in enumerate(data):
                flat[i] = item
            return flat.reshape(shape)
        if dtype.kind not in _ARRAY_KINDS or dtype.names is not None:
            raise ValueError(f"array dtype {dtype} is not allowed")
        if not all(isinstance(v, (bool, int, float, str)) for v in data):
            raise ValueError("array data holds non-scalar items")
        return np.asarray(data, dtype=dtype).reshape(shape)
    raise ValueError(f"unknown tagged object {kind!r}")


def _dumps(value, what, hint):
    try:
        data = _to_json(value, what)
    except TypeError as exc:
        raise TypeError(f"{exc}. {hint}") from None
    return json.dumps(data, indent=1, ensure_ascii=False).encode("utf-8")


def _loads(data, member, path):
    try:
        return json.loads(data.decode("utf-8"), object_hook=_decode_tagged)
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise InvalidArchiveError(
            f"Refusing to load {os.fspath(path)!r}: {member} is not valid "
            f"sklenet JSON ({exc})."
        ) from exc


# ------------------------------------------------------------------ classes
def _class_path(cls):
    """``module:qualname`` of ``cls``, the public ``sklenet:Name`` if exported."""
    package = sys.modules.get(_PACKAGE)
    if getattr(package, cls.__name__, None) is cls:
        return f"{_PACKAGE}:{cls.__name__}"
    return f"{cls.__module__}:{cls.__qualname__}"


def _is_sklenet_module(module):
    return module == _PACKAGE or module.startswith(_PACKAGE + ".")


def _resolve_class(class_path):
    """The estimator class named by ``class_path``, or a reason for refusal."""
    if not isinstance(class_path, str) or class_path.count(":") != 1:
        return None, "it is not of the form 'module:qualname'"
    module_name, qualname = class_path.split(":")
    module_parts = module_name.split(".")
    if not _is_sklenet_module(module_name) or not all(
        _MODULE_PART.fullmatch(p) and not p.startswith("__") for p in module_parts
    ):
        return None, f"only classes of the {_PACKAGE!r} package may be loaded"
    name_parts = qualname.split(".")
    if not all(_QUALNAME_PART.fullmatch(p) for p in name_parts):
        return None, "its qualified name is not a public class name"
    try:
        obj = importlib.import_module(module_name)
    except ImportError:
        return None, f"module {module_name!r} does not exist"
    for part in name_parts:
        obj = getattr(obj, part, None)
    if not isinstance(obj, type) or not _is_sklenet_module(obj.__module__):
        return None, f"it is not a class of the {_PACKAGE!r} package"
    if not issubclass(obj, BaseEstimator) or not all(
        callable(getattr(obj, m, None)) for m in _PROTOCOL
    ):
        return None, (
            "it is not a sklenet estimator implementing _get_persistent_state "
            "and _from_persistent_state"
        )
    return obj, None


# --------------------------------------------------------------------- save
def save(estimator, path):
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
        the parameters or the attributes, 1 GiB in all). Nothing is written
        then.

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
    params = _dumps(
        estimator.get_params(deep=False),
        "params",
        f"sklenet.save stores {name}'s parameters as JSON, so this one cannot "
        "be saved. Set it to None or a plain value (random_state to an int or "
        "None) before saving, or save the estimator with joblib.dump, which "
        "pickles it (load such files only from trusted sources).",
    )
    attributes, models = estimator._get_persistent_state()
    attributes = _dumps(
        attributes,
        "attributes",
        f"This is a bug in {name}._get_persistent_state; please report it.",
    )
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

    members = {_PARAMS: params, _ATTRIBUTES: attributes}
    with tempfile.TemporaryDirectory(prefix="sklenet-save-") as tmp:
        for model_name, model in models.items():
            model_file = os.path.join(tmp, model_name + _MODEL_SUFFIX)
            model.save(model_file)
            with open(model_file, "rb") as f:
                members[_MODEL_DIR + model_name + _MODEL_SUFFIX] = f.read()
    # Refuse here what load() would refuse, before anything is written.
    for member, data in members.items():
        if member.endswith(".json") and len(data) > _MAX_JSON_BYTES:
            raise ValueError(
                f"{name}'s {member} takes {len(data):,} bytes; sklenet.load "
                f"reads JSON members of at most {_MAX_JSON_BYTES:,} bytes."
            )
    total = sum(len(data) for data in members.values())
    if total > _MAX_ARCHIVE_BYTES:
        raise ValueError(
            f"{name}'s archive would inflate to {total:,} bytes; sklenet.load "
            f"reads archives of at most {_MAX_ARCHIVE_BYTES:,} bytes. Use "
            "joblib.dump for such a large model (trusted files only)."
        )
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "estimator_class": class_path,
        "models": list(models),
        "members": {
            member: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for member, data in members.items()
        },
        "versions": _current_versions(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
    }
    members = {_MANIFEST: json.dumps(manifest, indent=1).encode("utf-8"), **members}
    with (
        atomic_open(path, "wb") as f,
        zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as zf,
    ):
        for member, data in members.items():
            zf.writestr(member, data)


# --------------------------------------------------------------------- load
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    struct.error,
    ValueError,
    OSError,
    RuntimeError,  # encrypted member
    NotImplementedError,  # unsupported compression
)


def _read_verified(path, model_dir=None):
    """Manifest, estimator class and hash-checked JSON members of ``path``.

    Each model is streamed into ``model_dir`` as ``<name>.keras`` while hashed
    (only hashed when ``model_dir`` is None). Every member's size is checked
    before anything is inflated, and nothing is inflated past it. Parses
    nothing but the manifest JSON; raises InvalidArchiveError for any problem.
    """
    shown = repr(os.fspath(path))

    def refuse(reason):
        return InvalidArchiveError(f"Refusing to load {shown}: {reason}")

    with open(path, "rb") as f:
        try:
            zf = zipfile.ZipFile(f)
        except _ZIP_ERRORS as exc:
            raise refuse(
                f"it is not a valid (or is a truncated) zip archive ({exc})."
            ) from exc
        with zf:
            manifest, expected = _read_manifest_member(zf, refuse)
            version = manifest["format_version"]
            entries = manifest.get("members")
            if not isinstance(entries, dict) or set(entries) != set(expected):
                raise refuse(
                    f"its {_MANIFEST} does not list exactly the members {expected}."
                )
            names = set(zf.namelist())
            missing = sorted(set(expected) - names)
            if missing:
                raise refuse(f"members {missing} are missing.")
            extra = sorted(names - set(expected) - {_MANIFEST})
            if extra:
                raise refuse(f"it holds unexpected members {extra}.")
            digests, sizes = {}, {}
            for member in expected:
                info = zf.getinfo(member)
                entry = entries[member]
                if version == 1:  # a bare digest; the zip header has the size
                    entry = {"sha256": entry, "size": info.file_size}
                if not isinstance(entry, dict):
                    entry = {}
                digest = entry.get("sha256")
                if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
                    raise refuse(f"its {_MANIFEST} has no valid SHA-256 for {member}.")
                digests[member] = digest
                sizes[member] = _checked_size(info, entry.get("size"), refuse)
            total = sum(sizes.values())
            if total > _MAX_ARCHIVE_BYTES:
                raise refuse(
                    f"its members would inflate to {total:,} bytes, more than the "
                    f"{_MAX_ARCHIVE_BYTES:,} sklenet reads."
                )
            cls, reason = _resolve_class(manifest.get("estimator_class"))
            if cls is None:
                raise refuse(
                    f"estimator class {manifest.get('estimator_class')!r} is "
                    f"refused: {reason}."
                )
            json_members = {}
            for member in expected:
                if member.startswith(_MODEL_DIR) and model_dir is not None:
                    target = os.path.join(model_dir, member[len(_MODEL_DIR):])
                    with open(target, "wb") as out:
                        digest = _inflate(zf, member, sizes[member], out.write, refuse)
                elif member.startswith(_MODEL_DIR):
                    digest = _inflate(zf, member, sizes[member], None, refuse)
                else:
                    chunks = []
                    digest = _inflate(zf, member, sizes[member], chunks.append, refuse)
                    json_members[member] = b"".join(chunks)
                if not hmac.compare_digest(digest, digests[member]):
                    raise refuse(
                        f"the SHA-256 of {member} differs from the one in "
                        f"{_MANIFEST}: the file is corrupted or was modified."
                    )
    return manifest, cls, json_members


def _read_manifest_member(zf, refuse):
    """The checked manifest of ``zf`` and the names of the members it lists."""
    names = zf.namelist()
    if len(names) != len(set(names)):
        raise refuse("it holds duplicated members.")
    if _MANIFEST not in names:
        raise refuse(f"it has no {_MANIFEST}; it is not a sklenet archive.")
    size = zf.getinfo(_MANIFEST).file_size
    if size > _MAX_MANIFEST_BYTES:
        raise refuse(f"its {_MANIFEST} is implausibly large ({size:,} bytes).")
    chunks = []
    _inflate(zf, _MANIFEST, size, chunks.append, refuse)
    try:
        manifest = json.loads(b"".join(chunks).decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError included
        raise refuse(f"its {_MANIFEST} cannot be read ({exc}).") from exc
    if not isinstance(manifest, dict):
        raise refuse(f"its {_MANIFEST} is not a JSON object.")
    if manifest.get("format") != FORMAT_NAME:
        raise refuse(f"its format is {manifest.get('format')!r}, not {FORMAT_NAME!r}.")
    version = manifest.get("format_version")
    if type(version) is not int or version not in _READABLE_VERSIONS:
        newer = type(version) is int and version > FORMAT_VERSION
        raise refuse(
            f"its format version is {version!r}; this sklenet reads versions "
            f"{', '.join(map(str, _READABLE_VERSIONS))}"
            + (" (upgrade sklenet to read it)." if newer else ".")
        )
    model_names = manifest.get("models")
    if (
        not isinstance(model_names, list)
        or not model_names
        or not all(isinstance(n, str) and _MODEL_NAME.fullmatch(n) for n in model_names)
        or len(set(model_names)) != len(model_names)
    ):
        raise refuse(f"its {_MANIFEST} lists no valid model names.")
    expected = [_PARAMS, _ATTRIBUTES] + [
        _MODEL_DIR + n + _MODEL_SUFFIX for n in model_names
    ]
    if not isinstance(manifest.get("versions", {}), dict):
        raise refuse(f"its {_MANIFEST} has invalid versions.")
    return manifest, expected


def _checked_size(info, size, refuse):
    """``size``, the declared inflated size of member ``info``, once checked.

    The zip header must repeat it, and it must be within the limits.
    """
    member = info.filename
    if type(size) is not int or size < 0:
        raise refuse(f"its {_MANIFEST} has no valid size for {member}.")
    if info.file_size != size:
        raise refuse(
            f"the zip header gives {member} {info.file_size:,} bytes, its "
            f"{_MANIFEST} {size:,}."
        )
    limit = _MAX_JSON_BYTES if member.endswith(".json") else _MAX_ARCHIVE_BYTES
    if size > limit:
        raise refuse(
            f"{member} would inflate to {size:,} bytes, more than the {limit:,} "
            "sklenet reads."
        )
    return size


def _inflate(zf, member, size, sink, refuse):
    """SHA-256 of ``member``, inflated in chunks passed to ``sink`` (if any).

    Refuses a member that inflates to more or fewer than ``size`` bytes,
    stopping at the first chunk past it: zip headers can lie.
    """
    digest = hashlib.sha256()
    received = 0
    try:
        with zf.open(member) as stream:
            while chunk := stream.read(_CHUNK_BYTES):
                received += len(chunk)
                if received > size:
                    break
                digest.update(chunk)
                if sink is not None:
                    sink(chunk)
    except _ZIP_ERRORS as exc:
        raise refuse(f"member {member} cannot be read ({exc}).") from exc
    if received != size:
        raise refuse(
            f"{member} inflates to {'more' if received > size else 'fewer'} "
            f"than the {size:,} bytes declared."
        )
    return digest.hexdigest()


def read_manifest(path):
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


def load(path):
    """Load an estimator saved with :func:`save`, without unpickling anything.

    Every check comes before anything inside the file is deserialised: the
    file must be a complete zip archive of format ``"sklenet.estimator"``
    (version 1 or 2) holding exactly the members its manifest lists, each of
    the size the manifest declares (checked before it is inflated; 16 MiB at
    most for JSON, 1 GiB in all) and matching its SHA-256, and the manifest
    must name an estimator class of the ``sklenet`` package implementing the
    persistence protocol. Then the JSON parameters and attributes are decoded
    and each model is loaded with
    ``keras.saving.load_model(..., compile=True, safe_mode=True)`` (safe mode
    is enforced even if ``keras.config.enable_unsafe_deserialization()`` was
    called). Last, the fitted attributes must agree with the models: as many
    classes as output units, the image shape the models take, and so on.

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
        If the file is not an intact sklenet archive (see above), a member
        fails to decode (e.g. a model that Keras' safe mode refuses) or the
        attributes disagree with the models.
    OSError
        If the file cannot be opened.

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
        params = _loads(members[_PARAMS], _PARAMS, path)
        attributes = _loads(members[_ATTRIBUTES], _ATTRIBUTES, path)
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
    disagreement = _disagreement(estimator)
    if disagreement:
        raise InvalidArchiveError(
            f"Refusing to load {shown}: its fitted attributes disagree with its "
            f"models: {disagreement}."
        )
    return estimator


def _disagreement(estimator):
    """How ``estimator``'s fitted attributes contradict its models, or None.

    The hashes prove nothing about a crafted archive, and a LeNet whose
    ``classes_`` do not match its output units predicts garbage without an
    error. Generic over the sklenet estimators: a LeNet (``model_``,
    ``classes_``, ``image_shape_``, ``n_features_in_``) and an ensemble of
    them (``estimators_``, ``random_seeds_``); checks apply where the
    attributes exist.
    """
    members = getattr(estimator, "estimators_", None)
    nodes = [("", estimator)]
    if members is not None:
        nodes += [(f"estimators_[{i}].", m) for i, m in enumerate(members)]
    for where, node in nodes:
        shape = getattr(node, "image_shape_", None)
        n_features = getattr(node, "n_features_in_", None)
        # Sizes first, so that no product below multiplies strings or lists.
        if shape is not None and not (
            isinstance(shape, tuple) and all(type(s) is int and s > 0 for s in shape)
        ):
            return f"{where}image_shape_={shape!r} is not a tuple of positive ints"
        if n_features is not None and type(n_features) is not int:
            return f"{where}n_features_in_={n_features!r} is not an int"
        if shape is not None and n_features is not None:
            if math.prod(shape) != n_features:
                return (f"{where}image_shape_={tuple(shape)} holds "
                        f"{math.prod(shape)} pixels, {where}n_features_in_ is "
                        f"{n_features}")
        names = getattr(node, "feature_names_in_", None)
        if names is not None and len(names) != n_features:
            return (f"{where}feature_names_in_ has {len(names)} names, "
                    f"{where}n_features_in_ is {n_features}")
        scale = getattr(node, "input_scale_", 1.0)
        if not (isinstance(scale, float | int) and 0 < scale < math.inf):
            return f"{where}input_scale_={scale!r} is not a positive number"
        model = getattr(node, "model_", None)
        if model is None:
            continue
        inputs = [tuple(tensor.shape[1:]) for tensor in model.inputs or ()]
        if shape is not None and inputs != [tuple(shape)]:
            return (f"{where}model_ takes images of shape {inputs}, "
                    f"{where}image_shape_ is {tuple(shape)}")
        outputs = [tuple(tensor.shape[1:]) for tensor in model.outputs or ()]
        classes = getattr(node, "classes_", None)
        if classes is not None and np.ndim(classes) != 1:
            return f"{where}classes_ is not a list of labels"
        if classes is not None and outputs != [(len(classes),)]:
            return (f"{where}model_ outputs {outputs}, one unit per class, but "
                    f"{where}classes_ holds {len(classes)} classes")
    if members is None:
        return None
    n_estimators = getattr(estimator, "n_estimators", len(members))
    seeds = getattr(estimator, "random_seeds_", members)
    if not len(members) == len(seeds) == n_estimators:
        return (f"n_estimators={n_estimators}, but it holds {len(members)} "
                f"members and {len(seeds)} random_seeds_")
    for where, member in nodes[1:]:
        for name in ("classes_", "image_shape_", "n_features_in_"):
            if hasattr(estimator, name) and not np.array_equal(
                getattr(member, name, None), getattr(estimator, name)
            ):
                return (f"{where}{name}={getattr(member, name, None)!r} differs "
                        f"from {name}={getattr(estimator, name)!r}")
    return None


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
