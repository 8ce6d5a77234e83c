#!/usr/bin/env bash
# Benchmark: the Worker as deployed and as served, in one run.
#
#   benches/worker-load.sh
#
# 1. Upload size, raw and gzip, from `wrangler deploy --dry-run` (offline), next to the 400 kB
#    gzip budget and to the peer measured the same way: the official x402 TypeScript middleware
#    (@x402/hono 2.27.0, no paywall) protecting one route as a Worker (benches/worker-load/peer).
# 2. Requests per second and p50/p99 latency from autocannon on loopback against
#    `wrangler dev --local`: (a) the 402 path, (b) a paid retry served from its KV receipt after
#    one settlement, (c) a free route passed through to the origin (the baseline the others
#    are divided by), (d) the peer's 402 path under wrangler dev, and (f) the 402 path of a
#    JavaScript Worker with the npm package's Hono middleware (tests/e2e/hono-worker).
#    The origin and the facilitator are test doubles on 127.0.0.1 (benches/worker-load/doubles.mjs).
# 3. A table, then one JSON line with every figure.
#
# Everything runs on one machine: the load generator, workerd and the doubles share its cores,
# so the figures are for comparison within a run, not capacity.
#
# Environment:
#   EDGE402_BENCH_BUILD        auto (default: build unless build/ is newer than the sources),
#                              always, or never
#   EDGE402_BENCH_SECONDS      seconds per scenario (default 10, after a 2 s warm-up)
#   EDGE402_BENCH_ROUNDS       interleaved rounds those seconds are split over (default 2)
#   EDGE402_BENCH_CONNECTIONS  autocannon connections (default 4)
#   EDGE402_BENCH_PEER_LOAD    0 to skip loading the peer (its size is still measured)
#   EDGE402_BENCH_DEV_ARGS     extra `wrangler dev` flags for both Workers, e.g. --log-level=warn
#   EDGE402_BENCH_KEEP         1 to keep the work directory (wrangler dev logs) under $TMPDIR
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/benches/worker-load"
cd "$ROOT"

step() { printf '==> %s\n' "$*" >&2; }

# Anything the Worker is built from that is newer than the built .wasm.
stale_sources() {
    [[ -f build/index.js && -f build/index_bg.wasm ]] || { echo "build/ is missing"; return; }
    find src Cargo.toml Cargo.lock -newer build/index_bg.wasm -print -quit
}

case "${EDGE402_BENCH_BUILD:-auto}" in
    always) step "building the Worker (EDGE402_BENCH_BUILD=always)"; ./scripts/build-worker >&2 ;;
    never) [[ -f build/index_bg.wasm ]] || { echo "build/ is missing; run ./scripts/build-worker" >&2; exit 1; } ;;
    auto)
        stale="$(stale_sources)"
        if [[ -n "$stale" ]]; then
            step "building the Worker ($stale is newer than build/)"
            ./scripts/build-worker >&2
        else
            step "build/ is newer than the sources: not rebuilding"
        fi
        ;;
    *) echo "EDGE402_BENCH_BUILD must be auto, always or never" >&2; exit 1 ;;
esac

# wrangler, from the root package-lock.json (build-worker installs it; a skipped build may not have).
# shellcheck source=scripts/tools.sh
. scripts/tools.sh
ensure_node_modules

# autocannon, the peer's packages and viem, pinned in benches/worker-load/package-lock.json.
ensure_node_modules_in "$BENCH"

# The npm package's middleware Worker (f): the built package and hono (tests/e2e's packages).
[[ -f js/dist/workerd.mjs ]] || js/build.sh >&2
ensure_node_modules_in tests/e2e

exec node "$BENCH/bench.mjs" "$ROOT"
