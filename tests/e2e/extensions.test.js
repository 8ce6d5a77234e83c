// End to end: the x402 v2 extensions the Worker sets, read and checked by the OFFICIAL
// client-side package (@x402/extensions) and paid for by the official v2 client
// (@x402/fetch), in workerd on the local settlement stack (stack/):
//
//   1. bazaar: every 402 of a described route carries its input and output, valid for the
//      package's validator for the request's method; the payment the official client makes
//      from it is catalogued by the package's `extractDiscoveryInfo` as a facilitator would;
//   2. the discovery document (/.well-known/x402/openapi.json): an OpenAPI 3.1 document of the
//      priced routes whose payment terms are exactly what their 402s offer;
//   3. offer-receipt: the offers of a 402 recover (EIP-712) to the address of the Worker's
//      OFFER_RECEIPT_KEY and name the requirements offered; the receipt of a purchase
//      recovers to it too, matches the offer, the payer and the transaction mined on chain,
//      and is the same receipt when the payment is served again; a changed byte of an offer
//      or a receipt recovers to another address;
//   4. payment-identifier: a retry under the same id with a new signature gets the first
//      payment's settlement (one transfer, one /settle), also when both are sent at once; the
//      id with another payer or resource is refused, as is a malformed id, with nothing moved.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  extractDiscoveryInfo, validateDiscoveryExtension,
} from '@x402/extensions/bazaar';
import {
  PAYMENT_IDENTIFIER, appendPaymentIdentifierToExtensions, generatePaymentId, validatePaymentIdentifier,
} from '@x402/extensions/payment-identifier';
import {
  decodeSignedOffers, extractOffersFromPaymentRequired, extractReceiptFromResponse,
  findAcceptsObjectFromSignedOffer, verifyOfferSignatureEIP712, verifyReceiptMatchesOffer,
  verifyReceiptSignatureEIP712,
} from '@x402/extensions/offer-receipt';
import { privateKeyToAccount } from 'viem/accounts';

import {
  PRICE, START_TIMEOUT, TEST_TIMEOUT, TX_HASH, buyExactly, decodeHeader, readReply, settlementOf,
  stackBuyer, startWith, stopAll,
} from './harness.js';

/** The Worker's OFFER_RECEIPT_KEY in these tests, and the address its signatures recover to. */
const OFFER_RECEIPT_KEY = `0x${'5e'.repeat(32)}`;
const OFFER_SIGNER = privateKeyToAccount(OFFER_RECEIPT_KEY).address;
/** How long the Worker's signed offers hold. */
const OFFER_VALID_S = 120;

/** The described routes: a GET priced per query, and a POST taking a JSON body. */
const WEATHER = {
  input: { city: 'Lisbon' },
  input_schema: { properties: { city: { type: 'string' } }, required: ['city'] },
  output: { example: { city: 'Lisbon', celsius: 21 }, schema: { properties: { celsius: { type: 'number' } } } },
};
const ORDER = {
  body_type: 'json',
  input: { item: 'report', copies: 1 },
  input_schema: { properties: { item: { type: 'string' }, copies: { type: 'integer' } }, required: ['item'] },
  output: { example: { ordered: true } },
};

const all = {};
before(async () => {
  Object.assign(all, await startWith((accepts) => [
    { match: '/', free: true },
    { match: 'GET /weather', price: '$0.001', description: 'weather by city', accepts, discovery: WEATHER },
    { match: 'POST /orders', price: '$0.001', description: 'an order', accepts, discovery: ORDER },
    { match: 'GET /plain/:id', price: '$0.001', description: 'not described', accepts },
  ], {
    discovery: { title: 'e2e paid API', version: '2026.12' },
    offer_receipt: { offer_valid_s: OFFER_VALID_S },
    payment_identifier: {},
  }, { vars: { OFFER_RECEIPT_KEY } }));
}, START_TIMEOUT);
after(() => stopAll(all));

/** The decoded PAYMENT-REQUIRED of an unpaid request. */
async function challengeOf(path, init = {}) {
  const reply = await readReply(await fetch(`${all.worker.url}${path}`, { ...init, signal: AbortSignal.timeout(10_000) }));
  assert.equal(reply.status, 402, String(reply));
  return decodeHeader(reply.header('PAYMENT-REQUIRED'));
}

/** The payment the official v2 client of buyer `index` makes for `path`, held (not sent). */
async function heldPayment(path, index, init = {}) {
  const client = stackBuyer(all.stack.info, 2, index);
  client.recorder.hold = true;
  const held = await client.pay(`${all.worker.url}${path}`, init);
  assert.equal(held.status, 418, 'the client should have tried to send a payment');
  return decodeHeader(client.recorder.last().value);
}

describe('bazaar', () => {
  test('a described GET route\'s 402 carries its query input and output, valid for the official validator', TEST_TIMEOUT, async () => {
    const required = await challengeOf('/weather');
    const bazaar = required.extensions?.bazaar;
    assert.ok(bazaar, JSON.stringify(required.extensions));
    assert.deepEqual(validateDiscoveryExtension(bazaar), { valid: true });
    assert.deepEqual(bazaar.info.input, { type: 'http', method: 'GET', queryParams: WEATHER.input });
    assert.deepEqual(bazaar.info.output, { type: 'json', example: WEATHER.output.example });

    // What a facilitator catalogues from the payment the official client makes of it.
    const payment = await heldPayment('/weather', 0);
    assert.deepEqual(payment.extensions.bazaar, bazaar, 'the client echoes the extension');
    const found = extractDiscoveryInfo(payment, payment.accepted, true);
    assert.ok(found, 'the official extractor finds the resource');
    assert.equal(found.method, 'GET');
    assert.equal(found.resourceUrl, `${all.worker.url}/weather`);
    assert.deepEqual(found.discoveryInfo.input.queryParams, WEATHER.input);
  });

  test('a described POST route\'s 402 carries its JSON body; a route not described carries none', TEST_TIMEOUT, async () => {
    const required = await challengeOf('/orders', { method: 'POST', body: '{}' });
    const bazaar = required.extensions.bazaar;
    assert.deepEqual(validateDiscoveryExtension(bazaar), { valid: true });
    assert.deepEqual(bazaar.info.input, { type: 'http', method: 'POST', bodyType: 'json', body: ORDER.input });
    // The schema holds the request to the route's own method.
    const asGet = { ...bazaar, info: { ...bazaar.info, input: { ...bazaar.info.input, method: 'GET' } } };
    assert.equal(validateDiscoveryExtension(asGet).valid, false);

    const plain = await challengeOf('/plain/7');
    assert.equal(plain.extensions?.bazaar, undefined);
  });

  test('the official client pays a described route, its echoed extensions included', TEST_TIMEOUT, async () => {
    const reply = await buyExactly(all.stack, stackBuyer(all.stack.info, 2, 0), `${all.worker.url}/weather?city=Porto`, PRICE);
    assert.equal(reply.json().demo, true);
  });
});

describe('the discovery document', () => {
  test('lists every priced route with the payment terms its 402 offers', TEST_TIMEOUT, async () => {
    const reply = await all.worker.get('/.well-known/x402/openapi.json');
    assert.equal(reply.status, 200, String(reply));
    assert.match(reply.header('content-type'), /^application\/json/);
    const document = reply.json();
    assert.equal(document.openapi, '3.1.0');
    assert.deepEqual(document.info, { title: 'e2e paid API', version: '2026.12' });
    assert.deepEqual(document.servers, [{ url: all.worker.url }]);
    assert.deepEqual(Object.keys(document.paths).sort(), ['/orders', '/plain/{id}', '/weather']);
    assert.equal(document['x-x402']['offer-receipt'].signer, OFFER_SIGNER);

    const weather = document.paths['/weather'].get;
    const offered = await challengeOf('/weather');
    assert.deepEqual(weather['x-payment-info'].accepts, offered.accepts);
    assert.deepEqual(validateDiscoveryExtension(weather['x-payment-info'].bazaar), { valid: true });
    assert.deepEqual(weather.parameters, [
      { name: 'city', in: 'query', required: true, schema: { type: 'string' }, example: 'Lisbon' },
    ]);
    assert.deepEqual(weather.responses['200'].content['application/json'].example, WEATHER.output.example);

    const order = document.paths['/orders'].post;
    assert.deepEqual(order.requestBody.content['application/json'].example, ORDER.input);
    assert.deepEqual(document.paths['/plain/{id}'].get.parameters.map((p) => [p.name, p.in]), [['id', 'path']]);
    // Only what the route names: no GET of /orders, no POST of /weather.
    assert.deepEqual(Object.keys(document.paths['/orders']), ['post']);
    assert.deepEqual(Object.keys(document.paths['/weather']), ['get']);
  });

  test('is not served for other methods, and a path beside it is the origin\'s', TEST_TIMEOUT, async () => {
    const posted = await fetch(`${all.worker.url}/.well-known/x402/openapi.json`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
    const body = await posted.text();
    assert.doesNotMatch(body, /"openapi"/);
    const beside = await all.worker.get('/.well-known/x402/openapi.jsonx');
    assert.doesNotMatch(beside.text, /"openapi"/);
  });
});

describe('offer-receipt', () => {
  let decoded; // the offer of the purchase below
  let bought;

  test('every offer of a 402 recovers to the Worker\'s key and names a requirement offered', TEST_TIMEOUT, async () => {
    const required = await challengeOf('/weather');
    const offers = extractOffersFromPaymentRequired(required);
    assert.equal(offers.length, required.accepts.length);
    for (const offer of offers) {
      const { signer, payload } = await verifyOfferSignatureEIP712(offer);
      assert.equal(signer, OFFER_SIGNER);
      assert.equal(payload.resourceUrl, required.resource.url);
      const now = Math.floor(Date.now() / 1000);
      assert.ok(payload.validUntil > now && payload.validUntil <= now + OFFER_VALID_S + 5, String(payload.validUntil));
    }
    [decoded] = decodeSignedOffers(offers);
    assert.deepEqual(findAcceptsObjectFromSignedOffer(decoded, required.accepts), required.accepts[0]);
  });

  test('a changed byte of an offer recovers to another address', TEST_TIMEOUT, async () => {
    const [offer] = extractOffersFromPaymentRequired(await challengeOf('/weather'));
    for (const [field, value] of [['amount', '1'], ['payTo', OFFER_SIGNER], ['resourceUrl', `${all.worker.url}/weathe`]]) {
      const forged = { ...offer, payload: { ...offer.payload, [field]: value } };
      const { signer } = await verifyOfferSignatureEIP712(forged);
      assert.notEqual(signer, OFFER_SIGNER, field);
    }
    const flipped = `${offer.signature.slice(0, 10)}${offer.signature[10] === '0' ? '1' : '0'}${offer.signature.slice(11)}`;
    const recovered = await verifyOfferSignatureEIP712({ ...offer, signature: flipped }).then((r) => r.signer, () => 'unrecoverable');
    assert.notEqual(recovered, OFFER_SIGNER);
  });

  test('a purchase carries the signed receipt: the payer, the offer\'s resource and network, the mined transaction', TEST_TIMEOUT, async () => {
    const client = stackBuyer(all.stack.info, 2, 1);
    const response = await client.pay(`${all.worker.url}/weather`);
    const receipt = extractReceiptFromResponse(response);
    const reply = await readReply(response);
    assert.equal(reply.status, 200, String(reply));
    assert.ok(receipt, `no receipt in ${reply.header('PAYMENT-RESPONSE')}`);
    const { signer, payload } = await verifyReceiptSignatureEIP712(receipt);
    assert.equal(signer, OFFER_SIGNER);
    const settlement = settlementOf(2, reply);
    assert.match(payload.transaction, TX_HASH);
    assert.equal(payload.transaction, settlement.transaction);
    assert.equal(payload.payer.toLowerCase(), client.address.toLowerCase());
    assert.ok(verifyReceiptMatchesOffer(receipt, decoded, [client.address]), JSON.stringify(payload));
    const mined = await all.stack.publicClient.getTransactionReceipt({ hash: payload.transaction });
    assert.equal(mined.status, 'success');
    assert.ok(!verifyReceiptMatchesOffer(receipt, decoded, [OFFER_SIGNER]), 'another payer does not match');
    bought = { receipt, payment: client.recorder.last() };
  });

  test('the same payment served again carries the same receipt; a changed receipt recovers to another address', TEST_TIMEOUT, async () => {
    assert.ok(bought, 'needs the purchase of the previous test');
    const again = await fetch(`${all.worker.url}/weather`, {
      headers: { [bought.payment.name]: bought.payment.value }, signal: AbortSignal.timeout(10_000),
    });
    assert.equal(again.status, 200);
    assert.deepEqual(extractReceiptFromResponse(again), bought.receipt);
    await again.body?.cancel();

    for (const [field, value] of [['payer', OFFER_SIGNER], ['issuedAt', bought.receipt.payload.issuedAt + 1], ['transaction', `0x${'0'.repeat(64)}`]]) {
      const forged = { ...bought.receipt, payload: { ...bought.receipt.payload, [field]: value } };
      const { signer } = await verifyReceiptSignatureEIP712(forged);
      assert.notEqual(signer, OFFER_SIGNER, field);
    }
  });
});

describe('payment-identifier', () => {
  /** Buyer `index` with the official v2 client, naming `id` in every payment it makes. */
  const buyerWithId = (index, id) => stackBuyer(all.stack.info, 2, index, (client) => client.onBeforePaymentCreation(
    async ({ paymentRequired }) => { appendPaymentIdentifierToExtensions(paymentRequired.extensions, id); },
  ));
  /** Buyer `index` naming `id` as given, unchecked (a hostile client). */
  const buyerWithRawId = (index, id) => stackBuyer(all.stack.info, 2, index, (client) => client.onBeforePaymentCreation(
    async ({ paymentRequired }) => { paymentRequired.extensions[PAYMENT_IDENTIFIER].info.id = id; },
  ));
  const balancesOf = (client) => all.stack.balances({ buyer: client.address, payTo: all.stack.info.payTo });

  test('the 402 declares the extension, optional', TEST_TIMEOUT, async () => {
    const declared = (await challengeOf('/weather')).extensions[PAYMENT_IDENTIFIER];
    assert.deepEqual(declared.info, { required: false });
    assert.deepEqual(validatePaymentIdentifier(declared), { valid: true });
  });

  test('a retry with a new signature under the same id gets the first settlement, not a second charge', TEST_TIMEOUT, async () => {
    const id = generatePaymentId();
    const url = `${all.worker.url}/weather?city=Braga`;
    const firstBuyer = buyerWithId(2, id);
    const first = await buyExactly(all.stack, firstBuyer, url, PRICE);
    const settled = settlementOf(2, first);

    const retry = buyerWithId(2, id);
    const before = await balancesOf(retry);
    const settles = all.stack.settleCalls();
    const again = await readReply(await retry.pay(url));
    assert.equal(again.status, 200, String(again));
    assert.equal(again.json().demo, true);
    assert.equal(settlementOf(2, again).transaction, settled.transaction);
    // It was a new payment: another nonce, another signature, the same id.
    const [one, two] = [firstBuyer, retry].map((client) => decodeHeader(client.recorder.last().value));
    assert.notEqual(one.payload.authorization.nonce, two.payload.authorization.nonce);
    assert.notEqual(one.payload.signature, two.payload.signature);
    assert.equal(two.extensions[PAYMENT_IDENTIFIER].info.id, id);
    assert.deepEqual(await balancesOf(retry), before, 'nothing moved');
    assert.equal(all.stack.settleCalls(), settles, 'no /settle');
  });

  test('two payments under one id at once: one transfer, both served with it', TEST_TIMEOUT, async () => {
    const id = generatePaymentId('both_');
    const url = `${all.worker.url}/weather?city=Faro`;
    const [a, b] = [buyerWithId(2, id), buyerWithId(2, id)];
    const before = await balancesOf(a);
    const settles = all.stack.settleCalls();
    const replies = await Promise.all([a, b].map(async (client) => readReply(await client.pay(url))));
    for (const reply of replies) assert.equal(reply.status, 200, String(reply));
    const [ta, tb] = replies.map((reply) => settlementOf(2, reply).transaction);
    assert.match(ta, TX_HASH);
    assert.equal(ta, tb);
    assert.notEqual(a.recorder.last().value, b.recorder.last().value, 'two different payments');
    const now = await balancesOf(a);
    assert.equal(now.buyer, before.buyer - PRICE);
    assert.equal(all.stack.settleCalls(), settles + 1);
  });

  test('the id with another payer or another resource is refused, nothing moved', TEST_TIMEOUT, async () => {
    const id = generatePaymentId('taken_');
    const url = `${all.worker.url}/weather?city=Evora`;
    await buyExactly(all.stack, buyerWithId(2, id), url, PRICE);
    for (const [client, target] of [[buyerWithId(0, id), url], [buyerWithId(2, id), `${url}x`]]) {
      const before = await balancesOf(client);
      const reply = await readReply(await client.pay(target));
      assert.equal(reply.status, 409, String(reply));
      assert.equal(reply.json().error, 'payment_identifier_conflict');
      assert.doesNotMatch(reply.text, /"demo"/);
      assert.deepEqual(await balancesOf(client), before);
    }
  });

  test('a malformed id is refused with its reason, nothing settled', TEST_TIMEOUT, async () => {
    for (const id of ['short', 'has spaces in it!!', 'x'.repeat(129), 12345678901234567]) {
      const client = buyerWithRawId(0, id);
      const before = await balancesOf(client);
      const settles = all.stack.settleCalls();
      const reply = await readReply(await client.pay(`${all.worker.url}/weather?city=Beja`));
      assert.equal(reply.status, 402, String(reply));
      assert.equal(decodeHeader(reply.header('PAYMENT-REQUIRED')).error, 'invalid_payment_identifier', String(id));
      assert.deepEqual(await balancesOf(client), before);
      assert.equal(all.stack.settleCalls(), settles);
    }
  });
});
