// Signed x402 v2 exact-EVM payments, the inputs of both verifiers, built with viem ahead of any
// timing (Node only). Shared by bench.mjs and ../package/.
//
// viem's account functions are passed in rather than imported, so each caller signs with the
// viem it times against (this directory's node_modules, or the repository root's).

import { randomBytes, randomInt } from 'node:crypto';
import { TRANSFER_WITH_AUTHORIZATION } from '../../tests/worker/x402-client.js';

export const PAYLOADS = 64;

// The two networks edge402 knows built in; payloads alternate between them.
const NETWORKS = [
  { network: 'eip155:84532', chainId: 84532, asset: '0x036CbD53842c5426634e7929541eC2318f3dCF7e', name: 'USDC' },
  { network: 'eip155:8453', chainId: 8453, asset: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913', name: 'USD Coin' },
];


const hex = (bytes) => `0x${randomBytes(bytes).toString('hex')}`;

// The PAYMENT-SIGNATURE header: padded base64 of the v2 payload, uint256s as decimal strings.
function encodeHeader(requirement, signature, message) {
  const authorization = Object.fromEntries(
    Object.entries(message).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]),
  );
  return Buffer.from(
    JSON.stringify({ x402Version: 2, accepted: requirement, payload: { signature, authorization } }),
  ).toString('base64');
}

// One signed payment: `{ payer, ours: { header, requirements }, viem: <verifyTypedData args> }`.
async function makePayload({ generatePrivateKey, privateKeyToAccount }, i, now) {
  const net = NETWORKS[i % NETWORKS.length];
  const account = privateKeyToAccount(generatePrivateKey());
  const amount = String(randomInt(1, 1_000_000_000));
  const requirement = {
    scheme: 'exact',
    network: net.network,
    amount,
    asset: net.asset,
    payTo: privateKeyToAccount(generatePrivateKey()).address,
    maxTimeoutSeconds: 60,
    extra: { name: net.name, version: '2' },
  };
  const domain = { name: net.name, version: '2', chainId: net.chainId, verifyingContract: net.asset };
  const message = {
    from: account.address,
    to: requirement.payTo,
    value: BigInt(amount),
    validAfter: BigInt(now - 600),
    validBefore: BigInt(now + 3600),
    nonce: hex(32),
  };
  const typedData = { domain, types: TRANSFER_WITH_AUTHORIZATION, primaryType: 'TransferWithAuthorization', message };
  const signature = await account.signTypedData(typedData);
  return {
    payer: account.address,
    ours: { header: encodeHeader(requirement, signature, message), requirements: [requirement] },
    viem: { address: account.address, ...typedData, signature },
  };
}

// The same signature over a value one higher (requirement raised to match): both verifiers
// must reject it.
function tamper(p) {
  const value = p.viem.message.value + 1n;
  const requirement = { ...p.ours.requirements[0], amount: value.toString() };
  const message = { ...p.viem.message, value };
  return {
    payer: p.payer,
    ours: { header: encodeHeader(requirement, p.viem.signature, message), requirements: [requirement] },
    viem: { ...p.viem, message },
  };
}

// `count` payments valid at `now` (unix seconds), each from a fresh key, and a tampered one.
// `accounts` is viem's `viem/accounts` (generatePrivateKey, privateKeyToAccount).
export async function makePayloads(accounts, now, count = PAYLOADS) {
  const payloads = [];
  for (let i = 0; i < count; i++) payloads.push(await makePayload(accounts, i, now));
  return { payloads, tampered: tamper(payloads[0]) };
}
