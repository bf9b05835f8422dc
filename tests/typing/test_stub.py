"""The type information sklenet ships: the package stub and the signatures."""

import ast
import inspect
from pathlib import Path

import pytest

import sklenet
from sklenet import LeNetClassifier, LeNetEnsembleClassifier, build_lenet
from sklenet._params import HYPERPARAMETERS, NETWORK_PARAMS

STUB = Path(sklenet.__file__).with_suffix(".pyi")


def _stub_names():
    """Public name -> the module the stub takes it from (None: declared)."""
    names = {}
    for node in ast.parse(STUB.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            for alias in node.names:
                names[alias.asname] = f".{node.module or alias.name}"
        elif isinstance(node, ast.AnnAssign) and not node.target.id.startswith("__"):
            names[node.target.id] = None
    return names


def test_stub_declares_every_public_name_from_its_module():
    """Type checkers see ``__init__.pyi``: every name of ``_EXPORTS``, from the
    module ``__init__.py`` imports it from, and nothing else."""
    names = _stub_names()
    assert set(names) == set(sklenet._EXPORTS)
    for name, module in names.items():
        if module is not None:
            assert module == sklenet._EXPORTS[name], name


def test_py_typed_ships_beside_the_stub():
    assert (STUB.parent / "py.typed").is_file()


@pytest.mark.parametrize("function", [LeNetEnsembleClassifier.__init__, build_lenet])
def test_hyperparameters_have_one_type_everywhere(function):
    """Each declared hyperparameter has the same annotation in every
    signature that takes it (the classifier's is the reference)."""
    reference = inspect.signature(LeNetClassifier.__init__).parameters
    parameters = inspect.signature(function).parameters
    names = (NETWORK_PARAMS if function is build_lenet
             else [hp.name for hp in HYPERPARAMETERS])
    for name in names:
        assert reference[name].annotation is not inspect.Parameter.empty, name
        assert parameters[name].annotation == reference[name].annotation, name
