"""sklenet.persistence: pickle-free save/load of fitted sklenet estimators."""

import hashlib
import io
import json
import os
import re
import stat
import struct
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
import warnings
import zipfile
import zlib

import joblib
import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from sklenet import LeNetClassifier
from sklenet.persistence import (
    FORMAT_NAME,
    FORMAT_VERSION,
    ArchiveVersionWarning,
    InvalidArchiveError,
    load,
    read_manifest,
    save,
)

from ..helpers import run_bounded

FAST = dict(epochs=1, early_stopping=False, random_state=0)
MEMBERS = {"manifest.json", "params.json", "attributes.json", "models/model.keras"}


def _data(n=60):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(n, 784), dtype=np.uint8)
    y = np.array(["cat", "dog", "emu"])[np.arange(n) % 3]
    return X, y


@pytest.fixture(scope="module")
def X():
    return _data()[0]


@pytest.fixture(scope="module")
def fitted():
    """Fitted on an array with string labels and non-default params."""
    X, y = _data()
    clf = LeNetClassifier(image_shape=(28, 28), class_weight={"cat": 2.0},
                          optimizer__epsilon=1e-6, **FAST)
    return clf.fit(X, y)


@pytest.fixture(scope="module")
def fitted_df():
    """Fitted on a DataFrame (feature_names_in_) with int labels."""
    X, y = _data()
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(784)])
    return LeNetClassifier(**FAST).fit(frame, np.arange(len(y)) % 3)


@pytest.fixture(scope="module")
def archive(fitted, tmp_path_factory):
    path = tmp_path_factory.mktemp("archive") / "clf.sklenet"
    save(fitted, path)
    return path


def _fitted_attributes(est):
    return {k: v for k, v in vars(est).items() if k.endswith("_") and k != "model_"}


def _assert_same_estimator(restored, original, X):
    assert type(restored) is type(original)
    assert restored.get_params() == original.get_params()
    expected = _fitted_attributes(original)
    got = _fitted_attributes(restored)
    for name in ("classes_", "history_", "n_features_in_", "image_shape_",
                 "input_scale_", "n_epochs_", "best_epoch_", "random_seed_",
                 "n_classes_", "feature_names_in_"):
        assert (name in got) == (name in expected), name
    for name, value in expected.items():
        if isinstance(value, np.ndarray):
            assert got[name].dtype == value.dtype, name
            np.testing.assert_array_equal(got[name], value, err_msg=name)
        elif name not in ("target_encoder_", "feature_encoder_"):
            assert got[name] == value, name
    proba = restored.predict_proba(X)
    assert np.array_equal(proba, original.predict_proba(X))
    assert np.array_equal(restored.predict(X), original.predict(X))


def _members(path):
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _write_members(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _rewrite(src, dst, manifest=None, replace=None):
    """Copy archive src to dst, editing the manifest and replacing members."""
    members = _members(src)
    data = json.loads(members["manifest.json"])
    if manifest is not None:
        manifest(data)
    members["manifest.json"] = json.dumps(data).encode()
    members.update(replace or {})
    _write_members(dst, members)
    return dst


# ------------------------------------------------------------- round trips
def test_round_trip_array_string_labels(fitted, archive, X):
    restored = load(archive)
    _assert_same_estimator(restored, fitted, X)
    assert restored.classes_.tolist() == ["cat", "dog", "emu"]
    assert restored.image_shape == (28, 28)  # a tuple param stays a tuple
    assert restored.class_weight == {"cat": 2.0}
    assert not hasattr(restored, "feature_names_in_")
    assert restored.model_.optimizer is not None  # compiled


def test_round_trip_test_time_augmentation(tmp_path):
    """The same copies after loading: they are drawn from the saved model."""
    X, y = _data()
    clf = LeNetClassifier(rotation_range=15, shift_range=0.1,
                          test_time_augmentation=3, **FAST).fit(X, y)
    save(clf, tmp_path / "tta.sklenet")
    restored = load(tmp_path / "tta.sklenet")
    assert restored.test_time_augmentation == 3
    _assert_same_estimator(restored, clf, X)


def test_round_trip_dataframe(fitted_df, tmp_path, X):
    path = tmp_path / "df.sklenet"
    save(fitted_df, path)
    restored = load(path)
    assert restored.feature_names_in_.tolist() == [f"pixel{i}" for i in range(784)]
    frame = pd.DataFrame(X, columns=restored.feature_names_in_)
    _assert_same_estimator(restored, fitted_df, frame)
    assert restored.classes_.dtype == fitted_df.classes_.dtype


def test_archive_layout_and_manifest(fitted, archive):
    members = _members(archive)
    assert set(members) == MEMBERS
    manifest = json.loads(members["manifest.json"])
    assert manifest == read_manifest(archive)
    assert manifest["format"] == FORMAT_NAME == "sklenet.estimator"
    assert manifest["format_version"] == FORMAT_VERSION == 2
    assert manifest["estimator_class"] == "sklenet:LeNetClassifier"
    assert manifest["models"] == ["model"]
    assert manifest["members"] == {
        name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        for name, data in members.items() if name != "manifest.json"
    }
    assert set(manifest["versions"]) >= {"sklenet", "keras", "tensorflow",
                                         "scikit-learn", "numpy", "python"}
    assert manifest["versions"]["keras"] == keras.__version__
    assert manifest["created"].endswith("+00:00")
    params = json.loads(members["params.json"])
    assert params["epochs"] == 1
    assert params["image_shape"] == {"__sklenet_type__": "tuple", "items": [28, 28]}
    assert b"pickle" not in members["params.json"]


def test_new_process_round_trip_sklenet_and_joblib(fitted, archive, tmp_path, X):
    """Both sklenet.load and joblib.load give the same probabilities afresh."""
    joblib_path = tmp_path / "clf.joblib"
    joblib.dump(fitted, joblib_path)
    np.save(tmp_path / "X.npy", X)
    script = textwrap.dedent(f"""
        import sys, joblib, numpy as np
        from sklenet.persistence import load
        X = np.load({str(tmp_path / "X.npy")!r})
        np.save({str(tmp_path / "p_sklenet.npy")!r},
                load({str(archive)!r}).predict_proba(X))
        np.save({str(tmp_path / "p_joblib.npy")!r},
                joblib.load({str(joblib_path)!r}).predict_proba(X))
    """)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True,
                            text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    expected = fitted.predict_proba(X)
    assert np.array_equal(np.load(tmp_path / "p_sklenet.npy"), expected)
    assert np.array_equal(np.load(tmp_path / "p_joblib.npy"), expected)


def test_several_named_models(fitted, tmp_path, X, monkeypatch):
    """The format stores any number of named models, in order (ensembles)."""
    second = keras.models.clone_model(fitted.model_)
    second.set_weights([w * 0.5 for w in fitted.model_.get_weights()])
    original_get = LeNetClassifier._get_persistent_state
    original_from = LeNetClassifier._from_persistent_state.__func__
    received = {}

    def get_state(self):
        attributes, models = original_get(self)
        return attributes, {"member_1": models["model"], "member_0": second}

    def from_state(cls, params, attributes, models):
        received.update(models)
        return original_from(cls, params, attributes,
                             {"model": models["member_1"]})

    monkeypatch.setattr(LeNetClassifier, "_get_persistent_state", get_state)
    monkeypatch.setattr(LeNetClassifier, "_from_persistent_state",
                        classmethod(from_state))
    path = tmp_path / "two.sklenet"
    save(fitted, path)
    assert read_manifest(path)["models"] == ["member_1", "member_0"]
    restored = load(path)
    assert list(received) == ["member_1", "member_0"]
    images = fitted.feature_encoder_.transform(X)
    for name, model in (("member_1", fitted.model_), ("member_0", second)):
        assert np.array_equal(received[name].predict(images, verbose=0),
                              model.predict(images, verbose=0))
    assert np.array_equal(restored.predict_proba(X), fitted.predict_proba(X))


def test_overwrites_existing_file(fitted, archive, tmp_path):
    path = tmp_path / "clf.sklenet"
    path.write_bytes(b"old")
    save(fitted, path)
    assert set(_members(path)) == MEMBERS
    assert os.listdir(tmp_path) == ["clf.sklenet"]


# ---------------------------------------------------------------- save errors
def test_save_unfitted_raises_and_writes_nothing(tmp_path):
    with pytest.raises(NotFittedError):
        save(LeNetClassifier(), tmp_path / "x.sklenet")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name, value, match", [
    ("callbacks", [keras.callbacks.TerminateOnNaN()],
     r"params\['callbacks'\]\[0\] is a .*TerminateOnNaN.*joblib"),
    ("random_state", np.random.RandomState(0),
     r"params\['random_state'\] is a numpy.*RandomState.*random_state to an int"),
    ("class_weight", {"cat": {1, 2}}, r"params\['class_weight'\]\['cat'\] is a"),
])
def test_save_non_json_param_raises_and_writes_nothing(fitted, tmp_path,
                                                      monkeypatch, name, value,
                                                      match):
    monkeypatch.setattr(fitted, name, value)
    with pytest.raises(TypeError, match=match):
        save(fitted, tmp_path / "x.sklenet")
    assert os.listdir(tmp_path) == []


def test_save_refuses_foreign_estimator(tmp_path):
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(TypeError, match="joblib"):
        save(LogisticRegression(), tmp_path / "x.sklenet")
    assert os.listdir(tmp_path) == []


def test_json_encoding_round_trips_exotic_values():
    from sklenet.persistence._codec import _ArrayBudget, _dumps, _loads, _to_json

    value = {
        "t": (1, (2.5, "a"), []),
        "d": {0: "zero", (1, 2): [np.int64(3)], "s": None},
        "a": np.arange(6, dtype=np.float32).reshape(2, 3),
        "u": np.array(["x", "yz"]),
        "o": np.array(["p", 1, None], dtype=object),
        "e": np.zeros((0, 2), dtype=np.int16),
        "nan": float("nan"),
        "np": [np.bool_(True), np.float32(0.5), np.str_("s")],
    }
    back = _loads(_dumps(value, "v", "", _ArrayBudget(1 << 20)), _ArrayBudget(1 << 20))
    assert back["t"] == (1, (2.5, "a"), [])
    assert back["d"] == {0: "zero", (1, 2): [3], "s": None}
    for key in "auoe":
        assert back[key].dtype == value[key].dtype
        assert back[key].shape == value[key].shape
        assert back[key].tolist() == value[key].tolist()
    assert np.isnan(back["nan"])
    assert back["np"] == [True, 0.5, "s"]
    assert type(back["np"][0]) is bool
    with pytest.raises(TypeError, match="reserved key"):
        _to_json({"__sklenet_type__": 1}, "v", _ArrayBudget(1 << 20))
    for dtype in (complex, np.longdouble, "S3", "M8[s]", [("a", "i4")]):
        with pytest.raises(TypeError, match=r"dtype .*; only arrays of bool"):
            _to_json(np.zeros(2, dtype=dtype), "v", _ArrayBudget(1 << 20))


# Every dtype save writes, in both byte orders; load reads back each of them.
STORED_DTYPES = [np.dtype(t).newbyteorder(order) for order in "<>" for t in (
    bool, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
    np.uint64, np.float16, np.float32, np.float64, "U1", "U7", object)]


@pytest.mark.parametrize("dtype", STORED_DTYPES, ids=str)
def test_every_stored_dtype_round_trips(dtype):
    from sklenet.persistence._codec import _ArrayBudget, _dumps, _loads

    value = np.arange(6).reshape(2, 3, 1).astype(dtype)
    back = _loads(_dumps({"a": value}, "v", "", _ArrayBudget(value.nbytes)),
                  _ArrayBudget(value.nbytes))["a"]
    assert back.dtype == value.dtype and back.shape == value.shape
    assert back.tolist() == value.tolist()


def test_arrays_past_the_budget_are_not_saved():
    from sklenet.persistence._codec import _ArrayBudget, _dumps

    budget = _ArrayBudget(100)
    _dumps({"a": np.zeros(6)}, "params", "", budget)  # 48 bytes
    with pytest.raises(ValueError, match=(
            r"params\['b'\] \(a NumPy array of shape \(7,\)\) takes 56 bytes, which "
            r"brings the archive's arrays to 104, more than the 100 bytes sklenet "
            r"decodes from one archive. Use joblib")):
        _dumps({"b": np.zeros(7)}, "params", "Use joblib.dump.", budget)


# ------------------------------------------------------------- atomic write
@pytest.mark.parametrize("failure", ["writestr", "fsync", "replace"])
@pytest.mark.parametrize("existing", [False, True])
def test_atomic_write(fitted, archive, tmp_path, monkeypatch, failure, existing):
    path = tmp_path / "clf.sklenet"
    if existing:
        path.write_bytes(archive.read_bytes())
    calls = []

    def fail(*args, **kwargs):
        # writestr fails on params.json, after manifest.json went in; replace
        # fails on the rename onto path (not on any rename Keras might do).
        ours = {"writestr": lambda: args[1] == "params.json",
                "fsync": lambda: True,
                "replace": lambda: args[1] == str(path)}[failure]()
        if ours:
            calls.append(args)
            raise OSError("disk full")
        return original(*args, **kwargs)

    target = {"writestr": (zipfile.ZipFile, "writestr"),
              "fsync": (os, "fsync"), "replace": (os, "replace")}[failure]
    original = getattr(*target)
    monkeypatch.setattr(*target, fail)
    with pytest.raises(OSError, match="disk full"):
        save(fitted, path)
    monkeypatch.undo()
    assert len(calls) == 1
    if existing:
        assert path.read_bytes() == archive.read_bytes()
        assert os.listdir(tmp_path) == ["clf.sklenet"]
    else:
        assert os.listdir(tmp_path) == []


# -------------------------------------------------------------- load refusals
def _refuses(path, match, monkeypatch):
    """load refuses path before anything is deserialised."""
    def never(*args, **kwargs):
        raise AssertionError("deserialised a refused archive")

    monkeypatch.setattr(keras.saving, "load_model", never)
    monkeypatch.setattr(LeNetClassifier, "_from_persistent_state", never)
    with pytest.raises(InvalidArchiveError, match=match):
        load(path)
    with pytest.raises(InvalidArchiveError, match=match):
        read_manifest(path)


def test_tampered_member_bytes(archive, tmp_path, monkeypatch):
    members = _members(archive)
    members["params.json"] = members["params.json"].replace(
        b'"epochs": 1', b'"epochs": 2')
    _write_members(tmp_path / "a", members)
    _refuses(tmp_path / "a", r"SHA-256 of params\.json differs", monkeypatch)
    model = bytearray(_members(archive)["models/model.keras"])
    model[len(model) // 2] ^= 0xFF
    path = _rewrite(archive, tmp_path / "b",
                    replace={"models/model.keras": bytes(model)})
    _refuses(path, r"SHA-256 of models/model\.keras differs", monkeypatch)


def test_tampered_manifest_hash(archive, tmp_path, monkeypatch):
    def edit(m):
        m["members"]["attributes.json"]["sha256"] = "0" * 64

    path = _rewrite(archive, tmp_path / "a", edit)
    _refuses(path, r"SHA-256 of attributes\.json differs", monkeypatch)


@pytest.mark.parametrize("cut", [0.5, 0.99, 10])
def test_truncated_file(archive, tmp_path, monkeypatch, cut):
    data = archive.read_bytes()
    n = int(len(data) * cut) if cut < 1 else cut
    path = tmp_path / "cut.sklenet"
    path.write_bytes(data[:n])
    _refuses(path, "not a valid .*zip archive", monkeypatch)


# Seeded random bytes: every pytest-xdist worker must collect the same tests.
@pytest.mark.parametrize("content", [
    b"", np.random.default_rng(0).bytes(5000), b"\x80\x04pickle"],
    ids=["empty", "random bytes", "a pickle"])
def test_not_a_zip(tmp_path, monkeypatch, content):
    path = tmp_path / "junk.sklenet"
    path.write_bytes(content)
    _refuses(path, "not a valid .*zip archive", monkeypatch)


def test_zip_without_manifest(archive, tmp_path, monkeypatch):
    members = _members(archive)
    del members["manifest.json"]
    _write_members(tmp_path / "a", members)
    _refuses(tmp_path / "a", "no manifest.json", monkeypatch)


def test_missing_extra_and_duplicate_members(archive, tmp_path, monkeypatch):
    members = _members(archive)
    del members["attributes.json"]
    _write_members(tmp_path / "missing", members)
    _refuses(tmp_path / "missing", r"members \['attributes\.json'\] are missing",
             monkeypatch)

    members = _members(archive)
    members["evil.pkl"] = b"\x80\x04."
    _write_members(tmp_path / "extra", members)
    _refuses(tmp_path / "extra", r"unexpected members \['evil\.pkl'\]", monkeypatch)

    def drop(m):
        del m["members"]["params.json"]

    _rewrite(archive, tmp_path / "unlisted", drop)
    _refuses(tmp_path / "unlisted", "does not list exactly", monkeypatch)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile: duplicate name
        with zipfile.ZipFile(tmp_path / "dup", "w") as zf:
            for name, data in _members(archive).items():
                zf.writestr(name, data)
            zf.writestr("params.json", b"{}")
    _refuses(tmp_path / "dup", "duplicated members", monkeypatch)


@pytest.mark.parametrize("key, value, match", [
    ("format", "other.format", "its format is 'other.format'"),
    ("format_version", 3, "format version is 3.*reads versions 1, 2 .upgrade"),
    ("format_version", "1", "format version is '1'"),
    ("models", ["../../etc/passwd"], "no valid model names"),
    ("models", [], "no valid model names"),
])
def test_unknown_format(archive, tmp_path, monkeypatch, key, value, match):
    path = _rewrite(archive, tmp_path / "a", lambda m: m.update({key: value}))
    _refuses(path, match, monkeypatch)


@pytest.mark.parametrize("class_path, match", [
    ("os:system", "only classes of the 'sklenet' package"),
    ("builtins:dict", "only classes of the 'sklenet' package"),
    ("sklearn.linear_model:LogisticRegression", "only classes of the 'sklenet'"),
    ("sklenetx:LeNetClassifier", "only classes of the 'sklenet' package"),
    ("sklenet._classifier:BaseEstimator", "not a class of the 'sklenet' package"),
    ("sklenet._classifier:ImageEncoder", "not a sklenet estimator implementing"),
    ("sklenet:build_lenet", "not a class of the 'sklenet' package"),
    ("sklenet:LeNetClassifier.__class__", "not a public class name"),
    ("sklenet.nonexistent:Foo", "does not exist"),
    ("sklenet.LeNetClassifier", "not of the form"),
    (None, "not of the form"),
])
def test_foreign_class_refused(archive, tmp_path, monkeypatch, class_path, match):
    path = _rewrite(archive, tmp_path / "a",
                    lambda m: m.update(estimator_class=class_path))
    _refuses(path, "estimator class .* is refused: .*" + match, monkeypatch)


def test_missing_file_is_an_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.sklenet")


def test_consistent_but_bad_json_refused(archive, tmp_path):
    """A member rewritten together with its hash is decoded safely or refused."""
    bad = b'{"__sklenet_type__": "pickle", "items": []}'

    def edit(m):
        m["members"]["params.json"] = {"sha256": hashlib.sha256(bad).hexdigest(),
                                       "size": len(bad)}

    path = _rewrite(archive, tmp_path / "a", edit, replace={"params.json": bad})
    with pytest.raises(InvalidArchiveError, match="params.json is not valid"):
        load(path)


@pytest.mark.parametrize("unsafe_global", [False, True])
def test_lambda_layer_refused_by_keras_safe_mode(fitted, tmp_path, monkeypatch,
                                                 unsafe_global):
    """A model that would run arbitrary code is refused, even if the process
    enabled unsafe deserialisation globally."""
    from keras.src.saving import serialization_lib

    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Lambda(lambda t: t * 2)(inputs)
    evil = keras.Model(inputs, outputs)
    attributes, _ = fitted._get_persistent_state()
    monkeypatch.setattr(LeNetClassifier, "_get_persistent_state",
                        lambda self: (attributes, {"model": evil}))
    path = tmp_path / "evil.sklenet"
    save(fitted, path)
    monkeypatch.undo()
    before = serialization_lib.in_safe_mode()
    try:
        if unsafe_global:
            keras.config.enable_unsafe_deserialization()
        with pytest.raises(InvalidArchiveError, match="safe mode.*[Ll]ambda"):
            load(path)
    finally:
        from keras.src.backend.common import global_state

        global_state.set_global_attribute("safe_mode_saving", before)


# ---------------------------------------------------------------- versions
def test_version_mismatch_warns(fitted, archive, tmp_path, X):
    def edit(m):
        m["versions"].update({"sklenet": "0.0.1", "keras": "2.15.0"})

    path = _rewrite(archive, tmp_path / "old.sklenet", edit)
    with pytest.warns(ArchiveVersionWarning,
                      match=r"sklenet 0\.0\.1 \(installed: .*keras 2\.15\.0"):
        restored = load(path)
    assert issubclass(ArchiveVersionWarning, UserWarning)
    assert np.array_equal(restored.predict_proba(X), fitted.predict_proba(X))


def test_same_versions_do_not_warn(archive):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ArchiveVersionWarning)
        load(archive)


def test_invalid_archive_error_is_a_value_error():
    assert issubclass(InvalidArchiveError, ValueError)


# ------------------------------------------------------------- member sizes
GIB = 1 << 30


@pytest.fixture(scope="module")
def zeros_bomb():
    """(deflated, crc32, size): 1 GiB of zeros as a ~1 MB raw deflate stream.

    Built in well under a second: after a full flush every 1 MiB chunk of
    zeros compresses to the same bytes, so one chunk is compressed and
    repeated.
    """
    chunk = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    deflated = block * (GIB // len(chunk)) + compressor.flush()
    crc = 0
    for _ in range(GIB // len(chunk)):
        crc = zlib.crc32(chunk, crc)
    return deflated, crc, GIB


def _deflated(data):
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(), zlib.crc32(data), len(data)


def _zip_by_hand(path, entries):
    """Write a zip whose headers state what ``entries`` say, true or not.

    ``entries`` maps a member name to (raw deflate stream, CRC-32, inflated
    size as the headers give it).
    """
    local, central = bytearray(), bytearray()
    for name, (deflated, crc, size) in entries.items():
        encoded = name.encode()
        central += struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21,
                               crc, len(deflated), size, len(encoded), 0, 0, 0,
                               0, 0, len(local)) + encoded
        local += struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc,
                             len(deflated), size, len(encoded), 0) + encoded
        local += deflated
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, len(entries),
                      len(entries), len(central), len(local), 0)
    path.write_bytes(bytes(local + central + end))
    return path


def _bomb_archive(archive, path, params, edit_manifest):
    """``archive`` with params.json replaced by ``params`` (deflated, crc,
    size) and its manifest edited by ``edit_manifest``."""
    members = _members(archive)
    manifest = json.loads(members.pop("manifest.json"))
    edit_manifest(manifest)
    entries = {"manifest.json": _deflated(json.dumps(manifest).encode())}
    entries.update({name: _deflated(data) for name, data in members.items()})
    entries["params.json"] = params
    return _zip_by_hand(path, entries)


def _refuses_quickly_in_little_memory(path, match, monkeypatch):
    tracemalloc.start()
    try:
        start = time.perf_counter()
        _refuses(path, match, monkeypatch)
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 << 20, f"peak {peak / 2**20:.0f} MiB"
    assert elapsed < 2, f"{elapsed:.1f} s"


def test_hand_built_bomb_is_a_valid_zip(archive, tmp_path, zeros_bomb):
    """The crafted archives below are well-formed, so only sizes refuse them."""
    deflated, crc, size = zeros_bomb
    assert len(deflated) < 2 << 20
    path = _bomb_archive(archive, tmp_path / "bomb.sklenet", zeros_bomb,
                         lambda m: None)
    with zipfile.ZipFile(path) as zf, zf.open("params.json") as stream:
        assert zf.getinfo("params.json").file_size == GIB
        assert stream.read(1 << 20) == bytes(1 << 20)
    small = _zip_by_hand(tmp_path / "small.zip", {"a": _deflated(b"abc" * 1000)})
    with zipfile.ZipFile(small) as zf:
        assert zf.testzip() is None and zf.read("a") == b"abc" * 1000


def test_bomb_declared_in_manifest_is_refused(archive, tmp_path, zeros_bomb,
                                             monkeypatch):
    """The manifest honestly declares 1 GiB: over the limit for JSON."""
    def declare(m):
        m["members"]["params.json"] = {"sha256": "0" * 64, "size": GIB}

    path = _bomb_archive(archive, tmp_path / "bomb.sklenet", zeros_bomb, declare)
    _refuses_quickly_in_little_memory(
        path, r"params\.json would inflate to 1,073,741,824 bytes, more than "
        r"the 16,777,216 sklenet reads", monkeypatch)


def test_bomb_under_small_declared_size_is_refused(archive, tmp_path, zeros_bomb,
                                                  monkeypatch):
    """The manifest keeps params.json's real size; the zip header says 1 GiB."""
    path = _bomb_archive(archive, tmp_path / "bomb.sklenet", zeros_bomb,
                         lambda m: None)
    size = len(_members(archive)["params.json"])
    _refuses_quickly_in_little_memory(
        path, rf"zip header gives params\.json 1,073,741,824 bytes, its "
        rf"manifest\.json {size:,}\.", monkeypatch)


def test_bomb_in_version_1_archive_is_refused(archive, tmp_path, zeros_bomb,
                                             monkeypatch):
    """Version 1 declared no sizes: the zip header's is held to the limits.

    The digest is never looked at: the refusal must come before inflating.
    """
    def version_1(m):
        m["format_version"] = 1
        m["members"] = {k: v["sha256"] for k, v in m["members"].items()}

    path = _bomb_archive(archive, tmp_path / "bomb.sklenet", zeros_bomb, version_1)
    _refuses_quickly_in_little_memory(
        path, r"params\.json would inflate to 1,073,741,824 bytes", monkeypatch)


def test_zip_header_that_understates_the_size_is_refused(archive, tmp_path,
                                                         zeros_bomb, monkeypatch):
    """Header and manifest agree on the real size; the data inflates to 1 GiB.

    Inflating stops at the declared size: the CRC-32 (of that many zeros)
    passes and the SHA-256 does not.
    """
    deflated, _, _ = zeros_bomb
    size = len(_members(archive)["params.json"])
    lying = (deflated, zlib.crc32(bytes(size)), size)
    path = _bomb_archive(archive, tmp_path / "bomb.sklenet", lying, lambda m: None)
    _refuses_quickly_in_little_memory(path, r"SHA-256 of params\.json differs",
                                      monkeypatch)


@pytest.mark.parametrize("inflated", [b"x" * 5000, b"x" * 999])
def test_inflate_stops_at_the_declared_size(inflated):
    """Whatever a member's header says, at most one chunk past the declared
    size is inflated, and a member shorter than declared is refused too."""
    from sklenet.persistence import _archive

    class Stream(io.BytesIO):
        def __exit__(self, *exc):
            return False

    class Archive:
        def open(self, member):
            return stream

    stream = Stream(inflated)
    received = []
    with pytest.raises(InvalidArchiveError,
                       match="inflates to (more|fewer) than the 1,000 bytes"):
        _archive._inflate(Archive(), "params.json", 1000, received.append,
                             InvalidArchiveError)
    assert sum(map(len, received)) <= 1000


@pytest.mark.parametrize("entry, match", [
    ({"sha256": "0" * 64}, "no valid size for params.json"),
    ({"sha256": "0" * 64, "size": -1}, "no valid size for params.json"),
    ({"sha256": "0" * 64, "size": "12"}, "no valid size for params.json"),
    ({"size": 12}, "no valid SHA-256 for params.json"),
    ("0" * 64, "no valid SHA-256 for params.json"),
])
def test_invalid_member_entry(archive, tmp_path, monkeypatch, entry, match):
    path = _rewrite(archive, tmp_path / "a",
                    lambda m: m["members"].update({"params.json": entry}))
    _refuses(path, match, monkeypatch)


def test_version_1_archive_still_loads(fitted, archive, tmp_path, X):
    def version_1(m):
        m["format_version"] = 1
        m["members"] = {k: v["sha256"] for k, v in m["members"].items()}

    path = _rewrite(archive, tmp_path / "v1.sklenet", version_1)
    assert read_manifest(path)["format_version"] == 1
    assert np.array_equal(load(path).predict_proba(X), fitted.predict_proba(X))


@pytest.mark.parametrize("limit", ["_MAX_JSON_BYTES", "_MAX_ARCHIVE_BYTES"])
def test_save_refuses_what_load_would_refuse(fitted, tmp_path, monkeypatch, limit):
    from sklenet.persistence import _archive

    monkeypatch.setattr(_archive, limit, 100)
    with pytest.raises(ValueError, match=r"at most 100 bytes"):
        save(fitted, tmp_path / "x.sklenet")
    assert os.listdir(tmp_path) == []


def test_read_manifest_writes_nothing(archive, monkeypatch):
    def no_writing(file, mode="r", *args, **kwargs):
        assert "r" in mode and "+" not in mode, (file, mode)
        return real_open(file, mode, *args, **kwargs)

    real_open = open
    monkeypatch.setattr("builtins.open", no_writing)
    assert read_manifest(archive)["models"] == ["model"]


def test_save_keeps_permissions_of_existing_archive(fitted, tmp_path):
    path = tmp_path / "private.sklenet"
    path.write_bytes(b"old")
    os.chmod(path, 0o600)
    save(fitted, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert set(_members(path)) == MEMBERS


# ------------------------------------------------- attributes against models
def _rewrite_consistently(src, dst, member, edit):
    """Copy archive src to dst with JSON ``member`` edited and the manifest's
    digest and size updated: an archive only its contents can refuse."""
    members = _members(src)
    data = json.loads(members[member])
    edit(data)
    members[member] = json.dumps(data).encode()
    manifest = json.loads(members["manifest.json"])
    manifest["members"][member] = {
        "sha256": hashlib.sha256(members[member]).hexdigest(),
        "size": len(members[member]),
    }
    members["manifest.json"] = json.dumps(manifest).encode()
    _write_members(dst, members)
    return dst


@pytest.fixture(scope="module")
def ensemble_archive(tmp_path_factory):
    from sklenet import LeNetEnsembleClassifier

    X, y = _data()
    ensemble = LeNetEnsembleClassifier(n_estimators=2, **FAST).fit(X, y)
    path = tmp_path_factory.mktemp("ensemble") / "ensemble.sklenet"
    save(ensemble, path)
    return ensemble, path


def test_ensemble_round_trip_passes_the_checks(ensemble_archive, X):
    ensemble, path = ensemble_archive
    restored = load(path)
    assert np.array_equal(restored.predict_proba(X), ensemble.predict_proba(X))


@pytest.mark.parametrize("edit, match", [
    (lambda a: a.update(classes=["a", "b", "c", "d", "e", "f"]),
     r"model_ outputs \[\(3,\)\], one unit per class, but classes_ holds 6"),
    (lambda a: a.update(classes=["cat", "dog"]),
     r"model_ outputs \[\(3,\)\], one unit per class, but classes_ holds 2"),
    (lambda a: a.update(image_shape=[14, 56, 1]),
     r"model_ takes images of shape \[\(28, 28, 1\)\], image_shape_ is "
     r"\(14, 56, 1\)"),
    (lambda a: a.update(n_features_in=100),
     r"image_shape_=\(28, 28, 1\) holds 784 pixels, n_features_in_ is 100"),
    (lambda a: a.update(feature_names_in=["a", "b"]),
     r"feature_names_in_ has 2 names, n_features_in_ is 784"),
    (lambda a: a.update(image_shape=["x", 10**9]),
     r"image_shape_=\('x', 1000000000\) is not a tuple of positive ints"),
    (lambda a: a.update(n_features_in=784.0), r"n_features_in_=784\.0 is not an int"),
    (lambda a: a.update(input_scale=-1.0), r"input_scale_=-1\.0 is not a positive"),
    (lambda a: a.update(input_scale=float("nan")), r"input_scale_=nan is not"),
])
def test_attributes_that_contradict_the_model_are_refused(archive, tmp_path,
                                                          edit, match):
    """Before, a 6-class archive of a 3-unit model loaded and predict_proba
    returned 2 rows per image."""
    path = _rewrite_consistently(archive, tmp_path / "a", "attributes.json", edit)
    with pytest.raises(InvalidArchiveError,
                       match="fitted attributes disagree with its models: " + match):
        load(path)


def _drop_member(attributes):
    del attributes["members"][1], attributes["random_seeds"][1]


@pytest.mark.parametrize("member, edit, match", [
    ("attributes.json",
     lambda a: a["members"][1].update(classes=["x", "y", "z"]),
     r"disagree .* estimators_\[1\]\.classes_=array\(\['x', 'y', 'z'\].* differs "
     r"from classes_="),
    ("attributes.json",
     lambda a: a["members"][1].update(classes=["a", "b", "c", "d"]),
     r"disagree .* estimators_\[1\]\.model_ outputs \[\(3,\)\].* holds 4 classes"),
    ("attributes.json", lambda a: a.update(image_shape=[14, 56, 1]),
     r"disagree .* estimators_\[0\]\.image_shape_=\(28, 28, 1\) differs from "
     r"image_shape_=\(14, 56, 1\)"),
    ("params.json", lambda p: p.update(n_estimators=3),
     r"disagree .* n_estimators=3, but it holds 2 members and 2 random_seeds_"),
    ("attributes.json", _drop_member,
     r"disagree .* n_estimators=2, but it holds 1 members and 1 random_seeds_"),
    ("attributes.json", lambda a: a["random_seeds"].append(7),
     r"do not fit LeNetEnsembleClassifier \(ValueError: zip\(\)"),
    ("attributes.json", lambda a: a.update(members=[], random_seeds=[]),
     r"do not fit LeNetEnsembleClassifier \(IndexError"),
])
def test_ensemble_attributes_that_contradict_the_models_are_refused(
        ensemble_archive, tmp_path, member, edit, match):
    _, archive = ensemble_archive
    path = _rewrite_consistently(archive, tmp_path / "a", member, edit)
    with pytest.raises(InvalidArchiveError, match=match):
        load(path)


# ------------------------------------------- hostile paths (issue 20, items 1-2)
def test_dev_zero_is_refused_unread_in_little_memory_and_time():
    """Before: load("/dev/zero") grew to 23.5 GB until the kernel killed it."""
    report = run_bounded("load('/dev/zero')",
                         setup="from sklenet.persistence import load",
                         expect="InvalidArchiveError: sklenet archive '/dev/zero' "
                                "is a character device, not a regular file.")
    assert report["seconds"] < 2


def test_fifo_is_refused_without_blocking(tmp_path, monkeypatch):
    fifo = tmp_path / "clf.sklenet"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer
    _refuses(fifo, "is a FIFO \\(named pipe\\), not a regular file", monkeypatch)


def test_oversize_file_is_refused_unread(tmp_path, monkeypatch):
    path = tmp_path / "huge.sklenet"
    with open(path, "wb") as f:
        f.truncate(3 << 30)  # sparse
    _refuses_quickly_in_little_memory(
        path, "has 3,221,225,472 bytes, more than the 2,147,483,648", monkeypatch)


def test_save_errors_name_the_users_path(fitted, tmp_path):
    """Before: the hidden temporary file was named."""
    path = tmp_path / "missing" / "clf.sklenet"
    with pytest.raises(FileNotFoundError) as info:
        save(fitted, path)
    assert info.value.filename == str(path) and ".tmp" not in str(info.value)


def test_save_refuses_a_read_only_archive(fitted, archive, tmp_path):
    path = tmp_path / "kept.sklenet"
    path.write_bytes(b"old")
    os.chmod(path, 0o444)
    with pytest.raises(PermissionError, match="Read-only file, not replaced"):
        save(fitted, path)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["kept.sklenet"]


def test_save_through_a_symlink_replaces_its_target(fitted, tmp_path, X):
    (tmp_path / "models").mkdir()
    target = tmp_path / "models" / "v1.sklenet"
    target.write_bytes(b"old")
    link = tmp_path / "current.sklenet"
    link.symlink_to(target)
    save(fitted, link)
    assert link.is_symlink()
    assert np.array_equal(load(target).predict_proba(X), fitted.predict_proba(X))


def test_every_estimator_checks_its_own_loaded_state(fitted, ensemble_archive):
    """The checks live with the estimators (issue 17): load only calls them."""
    fitted._check_loaded_state()
    ensemble, _ = ensemble_archive
    ensemble._check_loaded_state()
    broken = load(ensemble_archive[1])
    broken.estimators_[1].classes_ = broken.estimators_[1].classes_[:2]
    with pytest.raises(ValueError, match=r"estimators_\[1\]\.model_ outputs"):
        broken._check_loaded_state()


# ------------------------------------------- crafted arrays (issue 30, item 4)
def _array(dtype, shape, data):
    return {"__sklenet_type__": "ndarray", "dtype": dtype, "shape": shape,
            "data": data}


# The entry: a few bytes of JSON that declare 3.2 GB of str array.
DTYPE_BOMB = _array("<U100000000", [8], ["x"] * 8)
DTYPE_BOMB_REFUSED = ("an array of dtype '<U100000000' and shape [8] takes "
                      "3,200,000,000 bytes, which brings the archive's arrays to "
                      "3,200,000,000, more than the 67,108,864 bytes sklenet decodes "
                      "from one archive")
NOT_STORED = r"array dtype {} is not one sklenet stores: bool '\|b1', int"


@pytest.mark.parametrize("entry, match", [
    (DTYPE_BOMB, re.escape(DTYPE_BOMB_REFUSED)),
    (_array("|O", [1], [DTYPE_BOMB]), re.escape(DTYPE_BOMB_REFUSED)),
    (_array("|S5", [1], ["x"]), NOT_STORED.format("'\\|S5'")),
    (_array("<c16", [1], [0]), NOT_STORED.format("'<c16'")),
    (_array("<f16", [1], [0]), NOT_STORED.format("'<f16'")),
    (_array("<M8[ns]", [1], [0]), NOT_STORED.format(r"'<M8\[ns\]'")),
    (_array("|V8", [1], [0]), NOT_STORED.format("'\\|V8'")),
    (_array("<U0", [1], ["x"]), NOT_STORED.format("'<U0'")),
    (_array("<U9999999999", [1], ["x"]), NOT_STORED.format("'<U9999999999'")),
    (_array("|O4", [1], [0]), NOT_STORED.format("'\\|O4'")),
    (_array("<b1", [1], [True]), NOT_STORED.format("'<b1'")),
    (_array([["a", "<U100000000"]], [1], ["x"]),
     NOT_STORED.format(r"\[\['a', '<U100000000'\]\]")),
    (_array({"names": ["a"], "formats": ["<i4"]}, [1], [0]),
     NOT_STORED.format(r"\{'names': \['a'\], 'formats': \['<i4'\]\}")),
    (_array("<i8", [-1], []), r"array shape \[-1\] is not a list of at most 64 "
                              "sizes >= 0"),
    (_array("<i8", [1.5], [0]), r"array shape \[1\.5\] is not a list"),
    (_array("<i8", "ab", ["a", "b"]), r"array shape 'ab' is not a list"),
    (_array("<i8", [1] * 65, [0]), r"array shape \[1, 1, 1, .* is not a list"),
    (_array("<i8", [2, 2], [0] * 3), r"array data hold 3 items; its shape \[2, 2\] "
                                     "holds 4"),
    (_array("<i8", [10**30], []), "array data hold 0 items; its shape "
                                  r"\[1000000000000000000000000000000\] holds "
                                  "1,000,000,000,000,000,000,000,000,000,000"),
    (_array("<i8", [0, 10**30], []), r"array shape \[0, 10+\] is not valid"),
    (_array("<i8", [1], "0"), r"array data hold no list; its shape \[1\] holds 1"),
    (_array("<i8", [1], [[0]]), "array data of dtype '<i8' hold non-scalar items"),
    (_array("|u1", [1], [300]), r"array data do not fit dtype '\|u1' \(Python "
                                "integer 300 out of bounds for uint8\\)"),
    (_array("<i8", [1], [10**30]), "array data do not fit dtype '<i8'"),
    (_array("<f8", [1], ["x"]), "array data do not fit dtype '<f8'"),
])
def test_crafted_arrays_are_refused_before_they_are_allocated(entry, match):
    """Each would allocate what it declares, fail in NumPy with an
    OverflowError traceback, or decode to something save never writes."""
    from sklenet.persistence._codec import _ArrayBudget, _loads

    data = json.dumps({"a": entry}).encode()
    with pytest.raises(ValueError, match=match) as info:
        _loads(data, _ArrayBudget(64 << 20))
    assert len(str(info.value)) < 400


def test_the_budget_bounds_all_the_arrays_together():
    """Not only each array: many arrays under the limit are refused too."""
    from sklenet.persistence._codec import _ArrayBudget, _loads

    budget = _ArrayBudget(100)
    arrays = {"a": _array("<i8", [6], [0] * 6),  # 48 bytes
              "b": _array("|O", [2], [[1, 2], "x"]),  # 16: 8 an item
              "c": _array("<f4", [2, 5], [0] * 10)}  # 40
    with pytest.raises(ValueError, match=re.escape(
            "an array of dtype '<f4' and shape [2, 5] takes 40 bytes, which "
            "brings the archive's arrays to 104, more than the 100 bytes")):
        _loads(json.dumps(arrays).encode(), budget)
    del arrays["c"]
    back = _loads(json.dumps(arrays).encode(), _ArrayBudget(64))
    assert back["b"].tolist() == [[1, 2], "x"] and back["b"].dtype == object


def test_deep_nesting_is_refused():
    from sklenet.persistence._codec import _ArrayBudget, _loads

    tuples = '{"__sklenet_type__": "tuple", "items": [' * 100_000
    for data in ("[" * 100_000, tuples):
        with pytest.raises(ValueError, match="recursion"):
            _loads(data.encode(), _ArrayBudget(64))


def _with_params(archive, path, entries):
    """``archive`` with ``entries`` added to params.json, re-hashed: an
    archive that only the decoding of its arrays can refuse."""
    return _rewrite_consistently(archive, path, "params.json",
                                 lambda params: params.update(entries))


# Before: 1 entry loaded after growing by 3,066 MB in 2.0 s; 107 ended in a
# MemoryError traceback after 3.0 s and 6,110 MB (the test's cap).
@pytest.mark.parametrize("entries, refused", [
    ({"bomb": DTYPE_BOMB}, DTYPE_BOMB_REFUSED),
    ({f"bomb{i}": DTYPE_BOMB for i in range(107)}, DTYPE_BOMB_REFUSED),
    # Each under the limit, the second past it: the total is bounded.
    ({f"bomb{i}": _array("<U2000000", [8], ["x"] * 8) for i in range(107)},
     "an array of dtype '<U2000000' and shape [8] takes 64,000,000 bytes, which "
     "brings the archive's arrays to 128,000,000, more than the 67,108,864 bytes "
     "sklenet decodes from one archive"),
], ids=["1-entry", "107-entries", "107-entries-each-under-the-limit"])
@pytest.mark.slow  # a fresh Python importing TensorFlow: 10-25 s
def test_dtype_bomb_archive_is_refused_in_little_memory(archive, tmp_path, entries,
                                                        refused):
    path = _with_params(archive, tmp_path / "bomb.sklenet", entries)
    report = run_bounded(
        f"load({str(path)!r})", setup="from sklenet.persistence import load",
        expect=f"InvalidArchiveError: Refusing to load {str(path)!r}: params.json "
               f"is not valid sklenet JSON ({refused}).")
    assert "\n" not in report["error"]


def test_arrays_of_params_and_attributes_share_one_budget(archive, tmp_path,
                                                          monkeypatch):
    monkeypatch.setattr("sklenet.persistence._api._MAX_ARRAY_BYTES", 100)
    path = _with_params(archive, tmp_path / "a", {"a": _array("<i8", [8], [0] * 8)})
    path = _rewrite_consistently(path, tmp_path / "b", "attributes.json",
                                 lambda a: a.update(b=_array("<i8", [8], [0] * 8)))
    with pytest.raises(InvalidArchiveError, match=re.escape(
            "attributes.json is not valid sklenet JSON (an array of dtype '<i8' "
            "and shape [8] takes 64 bytes, which brings the archive's arrays to "
            "128, more than the 100 bytes")):
        load(path)


@pytest.mark.slow  # a fresh Python importing TensorFlow: 10-25 s
def test_cli_reports_a_dtype_bomb_in_one_line(archive, tmp_path):
    """Before: ``sklenet predict --model`` grew from 0.73 to 3.85 GB."""
    path = _with_params(archive, tmp_path / "bomb.sklenet", {"bomb": DTYPE_BOMB})
    with open(tmp_path / "stderr", "w+") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "sklenet", "predict", "--model", str(path),
             "--data", "sample", "--out", str(tmp_path / "s.csv")],
            stdout=subprocess.DEVNULL, stderr=stderr)
        timer = threading.Timer(120, process.kill)  # bounded in time
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)  # this child's peak memory
        finally:
            timer.cancel()
        stderr.seek(0)
        lines = stderr.read().strip().splitlines()
    assert os.waitstatus_to_exitcode(status) == 1, lines[-20:]
    assert not any("Traceback" in line for line in lines), lines
    assert lines[-1] == (
        f"sklenet predict: error: --model {path}: Refusing to load {str(path)!r}: "
        f"params.json is not valid sklenet JSON ({DTYPE_BOMB_REFUSED}).")
    assert usage.ru_maxrss < 2 << 20, f"{usage.ru_maxrss / 1024:.0f} MB"
    assert not (tmp_path / "s.csv").exists()


@pytest.mark.parametrize("key, dtype", [
    ("classes_dtype", "<U2000000"),  # 8 MB a label: refused, not allocated
    ("classes_dtype", "|V16"),
    ("classes_dtype", ["<U3"]),
    ("input_dtype", "<U2000000"),
    ("input_dtype", "|O"),  # pixels are numbers
])
def test_stored_dtypes_of_a_classifier_are_checked_before_use(archive, tmp_path,
                                                               key, dtype):
    path = _rewrite_consistently(archive, tmp_path / "a", "attributes.json",
                                 lambda a: a.update({key: dtype}))
    with pytest.raises(InvalidArchiveError,
                       match=f"{key} .* is not a dtype LeNetClassifier saves"):
        load(path)
