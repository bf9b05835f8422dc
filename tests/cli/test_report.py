"""`sklenet report` and `sklenet.study.write_report`: the report of a finished
run drawn again from its folder alone (moved, its search storage gone), the
same tables, figures and pages as the run's; one-line errors for a folder
that is missing, foreign or unfinished; the data prepared once per run."""

import json
import shutil

import pytest

from sklenet.cli import main
from sklenet.study import PRESETS, Reproduction, RunFolder, write_report

from .helpers import one_error_line

#: What the run writes and the report draws again.
_DRAWN = ("report.md", "report.html", "results", "figures")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One `sklenet reproduce --preset tiny` whose search is stored outside
    the run folder (an SQLite URL stands in for PostgreSQL); returns the
    folder, the external database and the Reproductions it made."""
    where = tmp_path_factory.mktemp("report")
    out, external = where / "run", where / "external.db"
    made = []
    initialise = Reproduction.__init__

    def counted(self, *args, **kwargs):
        made.append(self)
        initialise(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Reproduction, "__init__", counted)
        assert main(["reproduce", "--preset", "tiny", "--n-jobs", "1", "--out",
                     str(out), "--storage", f"sqlite:///{external}"]) == 0
    return out, external, made


def _files(folder):
    """{path relative to ``folder``: bytes} of what a report draws."""
    files = {}
    for name in _DRAWN:
        path = folder / name
        paths = sorted(path.rglob("*")) if path.is_dir() else [path]
        files.update({p.relative_to(folder): p.read_bytes()
                      for p in paths if p.is_file()})
    return files


@pytest.mark.slow  # the tiny reproduction takes ~40 s
def test_reproduce_prepares_the_data_once(tiny_run):
    # The command line checks its arguments with prepare() and runs what it
    # prepared: one subsample, split and hash of the data.
    _, _, made = tiny_run
    assert len(made) == 1


@pytest.mark.slow
def test_a_moved_copy_draws_the_same_report(tiny_run, tmp_path, capsys):
    out, external, _ = tiny_run
    ran = _files(out)
    assert {"report.md", "report.html"} <= {str(path) for path in ran}
    assert sum(path.parts[0] == "results" for path in ran) >= 20
    assert sum(path.suffix == ".png" for path in ran) >= 14
    # Elsewhere, without the search's storage and without the drawn files.
    moved = tmp_path / "elsewhere" / "run"
    shutil.copytree(out, moved)
    external.rename(tmp_path / "gone.db")
    for name in _DRAWN:
        path = moved / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    capsys.readouterr()
    assert main(["report", str(moved)]) == 0
    captured = capsys.readouterr()
    assert "| standard LeNet" in captured.out and "| not resolved |" in captured.out
    drawn = _files(moved)
    assert sorted(drawn) == sorted(ran)
    # The tables, the pages and the figures (matplotlib draws the same bytes).
    assert [path for path in ran if drawn[path] != ran[path]] == []
    # From Python: the same tables, drawn again in place.
    tables = write_report(moved)
    assert tables["accuracy"].to_markdown(index=False) in (
        moved / "report.md").read_text()
    assert _files(moved) == ran


@pytest.mark.slow
def test_an_unfinished_run_is_one_line_naming_what_is_missing(
        tiny_run, tmp_path, capsys):
    out, _, _ = tiny_run
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    folder = RunFolder(copy)
    folder.finished.unlink()  # the run did not end
    assert main(["report", str(copy)]) == 1
    one_error_line(capsys, rf"^sklenet report: error: {copy} holds an unfinished "
                   r"run: every step is done but the run did not end "
                   r"\(cache/finished.npz is missing\); run the same sklenet "
                   "reproduce command again to finish it.$")
    folder.step("search").unlink()  # killed before the search ended
    steps = len(PRESETS["tiny"].plan())
    with pytest.raises(ValueError, match=rf"the records of 1 of its {steps} steps "
                       r"are missing \(search\)"):
        write_report(copy)


def test_a_missing_or_foreign_folder_is_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing")]) == 1
    one_error_line(capsys, rf"^sklenet report: error: {tmp_path / 'missing'} does "
                   "not exist: give the output folder of a finished sklenet "
                   "reproduce run.$")
    assert not (tmp_path / "missing").exists()  # nothing created
    (tmp_path / "photos").mkdir()
    assert main(["report", str(tmp_path / "photos")]) == 1
    one_error_line(capsys, rf"{tmp_path / 'photos'} is not a run folder of "
                   r"sklenet reproduce: it has no cache/run.json.$")
    assert list((tmp_path / "photos").iterdir()) == []
    # A run folder of another sklenet version.
    folder = RunFolder(tmp_path / "old")
    folder.cache.mkdir(parents=True)
    folder.description.write_text(json.dumps({"cache_format": 1, "settings": {}}))
    assert main(["report", str(folder.out)]) == 1
    one_error_line(capsys, rf"{folder.out} holds the results of another sklenet "
                   r"version \(cache format 1, this version reads \d+\).$")


def test_report_has_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--help"])
    assert exit_info.value.code == 0
    assert "usage: sklenet report [-h] [-q | -v] OUT" in capsys.readouterr().out
