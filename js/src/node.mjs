// Node, ES module: the same binding as the CommonJS entry (Node reads its named exports), and
// the gateway's handler wrapper and Hono middleware over it.
import * as binding from './node/edge402.js';
import { bindMiddleware } from './middleware.mjs';

export * from './node/edge402.js';
export const {
  paymentGateway, paymentMiddleware, memoryStore, kvStore, durableObjects, paymentCoordinatorClass,
} = bindMiddleware(binding);
