//! Variable-time inversion modulo the secp256k1 group order `n` and the field prime `p`, by
//! Bernstein and Yang's "safegcd" divsteps (<https://eprint.iacr.org/2019/266>), in the
//! 30-bit signed-limb form libsecp256k1 uses on 32-bit targets: products fit `i64`, which
//! wasm32 multiplies natively.
//!
//! Recovery inverts `r` and, to bring points to affine coordinates, the product of the `Z`s
//! of `R`'s table and then its result's `Z`; all are public, so the time may depend on them.
//! k256's binary-GCD `invert_vartime` takes several times as long in WASM, and its field
//! inversion (an exponentiation, 255 squarings) about twice. Each round of 30 divsteps works on the low bits of `f` and `g` alone, yielding
//! a 2×2 matrix that is then applied to the full `f, g` (the gcd's state) and `d, e` (the
//! Bézout coefficients, kept modulo the modulus). When `g` reaches zero, `f = ±1` and
//! `d = ±x⁻¹`. Each answer is checked (`x·x⁻¹ = 1`) before it is returned, so a mistake here
//! could only refuse a signature, never recover a wrong key.

use std::ops::{Add, Mul, Neg};

use k256::Scalar;

use crate::field::FieldElement;

/// Limbs of 30 bits: nine hold 256 bits (and the sign, in the top one).
const LIMBS: usize = 9;
/// The low 30 bits.
const M30: i32 = (u32::MAX >> 2) as i32;

/// A number as `Σ limb[i]·2^(30·i)`, each limb signed.
type Signed30 = [i32; LIMBS];

/// An odd modulus in limbs, and its inverse modulo `2^30`.
struct Modulus {
    limbs: Signed30,
    inv30: u32,
}

impl Modulus {
    const fn new(big_endian: &[u8; 32]) -> Self {
        let limbs = signed30(big_endian);
        Self {
            limbs,
            inv30: inverse_mod_2_30(limbs[0] as u32),
        }
    }
}

/// The group order `n`, big-endian.
const ORDER: [u8; 32] =
    hex_literal::hex!("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
/// The field prime `p = 2^256 - 2^32 - 977`, big-endian.
const PRIME: [u8; 32] =
    hex_literal::hex!("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f");
const MOD_ORDER: Modulus = Modulus::new(&ORDER);
const MOD_PRIME: Modulus = Modulus::new(&PRIME);
/// `-(2i+1)⁻¹ mod 256`: what multiple of an odd `f` cancels the low bits of `g`.
const NEG_INV256: [u8; 128] = neg_inverses_mod_256();

/// `r⁻¹ mod n`; `None` for zero.
pub(crate) fn invert_scalar(r: &Scalar) -> Option<Scalar> {
    let inverse = inverse_of(&r.to_bytes().into(), &MOD_ORDER, Scalar::from);
    (inverse * r == Scalar::ONE).then_some(inverse)
}

/// `x⁻¹ mod p`, normalized; `None` for zero.
pub(crate) fn invert_field(x: &FieldElement) -> Option<FieldElement> {
    let inverse = inverse_of(&x.to_bytes().into(), &MOD_PRIME, FieldElement::from_u64).normalize();
    ((inverse * x).normalize() == FieldElement::ONE).then_some(inverse)
}

/// `x⁻¹` modulo `m` as a `T` (built from `u64`s with `from_u64`), or a wrong value when there
/// is none (the callers check).
fn inverse_of<T>(x: &[u8; 32], m: &Modulus, from_u64: fn(u64) -> T) -> T
where
    T: Copy + Add<Output = T> + Mul<Output = T> + Neg<Output = T>,
{
    let (d, f_negative) = divsteps(&signed30(x), m);
    // f ended at -1: the inverse is -d.
    let d = if f_negative { d.map(|limb| -limb) } else { d };
    value_of(&d, from_u64)
}

/// Runs safegcd on `x` against `m`: the final `d` and whether `f` ended at -1.
fn divsteps(x: &Signed30, m: &Modulus) -> (Signed30, bool) {
    let mut d: Signed30 = [0; LIMBS];
    let mut e: Signed30 = [0; LIMBS];
    e[0] = 1;
    let (mut f, mut g) = (m.limbs, *x);
    let mut eta = -1;
    let mut len = LIMBS;
    // At most 741 divsteps for 256-bit inputs (the paper's bound), so 25 rounds of 30.
    for _ in 0..25 {
        let (next_eta, t) = divsteps_30(eta, f[0] as u32, g[0] as u32);
        eta = next_eta;
        update_de(m, &mut d, &mut e, &t);
        update_fg(len, &mut f, &mut g, &t);
        if g[..len].iter().all(|&limb| limb == 0) {
            break;
        }
        // Drop the top limb of both when neither needs it (0 or -1 there, all sign).
        let (f_top, g_top) = (f[len - 1], g[len - 1]);
        if len >= 2 && (f_top ^ (f_top >> 31)) == 0 && (g_top ^ (g_top >> 31)) == 0 {
            f[len - 2] |= ((f_top as u32) << 30) as i32;
            g[len - 2] |= ((g_top as u32) << 30) as i32;
            len -= 1;
        }
    }
    (d, f[len - 1] < 0)
}

/// The transition matrix of 30 divsteps, scaled by 2^30: `(u, v, q, r)`.
type Transition = [i32; 4];

/// 30 divsteps on the low 30 bits of `f0` (odd) and `g0`, up to 8 at a time where `g` can be
/// cleared with one multiple of `f`; returns the new `eta` and the matrix.
fn divsteps_30(mut eta: i32, f0: u32, g0: u32) -> (i32, Transition) {
    let (mut u, mut v, mut q, mut r) = (1u32, 0u32, 0u32, 1u32);
    let (mut f, mut g) = (f0, g0);
    let mut i = 30;
    loop {
        // g's trailing zeros, at most the divsteps left (a sentinel bit at i).
        let zeros = (g | (u32::MAX << i)).trailing_zeros();
        g >>= zeros;
        u <<= zeros;
        v <<= zeros;
        eta -= zeros as i32;
        i -= zeros;
        if i == 0 {
            break;
        }
        if eta < 0 {
            eta = -eta;
            (f, g) = (g, f.wrapping_neg());
            (u, q) = (q, u.wrapping_neg());
            (v, r) = (r, v.wrapping_neg());
        }
        // Clear as many low bits of g as eta allows (its sign flips after eta + 1), at most
        // the divsteps left and the table's 8.
        let limit = (eta + 1).min(i as i32) as u32;
        let mask = (u32::MAX >> (32 - limit)) & 255;
        let w = g.wrapping_mul(u32::from(NEG_INV256[((f >> 1) & 127) as usize])) & mask;
        g = g.wrapping_add(f.wrapping_mul(w));
        q = q.wrapping_add(u.wrapping_mul(w));
        r = r.wrapping_add(v.wrapping_mul(w));
    }
    (eta, [u as i32, v as i32, q as i32, r as i32])
}

/// `(d, e) ← t·(d, e) / 2^30 (mod m)`: a multiple of `m` is added to each first so that the
/// division is exact, keeping both within `(-2m, m)`.
fn update_de(m: &Modulus, d: &mut Signed30, e: &mut Signed30, t: &Transition) {
    let [u, v, q, r] = *t;
    let (sd, se) = (d[LIMBS - 1] >> 31, e[LIMBS - 1] >> 31);
    let (di, ei) = (i64::from(d[0]), i64::from(e[0]));
    let cd = i64::from(u) * di + i64::from(v) * ei;
    let ce = i64::from(q) * di + i64::from(r) * ei;
    // Multiples of m that make the low 30 bits of cd + m·md and ce + m·me zero.
    let cancel = |c: i64, start: i32| {
        let low = m.inv30.wrapping_mul(c as u32).wrapping_add(start as u32) & M30 as u32;
        start.wrapping_sub(low as i32)
    };
    let md = cancel(cd, (u & sd).wrapping_add(v & se));
    let me = cancel(ce, (q & sd).wrapping_add(r & se));
    transform(t, (d, e), LIMBS, (&m.limbs, md, me));
}

/// `(f, g) ← t·(f, g) / 2^30` over their first `len` limbs (exact by construction).
fn update_fg(len: usize, f: &mut Signed30, g: &mut Signed30, t: &Transition) {
    transform(t, (f, g), len, (&[0; LIMBS], 0, 0));
}

/// `(a, b) ← (t·(a, b) + m·(ma, mb)) / 2^30` over the first `len` limbs, where the sum's low
/// 30 bits are zero: lower limbs come out in `0..2^30`, the top one signed.
fn transform(
    t: &Transition,
    (a, b): (&mut Signed30, &mut Signed30),
    len: usize,
    (m, ma, mb): (&Signed30, i32, i32),
) {
    let [u, v, q, r] = t.map(i64::from);
    let (ma, mb) = (i64::from(ma), i64::from(mb));
    let (mut ca, mut cb) = (0i64, 0i64);
    for i in 0..len {
        let (ai, bi, n) = (i64::from(a[i]), i64::from(b[i]), i64::from(m[i]));
        ca += u * ai + v * bi + n * ma;
        cb += q * ai + r * bi + n * mb;
        if i > 0 {
            a[i - 1] = (ca as i32) & M30;
            b[i - 1] = (cb as i32) & M30;
        }
        ca >>= 30;
        cb >>= 30;
    }
    a[len - 1] = ca as i32;
    b[len - 1] = cb as i32;
}

/// `Σ limb[i]·2^(30·i)` as a `T` (limbs of either sign). A field element stays within the
/// magnitude its multiplication takes: at most 3 before each product.
fn value_of<T>(limbs: &Signed30, from_u64: fn(u64) -> T) -> T
where
    T: Copy + Add<Output = T> + Mul<Output = T> + Neg<Output = T>,
{
    let base = from_u64(1 << 30);
    limbs.iter().rev().fold(from_u64(0), |acc, &limb| {
        let magnitude = from_u64(u64::from(limb.unsigned_abs()));
        acc * base + if limb < 0 { -magnitude } else { magnitude }
    })
}

/// A 256-bit big-endian number in 30-bit limbs (all non-negative), a byte at a time from
/// the least significant.
const fn signed30(bytes: &[u8; 32]) -> Signed30 {
    let mut limbs = [0i32; LIMBS];
    let (mut pending, mut pending_bits, mut limb) = (0u64, 0, 0);
    let mut i = bytes.len();
    while i > 0 {
        i -= 1;
        pending |= (bytes[i] as u64) << pending_bits;
        pending_bits += 8;
        if pending_bits >= 30 {
            limbs[limb] = (pending as i32) & M30;
            pending >>= 30;
            pending_bits -= 30;
            limb += 1;
        }
    }
    // The top 16 bits.
    limbs[limb] = pending as i32;
    limbs
}

/// `m⁻¹ mod 2^30` for odd `m`, by Newton's iteration (each step doubles the bits right).
const fn inverse_mod_2_30(m: u32) -> u32 {
    let mut x = m; // right to 3 bits: m·m ≡ 1 (mod 8)
    let mut step = 0;
    while step < 4 {
        x = x.wrapping_mul(2u32.wrapping_sub(m.wrapping_mul(x)));
        step += 1;
    }
    x & (u32::MAX >> 2)
}

const fn neg_inverses_mod_256() -> [u8; 128] {
    let mut table = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        let inverse = inverse_mod_2_30(2 * i as u32 + 1) & 255;
        table[i] = (256 - inverse) as u8;
        i += 1;
    }
    table
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use k256::elliptic_curve::ops::Reduce;
    use k256::{FieldBytes, U256};

    use super::*;

    fn scalar(bytes: [u8; 32]) -> Scalar {
        <Scalar as Reduce<U256>>::reduce_bytes(&FieldBytes::from(bytes))
    }

    fn field(bytes: [u8; 32]) -> FieldElement {
        FieldElement::from_bytes(&FieldBytes::from(bytes)).unwrap()
    }

    #[test]
    fn limbs_hold_the_number() {
        for bytes in [
            [0u8; 32],
            [0xff; 32],
            ORDER,
            PRIME,
            hex_literal::hex!("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"),
        ] {
            let limbs = signed30(&bytes);
            for (bit, byte_bit) in (0..256).map(|bit| (bit, bytes[31 - bit / 8] >> (bit % 8) & 1)) {
                assert_eq!(
                    (limbs[bit / 30] >> (bit % 30)) & 1,
                    i32::from(byte_bit),
                    "bit {bit}"
                );
            }
            assert_eq!(limbs[LIMBS - 1] >> 16, 0);
            assert!(limbs.iter().all(|&limb| (0..=M30).contains(&limb)));
        }
    }

    #[test]
    fn the_constants_are_the_moduli_and_their_inverses() {
        for m in [&MOD_ORDER, &MOD_PRIME] {
            assert_eq!(m.inv30.wrapping_mul(m.limbs[0] as u32) & M30 as u32, 1);
        }
        for (i, &neg_inverse) in NEG_INV256.iter().enumerate() {
            let odd = 2 * i as u32 + 1;
            assert_eq!(odd.wrapping_mul(u32::from(neg_inverse)) & 255, 255, "{odd}");
        }
        assert_eq!(value_of(&MOD_ORDER.limbs, Scalar::from), Scalar::ZERO);
        assert_eq!(
            value_of(&signed30(&[0xff; 32]), Scalar::from),
            scalar([0xff; 32])
        );
        let p = value_of(&MOD_PRIME.limbs, FieldElement::from_u64);
        assert!(bool::from(p.normalizes_to_zero()));
        let mut below_p = PRIME;
        below_p[31] -= 1;
        assert_eq!(
            value_of(&signed30(&below_p), FieldElement::from_u64).normalize(),
            (-FieldElement::ONE).normalize()
        );
    }

    /// Values whose limbs sit at the edges: ±1, ±2, single bits around the limb boundaries,
    /// and (m - 1) / 2, each as 32 big-endian bytes below the modulus `m`.
    fn edge_values(modulus: &[u8; 32]) -> Vec<[u8; 32]> {
        let mut cases = vec![];
        for shift in [0u32, 1, 29, 30, 31, 60, 127, 128, 255] {
            let mut bytes = [0u8; 32];
            bytes[31 - (shift / 8) as usize] = 1 << (shift % 8);
            cases.push(bytes);
        }
        let (mut minus_one, mut minus_two) = (*modulus, *modulus);
        minus_one[31] -= 1;
        minus_two[31] -= 2;
        let mut half = [0u8; 32];
        let mut carry = 0;
        for (out, byte) in half.iter_mut().zip(minus_one) {
            *out = (carry << 7) | (byte >> 1);
            carry = byte & 1;
        }
        cases.extend([minus_one, minus_two, half]);
        cases
    }

    #[test]
    fn inverts_edge_values_as_k256_does() {
        for bytes in edge_values(&ORDER) {
            let case = scalar(bytes);
            assert_eq!(
                invert_scalar(&case),
                Option::from(case.invert()),
                "{case:?}"
            );
        }
        assert_eq!(invert_scalar(&Scalar::ZERO), None);
        for bytes in edge_values(&PRIME) {
            // k256's own inversion, whichever element recovery runs on.
            let expected = k256::FieldElement::from_bytes(&bytes.into())
                .unwrap()
                .invert();
            let expected = Option::<k256::FieldElement>::from(expected).map(|e| e.to_bytes());
            let ours = invert_field(&field(bytes)).map(|e| e.to_bytes());
            assert_eq!(ours, expected, "{bytes:02x?}");
        }
        assert_eq!(invert_field(&FieldElement::ZERO), None);
    }

    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        #[test]
        fn inverts_random_values_as_k256_does(bytes in proptest::array::uniform32(proptest::num::u8::ANY)) {
            let x = scalar(bytes);
            proptest::prop_assume!(x != Scalar::ZERO);
            let expected = k256::elliptic_curve::ops::Invert::invert_vartime(&x);
            proptest::prop_assert_eq!(invert_scalar(&x), Option::from(expected));
            if let Some(x) = Option::<k256::FieldElement>::from(k256::FieldElement::from_bytes(&bytes.into())) {
                proptest::prop_assume!(!bool::from(x.normalizes_to_zero()));
                let expected = x.invert().unwrap().to_bytes();
                let ours = invert_field(&field(bytes)).map(|e| e.to_bytes());
                proptest::prop_assert_eq!(ours, Some(expected));
            }
        }
    }

    #[test]
    fn random_values_round_trip() {
        let mut x = Scalar::from(0x5eed_u64);
        let mut y = FieldElement::from_u64(0x5eed);
        for _ in 0..200 {
            x = x.square() + Scalar::from(7u64);
            let inverse = invert_scalar(&x).expect("non-zero");
            assert_eq!(inverse * x, Scalar::ONE);
            y = (y.square() + FieldElement::from_u64(7)).normalize();
            let inverse = invert_field(&y).expect("non-zero");
            assert_eq!((inverse * y).normalize(), FieldElement::ONE);
        }
    }
}
