// One payment, one settlement, never charged without content: the payment coordinator
// (a Durable Object per payment) under faults injected in front of the REAL facilitator.
//
//   official v2 client ──► wrangler dev (workerd) ──► fault proxy ──► reference facilitator ──► chain
//                             │  PAYMENTS (Durable Objects)  ▲ breaks /settle answers AFTER the
//                             │  RECEIPTS (KV)               │ facilitator has acted
//                             │                 backup proxy ┘ (the second facilitator URL)
//                             └─► rpc proxy ────────────────────────────► chain (JSON-RPC)
//                             └─► origin (Node, counts its requests; a proxied request is sent once)
//
// For each fault: the buyer pays; what the Worker answers, the transfers on chain, the origin's
// calls and the operator's listing are read; then the buyer retries with the same payment.
// Everywhere: never a 200 without a transfer, never two transfers, and once a transfer is mined
// the retry gets the content (once per request) and no new transfer. Then copies of one payment
// at once, and many distinct payments at once. Counts bound every loop.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, afterEach, before, describe, test } from 'node:test';

import { startWorker } from '../worker/helpers.js';
import { startFaultProxy } from './fault-proxy.js';
import {
  PRICE, START_TIMEOUT, TX_HASH, decodeHeader, gatewayConfig, settlementOf, startStack, v2Buyer,
} from './harness.js';

/** The Worker's /settle timeout here, and how long the proxy's `delay` holds an answer. */
const SETTLE_TIMEOUT_MS = 3_000;
const DELAY_MS = SETTLE_TIMEOUT_MS + 3_000;
/** How soon the coordinator asks the chain again for a retry (coordinator::INLINE_RECHECK_S). */
const RECHECK_WAIT_MS = 2_100;
const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';
const ORIGIN_MARKER = 'content-from-the-e2e-origin';
const TEST_TIMEOUT = { timeout: 90_000 };
/** Copies of one payment sent at once. */
const COPIES = 50;
/** Distinct payments, and how many are in flight at once; the load's time bound. */
const DISTINCT_PAYMENTS = 1000;
const CONCURRENCY = 20;
const LOAD_TIMEOUT_MS = 600_000;

const all = {};
before(async () => {
  all.stack = await startStack();
  const { info } = all.stack;
  all.facilitator = await startFaultProxy(info.facilitatorUrl, { paths: ['/settle'], delayMs: DELAY_MS });
  // The second facilitator URL: the same facilitator through another proxy, tried only when a
  // request could not be sent to the first.
  all.backup = await startFaultProxy(info.facilitatorUrl, { paths: ['/settle'] });
  all.rpc = await startFaultProxy(info.rpcUrl);
  all.origin = await startOrigin();
  const config = gatewayConfig(info, { facilitatorUrl: [all.facilitator.url, all.backup.url], rpcUrl: all.rpc.url });
  config.origin = all.origin.url;
  config.facilitator.settle_timeout_ms = SETTLE_TIMEOUT_MS;
  config.routes.push({
    match: 'POST /orders', price: '$0.001', accepts: [{ network: info.networkV1, pay_to: info.payTo, asset: info.token }],
  });
  all.worker = await startWorker(config, { vars: { ADMIN_TOKEN } });
}, { timeout: START_TIMEOUT.timeout + 30_000 });

after(async () => {
  if (process.env.EDGE402_E2E_LOGS) {
    process.stderr.write(`--- stack ---\n${all.stack?.output()}\n--- wrangler ---\n${all.worker?.output()}\n`);
  }
  await all.worker?.stop();
  await all.origin?.stop();
  await all.rpc?.stop();
  await all.facilitator?.stop();
  await all.backup?.stop();
  await all.stack?.stop();
});

// ---------------------------------------------------------------------------------------------
// Helpers

/** An origin that answers every request with its path (and counts them, by path). */
async function startOrigin() {
  const calls = new Map();
  const server = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      calls.set(request.url, (calls.get(request.url) ?? 0) + 1);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ marker: ORIGIN_MARKER, path: request.url }));
    });
  });
  // Idle connections outlive workerd's pool, as behind any reverse proxy: otherwise a request
  // can race the server closing the connection it is sent on.
  server.keepAliveTimeout = 120_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    calls: (path) => calls.get(path) ?? 0,
    stop: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** What the official v2 client would send for `path` (signed, not sent). */
async function signFor(buyerIndex, path, method = 'GET') {
  const { info } = all.stack;
  const buyer = v2Buyer(info, info.buyers[buyerIndex].privateKey);
  buyer.recorder.hold = true;
  const held = await buyer.pay(`${all.worker.url}${path}`, { method });
  assert.equal(held.status, 418, 'the client should have tried to send a payment');
  const payment = buyer.recorder.last();
  const payload = decodeHeader(payment.value);
  return { ...payment, payload, nonce: payload.payload.authorization.nonce, from: payload.payload.authorization.from };
}

function send(payment, path, method = 'GET') {
  return all.worker.request(method, path, { headers: { [payment.name]: payment.value } });
}

/** Sends `payment` with the facilitator's proxy in `mode`, then puts it back to `pass`. */
async function sendDuring(mode, payment, path) {
  await all.facilitator.setMode(mode);
  try {
    return await send(payment, path);
  } finally {
    await all.facilitator.setMode('pass');
  }
}

/** Transfers of the authorisation `(from, nonce)` on chain. */
async function transfersOf(payment) {
  const used = await all.stack.authorizationsUsed(payment.from, payment.nonce);
  return used.map((e) => e.transactionHash);
}

/** The operator's listing for one nonce. */
async function listed(payment, state = 'unknown') {
  const reply = await all.worker.get(`/__edge402/settlements?state=${state}&nonce=${payment.nonce}`, {
    authorization: `Bearer ${ADMIN_TOKEN}`,
  });
  assert.equal(reply.status, 200, String(reply));
  return reply.json().payments;
}

function assertServed(reply, path) {
  assert.equal(reply.status, 200, String(reply));
  assert.equal(reply.json().marker, ORIGIN_MARKER, String(reply));
  assert.equal(reply.json().path, path, String(reply));
}

function assertNothingServed(reply) {
  assert.ok(!reply.text.includes(ORIGIN_MARKER), `content was released: ${reply}`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Faults after forwarding: the transfer is mined, the Worker does not learn it from /settle

const FAULTS = [
  { mode: 'drop', status: 502, reason: 'facilitator_unavailable' },
  { mode: 'delay', status: 504, reason: 'facilitator_timeout' },
  { mode: 'error500', status: 502, reason: 'facilitator_unavailable' },
  { mode: 'garbage', status: 502, reason: 'facilitator_unavailable' },
];

describe('a /settle whose answer is lost after the facilitator acted', () => {
  // A test that fails midway must not leave the chain unreachable for the next ones.
  afterEach(() => all.rpc.setMode('pass'));
  for (const fault of FAULTS) {
    test(`(${fault.mode}): ${fault.status} "may have settled", listed as unknown; the retry is served once the chain shows the transfer, which is never repeated`, TEST_TIMEOUT, async () => {
      const path = `/api/fault/${fault.mode}`;
      const payment = await signFor(0, path);
      all.facilitator.reset();
      all.backup.reset();
      // The chain cannot be asked yet: the outcome stays unknown.
      await all.rpc.setMode('refuse');
      const first = await sendDuring(fault.mode, payment, path);
      await all.facilitator.settled();
      assert.equal(all.facilitator.forwarded.length, 1, 'one /settle reached the facilitator');
      assert.equal(all.backup.forwarded.length, 0, 'a request that may have arrived is not sent elsewhere');

      assert.equal(first.status, fault.status, String(first));
      assert.equal(first.json().error, fault.reason);
      assert.match(first.json().message, /may have settled/);
      assert.match(first.json().message, /same payment/);
      assert.ok(Number(first.header('Retry-After')) > 0, `Retry-After: ${first.header('Retry-After')}`);
      assertNothingServed(first);
      assert.equal(all.origin.calls(path), 1, 'after-origin: the origin ran once');
      const mined = await transfersOf(payment);
      assert.equal(mined.length, 1, 'the facilitator mined the transfer');

      const unknown = await listed(payment);
      assert.equal(unknown.length, 1, 'the operator sees the unknown payment');
      assert.equal(unknown[0].state, 'unknown');
      assert.ok(unknown[0].known.unknown.detail, JSON.stringify(unknown[0]));
      assert.equal(unknown[0].record.nonce, payment.nonce);

      // Still no chain: the retry is told to wait, and /settle is not called again.
      await sleep(RECHECK_WAIT_MS);
      const pending = await send(payment, path);
      assert.equal(pending.status, 504, String(pending));
      assert.equal(pending.json().error, 'settlement_pending');
      assertNothingServed(pending);

      // The chain answers again: the retry is served, naming the mined transfer.
      await all.rpc.setMode('pass');
      await sleep(RECHECK_WAIT_MS);
      const retry = await send(payment, path);
      assertServed(retry, path);
      assert.equal(settlementOf(2, retry)?.transaction, mined[0], String(retry));
      const again = await send(payment, path);
      assertServed(again, path);
      assert.equal(all.origin.calls(path), 3, 'each 200 fetched the origin once');
      assert.deepEqual(await transfersOf(payment), mined, 'no second transfer');
      assert.equal(all.facilitator.forwarded.length + all.backup.forwarded.length, 1, 'no second /settle');
      assert.deepEqual(await listed(payment), [], 'no longer listed');
    });
  }

  test('(delay) with the chain reachable, the first request is already served: the coordinator proves the transfer itself', TEST_TIMEOUT, async () => {
    const path = '/api/fault/delay-proven';
    const payment = await signFor(0, path);
    const reply = await sendDuring('delay', payment, path);
    assertServed(reply, path);
    const mined = await transfersOf(payment);
    assert.equal(mined.length, 1);
    assert.equal(settlementOf(2, reply)?.transaction, mined[0]);
    assert.equal(all.origin.calls(path), 1, 'the response fetched before settling is the one served');
  });
});

describe('facilitators refusing connections', () => {
  test('the first refusing: the request goes to the next URL and is served', TEST_TIMEOUT, async () => {
    const path = '/api/fault/failover';
    const payment = await signFor(0, path);
    all.backup.reset();
    const reply = await sendDuring('refuse', payment, path);
    assertServed(reply, path);
    assert.equal(all.backup.forwarded.length, 1, 'settled through the second URL');
    assert.equal((await transfersOf(payment)).length, 1);
  });

  test('all refusing: 502 "nothing was settled", nothing on chain, not listed; the same payment settles once one is back', TEST_TIMEOUT, async () => {
    const path = '/api/fault/refuse';
    const payment = await signFor(0, path);
    await all.backup.setMode('refuse');
    let reply;
    try {
      reply = await sendDuring('refuse', payment, path);
    } finally {
      await all.backup.setMode('pass');
    }
    assert.equal(reply.status, 502, String(reply));
    assert.equal(reply.json().error, 'facilitator_unavailable');
    assert.match(reply.json().message, /nothing was settled/);
    assertNothingServed(reply);
    assert.deepEqual(await transfersOf(payment), []);
    assert.deepEqual(await listed(payment), []);

    const retry = await send(payment, path);
    assertServed(retry, path);
    assert.equal((await transfersOf(payment)).length, 1);
  });
});

describe('hostile smart-wallet payments', () => {
  test('300 random signature bytes from an account without code: refused without a facilitator call', TEST_TIMEOUT, async () => {
    await all.rpc.setMode('pass');
    const path = '/api/smart-wallet-probe';
    const signed = await signFor(0, path);
    const payload = structuredClone(signed.payload);
    payload.payload.signature = `0x${randomBytes(300).toString('hex')}`;
    payload.payload.authorization.from = `0x${randomBytes(20).toString('hex')}`;
    const hostile = { name: signed.name, value: Buffer.from(JSON.stringify(payload)).toString('base64') };
    const verifies = () => all.facilitator.calls('/verify') + all.backup.calls('/verify');
    const before = verifies();
    for (let i = 0; i < 2; i += 1) {
      const reply = await send(hostile, path);
      assert.equal(reply.status, 402, String(reply));
      assert.equal(decodeHeader(reply.header('PAYMENT-REQUIRED')).error, 'smart_wallet_refused');
      assertNothingServed(reply);
    }
    assert.equal(verifies(), before, 'no /verify for a payer without code');
    assert.equal(all.origin.calls(path), 0);
  });
});

describe('the operator listing', () => {
  test('is closed without the token, and refuses a wrong one', TEST_TIMEOUT, async () => {
    const none = await all.worker.get('/__edge402/settlements');
    assert.equal(none.status, 401, String(none));
    const wrong = await all.worker.get('/__edge402/settlements', { authorization: `Bearer ${ADMIN_TOKEN}x` });
    assert.equal(wrong.status, 401, String(wrong));
    assert.equal(wrong.json().error, 'unauthorized');
    const bad = await all.worker.get('/__edge402/settlements?state=bogus', { authorization: `Bearer ${ADMIN_TOKEN}` });
    assert.equal(bad.status, 400, String(bad));
  });
});

// ---------------------------------------------------------------------------------------------
// Copies of one payment at once, and many payments at once

describe(`${COPIES} copies of one payment at once`, () => {
  test('GET: one /settle (the facilitator\'s own log), one transfer, every copy served', TEST_TIMEOUT, async () => {
    const path = '/api/copies';
    const payment = await signFor(1, path);
    const settlesBefore = all.stack.settleCalls();
    const replies = await Promise.all(Array.from({ length: COPIES }, () => send(payment, path)));
    assert.equal(all.stack.settleCalls() - settlesBefore, 1, 'one /settle call');
    const mined = await transfersOf(payment);
    assert.equal(mined.length, 1);
    for (const reply of replies) {
      assertServed(reply, path);
      assert.equal(settlementOf(2, reply)?.transaction, mined[0]);
    }
    assert.equal(all.origin.calls(path), COPIES, 'each served copy fetched the origin once');
  });

  test('POST (settled before the origin, never replayed): one origin call and one 200, the others a clear refusal', TEST_TIMEOUT, async () => {
    const path = '/orders';
    const payment = await signFor(1, path, 'POST');
    const settlesBefore = all.stack.settleCalls();
    const replies = await Promise.all(Array.from({ length: COPIES }, () => send(payment, path, 'POST')));
    assert.equal(all.stack.settleCalls() - settlesBefore, 1, 'one /settle call');
    assert.equal((await transfersOf(payment)).length, 1);
    assert.equal(all.origin.calls(path), 1);
    const served = replies.filter((r) => r.status === 200);
    assert.equal(served.length, 1, replies.map((r) => r.status).join(' '));
    for (const reply of replies.filter((r) => r.status !== 200)) {
      assert.equal(reply.status, 402, String(reply));
      assert.equal(reply.json().error, 'payment_already_used', String(reply));
      assertNothingServed(reply);
    }
  });
});

describe(`${DISTINCT_PAYMENTS} distinct payments, ${CONCURRENCY} at a time, by the official v2 client`, () => {
  test('none lost, none duplicated: every transfer answered with content, every 200 backed by its transfer', { timeout: LOAD_TIMEOUT_MS + 60_000 }, async (t) => {
    const { info } = all.stack;
    const { address, privateKey } = info.buyers[2];
    const transfersBefore = (await all.stack.transfersFrom(address)).length;
    const deadline = Date.now() + LOAD_TIMEOUT_MS;
    const results = [];
    let next = 0;
    const lane = async () => {
      const buyer = v2Buyer(info, privateKey);
      while (next < DISTINCT_PAYMENTS && Date.now() < deadline) {
        const path = `/api/load/${next++}`;
        const response = await buyer.pay(`${all.worker.url}${path}`);
        const text = await response.text();
        results.push({ path, status: response.status, text, settlement: settlementOf(2, response) });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, lane));
    assert.equal(results.length, DISTINCT_PAYMENTS, 'every payment was made within the time bound');

    const served = results.filter((r) => r.status === 200);
    const failed = results.filter((r) => r.status !== 200);
    t.diagnostic(`${served.length} served, ${failed.length} not (${[...new Set(failed.map((r) => r.status))].join(' ')})`);
    assert.deepEqual(failed.map((r) => `${r.path}: ${r.status} ${r.text.slice(0, 200)}`), [], 'every payment served');
    for (const reply of served) {
      assert.equal(JSON.parse(reply.text).path, reply.path);
      assert.match(reply.settlement?.transaction ?? '', TX_HASH);
    }
    const transfers = (await all.stack.transfersFrom(address)).slice(transfersBefore);
    assert.equal(transfers.length, DISTINCT_PAYMENTS, 'one transfer per payment');
    assert.ok(transfers.every((e) => e.args.to === info.payTo && e.args.value === PRICE));
    const minedHashes = new Set(transfers.map((e) => e.transactionHash));
    const servedHashes = new Set(served.map((r) => r.settlement.transaction));
    assert.equal(servedHashes.size, DISTINCT_PAYMENTS, 'every 200 names its own transaction');
    assert.deepEqual([...servedHashes].filter((h) => !minedHashes.has(h)), [], 'every 200 is backed by a transfer');
  });
});
