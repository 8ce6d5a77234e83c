// The floor of benches/side-by-side.sh: a Worker that does nothing but answer every request
// with a fixed 402 of the size of a real challenge (a v1 JSON body and a PAYMENT-REQUIRED
// header made once, at start-up). What `wrangler dev` and the load generator cost on this
// machine: no Worker answering a 402 can be faster.
//
// `/object` is the floor of a payment's claim: one call to a new Durable Object that reads
// its (empty) storage, writes one entry of the size of edge402's and sets an alarm, which is
// the least a coordinator holding each payment in an object of its own can do before it
// settles. `/object?name=N` makes the same call to the object named N, made by its first
// call. The benchmark times both one request at a time, beside `/api/bench`.
const ACCEPT = {
  scheme: "exact", network: "eip155:84532", amount: "1000",
  asset: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  payTo: "0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
  maxTimeoutSeconds: 60, extra: { name: "USDC", version: "2" },
};
const RESOURCE = { url: "http://127.0.0.1/api/bench", description: "Demo data, one request", mimeType: "application/json" };
const HEADER = btoa(JSON.stringify({ x402Version: 2, error: "payment_required", resource: RESOURCE, accepts: [ACCEPT] }));
const BODY = JSON.stringify({ x402Version: 1, error: "payment_required", accepts: [{ ...ACCEPT, resource: RESOURCE.url }] });
/** About the size of the entry edge402's coordinator writes when it grants a claim. */
const ENTRY = JSON.stringify({ record: { key: "x".repeat(66), payer: "0x".padEnd(42, "1"), nonce: "0x".padEnd(66, "2"), payload: "p".repeat(300) }, state: { claimed: { lease_until: 0 } } });

export class Claim {
  constructor(state) {
    this.storage = state.storage;
  }

  async fetch(request) {
    await this.storage.get("entry");
    await this.storage.put("entry", await request.text());
    // Like a claim's lease check, but hours ahead: it must not fire during the benchmark.
    await this.storage.setAlarm(Date.now() + 6 * 3600_000);
    return Response.json({ settle: true });
  }

  async alarm() {}
}

async function claimInObject(url, env) {
  const name = new URL(url).searchParams.get("name") ?? crypto.randomUUID();
  const stub = env.CLAIMS.get(env.CLAIMS.idFromName(name));
  const answer = await stub.fetch("https://object/claim", { method: "POST", body: ENTRY });
  return new Response(await answer.text(), { status: answer.status });
}

export default {
  // Synchronous, and no URL parsed, for the 402: the floor must stay the cheapest answer.
  fetch(request, env) {
    if (request.url.includes("/object")) return claimInObject(request.url, env);
    return new Response(BODY, {
      status: 402,
      headers: { "content-type": "application/json", "payment-required": HEADER, "cache-control": "no-store" },
    });
  },
};
