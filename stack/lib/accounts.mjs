// The local chain's accounts: Hardhat's defaults, derived from the public test mnemonic.
// Nothing here is secret; never use these keys on a real network.
import { toHex } from "viem";
import { mnemonicToAccount, privateKeyToAccount } from "viem/accounts";

/** Hardhat 2's default mnemonic (hardhat node funds its first 20 accounts with 10000 ETH). */
export const TEST_MNEMONIC = "test test test test test test test test test test test junk";

/** Roles by account index. */
export const FACILITATOR_INDEX = 0; // signs and pays gas for settlements; deploys the token
export const BUYER_INDEXES = [1, 2, 3]; // hold test USDC
export const PAY_TO_INDEX = 4; // the merchant: receives payments, starts with no USDC

/** `{address, privateKey, account}` of default account `index` (BIP-44 m/44'/60'/0'/0/index). */
export function testAccount(index) {
  const privateKey = toHex(mnemonicToAccount(TEST_MNEMONIC, { addressIndex: index }).getHdKey().privateKey);
  const account = privateKeyToAccount(privateKey);
  return { address: account.address, privateKey, account };
}
