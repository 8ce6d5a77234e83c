// Node, CommonJS: the wasm-bindgen Node binding loads the .wasm synchronously from disk.
module.exports = require('./node/edge402.js');
