//! The address that signed a digest: secp256k1 public-key recovery in one pass (the
//! `edge402_ecrecover` crate, which says why one pass suffices), then Keccak-256 of the key.
//! The equivalence with k256's recover-then-verify is tested on the vectors and on random
//! keys.

use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::AffinePoint;

use super::{Address, RecoverableSignature, SignatureError};

/// Recovers the address that signed a 32-byte digest (EIP-712's signing hash), in one pass
/// (`edge402_ecrecover`).
pub fn recover_address_from_prehash(
    digest: &[u8; 32],
    signature: &RecoverableSignature,
) -> Result<Address, SignatureError> {
    let key = edge402_ecrecover::recover_prehash(digest, &signature.signature, signature.y_odd)
        .ok_or(SignatureError::Unrecoverable)?;
    address_of_point(&key)
}

/// The same recovery through k256's `VerifyingKey::recover_from_prehash` (recover, then
/// verify). Kept as the reference the one-pass version is tested and benchmarked against.
pub fn recover_address_from_prehash_with_k256(
    digest: &[u8; 32],
    signature: &RecoverableSignature,
) -> Result<Address, SignatureError> {
    let id = k256::ecdsa::RecoveryId::new(signature.y_odd, false);
    let key = k256::ecdsa::VerifyingKey::recover_from_prehash(digest, &signature.signature, id)
        .map_err(|_| SignatureError::Unrecoverable)?;
    address_of_point(key.as_affine())
}

fn address_of_point(point: &AffinePoint) -> Result<Address, SignatureError> {
    let encoded = point.to_encoded_point(false);
    // An uncompressed SEC1 point is 0x04 || x || y; the identity has no such encoding.
    let xy: &[u8; 64] = encoded
        .as_bytes()
        .get(1..)
        .and_then(|rest| rest.try_into().ok())
        .ok_or(SignatureError::Unrecoverable)?;
    Ok(Address::from_uncompressed_point(xy))
}
