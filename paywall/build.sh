#!/usr/bin/env bash
# Builds the paywall page's static assets into paywall/dist/__edge402/, which wrangler.toml
# serves as Workers Static Assets (`[assets] directory = "./paywall/dist"`):
#   paywall.js              the page's script (paywall/src/paywall.js with the wasm-bindgen glue,
#                           bundled and minified by esbuild; an ES module)
#   edge402_verify_bg.wasm  the core with feature `js-verify` (`verifyPayment` alone), bound with
#                           wasm-bindgen --target web and shrunk with wasm-opt -Oz
# The page itself is rendered by the Worker (src/gate/paywall.rs). Sizes are printed at the end.
#
# The WASM is the size-tuned verify-only build (build_verify_only in scripts/tools.sh): it
# verifies one payment per page, so the speed of opt-level 3 buys little here.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools.sh
ensure_js_build_tools

say "building the paywall assets (--features js-verify, tuned for size) into paywall/dist/__edge402"
wasm="$(build_verify_only)"
target_dir="target/paywall"
glue="$target_dir/bindgen"
rm -rf "$glue"
wasm-bindgen --target web --no-typescript --out-dir "$glue" --out-name edge402_verify \
    "$wasm"

out="paywall/dist/__edge402"
rm -rf paywall/dist
mkdir -p "$out"
node_modules/.bin/wasm-opt -Oz "$glue/edge402_verify_bg.wasm" -o "$out/edge402_verify_bg.wasm"
node_modules/.bin/esbuild paywall/src/paywall.js --bundle --minify --format=esm --target=es2020 \
    --alias:@edge402/verify="./$glue/edge402_verify.js" --outfile="$out/paywall.js" --log-level=warning

for file in "$out"/*; do
    printf '  %-28s %7d bytes, %6d gzip -9\n' "${file##*/}" "$(wc -c < "$file")" "$(gzip -9c "$file" | wc -c)"
done
