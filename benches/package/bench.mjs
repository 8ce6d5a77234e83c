// The npm package as shipped: the size of each build and of the tarball, and the speed of its
// `verifyPayment` next to viem's `verifyTypedData` in Node and in headless Chromium, each pair
// timed in one process / one page on the same signed payloads. Prints a table, then one JSON
// line.
//
// Usage: node bench.mjs <work dir>
// Normally run through ../package.sh, which builds js/dist first.

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { verifyTypedData } from 'viem';
import * as accounts from 'viem/accounts';
import { measure, toJson } from '../wasm-vs-viem/harness.mjs';
import { PAYLOADS, makePayloads } from '../wasm-vs-viem/payloads.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const packageDir = path.join(root, 'js');
const dist = path.join(packageDir, 'dist');
const harness = path.join(root, 'benches/wasm-vs-viem/harness.mjs');
const esbuild = path.join(root, 'node_modules/.bin/esbuild');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

const workDir = process.argv[2] && path.resolve(process.argv[2]);
if (!workDir) {
  console.error('usage: node bench.mjs <work dir>');
  process.exit(2);
}
mkdirSync(workDir, { recursive: true });

// Timed rounds stop at whichever limit comes first, in each environment.
const TIMING = {
  warmupRounds: 5,
  maxRounds: Number(process.env.EDGE402_BENCH_ROUNDS ?? 200),
  budgetMs: Number(process.env.EDGE402_BENCH_MS ?? 10_000),
};
const CHROMIUM_TIMEOUT_MS = TIMING.budgetMs + 60_000;

const step = (msg) => process.stderr.write(`==> ${msg}\n`);

// ---- Sizes ----------------------------------------------------------------------------------

function sizeOf(...files) {
  let raw = 0;
  let gzip = 0;
  for (const file of files) {
    const bytes = readFileSync(file);
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
  }
  return { raw, gzip };
}

function measureSizes(viemBundle) {
  const build = (dir) => ({
    wasm: sizeOf(path.join(dist, dir, 'edge402_bg.wasm')),
    glue: sizeOf(path.join(dist, dir, 'edge402.js')),
    total: sizeOf(path.join(dist, dir, 'edge402_bg.wasm'), path.join(dist, dir, 'edge402.js')),
  });
  const entries = Object.fromEntries(
    ['node.mjs', 'node.cjs', 'browser.mjs', 'workerd.mjs', 'index.d.ts'].map((f) => [f, sizeOf(path.join(dist, f))]),
  );

  const packDir = mkdtempSync(path.join(workDir, 'pack-'));
  const [pack] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: packageDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
  );
  const tarball = {
    file: pack.filename,
    bytes: statSync(path.join(packDir, pack.filename)).size,
    unpacked: pack.unpackedSize,
    files: pack.entryCount,
  };
  rmSync(packDir, { recursive: true, force: true });

  return { node: build('node'), web: build('web'), entries, tarball, viem_bundle: sizeOf(viemBundle) };
}

// ---- Node -----------------------------------------------------------------------------------

async function timeNode(verifyPayment, payloads, tampered, now) {
  const timed = await measure(verifyPayment, verifyTypedData, { now, payloads, tampered }, TIMING);
  return { ...timed, version: `Node ${process.version}` };
}

// ---- Chromium -------------------------------------------------------------------------------

// Serves the page, the package's dist/, the shared harness, the viem bundle and the payloads.
// Cross-origin isolated (COOP + COEP), which gives the page 5 us performance.now() steps
// instead of 100 us.
function serve(viemBundle, payloadsJson) {
  const routes = {
    '/': [path.join(here, 'page.html'), 'text/html'],
    '/page.mjs': [path.join(here, 'page.mjs')],
    '/harness.mjs': [harness],
    '/viem.mjs': [viemBundle],
  };
  const server = createServer((request, response) => {
    const { pathname } = new URL(request.url, 'http://x');
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cache-Control': 'no-store',
    };
    if (pathname === '/payloads.json') return response.writeHead(200, { ...headers, 'Content-Type': 'application/json' }).end(payloadsJson);
    let [file, type] = routes[pathname] ?? [];
    if (!file && pathname.startsWith('/dist/')) {
      file = path.join(dist, decodeURIComponent(pathname.slice('/dist/'.length)));
      if (!file.startsWith(dist + path.sep)) return response.writeHead(403).end();
    }
    let body;
    try {
      body = file && readFileSync(file);
    } catch {}
    if (!body) return response.writeHead(404).end();
    type ??= file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript';
    response.writeHead(200, { ...headers, 'Content-Type': type }).end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// A minimal Chrome DevTools Protocol client over --remote-debugging-pipe: Chromium reads
// NUL-terminated JSON messages on fd 3 and writes them on fd 4.
function cdpClient(child) {
  const pending = new Map();
  let nextId = 1;
  let buffer = '';
  child.stdio[4].setEncoding('utf8');
  child.stdio[4].on('data', (chunk) => {
    buffer += chunk;
    let end;
    while ((end = buffer.indexOf('\0')) >= 0) {
      const message = JSON.parse(buffer.slice(0, end));
      buffer = buffer.slice(end + 1);
      const waiter = pending.get(message.id);
      if (!waiter) continue;
      pending.delete(message.id);
      if (message.error) waiter.reject(new Error(`${waiter.method}: ${message.error.message}`));
      else waiter.resolve(message.result);
    }
  });
  return (method, params = {}, sessionId) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject, method });
      child.stdio[3].write(`${JSON.stringify({ id, method, params, sessionId })}\0`);
    });
}

// Opens `url` in headless Chromium and returns the JSON the page writes into #result, with the
// browser's version as `product`.
async function chromiumResult(url) {
  const profile = mkdtempSync(path.join(workDir, 'chromium-'));
  const args = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows', `--user-data-dir=${profile}`, '--remote-debugging-pipe', url,
  ];
  const child = spawn(CHROMIUM, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`chromium gave no result in ${CHROMIUM_TIMEOUT_MS} ms`)), CHROMIUM_TIMEOUT_MS);
  });
  const failed = new Promise((_, reject) => {
    child.on('error', reject);
    exited.then((code) => reject(new Error(`chromium exited early (${code}): ${stderr.slice(-2000)}`)));
  });
  const send = cdpClient(child);

  const run = async () => {
    let page;
    for (let i = 0; i < 100 && !page; i++) {
      page = (await send('Target.getTargets')).targetInfos.find((t) => t.type === 'page');
      if (!page) await new Promise((r) => setTimeout(r, 100));
    }
    if (!page) throw new Error('chromium opened no page');
    const { sessionId } = await send('Target.attachToTarget', { targetId: page.targetId, flatten: true });
    // Polls #result until page.mjs marks it done. Polled from here rather than awaited in the
    // page: the cross-origin-isolated page may get a new execution context (or process) while
    // it loads, and the timing loop keeps the page's thread busy until it finishes.
    const expression = `(() => { const out = document.getElementById('result'); return out?.dataset.done ? out.textContent : null; })()`;
    let result;
    for (;;) {
      try {
        ({ result } = await send('Runtime.evaluate', { expression, returnByValue: true }, sessionId));
      } catch (error) {
        if (!/execution context/i.test(error.message)) throw error;
      }
      if (typeof result?.value === 'string') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const { product } = await send('Browser.getVersion');
    return { ...JSON.parse(result.value), product };
  };

  try {
    return await Promise.race([run(), timeout, failed]);
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null) {
      send('Browser.close').catch(() => {});
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(profile, { recursive: true, force: true });
  }
}

async function timeChromium(viemBundle, payloadsJson) {
  const server = await serve(viemBundle, payloadsJson);
  try {
    const query = new URLSearchParams(Object.entries(TIMING).map(([k, v]) => [k, String(v)]));
    const result = await chromiumResult(`http://127.0.0.1:${server.address().port}/?${query}`);
    if (result.error) throw new Error(`page: ${result.error}`);
    return { ...result, version: `Chromium ${result.product.split('/').pop()} (headless)` };
  } finally {
    server.close();
  }
}

// ---- Report ---------------------------------------------------------------------------------

function printSizes(sizes) {
  const row = (label, { raw, gzip }) => console.log(`${label.padEnd(44)}${String(raw).padStart(10)}${String(gzip).padStart(10)}`);
  console.log(`\n${'package sizes (bytes)'.padEnd(44)}${'raw'.padStart(10)}${'gzip -9'.padStart(10)}`);
  for (const build of ['node', 'web']) {
    const s = sizes[build];
    row(`dist/${build}/edge402_bg.wasm`, s.wasm);
    row(`dist/${build}/edge402.js (glue)`, s.glue);
    row(`dist/${build} (wasm + glue)`, s.total);
  }
  for (const [file, s] of Object.entries(sizes.entries)) row(`dist/${file} (entry)`, s);
  const t = sizes.tarball;
  console.log(`${`npm pack: ${t.file} (${t.files} files)`.padEnd(44)}${String(t.unpacked).padStart(10)}${String(t.bytes).padStart(10)}  (unpacked / .tgz)`);
  row('for scale: viem verifyTypedData, esbuild -min', sizes.viem_bundle);
}

function printTiming(runs) {
  const cols = ['', 'edge402 us', 'viem us', 'viem/edge402', 'round-mean us (ours / viem)', 'rounds'];
  console.log(`\nverification, median per call over ${PAYLOADS} payloads x rounds (ours and viem alternate by round)`);
  console.log(cols[0].padEnd(32) + cols.slice(1).map((c, i) => c.padStart([11, 10, 14, 30, 8][i])).join(''));
  for (const r of runs) {
    if (r.error) {
      console.log(`${r.version.padEnd(32)}not measured: ${r.error}`);
      continue;
    }
    console.log(
      r.version.padEnd(32) +
        r.ours_us.toFixed(1).padStart(11) +
        r.viem_us.toFixed(1).padStart(10) +
        `${(r.viem_us / r.ours_us).toFixed(2)}x`.padStart(14) +
        `${r.ours_round_mean_us.toFixed(1)} / ${r.viem_round_mean_us.toFixed(1)}`.padStart(30) +
        `${r.rounds} in ${(r.ms / 1000).toFixed(1)} s`.padStart(16),
    );
  }
}

const summary = (r) =>
  r.error
    ? { error: r.error }
    : {
        ours_us: +r.ours_us.toFixed(2),
        viem_us: +r.viem_us.toFixed(2),
        ratio: +(r.viem_us / r.ours_us).toFixed(3),
        ours_round_mean_us: +r.ours_round_mean_us.toFixed(2),
        viem_round_mean_us: +r.viem_round_mean_us.toFixed(2),
        rounds: r.rounds,
        runtime: r.version,
        ...(r.cross_origin_isolated === undefined ? {} : { cross_origin_isolated: r.cross_origin_isolated }),
      };

// ---- Main -----------------------------------------------------------------------------------

step('bundling viem for the browser (esbuild)');
const viemBundle = path.join(workDir, 'viem.mjs');
execFileSync(esbuild, [path.join(here, 'viem-entry.mjs'), '--bundle', '--format=esm', '--platform=browser', '--minify', '--log-level=warning', `--outfile=${viemBundle}`], { stdio: 'inherit' });

step('sizes and npm pack');
const sizes = measureSizes(viemBundle);

step(`signing ${PAYLOADS} payloads with viem`);
const now = Math.floor(Date.now() / 1000);
const { payloads, tampered } = await makePayloads(accounts, now, PAYLOADS);

step(`timing in Node (up to ${TIMING.maxRounds} rounds or ${TIMING.budgetMs} ms)`);
const { verifyPayment } = await import(pathToFileURL(path.join(dist, 'node.mjs')).href);
const node = await timeNode(verifyPayment, payloads, tampered, now);

step(`timing in headless Chromium (${CHROMIUM})`);
let chromium;
try {
  chromium = await timeChromium(viemBundle, toJson({ now, payloads, tampered }));
} catch (error) {
  chromium = { error: error.message, version: 'Chromium (headless)' };
}

printSizes(sizes);
printTiming([node, chromium]);
console.log(
  JSON.stringify({
    payloads: PAYLOADS,
    sizes: {
      node: sizes.node.total,
      web: sizes.web.total,
      wasm: sizes.web.wasm,
      entries: sizes.entries,
      tarball: { bytes: sizes.tarball.bytes, unpacked: sizes.tarball.unpacked, files: sizes.tarball.files },
      viem_verify_bundle: sizes.viem_bundle,
    },
    node: summary(node),
    chromium: summary(chromium),
  }),
);
if (chromium.error) process.exitCode = 1;
