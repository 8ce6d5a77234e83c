// Times edge402's WASM `verifyPayment` against viem's `verifyTypedData` (the verifier of the
// official x402 TypeScript SDK) on the same signed payloads, in one Node process.
//
// Usage: node bench.mjs <wasm-bindgen pkg dir> <wasm-opt flags used>
// Normally run through ../wasm-vs-viem.sh, which builds the pkg dir first.

import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { verifyTypedData } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';

const [pkgDir, wasmOptFlags = 'unknown'] = process.argv.slice(2);
if (!pkgDir) {
  console.error('usage: node bench.mjs <pkg dir> [wasm-opt flags]');
  process.exit(2);
}
// wasm-bindgen --target nodejs emits CommonJS.
const { verifyPayment } = createRequire(import.meta.url)(resolve(pkgDir, 'edge402.js'));

const PAYLOADS = 64;
const WARMUP_ROUNDS = 5;
const MAX_ROUNDS = 200; // a round verifies every payload once with ours, then once with viem
const TIME_BUDGET_MS = Number(process.env.EDGE402_BENCH_MS ?? 15_000); // timed rounds stop at whichever limit comes first

// The two networks edge402 knows built in; payloads alternate between them.
const NETWORKS = [
  { network: 'eip155:84532', chainId: 84532, asset: '0x036CbD53842c5426634e7929541eC2318f3dCF7e', name: 'USDC' },
  { network: 'eip155:8453', chainId: 8453, asset: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913', name: 'USD Coin' },
];

const TYPES = {
  TransferWithAuthorization: [
    { name: 'from', type: 'address' },
    { name: 'to', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'validAfter', type: 'uint256' },
    { name: 'validBefore', type: 'uint256' },
    { name: 'nonce', type: 'bytes32' },
  ],
};

const hex = (bytes) => `0x${randomBytes(bytes).toString('hex')}`;

// ---- Payloads -------------------------------------------------------------------------------

// One signed payment: the inputs of both verifiers, built ahead of any timing.
async function makePayload(i, now) {
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
  const typedData = { domain, types: TYPES, primaryType: 'TransferWithAuthorization', message };
  const signature = await account.signTypedData(typedData);

  // The PAYMENT-SIGNATURE header: padded base64 of the v2 payload, uint256s as decimal strings.
  const authorization = Object.fromEntries(
    Object.entries(message).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]),
  );
  const header = Buffer.from(
    JSON.stringify({ x402Version: 2, accepted: requirement, payload: { signature, authorization } }),
  ).toString('base64');

  return {
    payer: account.address,
    ours: { header, requirements: [requirement] },
    viem: { address: account.address, ...typedData, signature },
  };
}

// The two verifiers under test. Ours is synchronous and called directly; viem's returns a
// promise, awaited as the x402 SDK does. `pass` awaits only promises, so the timing of ours
// carries no promise overhead.
const verifiers = {
  ours: (p, now) => verifyPayment(p.ours.header, p.ours.requirements, now),
  viem: (p) => verifyTypedData(p.viem),
};

// Exits non-zero unless both verifiers accept every payload (ours with the right payer) and
// both reject a payload whose value was changed after signing.
async function checkAgreement(payloads, now) {
  const fail = (msg) => {
    console.error(`FAIL: ${msg}`);
    process.exit(1);
  };
  for (const [i, p] of payloads.entries()) {
    const ours = verifiers.ours(p, now);
    if (!ours.valid) fail(`ours rejects payload ${i}: ${ours.reason} ${ours.detail}`);
    if (ours.payer !== p.payer) fail(`ours gives payer ${ours.payer} for payload ${i}, want ${p.payer}`);
    if (!(await verifiers.viem(p))) fail(`viem rejects payload ${i}`);
  }

  // Tamper: the same signature over a value one higher (requirement raised to match).
  const p = payloads[0];
  const value = p.viem.message.value + 1n;
  const requirement = { ...p.ours.requirements[0], amount: value.toString() };
  const decoded = JSON.parse(Buffer.from(p.ours.header, 'base64').toString());
  decoded.accepted = requirement;
  decoded.payload.authorization.value = value.toString();
  const tampered = {
    ours: { header: Buffer.from(JSON.stringify(decoded)).toString('base64'), requirements: [requirement] },
    viem: { ...p.viem, message: { ...p.viem.message, value } },
  };
  if (verifiers.ours(tampered, now).valid) fail('ours accepts a tampered payload');
  if (await verifiers.viem(tampered)) fail('viem accepts a tampered payload');
}

// ---- Timing ---------------------------------------------------------------------------------

// Verifies every payload once with `verify`, appending each call's time (ns) to `samples`.
async function pass(verify, payloads, now, samples) {
  for (const p of payloads) {
    const t0 = process.hrtime.bigint();
    const result = verify(p, now);
    if (result instanceof Promise) await result;
    samples?.push(Number(process.hrtime.bigint() - t0));
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// ---- Main -----------------------------------------------------------------------------------

const now = Math.floor(Date.now() / 1000);
const payloads = [];
for (let i = 0; i < PAYLOADS; i++) payloads.push(await makePayload(i, now));
await checkAgreement(payloads, now);
console.log(`${PAYLOADS} payloads signed with viem; both verifiers accept all and reject a tampered one`);

for (let r = 0; r < WARMUP_ROUNDS; r++) {
  for (const verify of Object.values(verifiers)) await pass(verify, payloads, now);
}

// Alternate ours and viem round by round so machine noise falls on both.
const samples = { ours: [], viem: [] };
const start = performance.now();
let rounds = 0;
while (rounds < MAX_ROUNDS && performance.now() - start < TIME_BUDGET_MS) {
  for (const [name, verify] of Object.entries(verifiers)) await pass(verify, payloads, now, samples[name]);
  rounds++;
}

const oursUs = median(samples.ours) / 1000;
const viemUs = median(samples.viem) / 1000;
const ratio = viemUs / oursUs;

const wasm = readFileSync(resolve(pkgDir, 'edge402_bg.wasm'));
const wasmRaw = wasm.length;
const wasmGzip = gzipSync(wasm, { level: 9 }).length;

const secs = ((performance.now() - start) / 1000).toFixed(1);
console.log(`timed ${rounds} alternating rounds x ${PAYLOADS} payloads in ${secs} s (Node ${process.version})`);
console.log(`edge402 verifyPayment (wasm):  median ${oursUs.toFixed(1)} us per verification`);
console.log(`viem verifyTypedData:          median ${viemUs.toFixed(1)} us per verification`);
console.log(`ratio viem/edge402:            ${ratio.toFixed(2)}x`);
console.log(`wasm (wasm-opt ${wasmOptFlags}):    ${wasmRaw} bytes raw, ${wasmGzip} bytes gzip -9`);
console.log(
  JSON.stringify({
    ours_us: +oursUs.toFixed(2),
    viem_us: +viemUs.toFixed(2),
    ratio: +ratio.toFixed(3),
    wasm_raw_bytes: wasmRaw,
    wasm_gzip_bytes: wasmGzip,
    wasm_opt_flags: wasmOptFlags,
  }),
);
