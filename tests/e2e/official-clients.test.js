// End to end: the OFFICIAL x402 clients (x402-fetch for v1, @x402/fetch for v2, with viem
// local accounts) pay edge402 running in workerd, settled by the reference facilitator on a
// local chain (stack/). What is asserted is what the chain, the client and KV show:
//
//   1. each client buys: 200, the content, a settlement header with the transaction, the
//      price moved on chain exactly once, the receipt in KV;
//   2. the same header again is served from the receipt without a second transfer, and is
//      refused for another resource;
//   3. payments that pass the Worker's local checks but fail at settlement (no funds) get a
//      402 with the facilitator's reason, no content, no receipt; one settled elsewhere first
//      (its nonce already used) is proven on chain and served;
//   4. one header sent by several requests at once moves the money once (one /settle), and
//      every copy is served, naming that one transaction;
//   5. with the facilitator stopped, paying answers 502 with nothing served and nothing on
//      chain; once it is back, the same payment settles.
//
// One stack and one Worker for the whole file (see harness.js); the tests run in order.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';

import {
  DEMO_MARKER, PRICE, SETTLEMENT_HEADER, START_TIMEOUT, TEST_TIMEOUT, TX_HASH,
  decodeHeader, readReply, receiptKey, settlementOf, startAll, v1Buyer, v2Buyer,
} from './harness.js';

const all = {};
before(async () => Object.assign(all, await startAll()), START_TIMEOUT);
after(async () => {
  // EDGE402_E2E_LOGS=1 prints what the stack (the facilitator's log: one line per /settle) and
  // wrangler (the Worker's log: one JSON line per request) printed.
  if (process.env.EDGE402_E2E_LOGS) {
    process.stderr.write(`--- stack ---\n${all.stack?.output()}\n--- wrangler ---\n${all.worker?.output()}\n`);
  }
  await all.stop?.();
});

/** The official clients, and which of the stack's funded buyers each uses for its purchases. */
const CLIENTS = [
  { label: 'v2 @x402/fetch', version: 2, buyer: v2Buyer, buyerIndex: 0, paymentHeader: 'PAYMENT-SIGNATURE', network: 'eip155:84532' },
  { label: 'v1 x402-fetch', version: 1, buyer: v1Buyer, buyerIndex: 1, paymentHeader: 'X-PAYMENT', network: 'base-sepolia' },
];
/** The buyer the refusal, concurrency and fault tests spend from. */
const SPARE_BUYER = 2;

// ---------------------------------------------------------------------------------------------
// Reading answers



/** Pays `path` with an official client; the Worker's final answer, read. */
async function buy(client, path) {
  return readReply(await client.pay(`${all.worker.url}${path}`));
}

/** Sends a recorded payment header again, with a plain request. */
function resend(payment, path) {
  return all.worker.get(path, { [payment.name]: payment.value });
}

/** 200 with the Worker's demo content for `path`. */
function assertServed(reply, path) {
  assert.equal(reply.status, 200, String(reply));
  const body = reply.json();
  assert.equal(body.demo, true, String(reply));
  assert.equal(body.resource, path, String(reply));
  assert.ok(body.message.includes(DEMO_MARKER), String(reply));
}

function assertNothingServed(reply) {
  assert.ok(!reply.text.includes(DEMO_MARKER) && !/"demo"/.test(reply.text), `content was released: ${reply}`);
}

/** The `error` a v1 client reads (body) and a v2 client reads (PAYMENT-REQUIRED header). */
function reasonsOf(reply) {
  const v2 = reply.header('PAYMENT-REQUIRED');
  return { v1: reply.json().error, v2: v2 === undefined ? undefined : decodeHeader(v2).error };
}

/** A 402 refusal with `reason` for both client versions, and nothing served. */
function assertRefused(reply, reason) {
  assert.equal(reply.status, 402, String(reply));
  assert.deepEqual(reasonsOf(reply), { v1: reason, v2: reason }, String(reply));
  assertNothingServed(reply);
}

/** A failed settlement: refused with `reason`, and the version's settlement header says so. */
function assertSettlementRefused(reply, version, reason) {
  assertRefused(reply, reason);
  const settlement = settlementOf(version, reply);
  assert.ok(settlement, `no ${SETTLEMENT_HEADER[version]} header: ${reply}`);
  assert.equal(settlement.success, false, JSON.stringify(settlement));
  assert.equal(settlement.errorReason, reason, JSON.stringify(settlement));
}

/** The requirement a client of `version` is offered for `path` (from a 402 as received). */
async function offered(version, path) {
  const challenge = await all.worker.get(path);
  assert.equal(challenge.status, 402, String(challenge));
  return version === 1 ? challenge.json().accepts[0] : decodeHeader(challenge.header('PAYMENT-REQUIRED')).accepts[0];
}

/** An official client that only signs: the payment it would send for `path`, not sent. */
async function signOnly(client, path) {
  client.recorder.hold = true;
  const held = await client.pay(`${all.worker.url}${path}`);
  assert.equal(held.status, 418, 'the client should have tried to send a payment');
  const payment = client.recorder.last();
  return { ...payment, payload: decodeHeader(payment.value) };
}

/** Settles a payment straight at the facilitator's /settle (bypassing the Worker). */
async function settleAtFacilitator(version, payload, requirements) {
  const response = await fetch(`${all.stack.info.facilitatorUrl}/settle`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ x402Version: version, paymentPayload: payload, paymentRequirements: requirements }),
    signal: AbortSignal.timeout(20_000),
  });
  assert.equal(response.status, 200);
  return response.json();
}

const hasReceipt = async (key) => (await all.worker.receipts.keys()).includes(key);

// ---------------------------------------------------------------------------------------------
// 1 and 2: buying, and the same payment again

for (const client of CLIENTS) {
  describe(`the official ${client.label} client`, () => {
    let bought; // what the first test bought, for the second

    test('buys a resource: 200, content, settlement header, the price moved on chain, receipt in KV', TEST_TIMEOUT, async () => {
      const { stack, worker } = all;
      const { info } = stack;
      const { address, privateKey } = info.buyers[client.buyerIndex];
      const buyer = client.buyer(info, privateKey);
      const before = await stack.balances({ buyer: address, payTo: info.payTo });

      const reply = await buy(buyer, '/api/weather');
      assertServed(reply, '/api/weather');
      const settlement = settlementOf(client.version, reply);
      assert.ok(settlement, `no ${SETTLEMENT_HEADER[client.version]} header: ${reply}`);
      assert.equal(settlement.success, true, JSON.stringify(settlement));
      assert.match(settlement.transaction, TX_HASH);
      assert.equal(settlement.network, client.network);
      assert.equal(settlement.payer.toLowerCase(), address.toLowerCase());

      // The client paid once, with its version's header.
      assert.equal(buyer.recorder.payments.length, 1);
      const payment = buyer.recorder.last();
      assert.equal(payment.name, client.paymentHeader);
      const payload = decodeHeader(payment.value);
      assert.equal(payload.x402Version, client.version);
      const { nonce } = payload.payload.authorization;

      // The chain: exactly the price moved, in that transaction, for that authorisation.
      const now = await stack.balances({ buyer: address, payTo: info.payTo });
      assert.equal(now.buyer, before.buyer - PRICE);
      assert.equal(now.payTo, before.payTo + PRICE);
      const receipt = await stack.publicClient.getTransactionReceipt({ hash: settlement.transaction });
      assert.equal(receipt.status, 'success');
      const used = await stack.authorizationsUsed(address, nonce);
      assert.deepEqual(used.map((e) => e.transactionHash), [settlement.transaction]);
      const transfers = (await stack.transfersFrom(address)).filter((e) => e.transactionHash === settlement.transaction);
      assert.deepEqual(transfers.map((e) => [e.args.to, e.args.value]), [[info.payTo, PRICE]]);

      // KV: the receipt, naming the resource and the transaction.
      const key = receiptKey(info, payload);
      const stored = await worker.receipts.waitFor(key);
      assert.equal(stored.transaction, settlement.transaction);
      assert.equal(stored.resource, 'GET /api/weather');
      assert.equal(stored.payer.toLowerCase(), address.toLowerCase());
      assert.equal(stored.amount, String(PRICE));

      bought = { reply, settlement, payment, address };
    });

    test('the same header again is served from the receipt, with no second transfer; for another resource it is refused', TEST_TIMEOUT, async () => {
      assert.ok(bought, 'needs the purchase of the previous test');
      const { stack } = all;
      const { info } = stack;
      const before = await stack.balances({ buyer: bought.address, payTo: info.payTo });
      const block = await stack.blockNumber();

      const again = await resend(bought.payment, '/api/weather');
      assertServed(again, '/api/weather');
      const name = SETTLEMENT_HEADER[client.version];
      assert.equal(again.header(name), bought.reply.header(name), 'the same settlement header');
      assert.deepEqual(settlementOf(client.version, again), bought.settlement);

      // A v2 payment names the resource it paid for: refused before anything else. A v1
      // payment does not: its receipt is for another resource.
      const elsewhere = await resend(bought.payment, '/api/other');
      assertRefused(elsewhere, client.version === 2 ? 'resource_mismatch' : 'payment_already_used');

      assert.deepEqual(await stack.balances({ buyer: bought.address, payTo: info.payTo }), before);
      assert.equal(await stack.blockNumber(), block, 'no transaction since');
    });
  });
}

// ---------------------------------------------------------------------------------------------
// 3: passes the local checks, fails at settlement

describe('a payment refused at settlement gets the facilitator reason, no content and no receipt', () => {
  for (const client of CLIENTS) {
    test(`${client.label}, a buyer without tokens: 402 invalid_exact_evm_insufficient_balance`, TEST_TIMEOUT, async () => {
      const { stack } = all;
      const { info } = stack;
      const privateKey = generatePrivateKey(); // a fresh account: it signs, but holds nothing
      const address = privateKeyToAccount(privateKey).address;
      const buyer = client.buyer(info, privateKey);
      const payToBefore = await stack.balanceOf(info.payTo);

      const reply = await buy(buyer, '/api/weather');
      assertSettlementRefused(reply, client.version, 'invalid_exact_evm_insufficient_balance');
      const payload = decodeHeader(buyer.recorder.last().value);
      assert.equal(payload.payload.authorization.from.toLowerCase(), address.toLowerCase());

      assert.equal(await stack.balanceOf(info.payTo), payToBefore);
      assert.equal(await stack.nonceUsed(address, payload.payload.authorization.nonce), false);
      assert.equal(await hasReceipt(receiptKey(info, payload)), false, 'no receipt in KV');
    });

    test(`${client.label}, a payment already settled at the facilitator directly: the chain proves it, served without a second transfer`, TEST_TIMEOUT, async () => {
      const { stack, worker } = all;
      const { info } = stack;
      const { address, privateKey } = info.buyers[SPARE_BUYER];
      const payment = await signOnly(client.buyer(info, privateKey), '/api/weather');
      const requirements = client.version === 2 ? payment.payload.accepted : await offered(1, '/api/weather');

      const direct = await settleAtFacilitator(client.version, payment.payload, requirements);
      assert.equal(direct.success, true, JSON.stringify(direct));
      const before = await stack.balances({ buyer: address, payTo: info.payTo });
      const block = await stack.blockNumber();

      // The facilitator answers "nonce already used"; that alone proves nothing, the chain
      // shows this authorisation's transfer to the route's recipient: the payment is served.
      const reply = await resend(payment, '/api/weather');
      assertServed(reply, '/api/weather');
      assert.equal(settlementOf(client.version, reply)?.transaction, direct.transaction);

      assert.deepEqual(await stack.balances({ buyer: address, payTo: info.payTo }), before);
      assert.equal(await stack.blockNumber(), block, 'no transaction since the direct settlement');
      const used = await stack.authorizationsUsed(address, payment.payload.payload.authorization.nonce);
      assert.deepEqual(used.map((e) => e.transactionHash), [direct.transaction]);
      const stored = await worker.receipts.waitFor(receiptKey(info, payment.payload));
      assert.equal(stored.transaction, direct.transaction);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// 4: one header, several requests at once

const CONCURRENT_REQUESTS = 5;

describe(`one payment header sent by ${CONCURRENT_REQUESTS} requests at once settles once`, () => {
  for (const client of CLIENTS) {
    test(`${client.label}: one /settle, one transfer, every copy served and naming it`, TEST_TIMEOUT, async () => {
      const { stack, worker } = all;
      const { info } = stack;
      const { address, privateKey } = info.buyers[SPARE_BUYER];
      const payment = await signOnly(client.buyer(info, privateKey), '/api/race');
      const { nonce } = payment.payload.payload.authorization;
      const before = await stack.balances({ buyer: address, payTo: info.payTo });

      const settlesBefore = stack.settleCalls();
      const replies = await Promise.all(Array.from({ length: CONCURRENT_REQUESTS }, () => resend(payment, '/api/race')));
      assert.equal(stack.settleCalls() - settlesBefore, 1, 'one /settle call');

      const used = await stack.authorizationsUsed(address, nonce);
      assert.equal(used.length, 1, 'exactly one AuthorizationUsed for the nonce');
      const transaction = used[0].transactionHash;
      const transfers = (await stack.transfersFrom(address)).filter((e) => e.transactionHash === transaction);
      assert.deepEqual(transfers.map((e) => [e.args.to, e.args.value]), [[info.payTo, PRICE]]);
      const now = await stack.balances({ buyer: address, payTo: info.payTo });
      assert.equal(now.buyer, before.buyer - PRICE);
      assert.equal(now.payTo, before.payTo + PRICE);

      for (const reply of replies) {
        assertServed(reply, '/api/race');
        const settlement = settlementOf(client.version, reply);
        assert.equal(settlement?.success, true, String(reply));
        assert.equal(settlement.transaction, transaction, 'a 200 names the one transaction');
      }

      const stored = await worker.receipts.waitFor(receiptKey(info, payment.payload));
      assert.equal(stored.transaction, transaction);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// 5: the facilitator goes away (last: it is restarted at the end anyway)

describe('with the facilitator stopped', () => {
  test('paying answers 502 and serves nothing, the chain is unchanged; once it is back the same payment settles', TEST_TIMEOUT, async () => {
    const { stack } = all;
    const { info } = stack;
    const { address, privateKey } = info.buyers[SPARE_BUYER];
    const buyers = CLIENTS.map((client) => ({ client, buyer: client.buyer(info, privateKey) }));
    const before = await stack.balances({ buyer: address, payTo: info.payTo });
    const block = await stack.blockNumber();

    await stack.stopFacilitator();
    try {
      for (const { client, buyer } of buyers) {
        const reply = await buy(buyer, '/api/weather');
        // Connections refused: the request was never sent, so nothing can have settled.
        assert.equal(reply.status, 502, `${client.label}: ${reply}`);
        assert.equal(reply.json().error, 'facilitator_unavailable');
        assert.match(reply.json().message, /nothing was settled/);
        assertNothingServed(reply);
        assert.equal(settlementOf(client.version, reply), undefined, 'no settlement header');
      }
      assert.equal(await stack.blockNumber(), block, 'no transaction');
      assert.deepEqual(await stack.balances({ buyer: address, payTo: info.payTo }), before);
      for (const { buyer } of buyers) {
        const payload = decodeHeader(buyer.recorder.last().value);
        assert.equal(await stack.nonceUsed(address, payload.payload.authorization.nonce), false);
      }
    } finally {
      await stack.startFacilitator();
    }

    // Nothing was consumed: the same v2 payment is settled now, once.
    const [{ client, buyer }] = buyers;
    const retry = await resend(buyer.recorder.last(), '/api/weather');
    assertServed(retry, '/api/weather');
    const settlement = settlementOf(client.version, retry);
    assert.equal(settlement?.success, true, String(retry));
    const now = await stack.balances({ buyer: address, payTo: info.payTo });
    assert.equal(now.buyer, before.buyer - PRICE);
    assert.equal(now.payTo, before.payTo + PRICE);
  });
});
