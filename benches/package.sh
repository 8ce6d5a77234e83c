#!/usr/bin/env bash
# Benchmark: the npm package (js/) as shipped, in one run.
#
#   benches/package.sh
#
# 1. Sizes, raw and gzip -9: each build (dist/node and dist/web: .wasm + wasm-bindgen glue),
#    each entry file, and the `npm pack` tarball; viem's verifyTypedData bundled for the
#    browser (esbuild, minified) for scale.
# 2. Median time per call of the package's `verifyPayment` next to viem's `verifyTypedData`
#    (the x402 TypeScript SDK's verifier), in Node (dist/node.mjs) and in a page in headless
#    Chromium (dist/browser.mjs, viem bundled by esbuild from the root node_modules), on the
#    same 64 payloads signed with viem beforehand. In each runtime both run in the same process
#    or page, alternating round by round. The page is served on 127.0.0.1, cross-origin
#    isolated (so performance.now() has 5 us steps, not 100 us), and driven over
#    --remote-debugging-pipe. Payload signing, the agreement check and the timing loop are
#    shared with benches/wasm-vs-viem. The ratio is of the per-call medians; the table also
#    gives the median over rounds of each pass's mean per call, which the page's 5 us clock
#    steps do not quantise but pauses (GC, other load on the machine) do inflate.
# 3. A table, then one JSON line with every figure.
#
# Environment:
#   EDGE402_BENCH_BUILD   always (default: js/build.sh first) or never (use js/dist as it is)
#   EDGE402_BENCH_MS      timed milliseconds per runtime (default 10000, after 5 warm-up rounds)
#   EDGE402_BENCH_ROUNDS  at most this many timed rounds per runtime (default 200)
#   CHROMIUM              the browser (default /usr/bin/chromium)
#   CARGO_TARGET_DIR      honoured as by cargo; the work files go to <target>/bench/package
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

step() { printf '==> %s\n' "$*" >&2; }

case "${EDGE402_BENCH_BUILD:-always}" in
    always) step "building the package (js/build.sh)"; js/build.sh >&2 ;;
    never) [[ -f js/dist/node.mjs && -f js/dist/web/edge402_bg.wasm ]] || { echo "js/dist is not built" >&2; exit 1; } ;;
    *) echo "EDGE402_BENCH_BUILD must be always or never" >&2; exit 2 ;;
esac
# js/build.sh installs the root node_modules when missing; without a build, check for them.
[[ -x node_modules/.bin/esbuild && -d node_modules/viem ]] || { step "npm ci (root)"; npm ci --no-audit --no-fund --loglevel=error; }
command -v "${CHROMIUM:-/usr/bin/chromium}" >/dev/null || { echo "no chromium at ${CHROMIUM:-/usr/bin/chromium}" >&2; exit 1; }

OUT="${CARGO_TARGET_DIR:-$ROOT/target}/bench/package"
rm -rf "$OUT"
mkdir -p "$OUT"
node benches/package/bench.mjs "$OUT"
