"""The model_selection package: its public names, imported on first use, and
the old module path that pickles of a search name."""

import json
import pickle
import subprocess
import sys

import sklenet
import sklenet.model_selection
from sklenet.model_selection import LeNetSearchCV

from ..cli.helpers import environment


def test_the_public_names_are_sklenets():
    assert sklenet.model_selection.__all__ == [
        "EXTENDED_SEARCH_SPACE", "LeNetSearchCV", "STUDY_SEARCH_SPACE"]
    for name in sklenet.model_selection.__all__:
        assert getattr(sklenet.model_selection, name) is getattr(sklenet, name)
    assert set(sklenet.model_selection.__all__) <= set(dir(sklenet.model_selection))


def test_importing_the_package_imports_no_tensorflow_nor_optuna():
    # The study and the command line import its storage tools through it.
    heavy = ("tensorflow", "keras", "optuna")
    result = subprocess.run(
        [sys.executable, "-c",
         "import json, sys\nimport sklenet.model_selection\n"
         f"print(json.dumps([name for name in {heavy} if name in sys.modules]))"],
        capture_output=True, text=True, timeout=120, env=environment())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_a_search_pickled_under_its_old_module_path_loads():
    """A search that joblib pickled before model_selection/ existed names
    ``sklenet._search.LeNetSearchCV``."""
    search = LeNetSearchCV(n_trials=3, study_name="old")
    # Protocol 2 names a class as "c<module>\n<name>\n", without a length.
    stream = pickle.dumps(search, protocol=2)
    new_path = b"csklenet.model_selection._search\nLeNetSearchCV\n"
    assert new_path in stream
    old = stream.replace(new_path, b"csklenet._search\nLeNetSearchCV\n")
    loaded = pickle.loads(old)
    assert type(loaded) is LeNetSearchCV
    assert loaded.get_params()["study_name"] == "old"
