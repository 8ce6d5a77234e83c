// Node, CommonJS consumer of the packed package.
const { buildRequirements, createPayment, verifyPayment } = require('edge402');

const requirement = buildRequirements({ price: '1000', network: 'base', payTo: '0x209693Bc6afc0C5328bA36FaF03C514EF312287C' });
const header = createPayment('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80', requirement, { now: 1_750_000_000 });
console.log(JSON.stringify(verifyPayment(header, [requirement], 1_750_000_000)));
