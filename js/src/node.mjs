// Node, ES module: the same binding as the CommonJS entry (Node reads its named exports).
export * from './node/edge402.js';
