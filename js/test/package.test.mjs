// The packed package (`npm pack`) installed into a fresh project works where its users run
// it: Node 20 (ESM and CommonJS), a plain JavaScript Worker under `wrangler dev` (workerd),
// and a page in headless Chromium.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const packageDir = path.resolve(here, '..');
const wrangler = path.resolve(packageDir, '../node_modules/.bin/wrangler');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const PAYER = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const STEP_TIMEOUT_MS = 60_000;

let project;

before(() => {
  project = mkdtempSync(path.join(tmpdir(), 'edge402-consumer-'));
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', project], { cwd: packageDir, encoding: 'utf8' }).trim().split('\n').pop();
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // The tarball has no dependencies, so this installs without any registry access.
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', path.join(project, tarball)], { cwd: project, timeout: STEP_TIMEOUT_MS });
  cpSync(path.join(here, 'consumer'), project, { recursive: true });
});

after(() => rmSync(project, { recursive: true, force: true }));

test('Node imports it as an ES module and requires it as CommonJS', () => {
  for (const script of ['node-check.mjs', 'node-check.cjs']) {
    const verdict = JSON.parse(execFileSync(process.execPath, [script], { cwd: project, encoding: 'utf8', timeout: STEP_TIMEOUT_MS }));
    assert.deepEqual(verdict, { valid: true, payer: PAYER, needsFacilitator: false }, script);
  }
});

test('a plain JavaScript Worker uses it under wrangler dev', { timeout: 120_000 }, async () => {
  const port = await freePort();
  const dev = spawn(wrangler, ['dev', '--local', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(await freePort()), '--show-interactive-dev-session=false'], {
    cwd: project, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1' },
  });
  let log = '';
  dev.stdout.on('data', (d) => { log += d; });
  dev.stderr.on('data', (d) => { log += d; });
  try {
    const body = await poll(`http://127.0.0.1:${port}/`, 60_000);
    assert.deepEqual(JSON.parse(body), { verdict: { valid: true, payer: PAYER, needsFacilitator: false }, signer: PAYER }, log);
  } finally {
    process.kill(-dev.pid, 'SIGTERM');
  }
});

test('a page in headless Chromium uses the browser build', { timeout: 120_000 }, async () => {
  const server = createServer((request, response) => {
    const file = path.join(project, decodeURIComponent(new URL(request.url, 'http://x').pathname));
    if (!file.startsWith(project)) return response.writeHead(403).end();
    let body;
    try {
      body = readFileSync(file);
    } catch {
      return response.writeHead(404).end();
    }
    const type = file.endsWith('.wasm') ? 'application/wasm' : file.endsWith('.html') ? 'text/html' : 'text/javascript';
    response.writeHead(200, { 'Content-Type': type }).end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${server.address().port}/page.html`;
    const dom = await chromiumDom(url);
    const json = dom.match(/<pre id="result">(.*?)<\/pre>/s)?.[1];
    assert.ok(json, dom);
    const result = JSON.parse(json.replaceAll('&quot;', '"'));
    assert.deepEqual(result.verdict, { valid: true, payer: PAYER, needsFacilitator: false }, json);
    assert.equal(result.bad.reason, 'invalid_payload');
  } finally {
    server.close();
  }
});

/** The page's DOM after its scripts ran, from headless Chromium. */
function chromiumDom(url) {
  const profile = mkdtempSync(path.join(tmpdir(), 'edge402-chromium-'));
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`, '--virtual-time-budget=10000', '--dump-dom', url];
  return new Promise((resolve, reject) => {
    const child = spawn(CHROMIUM, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let dom = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('chromium timed out')); }, STEP_TIMEOUT_MS);
    child.stdout.on('data', (d) => { dom += d; });
    child.on('error', reject);
    child.on('exit', () => { clearTimeout(timer); rmSync(profile, { recursive: true, force: true }); resolve(dom); });
  });
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** GETs `url` until it answers 200 or `ms` pass. */
async function poll(url, ms) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      if (response.ok) return await response.text();
      last = `HTTP ${response.status}: ${await response.text()}`;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`no answer from ${url}: ${last}`);
}
