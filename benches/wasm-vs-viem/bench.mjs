// Times edge402's WASM `verifyPayment` against viem's `verifyTypedData` (the verifier of the
// official x402 TypeScript SDK) on the same signed payloads, in one Node process.
//
// Usage: node bench.mjs <label>=<wasm-bindgen pkg dir> [...]
// Normally run through ../wasm-vs-viem.sh, which builds the pkg dirs first.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { verifyTypedData } from 'viem';
import * as accounts from 'viem/accounts';
import { checkAgreement, median, timeAlternating, verifiersOf } from './harness.mjs';
import { PAYLOADS, makePayloads } from './payloads.mjs';

// Each argument is `label=dir`: a wasm-bindgen --target nodejs output of one build.
const builds = process.argv.slice(2).map((arg) => {
  const at = arg.indexOf('=');
  return at > 0 && at < arg.length - 1 ? { label: arg.slice(0, at), dir: resolve(arg.slice(at + 1)) } : null;
});
if (builds.length === 0 || builds.includes(null)) {
  console.error('usage: node bench.mjs <label>=<pkg dir> [<label>=<pkg dir> ...]');
  process.exit(2);
}
const require = createRequire(import.meta.url);
for (const build of builds) {
  // wasm-bindgen --target nodejs emits CommonJS .js files, but the repository's package.json
  // says "type": "module": mark the pkg dir CommonJS (as js/build.sh does for js/dist/node).
  if (!existsSync(resolve(build.dir, 'package.json'))) writeFileSync(resolve(build.dir, 'package.json'), '{ "type": "commonjs" }\n');
  build.verifyPayment = require(resolve(build.dir, 'edge402.js')).verifyPayment;
}

const WARMUP_ROUNDS = 5;
const MAX_ROUNDS = 200; // a round verifies every payload once with each build, then once with viem
const TIME_BUDGET_MS = Number(process.env.EDGE402_BENCH_MS ?? 15_000); // timed rounds stop at whichever limit comes first

// ---- Main -----------------------------------------------------------------------------------

const now = Math.floor(Date.now() / 1000);
const { payloads, tampered } = await makePayloads(accounts, now, PAYLOADS);
try {
  for (const build of builds) await checkAgreement(verifiersOf(build.verifyPayment, verifyTypedData), payloads, tampered, now);
} catch (error) {
  console.error(`FAIL: ${error.message}`);
  process.exit(1);
}
console.log(`${PAYLOADS} payloads signed with viem; every verifier accepts all and rejects a tampered one`);

// Alternate the builds and viem round by round so machine noise falls on all of them.
const verifiers = Object.fromEntries(builds.map((b) => [b.label, verifiersOf(b.verifyPayment, verifyTypedData).ours]));
verifiers.viem = verifiersOf(() => undefined, verifyTypedData).viem;
const { samples, rounds, ms } = await timeAlternating(verifiers, payloads, now, {
  warmupRounds: WARMUP_ROUNDS,
  maxRounds: MAX_ROUNDS,
  budgetMs: TIME_BUDGET_MS,
});

const viemUs = median(samples.viem) / 1000;
console.log(`timed ${rounds} alternating rounds x ${PAYLOADS} payloads in ${(ms / 1000).toFixed(1)} s (Node ${process.version})`);
console.log(`viem verifyTypedData: median ${viemUs.toFixed(1)} us per verification`);
const results = builds.map(({ label, dir }) => {
  const oursUs = median(samples[label]) / 1000;
  const wasm = readFileSync(resolve(dir, 'edge402_bg.wasm'));
  const result = {
    build: label,
    ours_us: +oursUs.toFixed(2),
    viem_us: +viemUs.toFixed(2),
    ratio: +(viemUs / oursUs).toFixed(3),
    wasm_raw_bytes: wasm.length,
    wasm_gzip_bytes: gzipSync(wasm, { level: 9 }).length,
  };
  console.log(
    `${label}: verifyPayment median ${oursUs.toFixed(1)} us, viem/edge402 ${result.ratio.toFixed(2)}x; ` +
      `wasm ${result.wasm_raw_bytes} bytes raw, ${result.wasm_gzip_bytes} gzip -9`,
  );
  return result;
});
console.log(JSON.stringify(results));
