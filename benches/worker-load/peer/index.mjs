// The peer: the official x402 TypeScript middleware (@x402/hono with @x402/core's resource
// server and @x402/evm's exact scheme) protecting one route, as a Cloudflare Worker. Measured
// by ../../worker-load.sh next to edge402: its bundle size (wrangler deploy --dry-run) and,
// under wrangler dev --local, its 402 path. No paywall: @x402/paywall is not installed, so
// browsers get the core's plain fallback page, as they would without that optional package.
//
// Vars: FACILITATOR_URL (the facilitator), PAY_TO (the seller).
import { Hono } from "hono";
import { paymentMiddleware, x402ResourceServer } from "@x402/hono";
import { HTTPFacilitatorClient } from "@x402/core/server";
import { ExactEvmScheme } from "@x402/evm/exact/server";

let app;

function build(env) {
  const facilitator = new HTTPFacilitatorClient({ url: env.FACILITATOR_URL });
  const server = new x402ResourceServer(facilitator).register("eip155:84532", new ExactEvmScheme());
  const routes = {
    "GET /api/*": {
      accepts: { scheme: "exact", price: "$0.001", network: "eip155:84532", payTo: env.PAY_TO },
      description: "Demo data, one request",
      mimeType: "application/json",
    },
  };
  const hono = new Hono();
  hono.use(paymentMiddleware(routes, server));
  hono.get("/api/*", (c) => c.json({ ok: true, path: c.req.path }));
  hono.get("/free/*", (c) => c.json({ ok: true, path: c.req.path }));
  return hono;
}

export default {
  fetch(request, env, ctx) {
    app ??= build(env);
    return app.fetch(request, env, ctx);
  },
};
