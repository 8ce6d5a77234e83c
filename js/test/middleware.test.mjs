// The gateway for JavaScript servers, without a network: its configuration is checked when
// it is made, unpaid and hostile requests are answered by the WASM core without calling the
// application or the facilitator, and free routes reach the application. (Paid requests,
// settled on a chain by the official clients: tests/e2e/js-middleware.test.js.)
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Gateway, memoryStore, paymentGateway } from '../dist/node.mjs';

const PAY_TO = '0x209693Bc6afc0C5328bA36FaF03C514EF312287C';
const way = { scheme: 'exact', price: '$0.001', network: 'eip155:84532', payTo: PAY_TO };
// A facilitator no test reaches: any call to it fails the test through `calls`.
const facilitatorUrl = 'http://127.0.0.1:9';

function gateway(routes, options = {}) {
  return paymentGateway(routes, { facilitatorUrl, store: memoryStore(), ...options });
}

/** Sends `request` through `gw`, recording whether the application ran. */
async function send(gw, url, init) {
  const seen = [];
  const response = await gw.fetch(new Request(url, init), async (request) => {
    seen.push(new URL(request.url).pathname);
    return new Response('app content');
  });
  return { response, seen, text: await response.text() };
}

test('a broken configuration is refused when the gateway is made, naming the key', async () => {
  const cases = [
    [{ 'GET /x': { accepts: [{ ...way, network: 'nowhere' }] } }, /network/],
    [{ 'GET /x': { accepts: [way, { ...way, price: '$0.002' }] } }, /same price/],
    [{ 'GET /x': { accepts: [{ ...way, scheme: 'upto' }] } }, /exact only/],
    [{ 'GET /x': { accepts: [{ ...way, price: () => '$1' }] } }, /QUOTE_SECRET/],
  ];
  for (const [routes, message] of cases) {
    const gw = gateway(routes);
    await assert.rejects(send(gw, 'https://api.example/x'), (error) => {
      assert.equal(error.reason, 'invalid_configuration');
      assert.match(error.message, message);
      return true;
    });
  }
  assert.throws(() => new Gateway({ routes: [] }, { quoteSecret: 'short' }), /32 bytes/);
  const l402 = { routes: [{ match: '/ln', l402: { price_sats: 1, service: 's' } }], lightning: { url: 'https://lnd.example' } };
  assert.throws(() => new Gateway(l402), /served by the Worker/);
  await assert.rejects(send(paymentGateway({}, { facilitatorUrl }), 'https://api.example/'), /options.store/);
});

test('an unpaid request gets the 402 of both versions, and the app does not run', async () => {
  const gw = gateway({ 'GET /weather': { accepts: [way], description: 'Weather' } });
  const { response, seen, text } = await send(gw, 'https://api.example/weather');
  assert.equal(response.status, 402);
  assert.deepEqual(seen, []);
  const challenge = JSON.parse(Buffer.from(response.headers.get('PAYMENT-REQUIRED'), 'base64'));
  assert.equal(challenge.resource.url, 'https://api.example/weather');
  assert.deepEqual(challenge.accepts.map((a) => [a.network, a.amount, a.payTo]), [['eip155:84532', '1000', PAY_TO]]);
  assert.equal(JSON.parse(text).accepts[0].network, 'base-sepolia');
});

test('hostile payments are refused by the core with a reason, the app never runs', async () => {
  const gw = gateway({ 'GET /weather': { accepts: [way] } });
  for (const [header, value, status, reason] of [
    ['PAYMENT-SIGNATURE', '%%%', 400, 'invalid_payload'],
    ['X-PAYMENT', Buffer.from('{"x402Version":9}').toString('base64'), 402, 'invalid_x402_version'],
    ['PAYMENT-SIGNATURE', 'A'.repeat(20_000), 400, 'invalid_payload'],
  ]) {
    const { response, seen, text } = await send(gw, 'https://api.example/weather', { headers: { [header]: value } });
    assert.equal(response.status, status, text);
    assert.equal(JSON.parse(text).error, reason);
    assert.deepEqual(seen, []);
  }
  const { response } = await send(gw, 'https://api.example/we%2Fther');
  assert.equal(response.status, 400);
});

test('free routes reach the app; a price function may make a request free', async () => {
  const gw = gateway({
    'GET /reports/[id]': { accepts: { ...way, price: ({ query }) => (query === 'free=1' ? null : '$0.002') } },
  }, { quoteSecret: 'a-quote-secret-of-at-least-32-bytes!!' });
  const free = await send(gw, 'https://api.example/health');
  assert.deepEqual([free.response.status, free.text, free.seen], [200, 'app content', ['/health']]);
  const priced = await send(gw, 'https://api.example/reports/7');
  assert.equal(priced.response.status, 402);
  const challenge = JSON.parse(Buffer.from(priced.response.headers.get('PAYMENT-REQUIRED'), 'base64'));
  assert.equal(challenge.accepts[0].amount, '2000');
  assert.match(challenge.accepts[0].extra.edge402Quote, /^v1\./);
  const gift = await send(gw, 'https://api.example/reports/7?free=1');
  assert.deepEqual([gift.response.status, gift.seen], [200, ['/reports/7']]);
});

test('a price function that throws serves nothing', async () => {
  const gw = gateway({ 'GET /r': { accepts: { ...way, price: () => { throw new Error('down'); } } } },
    { quoteSecret: 'a-quote-secret-of-at-least-32-bytes!!' });
  const { response, seen, text } = await send(gw, 'https://api.example/r');
  assert.equal(response.status, 502);
  assert.equal(JSON.parse(text).error, 'pricing_unavailable');
  assert.deepEqual(seen, []);
});

test('prices are read as the official SDK reads them', async () => {
  const amountOf = async (price, extra = {}) => {
    const gw = gateway({ 'GET /x': { accepts: [{ ...way, ...extra, price }] } });
    const { response } = await send(gw, 'https://api.example/x');
    return JSON.parse(Buffer.from(response.headers.get('PAYMENT-REQUIRED'), 'base64')).accepts[0].amount;
  };
  assert.equal(await amountOf('1'), '1000000', '"1" is one dollar, not one atomic unit');
  assert.equal(await amountOf('$0.01'), '10000');
  assert.equal(await amountOf(0.01), '10000');
  assert.equal(await amountOf({ amount: '1234', asset: '0x036CbD53842c5426634e7929541eC2318f3dCF7e' }), '1234');
  for (const bad of ['1.50 USDT', '-1', {}, true]) {
    await assert.rejects(amountOf(bad), (error) => error.reason === 'invalid_configuration', JSON.stringify(bad));
  }
});

test('an answer without a status is not content', async () => {
  const gw = gateway({});
  const response = await gw.fetch(new Request('https://api.example/free'), async () => ({ body: 'x' }));
  assert.equal(response.status, 502);
  assert.equal((await response.json()).error, 'origin_unavailable');
});

test('the memory store stays within its bound', async () => {
  const store = memoryStore({ maxEntries: 3 });
  for (const key of ['a', 'b', 'c', 'd']) await store.put(key, key, 60);
  assert.deepEqual(await Promise.all(['a', 'b', 'c', 'd'].map((k) => store.get(k))), [null, 'b', 'c', 'd']);
  await store.put('e', 'e', 0);
  assert.equal(await store.get('e'), null, 'expired at once');
});

test('a method-override header is refused on every path, before the app', async () => {
  const gw = gateway({ 'GET /weather': { accepts: [way] } });
  for (const path of ['/weather', '/free']) {
    const { response, seen, text } = await send(gw, `https://api.example${path}`, {
      method: 'POST', headers: { 'X-HTTP-Method-Override': 'GET' },
    });
    assert.equal(response.status, 400, text);
    assert.equal(JSON.parse(text).error, 'method_override_refused');
    assert.deepEqual(seen, []);
  }
});

test('a route with clients tells browsers from bots by their headers, and speaks pay-per-crawl to bots', async () => {
  const gw = gateway({
    'GET /articles/[id]': { accepts: [way], clients: { browsers: 'free', unsigned_bots: '$0.002' } },
  });
  const browser = { 'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64)', 'Sec-Fetch-Mode': 'navigate' };
  const free = await send(gw, 'https://api.example/articles/1', { headers: browser });
  assert.equal(free.response.status, 200);
  assert.deepEqual(free.seen, ['/articles/1']);
  const bot = await send(gw, 'https://api.example/articles/1', { headers: { 'User-Agent': 'curl/8.5.0' } });
  assert.equal(bot.response.status, 402);
  assert.equal(bot.response.headers.get('crawler-price'), 'USD 0.002');
  assert.deepEqual(bot.seen, []);
  // A signature that cannot be verified (no directory can be reached) counts as none.
  const signed = await send(gw, 'https://api.example/articles/1', {
    headers: {
      'User-Agent': 'crawler/1.0', 'Signature-Agent': '"https://agent.invalid"',
      'Signature-Input': 'sig1=("@authority" "signature-agent");created=1;expires=2;keyid="k";tag="web-bot-auth"',
      Signature: `sig1=:${Buffer.alloc(64).toString('base64')}:`,
    },
  });
  assert.equal(signed.response.headers.get('crawler-price'), 'USD 0.002');
});
