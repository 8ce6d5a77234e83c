// Compiles contracts/*.sol (and the gateway's own SignInCheck.sol) with solc-js (npm solc, pinned in package.json) into
// build/contracts.json: {solcVersion, inputHash, contracts: {Name: {abi, bytecode, deployedBytecode}}}.
//
//   node compile.mjs          compile now (what `npm run setup` does)
//   loadContracts()           from other modules: the cached build, recompiled (in a child
//                             process) when a source, the compiler or the settings changed
//
// No network: solc-js is the compiler itself (WebAssembly), nothing is downloaded.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { createRequire } from "node:module";

const here = path.dirname(fileURLToPath(import.meta.url));
const CONTRACTS_DIR = path.join(here, "contracts");
/** Contracts of the gateway itself, compiled here so that a test can hold its committed
 * bytecode to its source (src/gate/SignInCheck.bin). */
const GATEWAY_CONTRACTS = [path.join(here, "..", "src", "gate", "SignInCheck.sol")];
const BUILD_FILE = path.join(here, "build", "contracts.json");

const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  // Cancun is solc 0.8.26's default target and runs on Hardhat 2.29's default hardfork.
  evmVersion: "cancun",
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
};

/** The compiled contracts, compiling first when build/contracts.json is missing or stale. */
export function loadContracts() {
  const input = standardJsonInput();
  const cached = readBuild();
  if (cached?.inputHash !== input.hash) {
    // In a child process: solc-js's Emscripten runtime installs process-wide handlers
    // (unhandledRejection → throw) that must not leak into the importing program.
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], { stdio: "inherit" });
    if (child.status !== 0) throw new Error(`compiling contracts failed (exit ${child.status})`);
  }
  return readBuild().contracts;
}

function standardJsonInput() {
  const sources = {};
  for (const file of readdirSync(CONTRACTS_DIR).filter((f) => f.endsWith(".sol")).sort()) {
    sources[file] = { content: readFileSync(path.join(CONTRACTS_DIR, file), "utf8") };
  }
  for (const file of GATEWAY_CONTRACTS) {
    sources[path.basename(file)] = { content: readFileSync(file, "utf8") };
  }
  const json = { language: "Solidity", sources, settings: SETTINGS };
  // The compiler version is hashed with the input so that upgrading solc invalidates the cache.
  return { json, hash: sha256(solcPackageVersion() + JSON.stringify(json)) };
}

function compile(input) {
  const solc = createRequire(import.meta.url)("solc");
  const output = JSON.parse(solc.compile(JSON.stringify(input.json)));
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  for (const e of output.errors ?? []) process.stderr.write(`${e.formattedMessage}\n`);
  if (errors.length > 0) throw new Error(`solc: ${errors.length} error(s) compiling contracts/`);

  const contracts = {};
  for (const byName of Object.values(output.contracts)) {
    for (const [name, c] of Object.entries(byName)) {
      contracts[name] = {
        abi: c.abi,
        bytecode: `0x${c.evm.bytecode.object}`,
        deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
      };
    }
  }
  const build = { solcVersion: solc.version(), inputHash: input.hash, contracts };
  mkdirSync(path.dirname(BUILD_FILE), { recursive: true });
  // Write then rename, so a concurrent reader never sees half a file.
  const tmp = `${BUILD_FILE}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(build, null, 1)}\n`);
  renameSync(tmp, BUILD_FILE);
  return build;
}

function readBuild() {
  try {
    return JSON.parse(readFileSync(BUILD_FILE, "utf8"));
  } catch {
    return undefined;
  }
}

function solcPackageVersion() {
  return JSON.parse(readFileSync(path.join(here, "node_modules", "solc", "package.json"), "utf8")).version;
}

function sha256(text) {
  return createHash("sha256").update(text).digest("hex");
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const build = compile(standardJsonInput());
  console.error(
    `compiled ${Object.keys(build.contracts).join(", ")} with solc ${build.solcVersion} ` +
      `in ${Date.now() - started} ms → ${path.relative(process.cwd(), BUILD_FILE)}`,
  );
}
