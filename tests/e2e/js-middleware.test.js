// End to end: the npm package's Hono middleware (js/dist, the WASM gateway) in a Hono app on
// Node's HTTP server, configured with the official SDK's route shape, paid by the OFFICIAL
// x402 clients and settled by the reference facilitator on the local chain:
//
//   1. the first request is to a free route: the app answers, nothing else happens, and the
//      paid routes work after it (no lazy start-up that a free request could leave hanging);
//   2. both official clients buy a fixed-price route (`{ amount, asset }`): the app's
//      content, the settlement header, the price moved on chain once;
//   3. a route whose price is a function of the request: the price of that request moves;
//   4. the same payment again is served from its receipt without a second transfer, and a
//      bad signature is refused without any facilitator call.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { serve } from '@hono/node-server';
import { Hono } from 'hono';

import { memoryStore, paymentMiddleware } from '../../js/dist/node.mjs';
import {
  PRICE, START_TIMEOUT, TEST_TIMEOUT, TX_HASH, decodeHeader, gatewayConfig, settlementOf,
  startStack, v1Buyer, v2Buyer,
} from './harness.js';

const QUOTE_SECRET = 'js-middleware-quote-secret-0123456789';
const SUMMARY = 2_000n;
const FULL = 10_000n;

const all = { logs: [] };
before(async () => {
  all.stack = await startStack();
  const { info } = all.stack;
  const way = { scheme: 'exact', network: info.network, payTo: info.payTo };
  const routes = {
    'GET /weather': {
      accepts: [{ ...way, price: { amount: String(PRICE), asset: info.token } }],
      description: 'weather',
    },
    'GET /reports/[id]': {
      accepts: { ...way, asset: info.token, price: ({ query }) => (query === 'detail=full' ? '$0.01' : '$0.002') },
      description: 'a report',
    },
  };
  const app = new Hono();
  app.use(paymentMiddleware(routes, {
    facilitatorUrl: info.facilitatorUrl,
    networks: gatewayConfig(info).networks,
    store: memoryStore(),
    quoteSecret: QUOTE_SECRET,
    log: (line) => all.logs.push(line),
  }));
  app.get('/', (c) => c.text('free front page'));
  app.get('/weather', (c) => c.json({ forecast: 'sunny' }));
  app.get('/reports/:id', (c) => c.json({ report: c.req.param('id'), detail: c.req.query('detail') ?? 'summary' }));
  all.server = await new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(server));
  });
  all.url = `http://127.0.0.1:${all.server.address().port}`;
}, START_TIMEOUT);
after(async () => {
  await new Promise((resolve) => (all.server ? all.server.close(resolve) : resolve()));
  await all.stack?.stop();
});

function buyer(version, index) {
  const { privateKey, address } = all.stack.info.buyers[index];
  return { ...(version === 2 ? v2Buyer : v1Buyer)(all.stack.info, privateKey), address };
}

async function read(response) {
  const text = await response.text();
  return { status: response.status, text, headers: response.headers, json: () => JSON.parse(text) };
}

/** Buys `path` and checks that exactly `amount` moved from the buyer to the seller. */
async function buyFor(client, path, amount) {
  const { stack } = all;
  const named = { buyer: client.address, payTo: stack.info.payTo };
  const before = await stack.balances(named);
  const reply = await read(await client.pay(`${all.url}${path}`));
  assert.equal(reply.status, 200, reply.text);
  const settlement = settlementOf(client.version, reply);
  assert.equal(settlement?.success, true, JSON.stringify(settlement));
  assert.match(settlement.transaction, TX_HASH);
  const now = await stack.balances(named);
  assert.equal(now.buyer, before.buyer - amount);
  assert.equal(now.payTo, before.payTo + amount);
  return reply;
}

test('a free first request is the app\'s, and the paid routes answer 402 after it', TEST_TIMEOUT, async () => {
  const free = await read(await fetch(`${all.url}/`));
  assert.deepEqual([free.status, free.text], [200, 'free front page']);
  const unpaid = await read(await fetch(`${all.url}/weather`));
  assert.equal(unpaid.status, 402, unpaid.text);
  const challenge = decodeHeader(unpaid.headers.get('PAYMENT-REQUIRED'));
  assert.equal(challenge.accepts[0].amount, String(PRICE));
  assert.equal(challenge.accepts[0].asset, all.stack.info.token);
  assert.doesNotMatch(unpaid.text, /sunny/);
  assert.equal(all.stack.settleCalls(), 0);
});

for (const [version, index] of [[2, 0], [1, 1]]) {
  test(`the official v${version} client buys the fixed-price route through the Hono middleware`, TEST_TIMEOUT, async () => {
    const reply = await buyFor(buyer(version, index), '/weather', PRICE);
    assert.deepEqual(reply.json(), { forecast: 'sunny' });
  });
}

test('a route priced by a function of the request charges that request\'s price', TEST_TIMEOUT, async () => {
  const client = buyer(2, 2);
  const full = await buyFor(client, '/reports/7?detail=full', FULL);
  assert.deepEqual(full.json(), { report: '7', detail: 'full' });
  const summary = await buyFor(client, '/reports/7', SUMMARY);
  assert.deepEqual(summary.json(), { report: '7', detail: 'summary' });
});

test('the same payment again is served from its receipt; a bad signature costs no call', TEST_TIMEOUT, async () => {
  const { stack } = all;
  const client = buyer(2, 0);
  await buyFor(client, '/weather', PRICE);
  const payment = client.recorder.last();
  const settles = stack.settleCalls();
  const again = await read(await fetch(`${all.url}/weather`, { headers: { [payment.name]: payment.value } }));
  assert.equal(again.status, 200, again.text);
  assert.equal(all.logs.at(-1).outcome, 'receipt');
  const forged = decodeHeader(payment.value);
  forged.payload.authorization.nonce = `0x${'ab'.repeat(32)}`;
  const header = Buffer.from(JSON.stringify(forged)).toString('base64');
  const bad = await read(await fetch(`${all.url}/weather`, { headers: { [payment.name]: header } }));
  assert.equal(bad.status, 402, bad.text);
  assert.equal(decodeHeader(bad.headers.get('PAYMENT-REQUIRED')).error, 'invalid_exact_evm_signature');
  assert.equal(stack.settleCalls(), settles);
});
