// The peer: the official x402 TypeScript middleware (@x402/hono with @x402/core's resource
// server and @x402/evm's exact scheme) protecting one route, as a Cloudflare Worker, measured
// by ../../side-by-side.sh next to edge402. Like edge402's zero-code Worker it passes free and
// paid requests on to an origin (ORIGIN_URL), so both make the same subrequest. No paywall:
// @x402/paywall is not installed, so browsers get the core's plain fallback page, as they
// would without that optional package.
//
// Vars: FACILITATOR_URL, ORIGIN_URL, PAY_TO, TOKEN (the asset, priced in its atomic units with
// its EIP-712 domain {name: "USDC", version: "2"}, as the local stack's token).
import { Hono } from "hono";
import { paymentMiddleware, x402ResourceServer } from "@x402/hono";
import { HTTPFacilitatorClient } from "@x402/core/server";
import { ExactEvmScheme } from "@x402/evm/exact/server";

let app;

function build(env) {
  const facilitator = new HTTPFacilitatorClient({ url: env.FACILITATOR_URL });
  const server = new x402ResourceServer(facilitator).register("eip155:84532", new ExactEvmScheme());
  const price = { amount: "1000", asset: env.TOKEN, extra: { name: "USDC", version: "2" } };
  const routes = {
    "GET /api/*": {
      accepts: { scheme: "exact", price, network: "eip155:84532", payTo: env.PAY_TO },
      description: "Demo data, one request",
      mimeType: "application/json",
    },
  };
  const origin = (c) => fetch(`${env.ORIGIN_URL}${c.req.path}`);
  const hono = new Hono();
  hono.use(paymentMiddleware(routes, server));
  hono.get("/api/*", origin);
  hono.get("/free/*", origin);
  return hono;
}

export default {
  fetch(request, env, ctx) {
    app ??= build(env);
    return app.fetch(request, env, ctx);
  },
};
