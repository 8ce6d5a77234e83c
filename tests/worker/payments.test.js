// Payments through the Worker under wrangler dev: bad payments are refused before any call,
// good ones (v2 and v1) are settled through the facilitator double, served and receipted in
// KV, retries are answered from the receipt, and each settlement order releases nothing
// before a successful settlement.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  assertNoCalls, assertNothingServed, assertRefused, ORIGIN_MARKER, REFUSAL_REASON, TEST_TIMEOUT, useStack,
} from './helpers.js';
import {
  decodeHeader, encodeHeader, highS, nowSeconds, offers, payer, payFor, stranger,
} from './x402-client.js';

const stack = useStack();

/** What the origin double answers for a GET of `path`. */
const originContent = (path, method = 'GET') => ({ marker: ORIGIN_MARKER, method, path });

describe('a bad payment is refused before any call', () => {
  // [what is wrong, how to make the payment headers from the offered requirements, status, reason]
  const cases = [
    ['malformed base64', async () => ({ 'PAYMENT-SIGNATURE': '%%% not base64 %%%' }), 400, 'invalid_payload'],
    ['malformed base64 (v1)', async () => ({ 'X-PAYMENT': 'eyJ4NDAy!!' }), 400, 'invalid_payload'],
    ['JSON that is not a payment', async () => ({ 'PAYMENT-SIGNATURE': encodeHeader({ hello: 'world' }) }), 400, 'invalid_payload'],
    ['another network', ({ v2 }) => pay({ ...v2, network: 'eip155:137' }), 402, 'invalid_exact_evm_network_mismatch'],
    ['another network (v1)', ({ v1 }) => pay({ ...v1, network: 'base' }, { version: 1 }), 402, 'invalid_exact_evm_network_mismatch'],
    ['another asset', ({ v2 }) => pay({ ...v2, asset: stranger.address }), 402, 'invalid_payment_requirements'],
    ['another payTo (re-signed)', ({ v2 }) => pay(v2, { authorization: { to: stranger.address } }), 402, 'invalid_exact_evm_recipient_mismatch'],
    ['underpaid', ({ v2 }) => pay(v2, { authorization: { value: '999' } }), 402, 'invalid_exact_evm_authorization_value'],
    ['overpaid', ({ v2 }) => pay(v2, { authorization: { value: '1001' } }), 402, 'invalid_exact_evm_authorization_value'],
    ['expired', ({ v2 }) => pay(v2, { authorization: { validBefore: String(nowSeconds() - 60) } }), 402, 'invalid_exact_evm_payload_authorization_valid_before'],
    ['not yet valid', ({ v2 }) => pay(v2, { authorization: { validAfter: String(nowSeconds() + 120) } }), 402, 'invalid_exact_evm_payload_authorization_valid_after'],
    ['signed by someone else', ({ v2 }) => pay(v2, { signer: stranger }), 402, 'invalid_exact_evm_signature'],
    ['high-s twin of a good signature', ({ v2 }) => pay(v2, { signature: highS }), 402, 'invalid_exact_evm_signature'],
  ];
  const pay = async (requirement, options) => (await payFor(requirement, options)).headers;

  for (const [what, payment, status, reason] of cases) {
    test(`${what}: ${status} ${reason}`, TEST_TIMEOUT, async () => {
      const headers = await payment(await offers(stack.worker, '/api/weather'));
      const reply = await stack.worker.get('/api/weather', headers);
      assertRefused(reply, status, reason);
      assertNothingServed(reply);
      assertNoCalls(stack);
    });
  }
});

describe('a good v2 payment', () => {
  let paid; // the payment, and the first answer to it

  test('is settled, served with PAYMENT-RESPONSE and receipted in KV', TEST_TIMEOUT, async () => {
    const { worker, origin, facilitator } = stack;
    const { v2: accepted } = await offers(worker, '/api/weather');
    const payment = await payFor(accepted);
    const reply = await worker.get('/api/weather', payment.headers);
    assert.equal(reply.status, 200, String(reply));
    assert.deepEqual(reply.json(), originContent('/api/weather'));
    assert.equal(reply.header('X-PAYMENT-RESPONSE'), undefined);
    const settlement = decodeHeader(reply.header('PAYMENT-RESPONSE'));
    assert.equal(settlement.success, true);
    assert.equal(settlement.network, 'eip155:84532');
    assert.equal(settlement.payer.toLowerCase(), payer.address.toLowerCase());

    // The facilitator was asked once, with the payment and our requirement as offered.
    const [settle, ...more] = facilitator.calls;
    assert.deepEqual(more, []);
    assert.equal(settle.path, '/settle');
    assert.equal(settle.body.x402Version, 2);
    assert.deepEqual(settle.body.paymentRequirements, accepted);
    assert.deepEqual(settle.body.paymentPayload, decodeHeader(payment.headers['PAYMENT-SIGNATURE']));
    // The origin got the request without the payment header.
    assert.equal(origin.requests.length, 1);
    assert.equal(origin.requests[0].headers['payment-signature'], undefined);

    const receipt = await worker.receipts.waitFor(payment.receiptKey);
    assert.equal(receipt.resource, 'GET /api/weather');
    assert.equal(receipt.transaction, settlement.transaction);
    assert.equal(receipt.settlement.success, true);
    paid = { payment, reply };
  });

  test('retried with the same header, is served from the receipt without settling again', TEST_TIMEOUT, async () => {
    assert.ok(paid, 'needs the payment of the test before');
    // Another spelling of the same canonical path is the same resource.
    for (const path of ['/api/weather', '//api//weather', '/x/../api/weather']) {
      const reply = await stack.worker.get(path, paid.payment.headers);
      assert.equal(reply.status, 200, `${path}: ${reply}`);
      assert.deepEqual(reply.json(), originContent('/api/weather'));
      assert.equal(reply.header('PAYMENT-RESPONSE'), paid.reply.header('PAYMENT-RESPONSE'));
    }
    // The same letters in another case are priced alike (paid patterns ignore case) but are
    // another resource: a case-sensitive origin may serve something else there.
    assertRefused(await stack.worker.get('/API/weather', paid.payment.headers), 402, 'payment_already_used');
    assert.deepEqual(stack.facilitator.calls, []);
  });

  test('replayed for another resource, is refused: payment_already_used', TEST_TIMEOUT, async () => {
    assert.ok(paid, 'needs the payment of the first test');
    const reply = await stack.worker.get('/api/other', paid.payment.headers);
    assertRefused(reply, 402, 'payment_already_used');
    assertNothingServed(reply);
    assertNoCalls(stack);
  });
});

test('a good v1 payment is served with X-PAYMENT-RESPONSE and receipted in KV', TEST_TIMEOUT, async () => {
  const { worker, facilitator } = stack;
  const { v1: requirement } = await offers(worker, '/api/v1-data');
  const payment = await payFor(requirement, { version: 1 });
  const reply = await worker.get('/api/v1-data', payment.headers);
  assert.equal(reply.status, 200, String(reply));
  assert.deepEqual(reply.json(), originContent('/api/v1-data'));
  assert.equal(reply.header('PAYMENT-RESPONSE'), undefined);
  const settlement = decodeHeader(reply.header('X-PAYMENT-RESPONSE'));
  assert.equal(settlement.success, true);

  const [settle, ...more] = facilitator.calls;
  assert.deepEqual(more, []);
  assert.equal(settle.body.x402Version, 1);
  assert.deepEqual(settle.body.paymentRequirements, requirement, 'v1 is settled with the v1 requirement');

  const receipt = await worker.receipts.waitFor(payment.receiptKey);
  assert.equal(receipt.resource, 'GET /api/v1-data');
  assert.equal(receipt.transaction, settlement.transaction);
});

test("a paid request's log line says how long it waited for each service it called", TEST_TIMEOUT, async () => {
  const { worker } = stack;
  const { v2: requirement } = await offers(worker, '/api/log-waited');
  const payment = await payFor(requirement);
  const reply = await worker.get('/api/log-waited', payment.headers);
  assert.equal(reply.status, 200, String(reply));
  const [line, ...more] = await worker.logLines('/api/log-waited', (l) => l.outcome === 'paid');
  assert.deepEqual(more, []);
  assert.equal(line.outcome, 'paid');
  for (const service of ['coordinator_ms', 'facilitator_ms', 'kv_ms', 'origin_ms']) {
    assert.ok(Number.isInteger(line[service]) && line[service] >= 0, `${service}: ${line[service]}`);
  }
});

test('an origin error after-origin passes through uncharged', TEST_TIMEOUT, async () => {
  const { worker, origin, facilitator } = stack;
  const payment = await payFor((await offers(worker, '/api/broken')).v2);
  const reply = await worker.get('/api/broken', payment.headers);
  assert.equal(reply.status, 500, 'the origin status');
  assert.deepEqual(reply.json(), originContent('/api/broken'));
  assert.equal(reply.header('PAYMENT-RESPONSE'), undefined);
  assert.deepEqual(origin.paths(), ['/api/broken']);
  assert.deepEqual(facilitator.calls, [], 'no settlement');
  assert.equal(await worker.receipts.get(payment.receiptKey), undefined);
});

describe('before-origin (POST)', () => {
  test('a refused settlement never reaches the origin', TEST_TIMEOUT, async () => {
    const { worker, facilitator } = stack;
    const payment = await payFor((await offers(worker, '/orders', 'POST')).v2);
    facilitator.behave('refuse');
    const reply = await worker.request('POST', '/orders', { headers: payment.headers, body: '{"item":1}' });
    assertRefused(reply, 402, REFUSAL_REASON);
    const settlement = decodeHeader(reply.header('PAYMENT-RESPONSE'));
    assert.deepEqual([settlement.success, settlement.errorReason], [false, REFUSAL_REASON]);
    assert.equal(facilitator.settles().length, 1);
    assert.deepEqual(stack.origin.paths(), []);
  });

  test('a settled payment is forwarded with its body', TEST_TIMEOUT, async () => {
    const { worker, origin } = stack;
    const { v2: accepted } = await offers(worker, '/orders', 'POST');
    assert.equal(accepted.amount, '10000', '$0.01');
    const payment = await payFor(accepted);
    const reply = await worker.request('POST', '/orders', { headers: payment.headers, body: '{"item":2}' });
    assert.equal(reply.status, 200, String(reply));
    assert.deepEqual(reply.json(), originContent('/orders', 'POST'));
    assert.equal(decodeHeader(reply.header('PAYMENT-RESPONSE')).success, true);
    assert.deepEqual(origin.requests.map((r) => [r.method, r.body]), [['POST', '{"item":2}']]);
  });
});

describe('parallel', () => {
  test('the origin runs, but a refused settlement releases nothing', TEST_TIMEOUT, async () => {
    const { worker, facilitator, origin } = stack;
    const payment = await payFor((await offers(worker, '/reports/7')).v2);
    facilitator.behave('refuse');
    const reply = await worker.get('/reports/7', payment.headers);
    assertRefused(reply, 402, REFUSAL_REASON);
    assertNothingServed(reply);
    assert.deepEqual(origin.paths(), ['/reports/7']);
  });

  test('a settled payment is served', TEST_TIMEOUT, async () => {
    const { worker } = stack;
    const payment = await payFor((await offers(worker, '/reports/8')).v2);
    const reply = await worker.get('/reports/8', payment.headers);
    assert.equal(reply.status, 200, String(reply));
    assert.deepEqual(reply.json(), originContent('/reports/8'));
  });
});
