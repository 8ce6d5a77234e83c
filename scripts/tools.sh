# Shared set-up for edge402's scripts: installs what a fresh machine lacks, once, and reuses it.
# Sourced by scripts/test (and later scripts/run); not meant to be run on its own.

# Tools built with `cargo install` are slow to build, so they live in a cache outside the
# checkout that later runs (and CI on the same machine) reuse.
EDGE402_TOOLS="${EDGE402_TOOLS:-$HOME/.cache/edge402/tools}"
export PATH="$EDGE402_TOOLS/bin:$HOME/.cargo/bin:$PATH"

say() { printf '\n== %s\n' "$*"; }

# The version of a package as pinned in Cargo.lock.
locked_version() {
    awk -v name="$1" '$0 == "name = \"" name "\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

ensure_wasm_target() {
    rustup target list --installed | grep -qx wasm32-unknown-unknown \
        || rustup target add wasm32-unknown-unknown
}

# A cargo-installed tool at the version Cargo.lock pins for LOCKED_CRATE:
#   ensure_cargo_tool LOCKED_CRATE INSTALL_CRATE BINARY
# (Installed without --locked: the registry mirror here lacks some locked dependencies.)
ensure_cargo_tool() {
    local want have
    want="$(locked_version "$1")"
    have="$("$3" --version 2>/dev/null | awk '{print $NF}')"
    if [ "$have" != "$want" ]; then
        say "installing $2 $want into $EDGE402_TOOLS"
        cargo install --quiet --root "$EDGE402_TOOLS" "$2" --version "$want"
    fi
}

# wasm-bindgen's CLI must match the wasm-bindgen crate version in Cargo.lock exactly.
ensure_wasm_bindgen() {
    ensure_cargo_tool wasm-bindgen wasm-bindgen-cli wasm-bindgen
    export WASM_BINDGEN_BIN="$EDGE402_TOOLS/bin/wasm-bindgen"
}

# worker-build, pinned to the workers-rs version in Cargo.lock.
ensure_worker_build() {
    ensure_cargo_tool worker worker-build worker-build
}

# What the JavaScript builds (js/, paywall/) need: the wasm target, wasm-bindgen, and the npm
# tool chain (wasm-opt, esbuild).
ensure_js_build_tools() {
    ensure_wasm_target
    ensure_wasm_bindgen
    ensure_node_modules
}

# The verify-only WASM tuned for size (feature `js-verify`: `verifyPayment` alone), as the
# paywall page ships it: this crate at opt-level "z" (the per-package levels of Cargo.toml's
# release profile stay), in its own target directory so the other release builds keep their
# profile and cache. Prints the path of the .wasm, before wasm-bindgen and wasm-opt.
build_verify_only() {
    local target_dir="target/verify-only"
    cargo build --quiet --release --target wasm32-unknown-unknown --no-default-features \
        --features js-verify --config 'profile.release.package.edge402.opt-level="z"' \
        --target-dir "$target_dir" >&2
    echo "$target_dir/wasm32-unknown-unknown/release/edge402.wasm"
}

# The npm tool chain of package-lock.json (wrangler, binaryen's wasm-opt, esbuild, viem).
ensure_node_modules() {
    if [ ! -x node_modules/.bin/wrangler ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
        say "installing npm packages (package-lock.json)"
        npm ci --no-audit --no-fund --loglevel=error
    fi
}

# Builds the Worker once into build/ and the paywall page's assets into paywall/dist/
# (wrangler.toml has no [build] section, so wrangler never runs cargo itself). worker-build
# would download wasm-bindgen, wasm-opt and esbuild; the *_BIN variables point it at the
# pinned local ones instead.
build_worker() {
    ensure_js_build_tools
    ensure_worker_build
    say "building the Worker (worker-build --release)"
    WASM_OPT_BIN="$PWD/node_modules/.bin/wasm-opt" \
    ESBUILD_BIN="$PWD/node_modules/.bin/esbuild" \
        worker-build --release
    # The paywall page's script and WASM, served as static assets beside the Worker.
    paywall/build.sh
}

# The npm packages of a sub-project with its own package-lock.json (stack/, tests/e2e/).
ensure_node_modules_in() {
    local dir="$1"
    if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
        say "installing npm packages in $dir"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
}

# Debian's Chromium and ChromeDriver, for the browser tests (a browser build of their own
# cannot be downloaded here).
ensure_chromium() {
    if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
        say "installing chromium and chromium-driver (apt)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
    fi
    export CHROMEDRIVER="$(command -v chromedriver)" CHROMIUM="$(command -v chromium)"
}
