"""`sklenet train`: an ensemble of hyperparameters tuned by `sklenet tune`,
progress on stderr and no TensorFlow log."""

import json
import re
import subprocess
import sys

from sklenet import load
from sklenet.cli import main
from sklenet.model_selection import STUDY_SEARCH_SPACE

from .helpers import environment


def test_train_an_ensemble_with_tuned_params(tmp_path, capsys):
    best = tmp_path / "best.json"
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    tune = ["tune", "--storage", storage, "--study-name", "lenet", "--n-trials",
            "1", "--epochs", "1", "--max-samples", "300", "--random-state", "0"]
    assert main([*tune, "--best-params-out", str(best)]) == 0
    assert set(json.loads(best.read_text())) == set(STUDY_SEARCH_SPACE)
    assert main(tune) == 0  # a second worker continues the same study
    assert "'lenet': 2 trials" in capsys.readouterr().out
    model = tmp_path / "ensemble.sklenet"
    assert main(["train", "--model-type", "ensemble", "--n-estimators", "2",
                 "--params", str(best), "--epochs", "1", "--max-samples", "300",
                 "--model", str(model)]) == 0
    assert len(load(model).estimators_) == 2


# Lines that TensorFlow writes to stderr: absl/glog C++ logs, absl's notice,
# Python loggers.
TENSORFLOW_LOG = re.compile(r"^[IWEF]\d{4} |absl|tensorflow|oneDNN|cuInit|cuda|"
                            r"NodeDef|retracing", re.MULTILINE | re.IGNORECASE)


def test_train_writes_progress_to_stderr_and_no_tensorflow_log(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sklenet", "train", "--model", "m.sklenet",
         "--max-samples", "300", "--epochs", "1"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env=environment())
    assert result.returncode == 0, result.stderr
    assert not TENSORFLOW_LOG.search(result.stderr), result.stderr
    progress = result.stderr.splitlines()
    assert len(progress) == 2, result.stderr
    assert progress[0].startswith("training the standard LeNet on 210 images")
    assert progress[1].startswith("trained in ")
    assert re.fullmatch(r"validation accuracy 0\.\d{4} \(90 images\)\n",
                        result.stdout)
    assert load(tmp_path / "m.sklenet").n_epochs_ == 1
