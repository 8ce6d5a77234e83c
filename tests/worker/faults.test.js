// Facilitator faults injected through the scripted facilitator double: whatever goes wrong
// during settlement, the Worker under wrangler dev serves nothing and stores no receipt, and
// says what happened (504 or 502 saying the payment may have settled when the request may
// have reached the facilitator, 502 "nothing was settled" when it could not be sent, 402 with
// the settlement header when it refused). No chain runs here, so an unknown outcome stays
// unknown: the retry is told to wait, and /settle is never called twice for it. (The same
// faults in front of the real facilitator, with a chain: tests/e2e/settlement.test.js.)

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertNothingServed, REFUSAL_REASON, TEST_TIMEOUT, useStack } from './helpers.js';
import { decodeHeader, offers, payFor, reasonsOf } from './x402-client.js';

const stack = useStack();

/** How to break the facilitator, and what the client must get. */
const MAY_HAVE_SETTLED = /may have settled/;
const FAULTS = [
  { what: 'slow beyond the settle timeout', behave: 'slow', status: 504, error: 'facilitator_timeout', message: MAY_HAVE_SETTLED },
  { what: 'HTTP 500', behave: 'error500', status: 502, error: 'facilitator_unavailable', message: MAY_HAVE_SETTLED },
  { what: 'closing the connection without an answer', behave: 'hangUp', status: 502, error: 'facilitator_unavailable', message: MAY_HAVE_SETTLED },
  { what: 'refusing connections', refuseConnections: true, status: 502, error: 'facilitator_unavailable', message: /nothing was settled/ },
  { what: 'garbage instead of JSON', behave: 'garbage', status: 502, error: 'facilitator_unavailable', message: MAY_HAVE_SETTLED },
  { what: 'success: false', behave: 'refuse', status: 402, error: REFUSAL_REASON },
  // Not followed: the facilitator's credential would go wherever a 3xx points.
  { what: 'redirecting to another server', behave: 'redirect', status: 502, error: 'facilitator_unavailable', message: MAY_HAVE_SETTLED },
  // Read up to the bound and no further.
  { what: 'a valid answer padded to 8 MiB', behave: 'huge', status: 502, error: 'facilitator_unavailable', message: MAY_HAVE_SETTLED },
  { what: 'declaring a 64 MiB answer', behave: 'oversized', status: 502, error: 'facilitator_unavailable', message: MAY_HAVE_SETTLED },
];

/** The receipt keys of the payments whose settlement failed. */
const failedReceiptKeys = [];

for (const [index, fault] of FAULTS.entries()) {
  test(`facilitator ${fault.what}: ${fault.status} ${fault.error}, nothing served`, TEST_TIMEOUT, async () => {
    const { worker, facilitator } = stack;
    const path = `/api/fault/${index}`;
    const payment = await payFor((await offers(worker, path)).v2);
    failedReceiptKeys.push(payment.receiptKey);
    if (fault.behave) facilitator.behave(fault.behave);
    if (fault.refuseConnections) await facilitator.stopListening();
    let reply;
    try {
      reply = await worker.get(path, payment.headers);
    } finally {
      if (fault.refuseConnections) await facilitator.listenAgain();
    }

    assert.equal(reply.status, fault.status, String(reply));
    assertNothingServed(reply);
    // The origin did run (after-origin: settlement comes after it), but its answer was held back.
    assert.deepEqual(stack.origin.paths(), [path]);
    assert.equal(facilitator.settles().length, fault.refuseConnections ? 0 : 1);
    assert.deepEqual(facilitator.redirected, [], 'a redirect was followed');
    if (fault.status === 402) {
      // A refused settlement: a fresh challenge with the facilitator's reason, and the
      // settlement header saying it failed.
      assert.deepEqual(reasonsOf(reply), { v1: fault.error, v2: fault.error });
      const settlement = decodeHeader(reply.header('PAYMENT-RESPONSE'));
      assert.deepEqual([settlement.success, settlement.errorReason], [false, fault.error]);
    } else {
      assert.equal(reply.json().error, fault.error);
      assert.match(reply.json().message, fault.message);
      assert.ok(Number(reply.header('Retry-After')) > 0, `Retry-After: ${reply.header('Retry-After')}`);
      assert.equal(reply.header('PAYMENT-RESPONSE'), undefined);
    }
    if (fault.message === MAY_HAVE_SETTLED) {
      // Unknown until the chain tells (no chain here): the retry waits, and is not settled again.
      facilitator.behave('succeed');
      const retry = await worker.get(path, payment.headers);
      assert.equal(retry.status, 504, String(retry));
      assert.equal(retry.json().error, 'settlement_pending');
      assertNothingServed(retry);
      assert.equal(facilitator.settles().length, 1, 'no second /settle');
    }
  });
}

test('none of those payments left a receipt in KV (and a settled one did)', TEST_TIMEOUT, async () => {
  assert.equal(failedReceiptKeys.length, FAULTS.length, 'needs the fault tests before');
  const { worker } = stack;
  // A control: with the facilitator well again, a payment settles and its receipt appears, so
  // receipts written after the faults' responses (under waitUntil) would be visible by now.
  const control = await payFor((await offers(worker, '/api/fault/control')).v2);
  assert.equal((await worker.get('/api/fault/control', control.headers)).status, 200);
  await worker.receipts.waitFor(control.receiptKey);
  const keys = await worker.receipts.keys();
  assert.ok(keys.includes(control.receiptKey));
  assert.deepEqual(keys.filter((key) => failedReceiptKeys.includes(key)), []);
});
