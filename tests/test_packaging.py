"""What pyproject.toml promises users: floors that CI tests, and a wheel and
an sdist that carry the licence and the type-hint marker."""

import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# The extras users install; the test and docs extras are the developers'.
USER_EXTRAS = ("dask", "postgres", "export", "serve")


def _floors():
    requirements = [*PYPROJECT["dependencies"]]
    for extra in USER_EXTRAS:
        requirements += PYPROJECT["optional-dependencies"][extra]
    floors = {}
    for line in requirements:
        requirement = Requirement(line)
        lower = [s.version for s in requirement.specifier if s.operator == ">="]
        floors[requirement.name.lower()] = lower[0] if lower else None
    return floors


def _pins():
    pins = {}
    for line in (ROOT / ".ci" / "lowest-constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", line
            pins[requirement.name.lower()] = specifier.version
    return pins


def test_every_dependency_has_a_floor_that_ci_tests():
    floors, pins = _floors(), _pins()
    assert all(floors.values()), {n: f for n, f in floors.items() if not f}
    # dask[distributed] brings distributed, pinned beside it.
    assert {name: pins[name] for name in floors} == floors
    assert set(pins) - set(floors) == {"distributed"}
    assert pins["distributed"] == pins["dask"]


@pytest.mark.slow
def test_the_wheel_and_the_sdist_ship_the_licence_and_py_typed(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(tmp_path), str(ROOT)], check=True)
    (wheel,) = tmp_path.glob("sklenet-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith("/METADATA")))
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names
    assert "sklenet/py.typed" in names
    assert b"License-Expression: BSD-3-Clause" in metadata
    assert b"Classifier: Typing :: Typed" in metadata

    subprocess.run([sys.executable, "-m", "build", "--sdist", "--outdir",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True)
    (sdist,) = tmp_path.glob("sklenet-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    root = names[0].split("/")[0]
    for member in ("LICENSE", "CHANGELOG.md", "CITATION.cff", "sklenet/py.typed"):
        assert f"{root}/{member}" in names, member
