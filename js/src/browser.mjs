// Browsers (and other ES module hosts): the .wasm is fetched next to this file, once, before
// the module finishes loading.
import init from './web/edge402.js';

await init({ module_or_path: new URL('./web/edge402_bg.wasm', import.meta.url) });

export * from './web/edge402.js';
