//! Public-key recovery for secp256k1 ECDSA signatures, in one pass.
//!
//! k256's `VerifyingKey::recover_from_prehash` recovers the key and then verifies the
//! signature against it, which doubles the cost. Recovery alone already proves the signature:
//! for `Q = r⁻¹(s·R − z·G)` the verification equation holds by construction, so the
//! second pass can only fail for inputs that recovery itself rejects (R not on the curve,
//! Q at infinity). The equivalence is tested against k256 on the vectors and on random keys.

use k256::elliptic_curve::ops::Reduce;
use k256::elliptic_curve::point::DecompressPoint;
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::elliptic_curve::subtle::Choice;
use k256::{AffinePoint, FieldBytes, ProjectivePoint, Scalar, U256};

use super::{Address, RecoverableSignature, SignatureError};

/// Recovers the address that signed a 32-byte digest (EIP-712's signing hash).
///
/// `Q = r⁻¹ · (s·R − z·G)`, where `R` is the curve point with x = r and the y parity of `v`.
pub fn recover_address_from_prehash(
    digest: &[u8; 32],
    signature: &RecoverableSignature,
) -> Result<Address, SignatureError> {
    let (r, s) = signature.signature.split_scalars();
    let r_point = AffinePoint::decompress(&r.to_bytes(), Choice::from(u8::from(signature.y_odd)));
    let r_point = Option::<AffinePoint>::from(r_point).ok_or(SignatureError::Unrecoverable)?;
    let z = <Scalar as Reduce<U256>>::reduce_bytes(&FieldBytes::from(*digest));
    // `r` is non-zero (checked when the signature was parsed), so the inverse exists; the
    // variable-time inversion is safe because everything here is public.
    let r_inv = super::modinv::invert(&r).ok_or(SignatureError::Unrecoverable)?;
    let u1 = -(z * r_inv);
    let u2 = *s * r_inv;
    let q = super::glv::mul_g_plus(&u1, &u2, &r_point).ok_or(SignatureError::Unrecoverable)?;
    address_of_point(&q)
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
    address_of_point(&ProjectivePoint::from(*key.as_affine()))
}

fn address_of_point(point: &ProjectivePoint) -> Result<Address, SignatureError> {
    let encoded = point.to_affine().to_encoded_point(false);
    // An uncompressed SEC1 point is 0x04 || x || y; the identity has no such encoding.
    let xy: &[u8; 64] = encoded
        .as_bytes()
        .get(1..)
        .and_then(|rest| rest.try_into().ok())
        .ok_or(SignatureError::Unrecoverable)?;
    Ok(Address::from_uncompressed_point(xy))
}
