// A plain JavaScript Worker that uses the packed edge402 package (resolved through its
// "workerd" export condition): it creates a payment and verifies it, and reports both.
import { buildRequirements, createPayment, recoverPaymentSigner, verifyPayment } from 'edge402';

const KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';

export default {
  async fetch() {
    const requirement = buildRequirements({ price: '$0.01', network: 'base-sepolia', payTo: '0x209693Bc6afc0C5328bA36FaF03C514EF312287C' });
    const now = Math.floor(Date.now() / 1000);
    const header = createPayment(KEY, requirement, { now });
    const verdict = verifyPayment(header, [requirement], now);
    return Response.json({ verdict, signer: recoverPaymentSigner(header) });
  },
};
