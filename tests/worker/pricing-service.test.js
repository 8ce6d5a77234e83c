// Prices from a service binding: the zero-code Worker with `pricing.service = "PRICER"` asks
// another Worker (tests/worker/pricing-service/, run in the same `wrangler dev`) for the
// price of each request, and the answer is the 402's amount, or a free pass.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertNoCalls, assertRefused, ORIGIN_MARKER, TEST_TIMEOUT, useStack } from './helpers.js';
import { challengeOf, offers, payFor } from './x402-client.js';

const stack = useStack({ pricingService: true });

test('the bound Worker\'s price is offered and paid', TEST_TIMEOUT, async () => {
  const { worker, facilitator } = stack;
  const reply = await worker.get('/priced/x?units=7');
  assertRefused(reply, 402, 'payment_required');
  assert.equal(challengeOf(reply).v2.accepts[0].amount, '7000');
  assertNoCalls(stack);
  const { v2 } = await offers(worker, '/priced/x?units=3');
  assert.equal(v2.amount, '3000');
  const paid = await worker.get('/priced/x?units=3', (await payFor(v2)).headers);
  assert.equal(paid.status, 200, String(paid));
  assert.equal(paid.json().marker, ORIGIN_MARKER);
  assert.equal(facilitator.calls[0].body.paymentRequirements.amount, '3000');
});

test('a free answer from the bound Worker passes the request through', TEST_TIMEOUT, async () => {
  const reply = await stack.worker.get('/priced/y');
  assert.equal(reply.status, 200, String(reply));
  assert.deepEqual(stack.origin.paths(), ['/priced/y']);
});
