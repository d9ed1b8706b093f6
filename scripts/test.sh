#!/usr/bin/env bash
# The test command (after set-up): unit tests, then nbval over the committed executed chapters.
set -euo pipefail
cd "$(dirname "$0")/.."
export MPLBACKEND=Agg TF_CPP_MIN_LOG_LEVEL=2 PYTHONHASHSEED=0
.venv/bin/python -m pytest -q -ra tests "$@"
