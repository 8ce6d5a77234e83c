// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.26;

/// Whether a smart wallet accepts a sign-in's signature, asked of the chain in one `eth_call`
/// without a recipient: the call runs this contract's constructor, which is never deployed,
/// and returns one byte, 0x01 (accepted) or 0x00.
///
/// A wallet not deployed yet is deployed first by its factory's call (the parts of an
/// ERC-6492 signature, which edge402 unwraps before calling), inside the call only; then the
/// wallet's ERC-1271 `isValidSignature(hash, signature)` must answer its magic value. An
/// account without code accepts nothing here (an ECDSA account's signature is recovered by
/// edge402 itself).
contract SignInCheck {
    /// ERC-1271's `isValidSignature(bytes32,bytes)` selector, also its success value.
    bytes4 private constant ERC1271_MAGIC_VALUE = 0x1626ba7e;

    constructor(address wallet, bytes32 hash, address factory, bytes memory factoryCall, bytes memory signature) {
        if (wallet.code.length == 0 && factory != address(0)) {
            // A failed deployment shows below as a wallet without code.
            (bool deployed, ) = factory.call(factoryCall);
            deployed;
        }
        bool accepted = false;
        if (wallet.code.length > 0) {
            (bool answered, bytes memory result) =
                wallet.staticcall(abi.encodeWithSelector(ERC1271_MAGIC_VALUE, hash, signature));
            bytes4 magic;
            if (answered && result.length >= 32) {
                assembly {
                    magic := mload(add(result, 32))
                }
            }
            accepted = magic == ERC1271_MAGIC_VALUE;
        }
        assembly {
            mstore8(0, accepted)
            return(0, 1)
        }
    }
}
