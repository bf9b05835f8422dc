"""sklenet.export: standalone inference graphs, checked with the real runtimes.

Every exported graph is run by the runtime a user would deploy it with
(onnxruntime, the LiteRT interpreter; TensorFlow only for the SavedModel, the
one format it is the runtime of) and compared with ``predict_proba``.

The runtimes come with the ``[export]`` extra, which ``[test]`` includes:
without them the tests are skipped locally and fail under CI (the CI
environment variable is set), so that CI never passes without running them.
"""

import importlib
import importlib.metadata
import json
import os
import sys

import keras
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from sklenet import LeNetClassifier, LeNetEnsembleClassifier
from sklenet._export import FORMATS, export, register_skl2onnx_converters
from sklenet.datasets import load_sample_digits
from sklenet.model_selection import LeNetSearchCV

from .helpers import fast

# The bar: the runtimes agree with predict_proba to 1e-5.
ATOL = 1e-5
N_TRAIN, N_TEST = 300, 1000


def _runtime(module):
    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(f"{module} is not installed: CI installs sklenet[test], "
                        "which includes the [export] extra.")
        pytest.skip(f'{module} is not installed (pip install "sklenet[export]")')


@pytest.fixture(scope="module")
def images():
    """300 training and 1,000 test digits, as uint8 pixels."""
    X, y = load_sample_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(X))
    train, test = order[:N_TRAIN], order[N_TRAIN:N_TRAIN + N_TEST]
    return X[train], y[train], X[test]


@pytest.fixture(scope="module", params=["uint8", "float32"])
def fitted(request, images):
    """``(clf, X_test)``: a LeNet fitted on integer or on float pixels."""
    X, y, X_test = images
    if request.param == "float32":
        X, X_test = X.astype(np.float32) / 255, X_test.astype(np.float32) / 255
    return LeNetClassifier(**fast()).fit(X, y), X_test


@pytest.fixture(scope="module")
def ort():
    _runtime("tf2onnx")  # the converter: ONNX files are written with it
    return _runtime("onnxruntime")


@pytest.fixture(scope="module")
def run_onnx(ort):
    def run(path, X):
        session = ort.InferenceSession(os.fspath(path))
        (pixels,) = session.get_inputs()
        assert (pixels.name, pixels.shape[1]) == ("pixels", X.shape[1])
        onnx_types = {"uint8": "uint8", "int64": "int64", "float32": "float",
                      "float64": "double"}
        assert pixels.type == f"tensor({onnx_types[X.dtype.name]})"
        (proba,) = session.run(["probabilities"], {"pixels": X})
        return proba, session.get_modelmeta().custom_metadata_map

    return run


@pytest.fixture(scope="module")
def run_tflite():
    litert = _runtime("ai_edge_litert.interpreter")

    def run(path, X):
        runner = litert.Interpreter(model_path=os.fspath(path)).get_signature_runner()
        assert runner.get_input_details()["pixels"]["dtype"] == X.dtype
        proba = runner(pixels=X)["probabilities"]
        with open(f"{path}.json") as f:
            return proba, json.load(f)

    return run


@pytest.mark.parametrize("dtype", ["int64", "float64"])
def test_the_graph_takes_the_fitted_dtype(images, run_onnx, tmp_path, dtype):
    """Kaggle's CSV gives int64 pixels, X / 255 float64: the graph takes them
    as they are, as predict_proba does."""
    X, y, X_test = images
    X, X_test = ((X.astype(dtype), X_test.astype(dtype)) if dtype == "int64"
                 else (X / 255, X_test / 255))
    clf = LeNetClassifier(**fast()).fit(X, y)
    assert clf.input_dtype_ == np.dtype(dtype)
    export(clf, tmp_path / "model.onnx")
    proba, _ = run_onnx(tmp_path / "model.onnx", X_test)
    np.testing.assert_allclose(proba, clf.predict_proba(X_test), rtol=0, atol=ATOL)


def _check_metadata(metadata, clf, X):
    classes = json.loads(metadata["classes"]) if isinstance(
        metadata["classes"], str) else metadata["classes"]
    assert classes == clf.classes_.tolist()
    assert int(metadata["n_features"]) == X.shape[1]
    assert metadata["input_dtype"] == X.dtype.name
    assert metadata["image_shape"] in ([28, 28, 1], "[28, 28, 1]")
    assert metadata["sklenet_version"] == importlib.metadata.version("sklenet")
    return np.asarray(classes)


# --------------------------------------------------- agreement with sklenet
@pytest.mark.parametrize("format", ["onnx", "tflite"])
def test_runtime_gives_predict_proba(format, fitted, request, tmp_path):
    run = request.getfixturevalue(f"run_{format}")
    clf, X = fitted
    path = tmp_path / f"digits.{format}"
    export(clf, path, format=format)
    proba, metadata = run(path, X)
    expected = clf.predict_proba(X)
    np.testing.assert_allclose(proba, expected, rtol=0, atol=ATOL)
    classes = _check_metadata(metadata, clf, X)
    # Labels from the file's metadata: what a deployment predicts.
    np.testing.assert_array_equal(classes[proba.argmax(axis=1)], clf.predict(X))


def test_saved_model_gives_predict_proba(fitted, tmp_path):
    import tensorflow as tf  # the SavedModel's runtime
    clf, X = fitted
    path = tmp_path / "digits"
    export(clf, path, format="saved_model")
    # Exported twice: a SavedModel folder is replaced as a whole.
    export(clf, path, format="saved_model")
    serve = tf.saved_model.load(os.fspath(path)).signatures["serving_default"]
    proba = serve(pixels=tf.constant(X))["probabilities"].numpy()
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=0, atol=ATOL)
    with open(f"{path}.json") as f:
        _check_metadata(json.load(f), clf, X)
    assert sorted(os.listdir(tmp_path)) == ["digits", "digits.json"]


def test_ensemble_graph_averages_its_members(images, run_onnx, tmp_path):
    X, y, X_test = images
    ensemble = LeNetEnsembleClassifier(n_estimators=2, **fast()).fit(X, y)
    export(ensemble, tmp_path / "ensemble.onnx")
    proba, metadata = run_onnx(tmp_path / "ensemble.onnx", X_test)
    np.testing.assert_allclose(proba, ensemble.predict_proba(X_test), rtol=0,
                               atol=ATOL)
    first = ensemble.estimators_[0].predict_proba(X_test)
    assert np.abs(proba - first).max() > 100 * ATOL, "only one member exported"
    assert (metadata["estimator"], metadata["n_members"]) == (
        "LeNetEnsembleClassifier", "2")


def test_search_exports_its_best_estimator(images, run_onnx, tmp_path):
    X, y, X_test = images
    search = LeNetSearchCV(LeNetClassifier(**fast()), {"dense1_units": [8, 32]},
                           n_trials=2, random_state=0).fit(X, y)
    export(search, tmp_path / "search.onnx")
    proba, metadata = run_onnx(tmp_path / "search.onnx", X_test)
    np.testing.assert_allclose(proba, search.predict_proba(X_test), rtol=0,
                               atol=ATOL)
    assert metadata["estimator"] == "LeNetClassifier"


@pytest.mark.parametrize("format", ["onnx", "tflite"])
def test_augmentation_dropout_batch_norm_and_gelu_export(
    format, images, request, tmp_path
):
    """Augmentation and dropout act as at inference; the optimised LeNet's
    exact GELU converts (TensorFlow computes it with Erfc, which tf2onnx
    lacks)."""
    run = request.getfixturevalue(f"run_{format}")
    X, y, X_test = images
    clf = LeNetClassifier(rotation_range=15, shift_range=0.1, zoom_range=0.1,
                          dropout=0.3, batch_normalization=True,
                          conv_activation="gelu", dense_activation="gelu", **fast())
    clf.fit(X, y)
    assert clf.model_.get_layer("augmentation")
    path = tmp_path / f"regularised.{format}"
    export(clf, path, format=format)
    proba, _ = run(path, X_test)
    np.testing.assert_allclose(proba, clf.predict_proba(X_test), rtol=0, atol=ATOL)
    if format == "onnx":
        onnx = _runtime("onnx")
        ops = {node.op_type for node in onnx.load(path).graph.node}
        assert not any("Random" in op or op == "Dropout" for op in ops), ops


def test_the_graph_has_no_test_time_augmentation(images, run_onnx, tmp_path):
    X, y, X_test = images
    clf = LeNetClassifier(rotation_range=15, shift_range=0.1,
                          test_time_augmentation=3, **fast()).fit(X, y)
    with pytest.warns(UserWarning, match="no test-time augmentation"):
        export(clf, tmp_path / "tta.onnx")
    proba, _ = run_onnx(tmp_path / "tta.onnx", X_test)
    plain = clf.set_params(test_time_augmentation=0).predict_proba(X_test)
    np.testing.assert_allclose(proba, plain, rtol=0, atol=ATOL)


def test_augmentation_layer_is_left_out(fitted, run_onnx, tmp_path):
    clf, X = fitted
    expected = clf.predict_proba(X)
    # A stand-in for training-time augmentation that also zeroes the images,
    # so that any use of the layer in the exported graph shows.
    augmentation = keras.Sequential(
        [keras.layers.RandomRotation(0.1, seed=0), keras.layers.Rescaling(0.0)],
        name="augmentation",
    )
    network = clf.model_
    inputs = keras.Input(clf.image_shape_)
    augmented = LeNetClassifier()
    vars(augmented).update(vars(clf))
    augmented.model_ = keras.Model(inputs, network(augmentation(inputs)))
    export(augmented, tmp_path / "augmented.onnx")
    proba, _ = run_onnx(tmp_path / "augmented.onnx", X)
    np.testing.assert_allclose(proba, expected, rtol=0, atol=ATOL)
    onnx = _runtime("onnx")
    ops = {node.op_type for node in onnx.load(tmp_path / "augmented.onnx").graph.node}
    assert not any("Random" in op for op in ops), ops


# ------------------------------------------------------------------ errors
def test_unknown_format_is_refused_before_anything_is_written(fitted, tmp_path):
    clf, _ = fitted
    with pytest.raises(ValueError, match=r"format='pt'.*'onnx', 'tflite'"):
        export(clf, tmp_path / "model.pt", format="pt")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("estimator", [
    LeNetClassifier(), LeNetEnsembleClassifier(), LeNetSearchCV(),
], ids=["classifier", "ensemble", "search"])
@pytest.mark.parametrize("format", FORMATS)
def test_unfitted_estimator_is_refused(estimator, format, tmp_path):
    with pytest.raises(NotFittedError):
        export(estimator, tmp_path / "model", format=format)
    assert os.listdir(tmp_path) == []


def test_search_without_refit_is_refused(images, tmp_path):
    X, y, _ = images
    search = LeNetSearchCV(LeNetClassifier(**fast()), {"dense1_units": [8]},
                           n_trials=1, refit=False, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="refit=False"):
        export(search, tmp_path / "model.onnx")
    assert os.listdir(tmp_path) == []


def test_other_estimators_are_refused(images, tmp_path):
    X, y, _ = images
    with pytest.raises(TypeError, match="got LogisticRegression"):
        export(LogisticRegression().fit(X[:50] / 255, y[:50]), tmp_path / "m.onnx")
    assert os.listdir(tmp_path) == []


def test_missing_converter_names_the_extra(fitted, monkeypatch, tmp_path):
    clf, _ = fitted
    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # import fails
    with pytest.raises(ImportError, match=r'pip install "sklenet\[export\]"'):
        export(clf, tmp_path / "model.onnx")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("format", ["onnx", "tflite"])
def test_failed_export_leaves_the_old_file(format, fitted, request, monkeypatch,
                                           tmp_path):
    if format == "onnx":
        request.getfixturevalue("ort")  # else the missing converter fails first
    clf, _ = fitted
    path = tmp_path / f"model.{format}"
    path.write_bytes(b"old model")

    def broken_export(*args, **kwargs):
        raise RuntimeError("conversion failed")

    monkeypatch.setattr(keras.Model, "export", broken_export)
    with pytest.raises(RuntimeError, match="conversion failed"):
        export(clf, path, format=format)
    assert path.read_bytes() == b"old model"
    assert os.listdir(tmp_path) == [path.name]


def test_graph_that_no_runtime_loads_is_refused(fitted, ort, monkeypatch, tmp_path):
    onnx = _runtime("onnx")
    clf, _ = fitted
    path = tmp_path / "model.onnx"

    def export_unknown_op(model, filepath, **kwargs):
        # What tf2onnx writes for a TensorFlow op it has no handler for.
        helper = onnx.helper
        node = helper.make_node("NoSuchOp", ["pixels"], ["probabilities"])
        graph = helper.make_graph(
            [node], "g",
            [helper.make_tensor_value_info("pixels", onnx.TensorProto.FLOAT, [1])],
            [helper.make_tensor_value_info("probabilities", onnx.TensorProto.FLOAT,
                                           [1])],
        )
        onnx.save(helper.make_model(graph), filepath)

    monkeypatch.setattr(keras.Model, "export", export_unknown_op)
    with pytest.raises(ValueError, match="could not convert.*NoSuchOp"):
        export(clf, path)
    assert os.listdir(tmp_path) == []


def test_saved_model_never_replaces_other_folders(fitted, tmp_path):
    clf, _ = fitted
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"cat")
    with pytest.raises(FileExistsError, match="no SavedModel"):
        export(clf, tmp_path / "photos", format="saved_model")
    assert os.listdir(tmp_path / "photos") == ["cat.jpg"]
    assert os.listdir(tmp_path) == ["photos"]


# --------------------------------------------------------------- skl2onnx
@pytest.fixture(scope="module")
def to_onnx(ort):
    skl2onnx = _runtime("skl2onnx")
    register_skl2onnx_converters()
    return skl2onnx.to_onnx


def test_skl2onnx_converts_a_pipeline(images, to_onnx, ort):
    X, y, X_test = (a.astype(np.float32) if a.dtype == np.uint8 else a
                    for a in images)
    pipe = make_pipeline(MinMaxScaler(), LeNetClassifier(**fast())).fit(X, y)
    expected = pipe.predict_proba(X_test)

    plain = to_onnx(pipe, X[:1], options={"zipmap": False})
    session = ort.InferenceSession(plain.SerializeToString())
    labels, proba = session.run(None, {"X": X_test})
    np.testing.assert_allclose(proba, expected, rtol=0, atol=ATOL)
    np.testing.assert_array_equal(labels, pipe.predict(X_test))

    # skl2onnx's default output: one {label: probability} dict per sample.
    zipped = to_onnx(pipe, X[:1])
    session = ort.InferenceSession(zipped.SerializeToString())
    labels, dicts = session.run(None, {"X": X_test[:5]})
    np.testing.assert_array_equal(labels, pipe.predict(X_test[:5]))
    assert list(dicts[0]) == pipe.classes_.tolist()
    np.testing.assert_allclose([list(d.values()) for d in dicts], expected[:5],
                               rtol=0, atol=ATOL)


def test_skl2onnx_ensemble_with_string_labels_and_doubles(images, to_onnx, ort):
    X, y, X_test = images
    X, X_test = X.astype(np.float64), X_test.astype(np.float64)
    names = np.array(["zero", "one", "two", "three", "four", "five", "six",
                      "seven", "eight", "nine"])
    pipe = make_pipeline(
        MinMaxScaler(), LeNetEnsembleClassifier(n_estimators=2, **fast())
    ).fit(X, names[y])
    # ZipMap takes float probabilities only, for every skl2onnx classifier.
    onx = to_onnx(pipe, X[:1], options={"zipmap": False})
    labels, proba = ort.InferenceSession(onx.SerializeToString()).run(
        None, {"X": X_test})
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba, pipe.predict_proba(X_test), rtol=0, atol=ATOL)
    np.testing.assert_array_equal(labels, pipe.predict(X_test))
