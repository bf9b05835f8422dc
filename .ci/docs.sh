#!/usr/bin/env bash
# Build the documentation with the gallery examples executed; any Sphinx
# warning (a broken reference, a docstring numpydoc cannot parse, an example
# that fails or runs over its time limit) fails the build.
# Needs the docs extra: python3 -m pip install -e ".[docs]" (.ci/run does it).
set -euo pipefail
cd "$(dirname "$0")/.."

export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=3 MPLBACKEND=Agg

rm -rf docs/_build docs/generated docs/auto_examples
start=$(date +%s)
python3 -m sphinx -W --keep-going -b html docs docs/_build/html
echo "docs built in $(( $(date +%s) - start )) s: docs/_build/html/index.html"
