#!/usr/bin/env bash
# Benchmark: edge402's WASM payment verification vs viem's verifyTypedData (the verifier of the
# official x402 TypeScript SDK), on the same 64 signed payloads in one Node process, with the
# size of each verify-only .wasm after wasm-opt. Two builds of feature `js-verify`
# (`verifyPayment` alone) are timed side by side with viem:
#   size-tuned  this crate at opt-level "z", as the paywall page ships it (build_verify_only)
#   release     the release profile as it is (this crate at opt-level 3), as js/ builds it
# and, before timing them, prints where the release build's time goes (profile.mjs).
#
#   benches/wasm-vs-viem.sh
#
# Environment:
#   EDGE402_TOOLS           where wasm-bindgen lives/is installed (default $HOME/.cache/edge402/tools)
#   EDGE402_WASM_OPT_FLAGS  wasm-opt flags (default -O3)
#   EDGE402_BENCH_MS        time budget of the timed rounds (default 15000)
#   CARGO_TARGET_DIR        honoured as by cargo for the release build (default <repo>/target)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/benches/wasm-vs-viem"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="$TARGET/bench/wasm-vs-viem"
# -O3 rather than -Oz: -Oz saves only ~1% of size and verifies no faster.
# No --all-features: binaryen 132 then emits encodings Node 20 cannot load ("unknown import
# kind 0x7f"); without it wasm-opt keeps to the features in the module's target_features
# section, i.e. exactly those rustc used.
WASM_OPT_FLAGS="${EDGE402_WASM_OPT_FLAGS:--O3}"

# wasm-bindgen-cli at the version Cargo.lock pins (installed into $EDGE402_TOOLS if needed).
cd "$ROOT"
. scripts/tools.sh
ensure_wasm_bindgen

ensure_node_modules_in "$BENCH"

# Binds one build for Node and runs wasm-opt over it.
bind() {
    local wasm="$1" dir="$2"
    rm -rf "$dir"
    "$WASM_BINDGEN_BIN" --target nodejs --out-dir "$dir" "$wasm"
    # shellcheck disable=SC2086 # the flags are deliberately word-split
    "$BENCH/node_modules/.bin/wasm-opt" $WASM_OPT_FLAGS "$dir/edge402_bg.wasm" -o "$dir/edge402_bg.wasm"
}

step "cargo build: js-verify tuned for size (the paywall's build)"
bind "$(build_verify_only)" "$OUT/size-tuned"

step "cargo build: js-verify with the release profile"
cargo build --quiet --release --target wasm32-unknown-unknown --no-default-features --features js-verify
bind "$TARGET/wasm32-unknown-unknown/release/edge402.wasm" "$OUT/release"

# The release build again, bound without wasm-opt: it keeps its functions' names and each
# function its own time (wasm-opt inlines much of the reading and the scalar arithmetic into
# the exported shim, where no part can be told apart; it changes the time little). Where
# that time goes, by part (profile.mjs); before the benchmark, whose JSON line is last.
step "profile: the release build's time by part, before wasm-opt (V8's sampling profiler)"
rm -rf "$OUT/release-names"
"$WASM_BINDGEN_BIN" --target nodejs --out-dir "$OUT/release-names" "$TARGET/wasm32-unknown-unknown/release/edge402.wasm"
node "$BENCH/profile.mjs" "$OUT/release-names"

step "benchmark (wasm-opt $WASM_OPT_FLAGS)"
node "$BENCH/bench.mjs" "size-tuned=$OUT/size-tuned" "release=$OUT/release"
