"""The study's claims in the report of ``sklenet reproduce``: each comparison
the study makes, its measured difference, interval and verdict."""


import pandas as pd

from sklenet.evaluation import compare_scores
from sklenet.study import MODELS, PRESETS, Evaluation, Step, StudyResults
from sklenet.study._results import CLAIMS
from sklenet.study._tables import claims_table

_CLAIMED = ["optimized LeNet above standard LeNet",
            "ensemble of 3 above optimized LeNet",
            "sklenet best (beyond the study) above standard LeNet",
            "sklenet best (beyond the study) above optimized LeNet",
            "sklenet best (beyond the study) above ensemble of 3"]


def _results(test_accuracy):
    """StudyResults whose evaluations have these test accuracies, by model
    (the claims read nothing else)."""
    steps = {}
    for model in MODELS:
        runs = pd.DataFrame({"test_accuracy": test_accuracy[model]})
        name = f"{model}_evaluation"
        steps[name] = Step(name, 1.0, Evaluation(
            runs=runs, summary=runs.describe(), classes=[], y_test=[],
            test_proba=[], histories=[], validation_accuracy=0.0))
    return StudyResults(steps)


def test_claims_table_gives_each_verdict():
    # Four trainings each: standard and optimised apart the study's way, the
    # ensemble below the optimised LeNet, sklenet best overlapping the
    # ensemble.
    results = _results({
        "standard": [0.940, 0.942, 0.941, 0.943],
        "optimized": [0.960, 0.962, 0.961, 0.963],
        "ensemble": [0.950, 0.951, 0.949, 0.950],
        "best": [0.945, 0.955, 0.950, 0.952],
    })
    table = claims_table(results, PRESETS["quick"]).set_index("claim")
    assert table.index.tolist() == _CLAIMED
    assert table["verdict"].tolist() == ["supported", "contradicted", "supported",
                                         "contradicted", "not resolved"]
    assert table["method"].eq("Welch's t").all()
    assert table["trainings"].eq("4 and 4").all()
    claim = table.loc["optimized LeNet above standard LeNet"]
    assert claim["difference of mean test accuracy"] == "+0.0200"
    measured = compare_scores([0.960, 0.962, 0.961, 0.963],
                              [0.940, 0.942, 0.941, 0.943])
    assert claim["95% confidence interval"] == (
        f"[{measured.ci_low:+.4f}, {measured.ci_high:+.4f}]")
    assert claim["study's difference"] == "+0.013"  # 0.978 - 0.965
    resolve = table["trainings per model that would resolve it"]
    assert resolve.iloc[:4].eq("").all()
    needed = compare_scores(results.evaluation("best").runs["test_accuracy"],
                            results.evaluation("ensemble").runs["test_accuracy"])
    assert needed.n_needed > 4
    assert resolve.iloc[4] == f"about {needed.n_needed}"
    assert table.loc[_CLAIMED[4], "study's difference"] == ""  # not in the study


def test_claims_of_one_training_are_not_resolved():
    results = _results({"standard": [0.90], "optimized": [0.99], "ensemble": [0.5],
                        "best": [0.999]})
    table = claims_table(results, PRESETS["quick"])
    assert table["verdict"].eq("not resolved").all()
    assert table["95% confidence interval"].eq(
        "none: one training has no spread").all()
    assert table["trainings per model that would resolve it"].eq(
        "unknown: 2 or more measure the spread first").all()


def test_claims_are_the_studys_comparisons():
    assert CLAIMS == (("optimized", "standard"), ("ensemble", "optimized"),
                      ("best", "standard"), ("best", "optimized"),
                      ("best", "ensemble"))
