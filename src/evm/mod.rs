//! The EVM side of the `exact` scheme: addresses, EIP-712 hashing of EIP-3009's
//! `TransferWithAuthorization`, signature recovery and the payment signer.

pub mod abi;
pub mod address;
pub mod eip712;
mod exact;
mod kept;
pub mod proof;
mod recover;
mod signature;
pub mod signer;

pub use address::{Address, AddressError, Bytes32};
pub use eip712::{Eip712Domain, TransferWithAuthorization};
pub use exact::{ExactEvmPayload, SignatureHex};
pub use recover::{recover_address_from_prehash, recover_address_from_prehash_with_k256};
pub use signature::{RecoverableSignature, SignatureError, SignatureKind, REJECT_HIGH_S};

use sha3::{Digest, Keccak256};

/// Keccak-256 (the pre-standard SHA-3 the EVM uses), over the concatenation of `parts`.
pub fn keccak256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Keccak256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// EIP-191's hash of a personal message (version `0x45`, what `personal_sign` and viem's
/// `signMessage` sign): `keccak256("\x19Ethereum Signed Message:\n" ‖ len(message) ‖ message)`,
/// the length in decimal.
pub fn eip191_hash(message: &[u8]) -> [u8; 32] {
    let length = message.len().to_string();
    keccak256(&[
        b"\x19Ethereum Signed Message:\n",
        length.as_bytes(),
        message,
    ])
}
