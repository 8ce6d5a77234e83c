// The chart of benches/side-by-side.sh: one SVG (no dependencies) of a run's summary. Each
// load path is a row of two bars, edge402's and the peer's requests per second (the median of
// the rounds, with their spread as a whisker), on the scale of the do-nothing Worker's (the
// floor's line), each labelled with its p50 and its workerd CPU per request; the upload sizes
// and cold starts head it.

const ROWS = [
  ["free", "free, through to the origin"],
  ["challenge", "402 challenge"],
  ["challenge_with_assets", "402, paywall assets bound **"],
  ["hostile", "hostile (bad signature)"],
  ["receipt", "receipt-cached retry *"],
  ["paid", "paid, instant facilitator"],
  ["paid_real", "paid, real facilitator (1 conn.)"],
  ["paid_distant", "paid, facilitator at a distance (1 conn.)"],
];
const COLORS = { edge402: "#d9480f", peer: "#1c7ed6" };
const WIDTH = 960;
const LEFT = 250;
const BAR_AREA = 470;
const ROW_HEIGHT = 52;
const TOP = 92;

const esc = (text) => String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const f = (x, d) => (Number.isFinite(x) ? x.toFixed(d) : "-");

/** A row's figures for `w` (edge402 with its assets bound is set beside the peer's 402). */
function figures(summary, name, w) {
  if (name === "challenge_with_assets") {
    return w === "edge402" ? summary.load.challenge_with_assets.edge402 : summary.load.challenge.peer;
  }
  return summary.load[name][w];
}

/** The SVG text of `summary` (as bench.mjs writes it). */
export function chart(summary) {
  const floor = summary.load.floor.rps.median;
  const scaleMax = Math.max(floor, ...ROWS.flatMap(([name]) => ["edge402", "peer"].map((w) => figures(summary, name, w).rps.max))) * 1.05;
  const x = (rps) => LEFT + (BAR_AREA * rps) / scaleMax;
  const height = TOP + ROWS.length * ROW_HEIGHT + 88;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  const u = summary.upload;
  const cs = summary.cold_start_ms;
  out.push(`<text x="12" y="22" font-size="15" font-weight="bold">edge402 vs the official x402 middleware (${esc(summary.versions.peer)}), both under wrangler dev ${esc(summary.versions.wrangler)}</text>`);
  out.push(`<text x="12" y="42">upload gzip ${f(u.edge402.gzip_kib, 1)} vs ${f(u.peer.gzip_kib, 1)} KiB (${f(u.gzip_ratio, 2)}x), raw ${f(u.edge402.raw_kib, 1)} vs ${f(u.peer.raw_kib, 1)} KiB (${f(u.raw_ratio, 2)}x); cold start (first answer) ${f(cs.edge402.median, 1)} vs ${f(cs.peer.median, 1)} ms (${f(cs.ratio, 2)}x)</text>`);
  out.push(`<text x="12" y="60" fill="#555">requests/s over ${summary.rounds} rounds (bar: median, whisker: min-max); label: p50 ms, workerd CPU ms per request; ${summary.machine.cores} cores, ${esc(summary.machine.cpu ?? "")}</text>`);
  let legend = 12;
  for (const [name, color] of Object.entries(COLORS)) {
    out.push(`<rect x="${legend}" y="70" width="12" height="12" fill="${color}"/><text x="${legend + 16}" y="80">${name === "edge402" ? "edge402" : "official middleware"}</text>`);
    legend += 150;
  }
  out.push(`<line x1="${x(floor)}" y1="${TOP - 6}" x2="${x(floor)}" y2="${TOP + ROWS.length * ROW_HEIGHT}" stroke="#888" stroke-dasharray="4 3"/>`);
  out.push(`<text x="${x(floor) + 4}" y="${TOP - 8}" fill="#555">do-nothing Worker: ${f(floor, 0)} req/s</text>`);
  ROWS.forEach(([name, label], i) => {
    const y = TOP + i * ROW_HEIGHT;
    out.push(`<text x="12" y="${y + 24}">${esc(label)}</text>`);
    ["edge402", "peer"].forEach((w, j) => {
      const l = figures(summary, name, w);
      const by = y + 4 + j * 20;
      out.push(`<rect x="${LEFT}" y="${by}" width="${Math.max(1, x(l.rps.median) - LEFT)}" height="16" fill="${COLORS[w]}"/>`);
      out.push(`<line x1="${x(l.rps.min)}" y1="${by + 8}" x2="${x(l.rps.max)}" y2="${by + 8}" stroke="#000"/>`);
      out.push(`<text x="${Math.max(x(l.rps.max), x(l.rps.median)) + 6}" y="${by + 12}">${f(l.rps.median, 0)} req/s, p50 ${f(l.p50_ms.median, 1)} ms, CPU ${f(l.cpu_ms_per_request.median, 2)} ms</text>`);
    });
  });
  const foot = TOP + ROWS.length * ROW_HEIGHT + 20;
  out.push(`<text x="12" y="${foot}" fill="#555">* the peer keeps no receipts: the retry of a settled payment costs it two facilitator calls and a 402; edge402 serves it from the receipt.</text>`);
  out.push(`<text x="12" y="${foot + 36}" fill="#555">** with the paywall page's assets bound (Workers Static Assets), every request passes the assets router before the Worker; wrangler.toml leaves them off.</text>`);
  const fc = summary.facilitator_calls;
  out.push(`<text x="12" y="${foot + 18}" fill="#555">facilitator calls per paid / bad-signature request: edge402 ${fc.edge402.per_paid} / ${fc.edge402.per_bad}, official middleware ${fc.peer.per_paid} / ${fc.peer.per_bad}.</text>`);
  out.push(`</svg>`);
  return `${out.join("\n")}\n`;
}
