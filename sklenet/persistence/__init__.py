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
Before that, a path that is not a regular file (``/dev/zero``, a FIFO) or is
larger than 2 GiB is refused without being read. Each NumPy array in the JSON
members is checked before it is allocated: its dtype must be one that
:func:`save` writes, its data must fill its shape, and all the arrays of an
archive together may take 64 MiB.

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
  fitted estimator;
* ``est._check_loaded_state()`` raises a ``ValueError`` naming what
  disagrees when the restored attributes contradict the models (each
  estimator knows its own invariants).

JSON encoding of ``params.json`` and ``attributes.json``: ``None``, ``bool``,
``int``, ``float`` (NaN and infinities included), ``str``, lists and dicts with
``str`` keys are stored as they are; tuples, dicts with other keys (such as
``class_weight={0: 1.0, 1: 2.0}``) and NumPy arrays of bool, int and uint (8 to
64 bits), float (16 to 64 bits), str or such objects are stored tagged and
restored exactly (type, dtype and shape);
NumPy scalars are stored as the equal Python scalars. Anything else (Keras
callbacks, ``np.random.RandomState`` instances, ...) is refused with a
``TypeError`` before any file is written.
"""

from ._api import ArchiveVersionWarning, load, read_manifest, save
from ._archive import FORMAT_NAME, FORMAT_VERSION, InvalidArchiveError

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "ArchiveVersionWarning",
    "InvalidArchiveError",
    "load",
    "read_manifest",
    "save",
]

# Documented, pickled and shown in tracebacks under the public module.
for _public in (ArchiveVersionWarning, InvalidArchiveError, load, read_manifest, save):
    _public.__module__ = __name__
del _public
