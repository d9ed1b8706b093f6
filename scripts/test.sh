#!/usr/bin/env bash
# The test command (after set-up): unit tests (the browser check of the built book included; two
# processes, see below), and nbval over the committed executed chapters (notebooks/NN_name.ipynb),
# twice:
#   1. every chapter, on this machine as it is (in two streams over one run folder, see below);
#   2. as another machine would run them: restricted to one core, with ONEDNN_MAX_CPU_ISA=AVX2
#      exported as a user with an AVX2 laptop has it; the chapters in RBDM_NBVAL_OTHER_MACHINE
#      (default 01 02 03 04 05 09 10: the data, the Trainer's training, relevance, gaze, masks, the
#      nuisance study read from its committed results, and the real faces; the
#      long Trainee studies of chapters 06 and 08 and chapter 07, which runs its own
#      1-core-vs-all-cores check, are re-executed in pass 1 only, which keeps `make test` within
#      its time on 2 cores; RBDM_NBVAL_OTHER_MACHINE=all runs every chapter again).
# Pass 2 runs beside the unit tests, pass 1 after them (see "Order" below).
# Both passes run with the portable kernels (rbdm_core.kernel_settings.PORTABLE_KERNELS, which
# cap oneDNN at AVX2 and fix the thread pools), as the references were made, so a reference that
# only matches this machine's core count or instruction set fails in one of them; both compare
# numbers at a stated tolerance (rbdm_core.nbval_plugin). Each re-executes every chapter in the
# `rbdm` kernel in a fresh run folder shared by its chapters.
# RBDM_NBVAL_PASSES=1 runs only the first pass (quicker local checks).
set -euo pipefail
cd "$(dirname "$0")/.."
export MPLBACKEND=Agg TF_CPP_MIN_LOG_LEVEL=2 PYTHONHASHSEED=0
shopt -s nullglob
notebooks=(notebooks/[0-9][0-9]_*.ipynb)
# the portable kernel settings, for nbval's runs only (the unit tests set their own where they need them)
mapfile -t portable < <(.venv/bin/python -c 'from rbdm_core.kernel_settings import PORTABLE_KERNELS
for k, v in PORTABLE_KERNELS.items(): print(f"{k}={v}")')
[ ${#portable[@]} -gt 0 ] || { echo "test: could not read rbdm_core.kernel_settings.PORTABLE_KERNELS" >&2; exit 1; }
run_dir=$(mktemp -d -t rbdm-nbval.XXXXXX)
logs=() names=() pids=()  # the nbval runs started in the background: their logs, names and pids (not yet waited for)

kill_tree() {  # kill_tree PID: the process and everything it started (pytest, its kernels, which run in sessions of their own)
  local status child ppid
  for status in /proc/[0-9]*/status; do
    ppid=$(sed -n 's/^PPid:[[:space:]]*//p' "$status" 2>/dev/null) || continue
    if [ "$ppid" = "$1" ]; then
      child=${status#/proc/}; kill_tree "${child%/status}"
    fi
  done
  kill "$1" 2>/dev/null || true
}
cleanup() {  # on any exit: stop what still runs in the background (a failed unit test ends the run), then the run folder
  local pid
  for pid in "${pids[@]}"; do kill_tree "$pid"; done
  wait 2>/dev/null || true
  rm -rf "$run_dir"
}
trap cleanup EXIT

nbval_pass() {  # nbval_pass NAME FOLDER "NOTEBOOK ..." [COMMAND PREFIX...]: one nbval run over the notebooks
  local name=$1 dir="$run_dir/$2" chosen=($3); shift 3
  mkdir -p "$dir"
  echo "test: nbval over ${#chosen[@]} chapter(s) (${chosen[*]##*/}), pass '$name', run folder $dir"
  # RBDM_FIGURE_MIME=html: figures as in the book (no second, plotly-json rendering);
  # TQDM_DISABLE=1: no progress bars in outputs (the references were made the same way)
  env "${portable[@]}" RBDM_RUN_DIR="$dir" RBDM_CACHE_DIR="$dir/cache" RBDM_FIGURE_MIME=html TQDM_DISABLE=1 \
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

# Order. Everything here is CPU-bound and the machine has 2 cores, so what sets the time is that no
# core idles: pass 2 ("other machine": one core, oneDNN capped at AVX2, a run folder of its own)
# starts first, in the background, and runs beside the unit tests (two processes, pytest-xdist),
# whose last test files would otherwise leave a core idle; then pass 1 ("this machine") runs in
# two streams at once over ONE run folder: the chapters in RBDM_NBVAL_SECOND_STREAM (default
# "10 09 07 08", in that order) beside the others (01-06, in order). A chapter finds in the run
# folder what the other stream already made (the Trainer, relevance, masks, Trainee runs: cached,
# keyed by their parameters) or waits for the folder lock of what the other stream is making
# (`rbdm_core.locks`; the one-line notice this prints is dropped by the nbval plugin), so every
# artifact is made once and the outputs are those of one sequential run. RBDM_NBVAL_STREAMS=1:
# pass 1 in one stream; RBDM_NBVAL_CONCURRENT=0: everything one after the other. Outputs do not
# depend on the load (bitwise, with the portable kernels); only chapter 7's speed ratios do, in
# cells whose output nbval does not compare (nbval-ignore-output). A failed unit test ends the run
# (the background pass is stopped).
other=()
if [ ${#notebooks[@]} -gt 0 ] && [ "${RBDM_NBVAL_PASSES:-2}" -ge 2 ]; then
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
start_pass() {  # start_pass LABEL NBVAL_PASS_ARGS...: one nbval run in the background, its output to a log
  local label=$1; shift
  logs+=("$run_dir/$1.log"); names+=("$label")
  ( nbval_pass "$@" ) > "${logs[-1]}" 2>&1 &
  pids+=($!)
}
if [ "${RBDM_NBVAL_CONCURRENT:-1}" = 1 ] && [ ${#other[@]} -gt 0 ]; then
  start_pass "other machine" other-machine other-machine "${other[*]}" env ONEDNN_MAX_CPU_ISA=AVX2 "${one_core[@]}"
fi

# unit tests in RBDM_TEST_WORKERS processes (default 2; pytest-xdist), a test file per process at a
# time so that a module's fixtures (a built book, the miniature corpora) are made once
workers=${RBDM_TEST_WORKERS:-2}
if [ "$workers" -gt 1 ]; then
  .venv/bin/python -m pytest -q -ra -n "$workers" --dist loadfile tests "$@"
else
  .venv/bin/python -m pytest -q -ra tests "$@"
fi

if [ ${#notebooks[@]} -eq 0 ]; then
  echo "test: no executed chapters in notebooks/ yet; nbval skipped"
  exit 0
fi
status=0
if [ "${RBDM_NBVAL_CONCURRENT:-1}" = 1 ]; then
  if [ ${#second[@]} -gt 0 ]; then
    start_pass "this machine, second stream" this-machine-2 this-machine "${second[*]}"
  fi
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
  pids=()  # all waited for: nothing for cleanup to stop
else
  nbval_pass this-machine this-machine "${notebooks[*]}" || status=$?
  if [ "$status" -eq 0 ] && [ ${#other[@]} -gt 0 ]; then
    nbval_pass other-machine other-machine "${other[*]}" env ONEDNN_MAX_CPU_ISA=AVX2 "${one_core[@]}" || status=$?
  fi
fi
exit "$status"
