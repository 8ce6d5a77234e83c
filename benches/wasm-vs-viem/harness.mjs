// The part of the verification benchmark that runs in any JavaScript host (Node or a browser
// page): the two verifiers, the agreement check and the alternating timing loop. No imports,
// so a page can load this file as it is. Shared by bench.mjs (Node) and ../package/.

// The two verifiers under test, given edge402's `verifyPayment` and viem's `verifyTypedData`.
// Ours is synchronous and called directly; viem's returns a promise, awaited as the x402 SDK
// does. `pass` awaits only promises, so the timing of ours carries no promise overhead.
export function verifiersOf(verifyPayment, verifyTypedData) {
  return {
    ours: (p, now) => verifyPayment(p.ours.header, p.ours.requirements, now),
    viem: (p) => verifyTypedData(p.viem),
  };
}

// Throws unless both verifiers accept every payload (ours with the right payer) and both
// reject `tampered` (a payload whose value was changed after signing).
export async function checkAgreement(verifiers, payloads, tampered, now) {
  for (const [i, p] of payloads.entries()) {
    const ours = verifiers.ours(p, now);
    if (!ours.valid) throw new Error(`ours rejects payload ${i}: ${ours.reason} ${ours.detail}`);
    if (ours.payer !== p.payer) throw new Error(`ours gives payer ${ours.payer} for payload ${i}, want ${p.payer}`);
    if (!(await verifiers.viem(p))) throw new Error(`viem rejects payload ${i}`);
  }
  if (verifiers.ours(tampered, now).valid) throw new Error('ours accepts a tampered payload');
  if (await verifiers.viem(tampered)) throw new Error('viem accepts a tampered payload');
}

// Verifies every payload once with `verify`, appending each call's time (ns) to `samples` and
// returning the pass's total time (ns). performance.now() is sub-microsecond in Node; a page
// gets 5 us steps when cross-origin isolated (100 us otherwise).
async function pass(verify, payloads, now, samples) {
  const start = performance.now();
  for (const p of payloads) {
    const t0 = performance.now();
    const result = verify(p, now);
    if (result instanceof Promise) await result;
    samples?.push((performance.now() - t0) * 1e6);
  }
  return (performance.now() - start) * 1e6;
}

// Warms up, then times rounds until `maxRounds` or `budgetMs`, whichever comes first. A round
// verifies every payload once with each verifier in turn, so machine noise falls on all of
// them. Returns per-call samples and per-round means (pass time / payloads), both in ns.
export async function timeAlternating(verifiers, payloads, now, { warmupRounds = 5, maxRounds = 200, budgetMs = 15_000 } = {}) {
  for (let r = 0; r < warmupRounds; r++) {
    for (const verify of Object.values(verifiers)) await pass(verify, payloads, now);
  }
  const samples = Object.fromEntries(Object.keys(verifiers).map((name) => [name, []]));
  const roundMeans = Object.fromEntries(Object.keys(verifiers).map((name) => [name, []]));
  const start = performance.now();
  let rounds = 0;
  while (rounds < maxRounds && performance.now() - start < budgetMs) {
    for (const [name, verify] of Object.entries(verifiers)) {
      roundMeans[name].push((await pass(verify, payloads, now, samples[name])) / payloads.length);
    }
    rounds++;
  }
  return { samples, roundMeans, rounds, ms: performance.now() - start };
}

// Checks that both verifiers agree, then times them alternately: the per-call and per-round
// medians in microseconds. What the package benchmark reports for Node and for a page.
export async function measure(verifyPayment, verifyTypedData, { now, payloads, tampered }, options) {
  const verifiers = verifiersOf(verifyPayment, verifyTypedData);
  await checkAgreement(verifiers, payloads, tampered, now);
  const { samples, roundMeans, rounds, ms } = await timeAlternating(verifiers, payloads, now, options);
  const us = (xs) => median(xs) / 1000;
  return {
    ours_us: us(samples.ours),
    viem_us: us(samples.viem),
    ours_round_mean_us: us(roundMeans.ours),
    viem_round_mean_us: us(roundMeans.viem),
    rounds,
    ms,
  };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// JSON with BigInts (viem's typed-data message), for handing payloads to a page.
export const toJson = (value) =>
  JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? { $bigint: v.toString() } : v));
export const fromJson = (text) =>
  JSON.parse(text, (_, v) => (v && typeof v === 'object' && typeof v.$bigint === 'string' ? BigInt(v.$bigint) : v));
