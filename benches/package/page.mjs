// The browser half of the package benchmark, served by bench.mjs: the package's browser build
// (dist/browser.mjs, which fetches its .wasm) and viem bundled by esbuild, timed by the same
// harness as in Node on the payloads Node signed. The result goes into #result as JSON.
const out = document.getElementById('result');
const done = (result) => {
  out.textContent = JSON.stringify(result);
  out.dataset.done = '1';
};

// Imported inside the try, so a module that fails to load is reported rather than leaving the
// page pending.
try {
  const { verifyPayment } = await import('/dist/browser.mjs');
  const { verifyTypedData } = await import('/viem.mjs');
  const { checkAgreement, fromJson, median, timeAlternating, verifiersOf } = await import('/harness.mjs');
  const options = Object.fromEntries([...new URLSearchParams(location.search)].map(([k, v]) => [k, Number(v)]));
  const { now, payloads, tampered } = fromJson(await (await fetch('/payloads.json')).text());
  const verifiers = verifiersOf(verifyPayment, verifyTypedData);
  await checkAgreement(verifiers, payloads, tampered, now);
  const { samples, roundMeans, rounds, ms } = await timeAlternating(verifiers, payloads, now, options);
  const us = (xs) => median(xs) / 1000;
  done({
    ours_us: us(samples.ours),
    viem_us: us(samples.viem),
    ours_round_mean_us: us(roundMeans.ours),
    viem_round_mean_us: us(roundMeans.viem),
    rounds,
    ms,
    cross_origin_isolated: self.crossOriginIsolated,
    user_agent: navigator.userAgent,
  });
} catch (error) {
  done({ error: String(error?.stack ?? error) });
}
