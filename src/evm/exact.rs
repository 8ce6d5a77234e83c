use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::TransferWithAuthorization;

/// The `payload` of an `exact` payment on an EVM network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExactEvmPayload {
    /// The signature over the authorisation's EIP-712 signing hash.
    pub signature: SignatureHex,
    /// The signed EIP-3009 authorisation.
    pub authorization: TransferWithAuthorization,
}

/// Signature bytes written as `0x` + hex. Any length is carried: 65 bytes is ECDSA, longer is
/// a smart-wallet signature; [`super::SignatureKind::from_bytes`] tells them apart.
#[derive(Clone, PartialEq, Eq)]
pub struct SignatureHex(pub Vec<u8>);

/// The longest signature accepted, in bytes. ERC-6492 wrappers carry a factory call and can
/// be a few kilobytes; anything beyond this is refused as malformed.
pub const MAX_SIGNATURE_BYTES: usize = 4096;

impl fmt::Debug for SignatureHex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(&self.0))
    }
}

impl Serialize for SignatureHex {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("0x{}", hex::encode(&self.0)))
    }
}

impl SignatureHex {
    /// Reads `0x` and hex digits, at most [`MAX_SIGNATURE_BYTES`]; the error says what is
    /// wrong.
    pub fn from_hex(text: &str) -> Result<Self, &'static str> {
        let digits = text
            .strip_prefix("0x")
            .or_else(|| text.strip_prefix("0X"))
            .ok_or("signature must start with 0x")?;
        if digits.len() > 2 * MAX_SIGNATURE_BYTES {
            return Err("signature is too long");
        }
        hex::decode(digits)
            .map(Self)
            .map_err(|_| "signature is not hexadecimal")
    }
}

impl<'de> Deserialize<'de> for SignatureHex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::from_hex(&text).map_err(serde::de::Error::custom)
    }
}
