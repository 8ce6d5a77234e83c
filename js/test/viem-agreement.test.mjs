// Agreement with viem's verifyTypedData (the verifier of the official TypeScript SDK): on
// 1000 payloads signed by viem with random keys, and one mutation of each, our verifyPayment
// gives the same verdict every time, except where edge402 is stricter on purpose (named below).
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { test } from 'node:test';

import { verifyTypedData } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';

import { encodePaymentHeader, verifyPayment } from '../dist/node.mjs';

const PAYLOADS = 1000;
const NOW = 1_750_000_000;
// secp256k1's group order n: the high-s twin of (r, s) is (r, n - s) with v flipped.
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const NETWORKS = [
  { network: 'eip155:84532', chainId: 84532, asset: '0x036CbD53842c5426634e7929541eC2318f3dCF7e', name: 'USDC' },
  { network: 'eip155:8453', chainId: 8453, asset: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913', name: 'USD Coin' },
  { network: 'eip155:137', chainId: 137, asset: '0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359', name: 'USD Coin' },
];
const TYPES = {
  TransferWithAuthorization: [
    { name: 'from', type: 'address' }, { name: 'to', type: 'address' }, { name: 'value', type: 'uint256' },
    { name: 'validAfter', type: 'uint256' }, { name: 'validBefore', type: 'uint256' }, { name: 'nonce', type: 'bytes32' },
  ],
};
const hex = (bytes) => `0x${randomBytes(bytes).toString('hex')}`;

/** A random payment signed by viem: its typed data, signature, and our requirement for it. */
async function signed(i) {
  const net = NETWORKS[i % NETWORKS.length];
  const account = privateKeyToAccount(generatePrivateKey());
  const message = {
    from: account.address,
    to: privateKeyToAccount(generatePrivateKey()).address,
    value: BigInt(`0x${randomBytes(randomInt(1, 32)).toString('hex')}`),
    validAfter: BigInt(NOW - 600),
    validBefore: BigInt(NOW + 60),
    nonce: hex(32),
  };
  const domain = { name: net.name, version: '2', chainId: net.chainId, verifyingContract: net.asset };
  const signature = await account.signTypedData({ domain, types: TYPES, primaryType: 'TransferWithAuthorization', message });
  const requirement = {
    scheme: 'exact', network: net.network, amount: message.value.toString(), asset: net.asset,
    payTo: message.to, maxTimeoutSeconds: 60, extra: { name: net.name, version: '2' },
  };
  return { domain, message, signature, requirement };
}

/** Our verdict on (message, signature), against the requirement the unmutated payment met. */
function ours({ message, signature, requirement }) {
  const authorization = Object.fromEntries(Object.entries(message).map(([k, v]) => [k, String(v)]));
  const header = encodePaymentHeader({ x402Version: 2, accepted: requirement, payload: { signature, authorization } });
  return verifyPayment(header, [requirement], NOW);
}

/** viem's verdict, or 'throws'. */
async function viems({ domain, message, signature }) {
  try {
    return await verifyTypedData({ address: message.from, domain, types: TYPES, primaryType: 'TransferWithAuthorization', message, signature });
  } catch {
    return 'throws';
  }
}

/** One mutation: a changed signed field (not re-signed), or a changed signature byte. */
function mutate(payment, i) {
  const message = { ...payment.message };
  let signature = payment.signature;
  switch (i % 6) {
    case 0: message.value += 1n; break;
    case 1: message.to = privateKeyToAccount(generatePrivateKey()).address; break;
    case 2: message.nonce = hex(32); break;
    case 3: message.validBefore += 1n; break;
    default: {
      // Flip one bit of r or s (bytes 0..63); some flips make a malformed signature.
      const bytes = Buffer.from(signature.slice(2), 'hex');
      bytes[randomInt(0, 64)] ^= 1 << randomInt(0, 8);
      signature = `0x${bytes.toString('hex')}`;
    }
  }
  return { ...payment, message, signature };
}

/** The high-s twin of a valid signature: it recovers to the same key. */
function highSTwin(payment) {
  const bytes = Buffer.from(payment.signature.slice(2), 'hex');
  const s = BigInt(`0x${bytes.subarray(32, 64).toString('hex')}`);
  const twin = Buffer.concat([bytes.subarray(0, 32), Buffer.from((N - s).toString(16).padStart(64, '0'), 'hex'), Buffer.from([bytes[64] === 27 ? 28 : 27])]);
  return { ...payment, signature: `0x${twin.toString('hex')}` };
}

test(`verifyPayment agrees with viem on ${PAYLOADS} payloads and a mutation of each`, { timeout: 120_000 }, async () => {
  const counts = { valid: 0, mutatedInvalid: 0, viemThrows: 0, highS: 0 };
  for (let i = 0; i < PAYLOADS; i++) {
    const payment = await signed(i);
    const good = ours(payment);
    assert.equal(good.valid, true, good.detail);
    assert.equal(await viems(payment), true);
    counts.valid++;

    const mutated = mutate(payment, i);
    const [theirs, our] = [await viems(mutated), ours(mutated)];
    if (theirs === 'throws') {
      // Deliberate difference: viem throws on signatures it cannot parse (e.g. r not on the
      // curve); edge402 returns a verdict, always "invalid signature".
      assert.equal(our.valid, false);
      assert.equal(our.reason, 'invalid_exact_evm_signature');
      counts.viemThrows++;
    } else {
      assert.equal(our.valid, theirs, `payload ${i}, mutation ${i % 6}: ours ${our.reason}`);
      if (!our.valid) assert.equal(our.reason, 'invalid_exact_evm_signature');
      counts.mutatedInvalid += our.valid ? 0 : 1;
    }

    if (i % 10 === 0) {
      // Deliberate difference: the high-s twin, which viem accepts and the token refuses.
      const twin = highSTwin(payment);
      assert.equal(await viems(twin), true, 'viem accepts high-s twins');
      const verdict = ours(twin);
      assert.equal(verdict.valid, false);
      assert.equal(verdict.reason, 'invalid_exact_evm_signature');
      assert.match(verdict.detail, /upper half/);
      counts.highS++;
    }
  }
  assert.equal(counts.valid, PAYLOADS);
  assert.equal(counts.mutatedInvalid + counts.viemThrows, PAYLOADS, 'every mutation is refused by both');
  assert.ok(counts.highS >= PAYLOADS / 10);
});
