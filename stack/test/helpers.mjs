// Shared by the stack's tests: run start.mjs as a user would, build and sign payments the
// way the official clients do, talk to the facilitator.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseSignature, serializeSignature, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { loadContracts } from "../compile.mjs";
import { localClients } from "../lib/chain.mjs";

const STACK_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const START_TIMEOUT_MS = 90_000;

export const AUTHORIZATION_TYPES = {
  TransferWithAuthorization: [
    { name: "from", type: "address" },
    { name: "to", type: "address" },
    { name: "value", type: "uint256" },
    { name: "validAfter", type: "uint256" },
    { name: "validBefore", type: "uint256" },
    { name: "nonce", type: "bytes32" },
  ],
};

/**
 * Runs `node start.mjs` on free ports and resolves to its ready JSON plus helpers once it
 * has printed it. `stop()` sends SIGTERM and resolves to the exit code.
 */
export async function startStack() {
  const outFile = path.join(mkdtempSync(path.join(tmpdir(), "edge402-stack-")), "stack.json");
  const child = spawn(
    process.execPath,
    // exit-with-parent: the stack goes away with the test runner even if it is killed.
    ["--require", "./lib/exit-with-parent.cjs", "start.mjs", "--chain-port", "0", "--facilitator-port", "0", "--out", outFile],
    { cwd: STACK_DIR, stdio: ["pipe", "pipe", "pipe"] },
  );
  let log = "";
  child.stderr.on("data", (chunk) => {
    log += chunk;
  });
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));

  const info = await new Promise((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => reject(new Error(`stack not ready in ${START_TIMEOUT_MS} ms:\n${log}`)), START_TIMEOUT_MS);
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      const newline = stdout.indexOf("\n");
      if (newline >= 0) {
        clearTimeout(timer);
        resolve(JSON.parse(stdout.slice(0, newline)));
      }
    });
    exited.then((code) => reject(new Error(`start.mjs exited with ${code} before ready:\n${log}`)));
  });

  const { publicClient } = localClients({ rpcUrl: info.rpcUrl, chainId: info.chainId });
  const { abi } = loadContracts().TestUSDC;
  return {
    info,
    outFile,
    publicClient,
    tokenAbi: abi,
    log: () => log,
    balanceOf: (address) => publicClient.readContract({ address: info.token, abi, functionName: "balanceOf", args: [address] }),
    outFileExists: () => existsSync(outFile),
    async stop() {
      child.kill("SIGTERM");
      return exited;
    },
  };
}

/**
 * A signed EIP-3009 authorization for the local token, as the exact EVM clients build it:
 * `validAfter` 600 s in the past, `validBefore` `maxTimeoutSeconds` ahead, a random nonce.
 * Fields given in `overrides` replace the defaults before signing.
 */
export async function signPayment({ stack, privateKey, value, to = stack.info.payTo, maxTimeoutSeconds = 60, ...overrides }) {
  const account = privateKeyToAccount(privateKey);
  const now = Math.floor(Date.now() / 1000);
  const authorization = {
    from: account.address,
    to,
    value: String(value),
    validAfter: String(now - 600),
    validBefore: String(now + maxTimeoutSeconds),
    nonce: toHex(randomBytes(32)),
    ...overrides,
  };
  const signature = await account.signTypedData({
    domain: { ...stack.info.eip712, chainId: stack.info.chainId, verifyingContract: stack.info.token },
    types: AUTHORIZATION_TYPES,
    primaryType: "TransferWithAuthorization",
    message: authorization,
  });
  return { signature, authorization };
}

/** secp256k1's group order n. */
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** The malleated twin of a 65-byte signature: (r, n - s), other parity; same signer. */
export function highSTwin(signature) {
  const { r, s, yParity } = parseSignature(signature);
  return serializeSignature({ r, s: toHex(SECP256K1_N - BigInt(s), { size: 32 }), yParity: 1 - yParity });
}

/** A v2 facilitator request body for `payload` (from signPayment) of `amount` atomic units. */
export function v2Request(stack, payload, amount) {
  const requirements = {
    scheme: "exact",
    network: stack.info.network,
    amount: String(amount),
    asset: stack.info.token,
    payTo: stack.info.payTo,
    maxTimeoutSeconds: 60,
    extra: { ...stack.info.eip712 },
  };
  return {
    x402Version: 2,
    paymentPayload: {
      x402Version: 2,
      resource: { url: "http://127.0.0.1/paid", description: "test", mimeType: "application/json" },
      accepted: requirements,
      payload,
    },
    paymentRequirements: requirements,
  };
}

/** A v1 facilitator request body for `payload` (from signPayment) of `amount` atomic units. */
export function v1Request(stack, payload, amount) {
  return {
    x402Version: 1,
    paymentPayload: { x402Version: 1, scheme: "exact", network: stack.info.networkV1, payload },
    paymentRequirements: {
      scheme: "exact",
      network: stack.info.networkV1,
      maxAmountRequired: String(amount),
      resource: "http://127.0.0.1/paid",
      description: "test",
      mimeType: "application/json",
      payTo: stack.info.payTo,
      maxTimeoutSeconds: 60,
      asset: stack.info.token,
      extra: { ...stack.info.eip712 },
    },
  };
}

/** POSTs `body` (an object, or a string sent as is) to the facilitator; `{status, body}`. */
export async function post(stack, route, body) {
  const response = await fetch(`${stack.info.facilitatorUrl}${route}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** Whether something still accepts HTTP requests at `url`. */
export async function isListening(url) {
  try {
    await fetch(url, { method: "POST", body: "{}", signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}
