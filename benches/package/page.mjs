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
  const { fromJson, measure } = await import('/harness.mjs');
  const options = Object.fromEntries([...new URLSearchParams(location.search)].map(([k, v]) => [k, Number(v)]));
  const signed = fromJson(await (await fetch('/payloads.json')).text());
  done({
    ...(await measure(verifyPayment, verifyTypedData, signed, options)),
    cross_origin_isolated: self.crossOriginIsolated,
    user_agent: navigator.userAgent,
  });
} catch (error) {
  done({ error: String(error?.stack ?? error) });
}
