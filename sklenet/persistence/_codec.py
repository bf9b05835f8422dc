"""The tagged JSON of ``params.json`` and ``attributes.json``.

Plain JSON data is stored as it is; tuples, dicts with non-``str`` keys and
NumPy arrays are stored as objects tagged ``{"__sklenet_type__": ...}`` and
restored exactly; anything else is refused with a ``TypeError``.
"""

import json

import numpy as np

_TAG = "__sklenet_type__"
_ARRAY_KINDS = "biufU"


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


def _loads(data):
    """Decode UTF-8 JSON written by :func:`_dumps`; ValueError if it is not."""
    try:
        return json.loads(data.decode("utf-8"), object_hook=_decode_tagged)
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise ValueError(str(exc)) from exc
