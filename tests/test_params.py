"""The one declaration of the LeNet hyperparameters, and what derives from it."""

import inspect

import pytest

from sklenet import STANDARD_PARAMS, LeNetClassifier, LeNetEnsembleClassifier
from sklenet._model import build_lenet
from sklenet._params import HYPERPARAMETERS, NETWORK_PARAMS

ESTIMATORS = [LeNetClassifier, LeNetEnsembleClassifier]


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_init_signature_follows_the_declaration(cls):
    """Every declared hyperparameter is an ``__init__`` argument, in the
    declared order and with the declared default."""
    signature = inspect.signature(cls.__init__).parameters
    declared = [hp.name for hp in HYPERPARAMETERS]
    assert [name for name in signature if name in declared] == declared
    for hp in HYPERPARAMETERS:
        assert signature[hp.name].default == hp.default, hp.name


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_every_init_argument_is_declared_or_the_estimators_own(cls):
    own = set(cls._parameter_constraints) - {hp.name for hp in HYPERPARAMETERS}
    arguments = set(inspect.signature(cls.__init__).parameters) - {"self", "kwargs"}
    assert arguments == {hp.name for hp in HYPERPARAMETERS} | own


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_docstring_documents_every_hyperparameter(cls):
    for hp in HYPERPARAMETERS:
        assert f"\n    {hp.name} : {hp.type}, default={hp.default!r}\n" in cls.__doc__


def test_network_params_are_build_lenet_arguments():
    signature = inspect.signature(build_lenet).parameters
    for name in NETWORK_PARAMS:
        assert signature[name].default == LeNetClassifier().get_params()[name]


def test_standard_params_are_the_study_defaults():
    assert STANDARD_PARAMS == {
        "conv1_filters": 6, "conv1_kernel_size": 5, "conv2_filters": 16,
        "conv2_kernel_size": 5, "conv_activation": "tanh", "conv_l2": 0.0,
        "pool1_size": 2, "pool2_size": 2, "dense1_units": 120, "dense2_units": 84,
        "dense_activation": "tanh", "dense_l2": 0.0,
    }
