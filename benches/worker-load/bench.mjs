// The body of benches/worker-load.sh (run it through that script, which builds the Worker and
// installs this directory's pinned packages first).
//
//   node bench.mjs <repo root>
//
// 1. Upload size: `wrangler deploy --dry-run` of edge402 (build/) and of the peer, the official
//    @x402/hono middleware as a Worker (peer/), both offline.
// 2. Load, from autocannon on loopback against `wrangler dev --local` on 127.0.0.1:
//      (c) free    GET /free/bench, passed through to the origin double: the baseline;
//      (a) 402     GET /api/bench without payment: the challenge;
//      (b) receipt GET /api/bench with a payment already settled once: served from its KV
//                  receipt (signature verified again, no facilitator call) and the origin;
//      (d) peer    GET /api/bench without payment against the peer under wrangler dev;
//      (f) js      GET /weather without payment against a JavaScript Worker with the npm
//                  package's Hono middleware (tests/e2e/hono-worker), the peer's like;
//      (e) fresh   GET /api/bench with a new payment each request: claimed in its payment
//                  coordinator (a Durable Object), settled once by the double, concluded; the
//                  coordinator hop's own p50/p99 from the Worker's `coordinator_ms` log field.
// 3. A table, then one JSON line with every figure.
//
// The scenarios run in interleaved rounds; both Workers are up at once. Environment: see
// ../worker-load.sh.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { copyFileSync, cpSync, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import net from "node:net";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

import autocannon from "autocannon";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { authorizationTypedData } from "../../tests/worker/x402-client.js";

const ROOT = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), "../.."));
const BENCH = path.join(ROOT, "benches/worker-load");
const WRANGLER = path.join(ROOT, "node_modules/.bin/wrangler");
const SECONDS = Number(process.env.EDGE402_BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.EDGE402_BENCH_CONNECTIONS ?? 4);
const WARMUP_SECONDS = 2;
const FRESH_PAYMENTS = Number(process.env.EDGE402_BENCH_FRESH_PAYMENTS ?? 400); // (e): one request each
const ROUNDS = Number(process.env.EDGE402_BENCH_ROUNDS ?? 2); // each scenario's time is split over this many interleaved rounds
const MAX_REQUESTS = 500_000; // per scenario: a bound besides the duration
const PEER_LOAD = process.env.EDGE402_BENCH_PEER_LOAD !== "0";
const DEV_ARGS = (process.env.EDGE402_BENCH_DEV_ARGS ?? "").split(/\s+/).filter(Boolean); // extra `wrangler dev` flags
const BUDGET_GZIP_KB = 400; // kB (1000 bytes), the project's budget for the gzip upload
const PEER_QUOTED_GZIP_KB = 140; // the figure quoted for the official middleware, used only if unmeasured
const PAY_TO = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";
const WRANGLER_ENV = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1", FORCE_COLOR: "0" };

const started = Date.now();
const KEEP = process.env.EDGE402_BENCH_KEEP === "1"; // keep the work directory (wrangler logs)
const work = mkdtempSync(path.join(tmpdir(), "edge402-worker-load-"));
const step = (text) => process.stderr.write(`==> ${text}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (x, digits = 2) => (Number.isFinite(x) ? +x.toFixed(digits) : null);

// ---- processes: every child is tracked and ended, on success, failure and Ctrl-C -------------

const children = new Set();

function track(child, { group }) {
  const entry = { child, group, exited: false };
  child.once("exit", () => {
    entry.exited = true;
  });
  children.add(entry);
  return entry;
}

function signal(entry, sig) {
  if (entry.exited) return;
  try {
    // A wrangler dev runs in its own process group (workerd and its helpers): end all of it.
    if (entry.group) process.kill(-entry.child.pid, sig);
    else entry.child.kill(sig);
  } catch {
    // already gone
  }
}

async function stop(entry) {
  if (!entry || entry.exited) return children.delete(entry);
  signal(entry, "SIGTERM");
  const exited = once(entry.child, "exit");
  if ((await Promise.race([exited.then(() => true), sleep(5000).then(() => false)])) === false) {
    signal(entry, "SIGKILL");
  }
  // workerd may outlive wrangler's node process in the same group
  if (entry.group) {
    try {
      process.kill(-entry.child.pid, "SIGKILL");
    } catch {
      // the group is empty
    }
  }
  children.delete(entry);
}

function killAllNow() {
  for (const entry of children) {
    signal(entry, "SIGKILL");
    if (entry.group) {
      try {
        process.kill(-entry.child.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
  children.clear();
  if (KEEP) process.stderr.write(`work directory kept: ${work}\n`);
  else rmSync(work, { recursive: true, force: true });
}

process.on("exit", killAllNow);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    process.stderr.write(`\n${sig}: stopping wrangler dev and the doubles\n`);
    killAllNow();
    process.exit(130);
  });
}

// ---- helpers -----------------------------------------------------------------------------------

function run(command, args, options) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    const entry = track(child, { group: false });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("exit", (code) => {
      children.delete(entry);
      resolve({ code, output });
    });
  });
}

async function freePort() {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  server.close();
  await once(server, "close");
  return port;
}

const KIB = 1024;
const kb = (kib) => (kib * KIB) / 1000;

// `wrangler deploy --dry-run`: "Total Upload: X KiB / gzip: Y KiB".
async function uploadSize(label, cwd, extraArgs) {
  const outdir = mkdtempSync(path.join(work, `dry-run-${label}-`));
  const { code, output } = await run(WRANGLER, ["deploy", "--dry-run", "--outdir", outdir, ...extraArgs], {
    cwd,
    env: WRANGLER_ENV,
  });
  const match = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/.exec(output);
  if (code !== 0 || !match) {
    return { measured: false, error: output.trim().split("\n").slice(-8).join("\n") };
  }
  return { measured: true, raw_kib: Number(match[1]), gzip_kib: Number(match[2]) };
}

// Starts `wrangler dev --local` in its own process group and waits until `readyPath` answers.
async function wranglerDev(label, cwd, extraArgs, readyPath, expectStatus) {
  const [port, inspector] = [await freePort(), await freePort()];
  const persist = mkdtempSync(path.join(work, `state-${label}-`));
  const logFile = path.join(work, `wrangler-dev-${label}.log`);
  const log = createWriteStream(logFile);
  const args = [
    "dev",
    "--local",
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspector),
    "--persist-to",
    persist,
    "--show-interactive-dev-session=false",
    ...DEV_ARGS,
    ...extraArgs,
  ];
  const child = spawn(WRANGLER, args, { cwd, env: WRANGLER_ENV, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const entry = track(child, { group: true });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (entry.exited) break;
    try {
      const response = await fetch(base + readyPath, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status === expectStatus) return { entry, base, logFile };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) break;
    await sleep(200);
  }
  const tail = readFileSync(logFile, "utf8").trim().split("\n").slice(-20).join("\n");
  await stop(entry);
  throw new Error(`wrangler dev (${label}) did not become ready on ${base}${readyPath}:\n${tail}`);
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

// One load run. Latencies are recorded from autocannon's per-response events (hrtime, in ms),
// not its histogram, whose resolution is 1 ms.
function load(url, headers, seconds) {
  return loadWith({ url, headers, connections: CONNECTIONS, duration: seconds, maxOverallRequests: MAX_REQUESTS, timeout: 10 });
}

async function loadWith(options) {
  const latencies = [];
  const statuses = {};
  const instance = autocannon(options);
  instance.on("response", (_client, statusCode, _bytes, responseTime) => {
    latencies.push(responseTime);
    statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
  });
  const result = await instance;
  return { latencies, statuses, seconds: result.duration, errors: result.errors, timeouts: result.timeouts };
}

// Runs the scenarios in interleaved rounds (c a b d, c a b d, …) after one warm-up each, so
// that a change in background load during the run falls on all of them alike, and pools each
// scenario's rounds.
async function measure(plan) {
  for (const sc of plan) {
    step(`warm-up ${sc.label}: ${WARMUP_SECONDS} s`);
    await load(sc.url, sc.headers, WARMUP_SECONDS);
  }
  const pooled = Object.fromEntries(
    plan.map((sc) => [sc.name, { latencies: [], statuses: {}, seconds: 0, errors: 0, timeouts: 0 }]),
  );
  for (let round = 1; round <= ROUNDS; round += 1) {
    for (const sc of plan) {
      step(`round ${round}/${ROUNDS} ${sc.label}: ${CONNECTIONS} connections, ${SECONDS / ROUNDS} s`);
      const r = await load(sc.url, sc.headers, SECONDS / ROUNDS);
      const p = pooled[sc.name];
      for (const x of r.latencies) p.latencies.push(x);
      for (const [code, n] of Object.entries(r.statuses)) p.statuses[code] = (p.statuses[code] ?? 0) + n;
      p.seconds += r.seconds;
      p.errors += r.errors;
      p.timeouts += r.timeouts;
    }
  }
  return Object.fromEntries(plan.map((sc) => [sc.name, figuresOf(pooled[sc.name], sc.expect)]));
}

/** The figures of one scenario's pooled runs, of which `expect` is the status wanted. */
function figuresOf(p, expect) {
  p.latencies.sort((x, y) => x - y);
  const requests = p.latencies.length;
  return {
    requests,
    seconds: p.seconds,
    rps: requests / p.seconds,
    p50_ms: percentile(p.latencies, 50),
    p99_ms: percentile(p.latencies, 99),
    statuses: p.statuses,
    errors: p.errors,
    timeouts: p.timeouts,
    expect,
    unexpected: requests - (p.statuses[expect] ?? 0) + p.errors + p.timeouts,
  };
}

/** One request per header set in `headersList`, in order, over CONNECTIONS connections. */
async function loadEach(url, headersList) {
  let next = 0;
  const run = await loadWith({
    url,
    connections: CONNECTIONS,
    amount: headersList.length,
    requests: [{ setupRequest: (request) => ({ ...request, headers: { ...request.headers, ...headersList[next++ % headersList.length] } }) }],
    timeout: 10,
  });
  return run;
}

const b64json = (value) => Buffer.from(JSON.stringify(value)).toString("base64");
const unb64json = (text) => JSON.parse(Buffer.from(text, "base64").toString("utf8"));

// ---- 1. sizes ------------------------------------------------------------------------------------

const summary = {
  bench: "worker-load",
  connections: CONNECTIONS,
  seconds_per_scenario: SECONDS,
  rounds: ROUNDS,
  loadavg_1m_at_start: +loadavg()[0].toFixed(2),
};
const notes = [];

// A snapshot of build/, the paywall's static assets and wrangler.toml, so that a rebuild
// running meanwhile cannot change what is measured halfway, and wrangler's .wrangler/ stays out
// of the checkout. index.js imports only ./index_bg.wasm (and cloudflare:workers); the assets
// are uploaded beside the Worker, not in it, so they do not count towards its size.
const EDGE = path.join(work, "edge402");
mkdirSync(path.join(EDGE, "build"), { recursive: true });
for (const file of ["index.js", "index_bg.wasm"]) copyFileSync(path.join(ROOT, "build", file), path.join(EDGE, "build", file));
cpSync(path.join(ROOT, "paywall", "dist"), path.join(EDGE, "paywall", "dist"), { recursive: true });
copyFileSync(path.join(ROOT, "wrangler.toml"), path.join(EDGE, "wrangler.toml"));
const wasmStat = statSync(path.join(EDGE, "build/index_bg.wasm"));
summary.build = { wasm_bytes: wasmStat.size, built_at: statSync(path.join(ROOT, "build/index_bg.wasm")).mtime.toISOString() };

step("upload size: wrangler deploy --dry-run (edge402, a snapshot of build/)");
const edgeSize = await uploadSize("edge402", EDGE, []);
if (!edgeSize.measured) throw new Error(`wrangler deploy --dry-run of edge402 failed:\n${edgeSize.error}`);
step("upload size: wrangler deploy --dry-run (peer: @x402/hono 2.27.0 as a Worker)");
let peerSize = await uploadSize("peer", BENCH, ["-c", "peer/wrangler.toml"]);
if (!peerSize.measured) {
  notes.push(`peer bundle not measured (wrangler failed: ${peerSize.error.split("\n").pop()}); its size is the quoted ${PEER_QUOTED_GZIP_KB} kB gzip`);
  peerSize = { measured: false, quoted: true, gzip_kib: (PEER_QUOTED_GZIP_KB * 1000) / KIB, raw_kib: null };
}
step("upload size: wrangler deploy --dry-run (edge402's npm middleware in a Hono Worker)");
const jsSize = await uploadSize("js-middleware", ROOT, ["-c", "tests/e2e/hono-worker/wrangler.toml"]);
if (!jsSize.measured) notes.push(`js middleware Worker not measured: ${jsSize.error.split("\n").pop()}`);
summary.size = {
  edge402: { raw_kib: edgeSize.raw_kib, gzip_kib: edgeSize.gzip_kib, gzip_kb: +kb(edgeSize.gzip_kib).toFixed(1) },
  peer: {
    what: "@x402/hono 2.27.0 + @x402/core + @x402/evm exact server + hono 4.13.19, no paywall",
    measured: peerSize.measured,
    raw_kib: peerSize.raw_kib,
    gzip_kib: +peerSize.gzip_kib.toFixed(2),
    gzip_kb: +kb(peerSize.gzip_kib).toFixed(1),
  },
  js_middleware: jsSize.measured
    ? {
        what: "edge402 npm package (WASM gateway) + hono, as a plain JS Worker (tests/e2e/hono-worker)",
        raw_kib: jsSize.raw_kib,
        gzip_kib: jsSize.gzip_kib,
        gzip_ratio_vs_peer: +(jsSize.gzip_kib / peerSize.gzip_kib).toFixed(2),
        raw_ratio_vs_peer: peerSize.raw_kib ? +(jsSize.raw_kib / peerSize.raw_kib).toFixed(2) : null,
      }
    : null,
  budget_gzip_kb: BUDGET_GZIP_KB,
  within_budget: kb(edgeSize.gzip_kib) <= BUDGET_GZIP_KB,
  gzip_ratio_vs_peer: +(edgeSize.gzip_kib / peerSize.gzip_kib).toFixed(2),
  raw_ratio_vs_peer: peerSize.raw_kib ? +(edgeSize.raw_kib / peerSize.raw_kib).toFixed(2) : null,
};

// ---- 2. load -------------------------------------------------------------------------------------

step("starting the origin and facilitator test doubles");
const doublesChild = spawn(process.execPath, [path.join(BENCH, "doubles.mjs")], { stdio: ["pipe", "pipe", "inherit"] });
const doubles = track(doublesChild, { group: false });
const [portsLine] = await once(createInterface({ input: doublesChild.stdout }), "line");
const ports = JSON.parse(portsLine);
const originUrl = `http://127.0.0.1:${ports.origin}`;
const facilitatorUrl = `http://127.0.0.1:${ports.facilitator}`;
const counts = async () => (await fetch(`${facilitatorUrl}/_count`)).json();

const config = {
  origin: originUrl,
  facilitator: { url: facilitatorUrl },
  routes: [
    { match: "/free/*", free: true },
    { match: "GET /api/*", price: "$0.001", accepts: [{ network: "base-sepolia", pay_to: PAY_TO }] },
  ],
};

step("starting edge402 under wrangler dev --local");
const edge = await wranglerDev("edge402", EDGE, ["--var", `EDGE402_CONFIG:${JSON.stringify(config)}`], "/free/ready", 200);
const paidUrl = `${edge.base}/api/bench`;
const freeUrl = `${edge.base}/free/bench`;

// The challenge, and one payment for exactly what it offers.
const challenge = await fetch(paidUrl);
await challenge.arrayBuffer();
if (challenge.status !== 402) throw new Error(`GET /api/bench without payment answered ${challenge.status}, not 402`);
const required = unb64json(challenge.headers.get("payment-required"));
const accepted = required.accepts[0];
const account = privateKeyToAccount(generatePrivateKey()); // a throwaway key: the facilitator is a double

/** A v2 payment header for exactly what `offer` offers (edge402's own by default), with a
 * fresh nonce; `spoil` breaks its signature. */
async function signPayment(offer = accepted, { spoil = false } = {}) {
  const accepted = offer;
  const now = Math.floor(Date.now() / 1000);
  const authorization = {
    from: account.address,
    to: accepted.payTo,
    value: accepted.amount,
    validAfter: String(now - 600),
    validBefore: String(now + 3600),
    nonce: `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex")}`,
  };
    const signature = await account.signTypedData(authorizationTypedData(accepted, authorization));
  const sent = spoil ? `${signature.slice(0, 10)}${signature[10] === "0" ? "1" : "0"}${signature.slice(11)}` : signature;
  return { "PAYMENT-SIGNATURE": b64json({ x402Version: 2, accepted, payload: { signature: sent, authorization } }) };
}

/** The first requirement a Worker's 402 at `url` offers. */
async function offerOf(url) {
  const response = await fetch(url);
  await response.arrayBuffer();
  return unb64json(response.headers.get("payment-required")).accepts[0];
}
const paymentHeader = await signPayment();

step("settling one payment, then checking that its retry is served from the receipt");
const first = await fetch(paidUrl, { headers: paymentHeader });
const firstBody = await first.text();
if (first.status !== 200) throw new Error(`the first paid request answered ${first.status}: ${firstBody.slice(0, 300)}`);
await sleep(200); // the receipt is in KV before the answer (the coordinator writes it); KV reads may lag
const retry = await fetch(paidUrl, { headers: paymentHeader });
await retry.arrayBuffer();
const afterRetry = await counts();
if (retry.status !== 200 || afterRetry.settle !== 1) {
  throw new Error(`the retry answered ${retry.status} after ${afterRetry.settle} /settle calls (want 200 after exactly 1)`);
}

// The peer runs at the same time (idle while edge402 is loaded), so that rounds can alternate.
let peer = null;
if (PEER_LOAD) {
  try {
    step("starting the peer (@x402/hono) under wrangler dev --local");
    peer = await wranglerDev("peer", BENCH, ["-c", "peer/wrangler.toml", "--var", `FACILITATOR_URL:${facilitatorUrl}`], "/api/ready", 402);
  } catch (error) {
    notes.push(`peer 402 path not measured: ${String(error.message).split("\n")[0]}`);
  }
}

// The npm middleware in a JS Worker, on the same facilitator double (the 402 path calls none).
let js = null;
if (PEER_LOAD && jsSize.measured) {
  try {
    step("starting the JS Worker with edge402's npm middleware under wrangler dev --local");
    const vars = {
      FACILITATOR_URL: facilitatorUrl,
      PAY_TO,
      TOKEN: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
      NETWORKS: "[]",
      QUOTE_SECRET: "bench-quote-secret-of-at-least-32-bytes",
    };
    const varArgs = Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]);
    js = await wranglerDev("js-middleware", ROOT, ["-c", "tests/e2e/hono-worker/wrangler.toml", ...varArgs], "/weather", 402);
  } catch (error) {
    notes.push(`js middleware 402 path not measured: ${String(error.message).split("\n")[0]}`);
  }
}

const plan = [
  { name: "free", label: "(c) free path, through to the origin", url: freeUrl, headers: {}, expect: 200 },
  { name: "challenge", label: "(a) 402 path", url: paidUrl, headers: {}, expect: 402 },
  { name: "receipt", label: "(b) receipt-cached paid retry", url: paidUrl, headers: paymentHeader, expect: 200 },
];
if (peer) plan.push({ name: "peer_challenge", label: "(d) peer 402 path", url: `${peer.base}/api/bench`, headers: {}, expect: 402 });
if (js) plan.push({ name: "js_challenge", label: "(f) npm middleware 402 path", url: `${js.base}/weather`, headers: {}, expect: 402 });
const scenarios = await measure(plan);
const afterLoad = await counts();
summary.settle_calls = afterLoad.settle;
if (afterLoad.settle !== 1) notes.push(`the facilitator double saw ${afterLoad.settle} /settle calls, not 1: some retries were not served from the receipt`);

// (e) A new payment per request: each is claimed in its payment coordinator (a Durable Object),
// settled once by the facilitator double, and concluded, before the origin's content is
// released. Payments are signed beforehand; the coordinator's share is what the Worker logs
// as `coordinator_ms` (claim + conclude, as its shell timed them).
step(`signing ${FRESH_PAYMENTS} payments for (e)`);
const freshHeaders = [];
for (let i = 0; i < FRESH_PAYMENTS; i += 1) freshHeaders.push(await signPayment());
step(`(e) new payment per request: ${FRESH_PAYMENTS} requests, ${CONNECTIONS} connections`);
const logBefore = readFileSync(edge.logFile, "utf8").length;
scenarios.fresh = figuresOf(await loadEach(paidUrl, freshHeaders), 200);
const afterFresh = await counts();
if (afterFresh.settle - afterLoad.settle !== FRESH_PAYMENTS) {
  notes.push(`(e) made ${afterFresh.settle - afterLoad.settle} /settle calls for ${FRESH_PAYMENTS} payments`);
}
const hops = readFileSync(edge.logFile, "utf8")
  .slice(logBefore)
  .split("\n")
  .filter((line) => line.startsWith("{") && line.includes('"coordinator_ms"') && line.includes('"outcome":"paid"'))
  .map((line) => JSON.parse(line).coordinator_ms)
  .sort((x, y) => x - y);
if (hops.length !== FRESH_PAYMENTS) notes.push(`(e) ${hops.length} log lines with coordinator_ms for ${FRESH_PAYMENTS} payments`);
summary.coordinator_hop = {
  requests: hops.length,
  p50_ms: percentile(hops, 50),
  p99_ms: percentile(hops, 99),
  share_of_paid_p50: +(percentile(hops, 50) / scenarios.fresh.p50_ms).toFixed(2),
  share_of_paid_p99: +(percentile(hops, 99) / scenarios.fresh.p99_ms).toFixed(2),
};

// (g) the npm middleware and (h) the peer, paid the same way: a new payment per request,
// each Worker's own offer, the instant facilitator double; then bad signatures. What each
// costs in facilitator calls is counted by the double.
const PEER_PAYMENTS = Math.min(FRESH_PAYMENTS, 200);
const BAD_PAYMENTS = 20;
summary.calls = {};
for (const [name, worker, url] of [["js", js, js && `${js.base}/weather`], ["peer", peer, peer && `${peer.base}/api/bench`], ["edge402", edge, paidUrl]]) {
  if (!worker) continue;
  const offer = name === "edge402" ? accepted : await offerOf(url);
  const before = await counts();
  if (name !== "edge402") {
    const headers = [];
    for (let i = 0; i < PEER_PAYMENTS; i += 1) headers.push(await signPayment(offer));
    step(`(${name === "js" ? "g" : "h"}) ${name}: new payment per request, ${PEER_PAYMENTS} requests, ${CONNECTIONS} connections`);
    scenarios[`${name}_fresh`] = figuresOf(await loadEach(url, headers), 200);
  }
  const paid = await counts();
  const bad = [];
  for (let i = 0; i < BAD_PAYMENTS; i += 1) bad.push(await signPayment(offer, { spoil: true }));
  const badRun = figuresOf(await loadEach(url, bad), 402);
  const after = await counts();
  const calls = (from, to) => to.verify - from.verify + to.settle - from.settle;
  summary.calls[name] = {
    per_paid: name === "edge402"
      ? +((afterFresh.verify - afterLoad.verify + afterFresh.settle - afterLoad.settle) / FRESH_PAYMENTS).toFixed(2)
      : +(calls(before, paid) / PEER_PAYMENTS).toFixed(2),
    per_bad: +(calls(paid, after) / BAD_PAYMENTS).toFixed(2),
    bad_answered_402: badRun.requests - badRun.unexpected,
  };
}
if (scenarios.js_fresh && scenarios.peer_fresh) {
  const [ours, theirs] = [scenarios.js_fresh, scenarios.peer_fresh];
  summary.js_paid_vs_peer = { rps: round(ours.rps / theirs.rps), p50: round(ours.p50_ms / theirs.p50_ms), p99: round(ours.p99_ms / theirs.p99_ms) };
}

await stop(edge.entry);
if (peer) await stop(peer.entry);
if (js) await stop(js.entry);
await stop(doubles);

for (const [name, s] of Object.entries(scenarios)) {
  if (s.unexpected > 0) notes.push(`${name}: ${s.unexpected} of ${s.requests} responses were not ${s.expect} (statuses ${JSON.stringify(s.statuses)}, errors ${s.errors}, timeouts ${s.timeouts})`);
}

// ---- 3. report -----------------------------------------------------------------------------------

const base = scenarios.free;
summary.load = {};
for (const [name, s] of Object.entries(scenarios)) {
  summary.load[name] = {
    rps: round(s.rps, 0),
    p50_ms: round(s.p50_ms, 3),
    p99_ms: round(s.p99_ms, 3),
    requests: s.requests,
    unexpected: s.unexpected,
    rps_vs_free: round(s.rps / base.rps),
    p50_vs_free: round(s.p50_ms / base.p50_ms),
    p99_vs_free: round(s.p99_ms / base.p99_ms),
  };
}
if (scenarios.peer_challenge) {
  const [ours, theirs] = [scenarios.challenge, scenarios.peer_challenge];
  summary.challenge_vs_peer = { rps: round(ours.rps / theirs.rps), p50: round(ours.p50_ms / theirs.p50_ms), p99: round(ours.p99_ms / theirs.p99_ms) };
}
if (scenarios.peer_challenge && scenarios.js_challenge) {
  const [ours, theirs] = [scenarios.js_challenge, scenarios.peer_challenge];
  summary.js_challenge_vs_peer = { rps: round(ours.rps / theirs.rps), p50: round(ours.p50_ms / theirs.p50_ms), p99: round(ours.p99_ms / theirs.p99_ms) };
}
summary.loadavg_1m_at_end = +loadavg()[0].toFixed(2);
summary.notes = notes;
summary.run_seconds = Math.round((Date.now() - started) / 1000);

const pad = (text, width) => String(text).padEnd(width);
const lpad = (text, width) => String(text).padStart(width);
const s = summary.size;
const peerMark = s.peer.measured ? "measured" : "QUOTED, not measured";
console.log("");
console.log("Upload size (wrangler deploy --dry-run)        raw KiB   gzip KiB   gzip kB");
console.log(`  edge402 (build/)                             ${lpad(s.edge402.raw_kib.toFixed(2), 7)}   ${lpad(s.edge402.gzip_kib.toFixed(2), 8)}   ${lpad(s.edge402.gzip_kb.toFixed(1), 7)}`);
console.log(`  peer: @x402/hono 2.27.0 Worker, no paywall   ${lpad(s.peer.raw_kib ? s.peer.raw_kib.toFixed(2) : "-", 7)}   ${lpad(s.peer.gzip_kib.toFixed(2), 8)}   ${lpad(s.peer.gzip_kb.toFixed(1), 7)}   (${peerMark})`);
if (s.js_middleware) {
  console.log(`  edge402 npm middleware in a Hono JS Worker   ${lpad(s.js_middleware.raw_kib.toFixed(2), 7)}   ${lpad(s.js_middleware.gzip_kib.toFixed(2), 8)}   ${lpad(kb(s.js_middleware.gzip_kib).toFixed(1), 7)}   (vs peer: gzip ${s.js_middleware.gzip_ratio_vs_peer}x, raw ${s.js_middleware.raw_ratio_vs_peer}x)`);
}
console.log(`  budget                                                              ${lpad(BUDGET_GZIP_KB.toFixed(1), 7)}`);
console.log(`  edge402 / peer: gzip ${s.gzip_ratio_vs_peer}x, raw ${s.raw_ratio_vs_peer ?? "-"}x; ${s.within_budget ? "within" : "OVER"} the gzip budget`);
console.log("");
console.log(`Load: autocannon, ${CONNECTIONS} connections, ${SECONDS} s each (${ROUNDS} interleaved rounds, after ${WARMUP_SECONDS} s warm-up), wrangler dev --local on 127.0.0.1`);
console.log(`  ${pad("scenario", 40)}${lpad("req/s", 8)}${lpad("p50 ms", 9)}${lpad("p99 ms", 9)}   ${pad("vs (c): req/s  p50   p99", 26)}  bad`);
const names = {
  free: "(c) free, through to origin (baseline)",
  challenge: "(a) 402 challenge",
  receipt: "(b) receipt-cached paid retry",
  peer_challenge: "(d) peer @x402/hono 402 challenge",
  js_challenge: "(f) npm middleware 402 challenge",
  fresh: "(e) new payment each request",
  js_fresh: "(g) npm middleware, new payment each",
  peer_fresh: "(h) peer, new payment each request",
};
for (const [name, l] of Object.entries(summary.load)) {
  console.log(
    `  ${pad(names[name], 40)}${lpad(l.rps, 8)}${lpad(l.p50_ms.toFixed(2), 9)}${lpad(l.p99_ms.toFixed(2), 9)}   ${pad(`       ${l.rps_vs_free.toFixed(2)}  ${l.p50_vs_free.toFixed(2)}  ${l.p99_vs_free.toFixed(2)}`, 26)}  ${l.unexpected}`,
  );
}
if (summary.challenge_vs_peer) {
  const c = summary.challenge_vs_peer;
  console.log(`  edge402 402 path vs peer 402 path: req/s ${c.rps}x, p50 ${c.p50}x, p99 ${c.p99}x`);
}
if (summary.js_challenge_vs_peer) {
  const c = summary.js_challenge_vs_peer;
  console.log(`  npm middleware 402 path vs peer 402 path: req/s ${c.rps}x, p50 ${c.p50}x, p99 ${c.p99}x`);
}
if (summary.js_paid_vs_peer) {
  const c = summary.js_paid_vs_peer;
  console.log(`  npm middleware paid path vs peer paid path (instant facilitator): req/s ${c.rps}x, p50 ${c.p50}x, p99 ${c.p99}x`);
}
for (const [name, c] of Object.entries(summary.calls)) {
  console.log(`  facilitator calls, ${name}: ${c.per_paid} per paid request, ${c.per_bad} per bad signature (${c.bad_answered_402}/${BAD_PAYMENTS} answered 402)`);
}
console.log(`  /settle calls seen by the facilitator double in (a)-(d): ${summary.settle_calls} (1 = every retry served from the receipt)`);
const hop = summary.coordinator_hop;
console.log(`  (e) payment coordinator hop (claim + conclude, from the Worker's log): p50 ${hop.p50_ms} ms, p99 ${hop.p99_ms} ms = ${hop.share_of_paid_p50}x / ${hop.share_of_paid_p99}x of (e)'s p50 / p99`);
console.log(`  (e) vs (b), a new payment vs a receipt-cached one: p50 ${round(scenarios.fresh.p50_ms / scenarios.receipt.p50_ms)}x, p99 ${round(scenarios.fresh.p99_ms / scenarios.receipt.p99_ms)}x`);
for (const note of notes) console.log(`  NOTE: ${note}`);
console.log(`  load average (1 min) ${summary.loadavg_1m_at_start} at start, ${summary.loadavg_1m_at_end} at end; edge402 build of ${summary.build.built_at}, .wasm ${summary.build.wasm_bytes} bytes`);
console.log(`  run time ${summary.run_seconds} s (this script; the build is before it)`);
console.log("");
console.log(JSON.stringify(summary));
process.exitCode = notes.some((n) => !n.startsWith("peer") && !n.startsWith("js middleware")) ? 1 : 0;
