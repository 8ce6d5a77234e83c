// Times edge402's WASM `verifyPayment` against viem's `verifyTypedData` (the verifier of the
// official x402 TypeScript SDK) on the same signed payloads, in one Node process.
//
// Usage: node bench.mjs <wasm-bindgen pkg dir> <wasm-opt flags used>
// Normally run through ../wasm-vs-viem.sh, which builds the pkg dir first.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { verifyTypedData } from 'viem';
import * as accounts from 'viem/accounts';
import { checkAgreement, median, timeAlternating, verifiersOf } from './harness.mjs';
import { PAYLOADS, makePayloads } from './payloads.mjs';

const [pkgDir, wasmOptFlags = 'unknown'] = process.argv.slice(2);
if (!pkgDir) {
  console.error('usage: node bench.mjs <pkg dir> [wasm-opt flags]');
  process.exit(2);
}
// wasm-bindgen --target nodejs emits CommonJS .js files, but the repository's package.json says
// "type": "module": mark the pkg dir CommonJS (as js/build.sh does for js/dist/node).
if (!existsSync(resolve(pkgDir, 'package.json'))) writeFileSync(resolve(pkgDir, 'package.json'), '{ "type": "commonjs" }\n');
const { verifyPayment } = createRequire(import.meta.url)(resolve(pkgDir, 'edge402.js'));

const WARMUP_ROUNDS = 5;
const MAX_ROUNDS = 200; // a round verifies every payload once with ours, then once with viem
const TIME_BUDGET_MS = Number(process.env.EDGE402_BENCH_MS ?? 15_000); // timed rounds stop at whichever limit comes first

const verifiers = verifiersOf(verifyPayment, verifyTypedData);

// ---- Main -----------------------------------------------------------------------------------

const now = Math.floor(Date.now() / 1000);
const { payloads, tampered } = await makePayloads(accounts, now, PAYLOADS);
try {
  await checkAgreement(verifiers, payloads, tampered, now);
} catch (error) {
  console.error(`FAIL: ${error.message}`);
  process.exit(1);
}
console.log(`${PAYLOADS} payloads signed with viem; both verifiers accept all and reject a tampered one`);

// Alternate ours and viem round by round so machine noise falls on both.
const { samples, rounds, ms } = await timeAlternating(verifiers, payloads, now, {
  warmupRounds: WARMUP_ROUNDS,
  maxRounds: MAX_ROUNDS,
  budgetMs: TIME_BUDGET_MS,
});

const oursUs = median(samples.ours) / 1000;
const viemUs = median(samples.viem) / 1000;
const ratio = viemUs / oursUs;

const wasm = readFileSync(resolve(pkgDir, 'edge402_bg.wasm'));
const wasmRaw = wasm.length;
const wasmGzip = gzipSync(wasm, { level: 9 }).length;

const secs = (ms / 1000).toFixed(1);
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
