// Every exported function of the npm package, in Node, with good and hostile inputs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';

import * as edge402 from '../dist/node.mjs';

const require = createRequire(import.meta.url);
const cjs = require('../dist/node.cjs');
const vectors = JSON.parse(readFileSync(new URL('../../tests/vectors/x402_exact_evm.json', import.meta.url)));
const examples = JSON.parse(readFileSync(new URL('../../tests/vectors/transport_examples.json', import.meta.url)));

// Hardhat's and Anvil's test account #0 (a public key, never a real one).
const KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const PAYER = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const PAY_TO = '0x209693Bc6afc0C5328bA36FaF03C514EF312287C';
const NOW = 1_750_000_000;

const requirement = () =>
  edge402.buildRequirements({ price: '$0.001', network: 'base-sepolia', payTo: PAY_TO });

/** Asserts that `fn` throws an Error whose `reason` is `reason`. */
function throwsReason(fn, reason) {
  assert.throws(fn, (error) => {
    assert.ok(error instanceof Error, 'an Error');
    assert.equal(error.reason, reason, error.message);
    return true;
  });
}

test('both module formats expose the binding; the ES module adds the middleware', () => {
  const middleware = ['durableObjects', 'kvStore', 'memoryStore', 'paymentCoordinatorClass', 'paymentGateway', 'paymentMiddleware'];
  const names = Object.keys(edge402).filter((name) => !middleware.includes(name)).sort();
  assert.equal(names.length, 13, names.join());
  for (const name of names) assert.equal(typeof cjs[name], 'function', name);
  for (const name of middleware) assert.equal(typeof edge402[name], 'function', name);
});

test('buildRequirements prices in atomic units with the token domain', () => {
  assert.deepEqual(requirement(), {
    scheme: 'exact',
    network: 'eip155:84532',
    amount: '1000',
    asset: '0x036CbD53842c5426634e7929541eC2318f3dCF7e',
    payTo: PAY_TO,
    maxTimeoutSeconds: 60,
    extra: { name: 'USDC', version: '2' },
  });
  const v1 = edge402.buildRequirements({
    price: '0.5', network: 'eip155:8453', payTo: PAY_TO.toLowerCase(), version: 1,
    resource: { url: 'https://api.example/x', description: 'x', mimeType: 'text/plain' },
  });
  assert.equal(v1.network, 'base');
  assert.equal(v1.maxAmountRequired, '500000');
  assert.equal(v1.payTo, PAY_TO, 'addresses come out checksummed');
  assert.equal(v1.extra.name, 'USD Coin');
  throwsReason(() => edge402.buildRequirements({ price: '-1', network: 'base', payTo: PAY_TO }), 'invalid_payment_requirements');
  throwsReason(() => edge402.buildRequirements({ price: '1', network: 'nowhere', payTo: PAY_TO }), 'invalid_network');
  throwsReason(() => edge402.buildRequirements({ price: '1', network: 'base', payTo: 'merchant' }), 'invalid_payment_requirements');
  throwsReason(() => edge402.buildRequirements({ price: '1', network: 'base', payTo: PAY_TO, pricee: 1 }), 'invalid_payment_requirements');
  throwsReason(() => edge402.buildRequirements({ price: '1', network: 'eip155:42161', payTo: PAY_TO, version: 1, resource: { url: 'u' } }), 'invalid_payment_requirements');
  throwsReason(() => edge402.buildRequirements('$1'), 'invalid_payment_requirements');
});

test('createPayment builds payments verifyPayment accepts, in both versions', () => {
  const v2 = requirement();
  const header = edge402.createPayment(KEY, v2, { now: NOW });
  const payment = edge402.decodePaymentHeader(header);
  assert.equal(payment.x402Version, 2);
  assert.deepEqual(payment.accepted, v2);
  assert.equal(payment.payload.authorization.from, PAYER);
  assert.equal(payment.payload.authorization.validAfter, String(NOW - 600));
  assert.equal(payment.payload.authorization.validBefore, String(NOW + 60));
  assert.deepEqual(edge402.verifyPayment(header, [v2], NOW), { valid: true, payer: PAYER, needsFacilitator: false });

  const v1 = edge402.buildRequirements({ price: '$0.001', network: 'base-sepolia', payTo: PAY_TO, version: 1, resource: { url: 'https://a.example/' } });
  const v1Header = edge402.createPayment(KEY, v1, { now: NOW });
  assert.equal(edge402.decodePaymentHeader(v1Header).network, 'base-sepolia');
  assert.equal(edge402.verifyPayment(v1Header, [v1], NOW).valid, true);
  assert.equal(edge402.verifyPayment(v1Header, [v2], NOW).valid, true, 'v1 payments match v2-shaped offers');

  // Nonces are random unless given; a given nonce is used as is.
  const nonce = `0x${'ab'.repeat(32)}`;
  assert.notEqual(edge402.createPayment(KEY, v2, { now: NOW }), header);
  const fixed = edge402.decodePaymentHeader(edge402.createPayment(KEY, v2, { now: NOW, nonce }));
  assert.equal(fixed.payload.authorization.nonce, nonce);
  // Without `now`, the payment is valid now.
  assert.equal(edge402.verifyPayment(edge402.createPayment(KEY, v2), [v2], Math.floor(Date.now() / 1000)).valid, true);

  throwsReason(() => edge402.createPayment('0x1234', v2), 'invalid_payload');
  throwsReason(() => edge402.createPayment(KEY, { ...v2, extra: undefined }), 'invalid_exact_evm_missing_eip712_domain');
  throwsReason(() => edge402.createPayment(KEY, { ...v2, network: 'eip155:1234567' }), 'invalid_network');
  throwsReason(() => edge402.createPayment(KEY, v2, { when: 1 }), 'invalid_payload');
});

test('verifyPayment names the first failing check', () => {
  const v2 = requirement();
  const header = edge402.createPayment(KEY, v2, { now: NOW });
  const reasonAt = (h, reqs, now) => edge402.verifyPayment(h, reqs, now).reason;
  assert.equal(reasonAt(header, [v2], NOW + 60), 'invalid_exact_evm_payload_authorization_valid_before');
  assert.equal(reasonAt(header, [v2], NOW - 601), 'invalid_exact_evm_payload_authorization_valid_after');
  assert.equal(reasonAt(header, [{ ...v2, amount: '1001' }], NOW), 'invalid_payment_requirements');
  assert.equal(reasonAt(header, [{ ...v2, network: 'eip155:8453' }], NOW), 'invalid_exact_evm_network_mismatch');
  // The payment edited after signing: its signature no longer recovers to `from`.
  const payment = edge402.decodePaymentHeader(header);
  payment.payload.authorization.value = '999';
  const edited = edge402.encodePaymentHeader(payment);
  assert.equal(reasonAt(edited, [v2], NOW), 'invalid_exact_evm_signature');
  // A detail quoting the payment's own text (here escaped by Rust's `{:?}`) comes back intact.
  payment.payload.authorization.value = '1000';
  payment.accepted.network = 'eip155:1"\\\n\u0001é}';
  const quoting = edge402.verifyPayment(edge402.encodePaymentHeader(payment), [v2], NOW);
  assert.deepEqual(Object.keys(quoting), ['valid', 'reason', 'detail', 'needsFacilitator']);
  assert.equal(quoting.reason, 'invalid_exact_evm_network_mismatch');
  assert.match(quoting.detail, /network "eip155:1\\"\\\\\\n\\u\{1\}é\}"$/);
  // Hostile headers are verdicts, not exceptions.
  for (const hostile of ['', 'not base64!', 'eyJ4', 'A'.repeat(20_000), Buffer.from('[1]').toString('base64'), Buffer.from('{"x402Version":9}').toString('base64')]) {
    const verdict = edge402.verifyPayment(hostile, [v2], NOW);
    assert.equal(verdict.valid, false);
    assert.match(verdict.reason, /^invalid_(payload|x402_version)$/);
  }
  // Unusable arguments throw.
  throwsReason(() => edge402.verifyPayment(header, 'not a list', NOW), 'invalid_payment_requirements');
  throwsReason(() => edge402.verifyPayment(header, [{ scheme: 'exact' }], NOW), 'invalid_payment_requirements');
  for (const now of [NaN, -1, 1.5, Infinity, 2 ** 60]) throwsReason(() => edge402.verifyPayment(header, [v2], now), 'invalid_payload');
});

test('every shared vector verifies as its expectation says', () => {
  for (const v of vectors.vectors) {
    const accepted = {
      scheme: 'exact', network: v.network, amount: v.message.value, asset: v.domain.verifyingContract,
      payTo: v.message.to, maxTimeoutSeconds: 60, extra: { name: v.domain.name, version: v.domain.version },
    };
    const header = edge402.encodePaymentHeader({
      x402Version: 2, accepted, payload: { signature: v.signature, authorization: v.message },
    });
    const verdict = edge402.verifyPayment(header, [accepted], Number(v.message.validAfter) + 1);
    assert.equal(verdict.valid, v.expect === 'valid', `${v.id}: ${verdict.detail}`);
    if (!verdict.valid) assert.equal(verdict.reason, 'invalid_exact_evm_signature', v.id);
    if (v.expect === 'valid') assert.equal(edge402.recoverPaymentSigner(header), v.signer, v.id);
  }
});

test('recoverPaymentSigner recovers v2 payments alone and v1 with their requirement', () => {
  const v2 = requirement();
  assert.equal(edge402.recoverPaymentSigner(edge402.createPayment(KEY, v2, { now: NOW })), PAYER);
  const v1 = edge402.buildRequirements({ price: '1', network: 'base', payTo: PAY_TO, version: 1, resource: { url: 'u' } });
  const v1Header = edge402.createPayment(KEY, v1, { now: NOW });
  throwsReason(() => edge402.recoverPaymentSigner(v1Header), 'invalid_payment_requirements');
  assert.equal(edge402.recoverPaymentSigner(v1Header, v1), PAYER);
  const highS = vectors.vectors.find((v) => v.expect === 'invalid_signature_high_s');
  const header = edge402.encodePaymentHeader({
    x402Version: 2,
    accepted: { scheme: 'exact', network: highS.network, amount: highS.message.value, asset: highS.domain.verifyingContract, payTo: highS.message.to, maxTimeoutSeconds: 60, extra: { name: highS.domain.name, version: highS.domain.version } },
    payload: { signature: highS.signature, authorization: highS.message },
  });
  throwsReason(() => edge402.recoverPaymentSigner(header), 'invalid_exact_evm_signature');
  throwsReason(() => edge402.recoverPaymentSigner('%%%'), 'invalid_payload');
});

test('header codecs decode the spec examples and round-trip', () => {
  for (const example of examples.examples) {
    let decoded;
    if (example.header === 'PAYMENT-REQUIRED') decoded = edge402.decodePaymentRequired(example.base64);
    else if (example.header.endsWith('RESPONSE')) decoded = edge402.decodeSettlement(example.base64);
    else decoded = edge402.decodePaymentHeader(example.base64);
    assert.deepEqual(decoded, example.json, example.id);
    const again = example.header === 'PAYMENT-REQUIRED'
      ? edge402.decodePaymentRequired(edge402.encodePaymentRequired(decoded))
      : example.header.endsWith('RESPONSE')
        ? edge402.decodeSettlement(edge402.encodeSettlement(decoded))
        : edge402.decodePaymentHeader(edge402.encodePaymentHeader(decoded));
    assert.deepEqual(again, decoded, example.id);
  }
  throwsReason(() => edge402.decodePaymentRequired('e30='), 'invalid_payload');
  throwsReason(() => edge402.decodeSettlement('!!'), 'invalid_payload');
  throwsReason(() => edge402.encodeSettlement({ success: 'yes' }), 'invalid_payload');
  throwsReason(() => edge402.encodePaymentHeader({ x402Version: 3 }), 'invalid_x402_version');
  throwsReason(() => edge402.decodePaymentHeader(Buffer.from('{"x402Version":3}').toString('base64')), 'invalid_x402_version');
});

test('checkSettlement accepts only a successful settlement of the expected payment', () => {
  const tx = `0x${'12'.repeat(32)}`;
  const ok = edge402.encodeSettlement({ success: true, transaction: tx, network: 'eip155:84532', payer: PAYER });
  assert.deepEqual(edge402.checkSettlement(ok, { network: 'base-sepolia', payer: PAYER.toLowerCase() }), {
    ok: true, settlement: { success: true, transaction: tx, network: 'eip155:84532', payer: PAYER },
  });
  assert.equal(edge402.checkSettlement(ok).ok, true);
  assert.equal(edge402.checkSettlement(ok, { network: 'base' }).reason, 'unexpected_settle_error');
  assert.equal(edge402.checkSettlement(ok, { payer: PAY_TO }).ok, false);
  const failed = edge402.encodeSettlement({ success: false, errorReason: 'invalid_exact_evm_insufficient_balance', transaction: '', network: 'eip155:84532' });
  assert.equal(edge402.checkSettlement(failed).reason, 'invalid_exact_evm_insufficient_balance');
  const noTx = edge402.encodeSettlement({ success: true, transaction: '', network: 'eip155:84532' });
  assert.equal(edge402.checkSettlement(noTx).ok, false);
  throwsReason(() => edge402.checkSettlement('nope'), 'invalid_payload');
  throwsReason(() => edge402.checkSettlement(ok, 'base'), 'invalid_payload');
});
