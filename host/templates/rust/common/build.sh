#!/usr/bin/env sh
# Builds the plugin into a WebAssembly component: `./build.sh` writes dist/plugin.wasm (or
# the path given as the first argument). Needs Rust 1.85 or newer with the wasm32-wasip2
# target, which this script adds when rustup manages the toolchain.
set -eu
cd "$(dirname "$0")"
out="${1:-dist/plugin.wasm}"
if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2
fi
cargo build --quiet --release --target wasm32-wasip2
mkdir -p "$(dirname "$out")"
# Written beside the target and renamed, so a watching host never loads half a file.
cp "${CARGO_TARGET_DIR:-target}/wasm32-wasip2/release/{{crate}}.wasm" "$out.tmp"
mv "$out.tmp" "$out"
echo "built $out ($(wc -c < "$out") bytes)"
