// The body of benches/side-by-side.sh (run it through that script, which builds edge402's
// Worker and installs the pinned packages first):
//
//   node bench.mjs <repo root> [verify.json]
//
// edge402's zero-code Worker and the official x402 middleware (@x402/hono 2.27.0 as a Worker,
// peer/), side by side in one run on one machine, both under `wrangler dev --local`, both in
// front of the same origin double, both settling through the same facilitator:
//
//   upload       raw and gzip, `wrangler deploy --dry-run` of each
//   cold start   the first answer after `wrangler dev` starts listening (the isolate's first
//                request: module instantiation, the configuration read), 3 starts each
//   load         autocannon on loopback, in interleaved rounds, each a ratio per round:
//                  floor      a do-nothing Worker answering a fixed 402 (floor/): the harness's limit
//                  free       a free path, through to the origin
//                  challenge  the 402 of a priced path without payment (and edge402's with the
//                             paywall's assets bound, which routes every request through the
//                             Workers Static Assets router first)
//                  hostile    a payment whose signature is broken
//                  receipt    a payment settled once, sent again (the peer has no receipts: the
//                             facilitator refuses the used nonce and it answers 402)
//                  paid       a new payment per request: settled by an instant facilitator double
//                             (the gateway's own cost) and by the real stack (stack/: the reference
//                             facilitator on a local chain), each request signed beforehand; and
//                             by the real stack at a distance (a round trip of 2 x
//                             EDGE402_BENCH_FACILITATOR_MS added to each call, as a facilitator
//                             elsewhere on the network would be)
//                requests/s, p50/p99 latency, and workerd CPU per request (the workerd processes'
//                own user+system time, from /proc, during the load); facilitator calls per
//                paid and per bad request, counted by the double; for the paid requests with
//                the real stack, the facilitator's own durations (its log) and edge402's waits
//                (its log lines), and the floor's Durable Object calls paced as they are
//   isolates     V8's sampling profiler over each gateway's isolate (wrangler dev's inspector)
//                during paid requests one at a time: its busy time per request, by kind
//   verify       edge402's WASM verifyPayment vs viem in Node (benches/wasm-vs-viem.sh), if given
//
// Writes benches/results/side-by-side.json and benches/results/side-by-side.svg (the chart the
// README shows), and prints a table. Every figure is edge402 / peer from the same run (or vs
// the floor), with the spread of the rounds.
import { spawn, execFileSync } from "node:child_process";
import { once } from "node:events";
import { copyFileSync, cpSync, createWriteStream, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

import autocannon from "autocannon";
import { privateKeyToAccount } from "viem/accounts";
import WebSocket from "ws";
import { authorizationTypedData } from "../../tests/worker/x402-client.js";
import { chart } from "./chart.mjs";

const ROOT = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), "../.."));
const VERIFY_JSON = process.argv[3];
const BENCH = path.join(ROOT, "benches/side-by-side");
const RESULTS = path.join(ROOT, "benches/results");
const WRANGLER = path.join(ROOT, "node_modules/.bin/wrangler");
const ENV = process.env;
/** Interleaved rounds, and each load scenario's seconds per round (after one warm-up). */
const ROUNDS = Number(ENV.EDGE402_BENCH_ROUNDS ?? 3);
const SECONDS = Number(ENV.EDGE402_BENCH_SECONDS ?? 4);
const WARMUP_SECONDS = 2;
const CONNECTIONS = Number(ENV.EDGE402_BENCH_CONNECTIONS ?? 4);
/** Bounds by count: requests of one load run, new payments per round and Worker. */
const MAX_REQUESTS = 100_000;
const PAID_INSTANT = Number(ENV.EDGE402_BENCH_PAID ?? 150);
const PAID_REAL = Number(ENV.EDGE402_BENCH_PAID_REAL ?? 30);
/** The floor's requests, one per paid request of a round: no header of their own. */
const plain = Array.from({ length: PAID_REAL }, () => ({}));
/** The one-way delay (ms) of the distant facilitator: its round trip is twice this. */
const FACILITATOR_MS = Number(ENV.EDGE402_BENCH_FACILITATOR_MS ?? 15);
const BAD_PAYMENTS = 20;
const COLD_STARTS = Number(ENV.EDGE402_BENCH_COLD_STARTS ?? 3);
const READY_TIMEOUT_MS = 90_000;
const WRANGLER_ENV = { ...ENV, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1", FORCE_COLOR: "0" };
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());

const started = Date.now();
const work = mkdtempSync(path.join(tmpdir(), "edge402-side-by-side-"));
const step = (text) => process.stderr.write(`==> ${text}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (x, digits = 2) => (Number.isFinite(x) ? +x.toFixed(digits) : null);

// ---- processes: every child is tracked and ended, on success, failure and Ctrl-C -------------

const children = new Set();

function track(child, group) {
  const entry = { child, group, exited: false };
  child.once("exit", () => {
    entry.exited = true;
  });
  children.add(entry);
  return entry;
}

function kill(entry, sig) {
  try {
    // A wrangler dev runs in its own process group (workerd and its helpers): end all of it.
    if (entry.group) process.kill(-entry.child.pid, sig);
    else if (!entry.exited) entry.child.kill(sig);
  } catch {
    // already gone
  }
}

async function stop(entry) {
  if (!entry) return;
  if (!entry.exited) {
    kill(entry, "SIGTERM");
    await Promise.race([once(entry.child, "exit"), sleep(5000)]);
  }
  kill(entry, "SIGKILL"); // workerd may outlive wrangler's node process in the group
  children.delete(entry);
}

function killAll() {
  for (const entry of children) kill(entry, "SIGKILL");
  children.clear();
  rmSync(work, { recursive: true, force: true });
}

process.on("exit", killAll);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    process.stderr.write(`\n${sig}: stopping everything started\n`);
    killAll();
    process.exit(130);
  });
}

// ---- helpers ---------------------------------------------------------------------------------

function run(command, args, options) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    const entry = track(child, false);
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

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function listening(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

const KIB = 1024;

/** `wrangler deploy --dry-run`: "Total Upload: X KiB / gzip: Y KiB". */
async function uploadSize(label, cwd, args) {
  const outdir = mkdtempSync(path.join(work, `dry-run-${label}-`));
  const { code, output } = await run(WRANGLER, ["deploy", "--dry-run", "--outdir", outdir, ...args], { cwd, env: WRANGLER_ENV });
  const match = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/.exec(output);
  if (code !== 0 || !match) throw new Error(`wrangler deploy --dry-run (${label}) failed:\n${output.trim().split("\n").slice(-10).join("\n")}`);
  return { raw_kib: Number(match[1]), gzip_kib: Number(match[2]) };
}

/**
 * Starts `wrangler dev --local` for `worker` (`{label, cwd, args}`) in its own process group.
 * Resolves once its port accepts connections (`listened_ms` after the spawn), without sending
 * a request: the caller's first request is the isolate's first.
 */
async function wranglerDev(worker) {
  const [port, inspector] = [await freePort(), await freePort()];
  const persist = mkdtempSync(path.join(work, `state-${worker.label}-`));
  const logFile = path.join(work, `wrangler-${worker.label}-${port}.log`);
  const log = createWriteStream(logFile);
  const args = [
    "dev", "--local", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspector),
    "--persist-to", persist, "--show-interactive-dev-session=false", `--log-level=${worker.logLevel ?? "warn"}`, ...worker.args,
  ];
  const spawned = Date.now();
  const child = spawn(WRANGLER, args, { cwd: worker.cwd, env: WRANGLER_ENV, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const entry = track(child, true);
  const deadline = spawned + READY_TIMEOUT_MS;
  while (!entry.exited && Date.now() < deadline) {
    if (await listening(port)) {
      return { entry, base: `http://127.0.0.1:${port}`, inspector, logFile, listened_ms: Date.now() - spawned, pgid: child.pid };
    }
    await sleep(50);
  }
  const tail = readFileSync(logFile, "utf8").trim().split("\n").slice(-20).join("\n");
  await stop(entry);
  throw new Error(`wrangler dev (${worker.label}) did not listen on ${port}:\n${tail}`);
}

/** The CPU time (ms) the workerd processes of process group `pgid` have used so far. */
function workerdCpuMs(pgid) {
  let ticks = 0;
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue; // gone
    }
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // After the comm: state(3) ppid(4) pgrp(5) … utime(14) stime(15), numbered as in proc(5).
    if (comm === "workerd" && Number(fields[2]) === pgid) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1000) / CLK_TCK;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * One load run against `worker` with autocannon `options`; latencies from its per-response
 * events (hrtime, ms), not its 1 ms histogram; workerd CPU from /proc around it.
 */
async function loadRun(worker, options, expect) {
  const latencies = [];
  const statuses = {};
  const cpuBefore = workerdCpuMs(worker.pgid);
  // From the first request sent to the last answer: autocannon's own duration ends on its
  // next whole-second tick, too coarse for the runs bounded by count.
  let first = Infinity;
  let last = 0;
  const instance = autocannon({ connections: CONNECTIONS, timeout: 10, ...options });
  instance.on("response", (_client, statusCode, _bytes, responseTime) => {
    last = performance.now();
    first = Math.min(first, last - responseTime);
    latencies.push(responseTime);
    statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
  });
  const result = await instance;
  const seconds = (last - first) / 1000;
  const run = summarised(latencies, workerdCpuMs(worker.pgid) - cpuBefore);
  return {
    ...run,
    rps: run.requests ? run.requests / seconds : 0,
    unexpected: run.requests - (statuses[expect] ?? 0) + result.errors + result.timeouts,
    statuses,
  };
}

/** A run's count, p50 and p99 of its `latencies` (sorted here), and workerd's `cpuMs` per request. */
function summarised(latencies, cpuMs) {
  latencies.sort((a, b) => a - b);
  const requests = latencies.length;
  return {
    requests,
    p50_ms: percentile(latencies, 50),
    p99_ms: percentile(latencies, 99),
    cpu_ms_per_request: requests ? cpuMs / requests : NaN,
  };
}

/** Load for `seconds` with fixed `headers`, bounded by count too. */
const loadFor = (worker, url, headers, seconds, expect) =>
  loadRun(worker, { url, headers, duration: seconds, maxOverallRequests: MAX_REQUESTS }, expect);

/** One request per header set in `list`, in order, over `connections` connections. */
function loadEach(worker, url, list, expect, connections = CONNECTIONS) {
  let next = 0;
  const requests = [{ setupRequest: (request) => ({ ...request, headers: { ...request.headers, ...list[next++ % list.length] } }) }];
  return loadRun(worker, { url, connections, amount: list.length, requests }, expect);
}

/**
 * One request to `url` per header set in `list`, one at a time, each `gapMs` after the
 * previous answer: paced as the paid requests are, whose claims come one paid request apart
 * (a Durable Object call after the isolate idled costs more than one right after another).
 */
async function pacedEach(worker, url, list, gapMs, expect) {
  const latencies = [];
  let unexpected = 0;
  const cpuBefore = workerdCpuMs(worker.pgid);
  for (const headers of list) {
    await sleep(gapMs);
    const started = performance.now();
    try {
      const response = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
      await response.arrayBuffer();
      if (response.status !== expect) unexpected += 1;
    } catch {
      unexpected += 1;
    }
    latencies.push(performance.now() - started);
  }
  return { ...summarised(latencies, workerdCpuMs(worker.pgid) - cpuBefore), unexpected };
}

/** A DevTools protocol session with `worker`'s isolate, through wrangler dev's inspector. */
async function inspect(worker) {
  const [target] = await (await fetch(`http://127.0.0.1:${worker.inspector}/json`)).json();
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  await once(socket, "open");
  const waiting = new Map();
  socket.on("message", (data) => {
    const message = JSON.parse(data);
    const settle = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.error) settle?.reject(new Error(`${message.error.message} (the inspector)`));
    else settle?.resolve(message.result);
  });
  let last = 0;
  return {
    send: (method, params = {}) => new Promise((resolve, reject) => {
      last += 1;
      waiting.set(last, { resolve, reject });
      socket.send(JSON.stringify({ id: last, method, params }));
    }),
    close: () => socket.close(),
  };
}

/** V8's sampling interval for `isolateTime`, in µs. */
const SAMPLE_US = 50;

/**
 * The time `worker`'s isolate is busy per request of `pacedEach(worker, url, list, gapMs)`,
 * from V8's sampling profiler, by kind: its JavaScript, its WASM, the runtime's named native
 * functions (workerd's APIs and the crossings), of which `fetch` (every call of it: outbound
 * requests and Durable Object stubs alike) separately, the collector, and "(program)" (native
 * time V8 cannot name, which may include workerd's own work on the thread). A sample weighs
 * the time to the next one, at most twice the interval: a longer gap holds time workerd spent
 * outside this isolate (its objects' and KV's storage, other Workers).
 */
async function isolateTime(worker, url, list, gapMs, expect) {
  const session = await inspect(worker);
  await session.send("Profiler.enable");
  await session.send("Profiler.setSamplingInterval", { interval: SAMPLE_US });
  await session.send("Profiler.start");
  const run = await pacedEach(worker, url, list, gapMs, expect);
  const { profile } = await session.send("Profiler.stop");
  session.close();
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const unnamed = { "(garbage collector)": "gc", "(program)": "program" };
  const ms = { js: 0, wasm: 0, runtime: 0, runtime_fetch: 0, gc: 0, program: 0 };
  profile.samples.forEach((id, i) => {
    const frame = frames.get(id);
    if (frame.functionName === "(idle)") return;
    const weight = Math.min(profile.timeDeltas[i + 1] ?? 0, 2 * SAMPLE_US) / 1000;
    const kind = frame.url.startsWith("wasm://") ? "wasm" : frame.url ? "js" : unnamed[frame.functionName] ?? "runtime";
    ms[kind] += weight;
    if (kind === "runtime" && frame.functionName === "fetch") ms.runtime_fetch += weight;
  });
  const per = (value) => round(value / list.length, 3);
  return {
    busy_ms: per(ms.js + ms.wasm + ms.runtime + ms.gc + ms.program),
    ...Object.fromEntries(Object.entries(ms).map(([kind, value]) => [`${kind}_ms`, per(value)])),
    unexpected: run.unexpected,
  };
}

/** What edge402's log line says a request waited for, by service. */
const WAITED = ["coordinator_ms", "facilitator_ms", "kv_ms", "origin_ms"];

/**
 * The p50 of what edge402's log lines of paid requests say each one waited for (the claim,
 * the facilitator, the receipt store, the origin): the whole lines wrangler wrote to `logFile`
 * after `offset`, once `count` of them are there (they arrive a moment after the answers) or
 * 5 s have passed.
 */
async function waitedOf(logFile, offset, count) {
  const paidLines = () => {
    const text = readFileSync(logFile, "utf8").slice(offset);
    return text.slice(0, text.lastIndexOf("\n") + 1).split("\n")
      .map((line) => line.slice(line.indexOf("{")))
      .filter((line) => line.includes('"outcome":"paid"'));
  };
  const deadline = Date.now() + 5_000;
  while (paidLines().length < count && Date.now() < deadline) await sleep(100);
  const records = paidLines().map((line) => JSON.parse(line));
  return Object.fromEntries(WAITED.map((field) => [field, median(records.map((record) => record[field]))]));
}

const b64json = (value) => Buffer.from(JSON.stringify(value)).toString("base64");
const unb64json = (text) => JSON.parse(Buffer.from(text, "base64").toString("utf8"));

/** The median and the spread (min, max) of `values`. */
/** The median of the finite `values`. */
const median = (values) => percentile(values.filter(Number.isFinite).sort((a, b) => a - b), 50);

function spread(values) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  return { median: round(percentile(sorted, 50), 3), min: round(sorted[0], 3), max: round(sorted.at(-1), 3) };
}

// ---- 1. sizes ----------------------------------------------------------------------------------

const summary = {
  bench: "side-by-side",
  machine: { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadavg_1m_at_start: round(loadavg()[0]) },
  rounds: ROUNDS,
  seconds_per_scenario_per_round: SECONDS,
  connections: CONNECTIONS,
};
const notes = [];

// A snapshot of build/, the paywall's assets and wrangler.toml: a rebuild meanwhile cannot
// change what is measured, and wrangler's .wrangler/ stays out of the checkout.
const EDGE = path.join(work, "edge402");
mkdirSync(path.join(EDGE, "build"), { recursive: true });
for (const file of ["index.js", "index_bg.wasm"]) copyFileSync(path.join(ROOT, "build", file), path.join(EDGE, "build", file));
cpSync(path.join(ROOT, "paywall", "dist"), path.join(EDGE, "paywall", "dist"), { recursive: true });
copyFileSync(path.join(ROOT, "wrangler.toml"), path.join(EDGE, "wrangler.toml"));
summary.versions = {
  wrangler: JSON.parse(readFileSync(path.join(ROOT, "node_modules/wrangler/package.json"), "utf8")).version,
  workerd: JSON.parse(readFileSync(path.join(ROOT, "node_modules/workerd/package.json"), "utf8")).version,
  peer: "@x402/hono " + JSON.parse(readFileSync(path.join(BENCH, "node_modules/@x402/hono/package.json"), "utf8")).version,
  edge402_build: statSync(path.join(ROOT, "build/index_bg.wasm")).mtime.toISOString(),
  edge402_wasm_bytes: statSync(path.join(EDGE, "build/index_bg.wasm")).size,
};

step("upload sizes: wrangler deploy --dry-run of edge402 (build/) and of the peer");
const sizes = {
  edge402: await uploadSize("edge402", EDGE, []),
  peer: await uploadSize("peer", BENCH, ["-c", "peer/wrangler.toml"]),
};
summary.upload = {
  ...sizes,
  raw_ratio: round(sizes.edge402.raw_kib / sizes.peer.raw_kib),
  gzip_ratio: round(sizes.edge402.gzip_kib / sizes.peer.gzip_kib),
};

// ---- 2. services: the stack (real facilitator), the doubles (origin, instant facilitator) ------

step("starting the local settlement stack (chain, token, reference facilitator)");
const stackChild = spawn(process.execPath, ["--require", "./lib/exit-with-parent.cjs", "start.mjs", "--chain-port", "0", "--facilitator-port", "0"], {
  cwd: path.join(ROOT, "stack"),
  stdio: ["pipe", "pipe", "pipe"],
});
const stackEntry = track(stackChild, false);
let stackLog = "";
/** The facilitator's own durations (its log: `POST /settle … (N ms)`), in order. */
const facilitatorCalls = [];
stackChild.stderr.on("data", (d) => {
  stackLog = (stackLog + d).slice(-20_000);
  for (const [, op, ms] of String(d).matchAll(/POST \/(settle|verify) .*\((\d+) ms\)/g)) facilitatorCalls.push({ op, ms: Number(ms) });
});
const stackLine = await Promise.race([
  once(createInterface({ input: stackChild.stdout }), "line").then(([line]) => line),
  once(stackChild, "exit").then(() => {
    throw new Error(`the stack exited before it was ready:\n${stackLog}`);
  }),
]);
const stack = JSON.parse(stackLine);

step("starting the origin and instant-facilitator doubles");
const doublesArgs = [path.join(BENCH, "doubles.mjs"), stack.facilitatorUrl, String(FACILITATOR_MS)];
const doublesChild = spawn(process.execPath, doublesArgs, { stdio: ["pipe", "pipe", "inherit"] });
const doubles = track(doublesChild, false);
const [portsLine] = await once(createInterface({ input: doublesChild.stdout }), "line");
const ports = JSON.parse(portsLine);
const originUrl = `http://127.0.0.1:${ports.origin}`;
const instantUrl = `http://127.0.0.1:${ports.facilitator}`;
const distantUrl = `http://127.0.0.1:${ports.distant}`;
const counts = async () => (await fetch(`${instantUrl}/_count`)).json();

/** The Workers, each with its facilitator. */
function edgeWorker(label, facilitator) {
  const config = {
    origin: originUrl,
    facilitator: { url: facilitator },
    networks: [{
      chain_id: stack.chainId,
      rpc_url: stack.rpcUrl,
      assets: [{ address: stack.token, name: stack.eip712.name, version: stack.eip712.version, decimals: stack.decimals, usd_stable: true }],
    }],
    routes: [
      { match: "/free/*", free: true },
      { match: "GET /api/*", price: "$0.001", accepts: [{ network: stack.network, pay_to: stack.payTo, asset: stack.token }] },
    ],
  };
  return { label, cwd: EDGE, args: ["--var", `EDGE402_CONFIG:${JSON.stringify(config)}`] };
}

/**
 * An edge402 Worker whose log lines reach its log file (read for the paid accounting). The
 * Worker writes a line per paid request whatever the level, as when deployed; the level only
 * decides whether wrangler prints it, a cost the peer, which logs nothing, does not bear.
 */
const logged = (worker) => ({ ...worker, logLevel: "log" });

function peerWorker(label, facilitator) {
  const vars = { FACILITATOR_URL: facilitator, ORIGIN_URL: originUrl, PAY_TO: stack.payTo, TOKEN: stack.token };
  return { label, cwd: BENCH, args: ["-c", "peer/wrangler.toml", ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`])] };
}

const FLOOR = { label: "floor", cwd: BENCH, args: ["-c", "floor/wrangler.toml"] };

/** `worker` with the paywall's script and WASM bound as Workers Static Assets. */
function withAssets(worker) {
  return { ...worker, args: [...worker.args, "--assets", path.join(EDGE, "paywall", "dist")] };
}

// ---- 3. cold starts ---------------------------------------------------------------------------

/** The first answer's latency after `wrangler dev` listens, `COLD_STARTS` times. */
async function coldStarts(worker, pathname) {
  const firsts = [];
  for (let i = 0; i < COLD_STARTS; i += 1) {
    const dev = await wranglerDev(worker);
    const t0 = performance.now();
    const response = await fetch(`${dev.base}${pathname}`, { signal: AbortSignal.timeout(30_000) });
    await response.arrayBuffer();
    firsts.push(performance.now() - t0);
    await stop(dev.entry);
  }
  return spread(firsts);
}

step(`cold starts: ${COLD_STARTS} fresh wrangler dev each, the first answer's latency`);
summary.cold_start_ms = {
  floor: await coldStarts(FLOOR, "/api/bench"),
  edge402: await coldStarts(edgeWorker("edge402-cold", instantUrl), "/api/bench"),
  peer: await coldStarts(peerWorker("peer-cold", instantUrl), "/api/bench"),
};
summary.cold_start_ms.ratio = round(summary.cold_start_ms.edge402.median / summary.cold_start_ms.peer.median);

// ---- 4. the Workers under load -----------------------------------------------------------------

step("starting the Workers: floor; edge402 and peer on the instant facilitator; both on the stack's, near and distant");
const workers = {};
for (const [name, worker] of [
  ["floor", FLOOR],
  ["edge402", edgeWorker("edge402", instantUrl)],
  ["edge402_assets", withAssets(edgeWorker("edge402-assets", instantUrl))],
  ["peer", peerWorker("peer", instantUrl)],
  ["edge402_real", logged(edgeWorker("edge402-real", stack.facilitatorUrl))],
  ["peer_real", peerWorker("peer-real", stack.facilitatorUrl)],
  ["edge402_distant", logged(edgeWorker("edge402-distant", distantUrl))],
  ["peer_distant", peerWorker("peer-distant", distantUrl)],
]) {
  workers[name] = await wranglerDev(worker);
}
for (const w of Object.values(workers)) {
  const response = await fetch(`${w.base}/api/bench`);
  await response.arrayBuffer();
  if (response.status !== 402) throw new Error(`${w.base}/api/bench answered ${response.status}, not 402`);
}

// Payments: for each Worker, what its own 402 offers, signed by the stack's first buyer.
const buyer = privateKeyToAccount(stack.buyers[0].privateKey);
async function offerOf(worker) {
  const response = await fetch(`${worker.base}/api/bench`);
  await response.arrayBuffer();
  return unb64json(response.headers.get("payment-required")).accepts[0];
}

/** A v2 payment header for exactly `accepted`, with a fresh nonce; `spoil` breaks its signature. */
async function payment(accepted, { spoil = false } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const authorization = {
    from: buyer.address,
    to: accepted.payTo,
    value: accepted.amount,
    validAfter: String(now - 600),
    validBefore: String(now + 3600),
    nonce: `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex")}`,
  };
  const signature = await buyer.signTypedData(authorizationTypedData(accepted, authorization));
  const sent = spoil ? `${signature.slice(0, 10)}${signature[10] === "0" ? "1" : "0"}${signature.slice(11)}` : signature;
  return { "PAYMENT-SIGNATURE": b64json({ x402Version: 2, accepted, payload: { signature: sent, authorization } }) };
}

/** `count` payments for `accepted`, each with its own nonce, signed one after another. */
async function payments(accepted, count, options) {
  const list = [];
  for (let i = 0; i < count; i += 1) list.push(await payment(accepted, options));
  return list;
}

const offers = { edge402: await offerOf(workers.edge402), peer: await offerOf(workers.peer) };
for (const name of ["edge402_real", "peer_real", "edge402_distant", "peer_distant"]) offers[name] = await offerOf(workers[name]);

// One payment each, settled once; the load sends it again.
step("settling one payment at each Worker, for the receipt scenario");
const settledHeaders = {};
for (const name of ["edge402", "peer"]) {
  settledHeaders[name] = await payment(offers[name]);
  const first = await fetch(`${workers[name].base}/api/bench`, { headers: settledHeaders[name] });
  const text = await first.text();
  if (first.status !== 200) throw new Error(`${name}'s first payment answered ${first.status}: ${text.slice(0, 300)}`);
}
await sleep(300); // edge402's receipt reaches KV before the answer; reads may lag a moment
const badHeaders = { edge402: await payment(offers.edge402, { spoil: true }), peer: await payment(offers.peer, { spoil: true }) };

const SCENARIOS = [
  { name: "free", path: "/free/bench", headers: () => ({}), expect: 200 },
  { name: "challenge", path: "/api/bench", headers: () => ({}), expect: 402 },
  { name: "hostile", path: "/api/bench", headers: (w) => badHeaders[w], expect: 402 },
  { name: "receipt", path: "/api/bench", headers: (w) => settledHeaders[w], expect: { edge402: 200, peer: 402 } },
];
const expectOf = (sc, w) => (typeof sc.expect === "object" ? sc.expect[w] : sc.expect);

step(`warm-up: ${WARMUP_SECONDS} s of each scenario at each Worker`);
await loadFor(workers.floor, `${workers.floor.base}/api/bench`, {}, WARMUP_SECONDS, 402);
for (const sc of SCENARIOS) {
  for (const w of ["edge402", "peer"]) await loadFor(workers[w], `${workers[w].base}${sc.path}`, sc.headers(w), WARMUP_SECONDS, expectOf(sc, w));
}

const rounds = [];
for (let r = 0; r < ROUNDS; r += 1) {
  const order = r % 2 === 0 ? ["edge402", "peer"] : ["peer", "edge402"];
  const result = { floor: {}, edge402: {}, peer: {}, edge402_assets: {} };
  step(`round ${r + 1}/${ROUNDS}: floor`);
  result.floor.challenge = await loadFor(workers.floor, `${workers.floor.base}/api/bench`, {}, SECONDS, 402);
  step(`round ${r + 1}/${ROUNDS}: challenge at edge402 with the paywall's assets bound`);
  const assets = workers.edge402_assets;
  result.edge402_assets.challenge = await loadFor(assets, `${assets.base}/api/bench`, {}, SECONDS, 402);
  for (const sc of SCENARIOS) {
    for (const w of order) {
      step(`round ${r + 1}/${ROUNDS}: ${sc.name} at ${w}, ${SECONDS} s`);
      result[w][sc.name] = await loadFor(workers[w], `${workers[w].base}${sc.path}`, sc.headers(w), SECONDS, expectOf(sc, w));
    }
  }
  for (const w of order) {
    const list = await payments(offers[w], PAID_INSTANT);
    step(`round ${r + 1}/${ROUNDS}: ${PAID_INSTANT} new payments at ${w} (instant facilitator)`);
    result[w].paid = await loadEach(workers[w], `${workers[w].base}/api/bench`, list, 200);
  }
  for (const [sc, where] of [["paid_real", "the stack's facilitator"], ["paid_distant", `the stack's facilitator, ${2 * FACILITATOR_MS} ms away`]]) {
    for (const w of order) {
      const name = `${w}_${sc.slice("paid_".length)}`;
      const list = await payments(offers[name], PAID_REAL);
      step(`round ${r + 1}/${ROUNDS}: ${PAID_REAL} new payments at ${w}, one at a time (${where})`);
      const first = facilitatorCalls.length;
      const logOffset = readFileSync(workers[name].logFile, "utf8").length;
      result[w][sc] = await loadEach(workers[name], `${workers[name].base}/api/bench`, list, 200, 1);
      // edge402's own log lines: the time each paid request waited for its services.
      if (w === "edge402") result[w][sc].waited_p50_ms = await waitedOf(workers[name].logFile, logOffset, list.length);
      // What the facilitator itself took for these requests' calls.
      const calls = facilitatorCalls.slice(first);
      const took = (op) => median(calls.filter((c) => c.op === op).map((c) => c.ms));
      result[w][sc].settle_p50_ms = took("settle");
      result[w][sc].verify_p50_ms = took("verify");
    }
  }
  // What a claim costs here at the least, paced about as edge402's paid requests were (each
  // a paid p50 after the previous answer): the floor's /object, in a new Durable Object and
  // in one already made, beside its plain 402.
  const gap = Math.round(result.edge402.paid_real.p50_ms);
  step(`round ${r + 1}/${ROUNDS}: ${PAID_REAL} calls to new and to made Durable Objects at the floor, ${gap} ms apart`);
  const floorUrl = (to) => `${workers.floor.base}${to}`;
  result.floor.one_at_a_time = await pacedEach(workers.floor, floorUrl("/api/bench"), plain, gap, 402);
  result.floor.new_object = await pacedEach(workers.floor, floorUrl("/object"), plain, gap, 200);
  const made = floorUrl(`/object?name=made-${r}`);
  await pacedEach(workers.floor, made, [{}], 0, 200);
  result.floor.made_object = await pacedEach(workers.floor, made, plain, gap, 200);
  rounds.push(result);
}

// Facilitator calls per paid and per bad request, counted by the double.
step("facilitator calls per paid and per bad request");
summary.facilitator_calls = {};
for (const w of ["edge402", "peer"]) {
  const calls = (a, b) => b.verify - a.verify + b.settle - a.settle;
  const c0 = await counts();
  const paid = await payments(offers[w], BAD_PAYMENTS);
  await loadEach(workers[w], `${workers[w].base}/api/bench`, paid, 200);
  const c1 = await counts();
  const bad = await payments(offers[w], BAD_PAYMENTS, { spoil: true });
  await loadEach(workers[w], `${workers[w].base}/api/bench`, bad, 402);
  const c2 = await counts();
  summary.facilitator_calls[w] = { per_paid: round(calls(c0, c1) / BAD_PAYMENTS), per_bad: round(calls(c1, c2) / BAD_PAYMENTS) };
}

// Where each gateway's isolate spends its time on a paid request (the stack's facilitator),
// and the floor's on a call to a new Durable Object; after the timed runs, which the
// profiler would slow.
step(`the isolates' own time: V8's profiler over ${PAID_REAL} paid requests at each gateway, one at a time`);
const profileGap = Math.round(median(rounds.map((r) => r.edge402.paid_real.p50_ms)));
summary.isolate_ms_per_request = {};
for (const w of ["edge402", "peer"]) {
  const name = `${w}_real`;
  const list = await payments(offers[name], PAID_REAL);
  summary.isolate_ms_per_request[w] = await isolateTime(workers[name], `${workers[name].base}/api/bench`, list, profileGap, 200);
}
summary.isolate_ms_per_request.floor_new_object = await isolateTime(workers.floor, `${workers.floor.base}/object`, plain, profileGap, 200);
const profiledMisses = Object.values(summary.isolate_ms_per_request).reduce((n, p) => n + p.unexpected, 0);
if (profiledMisses > 0) notes.push(`the profiled runs: ${profiledMisses} answers were not the expected status`);

for (const w of Object.values(workers)) await stop(w.entry);
await stop(doubles);
await stop(stackEntry);

// ---- 5. figures --------------------------------------------------------------------------------

const LOADS = ["free", "challenge", "hostile", "receipt", "paid", "paid_real", "paid_distant"];
const METRICS = ["rps", "p50_ms", "p99_ms", "cpu_ms_per_request"];
summary.load = {};
for (const sc of LOADS) {
  const entry = {};
  for (const w of ["edge402", "peer"]) {
    entry[w] = Object.fromEntries(METRICS.map((m) => [m, spread(rounds.map((r) => r[w][sc][m]))]));
    entry[w].unexpected = rounds.reduce((n, r) => n + r[w][sc].unexpected, 0);
    entry[w].requests = rounds.reduce((n, r) => n + r[w][sc].requests, 0);
  }
  // edge402 / peer, round by round.
  entry.ratio = Object.fromEntries(METRICS.map((m) => [m, spread(rounds.map((r) => r.edge402[sc][m] / r.peer[sc][m]))]));
  summary.load[sc] = entry;
}
// The facilitator's share of the paid requests' latency, and what is each gateway's own.
/** Per round, `w`'s paid p50 in `sc` less the facilitator's own /verify and /settle p50s. */
const ownOf = (w, sc = "paid_real") => rounds.map((r) => {
  const p = r[w][sc];
  return p.p50_ms - (Number.isFinite(p.settle_p50_ms) ? p.settle_p50_ms : 0) - (Number.isFinite(p.verify_p50_ms) ? p.verify_p50_ms : 0);
});
/** `sc`'s paid accounting: each gateway's p50s, and what edge402's log lines say it waited for. */
const accountingOf = (sc) => ({
  ...Object.fromEntries(["edge402", "peer"].map((w) => [w, {
    client_p50_ms: spread(rounds.map((r) => r[w][sc].p50_ms)),
    facilitator_settle_p50_ms: spread(rounds.map((r) => r[w][sc].settle_p50_ms)),
    facilitator_verify_p50_ms: spread(rounds.map((r) => r[w][sc].verify_p50_ms)),
    gateway_own_p50_ms: spread(ownOf(w, sc)),
  }])),
  edge402_waited_p50_ms: Object.fromEntries(
    WAITED.map((field) => [field, spread(rounds.map((r) => r.edge402[sc].waited_p50_ms[field]))]),
  ),
});
summary.paid_real_accounting = accountingOf("paid_real");
// At a distance, the client's latency is what counts: each call to the facilitator adds the
// round trip, which its own durations do not show.
const distant = accountingOf("paid_distant");
summary.paid_distant_accounting = {
  facilitator_round_trip_added_ms: 2 * FACILITATOR_MS,
  edge402_client_p50_ms: distant.edge402.client_p50_ms,
  peer_client_p50_ms: distant.peer.client_p50_ms,
  edge402_waited_p50_ms: distant.edge402_waited_p50_ms,
};
summary.load.floor = Object.fromEntries(METRICS.map((m) => [m, spread(rounds.map((r) => r.floor.challenge[m]))]));
// A Durable Object's call with one durable write, above a plain answer (floor/ /object), in a
// new object (the least edge402's claim, one object per payment, can cost under `wrangler
// dev`) and in one already made; and edge402's own time without the first.
const aboveFloor = (r, run) => r.floor[run].p50_ms - r.floor.one_at_a_time.p50_ms;
const objectMs = rounds.map((r) => aboveFloor(r, "new_object"));
const objectMisses = rounds.reduce((n, r) => n + ["one_at_a_time", "new_object", "made_object"].reduce((m, run) => m + r.floor[run].unexpected, 0), 0);
if (objectMisses > 0) notes.push(`the floor's one-at-a-time runs: ${objectMisses} answers were not the expected status`);
summary.paid_real_accounting.new_object_floor_ms = spread(objectMs);
summary.paid_real_accounting.new_object_floor_cpu_ms = spread(
  rounds.map((r) => r.floor.new_object.cpu_ms_per_request - r.floor.one_at_a_time.cpu_ms_per_request),
);
summary.paid_real_accounting.made_object_floor_ms = spread(rounds.map((r) => aboveFloor(r, "made_object")));
// The floor's plain answer, one at a time: what wrangler dev and workerd add to any request.
summary.paid_real_accounting.plain_answer_floor_ms = spread(rounds.map((r) => r.floor.one_at_a_time.p50_ms));
summary.paid_real_accounting.edge402_own_without_object_ms = spread(ownOf("edge402").map((own, i) => own - objectMs[i]));
summary.load.challenge_with_assets = {
  edge402: Object.fromEntries(METRICS.map((m) => [m, spread(rounds.map((r) => r.edge402_assets.challenge[m]))])),
  ratio: Object.fromEntries(METRICS.map((m) => [m, spread(rounds.map((r) => r.edge402_assets.challenge[m] / r.peer.challenge[m]))])),
};
// The 402 path against the floor: edge402's and the peer's, round by round.
summary.challenge_vs_floor = Object.fromEntries(
  ["edge402", "peer"].map((w) => [w, {
    rps: spread(rounds.map((r) => r[w].challenge.rps / r.floor.challenge.rps)),
    cpu_above_floor_ms: spread(rounds.map((r) => r[w].challenge.cpu_ms_per_request - r.floor.challenge.cpu_ms_per_request)),
  }]),
);
for (const sc of LOADS) {
  for (const w of ["edge402", "peer"]) {
    const bad = summary.load[sc][w].unexpected;
    if (bad > 0) notes.push(`${sc} at ${w}: ${bad} answers were not the expected status`);
  }
}
if (VERIFY_JSON) {
  try {
    summary.verify = JSON.parse(readFileSync(VERIFY_JSON, "utf8"));
  } catch (error) {
    notes.push(`verifyPayment figures not read: ${error.message}`);
  }
}
summary.loadavg_1m_at_end = round(loadavg()[0]);
summary.notes = notes;
summary.run_seconds = Math.round((Date.now() - started) / 1000);

mkdirSync(RESULTS, { recursive: true });
writeFileSync(path.join(RESULTS, "side-by-side.json"), `${JSON.stringify(summary, null, 1)}\n`);
writeFileSync(path.join(RESULTS, "side-by-side.svg"), chart(summary));

// ---- 6. the table ------------------------------------------------------------------------------

const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "-");
const range = (s, d = 2) => `${f(s.median, d)} (${f(s.min, d)}-${f(s.max, d)})`;
const pad = (text, width) => String(text).padEnd(width);
const u = summary.upload;
console.log("");
console.log(`edge402 vs the official middleware (@x402/hono ${summary.versions.peer.split(" ")[1]}), both under wrangler ${summary.versions.wrangler} (workerd ${summary.versions.workerd}), ${summary.machine.cores} cores (${summary.machine.cpu}), Node ${summary.machine.node}`);
console.log(`${ROUNDS} interleaved rounds; each ratio is edge402 / peer per round: median (min-max); milliseconds are medians of the rounds' own, so they need not divide or add up exactly`);
console.log("");
console.log(`upload            raw ${f(u.edge402.raw_kib, 1)} vs ${f(u.peer.raw_kib, 1)} KiB = ${f(u.raw_ratio)}x    gzip ${f(u.edge402.gzip_kib, 1)} vs ${f(u.peer.gzip_kib, 1)} KiB = ${f(u.gzip_ratio)}x`);
const cs = summary.cold_start_ms;
// Cold starts are not paired by round: each side's own spread, and the ratio of the medians.
console.log(`cold start        first answer ${range(cs.edge402, 1)} vs ${range(cs.peer, 1)} ms = ${f(cs.ratio)}x   (floor ${range(cs.floor, 1)} ms; ${COLD_STARTS} starts each)`);
console.log("");
const label = {
  free: "free, through to the origin",
  challenge: "402 challenge",
  hostile: "hostile (bad signature)",
  receipt: "receipt-cached retry *",
  paid: "paid, instant facilitator",
  paid_real: "paid, real facilitator (1 conn.)",
  paid_distant: `paid, facilitator ${2 * FACILITATOR_MS} ms away (1 conn.)`,
};
const FLOOR_LABEL = "do-nothing Worker (the floor)";
const ASSETS_LABEL = "402, paywall assets bound **";
/** The width of the table's first column: its longest label, and a gap. */
const FIRST = Math.max(FLOOR_LABEL.length, ASSETS_LABEL.length, ...Object.values(label).map((text) => text.length)) + 2;
console.log(`${pad("path", FIRST)}${pad("req/s (edge402 | peer)", 26)}${pad("req/s ratio", 22)}${pad("p50 ratio", 22)}${pad("p99 ratio", 22)}${pad("CPU/request ratio", 22)}CPU ms (edge402 | peer)`);
const fl = summary.load.floor;
// The floor has no peer: its own milliseconds where the paths have ratios.
console.log(`${pad(FLOOR_LABEL, FIRST)}${pad(f(fl.rps.median, 0), 26)}${pad("", 22)}${pad(`${f(fl.p50_ms.median, 1)} ms`, 22)}${pad(`${f(fl.p99_ms.median, 1)} ms`, 22)}${pad("", 22)}${f(fl.cpu_ms_per_request.median, 3)}`);
for (const sc of LOADS) {
  const l = summary.load[sc];
  console.log(
    `${pad(label[sc], FIRST)}${pad(`${f(l.edge402.rps.median, 0)} | ${f(l.peer.rps.median, 0)}`, 26)}${pad(range(l.ratio.rps), 22)}${pad(range(l.ratio.p50_ms), 22)}${pad(range(l.ratio.p99_ms), 22)}${pad(range(l.ratio.cpu_ms_per_request), 22)}${f(l.edge402.cpu_ms_per_request.median, 3)} | ${f(l.peer.cpu_ms_per_request.median, 3)}`,
  );
}
const wa = summary.load.challenge_with_assets;
console.log(`${pad(ASSETS_LABEL, FIRST)}${pad(`${f(wa.edge402.rps.median, 0)} | ${f(summary.load.challenge.peer.rps.median, 0)}`, 26)}${pad(range(wa.ratio.rps), 22)}${pad(range(wa.ratio.p50_ms), 22)}${pad(range(wa.ratio.p99_ms), 22)}${pad(range(wa.ratio.cpu_ms_per_request), 22)}${f(wa.edge402.cpu_ms_per_request.median, 3)} | ${f(summary.load.challenge.peer.cpu_ms_per_request.median, 3)}`);
const cf = summary.challenge_vs_floor;
console.log("");
console.log(`402 path vs the floor: edge402 ${range(cf.edge402.rps)}x its req/s, ${range(cf.edge402.cpu_above_floor_ms, 3)} ms CPU above it; peer ${range(cf.peer.rps)}x, ${range(cf.peer.cpu_above_floor_ms, 3)} ms`);
const pa = summary.paid_real_accounting;
for (const w of ["edge402", "peer"]) {
  const a = pa[w];
  console.log(`paid (real facilitator), ${w}: client p50 ${f(a.client_p50_ms.median, 1)} ms = facilitator /verify ${f(a.facilitator_verify_p50_ms.median, 1)} + /settle ${f(a.facilitator_settle_p50_ms.median, 1)} + the gateway's own ${f(a.gateway_own_p50_ms.median, 1)} ms (medians)`);
}
const nf = pa.new_object_floor_ms;
console.log(`of edge402's own: a new Durable Object with one durable write (its claim's least) ${f(nf.median, 1)} ms (${f(nf.min, 1)}-${f(nf.max, 1)}) and ${f(pa.new_object_floor_cpu_ms.median, 1)} ms of workerd CPU at the floor; the rest ${f(pa.edge402_own_without_object_ms.median, 1)} ms; the same call to an object already made ${f(pa.made_object_floor_ms.median, 1)} ms; the floor's plain answer itself ${f(pa.plain_answer_floor_ms.median, 1)} ms`);
const waited = pa.edge402_waited_p50_ms;
console.log(`edge402's log lines (p50): the claim ${f(waited.coordinator_ms.median, 0)} ms, the facilitator ${f(waited.facilitator_ms.median, 0)} ms (its /settle ${f(pa.edge402.facilitator_settle_p50_ms.median, 0)}), the receipt store ${f(waited.kv_ms.median, 0)} ms, the origin ${f(waited.origin_ms.median, 0)} ms`);
const pd = summary.paid_distant_accounting;
console.log(`paid with the facilitator ${pd.facilitator_round_trip_added_ms} ms away (a round trip added to each call): client p50 edge402 ${f(pd.edge402_client_p50_ms.median, 1)} ms, peer ${f(pd.peer_client_p50_ms.median, 1)} ms; edge402's claim ${f(pd.edge402_waited_p50_ms.coordinator_ms.median, 0)} ms, its facilitator call ${f(pd.edge402_waited_p50_ms.facilitator_ms.median, 0)} ms`);
const it = summary.isolate_ms_per_request;
const parts = (p) => `${f(p.busy_ms, 2)} ms (JS ${f(p.js_ms, 2)}, WASM ${f(p.wasm_ms, 2)}, runtime ${f(p.runtime_ms, 2)} of which fetch ${f(p.runtime_fetch_ms, 2)}, GC ${f(p.gc_ms, 2)}, program ${f(p.program_ms, 2)})`;
console.log(`the isolate's own time per paid request (V8's profiler): edge402 ${parts(it.edge402)}, peer ${parts(it.peer)}; the floor's call to a new Durable Object ${parts(it.floor_new_object)}`);
const fc = summary.facilitator_calls;
console.log(`facilitator calls per paid / bad request: edge402 ${fc.edge402.per_paid} / ${fc.edge402.per_bad}, peer ${fc.peer.per_paid} / ${fc.peer.per_bad}`);
console.log(`* receipt: edge402 serves a settled payment's retry from its receipt; the peer has none (the facilitator refuses the used nonce, it answers 402)`);
console.log(`** edge402 with the paywall page's script and WASM bound as Workers Static Assets (wrangler.toml leaves them off): every request passes the assets router first`);
if (summary.verify) {
  for (const v of summary.verify) console.log(`verifyPayment (${v.build} WASM) vs viem in Node: ${f(v.ratio)}x faster (${f(v.ours_us, 1)} vs ${f(v.viem_us, 1)} us), .wasm ${v.wasm_gzip_bytes} bytes gzip`);
}
for (const note of notes) console.log(`NOTE: ${note}`);
console.log(`load average ${summary.machine.loadavg_1m_at_start} at start, ${summary.loadavg_1m_at_end} at end; ${summary.run_seconds} s; written to benches/results/side-by-side.{json,svg}`);
process.exitCode = notes.length > 0 ? 1 : 0;
