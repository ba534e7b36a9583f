#!/usr/bin/env bash
# Time the README's install step in a brand-new virtualenv, with pip's cache as it is
# (warm after a first install) and with --no-cache-dir (everything downloaded again).
#   bash benchmarks/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."
for mode in warm cold; do
  venv=$(mktemp -d)/venv
  python3.11 -m venv "$venv"
  flags=""
  [ "$mode" = cold ] && flags="--no-cache-dir"
  start=$(date +%s.%N)
  "$venv/bin/pip" install -q $flags -e . >/dev/null 2>&1
  end=$(date +%s.%N)
  echo "install_${mode}_cache_s: $(echo "$end - $start" | bc)"
  echo "venv_size_mb_${mode}: $(du -sm "$venv" | cut -f1)"
  rm -rf "$(dirname "$venv")"
done
# The editable install above points back here: put this checkout's own install back.
.venv/bin/pip install -q -e ".[test]" >/dev/null 2>&1 || true
