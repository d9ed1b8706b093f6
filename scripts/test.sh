#!/usr/bin/env bash
# The test command (after set-up): unit tests (the browser check of the built book included), then
# nbval over the committed executed chapters (notebooks/NN_name.ipynb): each is re-executed in the
# `rbdm` kernel and its outputs compared with the committed ones, after tests/nbval_sanitize.cfg.
# All chapters share one fresh run folder, so later chapters reuse earlier chapters' artifacts.
set -euo pipefail
cd "$(dirname "$0")/.."
export MPLBACKEND=Agg TF_CPP_MIN_LOG_LEVEL=2 PYTHONHASHSEED=0
.venv/bin/python -m pytest -q -ra tests "$@"

shopt -s nullglob
notebooks=(notebooks/[0-9][0-9]_*.ipynb)
if [ ${#notebooks[@]} -eq 0 ]; then
  echo "test: no executed chapters in notebooks/ yet; nbval skipped"
  exit 0
fi
run_dir=$(mktemp -d -t rbdm-nbval.XXXXXX)
trap 'rm -rf "$run_dir"' EXIT
echo "test: nbval over ${#notebooks[@]} chapter(s), run folder $run_dir"
# RBDM_FIGURE_MIME=html: figures as in the book (no second, plotly-json rendering);
# TQDM_DISABLE=1: no progress bars in outputs (the references were made the same way)
RBDM_RUN_DIR="$run_dir" RBDM_CACHE_DIR="$run_dir/cache" RBDM_FIGURE_MIME=html TQDM_DISABLE=1 \
  .venv/bin/python -m pytest -q -ra -p no:cacheprovider --nbval "${notebooks[@]}" \
  --nbval-kernel-name rbdm --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout 900
