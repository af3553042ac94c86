#!/usr/bin/env sh
# Builds the plugin into a WebAssembly component: `./build.sh` writes dist/plugin.wasm (or
# the path given as the first argument). The first run makes a virtual environment in
# .venv with the pinned componentize-py (requirements.txt); Python 3.9 or newer runs it.
#
# `--stub-wasi` replaces every WASI import with a stub that traps: the component then
# imports nothing but the contract's `host` interface, which is all the host gives a
# plugin (no files, sockets, clock or randomness).
set -eu
cd "$(dirname "$0")"
out="${1:-dist/plugin.wasm}"
if [ ! -x .venv/bin/componentize-py ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
fi
mkdir -p "$(dirname "$out")"
# Written beside the target and renamed, so a watching host never loads half a file.
.venv/bin/componentize-py -d wit -w {{world}} componentize --stub-wasi -p src plugin -o "$out.tmp"
mv "$out.tmp" "$out"
echo "built $out ($(wc -c < "$out") bytes)"
