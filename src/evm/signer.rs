//! Signing EIP-3009 authorisations with a local secp256k1 key, as the official clients do.

use core::fmt;

use k256::ecdsa::SigningKey;

use super::{Address, Eip712Domain, RecoverableSignature, TransferWithAuthorization};

/// A local private key that signs payment authorisations (deterministic RFC 6979 nonces,
/// always low-s). For agents, tests, benchmarks and examples; never give it a user's key in
/// a browser.
#[derive(Clone)]
pub struct PaymentSigner {
    key: SigningKey,
    address: Address,
}

/// Why bytes are not a secp256k1 private key.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignerError {
    /// Not `0x` + 64 hex digits (or 64 hex digits).
    NotHex,
    /// Zero, or not below the curve order.
    OutOfRange,
}

impl fmt::Display for SignerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotHex => "private key must be 32 bytes of hex",
            Self::OutOfRange => "private key is zero or not below the secp256k1 order",
        })
    }
}

impl std::error::Error for SignerError {}

impl fmt::Debug for PaymentSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key itself is never printed.
        f.debug_struct("PaymentSigner")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl PaymentSigner {
    /// A signer from 32 secret bytes.
    pub fn from_bytes(secret: &[u8; 32]) -> Result<Self, SignerError> {
        let key = SigningKey::from_bytes(secret.into()).map_err(|_| SignerError::OutOfRange)?;
        let point = key.verifying_key().to_encoded_point(false);
        // An uncompressed SEC1 point is 0x04 || x || y (65 bytes) for every valid public key.
        let xy: &[u8; 64] = point.as_bytes()[1..]
            .try_into()
            .expect("uncompressed point is 65 bytes");
        let address = Address::from_uncompressed_point(xy);
        Ok(Self { key, address })
    }

    /// A signer from `0x` + 64 hex digits (the `0x` is optional).
    pub fn from_hex(text: &str) -> Result<Self, SignerError> {
        let digits = text.strip_prefix("0x").unwrap_or(text);
        let mut secret = [0u8; 32];
        hex::decode_to_slice(digits, &mut secret).map_err(|_| SignerError::NotHex)?;
        Self::from_bytes(&secret)
    }

    /// The signer's address (the payment's `from`).
    pub fn address(&self) -> Address {
        self.address
    }

    /// Signs a 32-byte digest; the result is low-s with its recovery bit.
    pub fn sign_prehash(&self, digest: &[u8; 32]) -> RecoverableSignature {
        // k256 signs with RFC 6979 nonces and normalises s to the lower half; a 32-byte
        // prehash is the size the curve expects, so signing cannot fail.
        let (signature, id) = self
            .key
            .sign_prehash_recoverable(digest)
            .expect("a 32-byte prehash always signs");
        RecoverableSignature {
            signature,
            y_odd: id.is_y_odd(),
        }
    }

    /// Signs an EIP-3009 authorisation under a token's EIP-712 domain.
    pub fn sign_authorization(
        &self,
        authorization: &TransferWithAuthorization,
        domain: &Eip712Domain,
    ) -> RecoverableSignature {
        self.sign_prehash(&authorization.signing_hash(domain))
    }
}
