// A Worker around the built gateway (build/index.js), to look at its entry from inside
// workerd (tests/worker/entry.test.js): whether the default export is a plain object
// (scripts/tools.sh plain_entry), and what happens after a trap was flagged. Everything
// else is the gateway's own answer.
import gateway, { AllowanceBook, PaymentCoordinator, TokenBudget } from '../../../build/index.js';

export { AllowanceBook, PaymentCoordinator, TokenBudget };

export default {
  fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    // worker-build's state of the WASM instance: the flag a trap sets, and how many times
    // the instance was made anew.
    const state = globalThis.__worker_init_state;
    if (pathname === '/__probe/entry') {
      const plainObject = Object.getPrototypeOf(gateway) === Object.prototype;
      return Response.json({ plainObject, instanceId: state.instanceId });
    }
    if (pathname === '/__probe/trap') {
      // What the runtime's `error` listener does when the WASM traps.
      state.criticalError = true;
      return new Response(null, { status: 204 });
    }
    return gateway.fetch(request, env, ctx);
  },
};
