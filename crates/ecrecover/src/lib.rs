//! secp256k1 ECDSA public-key recovery in one variable-time pass: what edge402's payment
//! verification spends its time on, kept in a crate of its own so that a build can compile
//! it for speed while the rest of the gateway is compiled for size (the Worker's build does:
//! `build_worker` in edge402's `scripts/tools.sh`).
//!
//! k256's `VerifyingKey::recover_from_prehash` recovers the key and then verifies the
//! signature against it, which doubles the cost. Recovery alone already proves the signature:
//! for `Q = r⁻¹(s·R − z·G)` the verification equation holds by construction, so the
//! second pass can only fail for inputs that recovery itself rejects (R not on the curve,
//! Q at infinity). edge402 tests the equivalence against k256 on its vectors and on random
//! keys.
//!
//! Everything recovery touches is public (the signature, the digest, the recovered key), so
//! it runs in variable time: `glv` computes `u1·G + u2·R` with the point formulas of
//! `jacobian`, on the field arithmetic of `field` (k256's natively, its own in wasm32);
//! `modinv` inverts `r`, and the `Z`s of `R`'s table and of the result.

#![forbid(unsafe_code)]

mod field;
mod glv;
mod jacobian;
mod modinv;

use k256::ecdsa::Signature;
use k256::elliptic_curve::ops::Reduce;
use k256::{AffinePoint, FieldBytes, Scalar, U256};

/// The public key that signed the 32-byte `digest`: `Q = r⁻¹ · (s·R − z·G)`, where `R` is
/// the curve point with x = r and the y parity `y_odd`. `None` when no key did (no such
/// `R`, or `Q` at infinity).
pub fn recover_prehash(
    digest: &[u8; 32],
    signature: &Signature,
    y_odd: bool,
) -> Option<AffinePoint> {
    let (r, s) = signature.split_scalars();
    let r_point = jacobian::Affine::decompress(&r.to_bytes(), y_odd)?;
    let z = <Scalar as Reduce<U256>>::reduce_bytes(&FieldBytes::from(*digest));
    // `r` is non-zero (a `Signature` holds no zero scalar), so the inverse exists.
    let r_inv = modinv::invert_scalar(&r)?;
    let u1 = -(z * r_inv);
    let u2 = *s * r_inv;
    glv::mul_g_plus(&u1, &u2, &r_point)?.to_k256()
}
