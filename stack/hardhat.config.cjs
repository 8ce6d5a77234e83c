// Hardhat 2 configuration for edge402's local chain (`hardhat node` only: nothing is compiled
// by hardhat; contracts are compiled with solc-js by compile.mjs).
//
// CommonJS on purpose: stack/package.json says "type": "module" and Hardhat 2 loads its
// config with require().
module.exports = {
  networks: {
    hardhat: {
      // Base Sepolia's chain id, so EIP-712 domains, CAIP-2 ids (eip155:84532) and v1 names
      // (base-sepolia) are the ones real clients use. Accounts are Hardhat's defaults: the
      // public test mnemonic "test test … junk", 20 accounts funded with 10000 ETH each.
      chainId: 84532,
      // Automine gives each block the previous timestamp + 1 s by default: a burst of
      // settlements would push chain time ahead of the wall clock until short-lived
      // authorisations (validBefore = now + 60 s) fail as expired. Blocks may share a second.
      allowBlocksWithSameTimestamp: true,
    },
  },
};
