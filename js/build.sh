#!/usr/bin/env bash
# Builds the npm package into js/dist: the core compiled with the `js` feature, bound for Node
# (CommonJS, with an ESM entry) and for the web (ES module; workerd initialises it
# synchronously from the imported .wasm module, browsers fetch it by URL).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools.sh
ensure_js_build_tools

say "building the core for JavaScript (--features js)"
cargo build --quiet --release --target wasm32-unknown-unknown --no-default-features --features js
wasm="target/wasm32-unknown-unknown/release/edge402.wasm"
dist="js/dist"
rm -rf "$dist"
wasm-bindgen --target nodejs --out-dir "$dist/node" --out-name edge402 "$wasm"
wasm-bindgen --target web --out-dir "$dist/web" --out-name edge402 "$wasm"
for out in "$dist/node" "$dist/web"; do
    node_modules/.bin/wasm-opt -O3 "$out/edge402_bg.wasm" -o "$out/edge402_bg.wasm"
done
# The Node binding is CommonJS inside a "type": "module" package.
echo '{ "type": "commonjs" }' > "$dist/node/package.json"
cp js/src/*.mjs js/src/*.cjs js/src/index.d.ts "$dist/"
say "js/dist ready"
