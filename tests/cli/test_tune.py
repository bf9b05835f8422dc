"""`sklenet tune`: a database it created removed when it fails."""

import os

from sklenet.cli import main
from sklenet.model_selection import LeNetSearchCV

from .helpers import one_error_line


def test_tune_removes_the_database_it_created_when_it_fails(tmp_path, monkeypatch,
                                                             capsys):
    import optuna

    def fail(self, X, y, validation_data=None):
        optuna.create_study(storage=self.storage, study_name=self.study_name)
        raise ValueError("the data is refused")

    monkeypatch.setattr(LeNetSearchCV, "fit", fail)
    database = tmp_path / "study.db"
    assert main(["tune", "--storage", f"sqlite:///{database}", "--max-samples",
                 "300"]) == 1
    one_error_line(capsys, "sklenet tune: error: the data is refused")
    assert os.listdir(tmp_path) == []
    # A database that was there before, or that holds trials, stays.
    optuna.create_study(storage=f"sqlite:///{database}", study_name="other")
    assert main(["tune", "--storage", f"sqlite:///{database}", "--max-samples",
                 "300"]) == 1
    assert os.listdir(tmp_path) == ["study.db"]
