"""Export fitted LeNet estimators for inference without sklenet or TensorFlow.

:func:`export` writes one self-contained inference graph: flat pixel rows in,
class probabilities out, with sklenet's pixel scaling and reshape inside the
graph, so that a runtime that knows nothing of sklenet (onnxruntime, LiteRT,
TensorFlow Serving) gives the answers of ``predict_proba``. An exported
``model_`` alone would not: it takes scaled float images, and raw pixels give
silently wrong probabilities.

:func:`register_skl2onnx_converters` teaches ``skl2onnx`` the LeNet estimators,
so that a whole scikit-learn pipeline ending in one converts to one ONNX graph.
"""

import contextlib
import functools
import importlib.metadata
import json
import os
import shutil
import sys
import tempfile
import warnings
from typing import Any, Literal

import keras
import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._classifier import LeNetClassifier
from ._compat import export_litert
from ._ensemble import LeNetEnsembleClassifier, soft_vote
from ._io import atomic_write
from ._model import AUGMENTATION_LAYER as _AUGMENTATION_LAYER
from ._typing import PathLike

# _AUGMENTATION_LAYER, the layer of ``model_`` that holds the training-time data
# augmentation (random rotations, shifts, zooms), is identity at inference, so
# it is left out of exported graphs, which then hold no random ops.

#: The formats :func:`export` writes.
FORMATS = ("onnx", "tflite", "saved_model")

#: Names of the exported graph's input (flat pixel rows) and output.
INPUT_NAME = "pixels"
OUTPUT_NAME = "probabilities"


_INSTALL_HINT = 'pip install "sklenet[export]"'


def export(
    estimator: Any,
    path: PathLike,
    *,
    format: Literal["onnx", "tflite", "saved_model"] = "onnx",
) -> dict[str, Any]:
    """Write a fitted LeNet estimator as a standalone inference graph.

    The graph takes what :meth:`~LeNetClassifier.predict_proba` takes from a
    user, flat rows of pixels ``(n_samples, n_features)``, in the dtype the
    estimator was fitted on (its ``input_dtype_``: ``uint8`` or ``int64``
    for integer pixels, ``float32`` or ``float64`` for float pixels). It
    applies the estimator's scaling (1/255 for integer
    pixels) and reshape and outputs the class probabilities
    ``(n_samples, n_classes)`` in ``classes_`` order; an ensemble's graph
    averages its members, as :meth:`LeNetEnsembleClassifier.predict_proba`
    does. Dropout, batch normalisation and data augmentation act as at
    inference: the augmentation layer is left out. The graph is
    deterministic: it has no test-time augmentation (an estimator with
    ``test_time_augmentation`` on exports with a warning, and the graph's
    probabilities are those of ``test_time_augmentation=0``).

    The class labels and what a caller needs to feed the graph travel with
    it: ``classes`` (JSON list), ``classes_dtype``, ``n_features``,
    ``input_dtype``, ``image_shape`` (JSON list), ``input_scale``,
    ``input_name``, ``output_name``, ``estimator``, ``n_members``,
    ``feature_names`` (JSON list or ``null``) and ``sklenet_version``. ONNX
    keeps them in the model's ``metadata_props`` (numbers and lists as JSON
    text); LiteRT and SavedModel have no such field, so they go to a JSON
    file beside the model, ``<path>.json``.

    Nothing is written unless the whole export succeeds: files are written to
    a temporary name and renamed over ``path``.

    Parameters
    ----------
    estimator : LeNetClassifier, LeNetEnsembleClassifier or search CV
        A fitted estimator; a fitted :class:`LeNetSearchCV` (or any fitted
        search with ``best_estimator_``) exports its ``best_estimator_``.
    path : str or path-like
        The file to write (a folder for ``"saved_model"``). An existing file,
        or an existing SavedModel folder, is replaced.
    format : {"onnx", "tflite", "saved_model"}, default="onnx"
        ``"onnx"``: an ONNX model (opset 15) for onnxruntime and other ONNX
        runtimes; needs ``tf2onnx`` and ``onnx``. ``"tflite"``: a LiteRT
        (TensorFlow Lite) flatbuffer for phones and microcontrollers, run with
        ``ai_edge_litert``. ``"saved_model"``: a TensorFlow SavedModel folder
        with a ``serving_default`` signature, for TensorFlow Serving.

    Returns
    -------
    metadata : dict
        What was written beside the graph (see above).

    Raises
    ------
    ValueError
        For an unknown ``format`` or a search fitted with ``refit=False``.
    TypeError
        For an estimator that is no LeNet estimator.
    sklearn.exceptions.NotFittedError
        For an unfitted estimator.
    ImportError
        When a package the format needs is missing; ``pip install
        "sklenet[export]"`` installs them all.

    See Also
    --------
    register_skl2onnx_converters : convert whole pipelines with skl2onnx.
    sklenet.save : a complete archive of the estimator, to load in Python.

    Examples
    --------
    >>> import json, os, tempfile
    >>> import onnxruntime
    >>> from sklenet import LeNetClassifier
    >>> from sklenet import export
    >>> from sklenet.datasets import load_sample_digits
    >>> X, y = load_sample_digits(return_X_y=True)
    >>> clf = LeNetClassifier(epochs=1, early_stopping=False, random_state=0)
    >>> clf = clf.fit(X[::10], y[::10])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "digits.onnx")
    ...     metadata = export(clf, path, format="onnx")
    ...     session = onnxruntime.InferenceSession(path)
    ...     labels = session.get_modelmeta().custom_metadata_map["classes"]
    ...     proba = session.run(["probabilities"], {"pixels": X[:3]})[0]
    >>> json.loads(labels)
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    >>> metadata["input_dtype"], proba.shape
    ('uint8', (3, 10))
    """
    if format not in FORMATS:
        raise ValueError(f"format={format!r} is not supported; use one of {FORMATS}.")
    estimator, members = _fitted_lenet(estimator)
    if estimator.test_time_augmentation:
        warnings.warn(
            f"{type(estimator).__name__} has test_time_augmentation="
            f"{estimator.test_time_augmentation}, but the exported graph is "
            "deterministic and has no test-time augmentation: its probabilities "
            "are those of test_time_augmentation=0.", UserWarning, stacklevel=2)
    metadata = _export_metadata(estimator, members)
    input_dtype = np.dtype(metadata["input_dtype"])
    # "folder/" names the folder itself, and its sidecar "folder.json".
    path = os.path.normpath(os.fspath(path))
    if format == "onnx":
        model = _onnx_model(members, input_dtype)
        for key, value in metadata.items():
            entry = model.metadata_props.add()
            entry.key = key
            entry.value = value if isinstance(value, str) else json.dumps(value)
        model.doc_string = _DOC_STRING.format(**metadata)
        atomic_write(path, model.SerializeToString())
    elif format == "tflite":
        with tempfile.TemporaryDirectory() as tmp:
            tflite_path = os.path.join(tmp, "model.tflite")
            _quiet_keras_export(_inference_model(members, input_dtype), tflite_path,
                                export=export_litert)
            with open(tflite_path, "rb") as f:
                flatbuffer = f.read()
        _write_with_sidecar(path, metadata,
                            lambda: atomic_write(path, flatbuffer))
    else:
        _write_with_sidecar(path, metadata, lambda: _write_saved_model(
            _inference_model(members, input_dtype), path
        ))
    return metadata


_DOC_STRING = (
    "{estimator} exported by sklenet {sklenet_version}: {input_name} "
    "(n, {n_features}) {input_dtype} -> {output_name} (n, n_classes) float32; "
    "class labels in metadata 'classes'."
)


# --------------------------------------------------------- what to export
def _fitted_lenet(estimator):
    """``(estimator, members)``: the LeNet estimator to export and its networks.

    A search resolves to its ``best_estimator_``; ``members`` are the
    :class:`LeNetClassifier` whose probabilities the graph averages. A search
    is recognised by what it has, not by its class (the search module would
    import Optuna): a ``best_estimator_``, or an ``estimator`` it would
    ``refit``, as in :class:`LeNetSearchCV` and sklearn's searches.
    """
    is_search = hasattr(estimator, "best_estimator_") or (
        hasattr(estimator, "estimator") and hasattr(estimator, "refit")
    )
    if is_search:
        check_is_fitted(estimator)
        if not hasattr(estimator, "best_estimator_"):
            raise ValueError(
                f"This {type(estimator).__name__} was fitted with refit=False: "
                "it has no best_estimator_ to export. Fit it with refit=True or "
                "export a fitted estimator."
            )
        return _fitted_lenet(estimator.best_estimator_)
    if isinstance(estimator, LeNetEnsembleClassifier):
        check_is_fitted(estimator)
        return estimator, list(estimator.estimators_)
    if isinstance(estimator, LeNetClassifier):
        check_is_fitted(estimator, "model_")
        return estimator, [estimator]
    raise TypeError(
        "export needs a fitted LeNetClassifier, LeNetEnsembleClassifier or "
        f"LeNetSearchCV, got {type(estimator).__name__}. A pipeline that ends in "
        "one converts with skl2onnx after register_skl2onnx_converters()."
    )


def _input_dtype(member):
    """The dtype of the exported graph's input: the fitted X's
    (``input_dtype_``)."""
    return np.dtype(member.input_dtype_)


def _export_metadata(estimator, members):
    """The JSON-able description that travels with an exported graph."""
    first = members[0]
    feature_names = getattr(estimator, "feature_names_in_", None)
    metadata = {
        "estimator": type(estimator).__name__,
        "n_members": len(members),
        "classes": estimator.classes_.tolist(),
        "classes_dtype": estimator.classes_.dtype.str,
        "n_features": int(first.n_features_in_),
        "input_dtype": _input_dtype(first).name,
        "image_shape": [int(side) for side in first.image_shape_],
        "input_scale": float(first.input_scale_),
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "feature_names": None if feature_names is None else feature_names.tolist(),
        "sklenet_version": importlib.metadata.version("sklenet"),
    }
    try:
        json.dumps(metadata)
    except TypeError as error:
        raise TypeError(
            f"The class labels must be JSON numbers or strings to travel with "
            f"the exported graph, got classes_={estimator.classes_!r}: {error}."
        ) from None
    return metadata


# --------------------------------------------------- the inference graph
class _SkipAugmentation(keras.layers.Layer):
    """Identity standing in for the augmentation layer in an exported graph.

    ``keras.layers.Identity`` refuses the ``mask``/``training`` arguments that
    a functional graph passes to the layer it replaces; this takes them all.
    """

    def call(self, inputs, **kwargs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


def _inference_network(model, name):
    """``model`` without its augmentation layer, sharing its weights.

    It is wrapped in a model called ``name``: the members of an ensemble are
    all called "lenet", and names must be unique within the exported graph.
    """
    try:
        model.get_layer(_AUGMENTATION_LAYER)
    except ValueError:
        pass
    else:
        # Every other layer is reused as it is (same weights); only the
        # augmentation layer is swapped for an identity.
        model = keras.models.clone_model(
            model,
            clone_function=lambda layer: (
                _SkipAugmentation(name=f"no_{_AUGMENTATION_LAYER}")
                if layer.name == _AUGMENTATION_LAYER else layer
            ),
        )
    images = keras.Input(shape=model.input_shape[1:])
    return keras.Model(images, model(images, training=False), name=name)


def _inference_model(members, input_dtype):
    """The Keras model that is exported: pixel rows -> mean probabilities.

    It computes what ``ImageEncoder`` and ``predict_proba`` compute: cast to
    float32, multiply by the float32 scale (the same rounding), reshape to
    images, run every member in inference mode and average them by
    :func:`~sklenet._ensemble.soft_vote`.
    """
    first = members[0]
    pixels = keras.Input(shape=(first.n_features_in_,), dtype=input_dtype.name,
                         name=INPUT_NAME)
    images = keras.ops.cast(pixels, "float32")
    if first.input_scale_ != 1:
        images = images * np.float32(first.input_scale_)
    images = keras.layers.Reshape(first.image_shape_, name="image")(images)
    outputs = [
        _inference_network(member.model_, f"member_{index}")(images, training=False)
        for index, member in enumerate(members)
    ]
    proba = soft_vote(outputs, ops=keras.ops)
    # A dict output names the output "probabilities" in the SavedModel and
    # LiteRT signatures (a bare tensor would be "output_0").
    return keras.Model(pixels, {OUTPUT_NAME: proba}, name="sklenet_export")


def _quiet_keras_export(model, path, export=None, **kwargs):
    """``model.export`` (or ``export(model, ...)``) without Keras' own
    messages and warnings.

    Keras patches tf2onnx for NumPy 2 by probing ``np.object``, which warns;
    the patch is Keras' business, not the caller's.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        if export is None:
            model.export(path, verbose=False, input_signature=model.inputs,
                         **kwargs)
        else:
            export(model, path, verbose=False, input_signature=model.inputs,
                   **kwargs)


# ---------------------------------------------------------------- formats
def _onnx_model(members, input_dtype, opset=None):
    """The inference graph as an ``onnx.ModelProto`` (via Keras and tf2onnx)."""
    onnx = _require("onnx", "onnx")
    _require("onnx", "tf2onnx")
    _teach_tf2onnx_erfc()
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = os.path.join(tmp, "model.onnx")
        _quiet_keras_export(_inference_model(members, input_dtype), onnx_path,
                            format="onnx", opset_version=opset)
        model = onnx.load(onnx_path)
    # tf2onnx logs ops it cannot convert and writes them anyway, as nodes that
    # no runtime loads: refuse such a graph here rather than in production.
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as error:
        raise ValueError(
            f"tf2onnx could not convert this network to a valid ONNX graph: "
            f"{error}. format='tflite' or 'saved_model' may work."
        ) from error
    # tf2onnx names the output after TensorFlow's tensor ("Identity:0").
    (output,) = model.graph.output
    for node in model.graph.node:
        node.output[:] = [OUTPUT_NAME if name == output.name else name
                          for name in node.output]
    output.name = OUTPUT_NAME
    return model


@functools.cache
def _teach_tf2onnx_erfc():
    """Register a tf2onnx handler for TensorFlow's ``Erfc`` op.

    Keras' exact GELU (the optimised LeNet's activation) is ``0.5 * x *
    erfc(-x / sqrt(2))`` on TensorFlow, and tf2onnx 1.17 has no handler for
    ``Erfc``; ONNX has ``Erf`` (opset 9), so the node becomes ``1 - Erf(x)``.
    In float32 that differs from ``erfc`` by at most 6e-8 (the spacing of
    floats near 1), and GELU multiplies it by ``x / 2``.
    """
    from tf2onnx import utils
    from tf2onnx.handler import tf_op

    @tf_op("Erfc")
    class _Erfc:
        @classmethod
        def version_9(cls, ctx, node, **kwargs):
            node.type = "Erf"
            dtype = utils.map_onnx_to_numpy_type(ctx.get_dtype(node.input[0]))
            one = ctx.make_const(utils.make_name("one"), np.array(1, dtype))
            ctx.insert_new_node_on_output(
                "Sub", node.output[0], name=utils.make_name(node.name),
                inputs=[one.output[0], node.output[0]],
            )


def _write_with_sidecar(path, metadata, write_model):
    """Run ``write_model`` then write ``metadata`` to ``<path>.json``.

    The two are written one after the other; should the sidecar fail, the
    new model is removed again, so that no model is left without its labels.
    """
    write_model()
    try:
        atomic_write(path + ".json", json.dumps(metadata, indent=2) + "\n")
    except BaseException:
        _remove(path)
        raise


def _write_saved_model(model, path):
    """Export a SavedModel folder to a temporary name and move it to ``path``."""
    path = os.path.abspath(path)
    if os.path.lexists(path) and not os.path.isfile(
        os.path.join(path, "saved_model.pb")
    ):
        # Never delete something that is not a SavedModel of ours.
        raise FileExistsError(
            f"{path!r} exists and is no SavedModel folder: choose another path "
            "or remove it first."
        )
    parent, name = os.path.split(path)
    tmp = tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=parent)
    old = None
    try:
        _quiet_keras_export(model, tmp, format="tf_saved_model")
        if os.path.lexists(path):
            old = tempfile.mkdtemp(prefix=f".{name}.", suffix=".old", dir=parent)
            os.replace(path, os.path.join(old, name))
        os.replace(tmp, path)
    except BaseException:
        if old is not None and not os.path.lexists(path):
            os.replace(os.path.join(old, name), path)
        _remove(tmp)
        raise
    finally:
        if old is not None:
            _remove(old)


def _remove(path):
    with contextlib.suppress(OSError):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


def _require(what, module):
    """Import ``module`` or say which extra installs it."""
    try:
        return __import__(module)
    except ImportError as error:
        raise ImportError(
            f"Exporting to {what} needs the {module!r} package: {_INSTALL_HINT}"
        ) from error


# --------------------------------------------------------------- skl2onnx
def register_skl2onnx_converters() -> None:
    """Teach skl2onnx to convert LeNet estimators, alone or in pipelines.

    After this call ``skl2onnx.to_onnx`` converts a fitted
    :class:`LeNetClassifier`, :class:`LeNetEnsembleClassifier` or
    :class:`LeNetSearchCV`, and any
    pipeline whose other steps skl2onnx knows, into one ONNX graph: the
    LeNet's graph (the one :func:`export` writes, taking the dtype the
    preceding step outputs) is embedded after the other steps. As for every
    skl2onnx classifier the outputs are ``label`` (``classes_``, integers or
    strings) and ``probabilities``, as a list of dicts unless the option
    ``{"zipmap": False}`` is given (ONNX's ZipMap takes float32 only, so
    float64 input needs ``{"zipmap": False}``, as for every skl2onnx
    classifier). A fitted :class:`LeNetSearchCV` converts as its
    ``best_estimator_`` (registered when ``LeNetSearchCV`` has been imported,
    as it has wherever a search was fitted).

    Returns
    -------
    None

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime
    >>> from skl2onnx import to_onnx
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from sklenet import LeNetClassifier
    >>> from sklenet._export import register_skl2onnx_converters
    >>> from sklenet.datasets import load_sample_digits
    >>> X, y = load_sample_digits(return_X_y=True)
    >>> X = X.astype(np.float32)
    >>> pipe = make_pipeline(
    ...     MinMaxScaler(),
    ...     LeNetClassifier(epochs=1, early_stopping=False, random_state=0),
    ... ).fit(X[::10], y[::10])
    >>> register_skl2onnx_converters()
    >>> onx = to_onnx(pipe, X[:1], options={"zipmap": False})
    >>> session = onnxruntime.InferenceSession(onx.SerializeToString())
    >>> labels, proba = session.run(None, {"X": X[:5]})
    >>> bool((labels == pipe.predict(X[:5])).all()), proba.shape
    (True, (5, 10))
    """
    skl2onnx = _require("onnx with skl2onnx", "skl2onnx")
    # A fitted search converts as its best_estimator_ (_fitted_lenet). It is
    # looked up, not imported: export sits below model selection and never
    # imports Optuna, and whoever holds a fitted search has imported it.
    search = getattr(sys.modules.get("sklenet.model_selection._search"),
                     "LeNetSearchCV", None)
    for cls in (LeNetClassifier, LeNetEnsembleClassifier, search):
        if cls is None:
            continue
        # Declaring "zipmap" selects skl2onnx's classifier parser (outputs
        # label + probabilities); "zipmap" and "nocl" (class indices as
        # labels) are the options every skl2onnx classifier has.
        skl2onnx.update_registered_converter(
            cls, f"Sklenet{cls.__name__}", _skl2onnx_shape_calculator,
            _skl2onnx_converter,
            options={"zipmap": [True, False, "columns"], "nocl": [False, True]},
        )


def _skl2onnx_shape_calculator(operator):
    """skl2onnx shape calculator: label ``[N]`` and probabilities ``[N, C]``."""
    from skl2onnx.common.data_types import Int64TensorType, StringTensorType
    from skl2onnx.common.utils_classifier import get_label_classes

    classes = get_label_classes(operator.scope_inst, operator.raw_operator)
    if classes.dtype.kind in "iub":
        label_type = Int64TensorType
    elif all(isinstance(label, str) for label in classes):
        label_type = StringTensorType
    else:
        raise TypeError(
            "ONNX labels are integers or strings, but classes_ of "
            f"{type(operator.raw_operator).__name__} are {classes.dtype}: "
            f"{classes[:3].tolist()}... Fit on integer or string labels."
        )
    n_samples = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = label_type([n_samples])
    # The parser chose float or double probabilities after the input's type.
    operator.outputs[1].type = type(operator.outputs[1].type)(
        [n_samples, len(classes)]
    )


def _skl2onnx_converter(scope, operator, container):
    """skl2onnx converter: embed the exported LeNet graph in the pipeline's."""
    import onnx
    import tf2onnx
    from skl2onnx.common.data_types import guess_proto_type
    from skl2onnx.common.utils_classifier import get_label_classes
    from skl2onnx.helpers.integration import add_onnx_graph

    _, members = _fitted_lenet(operator.raw_operator)
    input_dtype = onnx.helper.tensor_dtype_to_np_dtype(
        guess_proto_type(operator.inputs[0].type)
    )
    # tf2onnx writes opsets up to its newest; a newer target is reached with
    # ONNX's version converter, so that every node means what its opset says.
    target = container.target_opset
    opset = min(target, max(tf2onnx.constants.OPSET_TO_IR_VERSION))
    model = _onnx_model(members, np.dtype(input_dtype), opset=opset)
    if opset < target:
        model = onnx.version_converter.convert_version(model, target)
        # The converter adds nodes without a name (e.g. the axes Constant of
        # opset 18's ReduceMean), which skl2onnx < 1.19 cannot rename.
        for index, node in enumerate(model.graph.node):
            node.name = node.name or f"{node.op_type}_{index}"
    _add_label_output(model, get_label_classes(scope, operator.raw_operator),
                      guess_proto_type(operator.outputs[1].type))
    add_onnx_graph(scope, operator, container, model)


def _add_label_output(model, classes, proba_type):
    """Make the graph's outputs ``(label, probabilities)`` as skl2onnx's are.

    The label is ``classes[argmax(probabilities)]``, as ``predict`` computes it.
    """
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    (proba,) = graph.output
    n_classes = len(classes)
    if classes.dtype.kind in "iub":
        classes = numpy_helper.from_array(classes.astype(np.int64), "classes")
        label_type = TensorProto.INT64
    else:
        classes = helper.make_tensor("classes", TensorProto.STRING, [len(classes)],
                                     [str(label).encode() for label in classes])
        label_type = TensorProto.STRING
    graph.initializer.append(classes)
    graph.node.extend([
        helper.make_node("ArgMax", [proba.name], ["class_index"], axis=1,
                         keepdims=0, name="ArgMax_label"),
        helper.make_node("Gather", ["classes", "class_index"], ["label"], axis=0,
                         name="Gather_label"),
    ])
    outputs = [helper.make_tensor_value_info("label", label_type, [None])]
    if proba_type == TensorProto.FLOAT:
        outputs.append(proba)
    else:
        graph.node.append(helper.make_node("Cast", [proba.name], ["proba_cast"],
                                           to=proba_type, name="Cast_proba"))
        outputs.append(helper.make_tensor_value_info(
            "proba_cast", proba_type, [None, n_classes]
        ))
    del graph.output[:]
    graph.output.extend(outputs)
