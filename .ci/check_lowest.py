"""Check the lowest-versions environment (.ci/lowest.sh runs it there).

1. Every package pinned in .ci/lowest-constraints.txt is installed at its pin.
2. ``pip install -e .[test]`` without the constraints would install nothing
   but sklenet itself: sklenet installs beside the stack a user has, at the
   floors, without upgrading any of it.
"""

import json
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def pins():
    lines = (ROOT / ".ci" / "lowest-constraints.txt").read_text().splitlines()
    for line in lines:
        line = line.split("#")[0].strip()
        if line:
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            yield requirement.name, specifier.version


def main():
    wrong = [f"{name} {version(name)} (pinned {pin})" for name, pin in pins()
             if version(name) != pin]
    if wrong:
        sys.exit(f"not at the lowest versions: {', '.join(wrong)}")
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--dry-run",
             "--report", str(report), "-e", f"{ROOT}[test]"], check=True)
        would = json.loads(report.read_text())["install"]
    changed = sorted(f"{item['metadata']['name']} {item['metadata']['version']}"
                     for item in would
                     if item["metadata"]["name"].lower() != "sklenet")
    if changed:
        sys.exit("installing sklenet into the lowest-versions environment "
                 f"would change: {', '.join(changed)}")
    print(f"{len(list(pins()))} packages at their floors; installing sklenet "
          "changes none of them")


if __name__ == "__main__":
    main()
