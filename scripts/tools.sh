# shellcheck shell=bash
# Shared set-up for edge402's scripts: installs what a fresh machine lacks, once, and reuses it.
# Sourced by scripts/test, scripts/run and the build scripts; not meant to be run on its own.
# Every install step either succeeds or stops the script with a message that says what failed
# and what to do (`die`); scripts/check-setup runs these functions against an empty cache with
# stand-ins for the slow installers.

# Tools built with `cargo install` are slow to build, so they live in a cache outside the
# checkout that later runs (and CI on the same machine) reuse.
EDGE402_TOOLS="${EDGE402_TOOLS:-$HOME/.cache/edge402/tools}"
export PATH="$EDGE402_TOOLS/bin:$HOME/.cargo/bin:$PATH"

# How long the slow first-time steps take on a 2-core machine (measured; see README.md).
readonly BUILD_MINUTES_WASM_BINDGEN=4
readonly BUILD_MINUTES_WORKER_BUILD=4
readonly BUILD_MINUTES_CARGO_FUZZ=2
# cargo-fuzz is no dependency of the crate, so Cargo.lock does not pin it: this does.
readonly CARGO_FUZZ_VERSION=0.13.2
# This crate compiled for size, in place of Cargo.toml's release level (a cargo --config):
# the Worker's build and the paywall's verify-only build.
readonly SIZE_TUNED='profile.release.package.edge402.opt-level="z"'

say() { printf '\n== %s\n' "$*"; }
note() { printf '   %s\n' "$*"; }

# Stops the script: what failed, then what to do about it.
die() {
    printf '\nerror: %s\n' "$1" >&2
    [ -n "${2:-}" ] && printf '  what to do: %s\n' "$2" >&2
    exit 1
}

# `step NAME`: a heading, and the time the previous step took (summarised by `steps_summary`).
_step_name="" _step_started=0 _steps_done=""
step() {
    _step_close
    _step_name="$*" _step_started=$SECONDS
    say "$*"
}
_step_close() {
    [ -n "$_step_name" ] || return 0
    _steps_done+="$(printf '%5ds  %s' $((SECONDS - _step_started)) "$_step_name")"$'\n'
    _step_name=""
}
steps_summary() {
    _step_close
    say "time per step (${SECONDS} s in all)"
    printf '%s' "$_steps_done"
}

# The version of a package as pinned in Cargo.lock.
locked_version() {
    local version
    version="$(awk -v name="$1" '$0 == "name = \"" name "\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
    [ -n "$version" ] || die "Cargo.lock pins no version of $1" "run the script from a complete checkout of edge402"
    printf '%s\n' "$version"
}

# The version a tool reports (last word of `TOOL --version`), or nothing if it is not installed.
installed_version() {
    command -v "$1" >/dev/null 2>&1 || return 0
    { "$1" --version 2>/dev/null || true; } | awk 'NR == 1 { print $NF }'
}

# Node.js and npm, which every JavaScript step needs (the README asks for Node.js ≥ 20).
ensure_node() {
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        die "node and npm are not on PATH" "install Node.js 20 or newer (it brings npm)"
    fi
    local major
    major="$(node -p 'process.versions.node.split(".")[0]')"
    [ "$major" -ge 20 ] || die "Node.js $(node --version) is too old" "install Node.js 20 or newer"
}

ensure_wasm_target() {
    command -v rustup >/dev/null 2>&1 \
        || die "rustup is not on PATH" "install the Rust tool chain with rustup (https://rustup.rs), then open a new shell"
    if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        note "adding the wasm32-unknown-unknown target (rustup, about half a minute)"
        rustup target add wasm32-unknown-unknown \
            || die "rustup could not add the wasm32-unknown-unknown target" \
                "check that rustup can reach its download server, then run: rustup target add wasm32-unknown-unknown"
    fi
}

# A cargo-installed tool at a version (for the build tools, the one Cargo.lock pins):
#   ensure_cargo_tool VERSION INSTALL_CRATE BINARY MINUTES
# (Installed without --locked: the registry mirror here lacks some locked dependencies.)
# The build is shown as a running count of compiled crates; its whole output is kept in
# $EDGE402_TOOLS/logs/ and its end printed if it fails.
ensure_cargo_tool() {
    local want="$1" have log
    have="$(installed_version "$3")"
    [ "$have" = "$want" ] && return 0
    command -v cargo >/dev/null 2>&1 || die "cargo is not on PATH" "install the Rust tool chain with rustup"
    if [ -n "$have" ]; then
        note "$3 $have is installed but Cargo.lock pins $want"
    fi
    say "building $2 $want once into $EDGE402_TOOLS (about $4 min on 2 cores; later runs reuse it)"
    mkdir -p "$EDGE402_TOOLS/logs" || die "cannot create $EDGE402_TOOLS" "point EDGE402_TOOLS at a writable folder"
    log="$EDGE402_TOOLS/logs/$2-$want.log"
    if ! cargo install --root "$EDGE402_TOOLS" "$2" --version "$want" 2>&1 | tee "$log" | count_compiled; then
        tail -n 20 "$log" >&2
        die "cargo install $2 $want failed (whole output: $log)" \
            "check that cargo can reach crates.io and that a C compiler is installed, then run the script again"
    fi
    [ "$(installed_version "$3")" = "$want" ] \
        || die "cargo installed $2, but $EDGE402_TOOLS/bin/$3 does not report version $want" \
            "remove $EDGE402_TOOLS and run the script again"
}

# Reads cargo's output and prints a line every 25 compiled crates, so a long build shows progress.
count_compiled() {
    awk '/^ *Compiling / { n++; if (n % 25 == 0) { printf "   … %d crates compiled\n", n; fflush() } }
         /^error/ { print; fflush() }
         END { if (n) printf "   %d crates compiled\n", n }'
}

# wasm-bindgen's CLI must match the wasm-bindgen crate version in Cargo.lock exactly.
ensure_wasm_bindgen() {
    ensure_cargo_tool "$(locked_version wasm-bindgen)" wasm-bindgen-cli wasm-bindgen "$BUILD_MINUTES_WASM_BINDGEN"
    export WASM_BINDGEN_BIN="$EDGE402_TOOLS/bin/wasm-bindgen"
}

# worker-build, pinned to the workers-rs version in Cargo.lock.
ensure_worker_build() {
    ensure_cargo_tool "$(locked_version worker)" worker-build worker-build "$BUILD_MINUTES_WORKER_BUILD"
}

# cargo-fuzz, for the bounded fuzzing runs of scripts/fuzz.
ensure_cargo_fuzz() {
    ensure_cargo_tool "$CARGO_FUZZ_VERSION" cargo-fuzz cargo-fuzz "$BUILD_MINUTES_CARGO_FUZZ"
}

# What the JavaScript builds (js/, paywall/) need: the wasm target, wasm-bindgen, and the npm
# tool chain (wasm-opt, esbuild).
ensure_js_build_tools() {
    ensure_wasm_target
    ensure_wasm_bindgen
    ensure_node_modules
}

# The verify-only WASM tuned for size (feature `js-verify`: `verifyPayment` alone), as the
# paywall page ships it: this crate and its signature recovery (edge402-ecrecover) at
# opt-level "z" (the other per-package levels of Cargo.toml's release profile stay), in its
# own target directory so the other release builds keep their profile and cache. Prints the
# path of the .wasm, before wasm-bindgen and wasm-opt.
build_verify_only() {
    local target_dir="target/verify-only"
    cargo build --quiet --release --target wasm32-unknown-unknown --no-default-features \
        --features js-verify --config "$SIZE_TUNED" \
        --config 'profile.release.package.edge402-ecrecover.opt-level="z"' \
        --target-dir "$target_dir" >&2
    echo "$target_dir/wasm32-unknown-unknown/release/edge402.wasm"
}

# The npm packages of the repository root (wrangler, binaryen's wasm-opt, esbuild, viem).
ensure_node_modules() {
    ensure_node_modules_in .
}

# The npm packages of a folder with its own package-lock.json (., stack/, tests/e2e/, …),
# installed with `npm ci` when they are missing or older than the lock file.
ensure_node_modules_in() {
    local dir="$1"
    [ -f "$dir/package-lock.json" ] || die "$dir/package-lock.json is missing" "run the script from a complete checkout of edge402"
    if [ -f "$dir/node_modules/.package-lock.json" ] && ! [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
        return 0
    fi
    ensure_node
    note "installing the npm packages of $dir/package-lock.json (npm ci, under a minute)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) \
        || die "npm ci failed in $dir" \
            "check that npm can reach its registry (npm config get registry), then run the script again"
}

# Debian packages, installed with apt-get as root (or through sudo) when a command is missing:
#   ensure_apt_packages COMMAND PACKAGE [PACKAGE…]
ensure_apt_packages() {
    local command="$1"
    shift
    command -v "$command" >/dev/null 2>&1 && return 0
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 \
            || die "$command is missing and installing it needs root" "run: apt-get install -y $*  (as root), then run the script again"
        sudo=(sudo)
    fi
    command -v apt-get >/dev/null 2>&1 \
        || die "$command is missing and this machine has no apt-get" "install $* with your system's package manager"
    note "installing $* (apt-get, a minute or two)"
    "${sudo[@]}" apt-get update -qq \
        || die "apt-get update failed" "check that apt can reach its package mirror, then run the script again"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$@" >/dev/null \
        || die "apt-get install $* failed" "run: apt-get install -y $*  and read its message"
    command -v "$command" >/dev/null 2>&1 || die "apt-get installed $*, but $command is still not on PATH" "check the packages' contents"
}

# Debian's Chromium and ChromeDriver, for the browser tests (a browser build of their own
# cannot be downloaded here).
ensure_chromium() {
    ensure_apt_packages chromium chromium chromium-driver
    ensure_apt_packages chromedriver chromium-driver
    CHROMEDRIVER="$(command -v chromedriver)"
    CHROMIUM="$(command -v chromium)"
    export CHROMEDRIVER CHROMIUM
}

# What a first run will install, said before it starts: one line per missing piece, with how
# long it takes. `plan_setup test` also counts what only the tests need.
plan_setup() {
    local plan=() what="${1:-run}"
    rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
        || plan+=("the wasm32-unknown-unknown target (rustup, ~30 s)")
    [ "$(installed_version wasm-bindgen)" = "$(locked_version wasm-bindgen)" ] \
        || plan+=("wasm-bindgen-cli $(locked_version wasm-bindgen), built once (~$BUILD_MINUTES_WASM_BINDGEN min)")
    [ "$(installed_version worker-build)" = "$(locked_version worker)" ] \
        || plan+=("worker-build $(locked_version worker), built once (~$BUILD_MINUTES_WORKER_BUILD min)")
    local dirs=(. stack)
    [ "$what" = test ] && dirs+=(tests/e2e tests/mcp tests/paywall)
    local dir
    for dir in "${dirs[@]}"; do
        [ -f "$dir/node_modules/.package-lock.json" ] || plan+=("the npm packages of $dir (npm ci, under a minute)")
    done
    if [ "$what" = test ]; then
        [ "$(installed_version cargo-fuzz)" = "$CARGO_FUZZ_VERSION" ] \
            || plan+=("cargo-fuzz $CARGO_FUZZ_VERSION, built once (~$BUILD_MINUTES_CARGO_FUZZ min)")
        command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 \
            || plan+=("Chromium and ChromeDriver (apt, 1-2 min)")
        command -v shellcheck >/dev/null 2>&1 || plan+=("shellcheck (apt, under a minute)")
    fi
    [ "${#plan[@]}" -gt 0 ] || return 0
    say "first run on this machine: installing what is missing (reused by later runs)"
    local item
    for item in "${plan[@]}"; do note "- $item"; done
    note "tools built with cargo go to $EDGE402_TOOLS"
}

# Builds the Worker once into build/ and the paywall page's assets into paywall/dist/
# (wrangler.toml has no [build] section, so wrangler never runs cargo itself), with a plain
# entry (plain_entry) and without its name section (strip_names). worker-build would
# download wasm-bindgen, wasm-opt and esbuild; the *_BIN variables point it at the pinned
# local ones instead.
build_worker() {
    ensure_js_build_tools
    ensure_worker_build
    say "building the Worker (worker-build --release)"
    # This crate for size (Cargo.toml's release profile keeps it at 3 for the npm package and
    # the benchmarks, and signature recovery, crates/ecrecover, at 3 here too).
    NO_MINIFY=1 \
    WASM_OPT_BIN="$PWD/node_modules/.bin/wasm-opt" \
    ESBUILD_BIN="$PWD/node_modules/.bin/esbuild" \
        worker-build --release -- --config "$SIZE_TUNED" \
        || die "worker-build failed" "read the compiler's message above"
    plain_entry build/index.js
    strip_names build/index_bg.wasm
    # The paywall page's script and WASM, served as static assets beside the Worker.
    paywall/build.sh
    say "building the example Worker (examples/paid-api: an axum app priced with edge402's Rust API)"
    (cd examples/paid-api &&
        WASM_OPT_BIN="$OLDPWD/node_modules/.bin/wasm-opt" \
        ESBUILD_BIN="$OLDPWD/node_modules/.bin/esbuild" \
            worker-build --release) || die "worker-build of examples/paid-api failed" "read the compiler's message above"
    strip_names examples/paid-api/build/index_bg.wasm
}

# Makes the default export of worker-build's module (left unminified, NO_MINIFY) a plain
# module-worker object, then minifies the module with esbuild. worker-build exports a
# `WorkerEntrypoint` class behind a Proxy that, on every request, constructs the class and
# wraps the instance and its `fetch` in new Proxies, so that a Worker whose WASM trapped is
# made anew first; on a 402 that was about a tenth of workerd's busy time (README.md,
# Benchmarks). The object keeps that recovery (the shim's `checkReinitialize` before the
# call, its `handleMaybeCritical` on a throw) and passes `env` and `ctx` as the class did;
# the class and its `fetch` are dropped, the Durable Object classes keep their Proxies.
# Fails if the module is not what this expects (worker-build is pinned by Cargo.lock's
# `worker`). tests/worker/entry.test.js runs it on a stand-in and the built Worker.
plain_entry() {
    node --input-type=module - "$1" <<'JS' || die "could not rewrite the entry of $1" "read the error above; if worker-build's module changed, compare it with plain_entry in scripts/tools.sh"
import { readFileSync, writeFileSync } from "node:fs";
import { transformSync } from "esbuild";
const file = process.argv[2];
const text = readFileSync(file, "utf8");
const once = (part) => {
  if (text.split(part).length !== 2) throw new Error(`not found once in ${file}: ${part}`);
  return part;
};
// What the entry calls must be there under these names (esbuild renames on collisions).
once("function checkReinitialize() {");
once("function handleMaybeCritical(e) {");
once("function fetch(");
if ((text.match(/Entrypoint\.prototype\./g) ?? []).length !== 1) throw new Error("the entry has handlers other than fetch");
const dropped = [
  "var Entrypoint = class extends WorkerEntrypoint {\n};\n",
  "Entrypoint.prototype.fetch = function fetch2(arg) {\n  return fetch.call(this, arg, this.env, this.ctx);\n};\n",
].map(once);
const exported = once("var shim_default = new Proxy(Entrypoint, classProxyHooks);");
// `fetch` here is wasm-bindgen's export (the bundle's own function of that name).
const plain = `var shim_default = {
  fetch(request, env, ctx) {
    checkReinitialize();
    try {
      return fetch(request, env, ctx);
    } catch (e) {
      handleMaybeCritical(e);
      throw e;
    }
  }
};`;
const rewritten = dropped.reduce((t, part) => t.replace(part, ""), text).replace(exported, plain);
writeFileSync(file, transformSync(rewritten, { minify: true, format: "esm" }).code);
JS
}

# Drops a built Worker's name section (every function's Rust name: a tenth of the module,
# which worker-build keeps by passing --debuginfo to its wasm-opt run). Nothing is
# optimised again; a panic's message still reaches the log, its stack names wasm-function[N].
# The features are those worker-build enables.
strip_names() {
    local wasm="$1"
    "$PWD/node_modules/.bin/wasm-opt" "$wasm" -o "$wasm" --strip-debug \
        --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
        --enable-bulk-memory --enable-multivalue --enable-reference-types \
        --enable-exception-handling || die "wasm-opt could not strip $wasm" "read its message above"
}
