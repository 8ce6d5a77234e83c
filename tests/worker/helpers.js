// The test harness of the Worker integration tests: the built Worker running in workerd under
// `wrangler dev`, spoken to over HTTP on 127.0.0.1, with two test doubles in this process:
//
//   test ──HTTP──► wrangler dev (workerd, build/index.js) ──► origin double      (content)
//                        │  KV "RECEIPTS" emulated in a      ──► facilitator double (/verify, /settle)
//                        │  fresh --persist-to directory
//                        └─ inspected from outside with `wrangler kv key …`
//
// Every server listens on 127.0.0.1, every request has a time limit, and every process started
// here is stopped when the test file ends: an `after` hook, or on exit and interrupts.

import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { constants, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, beforeEach } from 'node:test';
import { fileURLToPath } from 'node:url';

import { reasonsOf } from './x402-client.js';

const HOST = '127.0.0.1';
/** The repository root: wrangler runs there, with its wrangler.toml and the built Worker. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WRANGLER = join(ROOT, 'node_modules/.bin/wrangler');
const WRANGLER_ENV = { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1' };

/** Where the gateway's routes send their money. */
export const PAY_TO = '0x209693Bc6afc0C5328bA36FaF03C514EF312287C';
/** Time limits: one HTTP request, one `wrangler kv` call, one test, the Worker's start. */
const REQUEST_TIMEOUT_MS = 10_000;
const KV_CLI_TIMEOUT_MS = 20_000;
export const TEST_TIMEOUT = { timeout: 30_000 };
const WORKER_START_TIMEOUT_MS = 45_000;
/** The facilitator timeouts the Worker is configured with, and how long the slow double waits. */
const FACILITATOR_TIMEOUT_MS = 1_500;
const SLOW_ANSWER_MS = 4 * FACILITATOR_TIMEOUT_MS;
/** How large the `huge` facilitator's answer is (far past the gateway's bound). */
const HUGE_ANSWER_BYTES = 8 * 1024 * 1024;
/** The ORIGIN_AUTHORIZATION secret of the suite's Worker, sent in ORIGIN_SECRET_HEADER. */
export const ORIGIN_SECRET = 'origin-secret-0123456789';
export const ORIGIN_SECRET_HEADER = 'edge402-origin-authorization';

/** Every response of the origin double carries this, so "nothing served" can be asserted. */
export const ORIGIN_MARKER = 'content-from-the-origin-double';
/** The reason the facilitator double gives when scripted to refuse a settlement. */
export const REFUSAL_REASON = 'invalid_exact_evm_insufficient_balance';

/**
 * The gateway configuration of the suite: one free route, a paid GET route (after-origin, the
 * default for GET), a paid POST route (before-origin, the default for POST) and a paid GET
 * route settled in parallel with the origin.
 */
function gatewayConfig(originUrl, facilitatorUrl, noChainUrl, pricingUrl) {
  const accepts = [{ network: 'base-sepolia', pay_to: PAY_TO }];
  return {
    origin: originUrl,
    pricing: { url: pricingUrl, cache_s: PRICE_CACHE_S, timeout_ms: FACILITATOR_TIMEOUT_MS },
    // No chain runs with the doubles: a settlement whose outcome is unknown stays unknown.
    networks: [{ chain_id: 84532, rpc_url: noChainUrl }],
    facilitator: {
      url: facilitatorUrl,
      verify_timeout_ms: FACILITATOR_TIMEOUT_MS,
      settle_timeout_ms: FACILITATOR_TIMEOUT_MS,
    },
    receipt_ttl_s: 120,
    routes: [
      { match: '/health', free: true },
      { match: 'GET /api/*', price: '$0.001', description: 'Test data', accepts },
      { match: 'POST /orders', price: '$0.01', accepts },
      { match: 'GET /reports/*', price: '$0.001', settle: 'parallel', accepts },
      { match: '/priced/*', price: 'dynamic', description: 'Priced per request', accepts },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// The whole stack, one per test file

/**
 * Registers hooks that start the stack before the file's tests, reset the doubles' records
 * and scripts before each test, and stop everything after the file (also when a test fails).
 * Returns an object that holds `origin`, `facilitator` and `worker` once started.
 */
export function useStack(options) {
  const stack = {};
  before(async () => Object.assign(stack, await startStack(options)), { timeout: WORKER_START_TIMEOUT_MS + 5_000 });
  beforeEach(() => stack.reset?.());
  after(() => stack.stop?.());
  return stack;
}

/**
 * The doubles and the Worker. With `pricingService`, routes priced per request ask the
 * Worker of tests/worker/pricing-service/ through a service binding (`PRICER`), run in the
 * same `wrangler dev`.
 */
async function startStack({ pricingService = false } = {}) {
  const stoppers = [];
  const stop = async () => {
    for (const stopOne of stoppers.reverse()) await stopOne();
  };
  try {
    const origin = await startOriginDouble();
    stoppers.push(origin.stop);
    const facilitator = await startFacilitatorDouble();
    stoppers.push(facilitator.stop);
    const pricing = await startPricingDouble();
    stoppers.push(pricing.stop);
    const [closedPort] = await freePorts(1);
    const config = gatewayConfig(origin.url, facilitator.url, `http://${HOST}:${closedPort}`, pricing.url);
    const vars = { ORIGIN_AUTHORIZATION: ORIGIN_SECRET, QUOTE_SECRET };
    let configs;
    if (pricingService) {
      config.pricing = { service: 'PRICER', cache_s: 0 };
      const gatewayToml = await withServiceBinding('PRICER', 'edge402-pricing-service');
      stoppers.push(() => rm(dirname(gatewayToml), { recursive: true, force: true }));
      configs = [gatewayToml, join(ROOT, 'tests/worker/pricing-service/wrangler.toml')];
    }
    const worker = await startWorker(config, { vars, configs });
    stoppers.push(worker.stop);
    const reset = () => {
      origin.reset();
      facilitator.reset();
      pricing.reset();
    };
    return { origin, facilitator, pricing, worker, reset, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Assertions shared by the test files

/** A gateway refusal: the status, and the same reason for a v1 client (body) and a v2 one. */
export function assertRefused(reply, status, reason) {
  assert.equal(reply.status, status, String(reply));
  assert.deepEqual(reasonsOf(reply), { v1: reason, v2: reason }, String(reply));
}

/** The response carries none of the origin's content. */
export function assertNothingServed(reply) {
  assert.ok(!reply.text.includes(ORIGIN_MARKER), `origin content was released: ${reply}`);
}

/** Neither the facilitator nor the origin was called since the test began. */
export function assertNoCalls({ facilitator, origin }) {
  assert.deepEqual(facilitator.calls.map((c) => c.path), [], 'calls to the facilitator');
  assert.deepEqual(origin.paths(), [], 'requests that reached the origin');
}

// ---------------------------------------------------------------------------------------------
// HTTP

/**
 * One HTTP request with the path sent exactly as written (no URL normalisation, unlike
 * `fetch`: encoded, dotted and doubled spellings must reach the gateway as they are), a fresh
 * connection, and an overall time limit.
 */
function send(baseUrl, method, path, { headers = {}, body, timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const request = http.request({ host: hostname, port, method, path, headers, agent: false });
    const timer = setTimeout(
      () => request.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    request.on('response', (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        resolve(new Reply(response.statusCode, response.headers, text, response.rawHeaders));
      });
      response.on('error', reject);
    });
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.end(body);
  });
}

/**
 * A response: status, headers (looked up case-insensitively; node:http joins repeated ones
 * with ", ") and body text.
 */
class Reply {
  constructor(status, headers, text, rawHeaders = []) {
    Object.assign(this, { status, headers, text, rawHeaders });
  }
  header(name) {
    return this.headers[name.toLowerCase()];
  }
  /** Every value of a header, one per header line as received, in order. */
  headerValues(name) {
    const values = [];
    for (let i = 0; i + 1 < this.rawHeaders.length; i += 2) {
      if (this.rawHeaders[i].toLowerCase() === name.toLowerCase()) values.push(this.rawHeaders[i + 1]);
    }
    return values;
  }
  json() {
    return JSON.parse(this.text);
  }
  toString() {
    return `HTTP ${this.status} ${this.text.slice(0, 300)}`;
  }
}

/** Reads a whole request body. */
function readBody(request) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function sendJson(response, status, value) {
  sendText(response, status, JSON.stringify(value));
}

function sendText(response, status, text) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(text);
}

/** Free TCP ports on 127.0.0.1, distinct (all are held open until every one is known). */
async function freePorts(count) {
  const servers = await Promise.all(
    Array.from({ length: count }, () => listen(net.createServer(), 0)),
  );
  const ports = servers.map((server) => server.address().port);
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  return ports;
}

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Stops a node:http server, closing kept-alive connections too. */
function closeServer(server) {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

// ---------------------------------------------------------------------------------------------
// Test double: the origin

/**
 * Test double of the origin API: answers every path with JSON naming the method and path it
 * received (and the marker), `/api/broken` with 500, `/moved/<rest>` with a 302 to its own
 * absolute URL `/api/<rest>` (as an origin that knows only its own host redirects); records
 * every request.
 */
export async function startOriginDouble() {
  const requests = [];
  let url;
  const server = http.createServer(async (request, response) => {
    const body = await readBody(request);
    requests.push({ method: request.method, path: request.url, headers: request.headers, body });
    if (request.url.startsWith('/moved/')) {
      response.writeHead(302, { location: `${url}/api/${request.url.slice('/moved/'.length)}` });
      return response.end();
    }
    const status = request.url.startsWith('/api/broken') ? 500 : 200;
    sendJson(response, status, { marker: ORIGIN_MARKER, method: request.method, path: request.url });
  });
  await listen(server, 0);
  url = `http://${HOST}:${server.address().port}`;
  return {
    url,
    /** What reached the origin: `{ method, path, headers, body }`, oldest first. */
    requests,
    /** Just the paths (with query) that reached the origin. */
    paths: () => requests.map((r) => r.path),
    reset: () => requests.splice(0),
    stop: () => closeServer(server),
  };
}

/**
 * The repository's wrangler.toml with a service binding `binding` to the Worker `service`,
 * written to a fresh directory (its paths made absolute); returns the file's path.
 */
async function withServiceBinding(binding, service) {
  const text = await readFile(join(ROOT, 'wrangler.toml'), 'utf8');
  const absolute = text.replace('main = "build/index.js"', `main = ${JSON.stringify(join(ROOT, 'build/index.js'))}`);
  assert.notEqual(absolute, text, 'wrangler.toml no longer has the main line this expects');
  const dir = await mkdtemp(join(tmpdir(), 'edge402-gateway-toml-'));
  const path = join(dir, 'wrangler.toml');
  await writeFile(path, `${absolute}\n[[services]]\nbinding = "${binding}"\nservice = "${service}"\n`);
  return path;
}

/** The price the pricing double answers unless a test sets another. */
export const DYNAMIC_PRICE = '$0.002';
/** Seconds the Worker keeps a pricing answer. */
export const PRICE_CACHE_S = 2;
/** The Worker's QUOTE_SECRET in these tests. */
export const QUOTE_SECRET = 'quote-secret-for-the-workerd-tests-0123';

/**
 * Test double of a pricing endpoint (`POST` with `{route, method, path, query}`): answers
 * `{"price": …}`, `{"free": true}`, an HTTP status or a body that is not JSON, as the test
 * sets with `answer(…)`; records every request.
 */
async function startPricingDouble() {
  const requests = [];
  let answer = { price: DYNAMIC_PRICE };
  const server = http.createServer(async (request, response) => {
    const body = await readBody(request);
    requests.push({ method: request.method, path: request.url, body: JSON.parse(body || 'null') });
    if (answer.status) return sendJson(response, answer.status, { error: 'pricing failed' });
    if (answer.garbage) return sendText(response, 200, 'not json');
    sendJson(response, 200, answer);
  });
  await listen(server, 0);
  return {
    url: `http://${HOST}:${server.address().port}/price`,
    /** What the Worker asked: `{ method, path, body }`, oldest first. */
    requests,
    /** Sets the answer: `{ price }`, `{ free: true }`, `{ status }` or `{ garbage: true }`. */
    answer: (next) => (answer = next),
    reset: () => {
      requests.splice(0);
      answer = { price: DYNAMIC_PRICE };
    },
    stop: () => closeServer(server),
  };
}

/** A server that answers 200 to anything and records every request. */
async function startRecorder() {
  const requests = [];
  const server = http.createServer(async (request, response) => {
    await readBody(request);
    requests.push({ method: request.method, path: request.url, headers: request.headers });
    sendJson(response, 200, { recorded: true });
  });
  await listen(server, 0);
  return { url: `http://${HOST}:${server.address().port}`, requests, stop: () => closeServer(server) };
}

// ---------------------------------------------------------------------------------------------
// Test double: the facilitator

/** What the facilitator double says it supports (`GET /supported`). */
const SUPPORTED = {
  kinds: [
    { x402Version: 2, scheme: 'exact', network: 'eip155:84532' },
    { x402Version: 1, scheme: 'exact', network: 'base-sepolia' },
  ],
};

/**
 * Test double of an x402 facilitator (`POST /verify`, `POST /settle`, `GET /supported`) whose
 * behaviour each test scripts with `behave(name)`:
 *
 * - `succeed`: a valid verification / a successful settlement with a fresh transaction hash;
 * - `slow`: answers success only after SLOW_ANSWER_MS, well beyond the Worker's timeout;
 * - `error500`: HTTP 500;
 * - `hangUp`: closes the connection without answering;
 * - `garbage`: HTTP 200 with a body that is not JSON;
 * - `refuse`: `isValid: false` / `success: false` with REFUSAL_REASON;
 * - `redirect`: a 307 to the same path on another server (`elsewhere`), which records what
 *   reaches it (nothing should: the gateway does not follow redirects with its credentials);
 * - `huge`: HTTP 200 with a valid answer padded to HUGE_ANSWER_BYTES (no Content-Length);
 * - `oversized`: a Content-Length far above any answer's size, then a slow trickle.
 *
 * `stopListening()` / `listenAgain()` make the port refuse connections and then serve again.
 * Every `/verify` and `/settle` call is recorded (`GET /supported`, which the Worker asks once
 * per isolate in the background, is only counted).
 */
export async function startFacilitatorDouble() {
  const calls = [];
  const elsewhere = await startRecorder();
  const pendingTimers = new Set();
  let behaviour = 'succeed';
  let transactions = 0;
  let supportedCalls = 0;

  const answer = (path, body, ok) => {
    const requirements = body?.paymentRequirements ?? {};
    const payer = body?.paymentPayload?.payload?.authorization?.from;
    if (path === '/verify') {
      return ok ? { isValid: true, payer } : { isValid: false, invalidReason: REFUSAL_REASON, payer };
    }
    if (!ok) {
      return { success: false, errorReason: REFUSAL_REASON, transaction: '', network: requirements.network, payer };
    }
    transactions += 1;
    const transaction = `0x${transactions.toString(16).padStart(64, 'a')}`;
    return { success: true, transaction, network: requirements.network, payer };
  };

  const behaviours = {
    succeed: (request, response, path, body) => sendJson(response, 200, answer(path, body, true)),
    slow: (request, response, path, body) => {
      const timer = setTimeout(() => {
        pendingTimers.delete(timer);
        sendJson(response, 200, answer(path, body, true));
      }, SLOW_ANSWER_MS);
      pendingTimers.add(timer);
      // The Worker gives up and aborts: no answer is owed any more.
      response.on('close', () => {
        clearTimeout(timer);
        pendingTimers.delete(timer);
      });
    },
    error500: (request, response) => sendJson(response, 500, { error: 'internal error (scripted)' }),
    hangUp: (request) => request.socket.destroy(),
    garbage: (request, response) => sendText(response, 200, '{"success": tru<html>'),
    refuse: (request, response, path, body) => sendJson(response, 200, answer(path, body, false)),
    redirect: (request, response, path) => {
      response.writeHead(307, { location: `${elsewhere.url}${path}` });
      response.end();
    },
    huge: (request, response, path, body) => {
      // A valid answer (a reader without a bound would believe it), padded to HUGE_ANSWER_BYTES
      // and streamed without Content-Length.
      const [head, tail] = JSON.stringify({ padding: '', ...answer(path, body, true) }).split('""');
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write(`${head}"`);
      const chunk = 'x'.repeat(16 * 1024);
      let sent = 0;
      const more = () => {
        while (sent < HUGE_ANSWER_BYTES && !response.destroyed) {
          sent += chunk.length;
          if (!response.write(chunk)) return response.once('drain', more);
        }
        response.end(`"${tail}`);
      };
      more();
    },
    oversized: (request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(64 * 1024 * 1024) });
      response.write('{"success": true');
      const timer = setTimeout(() => {
        pendingTimers.delete(timer);
        response.destroy();
      }, SLOW_ANSWER_MS);
      pendingTimers.add(timer);
    },
  };

  const server = http.createServer(async (request, response) => {
    const raw = await readBody(request);
    if (request.method === 'GET' && request.url === '/supported') {
      supportedCalls += 1;
      return sendJson(response, 200, SUPPORTED);
    }
    if (request.method !== 'POST' || !['/verify', '/settle'].includes(request.url)) {
      return sendJson(response, 404, { error: 'not a facilitator endpoint' });
    }
    let body;
    try {
      body = JSON.parse(raw);
    } catch {
      body = raw;
    }
    calls.push({ path: request.url, body, headers: request.headers });
    behaviours[behaviour](request, response, request.url, body);
  });
  await listen(server, 0);
  const port = server.address().port;

  return {
    url: `http://${HOST}:${port}`,
    /** Every `/verify` and `/settle` call: `{ path, body, headers }`, oldest first. */
    calls,
    /** What reached the server `redirect` points at: `{ method, path, headers }`. */
    redirected: elsewhere.requests,
    settles: () => calls.filter((c) => c.path === '/settle'),
    supportedCalls: () => supportedCalls,
    behave(name) {
      if (!(name in behaviours)) throw new Error(`no facilitator behaviour "${name}"`);
      behaviour = name;
    },
    /** Closes the port: connections to it are refused until `listenAgain()`. */
    stopListening: () => closeServer(server),
    listenAgain: () => listen(server, port),
    reset() {
      calls.splice(0);
      elsewhere.requests.splice(0);
      behaviour = 'succeed';
    },
    async stop() {
      for (const timer of pendingTimers) clearTimeout(timer);
      await closeServer(server);
      await elsewhere.stop();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Processes in their own process group, and the Worker under wrangler dev

/** Process groups still running, killed on exit if an `after` hook could not run. */
const running = new Set();
process.on('exit', () => {
  for (const pid of running) killGroup(pid, 'SIGKILL');
});
// Children run in their own process groups, so an interrupt of the test run does not reach
// them: exit (which runs the handler above) instead of dying with them still running.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => process.exit(128 + constants.signals[signal]));
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Spawns `command` in a process group of its own (so everything it starts goes with it) and
 * keeps the end of its stdout and stderr (`keepBytes`). `stop()` sends SIGTERM to the group, then
 * SIGKILL after `graceMs`, and resolves once the command has exited; it is also killed when
 * this process exits. `stdin` is `'ignore'` unless `'pipe'` is asked for (`child.stdin`).
 * `keepBytes` bounds what is kept of the output (its end).
 */
export function spawnGroup(command, args, { cwd = ROOT, env = process.env, stdin = 'ignore', graceMs = 5_000, keepBytes = 64 * 1024 } = {}) {
  const child = spawn(command, args, {
    cwd,
    env,
    detached: true,
    stdio: [stdin, 'pipe', 'pipe'],
  });
  running.add(child.pid);
  let output = '';
  const keep = (chunk) => {
    output = (output + chunk.toString('utf8')).slice(-keepBytes);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    /** Resolves to `{ code, signal }` when the command exits. */
    exited,
    /** The end of what the command printed (stdout and stderr interleaved). */
    output: () => output,
    async stop() {
      if (!running.delete(child.pid)) return exited;
      killGroup(child.pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/**
 * Starts the built Worker (build/index.js, see scripts/build-worker) under `wrangler dev` with
 * `config` as EDGE402_CONFIG (JSON text) and a fresh KV directory, in its own process group,
 * and waits until it answers HTTP. `vars` are further string bindings (`--var NAME:value`),
 * which the Worker reads like secrets; `wranglerToml` names another Worker's wrangler.toml
 * (relative to the repository root), such as the example's; `configs` are absolute paths of
 * several Workers' configurations run together, the gateway's first; `script` is another
 * entry module than wrangler.toml's `main` (relative to the repository root), with the same
 * bindings; `args` are further `wrangler dev` flags (`--assets paywall/dist` for the
 * paywall's assets).
 */
export async function startWorker(config, { vars = {}, wranglerToml, configs = [], script, args: flags = [] } = {}) {
  const [port, inspectorPort] = await freePorts(2);
  const persistTo = await mkdtemp(join(tmpdir(), 'edge402-worker-kv-'));
  const url = `http://${HOST}:${port}`;
  // A configuration may name the Worker's own URL (its public origin, for sign-ins).
  const document = typeof config === 'function' ? config(url) : config;
  const args = [
    'dev', ...(script ? [script] : []), '--local', '--ip', HOST, '--port', String(port), '--inspector-port', String(inspectorPort),
    '--persist-to', persistTo, '--show-interactive-dev-session=false',
    '--var', `EDGE402_CONFIG:${JSON.stringify(document)}`,
    ...Object.entries(vars).flatMap(([name, value]) => ['--var', `${name}:${value}`]),
    ...(wranglerToml ? ['--config', join(ROOT, wranglerToml)] : []),
    ...configs.flatMap((path) => ['--config', path]),
    ...flags,
  ];
  const wrangler = spawnGroup(WRANGLER, args, { env: WRANGLER_ENV });

  const stop = async () => {
    await wrangler.stop();
    await rm(persistTo, { recursive: true, force: true });
  };
  try {
    await waitUntilAnswering(url, wrangler.exited, WORKER_START_TIMEOUT_MS);
  } catch (error) {
    await stop();
    throw new Error(`${error.message}\n--- wrangler output ---\n${wrangler.output()}`);
  }
  return {
    url,
    /** One request to the gateway (see `send`). */
    request: (method, path, options) => send(url, method, path, options),
    get: (path, headers = {}) => send(url, 'GET', path, { headers }),
    /** The KV namespace RECEIPTS as the Worker sees it. */
    receipts: kvNamespace(persistTo, 'RECEIPTS'),
    /** What wrangler and the Worker printed (the Worker logs one JSON line per request). */
    output: wrangler.output,
    /**
     * The Worker's JSON log lines (parsed) whose text includes `marker`, once one of them
     * satisfies `until` or 5 s have passed: lines reach wrangler's output a moment after the
     * answers.
     */
    logLines: async (marker, until) => {
      // wrangler's own request lines name the paths too; the Worker's are JSON.
      const lines = () => wrangler.output().split('\n').filter((line) => line.startsWith('{') && line.includes(marker)).map((line) => JSON.parse(line));
      const deadline = Date.now() + 5_000;
      while (!lines().some(until) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      return lines();
    },
    /** The directory of the Worker's local KV and Durable Object storage. */
    persistTo,
    stop,
  };
}

/**
 * Polls with a path spelling the gateway refuses itself under any configuration (`/%00`: 400
 * `invalid_path`, reaching neither double) until the Worker answers, the process exits, or
 * time runs out.
 */
async function waitUntilAnswering(url, exited, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  exited.then(() => (gone = true));
  while (Date.now() < deadline && !gone) {
    try {
      const reply = await send(url, 'GET', '/%00', { timeoutMs: 2_000 });
      if (reply.status === 400 && reply.text.includes('invalid_path')) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(gone ? 'wrangler dev exited before answering' : `wrangler dev did not answer within ${timeoutMs} ms`);
}

// ---------------------------------------------------------------------------------------------
// KV, inspected from outside with wrangler's own CLI (same wrangler.toml, same directory)

function kvNamespace(persistTo, binding) {
  const kv = (...args) =>
    new Promise((resolve, reject) => {
      const argv = ['kv', 'key', ...args, '--local', '--persist-to', persistTo, '--binding', binding];
      execFile(WRANGLER, argv, { cwd: ROOT, env: WRANGLER_ENV, timeout: KV_CLI_TIMEOUT_MS }, (error, stdout, stderr) =>
        error ? reject(new Error(`wrangler kv key ${args[0]}: ${error.message}\n${stderr}`)) : resolve(stdout),
      );
    });
  const namespace = {
    /** Every key in the namespace. */
    keys: async () => JSON.parse(await kv('list')).map((entry) => entry.name),
    /** Writes a text value, as an operator would (`wrangler kv key put`). */
    put: (key, value) => kv('put', key, value),
    /** A value as JSON; `undefined` if the key is absent. */
    async get(key) {
      const text = (await kv('get', key)).trim();
      // wrangler 4.86 prints this (on stdout, exit status 0) for a missing key.
      return text === 'Value not found' ? undefined : JSON.parse(text);
    },
    /**
     * Waits for a key to appear (the payment coordinator writes receipts; the CLI reads the
     * same local store, but a write may show with a delay) and returns its value.
     */
    async waitFor(key, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      do {
        const value = await namespace.get(key);
        if (value !== undefined) return value;
        await new Promise((resolve) => setTimeout(resolve, 250));
      } while (Date.now() < deadline);
      throw new Error(`no KV key ${key} within ${timeoutMs} ms`);
    },
  };
  return namespace;
}
