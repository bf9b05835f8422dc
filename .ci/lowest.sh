#!/usr/bin/env bash
# The test suite at the lowest versions sklenet supports: a fresh virtual
# environment holding exactly pyproject.toml's floors
# (.ci/lowest-constraints.txt), then the suite without the slow tests, and
# scikit-learn's estimator checks (slow-marked, but they are what the floor of
# scikit-learn must pass). .ci/run calls it after the newest-versions run.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${SKLENET_LOWEST_VENV:-/tmp/sklenet-lowest-venv}"
start=$(date +%s)
rm -rf "$venv"
python3 -m venv "$venv"
py="$venv/bin/python"
"$py" -m pip install --quiet --upgrade pip
# The lowest stack first, as a user's environment would hold it ...
"$py" -m pip install --quiet -c .ci/lowest-constraints.txt -e ".[test]"
# ... then check that it is the pinned one, and that installing sklenet into
# it (without the constraints) would change none of its packages.
"$py" .ci/check_lowest.py
echo "lowest versions installed in $(( $(date +%s) - start )) s"

"$py" -m pytest -m "not slow"
"$py" -m pytest tests/test_common.py
echo "lowest-versions job: $(( $(date +%s) - start )) s"
