// End to end: sign-in-with-x (pay once, then sign in) against the Worker in workerd on the
// local settlement stack, with the OFFICIAL client side of @x402/extensions
// (createSIWxClientExtension registered on the official v2 client, @x402/fetch):
//
//   1. the 402 of a route with `access_s` offers signing in, valid for the official schema,
//      bound to the configured origin; the committed Rust vectors still match the package;
//   2. a wallet that paid is served a later request by signing in: one transfer, one /settle;
//      a group of routes shares the access; a wallet that did not pay falls back to paying;
//   3. hostile sign-ins, each refused with its reason and nothing served or moved: the same
//      sign-in replayed, another wallet's signature for the payer's address, a sign-in for
//      another domain, for another resource, expired, and one after the access ended.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { createSIWxClientExtension, formatSIWEMessage, validateSIWxMessage } from '@x402/extensions/sign-in-with-x';
import { privateKeyToAccount } from 'viem/accounts';

import {
  PRICE, START_TIMEOUT, TEST_TIMEOUT, buyExactly, decodeHeader, readReply, stackBuyer, startWith, stopAll,
} from './harness.js';
import { makeSiwxVectors } from './siwx-vectors.mjs';
import { readFile } from 'node:fs/promises';

/** Seconds a payment opens its route (or group). */
const ACCESS_S = 600;
/** The group's second route gives a short access: the group's entry ends with it. */
const SHORT_ACCESS_S = 3;
const STATEMENT = 'Sign in to use what you paid for';

const all = {};
before(async () => {
  Object.assign(all, await startWith((accepts) => [
    { match: '/', free: true },
    { match: 'GET /reports/:id', price: '$0.001', description: 'a report', accepts, access_s: ACCESS_S },
    { match: 'GET /docs/a', price: '$0.001', accepts, access_s: ACCESS_S, access_group: 'docs' },
    { match: 'GET /docs/b', price: '$0.001', accepts, access_s: ACCESS_S, access_group: 'docs' },
    { match: 'GET /brief/:id', price: '$0.001', accepts, access_s: SHORT_ACCESS_S },
  ], (url) => ({ sign_in_with_x: { origin: url, statement: STATEMENT } })));
}, START_TIMEOUT);
after(() => stopAll(all));

/** The stack's buyer `index` with the official v2 client and the official SIWX client side. */
function signingBuyer(index) {
  return stackBuyer(all.stack.info, 2, index, (client) => {
    const account = privateKeyToAccount(all.stack.info.buyers[index].privateKey);
    client.registerExtension(createSIWxClientExtension({ signers: [account] }));
    return client;
  });
}

/** One request to the Worker with `headers`, read whole. */
async function send(path, headers = {}) {
  return readReply(await fetch(`${all.worker.url}${path}`, { headers, signal: AbortSignal.timeout(15_000) }));
}

/** The decoded PAYMENT-REQUIRED of a 402. */
function challengeOf(reply) {
  assert.equal(reply.status, 402, String(reply));
  return decodeHeader(reply.header('PAYMENT-REQUIRED'));
}

/** The number of `/settle` calls the facilitator has answered so far. */
const settles = () => all.stack.settleCalls();

describe('the offer', () => {
  test('a route with access_s offers signing in at the configured origin, as the official validator expects', TEST_TIMEOUT, async () => {
    const required = challengeOf(await send('/reports/1'));
    const offer = required.extensions['sign-in-with-x'];
    assert.ok(offer, JSON.stringify(required.extensions));
    const origin = new URL(all.worker.url);
    assert.equal(offer.info.domain, origin.host);
    assert.equal(offer.info.uri, `${all.worker.url}/reports/1`);
    assert.equal(offer.info.statement, STATEMENT);
    assert.deepEqual(offer.supportedChains, [{ chainId: all.stack.info.network, type: 'eip191' }]);
    // The official server-side checks of a message made from the offer pass (domain, URI,
    // times); the gateway's own checks are the Rust core's.
    const message = { ...offer.info, chainId: offer.supportedChains[0].chainId, type: 'eip191', address: all.stack.info.buyers[0].address, signature: '0x' };
    assert.deepEqual(await validateSIWxMessage(message, origin), { isValid: true });
    const again = challengeOf(await send('/reports/1')).extensions['sign-in-with-x'];
    assert.notEqual(again.info.nonce, offer.info.nonce, 'a fresh nonce per challenge');
    // A priced route without access_s offers nothing of the kind: the free route is free.
    assert.equal((await send('/')).status, 200);
  });

  test('the committed Rust vectors are what the official package signs today', TEST_TIMEOUT, async () => {
    const committed = JSON.parse(await readFile(new URL('../vectors/siwx.json', import.meta.url), 'utf8'));
    // As JSON: the package leaves absent fields as `undefined` members.
    assert.deepEqual(JSON.parse(JSON.stringify(await makeSiwxVectors())), committed);
    for (const vector of committed.vectors) {
      assert.equal(formatSIWEMessage(vector.proof, vector.proof.address), vector.message);
    }
  });
});

describe('pay once, then sign in', () => {
  test('a wallet that paid is served its next requests by signing in: one transfer, one /settle', TEST_TIMEOUT, async () => {
    const buyer = signingBuyer(0);
    await buyExactly(all.stack, buyer, `${all.worker.url}/reports/1`, PRICE);
    assert.equal(buyer.recorder.payments.length, 1);
    assert.equal(buyer.recorder.signIns.length, 1, 'it tried to sign in before paying');
    const settled = settles();
    const balance = await all.stack.balances({ buyer: buyer.address });

    for (const id of ['2', '3']) {
      const reply = await readReply(await buyer.pay(`${all.worker.url}/reports/${id}`));
      assert.equal(reply.status, 200, String(reply));
      assert.match(reply.text, /edge402 demo content/);
      assert.equal(reply.header('PAYMENT-RESPONSE'), undefined, 'nothing was settled');
    }
    assert.equal(buyer.recorder.signIns.length, 3, 'the official client signed in twice more');
    assert.equal(buyer.recorder.payments.length, 1, 'and paid no more');
    assert.equal(settles(), settled);
    assert.deepEqual(await all.stack.balances({ buyer: buyer.address }), balance);
  });

  test('a group of routes shares the access; a wallet that did not pay signs in, is refused, and pays', TEST_TIMEOUT, async () => {
    const payer = signingBuyer(1);
    await buyExactly(all.stack, payer, `${all.worker.url}/docs/a`, PRICE);
    const served = await readReply(await payer.pay(`${all.worker.url}/docs/b`));
    assert.equal(served.status, 200, String(served));
    assert.equal(payer.recorder.payments.length, 1);

    // Another wallet: its sign-in is refused, and the official client pays instead.
    const other = signingBuyer(2);
    await buyExactly(all.stack, other, `${all.worker.url}/docs/b`, PRICE);
    assert.equal(other.recorder.signIns.length, 1, 'it tried to sign in first');
  });
});

describe('hostile sign-ins', () => {
  /** A sign-in the official client made for `path` (held: recorded, never sent). */
  async function officialSignIn(index, path) {
    const buyer = signingBuyer(index);
    buyer.recorder.holdSignIns = true;
    await buyer.pay(`${all.worker.url}${path}`);
    return buyer.recorder.signIns.at(-1);
  }

  /** A sign-in changed after signing. */
  function changed(header, change) {
    const proof = decodeHeader(header);
    change(proof);
    return Buffer.from(JSON.stringify(proof)).toString('base64');
  }

  /** Asserts a refusal with `reason`, a fresh challenge to pay, and nothing settled. */
  async function assertRefused(path, header, reason) {
    const settled = settles();
    const reply = await send(path, { 'SIGN-IN-WITH-X': header });
    const required = challengeOf(reply);
    assert.equal(required.error, reason, String(reply));
    assert.ok(required.extensions['sign-in-with-x'].info.nonce);
    assert.doesNotMatch(reply.text, /edge402 demo content/);
    assert.equal(settles(), settled);
  }

  before(async () => {
    // Buyer 0 paid for /reports/1 above; make sure it has, whatever order tests run in.
    await buyExactly(all.stack, stackBuyer(all.stack.info, 2, 0), `${all.worker.url}/reports/9`, PRICE);
  }, START_TIMEOUT);

  test('a sign-in used once is refused the second time (a replay)', TEST_TIMEOUT, async () => {
    const header = await officialSignIn(0, '/reports/4');
    assert.equal((await send('/reports/4', { 'SIGN-IN-WITH-X': header })).status, 200);
    await assertRefused('/reports/4', header, 'invalid_siwx_nonce');
  });

  test('another wallet\'s signature for the payer\'s address is forged', TEST_TIMEOUT, async () => {
    const mine = decodeHeader(await officialSignIn(0, '/reports/5'));
    const theirs = decodeHeader(await officialSignIn(2, '/reports/5'));
    const forged = Buffer.from(JSON.stringify({ ...theirs, address: mine.address })).toString('base64');
    await assertRefused('/reports/5', forged, 'invalid_siwx_signature');
  });

  test('a sign-in for another domain, another resource, or changed after signing is refused', TEST_TIMEOUT, async () => {
    const header = await officialSignIn(0, '/reports/6');
    await assertRefused('/reports/6', changed(header, (p) => { p.domain = 'evil.example'; }), 'invalid_siwx_domain_mismatch');
    await assertRefused('/reports/7', header, 'invalid_siwx_uri_mismatch');
    await assertRefused('/reports/6', changed(header, (p) => { p.statement = 'I agree to pay nothing'; }), 'invalid_siwx_signature');
    await assertRefused('/reports/6', changed(header, (p) => { p.expirationTime = new Date(Date.now() - 60_000).toISOString(); }), 'invalid_siwx_expired');
    await assertRefused('/reports/6', 'bm90IGEgc2lnbi1pbg==', 'invalid_siwx_payload');
    // Untouched, it still works: the refusals spent nothing.
    assert.equal((await send('/reports/6', { 'SIGN-IN-WITH-X': header })).status, 200);
  });

  test('access ends when its time is up', TEST_TIMEOUT, async () => {
    const buyer = signingBuyer(0);
    await buyExactly(all.stack, buyer, `${all.worker.url}/brief/1`, PRICE);
    const header = await officialSignIn(0, '/brief/2');
    await new Promise((resolve) => setTimeout(resolve, (SHORT_ACCESS_S + 1) * 1000));
    await assertRefused('/brief/2', header, 'siwx_not_entitled');
  });
});
