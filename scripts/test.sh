#!/usr/bin/env bash
# The test command (after set-up): unit tests (the browser check of the built book included; two
# processes, see below), then
# nbval over the committed executed chapters (notebooks/NN_name.ipynb), twice:
#   1. every chapter, on this machine as it is (in two streams over one run folder, see below);
#   2. as another machine would run them: restricted to one core, with ONEDNN_MAX_CPU_ISA=AVX2
#      exported as a user with an AVX2 laptop has it; the chapters in RBDM_NBVAL_OTHER_MACHINE
#      (default 01 02 03 04 05 09 10: the data, the Trainer's training, relevance, gaze, masks, the
#      nuisance study read from its committed results, and the real faces; the
#      long Trainee studies of chapters 06 and 08 and chapter 07, which runs its own
#      1-core-vs-all-cores check, are re-executed in pass 1 only, which keeps `make test` within
#      40 minutes on 2 cores; RBDM_NBVAL_OTHER_MACHINE=all runs every chapter again).
# Both passes run with the portable kernels (rbdm_core.kernel_settings.PORTABLE_KERNELS, which
# cap oneDNN at AVX2 and fix the thread pools), as the references were made, so a reference that
# only matches this machine's core count or instruction set fails in one of them; both compare
# numbers at a stated tolerance (rbdm_core.nbval_plugin). Each re-executes every chapter in the
# `rbdm` kernel in a fresh run folder shared by its chapters.
# RBDM_NBVAL_PASSES=1 runs only the first pass (quicker local checks).
set -euo pipefail
cd "$(dirname "$0")/.."
export MPLBACKEND=Agg TF_CPP_MIN_LOG_LEVEL=2 PYTHONHASHSEED=0
# unit tests in RBDM_TEST_WORKERS processes (default 2; pytest-xdist), a test file per process at a
# time so that a module's fixtures (a built book, the miniature corpora) are made once
workers=${RBDM_TEST_WORKERS:-2}
if [ "$workers" -gt 1 ]; then
  .venv/bin/python -m pytest -q -ra -n "$workers" --dist loadfile tests "$@"
else
  .venv/bin/python -m pytest -q -ra tests "$@"
fi

shopt -s nullglob
notebooks=(notebooks/[0-9][0-9]_*.ipynb)
if [ ${#notebooks[@]} -eq 0 ]; then
  echo "test: no executed chapters in notebooks/ yet; nbval skipped"
  exit 0
fi
eval "$(.venv/bin/python -c 'import shlex
from rbdm_core.kernel_settings import PORTABLE_KERNELS
for k, v in PORTABLE_KERNELS.items(): print(f"export {k}={shlex.quote(v)}")')"
run_dir=$(mktemp -d -t rbdm-nbval.XXXXXX)
trap 'rm -rf "$run_dir"' EXIT

nbval_pass() {  # nbval_pass NAME FOLDER "NOTEBOOK ..." [COMMAND PREFIX...]: one nbval run over the notebooks
  local name=$1 dir="$run_dir/$2" chosen=($3); shift 3
  mkdir -p "$dir"
  echo "test: nbval over ${#chosen[@]} chapter(s) (${chosen[*]##*/}), pass '$name', run folder $dir"
  # RBDM_FIGURE_MIME=html: figures as in the book (no second, plotly-json rendering);
  # TQDM_DISABLE=1: no progress bars in outputs (the references were made the same way)
  RBDM_RUN_DIR="$dir" RBDM_CACHE_DIR="$dir/cache" RBDM_FIGURE_MIME=html TQDM_DISABLE=1 \
    "$@" .venv/bin/python -m pytest -q -ra -p no:cacheprovider -p rbdm_core.nbval_plugin --nbval "${chosen[@]}" \
    --nbval-kernel-name rbdm --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout 900
}

pick() {  # pick "NN ..." [exclude]: the notebooks of these chapter numbers in that order, or all the others in theirs
  local nums=" $1 " mode=${2:-include} out=() nb num
  if [ "$mode" = include ]; then
    for num in $1; do
      for nb in "${notebooks[@]}"; do
        [ "$(basename "$nb" | cut -c1-2)" = "$num" ] && out+=("$nb")
      done
    done
  else
    for nb in "${notebooks[@]}"; do
      num=$(basename "$nb" | cut -c1-2)
      case "$nums" in *" $num "*) ;; *) out+=("$nb") ;; esac
    done
  fi
  echo "${out[*]}"
}

# Pass 1 ("this machine") runs in two streams at once over ONE run folder: the chapters in
# RBDM_NBVAL_SECOND_STREAM (default "10 09 07 08", in that order) beside the others (01-06, in order).
# A chapter finds in the run folder what the other stream already made (the Trainer, relevance,
# masks, Trainee runs: cached, keyed by their parameters) or waits for the folder lock of what the
# other stream is making (`rbdm_core.locks`; the one-line notice this prints is dropped by the
# nbval plugin), so every artifact is made once and the outputs are those of one sequential run.
# Pass 2 ("other machine": one core, oneDNN capped at AVX2) runs at the same time in a run folder of
# its own. One chain of chapters (small networks) keeps about one core busy; three are meant to keep
# both cores busy (not yet timed in a full run). RBDM_NBVAL_STREAMS=1: pass 1 in one stream;
# RBDM_NBVAL_CONCURRENT=0: everything one after the other. Outputs do not depend on the load
# (bitwise, with the portable kernels); only chapter 7's speed ratios do, in cells whose output nbval
# does not compare (nbval-ignore-output).
other=()
if [ "${RBDM_NBVAL_PASSES:-2}" -ge 2 ]; then
  case " ${RBDM_NBVAL_OTHER_MACHINE:-01 02 03 04 05 09 10} " in
    " all ") other=("${notebooks[@]}") ;;
    *) read -r -a other <<< "$(pick "${RBDM_NBVAL_OTHER_MACHINE:-01 02 03 04 05 09 10}")" ;;
  esac
fi
second=()
first=("${notebooks[@]}")
if [ "${RBDM_NBVAL_STREAMS:-2}" -ge 2 ] && [ "${RBDM_NBVAL_CONCURRENT:-1}" = 1 ]; then
  read -r -a second <<< "$(pick "${RBDM_NBVAL_SECOND_STREAM:-10 09 07 08}")"
  read -r -a first <<< "$(pick "${RBDM_NBVAL_SECOND_STREAM:-10 09 07 08}" exclude)"
  if [ ${#first[@]} -eq 0 ] || [ ${#second[@]} -eq 0 ]; then  # one stream would be empty: pass 1 in one
    first=("${notebooks[@]}") second=()
  fi
fi
# one core (Python's sched_setaffinity, inherited by the kernels) and AVX2: another machine
one_core=(.venv/bin/python -c 'import os, sys; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); os.execvp(sys.argv[1], sys.argv[1:])')
if [ "${RBDM_NBVAL_CONCURRENT:-1}" = 1 ]; then
  pids=() logs=() names=()
  if [ ${#second[@]} -gt 0 ]; then
    logs+=("$run_dir/this-machine-2.log"); names+=("this machine, second stream")
    ( nbval_pass this-machine-2 this-machine "${second[*]}" ) > "${logs[-1]}" 2>&1 &
    pids+=($!)
  fi
  if [ ${#other[@]} -gt 0 ]; then
    logs+=("$run_dir/other-machine.log"); names+=("other machine")
    ( ONEDNN_MAX_CPU_ISA=AVX2 nbval_pass other-machine other-machine "${other[*]}" "${one_core[@]}" ) > "${logs[-1]}" 2>&1 &
    pids+=($!)
  fi
  status=0
  nbval_pass this-machine this-machine "${first[*]}" || { status=$?; echo "test: nbval failed: this machine (exit $status)"; }
  for i in "${!pids[@]}"; do
    code=0
    wait "${pids[$i]}" || code=$?
    cat "${logs[$i]}"
    if [ "$code" -ne 0 ]; then
      echo "test: nbval failed: ${names[$i]} (exit $code)"
      status=1
    fi
  done
  exit "$status"
else
  nbval_pass this-machine this-machine "${notebooks[*]}"
  if [ ${#other[@]} -gt 0 ]; then
    ONEDNN_MAX_CPU_ISA=AVX2 nbval_pass other-machine other-machine "${other[*]}" "${one_core[@]}"
  fi
fi
