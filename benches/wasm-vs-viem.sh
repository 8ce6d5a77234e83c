#!/usr/bin/env bash
# Benchmark: edge402's WASM payment verification vs viem's verifyTypedData (the verifier of the
# official x402 TypeScript SDK), on the same 64 signed payloads in one Node process, plus the
# size of the verify-only .wasm after wasm-opt.
#
#   benches/wasm-vs-viem.sh
#
# Environment:
#   EDGE402_TOOLS           where wasm-bindgen lives/is installed (default $HOME/.cache/edge402/tools)
#   EDGE402_WASM_OPT_FLAGS  wasm-opt flags (default -O3)
#   CARGO_TARGET_DIR        honoured as by cargo (default <repo>/target)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/benches/wasm-vs-viem"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="$TARGET/bench/wasm-vs-viem/pkg"
# -O3 rather than -Oz: -Oz saves only ~1% of size and verifies no faster.
# No --all-features: binaryen 132 then emits encodings Node 20 cannot load ("unknown import
# kind 0x7f"); without it wasm-opt keeps to the features in the module's target_features
# section, i.e. exactly those rustc used.
WASM_OPT_FLAGS="${EDGE402_WASM_OPT_FLAGS:--O3}"

step() { printf '==> %s\n' "$*" >&2; }

# wasm-bindgen-cli at the version Cargo.lock pins (installed into $EDGE402_TOOLS if needed).
cd "$ROOT"
. scripts/tools.sh
ensure_wasm_bindgen

step "npm ci (viem, binaryen)"
(cd "$BENCH" && npm ci --silent --no-audit --no-fund)

step "cargo build (wasm32, features js-verify: verifyPayment alone)"
(cd "$ROOT" && cargo build --quiet --release --target wasm32-unknown-unknown --no-default-features --features js-verify)

step "wasm-bindgen --target nodejs"
rm -rf "$OUT"
"$WASM_BINDGEN_BIN" --target nodejs --out-dir "$OUT" "$TARGET/wasm32-unknown-unknown/release/edge402.wasm"

step "wasm-opt $WASM_OPT_FLAGS"
# shellcheck disable=SC2086 # the flags are deliberately word-split
"$BENCH/node_modules/.bin/wasm-opt" $WASM_OPT_FLAGS "$OUT/edge402_bg.wasm" -o "$OUT/edge402_bg.wasm"

step "benchmark"
node "$BENCH/bench.mjs" "$OUT" "$WASM_OPT_FLAGS"
