// Where edge402's WASM `verifyPayment` spends its time: V8's sampling profiler over repeated
// verifications of the benchmark's payloads, in one Node process, with each sample's own
// (self) time summed by the part of the verification its function belongs to.
//
// Usage: node profile.mjs <wasm-bindgen pkg dir>   (EDGE402_PROFILE_TOP: how many functions to
// list by self time, 12 unless set)
// The .wasm must keep its name section (../wasm-vs-viem.sh binds the release build for this,
// before wasm-opt), or every function is an anonymous wasm-function[N]. Sampling slows the
// calls down a little, and wasm-opt is left out: the shares are the figure; the microseconds
// per call are those shares of the profiled build's time. Normally run through
// ../wasm-vs-viem.sh.

import { existsSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import * as accounts from 'viem/accounts';
import { PAYLOADS, makePayloads } from './payloads.mjs';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node profile.mjs <wasm-bindgen pkg dir>');
  process.exit(2);
}
if (!existsSync(resolve(dir, 'package.json'))) writeFileSync(resolve(dir, 'package.json'), '{ "type": "commonjs" }\n');
const { verifyPayment } = createRequire(import.meta.url)(resolve(dir, 'edge402.js'));

const ROUNDS = 200; // x PAYLOADS verifications, about 2 s
const SAMPLING_US = 50;

/** The parts a verification is made of, by function name (the first that matches). */
const PARTS = [
  ['field arithmetic (edge402_ecrecover::field in wasm32; k256\'s FieldElement)', /edge402_ecrecover::field|k256::arithmetic::field/],
  ['point formulas (edge402_ecrecover::jacobian add, double; k256\'s ProjectivePoint)', /edge402_ecrecover::jacobian|k256::arithmetic::(projective|affine)/],
  ['the double multiplication\'s loop and what it inlined (edge402_ecrecover::glv)', /edge402_ecrecover::glv/],
  ['inversions (r; the Zs of R\'s table and of the result) and scalar arithmetic (the GLV split)', /k256::arithmetic::scalar|crypto_bigint|edge402_ecrecover::modinv/],
  ['Keccak-256 (EIP-712 hashes, address, checksum)', /keccak/i],
  ['recovery steps inlined in edge402_ecrecover::recover_prehash and edge402::evm::recover', /edge402_ecrecover::recover_prehash|edge402::evm::recover/],
];
const REST_OF_WASM = 'reading the payment (base64, JSON, hex, checks) and the rest of the WASM';
const JS = 'JavaScript: wasm-bindgen glue and the call';

const now = Math.floor(Date.now() / 1000);
const { payloads } = await makePayloads(accounts, now, PAYLOADS);
const verifyAll = () => {
  for (const p of payloads) {
    if (!verifyPayment(p.ours.header, p.ours.requirements, now).valid) throw new Error('a payload does not verify');
  }
};
for (let r = 0; r < 20; r += 1) verifyAll(); // warm-up: the tiers compiled

const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: SAMPLING_US });
await session.post('Profiler.start');
for (let r = 0; r < ROUNDS; r += 1) verifyAll();
const { profile } = await session.post('Profiler.stop');
session.disconnect();

const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const byPart = new Map();
const byFunction = new Map();
let total = 0;
profile.samples.forEach((id, i) => {
  const frame = nodes.get(id).callFrame;
  const name = frame.functionName || '(anonymous)';
  if (['(idle)', '(program)', '(garbage collector)', '(root)'].includes(name)) return;
  const wasm = frame.url.startsWith('wasm://');
  const part = wasm ? (PARTS.find(([, pattern]) => pattern.test(name))?.[0] ?? REST_OF_WASM) : JS;
  const us = profile.timeDeltas[i];
  byPart.set(part, (byPart.get(part) ?? 0) + us);
  if (wasm) byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  total += us;
});

const share = (us) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
const perCall = (us) => `${(us / (ROUNDS * payloads.length)).toFixed(1).padStart(6)} us`;
console.log(`where verifyPayment's time goes (the release build before wasm-opt, ${ROUNDS * payloads.length} verifications, self time per part, V8 sampling every ${SAMPLING_US} us):`);
for (const [part, us] of [...byPart].sort((a, b) => b[1] - a[1])) console.log(`  ${share(us)} ${perCall(us)}  ${part}`);
console.log('the WASM functions with the most self time:');
for (const [name, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.EDGE402_PROFILE_TOP ?? 12))) {
  console.log(`  ${share(us)}  ${name.replace(/::h[0-9a-f]{16}$/, '')}`);
}
