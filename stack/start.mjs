#!/usr/bin/env node
// Starts edge402's local settlement stack and keeps it running until SIGINT/SIGTERM:
//   1. `hardhat node` (chain id 84532) on 127.0.0.1, Hardhat's funded default accounts;
//   2. Multicall3Lite at Multicall3's address, TestUSDC deployed, 1000 USDC to buyers #1-#3;
//   3. the reference x402 facilitator (v2 eip155:84532, v1 base-sepolia) on 127.0.0.1.
// When ready it prints one JSON line on stdout (and writes it to --out); logs go to stderr.
// Then it reads commands on stdin, one per line: `facilitator stop` closes the facilitator's
// port (connections are refused), `facilitator start` opens it again on the same port.
// See README.md in this directory for the interface.
import { rmSync, renameSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { loadContracts } from "./compile.mjs";
import { BUYER_INDEXES, FACILITATOR_INDEX, PAY_TO_INDEX, testAccount } from "./lib/accounts.mjs";
import { MULTICALL3_ADDRESS, deployFixtures, startChain } from "./lib/chain.mjs";
import { startFacilitator } from "./lib/facilitator.mjs";

/** The chain id hardhat.config.cjs sets, and the v1 network name the reference SDKs give it. */
const EXPECTED_CHAIN_ID = 84532;
const V1_NETWORK = "base-sepolia";

const USAGE = `usage: node start.mjs [options]

  --chain-port N        hardhat node's port (env EDGE402_CHAIN_PORT, default 8545; 0 = any free port)
  --facilitator-port N  the facilitator's port (env EDGE402_FACILITATOR_PORT, default 4022; 0 = any free port)
  --out FILE            also write the ready JSON line to FILE (env EDGE402_STACK_FILE); removed on stop
  --chain-log FILE      append hardhat node's output to FILE (env EDGE402_CHAIN_LOG); default: discarded
  --quiet               no facilitator request log on stderr
  --help
`;

const started = Date.now();
const options = parseOptions();
const cleanups = []; // run in reverse order on stop
let stopping = false;

process.on("SIGINT", () => stop(0, "SIGINT"));
process.on("SIGTERM", () => stop(0, "SIGTERM"));

try {
  await main();
} catch (error) {
  note(`start-up failed: ${error?.stack ?? error}`);
  await stop(1);
}

async function main() {
  const chainPromise = startChain({ port: options.chainPort, logFile: options.chainLog });
  // Cached in build/ after the first run (compiling takes about 5 s).
  const contracts = loadContracts();
  const chain = await chainPromise;
  cleanups.push(() => chain.stop());
  chain.exited.then(({ code, signal }) => {
    // Ctrl-C in a terminal signals the whole process group: hardhat may see it first.
    const interrupted = signal === "SIGINT" || signal === "SIGTERM";
    if (!stopping) stop(interrupted ? 0 : 1, `hardhat node exited (${signal ?? `code ${code}`})`);
  });
  if (chain.chainId !== EXPECTED_CHAIN_ID) {
    throw new Error(`chain id is ${chain.chainId}, expected ${EXPECTED_CHAIN_ID} (hardhat.config.cjs)`);
  }

  const { token } = await deployFixtures({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, contracts });
  const facilitatorAccount = testAccount(FACILITATOR_INDEX).account;
  const facilitatorOptions = {
    rpcUrl: chain.rpcUrl,
    chainId: chain.chainId,
    v1Network: V1_NETWORK,
    account: facilitatorAccount,
    port: options.facilitatorPort,
    log: options.quiet ? () => {} : (line) => process.stderr.write(`[facilitator] ${line}\n`),
  };
  let facilitator = await startFacilitator(facilitatorOptions);
  // Restarted on the same port, so that clients configured with its URL reach it again.
  facilitatorOptions.port = Number(new URL(facilitator.url).port);
  cleanups.push(() => facilitator?.close());

  const ready = {
    rpcUrl: chain.rpcUrl,
    chainId: chain.chainId,
    token,
    facilitatorUrl: facilitator.url,
    payTo: testAccount(PAY_TO_INDEX).address,
    buyers: BUYER_INDEXES.map((i) => {
      const { address, privateKey } = testAccount(i);
      return { address, privateKey };
    }),
    // Everything a client or server needs besides the above.
    network: `eip155:${chain.chainId}`,
    networkV1: V1_NETWORK,
    eip712: { name: "USDC", version: "2" },
    decimals: 6,
    facilitatorSigner: facilitatorAccount.address,
    multicall3: MULTICALL3_ADDRESS,
    pid: process.pid,
  };
  const line = JSON.stringify(ready);
  if (options.out) {
    writeFileAtomically(options.out, `${line}\n`);
    cleanups.push(() => rmSync(options.out, { force: true }));
  }
  process.stdout.write(`${line}\n`);
  note(`ready in ${Date.now() - started} ms: chain ${chain.rpcUrl}, facilitator ${facilitator.url}, token ${token}`);

  // Commands on stdin (for fault tests: the facilitator goes away while the chain stays).
  const commands = {
    "facilitator stop": async () => {
      await facilitator?.close();
      facilitator = undefined;
      return "facilitator stopped";
    },
    "facilitator start": async () => {
      facilitator ??= await startFacilitator(facilitatorOptions);
      return `facilitator listening on ${facilitator.url}`;
    },
  };
  let queue = Promise.resolve(); // one command at a time, in order
  createInterface({ input: process.stdin }).on("line", (text) => {
    const command = commands[text.trim().replace(/\s+/g, " ")];
    if (!command) return text.trim() && note(`unknown command: ${text.trim()} (known: ${Object.keys(commands).join(", ")})`);
    queue = queue.then(command).then(note, (error) => note(`${text.trim()} failed: ${error?.message ?? error}`));
  });
}

/** Stops what was started, newest first, then exits. Safe to call more than once. */
async function stop(exitCode, why) {
  if (stopping) return;
  stopping = true;
  if (why) note(`stopping: ${why}`);
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (error) {
      note(`clean-up failed: ${error?.message ?? error}`);
    }
  }
  process.exit(exitCode);
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      "chain-port": { type: "string", default: process.env.EDGE402_CHAIN_PORT ?? "8545" },
      "facilitator-port": { type: "string", default: process.env.EDGE402_FACILITATOR_PORT ?? "4022" },
      out: { type: "string", default: process.env.EDGE402_STACK_FILE },
      "chain-log": { type: "string", default: process.env.EDGE402_CHAIN_LOG },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  return {
    chainPort: port(values["chain-port"], "--chain-port"),
    facilitatorPort: port(values["facilitator-port"], "--facilitator-port"),
    out: values.out,
    chainLog: values["chain-log"],
    quiet: values.quiet,
  };
}

function port(text, flag) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    process.stderr.write(`${flag}: not a port: ${text}\n${USAGE}`);
    process.exit(2);
  }
  return n;
}

/** Readers polling for the file never see it half-written. */
function writeFileAtomically(file, text) {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

function note(text) {
  process.stderr.write(`[stack] ${text}\n`);
}
