//! `u1·G + u2·R`, the costly step of signature recovery, in variable time.
//!
//! Everything recovery touches is public (the signature, the digest, the recovered key), so
//! the constant-time table lookups of k256's `lincomb` buy nothing here and cost about a
//! sixth of its time. This version:
//! - splits each scalar with secp256k1's endomorphism (GLV): `k = k1 + k2·λ (mod n)` with
//!   `|k1|, |k2| < 2^128`, where `λ·(x, y) = (β·x, y)`, so four half-length multiplications
//!   share one chain of 128 doublings;
//! - writes each half of `u2` in width-5 non-adjacent form, so about one bit in six needs an
//!   addition (of an odd multiple `R, 3R, …, 15R` taken from a table, negated as the digit
//!   says), and each half of `u1` in width 8: one bit in nine, from tables of `G, 3G, …, 127G`
//!   and of their `λ` multiples, built once per instance and brought to affine coordinates,
//!   so that each of those additions is k256's cheaper mixed one;
//! - gets the tables of `λ·P` from those of `P` (`λ·(kP) = k·(λ·P)`, and `λ` scales x alone).
//!
//! The constants and the rounding split are the published ones (Hankerson–Menezes–Vanstone,
//! "Guide to Elliptic Curve Cryptography" §3.5; libsecp256k1). Tests hold the result to
//! k256's `lincomb` on random and edge-case scalars.

use std::ops::{AddAssign, Neg};
use std::sync::OnceLock;

use hex_literal::hex;
use k256::elliptic_curve::bigint::U256;
use k256::elliptic_curve::ops::Reduce;
use k256::elliptic_curve::point::BatchNormalize;
use k256::elliptic_curve::scalar::IsHigh;
use k256::{AffinePoint, FieldBytes, ProjectivePoint, Scalar};

/// Window width for `R`'s digits: odd and smaller than `2^(WINDOW-1)` in magnitude.
const WINDOW: u32 = 5;
/// Odd multiples kept of `R`: `R, 3R, …, 15R`.
const TABLE_LEN: usize = 1 << (WINDOW - 2);
/// Window width for `G`'s digits: its tables are built once, so they can be wide. 8 is the
/// widest an `i8` digit holds; 7 measured slower in WASM (about 142 against 138 µs).
const G_WINDOW: u32 = 8;
/// Odd multiples kept of `G` and of `λ·G`: `G, 3G, …, 127G`.
const G_TABLE_LEN: usize = 1 << (G_WINDOW - 2);
/// Digits of the form of a value below `2^128`, with room for the final carry.
const DIGITS: usize = 130;

/// `-λ mod n`, for `λ = 5363ad4c…1b23bd72`, the cube root of unity mod n that goes with the
/// `β` of k256's `ProjectivePoint::endomorphism`.
const MINUS_LAMBDA: [u8; 32] =
    hex!("ac9c52b33fa3cf1f5ad9e3fd77ed9ba4a880b9fc8ec739c2e0cfc810b51283cf");
/// `-b1` and `-b2 mod n` of the short lattice basis `(a1, b1), (a2, b2)`.
const MINUS_B1: [u8; 32] = hex!("00000000000000000000000000000000e4437ed6010e88286f547fa90abfe4c3");
const MINUS_B2: [u8; 32] = hex!("fffffffffffffffffffffffffffffffe8a280ac50774346dd765cda83db1562c");
/// `round(2^384·b2/n)` and `round(2^384·(-b1)/n)`: the divisions of the split, as products.
const G1: [u8; 32] = hex!("3086d221a7d46bcde86c90e49284eb153daa8a1471e8ca7fe893209a45dbb031");
const G2: [u8; 32] = hex!("e4437ed6010e88286f547fa90abfe4c4221208ac9df506c61571b4ae8ac47f71");

/// `u1·G + u2·r`; `None` if a scalar would not split into halves below `2^128`, which the
/// split's published bound rules out (a refusal, should that ever be wrong, not a wrong point).
pub(crate) fn mul_g_plus(u1: &Scalar, u2: &Scalar, r: &AffinePoint) -> Option<ProjectivePoint> {
    let [g, g_lambda] = generator_tables();
    let r_table: [ProjectivePoint; TABLE_LEN] = odd_multiples(&ProjectivePoint::from(*r));
    let r_lambda_table = r_table.map(|p| p.endomorphism());
    let [(u1_a, u1_b), (u2_a, u2_b)] = [split(u1, G_WINDOW)?, split(u2, WINDOW)?];

    let mut acc = ProjectivePoint::IDENTITY;
    let mut started = false;
    for i in (0..DIGITS).rev() {
        if started {
            acc = acc.double();
        }
        started |= add_digit(&mut acc, g, &u1_a, i);
        started |= add_digit(&mut acc, g_lambda, &u1_b, i);
        started |= add_digit(&mut acc, &r_table, &u2_a, i);
        started |= add_digit(&mut acc, &r_lambda_table, &u2_b, i);
    }
    Some(acc)
}

/// A half of a split scalar: its non-adjacent-form digits, and whether the half is negative.
struct Half {
    digits: [i8; DIGITS],
    negative: bool,
}

/// Adds `±digit·P` from `P`'s table (projective or affine points) when the half's digit at
/// `i` is not zero; says whether it added.
fn add_digit<T>(acc: &mut ProjectivePoint, table: &[T], half: &Half, i: usize) -> bool
where
    T: Copy + Neg<Output = T>,
    ProjectivePoint: AddAssign<T>,
{
    let digit = half.digits[i];
    if digit == 0 {
        return false;
    }
    let multiple = table[usize::from(digit.unsigned_abs() >> 1)];
    let multiple = if (digit < 0) != half.negative {
        -multiple
    } else {
        multiple
    };
    *acc += multiple;
    true
}

/// `P, 3P, 5P, …, (2N-1)P`.
fn odd_multiples<const N: usize>(p: &ProjectivePoint) -> [ProjectivePoint; N] {
    let twice = p.double();
    let mut table = [*p; N];
    for i in 1..N {
        table[i] = table[i - 1] + twice;
    }
    table
}

/// The odd multiples of `G` and of `λ·G` in affine coordinates (one field inversion for all),
/// computed on first use.
fn generator_tables() -> &'static [[AffinePoint; G_TABLE_LEN]; 2] {
    static TABLES: OnceLock<[[AffinePoint; G_TABLE_LEN]; 2]> = OnceLock::new();
    TABLES.get_or_init(|| {
        let g: [ProjectivePoint; G_TABLE_LEN] = odd_multiples(&ProjectivePoint::GENERATOR);
        let g_lambda = g.map(|p| p.endomorphism());
        [g, g_lambda].map(|table| ProjectivePoint::batch_normalize(&table))
    })
}

/// Splits `k` into `k1 + k2·λ (mod n)` with both halves below `2^128` in magnitude, each in
/// digits of width `window`.
fn split(k: &Scalar, window: u32) -> Option<(Half, Half)> {
    let c1 = mul_shift_384(k, &G1) * scalar(&MINUS_B1);
    let c2 = mul_shift_384(k, &G2) * scalar(&MINUS_B2);
    let k2 = c1 + c2;
    let k1 = *k + k2 * scalar(&MINUS_LAMBDA);
    Some((half(&k1, window)?, half(&k2, window)?))
}

/// `round(k·g / 2^384)`.
fn mul_shift_384(k: &Scalar, g: &[u8; 32]) -> Scalar {
    let (_low, high) = U256::from_be_slice(&k.to_bytes()).mul_wide(&U256::from_be_slice(g));
    // The product is high·2^256 + low: bits 384 and up are high >> 128, bit 383 rounds.
    let round = U256::from_u8(u8::from(high.bit_vartime(127)));
    <Scalar as Reduce<U256>>::reduce(high.shr_vartime(128).wrapping_add(&round))
}

/// A split half as a magnitude below `2^128` and a sign, in digits of width `window`. The
/// split bounds both halves below 2^128 (HMV §3.5; libsecp256k1 proves it for these constants).
fn half(value: &Scalar, window: u32) -> Option<Half> {
    let negative = bool::from(value.is_high());
    let magnitude = if negative { -*value } else { *value };
    let bytes = magnitude.to_bytes();
    let (high, low) = bytes.split_at(16);
    if high.iter().any(|&b| b != 0) {
        return None;
    }
    Some(Half {
        digits: naf(u128::from_be_bytes(low.try_into().ok()?), window),
        negative,
    })
}

/// The width-`window` non-adjacent form of `value`: `Σ digits[i]·2^i = value`, every non-zero
/// digit odd and smaller than `2^(window-1)` in magnitude, and any `window` consecutive digits
/// with at most one non-zero. `window` is at most 8 (a digit is an `i8`).
fn naf(value: u128, window: u32) -> [i8; DIGITS] {
    let bits = |start: usize, count: u32| -> i32 {
        let shifted = if start < 128 { value >> start } else { 0 };
        (shifted as i32) & ((1 << count) - 1)
    };
    let mut digits = [0i8; DIGITS];
    let (mut bit, mut carry) = (0usize, 0i32);
    while bit < DIGITS {
        if bits(bit, 1) == carry {
            bit += 1;
            continue;
        }
        let width = window.min((DIGITS - bit) as u32);
        let mut word = bits(bit, width) + carry;
        carry = (word >> (window - 1)) & 1;
        word -= carry << window;
        // |word| < 2^(window-1) <= 128.
        digits[bit] = word as i8;
        bit += width as usize;
    }
    digits
}

fn scalar(bytes: &[u8; 32]) -> Scalar {
    <Scalar as Reduce<U256>>::reduce_bytes(&FieldBytes::from(*bytes))
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use k256::elliptic_curve::ops::LinearCombination;
    use k256::elliptic_curve::Field;

    use super::*;

    fn from_hex(text: &str) -> Scalar {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).unwrap();
        scalar(&bytes)
    }

    /// `Σ digits[i]·2^i`, negated for a negative half.
    fn value_of(digits: &[i8; DIGITS], negative: bool) -> Scalar {
        let sum = digits.iter().rev().fold(Scalar::ZERO, |sum, &d| {
            let magnitude = Scalar::from(u64::from(d.unsigned_abs()));
            sum.double() + if d < 0 { -magnitude } else { magnitude }
        });
        if negative {
            -sum
        } else {
            sum
        }
    }

    #[test]
    fn lambda_is_the_endomorphism_of_k256() {
        let lambda = -scalar(&MINUS_LAMBDA);
        let p = ProjectivePoint::GENERATOR * from_hex(&"5a".repeat(32));
        assert_eq!(p.endomorphism(), p * lambda);
    }

    #[test]
    fn naf_digits_are_odd_sparse_and_sum_to_the_value() {
        let values = [
            0,
            1,
            15,
            16,
            31,
            127,
            128,
            255,
            0x5555,
            u128::from(u64::MAX),
            u128::MAX,
            u128::MAX - 7,
        ];
        for window in [WINDOW, G_WINDOW] {
            for value in values {
                let digits = naf(value, window);
                let mut bytes = [0u8; 32];
                bytes[16..].copy_from_slice(&value.to_be_bytes());
                assert_eq!(
                    value_of(&digits, false),
                    scalar(&bytes),
                    "width-{window} digits of {value}"
                );
                for &d in &digits {
                    assert!(
                        d == 0 || (d % 2 != 0 && i32::from(d).abs() < 1 << (window - 1)),
                        "digit {d} of {value} in width {window}"
                    );
                }
                for run in digits.windows(window as usize) {
                    let nonzero = run.iter().filter(|&&d| d != 0).count();
                    assert!(nonzero <= 1, "{value} in width {window}");
                }
            }
        }
    }

    #[test]
    fn split_halves_are_short_and_recombine() {
        let lambda = -scalar(&MINUS_LAMBDA);
        let cases = [
            "0000000000000000000000000000000000000000000000000000000000000000",
            "0000000000000000000000000000000000000000000000000000000000000001",
            "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140",
            "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0",
            "5363ad4cc05c30e0a5261c028812645a122e22ea20816678df02967c1b23bd72",
            "e4437ed6010e88286f547fa90abfe4c4221208ac9df506c61571b4ae8ac47f71",
        ];
        for case in cases {
            let k = from_hex(case);
            let (k1, k2) = split(&k, G_WINDOW).unwrap();
            assert_eq!(
                value_of(&k1.digits, k1.negative) + value_of(&k2.digits, k2.negative) * lambda,
                k,
                "{case}"
            );
        }
    }

    #[test]
    fn agrees_with_k256_lincomb() {
        let r = (ProjectivePoint::GENERATOR * from_hex(&"17".repeat(32))).to_affine();
        let scalars = [
            "0000000000000000000000000000000000000000000000000000000000000000",
            "0000000000000000000000000000000000000000000000000000000000000001",
            "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140",
            "c0ffee00000000000000000000000000000000000000000000000000deadbeef",
            "8000000000000000000000000000000000000000000000000000000000000000",
        ];
        for a in scalars {
            for b in scalars {
                let (u1, u2) = (from_hex(a), from_hex(b));
                let expected = ProjectivePoint::lincomb(
                    &ProjectivePoint::GENERATOR,
                    &u1,
                    &ProjectivePoint::from(r),
                    &u2,
                );
                assert_eq!(mul_g_plus(&u1, &u2, &r), Some(expected), "{a} {b}");
            }
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        #[test]
        fn agrees_with_k256_lincomb_on_random_scalars(
            a in proptest::array::uniform32(proptest::num::u8::ANY),
            b in proptest::array::uniform32(proptest::num::u8::ANY),
            key in proptest::array::uniform32(proptest::num::u8::ANY),
        ) {
            let (u1, u2) = (scalar(&a), scalar(&b));
            let r = ProjectivePoint::GENERATOR * scalar(&key);
            proptest::prop_assume!(r != ProjectivePoint::IDENTITY);
            let expected = ProjectivePoint::lincomb(&ProjectivePoint::GENERATOR, &u1, &r, &u2);
            proptest::prop_assert_eq!(mul_g_plus(&u1, &u2, &r.to_affine()), Some(expected));
            let lambda = -scalar(&MINUS_LAMBDA);
            let (k1, k2) = split(&u1, G_WINDOW).unwrap();
            proptest::prop_assert_eq!(
                value_of(&k1.digits, k1.negative) + value_of(&k2.digits, k2.negative) * lambda,
                u1
            );
        }
    }
}
