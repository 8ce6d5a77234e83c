// The client side of x402, written independently of the gateway with viem: reading a 402
// challenge (v1 body, v2 PAYMENT-REQUIRED header), signing EIP-3009 payments for it as the
// reference clients do, and spoiling them in the ways the tests need.

import { randomBytes } from 'node:crypto';
import { privateKeyToAccount } from 'viem/accounts';

/** The paying wallet, and a wallet that is not the payer (to forge signatures with). */
export const payer = privateKeyToAccount(`0x${'21'.repeat(32)}`);
export const stranger = privateKeyToAccount(`0x${'42'.repeat(32)}`);

/** v1 network names of the networks the tests use, and their CAIP-2 ids. */
const V1_NETWORKS = { 'base-sepolia': 'eip155:84532', base: 'eip155:8453' };

/** The order of the secp256k1 group (for the high-s twin of a signature). */
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** EIP-3009's typed-data type, as viem takes it (also used by the benchmarks). */
export const TRANSFER_WITH_AUTHORIZATION = {
  TransferWithAuthorization: [
    { name: 'from', type: 'address' },
    { name: 'to', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'validAfter', type: 'uint256' },
    { name: 'validBefore', type: 'uint256' },
    { name: 'nonce', type: 'bytes32' },
  ],
};

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** base64(JSON), as x402 headers are written. */
export const encodeHeader = (value) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64');
export const decodeHeader = (text) => JSON.parse(Buffer.from(text, 'base64').toString('utf8'));

/** A 402 (or 400) answer read the way each protocol version's client reads it. */
export function challengeOf(reply) {
  const header = reply.header('PAYMENT-REQUIRED');
  return { v1: reply.json(), v2: header === undefined ? undefined : decodeHeader(header) };
}

/** The `error` of a refusal as a v1 client (body) and a v2 client (header) see it. */
export function reasonsOf(reply) {
  const { v1, v2 } = challengeOf(reply);
  return { v1: v1.error, v2: v2?.error };
}

/** The CAIP-2 id of a network named either way. */
const caip2 = (network) => V1_NETWORKS[network] ?? network;

const chainIdOf = (network) => Number(caip2(network).replace(/^eip155:/, ''));

/**
 * The authorisation a client signs for a requirement (v1 `maxAmountRequired` or v2 `amount`):
 * to payTo, the exact amount, valid from 10 minutes ago for maxTimeoutSeconds, a random
 * nonce. `changes` replace fields (decimal strings).
 */
function authorizationFor(requirement, changes = {}) {
  const now = nowSeconds();
  return {
    from: payer.address,
    to: requirement.payTo,
    value: requirement.amount ?? requirement.maxAmountRequired,
    validAfter: String(now - 600),
    validBefore: String(now + requirement.maxTimeoutSeconds),
    nonce: `0x${randomBytes(32).toString('hex')}`,
    ...changes,
  };
}

/**
 * An authorisation as EIP-712 typed data under the requirement's token domain, as viem's
 * `signTypedData` and `verifyTypedData` take it (also used by the benchmarks).
 */
export function authorizationTypedData(requirement, authorization) {
  return {
    domain: {
      name: requirement.extra.name,
      version: requirement.extra.version,
      chainId: chainIdOf(requirement.network),
      verifyingContract: requirement.asset,
    },
    types: TRANSFER_WITH_AUTHORIZATION,
    primaryType: 'TransferWithAuthorization',
    message: {
      ...authorization,
      value: BigInt(authorization.value),
      validAfter: BigInt(authorization.validAfter),
      validBefore: BigInt(authorization.validBefore),
    },
  };
}

/** The EIP-712 signature of an authorisation under the requirement's token domain. */
function signAuthorization(requirement, authorization, signer = payer) {
  return signer.signTypedData(authorizationTypedData(requirement, authorization));
}

/**
 * A payment for `requirement` (taken from a 402 exactly as received): the request headers
 * that carry it (v2 PAYMENT-SIGNATURE or v1 X-PAYMENT), the authorisation signed, and the
 * KV key its receipt gets. Options spoil it: `authorization` changes fields before signing,
 * `signer` signs with another key, `signature` rewrites the signature after signing.
 */
export async function payFor(requirement, { version = 2, authorization: changes = {}, signer = payer, signature: rewrite = (s) => s } = {}) {
  const authorization = authorizationFor(requirement, changes);
  const signature = rewrite(await signAuthorization(requirement, authorization, signer));
  const payload = { signature, authorization };
  const headers =
    version === 2
      ? { 'PAYMENT-SIGNATURE': encodeHeader({ x402Version: 2, accepted: requirement, payload }) }
      : { 'X-PAYMENT': encodeHeader({ x402Version: 1, scheme: 'exact', network: requirement.network, payload }) };
  const receiptKey = [
    'v1:receipt', caip2(requirement.network), requirement.asset.toLowerCase(),
    authorization.from.toLowerCase(), authorization.nonce,
  ].join(':');
  return { headers, authorization, receiptKey };
}

/**
 * The malleated twin of a 65-byte signature (s -> n - s, v flipped): it recovers to the same
 * signer, but EIP-2 and the token contract refuse it. viem signs low-s, so the twin is high-s.
 */
export function highS(signature) {
  const hex = signature.slice(2);
  const r = hex.slice(0, 64);
  const s = BigInt(`0x${hex.slice(64, 128)}`);
  const v = parseInt(hex.slice(128, 130), 16);
  const twin = (SECP256K1_N - s).toString(16).padStart(64, '0');
  return `0x${r}${twin}${(v === 27 ? 28 : 27).toString(16)}`;
}

/**
 * What a route offers, read from its 402 as a client does: the first requirement of the v2
 * `PAYMENT-REQUIRED` header and of the v1 body.
 */
export async function offers(worker, path, method = 'GET') {
  const reply = await worker.request(method, path);
  if (reply.status !== 402) throw new Error(`expected a 402 challenge for ${method} ${path}, got ${reply}`);
  const { v1, v2 } = challengeOf(reply);
  return { v1: v1.accepts[0], v2: v2.accepts[0] };
}
