#!/usr/bin/env node
// Pays for a resource with the official x402 v2 client (@x402/fetch), as an agent would:
//   node stack/pay.mjs --key 0x<buyer private key> --token 0x<token> http://127.0.0.1:8787/api/demo
// Prints the status, the settlement header decoded, and the body. `scripts/run` prints this
// command filled in for the local stack.
import { parseArgs } from "node:util";
import { x402Client } from "@x402/core/client";
import { ExactEvmScheme } from "@x402/evm/exact/client";
import { decodePaymentResponseHeader, wrapFetchWithPayment } from "@x402/fetch";
import { privateKeyToAccount } from "viem/accounts";

const { values, positionals } = parseArgs({
  options: { key: { type: "string" }, token: { type: "string" }, network: { type: "string", default: "eip155:84532" } },
  allowPositionals: true,
});
if (!values.key || !values.token || positionals.length !== 1) {
  console.error("usage: node stack/pay.mjs --key 0x<private key> --token 0x<token address> <url>");
  process.exit(2);
}

const account = privateKeyToAccount(values.key);
// The client refuses assets it does not know unless told which ones it may spend.
const client = new x402Client()
  .register(values.network, new ExactEvmScheme(account))
  .setSpendControls({ allowedAssets: [{ network: values.network, asset: values.token }] });
const pay = wrapFetchWithPayment(fetch, client);

const response = await pay(positionals[0]);
console.log(`${response.status} ${response.statusText}  (paid by ${account.address})`);
const settlement = response.headers.get("PAYMENT-RESPONSE");
if (settlement) console.log("PAYMENT-RESPONSE:", JSON.stringify(decodePaymentResponseHeader(settlement)));
console.log(await response.text());
process.exit(response.ok ? 0 : 1);
