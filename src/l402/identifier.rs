//! The L402 macaroon identifier and the payment values it binds.
//!
//! ```text
//! identifier = version (u16 big-endian, 0) || payment_hash[32] || token_id[32]   (66 bytes)
//! ```
//! The payment hash is the Lightning invoice's; the token id is random, so two tokens for the
//! same invoice differ.

use core::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The SHA-256 payment hash of a Lightning invoice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PaymentHash(pub [u8; 32]);

/// The random id that makes a token unique (revocation lists key on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TokenId(pub [u8; 32]);

/// The preimage of a payment hash: proof that the invoice was paid. `Debug` does not print it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Preimage(pub [u8; 32]);

/// An L402 identifier, version 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Identifier {
    /// The hash the paid invoice's preimage must match.
    pub payment_hash: PaymentHash,
    /// The token's unique id.
    pub token_id: TokenId,
}

/// Why a macaroon identifier is not an L402 identifier. The sender caused it (or sent a
/// macaroon of another system).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentifierError {
    /// Not [`Identifier::LEN`] bytes long (aperture ignores trailing bytes; this is strict).
    Length { len: usize },
    /// A version other than [`Identifier::VERSION`].
    UnsupportedVersion { version: u16 },
}

impl Identifier {
    /// The length of a version 0 identifier.
    pub const LEN: usize = 2 + 32 + 32;
    /// The only identifier version defined.
    pub const VERSION: u16 = 0;

    /// Reads `version || payment_hash || token_id`, exactly [`Self::LEN`] bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdentifierError> {
        let bytes: &[u8; Self::LEN] = bytes
            .try_into()
            .map_err(|_| IdentifierError::Length { len: bytes.len() })?;
        let (version, rest) = bytes.split_at(2);
        let (payment_hash, token_id) = rest.split_at(32);
        let version = u16::from_be_bytes([version[0], version[1]]);
        if version != Self::VERSION {
            return Err(IdentifierError::UnsupportedVersion { version });
        }
        Ok(Self {
            payment_hash: PaymentHash(to_array(payment_hash)),
            token_id: TokenId(to_array(token_id)),
        })
    }

    /// Writes `version || payment_hash || token_id`.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut bytes = [0; Self::LEN];
        bytes[..2].copy_from_slice(&Self::VERSION.to_be_bytes());
        bytes[2..34].copy_from_slice(&self.payment_hash.0);
        bytes[34..].copy_from_slice(&self.token_id.0);
        bytes
    }
}

impl Preimage {
    /// Reads exactly 64 hex digits (either letter case).
    pub fn from_hex(text: &str) -> Option<Self> {
        let mut bytes = [0; 32];
        hex::decode_to_slice(text, &mut bytes).ok()?;
        Some(Self(bytes))
    }

    /// Lower-case hex, as credentials carry it.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// `sha256(preimage)`.
    pub fn payment_hash(&self) -> PaymentHash {
        PaymentHash(Sha256::digest(self.0).into())
    }

    /// Whether `sha256(preimage) == hash`, compared in constant time.
    pub fn pays(&self, hash: &PaymentHash) -> bool {
        self.payment_hash().0.ct_eq(&hash.0).into()
    }
}

impl fmt::Debug for Preimage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Preimage(..)")
    }
}

impl fmt::Display for IdentifierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length { len } => write!(
                f,
                "identifier is {len} bytes, not the {} of an L402 identifier",
                Identifier::LEN
            ),
            Self::UnsupportedVersion { version } => {
                write!(f, "L402 identifier version {version} is not supported")
            }
        }
    }
}

impl std::error::Error for IdentifierError {}

/// A 32-byte array from a slice the caller split at 32 bytes.
fn to_array(slice: &[u8]) -> [u8; 32] {
    let mut array = [0; 32];
    array.copy_from_slice(slice);
    array
}
