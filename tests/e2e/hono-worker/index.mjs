// A plain JavaScript Worker (no nodejs_compat) with a Hono app priced by the npm package's
// middleware (the WASM gateway), receipts in Workers KV: what tests/e2e/js-middleware.test.js
// pays in workerd with the official clients, beside the same app on Node.
//
// Payments are coordinated across isolates by the package's Durable Object class, exported
// here and bound as PAYMENTS.
//
// Vars: FACILITATOR_URL, PAY_TO, TOKEN (the local stack's token), NETWORKS (JSON: the
// configuration's `networks`), QUOTE_SECRET. Bindings: RECEIPTS (KV), PAYMENTS (Durable
// Objects).
import { Hono } from 'hono';
import {
  durableObjects, kvStore, paymentCoordinatorClass, paymentMiddleware,
} from '../../../js/dist/workerd.mjs';

import { priced, routes } from '../hono-app.js';

let app;

function build(env) {
  const hono = new Hono();
  hono.use(paymentMiddleware(routes({ network: 'eip155:84532', payTo: env.PAY_TO, token: env.TOKEN }), {
    facilitatorUrl: env.FACILITATOR_URL,
    networks: JSON.parse(env.NETWORKS),
    store: kvStore(env.RECEIPTS),
    coordinator: durableObjects(env.PAYMENTS),
    quoteSecret: env.QUOTE_SECRET,
  }));
  return priced(hono);
}

export const PaymentCoordinator = paymentCoordinatorClass((env) => ({
  networks: JSON.parse(env.NETWORKS),
  store: kvStore(env.RECEIPTS),
}));

export default {
  fetch(request, env, ctx) {
    app ??= build(env);
    return app.fetch(request, env, ctx);
  },
};
