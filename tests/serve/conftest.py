"""Fixtures every test module of ``sklenet serve`` uses."""

import pytest

from sklenet import save

from ..helpers import fit_sample_lenet


@pytest.fixture(scope="module")
def fitted():
    """``(classifier, X_test, y_test)``: a LeNet fitted on the sample digits."""
    return fit_sample_lenet()


@pytest.fixture(scope="module")
def model_file(fitted, tmp_path_factory):
    """The fitted LeNet saved as a ``.sklenet`` archive."""
    path = tmp_path_factory.mktemp("serve") / "digits.sklenet"
    save(fitted[0], path)
    return path
