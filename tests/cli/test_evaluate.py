"""`sklenet evaluate`: data without labels refused in one line."""

from sklenet.cli import main

from .helpers import one_error_line


def test_evaluate_needs_labels(lenet_file, kaggle_files, capsys):
    assert main(["evaluate", "--model", str(lenet_file), "--data",
                 str(kaggle_files[1])]) == 1
    one_error_line(capsys, "has no label column")
