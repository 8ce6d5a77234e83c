// Cloudflare Workers (workerd): a .wasm import is a compiled WebAssembly.Module, so the
// binding is initialised synchronously when this module loads.
import wasmModule from './web/edge402_bg.wasm';
import { initSync } from './web/edge402.js';

initSync({ module: wasmModule });

export * from './web/edge402.js';
