"""The archive: its format, its limits and the checks that come before
anything in it is decoded.

Reading (:func:`_read_verified`) refuses a path that is not a regular file or
is too large, then checks the manifest, every member's declared size against
its zip header and the limits below, and its SHA-256 while it is inflated in
chunks; it parses nothing but the manifest. Writing (:func:`_write_archive`)
refuses beforehand what reading would refuse.
"""

import datetime
import hashlib
import hmac
import importlib
import json
import os
import re
import struct
import sys
import zipfile
import zlib

from sklearn.base import BaseEstimator

from .._io import InvalidFileError, atomic_open, open_regular_file

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
# The NumPy arrays decoded from the JSON members, all together, counted
# before each is allocated. Numbers take at least two characters of JSON
# ("0,") and at most 8 bytes as an array, so a 16 MiB member's numbers take
# at most 64 MiB; a string array takes 4 bytes per character of its longest
# string per item, which a few bytes of JSON can declare in gigabytes.
_MAX_ARRAY_BYTES = 64 << 20
# The archive file itself, checked before it is opened as a zip: deflate
# grows incompressible data by well under 1% and zip headers add a few
# hundred bytes a member, so twice the inflated limit is never legitimate.
_MAX_FILE_BYTES = 2 * _MAX_ARCHIVE_BYTES
# Inflate and hash members this many bytes at a time.
_CHUNK_BYTES = 1 << 20
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MODULE_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUALNAME_PART = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_PACKAGE = "sklenet"
# What an estimator class must implement to be saved and loaded.
_PROTOCOL = ("_get_persistent_state", "_from_persistent_state",
             "_check_loaded_state")


class InvalidArchiveError(InvalidFileError):
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
    units), and for a path that is not a regular file (``/dev/zero``, a FIFO)
    or is larger than twice the 1 GiB sklenet inflates. A subclass of
    :class:`ValueError`.
    """


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



# -------------------------------------------------------------------- write
def _write_archive(path, class_path, members, versions, *, name):
    """Write ``members`` ({name: bytes}: the JSON members, then the models)
    and their manifest to ``path``, atomically.

    Refuses (ValueError naming the estimator class ``name``, nothing written)
    what :func:`_read_verified` would.
    """
    for member, data in members.items():
        if member.endswith(".json") and len(data) > _MAX_JSON_BYTES:
            raise ValueError(
                f"{name}'s {member} takes {len(data):,} bytes; sklenet.load reads "
                f"JSON members of at most {_MAX_JSON_BYTES:,} bytes."
            )
    total = sum(len(data) for data in members.values())
    if total > _MAX_ARCHIVE_BYTES:
        raise ValueError(
            f"{name}'s archive would inflate to {total:,} bytes; sklenet.load reads "
            f"archives of at most {_MAX_ARCHIVE_BYTES:,} bytes. Use "
            "joblib.dump for such a large model (trusted files only)."
        )
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "estimator_class": class_path,
        "models": [
            member[len(_MODEL_DIR):-len(_MODEL_SUFFIX)]
            for member in members if member.startswith(_MODEL_DIR)
        ],
        "members": {
            member: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for member, data in members.items()
        },
        "versions": versions,
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


# --------------------------------------------------------------------- read
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

    try:
        file = open_regular_file(path, what="sklenet archive",
                                 max_bytes=_MAX_FILE_BYTES)
    except InvalidFileError as exc:
        raise InvalidArchiveError(str(exc), path) from None
    with file as f:
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

