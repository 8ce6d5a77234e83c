//! EIP-712 typed-data hashing for EIP-3009's `TransferWithAuthorization`.
//!
//! See <https://eips.ethereum.org/EIPS/eip-712> and <https://eips.ethereum.org/EIPS/eip-3009>.

use hex_literal::hex;
use serde::{Deserialize, Serialize};

use super::kept::Kept;
use super::{keccak256, Address, Bytes32};
use crate::amount::Uint256;

/// `keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")`
pub const EIP712_DOMAIN_TYPEHASH: [u8; 32] =
    hex!("8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f");

/// `keccak256("TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)")`
pub const TRANSFER_WITH_AUTHORIZATION_TYPEHASH: [u8; 32] =
    hex!("7c7c6cdb67a18743f49ec6fa9b35f50d52ed05cbed4cc592e13b44501c1a2267");

/// How many domains' separators [`Eip712Domain::separator`] keeps (the oldest goes first).
const KEPT_SEPARATORS: usize = 4;

/// The EIP-712 domain of an EIP-3009 token: its `name()`, `version()`, chain and address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Eip712Domain {
    /// The token's EIP-712 name (`"USD Coin"` on Base, `"USDC"` on Base Sepolia).
    pub name: String,
    /// The token's EIP-712 version (`"2"` for USDC).
    pub version: String,
    /// The EIP-155 chain id.
    pub chain_id: u64,
    /// The token contract.
    pub verifying_contract: Address,
}

/// The EIP-3009 authorisation a payer signs (the `authorization` object of an exact-EVM
/// payment). Amounts and times are `uint256` decimal strings on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferWithAuthorization {
    /// The payer, whose key must have produced the signature.
    pub from: Address,
    /// The recipient (must be the requirement's `payTo`).
    pub to: Address,
    /// Atomic token units.
    pub value: Uint256,
    /// Unix seconds; the transfer is invalid at or before this time on chain.
    pub valid_after: Uint256,
    /// Unix seconds; the transfer is invalid at or after this time on chain.
    pub valid_before: Uint256,
    /// Random 32 bytes; each `(from, nonce)` can be used once on chain.
    pub nonce: Bytes32,
}

impl Eip712Domain {
    /// The domain type hash ([`EIP712_DOMAIN_TYPEHASH`]).
    pub fn type_hash() -> [u8; 32] {
        EIP712_DOMAIN_TYPEHASH
    }

    /// `domainSeparator = keccak256(typeHash ‖ keccak256(name) ‖ keccak256(version) ‖ chainId ‖ verifyingContract)`
    ///
    /// The separators of the last [`KEPT_SEPARATORS`] domains are kept: a gateway or a page
    /// verifies payments in one token or a few, so the same domains come back call after
    /// call, and a separator costs three Keccak-256 permutations (a few percent of a
    /// verification in WASM).
    pub fn separator(&self) -> [u8; 32] {
        thread_local! {
            static KEPT: Kept<Eip712Domain, [u8; 32], KEPT_SEPARATORS> = const { Kept::new() };
        }
        KEPT.with(|kept| kept.get_or_compute(self, Self::hash_separator))
    }

    /// [`Eip712Domain::separator`], computed.
    fn hash_separator(&self) -> [u8; 32] {
        let chain_id = Uint256::from(self.chain_id).to_be_bytes();
        keccak256(&[
            &EIP712_DOMAIN_TYPEHASH,
            &keccak256(&[self.name.as_bytes()]),
            &keccak256(&[self.version.as_bytes()]),
            &chain_id,
            &self.verifying_contract.to_word(),
        ])
    }
}

impl TransferWithAuthorization {
    /// The struct type hash ([`TRANSFER_WITH_AUTHORIZATION_TYPEHASH`]).
    pub fn type_hash() -> [u8; 32] {
        TRANSFER_WITH_AUTHORIZATION_TYPEHASH
    }

    /// `hashStruct(message) = keccak256(typeHash ‖ from ‖ to ‖ value ‖ validAfter ‖ validBefore ‖ nonce)`,
    /// every member ABI-encoded as a 32-byte word.
    pub fn hash_struct(&self) -> [u8; 32] {
        keccak256(&[
            &TRANSFER_WITH_AUTHORIZATION_TYPEHASH,
            &self.from.to_word(),
            &self.to.to_word(),
            &self.value.to_be_bytes(),
            &self.valid_after.to_be_bytes(),
            &self.valid_before.to_be_bytes(),
            &self.nonce.0,
        ])
    }

    /// `keccak256("\x19\x01" ‖ domainSeparator ‖ hashStruct(message))`, the digest a wallet signs.
    pub fn signing_hash(&self, domain: &Eip712Domain) -> [u8; 32] {
        signing_hash(&domain.separator(), &self.hash_struct())
    }
}

/// `keccak256("\x19\x01" ‖ domainSeparator ‖ structHash)` (EIP-712 §"Specification").
pub fn signing_hash(domain_separator: &[u8; 32], struct_hash: &[u8; 32]) -> [u8; 32] {
    keccak256(&[b"\x19\x01", domain_separator, struct_hash])
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn type_hashes_are_the_hashes_of_the_type_strings() {
        assert_eq!(
            keccak256(&[b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"]),
            Eip712Domain::type_hash()
        );
        assert_eq!(
            keccak256(&[b"TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"]),
            TransferWithAuthorization::type_hash()
        );
    }

    #[test]
    fn the_kept_separator_answers_only_for_the_same_domain() {
        let usdc = Eip712Domain {
            name: "USD Coin".into(),
            version: "2".into(),
            chain_id: 8453,
            verifying_contract: Address([0x83; 20]),
        };
        let domains = [
            usdc.clone(),
            Eip712Domain {
                name: "USDC".into(),
                ..usdc.clone()
            },
            Eip712Domain {
                version: "1".into(),
                ..usdc.clone()
            },
            Eip712Domain {
                chain_id: 84532,
                ..usdc.clone()
            },
            Eip712Domain {
                verifying_contract: Address([0x03; 20]),
                ..usdc.clone()
            },
        ];
        let separators = domains.each_ref().map(Eip712Domain::hash_separator);
        for (i, a) in separators.iter().enumerate() {
            assert!(separators[i + 1..].iter().all(|b| a != b));
        }
        // Each domain after each other one and after itself, with more domains than are kept
        // in turn, so each is asked for while kept and after it went.
        assert!(domains.len() > KEPT_SEPARATORS);
        for _ in 0..2 {
            for first in &domains {
                for (second, expected) in domains.iter().zip(&separators) {
                    first.separator();
                    assert_eq!(second.separator(), *expected);
                    assert_eq!(second.separator(), *expected);
                }
            }
        }
    }
}
