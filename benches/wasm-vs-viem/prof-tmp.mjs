import { Session } from 'node:inspector/promises';
import { createRequire } from 'node:module';
import * as accounts from 'viem/accounts';
import { makePayloads } from './payloads.mjs';
const { verifyPayment } = createRequire(import.meta.url)(process.argv[2] + '/edge402.js');
const now = Math.floor(Date.now() / 1000);
const { payloads } = await makePayloads(accounts, now, 64);
const mode = process.argv[3];
const hs = payloads.map((p) => {
  let h = p.ours.header;
  if (mode === 'badv') { const j = JSON.parse(Buffer.from(h, 'base64')); j.payload.signature = j.payload.signature.slice(0, -2) + '1d'; h = Buffer.from(JSON.stringify(j)).toString('base64'); }
  if (mode === 'badb64') h = '!' + h;
  return [h, p.ours.requirements];
});
const all = () => { for (const [h, r] of hs) verifyPayment(h, r, now); };
for (let i = 0; i < 100; i++) all();
const s = new Session(); s.connect();
await s.post('Profiler.enable'); await s.post('Profiler.setSamplingInterval', { interval: 20 }); await s.post('Profiler.start');
const N = 1000; for (let i = 0; i < N; i++) all();
const { profile } = await s.post('Profiler.stop');
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const by = new Map(); let total = 0;
profile.samples.forEach((id, i) => { const f = nodes.get(id).callFrame; const name = (f.functionName || '(anon)') + (f.url.startsWith('wasm') ? '' : ' [js:' + f.lineNumber + ']'); if (['(idle)', '(root)'].includes(name)) return; const us = profile.timeDeltas[i]; by.set(name, (by.get(name) ?? 0) + us); total += us; });
console.log('total per call', (total / N / 64).toFixed(2), 'us');
for (const [n, us] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 45)) console.log((us / N / 64).toFixed(3).padStart(7), n.replace(/::h[0-9a-f]{16}$/, '').slice(0, 150));
