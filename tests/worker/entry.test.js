// The Worker's entry (scripts/tools.sh plain_entry): a plain module-worker object in front of
// the WASM instead of worker-build's per-request Proxies, which still makes the WASM anew
// before the next request once a trap has been flagged, as worker-build's shim does. Looked
// at from inside workerd by a Worker wrapping the build (tests/worker/entry-probe/).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { PAY_TO, startWorker, TEST_TIMEOUT } from './helpers.js';

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
