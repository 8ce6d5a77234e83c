// The floor of benches/side-by-side.sh: a Worker that does nothing but answer every request
// with a fixed 402 of the size of a real challenge (a v1 JSON body and a PAYMENT-REQUIRED
// header made once, at start-up). What `wrangler dev` and the load generator cost on this
// machine: no Worker answering a 402 can be faster.
const ACCEPT = {
  scheme: "exact", network: "eip155:84532", amount: "1000",
  asset: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  payTo: "0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
  maxTimeoutSeconds: 60, extra: { name: "USDC", version: "2" },
};
const RESOURCE = { url: "http://127.0.0.1/api/bench", description: "Demo data, one request", mimeType: "application/json" };
const HEADER = btoa(JSON.stringify({ x402Version: 2, error: "payment_required", resource: RESOURCE, accepts: [ACCEPT] }));
const BODY = JSON.stringify({ x402Version: 1, error: "payment_required", accepts: [{ ...ACCEPT, resource: RESOURCE.url }] });

export default {
  fetch() {
    return new Response(BODY, {
      status: 402,
      headers: { "content-type": "application/json", "payment-required": HEADER, "cache-control": "no-store" },
    });
  },
};
