// Smoke test of the local settlement stack: start.mjs, then real EIP-3009 payments for the
// local token through the reference facilitator's HTTP API, v2 and v1.
//
//   node --test test/settle.test.mjs
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { x402Client } from "@x402/core/client";
import { ExactEvmScheme } from "@x402/evm/exact/client";
import { ExactEvmSchemeV1 } from "@x402/evm/exact/v1/client";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { highSTwin, isListening, post, signPayment, startStack, v1Request, v2Request } from "./helpers.mjs";

const AMOUNT = 10_000n; // 0.01 USDC
const TX_HASH = /^0x[0-9a-f]{64}$/;

let stack;
before(async () => {
  stack = await startStack();
});
after(async () => {
  // Normally already stopped by the last test; this covers a failure before it.
  if (stack) await stack.stop();
});

test("GET /supported lists the v2 and v1 kinds and the signer", async () => {
  const response = await fetch(`${stack.info.facilitatorUrl}/supported`);
  assert.equal(response.status, 200);
  const supported = await response.json();
  assert.deepEqual(supported.kinds, [
    { x402Version: 2, scheme: "exact", network: "eip155:84532" },
    { x402Version: 1, scheme: "exact", network: "base-sepolia" },
  ]);
  assert.deepEqual(supported.signers["eip155:*"], [stack.info.facilitatorSigner]);
});

for (const [version, request] of [
  ["v2", v2Request],
  ["v1", v1Request],
]) {
  test(`${version}: verify and settle move the tokens once; the same payment again is refused`, async () => {
    const buyer = stack.info.buyers[version === "v2" ? 0 : 1];
    const payload = await signPayment({ stack, privateKey: buyer.privateKey, value: AMOUNT });
    const body = request(stack, payload, AMOUNT);
    const buyerBefore = await stack.balanceOf(buyer.address);
    const payToBefore = await stack.balanceOf(stack.info.payTo);

    const verified = await post(stack, "/verify", body);
    assert.equal(verified.status, 200);
    assert.deepEqual(verified.body, { isValid: true, payer: buyer.address });

    const settled = await post(stack, "/settle", body);
    assert.equal(settled.status, 200);
    assert.equal(settled.body.success, true, JSON.stringify(settled.body));
    assert.match(settled.body.transaction, TX_HASH);
    assert.equal(settled.body.network, body.paymentRequirements.network);
    assert.equal(settled.body.payer, buyer.address);

    const receipt = await stack.publicClient.getTransactionReceipt({ hash: settled.body.transaction });
    assert.equal(receipt.status, "success");
    assert.equal(await stack.balanceOf(buyer.address), buyerBefore - AMOUNT);
    assert.equal(await stack.balanceOf(stack.info.payTo), payToBefore + AMOUNT);

    // Replayed: precise through the Multicall3 diagnosis (verify) and the revert reason (settle).
    const reverified = await post(stack, "/verify", body);
    assert.equal(reverified.body.isValid, false);
    assert.equal(reverified.body.invalidReason, "invalid_exact_evm_nonce_already_used");
    const resettled = await post(stack, "/settle", body);
    assert.equal(resettled.status, 200);
    assert.equal(resettled.body.success, false);
    assert.equal(resettled.body.errorReason, "invalid_exact_evm_nonce_already_used");
    assert.match(resettled.body.errorMessage, /authorization is used or canceled/);
    assert.equal(resettled.body.transaction, "");
    assert.equal(await stack.balanceOf(buyer.address), buyerBefore - AMOUNT);
  });

  test(`${version}: a buyer without tokens is refused with insufficient balance`, async () => {
    const payload = await signPayment({ stack, privateKey: generatePrivateKey(), value: AMOUNT });
    const body = request(stack, payload, AMOUNT);

    const verified = await post(stack, "/verify", body);
    assert.equal(verified.body.isValid, false);
    assert.equal(verified.body.invalidReason, "invalid_exact_evm_insufficient_balance");

    const settled = await post(stack, "/settle", body);
    assert.equal(settled.body.success, false);
    assert.equal(settled.body.errorReason, "invalid_exact_evm_insufficient_balance");
    // The v1 scheme puts viem's multi-line error text in errorReason; it must arrive as a code.
    assert.match(settled.body.errorMessage, /transfer amount exceeds balance/);
  });
}

test("a high-s twin of a valid signature is refused, and nothing moves", async () => {
  const buyer = stack.info.buyers[2];
  const payment = await signPayment({ stack, privateKey: buyer.privateKey, value: AMOUNT });
  const twin = { ...payment, signature: highSTwin(payment.signature) };
  for (const request of [v2Request, v1Request]) {
    const body = request(stack, twin, AMOUNT);
    // viem's signature check accepts it; the token refuses it in the simulation ...
    const verified = await post(stack, "/verify", body);
    assert.equal(verified.body.invalidReason, "invalid_exact_evm_transaction_simulation_failed");
    // ... and in gas estimation, whose revert string names the signature.
    const settled = await post(stack, "/settle", body);
    assert.equal(settled.body.errorReason, "invalid_exact_evm_signature");
    assert.match(settled.body.errorMessage, /invalid signature 's' value/);
  }
  assert.equal(await stack.balanceOf(buyer.address), 1000_000000n);
});

test("malformed request bodies are answered 400 with a reason", async () => {
  const payload = await signPayment({ stack, privateKey: stack.info.buyers[2].privateKey, value: AMOUNT });
  const good = v2Request(stack, payload, AMOUNT);
  const withPayload = (changes) => ({ ...good, paymentPayload: { ...good.paymentPayload, payload: { ...payload, ...changes } } });
  const cases = [
    ["not JSON", "{", "invalid_payload"],
    ["no paymentRequirements", { x402Version: 2, paymentPayload: good.paymentPayload }, "invalid_payload"],
    ["x402Version 3", { ...good, x402Version: 3 }, "invalid_payload"],
    ["versions disagree", { ...good, x402Version: 1 }, "invalid_x402_version"],
    ["v1 requirements with a v2 payload", { ...good, paymentRequirements: v1Request(stack, payload, AMOUNT).paymentRequirements }, "invalid_payment_requirements"],
    ["amount not a decimal string", { ...good, paymentRequirements: { ...good.paymentRequirements, amount: "0x10" } }, "invalid_payment_requirements"],
    ["asset not an address", { ...good, paymentRequirements: { ...good.paymentRequirements, asset: "USDC" } }, "invalid_payment_requirements"],
    ["validBefore a number", withPayload({ authorization: { ...payload.authorization, validBefore: 1 } }), "invalid_payload"],
    ["nonce too short", withPayload({ authorization: { ...payload.authorization, nonce: "0x01" } }), "invalid_payload"],
    ["no signature", withPayload({ signature: undefined }), "invalid_payload"],
  ];
  for (const [what, body, reason] of cases) {
    const verified = await post(stack, "/verify", body);
    assert.equal(verified.status, 400, what);
    assert.equal(verified.body.isValid, false, what);
    assert.equal(verified.body.invalidReason, reason, what);
    const settled = await post(stack, "/settle", body);
    assert.equal(settled.status, 400, what);
    assert.equal(settled.body.success, false, what);
    assert.equal(settled.body.errorReason, reason, what);
  }
  // Nothing above was settled.
  assert.equal(await stack.balanceOf(stack.info.buyers[2].address), 1000_000000n);
});

test("an unsupported network is refused without a 400", async () => {
  const payload = await signPayment({ stack, privateKey: stack.info.buyers[2].privateKey, value: AMOUNT });
  const body = v2Request(stack, payload, AMOUNT);
  body.paymentRequirements = { ...body.paymentRequirements, network: "eip155:8453" };
  body.paymentPayload.accepted = body.paymentRequirements;
  const verified = await post(stack, "/verify", body);
  assert.equal(verified.status, 200);
  assert.equal(verified.body.invalidReason, "invalid_network");
});

test("payments built by the reference client (x402Client, @x402/evm client schemes) settle", async () => {
  const buyer = stack.info.buyers[2];
  const account = privateKeyToAccount(buyer.privateKey);
  const { network, networkV1, token } = stack.info;
  const client = new x402Client()
    .register(network, new ExactEvmScheme(account))
    .registerV1(networkV1, new ExactEvmSchemeV1(account))
    // The client refuses assets that are not the networks' default USDC unless allowed.
    .setSpendControls({ allowedAssets: [{ network, asset: token }, { network: networkV1, asset: token }] });
  const before = await stack.balanceOf(buyer.address);

  const v2 = v2Request(stack, undefined, AMOUNT).paymentRequirements;
  const v1 = v1Request(stack, undefined, AMOUNT).paymentRequirements;
  for (const [x402Version, requirements, paymentRequired] of [
    [2, v2, { x402Version: 2, resource: { url: "http://127.0.0.1/paid" }, accepts: [v2] }],
    [1, v1, { x402Version: 1, accepts: [v1] }],
  ]) {
    const paymentPayload = await client.createPaymentPayload(paymentRequired);
    const settled = await post(stack, "/settle", { x402Version, paymentPayload, paymentRequirements: requirements });
    assert.equal(settled.body.success, true, `v${x402Version}: ${JSON.stringify(settled.body)}`);
  }
  assert.equal(await stack.balanceOf(buyer.address), before - 2n * AMOUNT);
});

test("concurrent settlements all succeed (one signer key: they are serialised)", async () => {
  const bodies = await Promise.all(
    [...stack.info.buyers, ...stack.info.buyers].map(async (buyer, i) => {
      const payload = await signPayment({ stack, privateKey: buyer.privateKey, value: AMOUNT });
      return (i % 2 ? v1Request : v2Request)(stack, payload, AMOUNT);
    }),
  );
  const before = await stack.balanceOf(stack.info.payTo);
  const results = await Promise.all(bodies.map((body) => post(stack, "/settle", body)));
  for (const { body } of results) assert.equal(body.success, true, JSON.stringify(body));
  assert.equal(new Set(results.map(({ body }) => body.transaction)).size, bodies.length);
  assert.equal(await stack.balanceOf(stack.info.payTo), before + BigInt(bodies.length) * AMOUNT);
});

test("SIGTERM stops the chain and the facilitator and removes the --out file", async () => {
  assert.equal(stack.outFileExists(), true);
  const code = await stack.stop();
  assert.equal(code, 0, stack.log());
  assert.equal(await isListening(stack.info.rpcUrl), false, "hardhat node still answers");
  assert.equal(await isListening(`${stack.info.facilitatorUrl}/verify`), false, "facilitator still answers");
  assert.equal(stack.outFileExists(), false);
  stack = undefined;
});
