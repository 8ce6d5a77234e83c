use core::fmt;

use k256::ecdsa::Signature;
use k256::elliptic_curve::scalar::IsHigh;

/// edge402 refuses ECDSA signatures whose `s` is in the upper half of the curve order.
///
/// Every signature `(r, s)` has a twin `(r, n - s)` that recovers to the same key. EIP-2 made
/// the high twin invalid for transactions, and the USDC contract's `ecrecover` wrapper reverts
/// on it, so a high-s payment would pass a lenient local check and then fail on chain.
/// (viem's `verifyTypedData` accepts such twins; this is a deliberate difference.)
pub const REJECT_HIGH_S: bool = true;

/// The suffix of an ERC-6492 signature (a smart wallet that is not deployed yet).
pub(crate) const ERC6492_MAGIC: [u8; 32] =
    hex_literal::hex!("6492649264926492649264926492649264926492649264926492649264926492");

/// Length of an ECDSA signature as `r || s || v`.
const ECDSA_SIGNATURE_LEN: usize = 65;

/// What a payment's signature bytes are, once classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureKind {
    /// A 65-byte ECDSA signature, checkable here by key recovery.
    Ecdsa(RecoverableSignature),
    /// Longer than 65 bytes: an ERC-1271 (deployed) or ERC-6492 (counterfactual) smart-wallet
    /// signature. Its validity depends on chain state, so only the facilitator can check it.
    SmartWallet {
        /// Whether it ends in the ERC-6492 magic suffix.
        erc6492: bool,
    },
}

/// A low-s secp256k1 signature with its recovery bit, as EIP-3009 signers produce it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecoverableSignature {
    pub(crate) signature: Signature,
    /// Whether the ephemeral point `R` has an odd y coordinate (`v` = 28 or 1).
    pub(crate) y_odd: bool,
}

/// Why signature bytes are not an acceptable ECDSA signature. The payment's sender caused it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// Fewer than 65 bytes (a 64-byte EIP-2098 compact signature is not accepted by EIP-3009).
    Length { len: usize },
    /// The last byte is not 0, 1, 27 or 28.
    BadRecoveryByte { v: u8 },
    /// `r` or `s` is zero or not below the curve order.
    OutOfRange,
    /// `s > n/2`; see [`REJECT_HIGH_S`].
    HighS,
    /// No public key corresponds to this signature and digest.
    Unrecoverable,
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length { len } => write!(f, "signature is {len} bytes, expected 65"),
            Self::BadRecoveryByte { v } => write!(f, "recovery byte v={v} is not 0, 1, 27 or 28"),
            Self::OutOfRange => f.write_str("r or s is zero or not below the curve order"),
            Self::HighS => f.write_str("s is in the upper half of the curve order (EIP-2)"),
            Self::Unrecoverable => f.write_str("no public key recovers from this signature"),
        }
    }
}

impl std::error::Error for SignatureError {}

impl SignatureKind {
    /// Classifies raw signature bytes, applying the high-s policy to ECDSA signatures.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SignatureError> {
        match bytes.len() {
            ECDSA_SIGNATURE_LEN => RecoverableSignature::from_rsv(bytes).map(Self::Ecdsa),
            len if len > ECDSA_SIGNATURE_LEN => Ok(Self::SmartWallet {
                erc6492: bytes.ends_with(&ERC6492_MAGIC),
            }),
            len => Err(SignatureError::Length { len }),
        }
    }
}

impl RecoverableSignature {
    /// Reads `r || s || v` (65 bytes) with `v` as 27/28 or 0/1.
    pub fn from_rsv(bytes: &[u8]) -> Result<Self, SignatureError> {
        let (rs, v) = match bytes {
            [rs @ .., v] if rs.len() == 64 => (rs, *v),
            _ => return Err(SignatureError::Length { len: bytes.len() }),
        };
        let y_odd = match v {
            0 | 27 => false,
            1 | 28 => true,
            v => return Err(SignatureError::BadRecoveryByte { v }),
        };
        let signature = Signature::from_slice(rs).map_err(|_| SignatureError::OutOfRange)?;
        if REJECT_HIGH_S && bool::from(signature.s().is_high()) {
            return Err(SignatureError::HighS);
        }
        Ok(Self { signature, y_odd })
    }

    /// `r || s || v` with `v` as 27/28, the form Ethereum wallets produce.
    pub fn to_rsv(&self) -> [u8; 65] {
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&self.signature.to_bytes());
        out[64] = 27 + u8::from(self.y_odd);
        out
    }
}
