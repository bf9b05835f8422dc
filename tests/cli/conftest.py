"""Fixtures shared by the command line's test modules."""

import pytest

from sklenet.cli import main
from sklenet.datasets import load_sample_digits


@pytest.fixture(scope="session")
def kaggle_files(tmp_path_factory):
    """A 300-image train.csv and a 20-image test.csv in Kaggle's format."""
    folder = tmp_path_factory.mktemp("kaggle")
    digits = load_sample_digits(as_frame=True)
    frame = digits.frame.sample(300, random_state=0)
    frame.to_csv(folder / "train.csv", index=False)
    frame.drop(columns="label").head(20).to_csv(folder / "test.csv", index=False)
    return folder / "train.csv", folder / "test.csv"


# Session-scoped: trained once per test process (each xdist worker), not once
# per module that uses it (evaluate, predict, export, main).
@pytest.fixture(scope="session")
def lenet_file(kaggle_files, tmp_path_factory):
    """A LeNet trained for one epoch by `sklenet train` on the 300-image CSV."""
    model = tmp_path_factory.mktemp("train") / "lenet.sklenet"
    assert main(["train", "--data", str(kaggle_files[0]), "--model", str(model),
                 "--epochs", "1"]) == 0
    return model
