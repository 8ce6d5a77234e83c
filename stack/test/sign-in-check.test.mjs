// The gateway's SignInCheck contract (src/gate/SignInCheck.sol), which edge402 runs in one
// eth_call to ask whether a smart wallet accepts a sign-in's signature: its committed
// bytecode is its source's, and on the local chain it accepts the owner's signature from a
// deployed ERC-1271 wallet and from a counterfactual one behind an ERC-6492 wrapper, and
// refuses another key's, an account without code, and a wrapper whose factory deploys nothing.
//
//   node --test test/sign-in-check.test.mjs
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { concat, createWalletClient, encodeAbiParameters, encodeFunctionData, hashMessage, http, keccak256, toHex, zeroAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { loadContracts } from "../compile.mjs";
import { testAccount } from "../lib/accounts.mjs";
import { startStack } from "./helpers.mjs";

const COMMITTED = new URL("../../src/gate/SignInCheck.bin", import.meta.url);
/** An account with ETH that is neither a buyer, the merchant nor the facilitator. */
const DEPLOYER = testAccount(6);

const contracts = loadContracts();
let stack;
let deployer;
let factory;
before(async () => {
  stack = await startStack();
  deployer = createWalletClient({ account: DEPLOYER.account, transport: http(stack.info.rpcUrl, { retryCount: 0 }) });
  const { abi, bytecode } = contracts.TestWalletFactory;
  const hash = await deployer.deployContract({ chain: null, abi, bytecode });
  factory = (await stack.publicClient.waitForTransactionReceipt({ hash })).contractAddress;
});
after(() => stack?.stop());

/** What the contract answers for `wallet`, `hash` and `signature` (with a factory call). */
async function check(wallet, hash, signature, deployment = { factory: zeroAddress, call: "0x" }) {
  const args = encodeAbiParameters(
    [{ type: "address" }, { type: "bytes32" }, { type: "address" }, { type: "bytes" }, { type: "bytes" }],
    [wallet, hash, deployment.factory, deployment.call, signature],
  );
  const { data } = await stack.publicClient.call({ data: concat([`0x${readFileSync(COMMITTED, "utf8").trim()}`, args]) });
  return data;
}

/** A counterfactual wallet of a fresh owner: its address, the call that deploys it, the owner. */
async function counterfactual() {
  const owner = privateKeyToAccount(generatePrivateKey());
  const salt = keccak256(toHex(owner.address));
  const { abi } = contracts.TestWalletFactory;
  const wallet = await stack.publicClient.readContract({ address: factory, abi, functionName: "addressOf", args: [owner.address, salt] });
  const call = encodeFunctionData({ abi, functionName: "deploy", args: [owner.address, salt] });
  return { owner, wallet, deployment: { factory, call } };
}

test("the committed bytecode is the source's, compiled as the stack compiles", () => {
  assert.equal(readFileSync(COMMITTED, "utf8").trim(), contracts.SignInCheck.bytecode.slice(2));
});

test("a counterfactual wallet's owner signature is accepted through its factory call; another key's is not", async () => {
  const { owner, wallet, deployment } = await counterfactual();
  const hash = hashMessage("edge402 wants you to sign in");
  assert.equal(await stack.publicClient.getCode({ address: wallet }), undefined, "not deployed");
  const signature = await owner.sign({ hash });
  assert.equal(await check(wallet, hash, signature, deployment), "0x01");
  const stranger = privateKeyToAccount(generatePrivateKey());
  assert.equal(await check(wallet, hash, await stranger.sign({ hash }), deployment), "0x00");
  assert.equal(await check(wallet, hashMessage("something else"), signature, deployment), "0x00");
  // Without the factory call, nothing is deployed, so nothing accepts.
  assert.equal(await check(wallet, hash, signature), "0x00");
  // A factory that deploys another wallet does not make this one accept.
  const other = await counterfactual();
  assert.equal(await check(wallet, hash, signature, other.deployment), "0x00");
  assert.equal(await stack.publicClient.getCode({ address: wallet }), undefined, "the call deployed nothing for real");
});

test("a deployed wallet is asked directly (ERC-1271); an account without code accepts nothing", async () => {
  const { owner, wallet, deployment } = await counterfactual();
  const hash = await deployer.sendTransaction({ chain: null, to: deployment.factory, data: deployment.call });
  await stack.publicClient.waitForTransactionReceipt({ hash });
  const digest = hashMessage("sign in again");
  const signature = await owner.sign({ hash: digest });
  assert.equal(await check(wallet, digest, signature), "0x01");
  // The deployment call again (an ERC-6492 wrapper of a wallet deployed since) changes nothing.
  assert.equal(await check(wallet, digest, signature, deployment), "0x01");
  assert.equal(await check(owner.address, digest, signature), "0x00", "an EOA has no isValidSignature");
});
