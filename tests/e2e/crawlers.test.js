// End to end: crawlers, priced by who they are. The Worker (workerd under wrangler dev) sells
// routes with `clients` on the local stack; crawlers sign their requests with Cloudflare's
// published Web Bot Auth signer (npm `web-bot-auth` 0.1.3: RFC 9421, Ed25519) and publish
// their keys at /.well-known/http-message-signatures-directory of a local server, which the
// Worker fetches; they pay with the official x402 v2 client (@x402/fetch):
//
//   @x402/fetch ──► signing fetch (web-bot-auth) ──► Worker ──► facilitator ──► chain
//                                                      └──► the agent's key directory
//
//   1. a signed crawler stating `crawler-max-price` (covered by its signature) pays the
//      route's price in one round trip after its 402, and is told `crawler-charged`;
//   2. a stated maximum below the price, and both price headers at once, are refused with
//      pay-per-crawl's `crawler-error`, and nothing moves;
//   3. tampered, expired, unsigned and unknown-key requests get the unsigned bots' terms
//      (here: a higher price, or refused), never an error page; a denied agent is refused;
//   4. an unsigned bot pays the bots' price with the official client.
// (Browsers, in Chromium, are in tests/paywall/.)

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import { signatureHeaders } from 'web-bot-auth';
import { signerFromJWK } from 'web-bot-auth/crypto';

import {
  START_TIMEOUT, TEST_TIMEOUT, TX_HASH, decodeHeader, readReply, settlementOf, stackBuyer, startWith, stopAll,
} from './harness.js';

/** The route's price and the unsigned bots' price, in the token's 6-decimal units. */
const PRICE = 1000n;
const BOT_PRICE = 2000n;
const DIRECTORY_PATH = '/.well-known/http-message-signatures-directory';

const all = {};
before(async () => {
  all.crawler = await startAgent();
  all.denied = await startAgent();
  Object.assign(all, await startWith((accepts) => [
    { match: '/', free: true },
    {
      match: 'GET /articles/:id', price: '$0.001', accepts,
      clients: { browsers: 'free', unsigned_bots: '$0.002', deny_agents: [all.denied.url] },
    },
    { match: 'GET /members/:id', price: '$0.001', accepts, clients: { unsigned_bots: 'refuse' } },
  // The agents' directories are on 127.0.0.1: `local_agents` lets the gateway fetch them.
  ], { web_bot_auth: { max_validity_s: 300, local_agents: true } }));
}, START_TIMEOUT);
after(async () => {
  await stopAll(all);
  await all.crawler?.stop();
  await all.denied?.stop();
});

/**
 * An agent: an Ed25519 key made with WebCrypto, its public half served as a key directory
 * on 127.0.0.1 (counting the fetches), and its signer from `web-bot-auth`.
 */
async function startAgent() {
  const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const jwk = await crypto.subtle.exportKey('jwk', pair.privateKey);
  const signer = await signerFromJWK(jwk);
  const directory = JSON.stringify({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: jwk.x, use: 'sig' }] });
  let fetches = 0;
  const server = http.createServer((req, res) => {
    if (req.url !== DIRECTORY_PATH) return res.writeHead(404).end();
    fetches += 1;
    res.writeHead(200, {
      'content-type': 'application/http-message-signatures-directory+json',
      'cache-control': 'max-age=600',
    }).end(directory);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    signer,
    fetches: () => fetches,
    stop: () => new Promise((resolve) => server.close(resolve)),
  };
}

/**
 * `request` signed by `agent` as a crawler signs it: `Signature-Agent` naming its directory,
 * `covered` fields (beside `@authority` and `signature-agent`), valid from `created` for
 * `validS` seconds.
 */
async function signed(agent, request, { covered = [], created = new Date(), validS = 60 } = {}) {
  const headers = new Headers(request.headers);
  headers.set('Signature-Agent', `"${agent.url}"`);
  const unsigned = new Request(request, { headers });
  const expires = new Date(created.getTime() + validS * 1000);
  const components = ['@authority', 'signature-agent', ...covered];
  const signature = await signatureHeaders(unsigned, agent.signer, { created, expires, components });
  headers.set('Signature', signature.Signature);
  headers.set('Signature-Input', signature['Signature-Input']);
  return new Request(request, { headers });
}

/** One GET of the Worker, `prepare`d (signed), read whole. */
async function get(path, { headers = {}, prepare = async (r) => r } = {}) {
  const request = await prepare(new Request(`${all.worker.url}${path}`, {
    headers: { 'User-Agent': 'edge402-e2e-crawler/1.0', ...headers },
  }));
  return readReply(await fetch(request, { signal: AbortSignal.timeout(15_000) }));
}

/** The stack's buyer `index` with the official v2 client, its requests prepared by `prepare`. */
function crawlerBuyer(index, prepare) {
  const buyer = stackBuyer(all.stack.info, 2, index);
  buyer.recorder.prepare = prepare;
  return buyer;
}

const settles = () => all.stack.settleCalls();
const balances = (buyer) => all.stack.balances({ buyer: buyer.address, payTo: all.stack.info.payTo });

describe('a signed crawler', () => {
  test('states its maximum, pays the route price through the official client, and is told what it was charged', TEST_TIMEOUT, async () => {
    const maxPrice = { 'crawler-max-price': 'USD 0.01' };
    const buyer = crawlerBuyer(0, (request) => {
      const headers = new Headers(request.headers);
      headers.set('crawler-max-price', maxPrice['crawler-max-price']);
      return signed(all.crawler, new Request(request, { headers }), { covered: ['crawler-max-price'] });
    });
    const before = await balances(buyer);
    const settled = settles();
    const reply = await readReply(await buyer.pay(`${all.worker.url}/articles/1`));
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.header('crawler-charged'), 'USD 0.001');
    const settlement = settlementOf(2, reply);
    assert.equal(settlement.success, true);
    assert.match(settlement.transaction, TX_HASH);
    assert.equal(settles(), settled + 1);
    const after = await balances(buyer);
    assert.equal(before.buyer - after.buyer, PRICE, 'the route price, not the bots\'');
    // The client's first request got the 402 in pay-per-crawl terms; the directory was
    // fetched once for both requests.
    assert.equal(buyer.recorder.payments.length, 1);
    assert.ok(all.crawler.fetches() >= 1 && all.crawler.fetches() <= 2, String(all.crawler.fetches()));
    const challenge = await get('/articles/2', { prepare: (r) => signed(all.crawler, r) });
    assert.equal(challenge.status, 402);
    assert.equal(challenge.header('crawler-price'), 'USD 0.001');
    assert.equal(decodeHeader(challenge.header('PAYMENT-REQUIRED')).accepts[0].amount, String(PRICE));
  });

  test('a maximum below the price, or both price headers, get crawler-error and move nothing', TEST_TIMEOUT, async () => {
    const buyer = crawlerBuyer(1, (request) => request);
    buyer.recorder.hold = true;
    // A valid payment for the route, made by the official client and held back.
    await buyer.pay(`${all.worker.url}/articles/3`);
    const payment = buyer.recorder.last();
    const before = await balances(buyer);
    const settled = settles();
    for (const [stated, status, error] of [
      [{ 'crawler-max-price': 'USD 0.0005' }, 402, 'InvalidCrawlerMaxPrice'],
      [{ 'crawler-exact-price': 'USD 0.002' }, 402, 'InvalidCrawlerExactPrice'],
      [{ 'crawler-exact-price': 'USD 0.001', 'crawler-max-price': 'USD 1' }, 400, 'ConflictingPriceHeaders'],
      [{ 'crawler-max-price': 'a dollar' }, 400, 'InvalidCrawlerPriceValue'],
    ]) {
      const reply = await get('/articles/3', {
        headers: { ...stated, [payment.name]: payment.value },
        prepare: (r) => signed(all.crawler, r, { covered: Object.keys(stated) }),
      });
      assert.equal(reply.status, status, `${JSON.stringify(stated)}: ${reply}`);
      assert.equal(reply.header('crawler-error'), error);
      if (status === 402) assert.equal(reply.header('crawler-price'), 'USD 0.001');
    }
    assert.equal(settles(), settled);
    assert.deepEqual(await balances(buyer), before);
  });
});

describe('what is not a valid signature', () => {
  test('tampered, expired, unknown-key and unsigned requests get the unsigned bots\' terms, never an error page', TEST_TIMEOUT, async () => {
    const stranger = await startAgent();
    await stranger.stop(); // its directory is gone: its key cannot be known
    const variants = {
      unsigned: (r) => r,
      tampered: async (r) => {
        const headers = new Headers(r.headers);
        headers.set('crawler-max-price', 'USD 1');
        const request = await signed(all.crawler, new Request(r, { headers }), { covered: ['crawler-max-price'] });
        const changed = new Headers(request.headers);
        changed.set('crawler-max-price', 'USD 2');
        return new Request(request, { headers: changed });
      },
      expired: (r) => signed(all.crawler, r, { created: new Date(Date.now() - 120_000), validS: 60 }),
      'too long-lived': (r) => signed(all.crawler, r, { validS: 3_600 }),
      'unknown key': (r) => signed(stranger, r),
    };
    for (const [what, prepare] of Object.entries(variants)) {
      const priced = await get('/articles/4', { prepare });
      assert.equal(priced.status, 402, `${what}: ${priced}`);
      assert.equal(priced.header('crawler-price'), 'USD 0.002', what);
      assert.equal(decodeHeader(priced.header('PAYMENT-REQUIRED')).accepts[0].amount, String(BOT_PRICE), what);
      const refused = await get('/members/1', { prepare });
      assert.equal(refused.status, 403, `${what}: ${refused}`);
      assert.equal(refused.header('crawler-error'), 'StrongAuthRequired', what);
      assert.equal(refused.json().error, 'signature_required');
    }
    // The valid signature, for contrast: the route price, and served where bots are refused.
    const valid = await get('/members/1', { prepare: (r) => signed(all.crawler, r) });
    assert.equal(valid.status, 402, String(valid));
    assert.equal(valid.header('crawler-price'), 'USD 0.001');
  });

  test('a denied agent is refused with CrawlerForbidden, whatever it pays', TEST_TIMEOUT, async () => {
    const reply = await get('/articles/5', { prepare: (r) => signed(all.denied, r) });
    assert.equal(reply.status, 403, String(reply));
    assert.equal(reply.header('crawler-error'), 'CrawlerForbidden');
    assert.equal(reply.json().error, 'agent_forbidden');
  });
});

test('an unsigned bot pays the bots\' price with the official client', TEST_TIMEOUT, async () => {
  const buyer = crawlerBuyer(2, (request) => request);
  const before = await balances(buyer);
  const reply = await readReply(await buyer.pay(`${all.worker.url}/articles/6`));
  assert.equal(reply.status, 200, reply.text);
  assert.equal(reply.header('crawler-charged'), 'USD 0.002');
  const after = await balances(buyer);
  assert.equal(before.buyer - after.buyer, BOT_PRICE);
});
