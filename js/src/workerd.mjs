// Cloudflare Workers (workerd): a .wasm import is a compiled WebAssembly.Module, so the
// binding is initialised synchronously when this module loads; with it, the gateway's
// handler wrapper and Hono middleware.
import wasmModule from './web/edge402_bg.wasm';
import * as binding from './web/edge402.js';
import { bindMiddleware } from './middleware.mjs';

binding.initSync({ module: wasmModule });

export * from './web/edge402.js';
export const {
  paymentGateway, paymentMiddleware, memoryStore, kvStore, durableObjects, paymentCoordinatorClass,
} = bindMiddleware(binding);
