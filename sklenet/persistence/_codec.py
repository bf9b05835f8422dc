"""The tagged JSON of ``params.json`` and ``attributes.json``.

Plain JSON data is stored as it is; tuples, dicts with non-``str`` keys and
NumPy arrays are stored as objects tagged ``{"__sklenet_type__": ...}`` and
restored exactly; anything else is refused with a ``TypeError``.

An array's dtype, shape and bytes are checked before it is allocated: only
the dtypes :func:`_to_json` writes are read back, and an :class:`_ArrayBudget`
bounds the bytes of all the arrays of one archive, so that a crafted entry
such as ``{"dtype": "<U100000000", "shape": [8], ...}`` (3.2 GB from a few
bytes of JSON) is refused at once, in little memory.
"""

import functools
import json
import math
import re

import numpy as np

from .._io import shorten

_TAG = "__sklenet_type__"
# The arrays sklenet stores: dtype kind -> its item sizes (None: any but 0),
# what JSON numbers, strings and nested JSON data restore exactly. Not
# float128 (JSON floats are float64), bytes, complex, dates or records.
_ARRAY_ITEMSIZES = {"b": (1,), "i": (1, 2, 4, 8), "u": (1, 2, 4, 8),
                    "f": (2, 4, 8), "U": None, "O": (8,)}
_ALLOWED_DTYPES = ("bool '|b1', int '<i1' to '<i8', uint '|u1' to '<u8', float "
                   "'<f2' to '<f8', str '<U<n>' and object '|O'")
# ``dtype.str`` of those: byte order, kind, item size (none for object). A
# "dtype" of any other form (a list, a dict: a structured dtype) is refused
# before NumPy parses it.
_DTYPE_STR = re.compile(r"[<>|][biufUO][0-9]{0,10}")
# NumPy 2's limit.
_MAX_NDIM = 64


class _ArrayBudget:
    """The bytes that the NumPy arrays of one archive may take, spent as each
    array is encoded, or decoded before it is allocated.

    Parameters
    ----------
    limit : int
        The bytes all the arrays may take together.
    """

    def __init__(self, limit):
        self.limit = limit
        self.spent = 0

    def spend(self, nbytes, what):
        """Count ``nbytes`` more; a ValueError naming ``what`` past the limit."""
        self.spent += nbytes
        if self.spent > self.limit:
            raise ValueError(
                f"{what} takes {nbytes:,} bytes, which brings the archive's arrays "
                f"to {self.spent:,}, more than the {self.limit:,} bytes sklenet "
                "decodes from one archive"
            )


def _storable(dtype):
    """Whether arrays of ``dtype`` are stored (and read back) by sklenet."""
    sizes = _ARRAY_ITEMSIZES.get(dtype.kind, ())
    return (dtype.names is None and dtype.subdtype is None
            and (dtype.itemsize in sizes if sizes is not None else dtype.itemsize > 0))


def _to_json(value, where, budget):
    """``value`` as plain JSON data (tagged for tuples, arrays, odd dicts);
    its arrays' bytes are spent from ``budget``."""
    if value is None or isinstance(value, (bool, str)):
        return str(value) if isinstance(value, np.str_) else value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, list):
        return [_to_json(v, f"{where}[{i}]", budget) for i, v in enumerate(value)]
    if isinstance(value, tuple):
        items = [_to_json(v, f"{where}[{i}]", budget) for i, v in enumerate(value)]
        return {_TAG: "tuple", "items": items}
    if isinstance(value, dict):
        if all(type(k) is str for k in value):
            if _TAG in value:
                raise TypeError(f"{where} is a dict with the reserved key {_TAG!r}")
            return {k: _to_json(v, f"{where}[{k!r}]", budget) for k, v in value.items()}
        items = [
            [_to_json(k, f"{where} key {k!r}", budget),
             _to_json(v, f"{where}[{k!r}]", budget)]
            for k, v in value.items()
        ]
        return {_TAG: "dict", "items": items}
    if isinstance(value, np.ndarray):
        if not _storable(value.dtype):
            raise TypeError(
                f"{where} is a NumPy array of dtype {value.dtype}; only arrays of "
                f"{_ALLOWED_DTYPES} can be stored"
            )
        budget.spend(value.size * value.dtype.itemsize,
                     f"{where} (a NumPy array of shape {value.shape})")
        flat = value.ravel()
        if value.dtype.kind == "O":
            data = [_to_json(v, f"{where}.flat[{i}]", budget)
                    for i, v in enumerate(flat)]
        else:
            data = flat.tolist()
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


def _decode_tagged(obj, budget):
    """``json.loads`` object hook: undo the tagging of :func:`_to_json`."""
    if _TAG not in obj:
        return obj
    kind = obj[_TAG]
    if kind == "tuple" and set(obj) == {_TAG, "items"}:
        return tuple(obj["items"])
    if kind == "dict" and set(obj) == {_TAG, "items"}:
        return {k: v for k, v in obj["items"]}
    if kind == "ndarray" and set(obj) == {_TAG, "dtype", "shape", "data"}:
        return _decode_array(obj["dtype"], obj["shape"], obj["data"], budget)
    raise ValueError(f"unknown tagged object {shorten(kind)}")


def _decode_array(dtype, shape, data, budget):
    """The array a tagged ``ndarray`` object describes, once its dtype, shape
    and bytes are checked: nothing is allocated before."""
    if not (isinstance(dtype, str) and _DTYPE_STR.fullmatch(dtype)):
        raise ValueError(f"array dtype {shorten(dtype)} is not one sklenet stores: "
                         f"{_ALLOWED_DTYPES}")
    try:
        parsed = np.dtype(dtype)
    except TypeError:  # an item size NumPy cannot handle, such as '<U9999999999'
        parsed = None
    # Only the spelling save writes: '|O4' and '<b1' name the same dtypes.
    if parsed is None or parsed.str != dtype or not _storable(parsed):
        raise ValueError(f"array dtype {shorten(dtype)} is not one sklenet stores: "
                         f"{_ALLOWED_DTYPES}")
    if not (isinstance(shape, list) and len(shape) <= _MAX_NDIM
            and all(type(s) is int and s >= 0 for s in shape)):
        raise ValueError(f"array shape {shorten(shape)} is not a list of at most "
                         f"{_MAX_NDIM} sizes >= 0")
    size = math.prod(shape)
    if not isinstance(data, list) or len(data) != size:
        found = f"{len(data):,} items" if isinstance(data, list) else "no list"
        raise ValueError(f"array data hold {found}; its shape {shorten(shape)} "
                         f"holds {size:,}")
    budget.spend(size * parsed.itemsize,
                 f"an array of dtype {dtype!r} and shape {shorten(shape)}")
    if parsed.kind != "O" and not all(
        isinstance(v, (bool, int, float, str)) for v in data
    ):
        raise ValueError(f"array data of dtype {dtype!r} hold non-scalar items")
    try:
        if parsed.kind == "O":
            flat = np.empty(size, dtype=object)
            for i, item in enumerate(data):  # a list item stays one item
                flat[i] = item
        else:
            flat = np.asarray(data, dtype=parsed)
    except (TypeError, ValueError, OverflowError) as exc:  # "x" as float, 300 as u1
        raise ValueError(f"array data do not fit dtype {dtype!r} ({exc})") from exc
    try:
        return flat.reshape(shape)
    except ValueError as exc:  # a dimension NumPy cannot hold, even with no item
        raise ValueError(f"array shape {shorten(shape)} is not valid ({exc})") from exc


def _dumps(value, what, hint, budget):
    """``value`` as UTF-8 tagged JSON; TypeError (not JSON data) or ValueError
    (arrays past ``budget``) ending with ``hint``."""
    try:
        data = _to_json(value, what, budget)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{exc}. {hint}") from None
    return json.dumps(data, indent=1, ensure_ascii=False).encode("utf-8")


def _loads(data, budget):
    """Decode UTF-8 JSON written by :func:`_dumps`, its arrays' bytes spent
    from ``budget``; ValueError if it is not such JSON."""
    try:
        return json.loads(data.decode("utf-8"),
                          object_hook=functools.partial(_decode_tagged, budget=budget))
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise ValueError(str(exc)) from exc
