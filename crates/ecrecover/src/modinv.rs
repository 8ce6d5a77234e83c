//! Variable-time inversion modulo the secp256k1 group order `n`, by Bernstein and Yang's
//! "safegcd" divsteps (<https://eprint.iacr.org/2019/266>), in the 30-bit signed-limb form
//! libsecp256k1 uses on 32-bit targets: products fit `i64`, which wasm32 multiplies natively.
//!
//! Recovery inverts `r`, which is public, so the time may depend on it; k256's binary-GCD
//! `invert_vartime` takes several times as long in WASM. Each round of 30 divsteps works on
//! the low bits of `f` and `g` alone, yielding a 2×2 matrix that is then applied to the full
//! `f, g` (the gcd's state) and `d, e` (the Bézout coefficients, kept modulo `n`). When `g`
//! reaches zero, `f = ±1` and `d = ±r⁻¹`. The answer is checked (`r·r⁻¹ = 1`) before it is
//! returned, so a mistake here could only refuse a signature, never recover a wrong key.

use k256::Scalar;

/// Limbs of 30 bits: nine hold 256 bits (and the sign, in the top one).
const LIMBS: usize = 9;
/// The low 30 bits.
const M30: i32 = (u32::MAX >> 2) as i32;

/// A number as `Σ limb[i]·2^(30·i)`, each limb signed.
type Signed30 = [i32; LIMBS];

/// The group order `n`, big-endian.
const ORDER: [u8; 32] =
    hex_literal::hex!("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
/// `n` in 30-bit limbs.
const MODULUS: Signed30 = signed30(&ORDER);
/// `n⁻¹ mod 2^30`.
const MODULUS_INV30: u32 = inverse_mod_2_30(MODULUS[0] as u32);
/// `-(2i+1)⁻¹ mod 256`: what multiple of an odd `f` cancels the low bits of `g`.
const NEG_INV256: [u8; 128] = neg_inverses_mod_256();

/// `r⁻¹ mod n`; `None` for zero.
pub(crate) fn invert(r: &Scalar) -> Option<Scalar> {
    let bytes: [u8; 32] = r.to_bytes().into();
    let (d, f_negative) = divsteps(&signed30(&bytes));
    let magnitude = value_of(&d);
    let inverse = if f_negative { -magnitude } else { magnitude };
    (inverse * r == Scalar::ONE).then_some(inverse)
}

/// Runs safegcd on `x` against the modulus: the final `d` and whether `f` ended at -1.
fn divsteps(x: &Signed30) -> (Signed30, bool) {
    let mut d: Signed30 = [0; LIMBS];
    let mut e: Signed30 = [0; LIMBS];
    e[0] = 1;
    let (mut f, mut g) = (MODULUS, *x);
    let mut eta = -1;
    let mut len = LIMBS;
    // At most 741 divsteps for 256-bit inputs (the paper's bound), so 25 rounds of 30.
    for _ in 0..25 {
        let (next_eta, t) = divsteps_30(eta, f[0] as u32, g[0] as u32);
        eta = next_eta;
        update_de(&mut d, &mut e, &t);
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

/// `(d, e) ← t·(d, e) / 2^30 (mod n)`: a multiple of `n` is added to each first so that the
/// division is exact, keeping both within `(-2n, n)`.
fn update_de(d: &mut Signed30, e: &mut Signed30, t: &Transition) {
    let [u, v, q, r] = *t;
    let (sd, se) = (d[LIMBS - 1] >> 31, e[LIMBS - 1] >> 31);
    let (di, ei) = (i64::from(d[0]), i64::from(e[0]));
    let cd = i64::from(u) * di + i64::from(v) * ei;
    let ce = i64::from(q) * di + i64::from(r) * ei;
    // Multiples of n that make the low 30 bits of cd + n·md and ce + n·me zero.
    let cancel = |c: i64, m: i32| {
        let low = MODULUS_INV30.wrapping_mul(c as u32).wrapping_add(m as u32) & M30 as u32;
        m.wrapping_sub(low as i32)
    };
    let md = cancel(cd, (u & sd).wrapping_add(v & se));
    let me = cancel(ce, (q & sd).wrapping_add(r & se));
    transform(t, (d, e), LIMBS, (md, me));
}

/// `(f, g) ← t·(f, g) / 2^30` over their first `len` limbs (exact by construction).
fn update_fg(len: usize, f: &mut Signed30, g: &mut Signed30, t: &Transition) {
    transform(t, (f, g), len, (0, 0));
}

/// `(a, b) ← (t·(a, b) + n·(ma, mb)) / 2^30` over the first `len` limbs, where the sum's low
/// 30 bits are zero: lower limbs come out in `0..2^30`, the top one signed.
fn transform(
    t: &Transition,
    (a, b): (&mut Signed30, &mut Signed30),
    len: usize,
    (ma, mb): (i32, i32),
) {
    let [u, v, q, r] = t.map(i64::from);
    let (ma, mb) = (i64::from(ma), i64::from(mb));
    let (mut ca, mut cb) = (0i64, 0i64);
    for i in 0..len {
        let (ai, bi, n) = (i64::from(a[i]), i64::from(b[i]), i64::from(MODULUS[i]));
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

/// `Σ limb[i]·2^(30·i) mod n` (limbs of either sign).
fn value_of(limbs: &Signed30) -> Scalar {
    let base = Scalar::from(1u64 << 30);
    limbs.iter().rev().fold(Scalar::ZERO, |acc, &limb| {
        let magnitude = Scalar::from(u64::from(limb.unsigned_abs()));
        acc * base + if limb < 0 { -magnitude } else { magnitude }
    })
}

/// A 256-bit big-endian number in 30-bit limbs (all non-negative).
const fn signed30(bytes: &[u8; 32]) -> Signed30 {
    let mut limbs = [0i32; LIMBS];
    let mut bit = 0;
    while bit < 256 {
        let byte = bytes[31 - bit / 8];
        if (byte >> (bit % 8)) & 1 == 1 {
            limbs[bit / 30] |= 1 << (bit % 30);
        }
        bit += 1;
    }
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

    #[test]
    fn the_constants_are_the_modulus_and_its_inverses() {
        assert_eq!(
            MODULUS_INV30.wrapping_mul(MODULUS[0] as u32) & M30 as u32,
            1
        );
        for (i, &neg_inverse) in NEG_INV256.iter().enumerate() {
            let odd = 2 * i as u32 + 1;
            assert_eq!(odd.wrapping_mul(u32::from(neg_inverse)) & 255, 255, "{odd}");
        }
        assert_eq!(value_of(&MODULUS), Scalar::ZERO);
        assert_eq!(value_of(&signed30(&[0xff; 32])), scalar([0xff; 32]));
    }

    #[test]
    fn inverts_edge_values_as_k256_does() {
        let mut cases = vec![
            Scalar::ONE,
            -Scalar::ONE,
            Scalar::from(2u64),
            -Scalar::from(2u64),
        ];
        for shift in [29u32, 30, 31, 60, 127, 128, 255] {
            let mut bytes = [0u8; 32];
            bytes[31 - (shift / 8) as usize] = 1 << (shift % 8);
            cases.push(scalar(bytes));
        }
        let mut half = ORDER;
        half[31] -= 1;
        cases.push(scalar(half) * Scalar::from(2u64).invert().unwrap());
        for case in cases {
            assert_eq!(invert(&case), Option::from(case.invert()), "{case:?}");
        }
        assert_eq!(invert(&Scalar::ZERO), None);
    }

    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        #[test]
        fn inverts_random_scalars_as_k256_does(bytes in proptest::array::uniform32(proptest::num::u8::ANY)) {
            let x = scalar(bytes);
            proptest::prop_assume!(x != Scalar::ZERO);
            let expected = k256::elliptic_curve::ops::Invert::invert_vartime(&x);
            proptest::prop_assert_eq!(invert(&x), Option::from(expected));
        }
    }

    #[test]
    fn random_scalars_round_trip() {
        let mut x = Scalar::from(0x5eed_u64);
        for _ in 0..200 {
            x = x.square() + Scalar::from(7u64);
            let inverse = invert(&x).expect("non-zero");
            assert_eq!(inverse * x, Scalar::ONE);
        }
    }
}
