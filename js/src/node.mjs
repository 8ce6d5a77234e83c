// Node, ES module: the same binding as the CommonJS entry.
import { createRequire } from 'node:module';

const edge402 = createRequire(import.meta.url)('./node/edge402.js');

export const {
  verifyPayment,
  decodePaymentHeader,
  encodePaymentHeader,
  decodePaymentRequired,
  encodePaymentRequired,
  decodeSettlement,
  encodeSettlement,
  checkSettlement,
  buildRequirements,
  recoverPaymentSigner,
  createPayment,
} = edge402;
