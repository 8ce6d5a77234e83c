#!/usr/bin/env bash
# edge402 next to the official x402 middleware (@x402/hono as a Worker), in one run:
#
#   benches/side-by-side.sh
#
# Builds edge402's Worker (when build/ is older than the sources) and, unless
# EDGE402_BENCH_VERIFY=0, times edge402's WASM verifyPayment against viem in Node
# (benches/wasm-vs-viem.sh); then benches/side-by-side/bench.mjs starts the local settlement
# stack (stack/), an origin double, an instant facilitator double, a distance in front of the
# stack's facilitator, a do-nothing Worker, and both gateways under `wrangler dev --local`,
# and measures upload size, cold start, and requests/s, p50/p99 and workerd CPU per request
# on every path (see bench.mjs). It prints a table of ratios and writes
# benches/results/side-by-side.json and .svg.
#
# Everything runs on this machine: the load generator, workerd, the stack and the doubles
# share its cores, so the figures are ratios within the run, not capacities.
#
# Environment:
#   EDGE402_BENCH_BUILD        auto (default: build if build/ is older than the sources), always, never
#   EDGE402_BENCH_VERIFY       1 (default) to include verifyPayment vs viem, 0 to skip it
#   EDGE402_BENCH_ROUNDS       interleaved rounds (default 3)
#   EDGE402_BENCH_SECONDS      seconds of each load scenario per round (default 4)
#   EDGE402_BENCH_CONNECTIONS  autocannon connections (default 4)
#   EDGE402_BENCH_PAID, EDGE402_BENCH_PAID_REAL  new payments per round and gateway (150, 30)
#   EDGE402_BENCH_FACILITATOR_MS  one way of the distant facilitator's round trip (default 15)
#   EDGE402_BENCH_COLD_STARTS  fresh starts per Worker for the cold start (default 3)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/benches/side-by-side"
cd "$ROOT"
# shellcheck source=scripts/tools.sh
. scripts/tools.sh

stale_sources() {
    [[ -f build/index.js && -f build/index_bg.wasm ]] || { echo "build/ is missing"; return; }
    local newer
    newer="$(find src crates Cargo.toml Cargo.lock scripts/tools.sh -newer build/index_bg.wasm -print -quit)"
    [[ -z "$newer" ]] || echo "$newer is newer than build/"
}

case "${EDGE402_BENCH_BUILD:-auto}" in
    always) step "building the Worker (EDGE402_BENCH_BUILD=always)"; build_worker ;;
    never) [[ -f build/index_bg.wasm ]] || { echo "build/ is missing; run ./scripts/build-worker" >&2; exit 1; } ;;
    auto)
        stale="$(stale_sources)"
        if [[ -n "$stale" ]]; then
            step "building the Worker ($stale)"
            build_worker
        fi
        ;;
    *) echo "EDGE402_BENCH_BUILD must be auto, always or never" >&2; exit 1 ;;
esac

ensure_node_modules            # wrangler
ensure_node_modules_in "$BENCH" # autocannon, the peer's packages, viem
ensure_node_modules_in stack    # the settlement stack

verify_json=""
if [[ "${EDGE402_BENCH_VERIFY:-1}" != 0 ]]; then
    verify_json="$(mktemp)"
    trap 'rm -f "$verify_json"' EXIT
    step "verifyPayment: edge402's WASM vs viem in Node (benches/wasm-vs-viem.sh)"
    # Its whole output is shown; its last line (JSON) is what bench.mjs reads. Through a
    # file rather than `tee /dev/stderr`, which overwrites a log that stdout and stderr share.
    benches/wasm-vs-viem.sh > "$verify_json"
    cat "$verify_json"
    tail -n 1 "$verify_json" > "$verify_json.last" && mv "$verify_json.last" "$verify_json"
fi

node "$BENCH/bench.mjs" "$ROOT" ${verify_json:+"$verify_json"}
