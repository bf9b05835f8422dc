"""`sklenet predict`: a Kaggle submission from a model that `sklenet train`
saved and `sklenet evaluate` scored."""

import json

import pandas as pd

from sklenet import load
from sklenet.cli import main


def test_train_evaluate_predict(lenet_file, kaggle_files, tmp_path, capsys):
    train_csv, test_csv = kaggle_files
    assert load(lenet_file).n_epochs_ == 1
    metrics = tmp_path / "metrics.json"
    assert main(["evaluate", "--model", str(lenet_file), "--data", str(train_csv),
                 "--out", str(metrics)]) == 0
    scores = json.loads(metrics.read_text())
    assert scores["n_samples"] == 300 and 0 <= scores["accuracy"] <= 1
    assert "roc_auc_9" in scores and "ROC AUC" in capsys.readouterr().out
    submission = tmp_path / "submission.csv"
    predict = ["predict", "--model", str(lenet_file), "--data", str(test_csv),
               "--out", str(submission)]
    assert main(predict) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"20 predictions written to {submission}\n"
    assert main([*predict, "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")
    frame = pd.read_csv(submission)
    assert list(frame.columns) == ["ImageId", "Label"]
    assert frame["ImageId"].tolist() == list(range(1, 21))
    assert frame["Label"].between(0, 9).all()
