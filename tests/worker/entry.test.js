// The Worker's entry (scripts/tools.sh plain_entry): a plain module-worker object in front of
// the WASM instead of worker-build's per-request Proxies, which still makes the WASM anew
// before the next request once a trap has been flagged, as worker-build's shim does. Looked
// at from inside workerd by a Worker wrapping the build (tests/worker/entry-probe/), and
// the rewrite itself on a stand-in for worker-build's module, whose export can trap.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { PAY_TO, startWorker, TEST_TIMEOUT } from './helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const config = {
  networks: [{ chain_id: 84532 }],
  routes: [{ match: 'GET /api/*', price: '$0.001', accepts: [{ network: 'eip155:84532', pay_to: PAY_TO }] }],
};

let worker;
before(async () => {
  worker = await startWorker(config, { script: 'tests/worker/entry-probe/index.js' });
}, { timeout: 60_000 });
after(() => worker?.stop());

test('the default export is a plain object, and a flagged trap makes the WASM anew before the next request', TEST_TIMEOUT, async () => {
  const first = (await worker.get('/__probe/entry')).json();
  assert.equal(first.plainObject, true, 'the default export is not a plain object: was plain_entry run?');
  assert.equal((await worker.get('/api/data')).status, 402);
  assert.equal((await worker.get('/__probe/entry')).json().instanceId, first.instanceId, 'made anew without a trap');

  assert.equal((await worker.get('/__probe/trap')).status, 204);
  const answer = await worker.get('/api/data');
  assert.equal(answer.status, 402, String(answer));
  assert.ok(answer.header('PAYMENT-REQUIRED'), 'the new instance answers with a challenge');
  const renewed = (await worker.get('/__probe/entry')).json().instanceId;
  assert.ok(renewed > first.instanceId, `not made anew: instance ${renewed} after ${first.instanceId}`);
  // Once made anew, the next request runs on it as is.
  assert.equal((await worker.get('/api/data')).status, 402);
  assert.equal((await worker.get('/__probe/entry')).json().instanceId, renewed);
});

/** worker-build's module as plain_entry expects it, with stand-ins for the WASM's `fetch`
 * (which traps on request "trap") and the shim's recovery, which count what they do. */
const STAND_IN = `class WorkerEntrypoint {}
const classProxyHooks = {};
export const state = { criticalError: false, instanceId: 0 };
function checkReinitialize() {
  if (state.criticalError) {
    state.criticalError = false;
    state.instanceId++;
  }
}
function handleMaybeCritical(e) {
  if (e instanceof WebAssembly.RuntimeError) state.criticalError = true;
}
function fetch(request, env, ctx) {
  if (request === "trap") throw new WebAssembly.RuntimeError("unreachable");
  if (request === "fail") throw new TypeError("an error, not a trap");
  return { request, env, ctx, instanceId: state.instanceId };
}
var Entrypoint = class extends WorkerEntrypoint {
};
Entrypoint.prototype.fetch = function fetch2(arg) {
  return fetch.call(this, arg, this.env, this.ctx);
};
var shim_default = new Proxy(Entrypoint, classProxyHooks);
export { shim_default as default };
`;

/** Runs plain_entry on `file`; whether it succeeded. */
function plainEntry(file) {
  try {
    execFileSync('bash', ['-c', '. scripts/tools.sh && plain_entry "$1"', 'plain_entry', file], { cwd: ROOT, stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

test('the rewritten entry calls the export with env and ctx, rethrows, and after a trap makes the WASM anew once', TEST_TIMEOUT, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edge402-entry-'));
  try {
    const file = join(dir, 'index.mjs');
    await writeFile(file, STAND_IN);
    assert.ok(plainEntry(file), 'plain_entry failed on the stand-in');
    const { default: entry, state } = await import(pathToFileURL(file).href);
    assert.equal(Object.getPrototypeOf(entry), Object.prototype);
    const [env, ctx] = [{ binding: 1 }, { waitUntil() {} }];
    const answer = entry.fetch('request', env, ctx);
    assert.deepEqual(answer, { request: 'request', env, ctx, instanceId: 0 });
    assert.equal(answer.env, env);

    assert.throws(() => entry.fetch('fail', env, ctx), TypeError);
    assert.equal(state.criticalError, false, 'an ordinary error is not a trap');
    assert.throws(() => entry.fetch('trap', env, ctx), WebAssembly.RuntimeError);
    assert.equal(state.criticalError, true, 'the trap was not noted');
    assert.equal(entry.fetch('request', env, ctx).instanceId, 1);
    assert.equal(entry.fetch('request', env, ctx).instanceId, 1);

    // A module that is not worker-build's is refused, and left as it was.
    const other = join(dir, 'other.mjs');
    const changed = STAND_IN.replace('function checkReinitialize() {', 'function checkReinitialize2() {');
    await writeFile(other, changed);
    assert.equal(plainEntry(other), false);
    assert.equal(await readFile(other, 'utf8'), changed);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
