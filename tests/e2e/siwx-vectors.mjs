// Writes tests/vectors/siwx.json: sign-ins made by the OFFICIAL client side of x402's
// `sign-in-with-x` extension (@x402/extensions' createSIWxPayload over a viem account), with
// the EIP-4361 text it signs (formatSIWEMessage) and its EIP-191 hash (viem hashMessage), so
// that the Rust verifier (tests/siwx.rs) is held to exactly what the official package signs.
// extensions.test.js checks that the committed file still matches the package.
//
//   node tests/e2e/siwx-vectors.mjs > tests/vectors/siwx.json   (from the repository root)

import { createSIWxPayload, formatSIWEMessage } from '@x402/extensions/sign-in-with-x';
import { hashMessage } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

/** Hardhat's second default account: a well-known test key. */
export const SIWX_VECTOR_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';

/** The challenges signed: what a 402's `sign-in-with-x` info and chosen chain hold. */
export const SIWX_VECTOR_CHALLENGES = [
  {
    id: 'gateway-offer',
    note: 'the shape edge402 offers: statement, expiration, one resource',
    info: {
      domain: 'api.example.com', uri: 'https://api.example.com/reports/7', version: '1',
      nonce: 'a1b2c3d4e5f67890a1b2c3d4e5f67890', issuedAt: '2026-12-06T10:30:00.000Z',
      expirationTime: '2026-12-06T10:35:00.000Z', statement: 'Sign in to use what you paid for',
      resources: ['https://api.example.com/reports/7'], chainId: 'eip155:84532', type: 'eip191',
    },
  },
  {
    id: 'no-statement',
    note: 'without a statement the address is followed by three line breaks',
    info: {
      domain: '127.0.0.1:8787', uri: 'http://127.0.0.1:8787/api/demo', version: '1',
      nonce: '0123456789abcdef0123456789abcdef', issuedAt: '2026-12-06T10:30:00.000Z',
      resources: ['http://127.0.0.1:8787/api/demo'], chainId: 'eip155:8453', type: 'eip191',
    },
  },
  {
    id: 'every-field',
    note: 'an empty statement, notBefore, a request id and two resources',
    info: {
      domain: 'api.example.com', uri: 'https://api.example.com/a', version: '1',
      nonce: 'Zz09Zz09Zz09', issuedAt: '2026-12-06T10:30:00.500Z', expirationTime: '2026-12-06T10:35:00.000Z',
      notBefore: '2026-12-06T10:29:00Z', requestId: 'req-42', statement: '',
      resources: ['https://api.example.com/a', 'https://api.example.com/b'], chainId: 'eip155:84532', type: 'eip191',
    },
  },
  {
    id: 'no-resources',
    note: 'no resources and no expiration',
    info: {
      domain: 'api.example.com', uri: 'https://api.example.com/a', version: '1',
      nonce: 'abcdefgh', issuedAt: '2026-12-06T10:30:00.000Z', chainId: 'eip155:84532', type: 'eip191',
    },
  },
];

/** Each challenge signed by the official client, with what it signed. */
export async function makeSiwxVectors() {
  const account = privateKeyToAccount(SIWX_VECTOR_KEY);
  const vectors = [];
  for (const { id, note, info } of SIWX_VECTOR_CHALLENGES) {
    const requestUrl = new URL(info.uri).origin;
    const proof = await createSIWxPayload(info, account, requestUrl);
    const message = formatSIWEMessage(info, account.address);
    vectors.push({ id, note, proof, message, hash: hashMessage(message) });
  }
  return {
    source: 'signed by @x402/extensions createSIWxPayload (2.27.0) with a viem account; message from formatSIWEMessage, hash from viem hashMessage (tests/e2e/siwx-vectors.mjs)',
    signer: account.address,
    vectors,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${JSON.stringify(await makeSiwxVectors(), null, 1)}\n`);
}
