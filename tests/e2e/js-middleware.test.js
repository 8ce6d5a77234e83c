// End to end: the npm package's Hono middleware (js/dist, the WASM gateway) in one Hono app
// (hono-app.js), run on Node's HTTP server and as a plain JavaScript Worker in workerd
// (hono-worker/, receipts in KV), configured with the official SDK's route shape, paid by the
// OFFICIAL x402 clients and settled by the reference facilitator on the local chain. On each:
//
//   1. the first request is to a free route: the app answers, nothing else happens, and the
//      paid routes work after it (no lazy start-up that a free request could leave hanging);
//   2. both official clients buy a fixed-price route (`{ amount, asset }`): the app's
//      content, the settlement header, the price moved on chain once;
//   3. a route whose price is a function of the request: the price of that request moves;
//   4. the same payment again is served from its receipt without a second transfer, and a
//      bad signature is refused without any facilitator call;
//   5. (Node) a route's extensions declared with the official @x402/extensions helpers are the
//      gateway's: its 402 carries them as the package's validators and verifiers accept.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { serve } from '@hono/node-server';
import { declareDiscoveryExtension, validateDiscoveryExtension } from '@x402/extensions/bazaar';
import { declareOfferReceiptExtension, verifyOfferSignatureEIP712 } from '@x402/extensions/offer-receipt';
import { PAYMENT_IDENTIFIER, declarePaymentIdentifierExtension } from '@x402/extensions/payment-identifier';
import { Hono } from 'hono';
import { privateKeyToAccount } from 'viem/accounts';

import { memoryStore, paymentMiddleware } from '../../js/dist/node.mjs';
import { startWorker } from '../worker/helpers.js';
import { priced, routes } from './hono-app.js';
import {
  PRICE, START_TIMEOUT, TEST_TIMEOUT, buyExactly, decodeHeader, gatewayConfig, readReply, stackBuyer,
  startStack,
} from './harness.js';

const QUOTE_SECRET = 'js-middleware-quote-secret-0123456789';
const SUMMARY = 2_000n;
const FULL = 10_000n;

const all = {};
before(async () => {
  all.stack = await startStack();
  const { info } = all.stack;
  const { networks } = gatewayConfig(info);
  const app = priced(new Hono().use(paymentMiddleware(routes({ network: info.network, payTo: info.payTo, token: info.token }), {
    facilitatorUrl: info.facilitatorUrl, networks, store: memoryStore(), quoteSecret: QUOTE_SECRET,
  })));
  all.server = await new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(server));
  });
  all.node = `http://127.0.0.1:${all.server.address().port}`;
  const vars = {
    FACILITATOR_URL: info.facilitatorUrl, PAY_TO: info.payTo, TOKEN: info.token,
    NETWORKS: JSON.stringify(networks), QUOTE_SECRET,
  };
  all.worker = await startWorker({}, { vars, wranglerToml: 'tests/e2e/hono-worker/wrangler.toml' });
}, START_TIMEOUT);
after(async () => {
  if (process.env.EDGE402_E2E_LOGS) process.stderr.write(`--- wrangler ---\n${all.worker?.output()}\n`);
  await new Promise((resolve) => (all.server ? all.server.close(resolve) : resolve()));
  await all.worker?.stop();
  await all.stack?.stop();
});

const buyer = (version, index) => stackBuyer(all.stack.info, version, index);
const buyFor = (client, url, amount) => buyExactly(all.stack, client, url, amount);
const read = readReply;

for (const [host, base] of [['on Node', () => all.node], ['in workerd', () => all.worker.url]]) {
  describe(`the Hono app ${host}`, () => {
    test('a free first request is the app\'s, and the paid routes answer 402 after it', TEST_TIMEOUT, async () => {
      const settles = all.stack.settleCalls();
      const free = await read(await fetch(`${base()}/`));
      assert.deepEqual([free.status, free.text], [200, 'free front page']);
      const unpaid = await read(await fetch(`${base()}/weather`));
      assert.equal(unpaid.status, 402, unpaid.text);
      const challenge = decodeHeader(unpaid.headers.get('PAYMENT-REQUIRED'));
      assert.equal(challenge.accepts[0].amount, String(PRICE));
      assert.equal(challenge.accepts[0].asset, all.stack.info.token);
      assert.doesNotMatch(unpaid.text, /sunny/);
      assert.equal(all.stack.settleCalls(), settles);
    });

    for (const [version, index] of [[2, 0], [1, 1]]) {
      test(`the official v${version} client buys the fixed-price route`, TEST_TIMEOUT, async () => {
        const reply = await buyFor(buyer(version, index), `${base()}/weather`, PRICE);
        assert.deepEqual(reply.json(), { forecast: 'sunny' });
      });
    }

    test('a route priced by a function of the request charges that request\'s price', TEST_TIMEOUT, async () => {
      const client = buyer(2, 2);
      const full = await buyFor(client, `${base()}/reports/7?detail=full`, FULL);
      assert.deepEqual(full.json(), { report: '7', detail: 'full' });
      const summary = await buyFor(client, `${base()}/reports/7`, SUMMARY);
      assert.deepEqual(summary.json(), { report: '7', detail: 'summary' });
    });

    test('the same payment again is served from its receipt; a bad signature costs no call', TEST_TIMEOUT, async () => {
      const { stack } = all;
      const client = buyer(2, 0);
      await buyFor(client, `${base()}/weather`, PRICE);
      const payment = client.recorder.last();
      const settles = stack.settleCalls();
      const before = await stack.balanceOf(client.address);
      const again = await read(await fetch(`${base()}/weather`, { headers: { [payment.name]: payment.value } }));
      assert.equal(again.status, 200, again.text);
      assert.deepEqual(again.json(), { forecast: 'sunny' });
      const forged = decodeHeader(payment.value);
      forged.payload.authorization.nonce = `0x${'ab'.repeat(32)}`;
      const header = Buffer.from(JSON.stringify(forged)).toString('base64');
      const bad = await read(await fetch(`${base()}/weather`, { headers: { [payment.name]: header } }));
      assert.equal(bad.status, 402, bad.text);
      assert.equal(decodeHeader(bad.headers.get('PAYMENT-REQUIRED')).error, 'invalid_exact_evm_signature');
      assert.equal(stack.settleCalls(), settles, 'neither the receipt nor the bad signature settled');
      assert.equal(await stack.balanceOf(client.address), before);
    });
  });
}

test('in workerd, copies of one payment sent at once settle it once, in its Durable Object', TEST_TIMEOUT, async () => {
  const { stack } = all;
  const client = buyer(2, 1);
  client.recorder.hold = true;
  await client.pay(`${all.worker.url}/reports/9`);
  const payment = client.recorder.last();
  const settles = stack.settleCalls();
  const replies = await Promise.all(Array.from({ length: 10 }, () =>
    fetch(`${all.worker.url}/reports/9`, { headers: { [payment.name]: payment.value } }).then(read)));
  assert.deepEqual(replies.map((r) => r.status), Array(10).fill(200), replies.map((r) => r.text).join('\n'));
  assert.equal(stack.settleCalls(), settles + 1, 'one /settle for ten copies');
  const objects = readdirSync(join(all.worker.persistTo, 'v3', 'do'));
  assert.ok(objects.some((name) => name.includes('PaymentCoordinator')), objects.join());
});

test('the official extension declarations of a route become the gateway\'s: bazaar, payment-identifier, offer-receipt', TEST_TIMEOUT, async () => {
  const { info } = all.stack;
  const offerKey = `0x${'6f'.repeat(32)}`;
  const way = { scheme: 'exact', network: info.network, payTo: info.payTo, price: { amount: '1000', asset: info.token } };
  const extensions = {
    ...declareDiscoveryExtension({
      input: { city: 'Lisbon' }, inputSchema: { properties: { city: { type: 'string' } }, required: ['city'] },
      output: { example: { forecast: 'sunny' } },
    }),
    [PAYMENT_IDENTIFIER]: declarePaymentIdentifierExtension(true),
    ...declareOfferReceiptExtension({ offerValiditySeconds: 90 }),
  };
  const app = priced(new Hono().use(paymentMiddleware({ 'GET /weather': { accepts: [way], description: 'weather', extensions } }, {
    facilitatorUrl: info.facilitatorUrl, networks: gatewayConfig(info).networks, store: memoryStore(), offerReceiptKey: offerKey,
  })));
  const unpaid = await app.fetch(new Request('http://127.0.0.1/weather'));
  assert.equal(unpaid.status, 402);
  const declared = decodeHeader(unpaid.headers.get('PAYMENT-REQUIRED')).extensions;
  assert.deepEqual(validateDiscoveryExtension(declared.bazaar), { valid: true });
  assert.deepEqual(declared.bazaar.info.input, { type: 'http', method: 'GET', queryParams: { city: 'Lisbon' } });
  assert.deepEqual(declared[PAYMENT_IDENTIFIER].info, { required: true });
  const [offer] = declared['offer-receipt'].info.offers;
  assert.equal((await verifyOfferSignatureEIP712(offer)).signer, privateKeyToAccount(offerKey).address);
  assert.ok(offer.payload.validUntil <= Math.floor(Date.now() / 1000) + 90);
});
