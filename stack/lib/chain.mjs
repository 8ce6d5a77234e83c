// The local chain: a `hardhat node` child process, and the contracts the stack puts on it.
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createPublicClient, createWalletClient, defineChain, getAddress, http, parseUnits } from "viem";
import { BUYER_INDEXES, FACILITATOR_INDEX, testAccount } from "./accounts.mjs";

const STACK_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const HARDHAT_CLI = createRequire(import.meta.url).resolve("hardhat/internal/cli/bootstrap.js");
const HOST = "127.0.0.1";
const READY_TIMEOUT_MS = 60_000;

/** Multicall3's canonical address (the same on every chain that has it). */
export const MULTICALL3_ADDRESS = "0xcA11bde05977b3631167028862bE2a173976CA11";
/** Test USDC minted to each buyer: 1000 tokens of 6 decimals. */
export const BUYER_BALANCE = parseUnits("1000", 6);

/**
 * Starts `hardhat node` on 127.0.0.1:`port` (0: a free port) and resolves once it answers
 * JSON-RPC. Its output goes to `logFile` when given, else nowhere.
 * @returns {Promise<{rpcUrl: string, chainId: number, process: import("node:child_process").ChildProcess,
 *   exited: Promise<{code: number | null, signal: string | null}>, stop(): Promise<void>}>}
 */
export async function startChain({ port = 8545, logFile } = {}) {
  const chainPort = port === 0 ? await freePort() : port;
  const child = spawn(
    process.execPath,
    [
      "--require",
      path.join(STACK_DIR, "lib", "exit-with-parent.cjs"),
      HARDHAT_CLI,
      "node",
      "--config",
      path.join(STACK_DIR, "hardhat.config.cjs"),
      "--hostname",
      HOST,
      "--port",
      String(chainPort),
    ],
    {
      cwd: STACK_DIR,
      // stdin stays open for exit-with-parent.cjs; stdout is a pipe, so Hardhat never sees a
      // TTY and skips its telemetry prompt and its "news" banner (fetched from GitHub).
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: "true" },
    },
  );
  const output = captureOutput(child, logFile);
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));

  const rpcUrl = `http://${HOST}:${chainPort}`;
  let chainId;
  try {
    chainId = await Promise.race([
      waitForRpc(rpcUrl),
      exited.then(({ code, signal }) => {
        throw new Error(`hardhat node exited during start-up (${signal ?? `code ${code}`}):\n${output.tail()}`);
      }),
    ]);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }

  return {
    rpcUrl,
    chainId,
    process: child,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Puts the stack's contracts on a fresh chain: Multicall3Lite's runtime code at Multicall3's
 * address, TestUSDC deployed by the facilitator account (#0), 1000 USDC minted to each buyer.
 * @returns {Promise<{token: `0x${string}`}>}
 */
export async function deployFixtures({ rpcUrl, chainId, contracts }) {
  const { publicClient, walletClient } = localClients({ rpcUrl, chainId, account: testAccount(FACILITATOR_INDEX).account });

  // Hardhat's accounts must be the ones accounts.mjs derives, or the printed keys are useless.
  const [first] = await publicClient.request({ method: "eth_accounts" });
  if (getAddress(first) !== walletClient.account.address) {
    throw new Error(`hardhat account #0 is ${first}, expected ${walletClient.account.address}`);
  }

  await publicClient.request({
    method: "hardhat_setCode",
    params: [MULTICALL3_ADDRESS, contracts.Multicall3Lite.deployedBytecode],
  });

  const { abi, bytecode } = contracts.TestUSDC;
  const deployed = await publicClient.waitForTransactionReceipt({
    hash: await walletClient.deployContract({ abi, bytecode }),
  });
  const token = getAddress(deployed.contractAddress); // receipts give it in lower case
  for (const index of BUYER_INDEXES) {
    const hash = await walletClient.writeContract({
      address: token,
      abi,
      functionName: "mint",
      args: [testAccount(index).address, BUYER_BALANCE],
    });
    await publicClient.waitForTransactionReceipt({ hash });
  }
  return { token };
}

/**
 * viem clients for the local chain. `retryCount: 0`: Hardhat reports reverts as JSON-RPC
 * error -32603, which viem would otherwise retry three times (about a second per failed
 * payment); a fast polling interval because blocks are mined instantly.
 */
export function localClients({ rpcUrl, chainId, account }) {
  const chain = defineChain({
    id: chainId,
    name: "edge402 local chain",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const transport = http(rpcUrl, { retryCount: 0 });
  return {
    chain,
    publicClient: createPublicClient({ chain, transport, pollingInterval: 50 }),
    walletClient: account && createWalletClient({ account, chain, transport, pollingInterval: 50 }),
  };
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Polls eth_chainId until the node answers; resolves to the chain id. */
async function waitForRpc(rpcUrl) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      const response = await fetch(rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      });
      const { result } = await response.json();
      if (result) return Number(result);
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`hardhat node did not answer at ${rpcUrl} within ${READY_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Drains the child's output (to `logFile` if given) and keeps the last lines for errors. */
function captureOutput(child, logFile) {
  const sink = logFile ? createWriteStream(logFile, { flags: "a" }) : undefined;
  const lines = [];
  const keep = (chunk) => {
    sink?.write(chunk);
    lines.push(...chunk.toString().split("\n"));
    lines.splice(0, Math.max(0, lines.length - 40));
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  child.once("exit", () => sink?.end());
  return { tail: () => lines.join("\n") };
}
