// The end-to-end harness: the local settlement stack (stack/start.mjs: hardhat chain 84532,
// an EIP-3009 token, the reference x402 facilitator), the built Worker in workerd under
// `wrangler dev` configured to sell GET /api/* in that token, the chain read with viem, and
// the OFFICIAL x402 clients with a recording inner fetch:
//
//   official client ──► recording fetch ──HTTP──► wrangler dev (workerd) ──► facilitator ──► chain
//     (x402-fetch v1,     (keeps every payment         │ KV "RECEIPTS"         (stack/, one process
//      @x402/fetch v2)     header it carries)          └─ read with `wrangler kv key …`    group)
//
// The Worker side (wrangler start-up, process groups, KV inspection) is tests/worker/helpers.js.
// Everything listens on 127.0.0.1; every wait is bounded; everything started is stopped.

import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

import { x402Client } from '@x402/core/client';
import { ExactEvmScheme } from '@x402/evm/exact/client';
import { decodePaymentResponseHeader, wrapFetchWithPayment as wrapFetchV2 } from '@x402/fetch';
import { createPublicClient, createWalletClient, defineChain, http, parseAbi } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { baseSepolia } from 'viem/chains';
import { decodeXPaymentResponse, wrapFetchWithPayment as wrapFetchV1 } from 'x402-fetch';

import { spawnGroup, startWorker } from '../worker/helpers.js';

const STACK_DIR = fileURLToPath(new URL('../../stack/', import.meta.url));
/** Bounds: the stack's start (compiles the contracts on a fresh checkout), one HTTP exchange. */
const STACK_START_TIMEOUT_MS = 90_000;
const REQUEST_TIMEOUT_MS = 20_000;
const FACILITATOR_SWITCH_TIMEOUT_MS = 10_000;
/** Start-up of both (the Worker's own bound is 45 s), for `before`. */
export const START_TIMEOUT = { timeout: STACK_START_TIMEOUT_MS + 60_000 };
export const TEST_TIMEOUT = { timeout: 60_000 };

/** The route's price: $0.001 in a 6-decimal USD-stable token. */
export const PRICE = 1000n;
/** Marks the Worker's built-in demo content (no `origin` configured). */
export const DEMO_MARKER = 'edge402 demo content';
export const TX_HASH = /^0x[0-9a-f]{64}$/;

const TOKEN_ABI = parseAbi([
  'function balanceOf(address) view returns (uint256)',
  'function authorizationState(address authorizer, bytes32 nonce) view returns (bool)',
  'event Transfer(address indexed from, address indexed to, uint256 value)',
  'event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce)',
]);

// ---------------------------------------------------------------------------------------------
// The whole set-up, once per test file

/**
 * The Worker's configuration for a stack: GET /api/* for $0.001 in the local token only,
 * settled by `facilitatorUrl` (the stack's facilitator unless given; a list is tried in
 * order), with unknown outcomes looked for on the chain at `rpcUrl` (the stack's chain unless
 * given).
 */
export function gatewayConfig(info, { facilitatorUrl = info.facilitatorUrl, rpcUrl = info.rpcUrl } = {}) {
  return {
    facilitator: { url: facilitatorUrl, settle_timeout_ms: 15_000, verify_timeout_ms: 5_000 },
    receipt_ttl_s: 120,
    networks: [{
      chain_id: info.chainId,
      rpc_url: rpcUrl,
      assets: [{ address: info.token, name: info.eip712.name, version: info.eip712.version, decimals: info.decimals, usd_stable: true }],
    }],
    routes: [
      { match: '/', free: true },
      {
        match: 'GET /api/*', price: '$0.001', description: 'e2e data',
        accepts: [{ network: info.networkV1, pay_to: info.payTo, asset: info.token }],
      },
    ],
  };
}

/** Starts the stack, then the Worker configured for it. `stop()` stops both. */
export async function startAll() {
  const stack = await startStack();
  try {
    const worker = await startWorker(gatewayConfig(stack.info));
    return {
      stack,
      worker,
      async stop() {
        await worker.stop();
        await stack.stop();
      },
    };
  } catch (error) {
    await stack.stop();
    throw error;
  }
}

/**
 * Starts the stack, then a Worker with `gatewayConfig`'s set-up and the routes `routes(accepts)`
 * gives (`accepts`: the local token on the stack's network, paid to its seller), plus `extra`
 * configuration (or a function of the Worker's URL giving it); `options` as startWorker's.
 * Returns `{stack, worker}`.
 */
export async function startWith(routes, extra = {}, options = {}) {
  const stack = await startStack();
  try {
    const { info } = stack;
    const accepts = [{ network: info.networkV1, pay_to: info.payTo, asset: info.token }];
    // `extra` may be a function of the Worker's URL (a configuration that names it).
    const config = (url) => ({
      ...gatewayConfig(info),
      ...(typeof extra === 'function' ? extra(url) : extra),
      routes: routes(accepts),
    });
    return { stack, worker: await startWorker(config, options) };
  } catch (error) {
    await stack.stop();
    throw error;
  }
}

/** Stops what startWith started; with EDGE402_E2E_LOGS=1, prints the stack's and wrangler's output first. */
export async function stopAll({ stack, worker }) {
  if (process.env.EDGE402_E2E_LOGS) {
    process.stderr.write(`--- stack ---\n${stack?.output()}\n--- wrangler ---\n${worker?.output()}\n`);
  }
  await worker?.stop();
  await stack?.stop();
}

// ---------------------------------------------------------------------------------------------
// The settlement stack

/**
 * Runs `node start.mjs` on free ports in its own process group (and preloaded with
 * exit-with-parent, so it goes even if this process is killed), waits for its ready line, and
 * returns it (`info`) with chain readers and the facilitator switch.
 */
export async function startStack() {
  const args = ['--require', './lib/exit-with-parent.cjs', 'start.mjs', '--chain-port', '0', '--facilitator-port', '0'];
  // The facilitator's log (one line per request) is what /settle calls are counted from.
  const proc = spawnGroup(process.execPath, args, { cwd: STACK_DIR, stdin: 'pipe', keepBytes: 16 * 1024 * 1024 });
  let info;
  try {
    info = await readyLine(proc);
  } catch (error) {
    await proc.stop();
    throw new Error(`${error.message}\n--- stack output ---\n${proc.output()}`);
  }
  const chain = chainReader(info);
  const command = (line) => proc.child.stdin.write(`${line}\n`);
  return {
    info,
    ...chain,
    output: proc.output,
    /** How many `/settle` requests the facilitator has logged so far. */
    settleCalls: () => (proc.output().match(/\[facilitator\] POST \/settle /g) ?? []).length,
    /** Closes the facilitator's port (the chain stays up) and waits until it refuses. */
    async stopFacilitator() {
      command('facilitator stop');
      await waitFor(async () => !(await facilitatorAnswers(info)), 'the facilitator to stop');
    },
    /** Opens the facilitator again on the same URL and waits until it answers. */
    async startFacilitator() {
      command('facilitator start');
      await waitFor(() => facilitatorAnswers(info), 'the facilitator to answer again');
    },
    stop: proc.stop,
  };
}

/** The first line start.mjs prints on stdout, parsed; bounded; fails if it exits first. */
async function readyLine(proc) {
  let stdout = '';
  const line = new Promise((resolve) => {
    proc.child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const end = stdout.indexOf('\n');
      if (end >= 0) resolve(stdout.slice(0, end));
    });
  });
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`stack not ready within ${STACK_START_TIMEOUT_MS} ms`)), STACK_START_TIMEOUT_MS);
  });
  const exited = proc.exited.then(({ code, signal }) => {
    throw new Error(`start.mjs exited (${signal ?? `code ${code}`}) before it was ready`);
  });
  try {
    return JSON.parse(await Promise.race([line, timeout, exited]));
  } finally {
    clearTimeout(timer);
  }
}

async function facilitatorAnswers(info) {
  try {
    const response = await fetch(`${info.facilitatorUrl}/supported`, { signal: AbortSignal.timeout(1_000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/** Polls `check` every 100 ms until it is true, for at most FACILITATOR_SWITCH_TIMEOUT_MS. */
async function waitFor(check, what) {
  const deadline = Date.now() + FACILITATOR_SWITCH_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** What the tests read from the chain, with viem. */
function chainReader(info) {
  const chain = defineChain({
    id: info.chainId,
    name: 'edge402 local chain',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [info.rpcUrl] } },
  });
  // Hardhat reports reverts as -32603, which viem would retry: nothing here should revert.
  const publicClient = createPublicClient({ chain, transport: http(info.rpcUrl, { retryCount: 0, timeout: 10_000 }) });
  const read = (functionName, args) => publicClient.readContract({ address: info.token, abi: TOKEN_ABI, functionName, args });
  return {
    publicClient,
    balanceOf: (address) => read('balanceOf', [address]),
    /** Balances of several addresses, as an object keyed by the same names. */
    async balances(named) {
      const entries = await Promise.all(Object.entries(named).map(async ([name, address]) => [name, await read('balanceOf', [address])]));
      return Object.fromEntries(entries);
    },
    /** Whether the token has consumed (authorizer, nonce). */
    nonceUsed: (authorizer, nonce) => read('authorizationState', [authorizer, nonce]),
    /** Every AuthorizationUsed event of (authorizer, nonce) since the chain began. */
    authorizationsUsed: (authorizer, nonce) =>
      publicClient.getContractEvents({
        address: info.token, abi: TOKEN_ABI, eventName: 'AuthorizationUsed',
        args: { authorizer, nonce }, fromBlock: 0n, strict: true,
      }),
    /** Every Transfer event from `from`, since the chain began. */
    transfersFrom: (from) =>
      publicClient.getContractEvents({
        address: info.token, abi: TOKEN_ABI, eventName: 'Transfer', args: { from }, fromBlock: 0n, strict: true,
      }),
    blockNumber: () => publicClient.getBlockNumber({ cacheTime: 0 }),
  };
}

// ---------------------------------------------------------------------------------------------
// The official clients

/**
 * An inner fetch for an official client that records the payment header of every request it
 * carries (`payments`: `{ name, value, url }`, oldest first), after `prepare` (by default
 * nothing) changed it, and every sign-in
 * (`signIns`: the `SIGN-IN-WITH-X` values). With `hold = true`, a request carrying a payment
 * (or, with `holdSignIns = true`, a sign-in) is recorded and not sent (answered locally with
 * 418): the official client only signs, and the test sends the header itself.
 */
export function recordingFetch() {
  const recorder = {
    payments: [],
    signIns: [],
    hold: false,
    holdSignIns: false,
    /** Changes every request before it is recorded and sent (a crawler signs it). */
    prepare: async (request) => request,
    last() {
      const payment = recorder.payments.at(-1);
      if (!payment) throw new Error('the client sent no payment');
      return payment;
    },
    fetch: async (input, init) => {
      const request = await recorder.prepare(new Request(input, init));
      const signIn = request.headers.get('SIGN-IN-WITH-X');
      if (signIn !== null) {
        recorder.signIns.push(signIn);
        if (recorder.holdSignIns) return new Response('held by the test', { status: 418 });
      }
      for (const name of ['PAYMENT-SIGNATURE', 'X-PAYMENT']) {
        const value = request.headers.get(name);
        if (value !== null) {
          recorder.payments.push({ name, value, url: request.url });
          if (recorder.hold) return new Response('held by the test', { status: 418 });
        }
      }
      return fetch(request, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    },
  };
  return recorder;
}

/**
 * The official v2 client, @x402/fetch, paying with a viem local account for eip155:84532 and
 * allowed to spend the local token (it refuses non-default assets otherwise). `configure`
 * may register hooks on its `x402Client` (the extensions' client side).
 */
export function v2Buyer(info, privateKey, configure = (client) => client) {
  const account = privateKeyToAccount(privateKey);
  const client = configure(new x402Client()
    .register(info.network, new ExactEvmScheme(account))
    .setSpendControls({ allowedAssets: [{ network: info.network, asset: info.token }] }));
  const recorder = recordingFetch();
  return { version: 2, account, recorder, pay: wrapFetchV2(recorder.fetch, client) };
}

/**
 * The official v1 client, x402-fetch, with a viem wallet client for Base Sepolia's chain id
 * whose transport is the local chain (it picks the requirement by the wallet's chain).
 */
export function v1Buyer(info, privateKey) {
  const account = privateKeyToAccount(privateKey);
  const chain = { ...baseSepolia, rpcUrls: { default: { http: [info.rpcUrl] } } };
  const walletClient = createWalletClient({ account, chain, transport: http(info.rpcUrl, { retryCount: 0 }) });
  const recorder = recordingFetch();
  return { version: 1, account, recorder, pay: wrapFetchV1(recorder.fetch, walletClient) };
}

/** The settlement header a response to a `version` payment carries, by the client's name. */
export const SETTLEMENT_HEADER = { 1: 'X-PAYMENT-RESPONSE', 2: 'PAYMENT-RESPONSE' };

/**
 * The settlement header of a response (a fetch `Response` or a helpers.js reply), decoded by
 * the official client of that version; `undefined` if absent.
 */
export function settlementOf(version, response) {
  const name = SETTLEMENT_HEADER[version];
  const value = response.headers instanceof Headers ? response.headers.get(name) : response.header(name);
  if (value === null || value === undefined) return undefined;
  return version === 1 ? decodeXPaymentResponse(value) : decodePaymentResponseHeader(value);
}

/** base64(JSON) of an x402 header. */
export const decodeHeader = (text) => JSON.parse(Buffer.from(text, 'base64').toString('utf8'));

/** The KV key of a payment's receipt (see src/gate/receipt.rs). */
export function receiptKey(info, payload) {
  const { from, nonce } = payload.payload.authorization;
  return ['v1:receipt', info.network, info.token.toLowerCase(), from.toLowerCase(), nonce.toLowerCase()].join(':');
}

// ---------------------------------------------------------------------------------------------
// Buying, as the test files do

/** A fetch `Response` read whole, shaped like helpers.js's replies (`header(name)`, `text`). */
export async function readReply(response) {
  const text = await response.text();
  return {
    status: response.status,
    text,
    headers: response.headers,
    header: (name) => response.headers.get(name) ?? undefined,
    json: () => JSON.parse(text),
    toString: () => `HTTP ${response.status} ${text.slice(0, 300)}`,
  };
}

/**
 * The stack's funded buyer `index` with the official client of `version`, and its address
 * (`configure`: see v2Buyer).
 */
export function stackBuyer(info, version, index, configure) {
  const { privateKey, address } = info.buyers[index];
  return { ...(version === 2 ? v2Buyer(info, privateKey, configure) : v1Buyer(info, privateKey)), address };
}

/**
 * Pays `url` with `client` (a `stackBuyer`) and checks the answer: 200, a successful
 * settlement naming a transaction, and exactly `amount` moved from the buyer to the seller.
 * Returns the reply, read whole.
 */
export async function buyExactly(stack, client, url, amount) {
  const named = { buyer: client.address, payTo: stack.info.payTo };
  const before = await stack.balances(named);
  const reply = await readReply(await client.pay(url));
  assert.equal(reply.status, 200, reply.text);
  const settlement = settlementOf(client.version, reply);
  assert.equal(settlement?.success, true, JSON.stringify(settlement));
  assert.match(settlement.transaction, TX_HASH);
  const now = await stack.balances(named);
  assert.equal(now.buyer, before.buyer - amount);
  assert.equal(now.payTo, before.payTo + amount);
  return reply;
}
