// TestUSDC against the behaviour the facilitator relies on: the EIP-712 domain, the
// signature policy and the revert strings, called directly on the local chain.
//
//   node --test test/token.test.mjs
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createWalletClient, hashDomain, http, parseSignature, toHex, verifyTypedData } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { testAccount } from "../lib/accounts.mjs";
import { AUTHORIZATION_TYPES, highSTwin, signPayment, startStack } from "./helpers.mjs";

/** An account with ETH that is neither a buyer, the merchant nor the facilitator. */
const SUBMITTER = testAccount(5);

let stack;
let submitter;
before(async () => {
  stack = await startStack();
  submitter = createWalletClient({ account: SUBMITTER.account, transport: http(stack.info.rpcUrl, { retryCount: 0 }) });
});
after(() => stack?.stop());

/** Positional arguments of transferWithAuthorization's (v, r, s) form. */
function vrsArgs({ authorization: a, signature }) {
  const { r, s, v } = parseSignature(signature);
  return [a.from, a.to, BigInt(a.value), BigInt(a.validAfter), BigInt(a.validBefore), a.nonce, Number(v), r, s];
}

function simulate(functionName, args, account = SUBMITTER.address) {
  return stack.publicClient.simulateContract({ address: stack.info.token, abi: stack.tokenAbi, functionName, args, account });
}

async function send(functionName, args) {
  const hash = await submitter.writeContract({ chain: null, address: stack.info.token, abi: stack.tokenAbi, functionName, args });
  return stack.publicClient.waitForTransactionReceipt({ hash });
}

const buyerKey = () => stack.info.buyers[0].privateKey;

test("metadata and the EIP-712 domain separator", async () => {
  const read = (functionName) => stack.publicClient.readContract({ address: stack.info.token, abi: stack.tokenAbi, functionName });
  assert.equal(await read("name"), "USDC");
  assert.equal(await read("version"), "2");
  assert.equal(await read("decimals"), 6);
  const expected = hashDomain({
    domain: { name: "USDC", version: "2", chainId: 84532, verifyingContract: stack.info.token },
    types: { EIP712Domain: [{ name: "name", type: "string" }, { name: "version", type: "string" }, { name: "chainId", type: "uint256" }, { name: "verifyingContract", type: "address" }] },
  });
  assert.equal(await read("DOMAIN_SEPARATOR"), expected);
});

test("time window, signer and balance are enforced with FiatToken's revert strings", async () => {
  const now = Math.floor(Date.now() / 1000);
  const cases = [
    // An hour back: blocks may share a second (hardhat.config.cjs), so an idle chain's time
    // trails the wall clock by the seconds since its last block.
    ["expired", { validBefore: String(now - 3600) }, buyerKey(), /authorization is expired/],
    ["not yet valid", { validAfter: String(now + 3600) }, buyerKey(), /authorization is not yet valid/],
    ["signed by someone else", { from: stack.info.buyers[1].address }, buyerKey(), /invalid signature/],
    ["no tokens", {}, generatePrivateKey(), /transfer amount exceeds balance/],
  ];
  for (const [what, overrides, privateKey, reason] of cases) {
    const payment = await signPayment({ stack, privateKey, value: 1, ...overrides });
    await assert.rejects(simulate("transferWithAuthorization", vrsArgs(payment)), reason, what);
  }
  const valid = await signPayment({ stack, privateKey: buyerKey(), value: 1 });
  await simulate("transferWithAuthorization", vrsArgs(valid));
});

test("high-s twins and v outside 27/28 are refused although they recover the signer", async () => {
  const payment = await signPayment({ stack, privateKey: buyerKey(), value: 1 });
  const twin = highSTwin(payment.signature);
  // viem accepts the twin (this is why the facilitator's simulation is what catches it) ...
  const typedData = {
    domain: { ...stack.info.eip712, chainId: stack.info.chainId, verifyingContract: stack.info.token },
    types: AUTHORIZATION_TYPES,
    primaryType: "TransferWithAuthorization",
    message: payment.authorization,
  };
  assert.equal(await verifyTypedData({ ...typedData, address: payment.authorization.from, signature: twin }), true);
  // ... the token does not, in either form.
  const highS = { ...payment, signature: twin };
  await assert.rejects(simulate("transferWithAuthorization", vrsArgs(highS)), /invalid signature 's' value/);
  await assert.rejects(simulate("transferWithAuthorization", [...vrsArgs(highS).slice(0, 6), twin]), /invalid signature 's' value/);

  // v = 29, and the bare parity 0/1 (which FiatToken refuses too).
  for (const v of [29, parseSignature(payment.signature).yParity]) {
    const args = vrsArgs(payment);
    args[6] = v;
    await assert.rejects(simulate("transferWithAuthorization", args), /invalid signature 'v' value/, `v = ${v}`);
  }
});

test("bytes-signature form transfers once, marks the nonce and emits AuthorizationUsed", async () => {
  const payment = await signPayment({ stack, privateKey: buyerKey(), value: 250 });
  const { authorization: a } = payment;
  const args = [...vrsArgs(payment).slice(0, 6), payment.signature];
  const stateOf = () =>
    stack.publicClient.readContract({ address: stack.info.token, abi: stack.tokenAbi, functionName: "authorizationState", args: [a.from, a.nonce] });
  assert.equal(await stateOf(), false);
  const payToBefore = await stack.balanceOf(a.to);

  const receipt = await send("transferWithAuthorization", args);
  assert.equal(receipt.status, "success");
  assert.equal(await stateOf(), true);
  assert.equal(await stack.balanceOf(a.to), payToBefore + 250n);
  const events = await stack.publicClient.getContractEvents({
    address: stack.info.token,
    abi: stack.tokenAbi,
    eventName: "AuthorizationUsed",
    fromBlock: receipt.blockNumber,
    toBlock: receipt.blockNumber,
  });
  assert.deepEqual(events.map((e) => e.args), [{ authorizer: a.from, nonce: a.nonce }]);

  await assert.rejects(simulate("transferWithAuthorization", args), /authorization is used or canceled/);
  await assert.rejects(simulate("transferWithAuthorization", vrsArgs(payment)), /authorization is used or canceled/);
});

test("receiveWithAuthorization only for the payee; a canceled nonce cannot be used", async () => {
  const buyer = privateKeyToAccount(buyerKey());
  const domain = { ...stack.info.eip712, chainId: stack.info.chainId, verifyingContract: stack.info.token };
  const now = Math.floor(Date.now() / 1000);
  const message = {
    from: buyer.address,
    to: SUBMITTER.address,
    value: 7n,
    validAfter: BigInt(now - 600),
    validBefore: BigInt(now + 600),
    nonce: toHex(crypto.getRandomValues(new Uint8Array(32))),
  };
  const signature = await buyer.signTypedData({
    domain,
    types: { ReceiveWithAuthorization: AUTHORIZATION_TYPES.TransferWithAuthorization },
    primaryType: "ReceiveWithAuthorization",
    message,
  });
  const args = [...Object.values(message), signature];
  await assert.rejects(simulate("receiveWithAuthorization", args, stack.info.payTo), /caller must be the payee/);
  assert.equal((await send("receiveWithAuthorization", args)).status, "success");

  const payment = await signPayment({ stack, privateKey: buyerKey(), value: 1 });
  const cancel = await buyer.signTypedData({
    domain,
    types: { CancelAuthorization: [{ name: "authorizer", type: "address" }, { name: "nonce", type: "bytes32" }] },
    primaryType: "CancelAuthorization",
    message: { authorizer: buyer.address, nonce: payment.authorization.nonce },
  });
  assert.equal((await send("cancelAuthorization", [buyer.address, payment.authorization.nonce, cancel])).status, "success");
  await assert.rejects(simulate("transferWithAuthorization", vrsArgs(payment)), /authorization is used or canceled/);
});
