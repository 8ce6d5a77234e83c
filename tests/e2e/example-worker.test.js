// End to end: the example Worker of examples/paid-api (an axum app in a workers-rs Worker,
// priced by edge402's Rust API, `Gateway::serve`) in workerd, paid by the OFFICIAL x402
// clients and settled by the reference facilitator on the local chain:
//
//   1. a free route is the app's own answer, without any payment or facilitator call (and
//      it is the isolate's first request: nothing later depends on it);
//   2. both official clients buy the fixed-price route: the app's content, the settlement
//      header, the price moved on chain once;
//   3. the route priced per request by the app's own function: the price of that request
//      moves (a full report costs five times a summary); a v1 client pays the price of now;
//   4. a v2 payment whose quote was changed (a lower amount under the quote of a higher one)
//      is refused locally: no /settle, nothing on chain, nothing served.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  PRICE, START_TIMEOUT, TEST_TIMEOUT, buyExactly, decodeHeader, stackBuyer, startWith, stopAll,
} from './harness.js';

/** The example's QUOTE_SECRET in these tests. */
const QUOTE_SECRET = 'example-quote-secret-of-32-bytes-or-more';
/** The example's prices, in the token's atomic units: $0.002 a summary, $0.01 a full report. */
const SUMMARY = 2_000n;
const FULL = 10_000n;

const all = {};
before(async () => {
  Object.assign(all, await startWith((accepts) => [
    { match: '/', free: true },
    { match: 'GET /weather', price: '$0.001', description: 'weather', accepts },
    { match: 'GET /reports/:id', price: 'dynamic', description: 'a report', accepts },
  ], {}, { vars: { QUOTE_SECRET }, wranglerToml: 'examples/paid-api/wrangler.toml' }));
}, START_TIMEOUT);
after(() => stopAll(all));

const buyer = (version, index) => stackBuyer(all.stack.info, version, index);
const buyFor = (client, path, amount) => buyExactly(all.stack, client, `${all.worker.url}${path}`, amount);

test('a free route is the app\'s own answer, with no facilitator call', TEST_TIMEOUT, async () => {
  const reply = await all.worker.get('/');
  assert.equal(reply.status, 200, String(reply));
  assert.match(reply.text, /edge402 example/);
  assert.equal(all.stack.settleCalls(), 0);
  const unpaid = await all.worker.get('/weather');
  assert.equal(unpaid.status, 402, String(unpaid));
  assert.doesNotMatch(unpaid.text, /forecast/);
});

for (const [version, index] of [[2, 0], [1, 1]]) {
  test(`the official v${version} client buys the fixed-price route from the axum app`, TEST_TIMEOUT, async () => {
    const reply = await buyFor(buyer(version, index), '/weather', PRICE);
    assert.deepEqual(reply.json(), { city: 'Lisbon', forecast: 'sunny', celsius: 21 });
  });
}

test('the route priced per request charges what the app\'s function says', TEST_TIMEOUT, async () => {
  const client = buyer(2, 2);
  const full = await buyFor(client, '/reports/7?detail=full', FULL);
  assert.deepEqual(full.json(), { report: '7', detail: 'full' });
  const summary = await buyFor(client, '/reports/7', SUMMARY);
  assert.deepEqual(summary.json(), { report: '7', detail: 'summary' });
  // The v2 client paid the quoted requirement, quote included.
  const quoted = decodeHeader(client.recorder.last().value).accepted;
  assert.equal(quoted.amount, String(SUMMARY));
  assert.match(quoted.extra.edge402Quote, /^v1\.\d+\./);
});

test('a v1 client pays the price of now on the route priced per request', TEST_TIMEOUT, async () => {
  const reply = await buyFor(buyer(1, 1), '/reports/8', SUMMARY);
  assert.deepEqual(reply.json(), { report: '8', detail: 'summary' });
});

test('a lower amount under the quote of a higher one is refused with no call', TEST_TIMEOUT, async () => {
  const { stack } = all;
  const client = buyer(2, 0);
  const challenge = await all.worker.get('/reports/9?detail=full');
  assert.equal(challenge.status, 402, String(challenge));
  const offered = decodeHeader(challenge.header('PAYMENT-REQUIRED'));
  assert.equal(offered.accepts[0].amount, String(FULL));
  // The buyer signs a summary's price under the full report's quote.
  client.recorder.hold = true;
  await client.pay(`${all.worker.url}/reports/9?detail=full`);
  const payload = decodeHeader(client.recorder.last().value);
  payload.accepted.amount = String(SUMMARY);
  const forged = Buffer.from(JSON.stringify(payload)).toString('base64');
  const settles = stack.settleCalls();
  const before = await stack.balanceOf(client.address);
  const reply = await all.worker.get('/reports/9?detail=full', { 'PAYMENT-SIGNATURE': forged });
  assert.equal(reply.status, 402, String(reply));
  assert.equal(decodeHeader(reply.header('PAYMENT-REQUIRED')).error, 'invalid_quote');
  assert.doesNotMatch(reply.text, /"report"/);
  assert.equal(stack.settleCalls(), settles);
  assert.equal(await stack.balanceOf(client.address), before);
});
