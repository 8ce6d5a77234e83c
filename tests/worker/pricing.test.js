// Prices decided per request in the zero-code Worker: a `"price": "dynamic"` route asks the
// pricing endpoint (the pricing double) with the request's method, path and query, keeps
// the answer for `pricing.cache_s`, and quotes it in the 402; a v2 payment that echoes the
// quote is settled at that price even after the price changed; changed quotes are refused
// before any call; a pricing endpoint that fails serves nothing.

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';

import {
  assertNoCalls, assertNothingServed, assertRefused, ORIGIN_MARKER, PRICE_CACHE_S, TEST_TIMEOUT,
  useStack,
} from './helpers.js';
import { challengeOf, decodeHeader, offers, payFor } from './x402-client.js';

const stack = useStack();

test('the 402 states the endpoint\'s price, quoted, and the endpoint is asked once per cache time', TEST_TIMEOUT, async () => {
  const { worker, pricing } = stack;
  const reply = await worker.get('/priced/a?size=big');
  assertRefused(reply, 402, 'payment_required');
  const { v1, v2 } = challengeOf(reply);
  assert.equal(v2.accepts[0].amount, '2000');
  assert.equal(v1.accepts[0].maxAmountRequired, '2000');
  assert.match(v2.accepts[0].extra.edge402Quote, /^v1\.\d+\.[A-Za-z0-9_-]+$/);
  assert.deepEqual(pricing.requests.map((r) => [r.method, r.body]), [
    ['POST', { route: '/priced/*', method: 'GET', path: '/priced/a', query: 'size=big' }],
  ]);
  // Again within the cache time: no second question; another query is another question.
  await worker.get('/priced/a?size=big');
  await worker.get('/priced/a?size=small');
  assert.equal(pricing.requests.length, 2);
  // After the cache time, the endpoint is asked again.
  await sleep(PRICE_CACHE_S * 1000 + 1100);
  await worker.get('/priced/a?size=big');
  assert.equal(pricing.requests.length, 3);
  assertNoCalls(stack);
});

test('a quoted v2 payment settles at its quote after the price went up, without asking again', TEST_TIMEOUT, async () => {
  const { worker, pricing, facilitator } = stack;
  const { v2 } = await offers(worker, '/priced/b');
  pricing.answer({ price: '$0.5' });
  await sleep(PRICE_CACHE_S * 1000 + 1100);
  const asked = pricing.requests.length;
  const payment = await payFor(v2);
  const reply = await worker.get('/priced/b', payment.headers);
  assert.equal(reply.status, 200, String(reply));
  assert.equal(reply.json().marker, ORIGIN_MARKER);
  const [settle] = facilitator.calls;
  assert.equal(settle.body.paymentRequirements.amount, '2000');
  assert.equal(pricing.requests.length, asked, 'a quoted payment is not priced again');
});

test('a v1 payment pays the price of now, and an old price is refused with the new one', TEST_TIMEOUT, async () => {
  const { worker, pricing } = stack;
  const { v1 } = await offers(worker, '/priced/c');
  pricing.answer({ price: '$0.003' });
  await sleep(PRICE_CACHE_S * 1000 + 1100);
  const reply = await worker.get('/priced/c', (await payFor(v1, { version: 1 })).headers);
  assertRefused(reply, 402, 'invalid_exact_evm_authorization_value');
  assert.equal(challengeOf(reply).v1.accepts[0].maxAmountRequired, '3000');
  const { v1: now } = challengeOf(reply);
  const paid = await worker.get('/priced/c', (await payFor(now.accepts[0], { version: 1 })).headers);
  assert.equal(paid.status, 200, String(paid));
});

test('a changed or moved quote is refused before any call', TEST_TIMEOUT, async () => {
  const { worker } = stack;
  const { v2 } = await offers(worker, '/priced/d');
  const cases = [
    ['a lower amount', { ...v2, amount: '1' }, '/priced/d'],
    ['a made-up quote', { ...v2, extra: { ...v2.extra, edge402Quote: 'v1.9999999999.AAAA' } }, '/priced/d'],
    ['the quote of another path', v2, '/priced/e'],
  ];
  for (const [what, requirement, path] of cases) {
    const reply = await worker.get(path, (await payFor(requirement)).headers);
    assert.equal(reply.status, 402, `${what}: ${reply}`);
    assert.equal(decodeHeader(reply.header('PAYMENT-REQUIRED')).error, 'invalid_quote', what);
    assertNothingServed(reply);
  }
  assertNoCalls(stack);
});

test('a failing pricing endpoint serves nothing; a free answer serves', TEST_TIMEOUT, async () => {
  const { worker, pricing, origin } = stack;
  for (const [i, answer] of [{ status: 500 }, { garbage: true }, { price: '-1' }].entries()) {
    pricing.answer(answer);
    const reply = await worker.get(`/priced/fail-${i}`);
    assert.equal(reply.status, 502, `${JSON.stringify(answer)}: ${reply}`);
    assert.equal(reply.json().error, 'pricing_unavailable');
    assert.equal(reply.header('Retry-After'), '2');
    assertNothingServed(reply);
  }
  assert.deepEqual(origin.paths(), []);
  pricing.answer({ free: true });
  const reply = await worker.get('/priced/free');
  assert.equal(reply.status, 200, String(reply));
  assert.deepEqual(origin.paths(), ['/priced/free']);
});
