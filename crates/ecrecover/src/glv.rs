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
//!   says), and each half of `u1` in width 11: one bit in twelve, from tables of
//!   `G, 3G, …, 1023G` and of their `λ` multiples, built once per instance;
//! - brings every table to affine coordinates (one field inversion per table: `G`'s once,
//!   `R`'s at each recovery), so that each addition of the loop is the cheaper mixed one of
//!   `jacobian` (8 multiplications and 3 squarings, against 12 and 4 for two Jacobian points);
//! - gets the tables of `λ·P` from those of `P` (`λ·(kP) = k·(λ·P)`, and `λ` scales x alone).
//!
//! The constants and the rounding split are the published ones (Hankerson–Menezes–Vanstone,
//! "Guide to Elliptic Curve Cryptography" §3.5; libsecp256k1). Tests hold the result to
//! k256's `lincomb` on random and edge-case scalars.

use std::sync::OnceLock;

use hex_literal::hex;
use k256::elliptic_curve::bigint::U256;
use k256::elliptic_curve::ops::Reduce;
use k256::elliptic_curve::scalar::IsHigh;
use k256::{FieldBytes, Scalar};

use crate::field::FieldElement;
use crate::jacobian::{batch_to_affine, Affine, Jacobian};

/// Window width for `R`'s digits: odd and smaller than `2^(WINDOW-1)` in magnitude.
const WINDOW: u32 = 5;
/// Odd multiples kept of `R`: `R, 3R, …, 15R`.
const TABLE_LEN: usize = 1 << (WINDOW - 2);
/// Window width for `G`'s digits: its tables are built once per instance, on first use, so
/// they can be wide: 512 points each, 80 KB together in wasm32. In WASM under Node, against
/// width 8: 9 took 1.5 % less time per recovery, 10 2.2 %, 11 2.5-2.9 %, 12 no less than
/// 11; the first recovery of an instance took 0.6-0.8 ms longer at 11 than at 8 (2.3-2.8
/// against 1.7-2.0 ms), paid back after some 250 recoveries.
const G_WINDOW: u32 = 11;
/// Odd multiples kept of `G` and of `λ·G`: `G, 3G, …, 1023G`.
const G_TABLE_LEN: usize = 1 << (G_WINDOW - 2);
/// Digits of the form of a value below `2^128`, with room for the final carry.
const DIGITS: usize = 130;

/// `-λ mod n`, for `λ = 5363ad4c…1b23bd72`, the cube root of unity mod n that goes with
/// [`BETA`].
const MINUS_LAMBDA: [u8; 32] =
    hex!("ac9c52b33fa3cf1f5ad9e3fd77ed9ba4a880b9fc8ec739c2e0cfc810b51283cf");
/// `β`, the cube root of unity mod p with `λ·(x, y) = (β·x, y)` (the one k256's
/// `ProjectivePoint::endomorphism` uses).
const BETA: [u8; 32] = hex!("7ae96a2b657c07106e64479eac3434e99cf0497512f58995c1396c28719501ee");
/// `-b1` and `-b2 mod n` of the short lattice basis `(a1, b1), (a2, b2)`.
const MINUS_B1: [u8; 32] = hex!("00000000000000000000000000000000e4437ed6010e88286f547fa90abfe4c3");
const MINUS_B2: [u8; 32] = hex!("fffffffffffffffffffffffffffffffe8a280ac50774346dd765cda83db1562c");
/// `round(2^384·b2/n)` and `round(2^384·(-b1)/n)`: the divisions of the split, as products.
const G1: [u8; 32] = hex!("3086d221a7d46bcde86c90e49284eb153daa8a1471e8ca7fe893209a45dbb031");
const G2: [u8; 32] = hex!("e4437ed6010e88286f547fa90abfe4c4221208ac9df506c61571b4ae8ac47f71");

/// `u1·G + u2·r`; `None` if a scalar would not split into halves below `2^128`, which the
/// split's published bound rules out, or if `r`'s table had a point at infinity, which no
/// point of the curve's prime order has (a refusal, should either ever be wrong, not a
/// wrong point).
pub(crate) fn mul_g_plus(u1: &Scalar, u2: &Scalar, r: &Affine) -> Option<Jacobian> {
    let [g_table, g_lambda_table] = generator_tables();
    let [mut r_table, mut r_lambda_table] = [[Affine::UNSET; TABLE_LEN]; 2];
    let mut room = [Jacobian::INFINITY; TABLE_LEN];
    odd_multiples(r, &mut room, &mut r_table, &mut r_lambda_table)?;
    let [(u1_a, u1_b), (u2_a, u2_b)] = [split(u1, G_WINDOW)?, split(u2, WINDOW)?];
    let terms: [(&[Affine], &Half); 4] = [
        (g_table, &u1_a),
        (g_lambda_table, &u1_b),
        (&r_table, &u2_a),
        (&r_lambda_table, &u2_b),
    ];

    let mut acc = Jacobian::INFINITY;
    for i in (0..DIGITS).rev() {
        acc = acc.double();
        for (table, half) in terms {
            if let Some(multiple) = digit_of(table, half, i) {
                acc = acc.add_affine(&multiple);
            }
        }
    }
    Some(acc)
}

/// A half of a split scalar: its non-adjacent-form digits, and whether the half is negative.
struct Half {
    digits: [i16; DIGITS],
    negative: bool,
}

/// `±digit·P` from `P`'s table of odd multiples when the half's digit at `i` is not zero.
fn digit_of(table: &[Affine], half: &Half, i: usize) -> Option<Affine> {
    let digit = half.digits[i];
    if digit == 0 {
        return None;
    }
    let multiple = &table[usize::from(digit.unsigned_abs() >> 1)];
    Some(if (digit < 0) != half.negative {
        multiple.neg()
    } else {
        *multiple
    })
}

/// Writes the odd multiples `P, 3P, 5P, …` of `p` to `table` and those of `λ·P` to
/// `lambda_table`, in affine coordinates (one field inversion for all: the `λ` multiples
/// scale only `x`, by `β`), with `room` (as long) for them in Jacobian coordinates first;
/// `None` if one is at infinity, which no point of the curve's prime order has below its
/// order.
fn odd_multiples(
    p: &Affine,
    room: &mut [Jacobian],
    table: &mut [Affine],
    lambda_table: &mut [Affine],
) -> Option<()> {
    assert_eq!(
        table.len(),
        lambda_table.len(),
        "a λ multiple for each multiple"
    );
    let p = Jacobian::from_affine(p);
    let twice = p.double();
    room[0] = p;
    for i in 1..room.len() {
        room[i] = room[i - 1].add(&twice);
    }
    batch_to_affine(room, table)?;
    let beta = beta();
    for (lambda_multiple, multiple) in lambda_table.iter_mut().zip(table.iter()) {
        *lambda_multiple = multiple.endomorphism(beta);
    }
    Some(())
}

/// [`BETA`] as a field element, read on first use.
fn beta() -> &'static FieldElement {
    static ELEMENT: OnceLock<FieldElement> = OnceLock::new();
    // BETA is below the prime.
    ELEMENT.get_or_init(|| {
        FieldElement::from_bytes(&FieldBytes::from(BETA)).expect("β is a field element")
    })
}

/// The tables of `G` and `λ·G`, computed on first use (on the heap: together they take
/// `2 · G_TABLE_LEN` affine points, too many for the stack).
fn generator_tables() -> &'static [Vec<Affine>; 2] {
    static TABLES: OnceLock<[Vec<Affine>; 2]> = OnceLock::new();
    TABLES.get_or_init(|| {
        // The generator is on the curve and of the curve's order.
        let generator = Affine::from_k256(&k256::AffinePoint::GENERATOR).expect("G is finite");
        let [mut table, mut lambda_table] = [(); 2].map(|()| vec![Affine::UNSET; G_TABLE_LEN]);
        let mut room = vec![Jacobian::INFINITY; G_TABLE_LEN];
        odd_multiples(&generator, &mut room, &mut table, &mut lambda_table)
            .expect("G has no small multiple at infinity");
        [table, lambda_table]
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
/// with at most one non-zero. `window` is at most 16 (a digit is an `i16`).
fn naf(value: u128, window: u32) -> [i16; DIGITS] {
    let bits = |start: usize, count: u32| -> i32 {
        let shifted = if start < 128 { value >> start } else { 0 };
        (shifted as i32) & ((1 << count) - 1)
    };
    let mut digits = [0i16; DIGITS];
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
        // |word| < 2^(window-1) <= 2^15.
        digits[bit] = word as i16;
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
    use k256::{AffinePoint, ProjectivePoint};

    use super::*;

    fn from_hex(text: &str) -> Scalar {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).unwrap();
        scalar(&bytes)
    }

    /// `Σ digits[i]·2^i`, negated for a negative half.
    fn value_of(digits: &[i16; DIGITS], negative: bool) -> Scalar {
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

    /// `u1·G + u2·r` by `mul_g_plus`, in k256's affine form (`None` at infinity).
    fn combined(u1: &Scalar, u2: &Scalar, r: &ProjectivePoint) -> Option<AffinePoint> {
        let r = Affine::from_k256(&r.to_affine()).unwrap();
        mul_g_plus(u1, u2, &r).unwrap().to_k256()
    }

    /// The same by k256's constant-time `lincomb`.
    fn combined_by_k256(u1: &Scalar, u2: &Scalar, r: &ProjectivePoint) -> Option<AffinePoint> {
        let sum = ProjectivePoint::lincomb(&ProjectivePoint::GENERATOR, u1, r, u2);
        (sum != ProjectivePoint::IDENTITY).then(|| sum.to_affine())
    }

    #[test]
    fn lambda_and_beta_are_the_endomorphism_of_k256() {
        let lambda = -scalar(&MINUS_LAMBDA);
        let p = ProjectivePoint::GENERATOR * from_hex(&"5a".repeat(32));
        assert_eq!(p.endomorphism(), p * lambda);
        let [mut multiples, mut lambda_multiples] = [[Affine::UNSET; 2]; 2];
        let p_affine = Affine::from_k256(&p.to_affine()).unwrap();
        odd_multiples(
            &p_affine,
            &mut [Jacobian::INFINITY; 2],
            &mut multiples,
            &mut lambda_multiples,
        )
        .unwrap();
        for (k, (ours, ours_lambda)) in [1u64, 3]
            .into_iter()
            .zip(multiples.iter().zip(&lambda_multiples))
        {
            let expected = p * Scalar::from(k);
            assert_eq!(
                Jacobian::from_affine(ours).to_k256(),
                Some(expected.to_affine())
            );
            assert_eq!(
                Jacobian::from_affine(ours_lambda).to_k256(),
                Some((expected * lambda).to_affine())
            );
        }
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
        let r = ProjectivePoint::GENERATOR * from_hex(&"17".repeat(32));
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
                assert_eq!(
                    combined(&u1, &u2, &r),
                    combined_by_k256(&u1, &u2, &r),
                    "{a} {b}"
                );
            }
        }
    }

    /// With `r` a small multiple of `G` (or of `λ·G`, or their negations), the accumulator
    /// meets the very points it adds: the additions' exceptional cases (a point added to
    /// itself, to its negation, the sum at infinity) all occur, and must agree with k256.
    /// As `r = m·G`, the sum is `(u1 + u2·m)·G`: k256 multiplies `G` once for each of the
    /// 2174 scalars the 6804 cases give. (k256's `lincomb` for every case took 19 s in the
    /// wasm32 debug build, close to the 20 s the browser runner's webdriver waits on a test.)
    #[test]
    fn agrees_with_k256_where_the_sum_meets_its_own_terms() {
        let lambda = -scalar(&MINUS_LAMBDA);
        // 1023: the last entry of G's tables.
        let small = [1u64, 2, 3, 5, 15, 127, 1023];
        let mut multipliers = vec![];
        for k in small {
            multipliers.extend([Scalar::from(k), -Scalar::from(k), Scalar::from(k) * lambda]);
        }
        let mut scalars: Vec<Scalar> = small.iter().map(|&k| Scalar::from(k)).collect();
        scalars.extend(small.iter().map(|&k| -Scalar::from(k)));
        scalars.extend([lambda, -lambda, Scalar::ZERO, from_hex(&"a5".repeat(32))]);
        let mut by_k256 = std::collections::HashMap::new();
        for m in &multipliers {
            let r = ProjectivePoint::GENERATOR * m;
            for u1 in &scalars {
                for u2 in &scalars {
                    let sum = *u1 + *u2 * m;
                    let expected = *by_k256.entry(sum.to_bytes()).or_insert_with(|| {
                        (!bool::from(sum.is_zero()))
                            .then(|| (ProjectivePoint::GENERATOR * sum).to_affine())
                    });
                    assert_eq!(combined(u1, u2, &r), expected, "{u1:?} {u2:?} {m:?}");
                }
            }
        }
        assert_eq!(by_k256.len(), 2174);
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
            proptest::prop_assert_eq!(combined(&u1, &u2, &r), combined_by_k256(&u1, &u2, &r));
            let lambda = -scalar(&MINUS_LAMBDA);
            let (k1, k2) = split(&u1, G_WINDOW).unwrap();
            proptest::prop_assert_eq!(
                value_of(&k1.digits, k1.negative) + value_of(&k2.digits, k2.negative) * lambda,
                u1
            );
        }
    }
}
