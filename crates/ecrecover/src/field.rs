//! The field arithmetic recovery runs on: k256's `FieldElement` on 64-bit targets, where its
//! 5×52-bit limbs multiply in 128-bit products, and on 32-bit ones (wasm32) `FieldElement26`
//! below, with the representation and the contract of k256's 10×26-bit element, computed
//! another way.
//!
//! k256 squares by multiplying an element by itself (100 limb products, of which the
//! compiler merges the repeated ones but not their sums), and reduces a product's columns as
//! it forms them, each waiting on the carry of the one before. Here a product sums its 19
//! columns first, each from the limbs directly (a square takes each cross product once,
//! doubled: 55 products), folds the nine high columns into the low ten independently of one
//! another, and carries once. The code is written out (`products!`, `unrolled!`) so that
//! the size-tuned build, where the compiler unrolls no loop, runs it as fast. Measured by
//! `benches/wasm-vs-viem.sh` (README.md, Benchmarks), `verifyPayment` in WASM took about a
//! tenth less time than on k256's element. The same code natively, with 64-bit limbs
//! available, is slower than k256's 5×52-bit one, hence the choice by target.
//!
//! Both types keep k256's contract, which `jacobian`'s formulas rely on. Ten limbs of 26 bits
//! hold `Σ limb[i]·2^(26·i)` (the top limb 22 bits when normalized), reduced lazily: an element
//! of magnitude `m` has limbs of at most `2m` times their normalized maximum. Sums add
//! magnitudes; a product's inputs may be of magnitude 8 at most and its result is of
//! magnitude 1, as is `normalize_weak`'s; `negate(m)` needs `m` at least its input's magnitude
//! and returns `m + 1`. Debug builds check the limits: a product asserts its inputs' limbs, and
//! any limb that would overflow or go below zero panics. The tests hold every operation to
//! k256's, at the largest limbs a product takes among other values.

#[cfg(target_pointer_width = "64")]
pub(crate) use k256::FieldElement;

#[cfg(not(target_pointer_width = "64"))]
pub(crate) use FieldElement26 as FieldElement;

use core::ops::{Add, Mul, MulAssign, Neg};

use k256::elliptic_curve::subtle::{Choice, CtOption};
use k256::FieldBytes;

/// The low 26 bits.
const M26: u64 = 0x3FF_FFFF;
/// The low 22 bits: the top limb's share of 256 bits (9·26 + 22).
const M22: u32 = 0x3F_FFFF;
/// `p = 2^256 - 0x1000003D1` in limbs.
const PRIME: [u32; 10] = [
    0x3FF_FC2F, 0x3FF_FFBF, 0x3FF_FFFF, 0x3FF_FFFF, 0x3FF_FFFF, 0x3FF_FFFF, 0x3FF_FFFF, 0x3FF_FFFF,
    0x3FF_FFFF, 0x3F_FFFF,
];
/// `2^260 mod p = 0x1000003D1·2^4 = 2^36 + 0x3D10`: a column at `2^(26·(k+10))` counts at
/// `2^(26·k)` times `0x3D10` plus at `2^(26·(k+1))` times `2^10`.
const FOLD_LOW: u64 = 0x3D10;
const FOLD_SHIFT: u32 = 10;
/// The largest magnitude a product takes as input, as k256's.
const MAX_FACTOR_MAGNITUDE: u32 = 8;

/// `$body` once for each listed value of `$i`, written out (as `products!` is).
macro_rules! unrolled {
    (for $i:ident in [$($value:literal)+] $body:block) => {
        $({
            let $i: usize = $value;
            $body
        })+
    };
}

/// `Σ a[i]·b[j]` over the listed `(i j)`, written out: straight-line code at every
/// optimization level, with no loop or bounds check left for the compiler to remove.
macro_rules! products {
    ($a:ident, $b:ident: $(($i:literal $j:literal))+) => {
        0 $(+ $a[$i] * $b[$j])+
    };
}

/// A field element in ten 26-bit limbs, least significant first (see the module's note).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FieldElement26([u32; 10]);

#[cfg_attr(target_pointer_width = "64", allow(dead_code))] // used in wasm32 and the tests
impl FieldElement26 {
    pub(crate) const ZERO: Self = Self([0; 10]);
    pub(crate) const ONE: Self = Self([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

    /// `value`, normalized.
    pub(crate) const fn from_u64(value: u64) -> Self {
        Self([
            (value & M26) as u32,
            ((value >> 26) & M26) as u32,
            (value >> 52) as u32,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        ])
    }

    /// The element a big-endian encoding names, normalized; none for `p` and above.
    pub(crate) fn from_bytes(bytes: &FieldBytes) -> CtOption<Self> {
        let mut limbs = [0u32; 10];
        for (i, &byte) in bytes.iter().rev().enumerate() {
            let bit = 8 * i;
            let value = u64::from(byte) << (bit % 26);
            limbs[bit / 26] |= (value & M26) as u32;
            if bit / 26 < 9 {
                limbs[bit / 26 + 1] |= (value >> 26) as u32;
            }
        }
        let element = Self(limbs);
        CtOption::new(
            element,
            Choice::from(u8::from(!element.is_at_least_prime())),
        )
    }

    /// The big-endian encoding of the value below `p`.
    pub(crate) fn to_bytes(self) -> FieldBytes {
        let normal = self.normalize();
        let mut bytes = FieldBytes::default();
        for (i, byte) in bytes.iter_mut().rev().enumerate() {
            let bit = 8 * i;
            let mut value = u64::from(normal.0[bit / 26]) >> (bit % 26);
            if bit / 26 < 9 {
                value |= u64::from(normal.0[bit / 26 + 1]) << (26 - bit % 26);
            }
            *byte = value as u8;
        }
        bytes
    }

    /// The same value at magnitude 1: the bits above 256 folded back in, one carry pass.
    pub(crate) fn normalize_weak(&self) -> Self {
        let mut t = self.0;
        let top = t[9] >> 22;
        t[9] &= M22;
        t[0] += top * 0x3D1;
        t[1] += top << 6;
        unrolled!(for i in [0 1 2 3 4 5 6 7 8] {
            t[i + 1] += t[i] >> 26;
            t[i] &= M26 as u32;
        });
        // t[9] is now below 2^22 + 2^7: a value at 2^256 or above (bit 22 set) is less than
        // 2^240 above it.
        Self(t)
    }

    /// The same value below `p`, each limb within its bits.
    pub(crate) fn normalize(&self) -> Self {
        let mut weak = self.normalize_weak();
        // At most one of these holds, and subtracting p once brings either below p: the
        // value at 2^256 or above (then less than 2^240 above it), or from p up to 2^256.
        if weak.0[9] >> 22 != 0 || weak.is_at_least_prime() {
            // x - p = x + 0x1000003D1 - 2^256: add, carry, drop bit 256.
            weak.0[0] += 0x3D1;
            weak.0[1] += 1 << 6;
            unrolled!(for i in [0 1 2 3 4 5 6 7 8] {
                weak.0[i + 1] += weak.0[i] >> 26;
                weak.0[i] &= M26 as u32;
            });
            weak.0[9] &= M22;
        }
        weak
    }

    /// Whether the value is a multiple of `p`, in variable time (as libsecp256k1's
    /// `fe_normalizes_to_zero_var`): recovery asks it of every addition's `H`, which is
    /// almost never zero.
    pub(crate) fn normalizes_to_zero(&self) -> Choice {
        // normalize_weak's fold settles limb 0 first: unless it comes out as limb 0 of 0 or
        // of p, the value is neither.
        let low = (self.0[0] + (self.0[9] >> 22) * 0x3D1) & M26 as u32;
        if low != 0 && low != PRIME[0] {
            return Choice::from(0);
        }
        // After normalize_weak the value is below 2p, so 0 and p are the only multiples, and
        // below 2^256 each has one set of limbs.
        let weak = self.normalize_weak();
        Choice::from(u8::from(weak == Self::ZERO || weak.0 == PRIME))
    }

    /// Whether a normalized element is odd.
    pub(crate) fn is_odd(&self) -> Choice {
        Choice::from((self.0[0] & 1) as u8)
    }

    /// `-self`, for `self` of magnitude at most `magnitude`; of magnitude `magnitude + 1`.
    pub(crate) fn negate(&self, magnitude: u32) -> Self {
        let multiple = 2 * (magnitude + 1);
        let mut limbs = self.0;
        unrolled!(for i in [0 1 2 3 4 5 6 7 8 9] {
            limbs[i] = PRIME[i] * multiple - limbs[i];
        });
        Self(limbs)
    }

    pub(crate) fn double(&self) -> Self {
        *self + *self
    }

    /// `self·factor`, its magnitude times `factor`.
    pub(crate) fn mul_single(&self, factor: u32) -> Self {
        let mut limbs = self.0;
        unrolled!(for i in [0 1 2 3 4 5 6 7 8 9] {
            limbs[i] *= factor;
        });
        Self(limbs)
    }

    pub(crate) fn square(&self) -> Self {
        Self::reduce(&square_columns(&self.factor_limbs()))
    }

    /// A square root of an element of magnitude 1, if it has one: `self^((p+1)/4)`, as
    /// `p ≡ 3 (mod 4)`; the root is of magnitude 1.
    pub(crate) fn sqrt(&self) -> CtOption<Self> {
        // (p+1)/4 = 2^254 - 2^30 - 244: in binary 223 ones, a zero, 22 ones, four zeros, two
        // ones and two zeros. Build x^(2^k - 1) for k = 2, 3, 6, 9, 11, 22, 44, 88, 176, 220
        // and 223 (each from two before it), then shift in the rest.
        let x = self;
        let x2 = x.square() * x;
        let x3 = x2.square() * x;
        let x6 = x3.squares(3) * x3;
        let x9 = x6.squares(3) * x3;
        let x11 = x9.squares(2) * x2;
        let x22 = x11.squares(11) * x11;
        let x44 = x22.squares(22) * x22;
        let x88 = x44.squares(44) * x44;
        let x176 = x88.squares(88) * x88;
        let x220 = x176.squares(44) * x44;
        let x223 = x220.squares(3) * x3;
        let root = ((x223.squares(23) * x22).squares(6) * x2).squares(2);
        let is_root = (root.square() + x.negate(1)).normalizes_to_zero();
        CtOption::new(root, is_root)
    }

    /// `self^(2^count)`.
    fn squares(&self, count: u32) -> Self {
        (0..count).fold(*self, |x, _| x.square())
    }

    /// Whether limbs within their bits hold `p` or more.
    fn is_at_least_prime(&self) -> bool {
        let t = &self.0;
        t[9] == PRIME[9]
            && t[2..9].iter().all(|&limb| limb == PRIME[2])
            && (t[1] > PRIME[1] || (t[1] == PRIME[1] && t[0] >= PRIME[0]))
    }

    /// The limbs widened for a product, checked (in debug builds) to be of a magnitude a
    /// product takes.
    #[inline(always)]
    fn factor_limbs(&self) -> [u64; 10] {
        let most = 2 * MAX_FACTOR_MAGNITUDE;
        debug_assert!(self.0[..9].iter().all(|&limb| limb <= most * M26 as u32));
        debug_assert!(self.0[9] <= most * M22);
        let mut limbs = [0u64; 10];
        unrolled!(for i in [0 1 2 3 4 5 6 7 8 9] {
            limbs[i] = self.0[i].into();
        });
        limbs
    }

    /// The product of magnitude 1 whose columns (`Σ a[i]·b[k-i]` at `2^(26·k)`) are given.
    /// Each column of factors of magnitude 8 or less is below `10·2^60 < 2^63.4`.
    #[inline(always)]
    fn reduce(columns: &[u64; 19]) -> Self {
        let mut low = [0u64; 11];
        low[..10].copy_from_slice(&columns[..10]);
        // Each high column split at 26 bits, both parts folded down; each addend below 2^52,
        // at most four per low column.
        unrolled!(for k in [10 11 12 13 14 15 16 17 18] {
            let (bits, carry) = (columns[k] & M26, columns[k] >> 26);
            low[k - 10] += bits * FOLD_LOW;
            low[k - 9] += (bits << FOLD_SHIFT) + carry * FOLD_LOW;
            low[k - 8] += carry << FOLD_SHIFT;
        });
        // What reached 2^260 (column 18's carry, shifted: below 2^36), folded once more.
        low[0] += low[10] * FOLD_LOW;
        low[1] += low[10] << FOLD_SHIFT;
        let mut limbs = [0u32; 10];
        let mut carry = 0u64;
        unrolled!(for i in [0 1 2 3 4 5 6 7 8] {
            let sum = low[i] + carry;
            limbs[i] = (sum & M26) as u32;
            carry = sum >> 26;
        });
        let sum = low[9] + carry;
        limbs[9] = sum as u32 & M22;
        // The bits above 2^256 (below 2^42) count 0x1000003D1 = 2^32 + 0x3D1 each.
        let top = sum >> 22;
        let sum = u64::from(limbs[0]) + top * 0x3D1;
        limbs[0] = (sum & M26) as u32;
        let sum = u64::from(limbs[1]) + (top << 6) + (sum >> 26);
        limbs[1] = (sum & M26) as u32;
        limbs[2] += (sum >> 26) as u32; // below 2^26 + 2^23: magnitude 1
        Self(limbs)
    }
}

impl Add for FieldElement26 {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        let mut limbs = self.0;
        unrolled!(for i in [0 1 2 3 4 5 6 7 8 9] {
            limbs[i] += other.0[i];
        });
        Self(limbs)
    }
}

impl Neg for FieldElement26 {
    type Output = Self;

    /// `-self` for `self` of magnitude 1, as k256's.
    fn neg(self) -> Self {
        self.negate(1)
    }
}

impl Mul<&FieldElement26> for FieldElement26 {
    type Output = Self;

    fn mul(self, other: &Self) -> Self {
        Self::reduce(&columns(&self.factor_limbs(), &other.factor_limbs()))
    }
}

impl Mul for FieldElement26 {
    type Output = Self;

    fn mul(self, other: Self) -> Self {
        Mul::<&Self>::mul(self, &other)
    }
}

impl MulAssign for FieldElement26 {
    fn mul_assign(&mut self, other: Self) {
        *self = Mul::<&Self>::mul(*self, &other);
    }
}

/// The 19 columns of `a·b`, column `k` at `2^(26·k)`, each summed on its own so that none
/// waits for another.
#[inline(always)]
fn columns(a: &[u64; 10], b: &[u64; 10]) -> [u64; 19] {
    [
        products!(a, b: (0 0)),
        products!(a, b: (0 1) (1 0)),
        products!(a, b: (0 2) (1 1) (2 0)),
        products!(a, b: (0 3) (1 2) (2 1) (3 0)),
        products!(a, b: (0 4) (1 3) (2 2) (3 1) (4 0)),
        products!(a, b: (0 5) (1 4) (2 3) (3 2) (4 1) (5 0)),
        products!(a, b: (0 6) (1 5) (2 4) (3 3) (4 2) (5 1) (6 0)),
        products!(a, b: (0 7) (1 6) (2 5) (3 4) (4 3) (5 2) (6 1) (7 0)),
        products!(a, b: (0 8) (1 7) (2 6) (3 5) (4 4) (5 3) (6 2) (7 1) (8 0)),
        products!(a, b: (0 9) (1 8) (2 7) (3 6) (4 5) (5 4) (6 3) (7 2) (8 1) (9 0)),
        products!(a, b: (1 9) (2 8) (3 7) (4 6) (5 5) (6 4) (7 3) (8 2) (9 1)),
        products!(a, b: (2 9) (3 8) (4 7) (5 6) (6 5) (7 4) (8 3) (9 2)),
        products!(a, b: (3 9) (4 8) (5 7) (6 6) (7 5) (8 4) (9 3)),
        products!(a, b: (4 9) (5 8) (6 7) (7 6) (8 5) (9 4)),
        products!(a, b: (5 9) (6 8) (7 7) (8 6) (9 5)),
        products!(a, b: (6 9) (7 8) (8 7) (9 6)),
        products!(a, b: (7 9) (8 8) (9 7)),
        products!(a, b: (8 9) (9 8)),
        products!(a, b: (9 9)),
    ]
}

/// The 19 columns of `a²`: each cross product once, doubled (55 products in all).
#[inline(always)]
fn square_columns(a: &[u64; 10]) -> [u64; 19] {
    let mut twice = *a;
    unrolled!(for i in [0 1 2 3 4 5 6 7 8 9] {
        twice[i] *= 2;
    });
    [
        products!(a, a: (0 0)),
        products!(twice, a: (0 1)),
        products!(twice, a: (0 2)) + products!(a, a: (1 1)),
        products!(twice, a: (0 3) (1 2)),
        products!(twice, a: (0 4) (1 3)) + products!(a, a: (2 2)),
        products!(twice, a: (0 5) (1 4) (2 3)),
        products!(twice, a: (0 6) (1 5) (2 4)) + products!(a, a: (3 3)),
        products!(twice, a: (0 7) (1 6) (2 5) (3 4)),
        products!(twice, a: (0 8) (1 7) (2 6) (3 5)) + products!(a, a: (4 4)),
        products!(twice, a: (0 9) (1 8) (2 7) (3 6) (4 5)),
        products!(twice, a: (1 9) (2 8) (3 7) (4 6)) + products!(a, a: (5 5)),
        products!(twice, a: (2 9) (3 8) (4 7) (5 6)),
        products!(twice, a: (3 9) (4 8) (5 7)) + products!(a, a: (6 6)),
        products!(twice, a: (4 9) (5 8) (6 7)),
        products!(twice, a: (5 9) (6 8)) + products!(a, a: (7 7)),
        products!(twice, a: (6 9) (7 8)),
        products!(twice, a: (7 9)) + products!(a, a: (8 8)),
        products!(twice, a: (8 9)),
        products!(a, a: (9 9)),
    ]
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    type K256 = k256::FieldElement;

    /// The value `element`'s limbs hold, whatever their size, in k256's field, normalized.
    fn value(element: &FieldElement26) -> K256 {
        let base = K256::from_u64(1 << 26);
        let value = (element.0.iter().rev()).fold(K256::ZERO, |acc, &limb| {
            acc * base + K256::from_u64(limb.into())
        });
        value.normalize()
    }

    fn element(bytes: [u8; 32]) -> FieldElement26 {
        Option::from(FieldElement26::from_bytes(&bytes.into())).expect("below p")
    }

    /// Elements at the edges: 0, 1, p - 1 and the values just below 2^26·k for a few k.
    fn edges() -> Vec<[u8; 32]> {
        let mut minus_one = PRIME_BYTES;
        minus_one[31] -= 1;
        let mut values = vec![[0; 32], FieldElement26::ONE.to_bytes().into(), minus_one];
        for bits in [26, 52, 130, 234, 255] {
            let mut bytes = [0u8; 32];
            bytes[31 - bits / 8] = 1 << (bits % 8);
            // 2^bits - 1: borrow down from the set bit.
            let ones = (K256::from_bytes(&bytes.into()).unwrap() - K256::ONE).normalize();
            values.push(ones.to_bytes().into());
        }
        values
    }

    const PRIME_BYTES: [u8; 32] =
        hex_literal::hex!("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f");

    /// `element` at magnitude `m`: `p`'s limbs added `2(m-1)` times, so each limb is up to
    /// `2m - 1` times its normalized maximum (the limit itself is `at_limit`'s).
    fn at_magnitude(element: FieldElement26, m: u32) -> FieldElement26 {
        FieldElement26(core::array::from_fn(|i| {
            element.0[i] + PRIME[i] * 2 * (m - 1)
        }))
    }

    /// Every limb at magnitude `m`'s limit: `2m` times its normalized maximum.
    fn at_limit(m: u32) -> FieldElement26 {
        FieldElement26(core::array::from_fn(|i| {
            2 * m * if i < 9 { M26 as u32 } else { M22 }
        }))
    }

    /// Whether `element`'s limbs keep to magnitude `m`.
    fn within_magnitude(element: &FieldElement26, m: u32) -> bool {
        let limbs = &element.0;
        limbs[..9].iter().all(|&limb| limb <= 2 * m * M26 as u32) && limbs[9] <= 2 * m * M22
    }

    fn check_arithmetic(a: FieldElement26, b: FieldElement26) {
        let (ka, kb) = (value(&a), value(&b));
        assert_eq!(value(&(a * b)), (ka * kb).normalize(), "{a:?}·{b:?}");
        assert_eq!(value(&a.square()), ka.square().normalize(), "{a:?}²");
        assert_eq!(value(&(a + b)), (ka + kb).normalize());
        assert_eq!(value(&a.negate(MAX_FACTOR_MAGNITUDE)), (-ka).normalize());
        assert_eq!(
            value(&a.mul_single(3)),
            (ka * K256::from_u64(3)).normalize()
        );
        // The results' limbs keep magnitude 1 (or the sum's, or m + 1 for the negation).
        assert!(within_magnitude(&(a * b), 1) && within_magnitude(&a.square(), 1));
        for x in [a, b, a * b, a + b, a.negate(MAX_FACTOR_MAGNITUDE)] {
            let weak = x.normalize_weak();
            assert!(within_magnitude(&weak, 1));
            assert_eq!(value(&weak), value(&x));
            let normal = x.normalize();
            assert_eq!(
                normal.to_bytes(),
                value(&x).to_bytes(),
                "normalize of {x:?} is {normal:?}"
            );
            assert_eq!(
                bool::from(x.normalizes_to_zero()),
                bool::from(value(&x).is_zero())
            );
        }
    }

    #[test]
    fn agrees_with_k256_on_edge_values_at_magnitudes_1_and_8() {
        let edges = edges();
        for a in &edges {
            for b in &edges {
                let (a, b) = (element(*a), element(*b));
                check_arithmetic(a, b);
                check_arithmetic(at_magnitude(a, 4), at_magnitude(b, 4));
                let (a8, b8) = (at_magnitude(a, 8), at_magnitude(b, 8));
                assert_eq!(value(&(a8 * b8)), value(&(a * b)));
                assert_eq!(value(&a8.square()), value(&a.square()));
            }
        }
    }

    #[test]
    fn the_largest_limbs_a_product_takes_multiply_as_k256_does() {
        // Every limb at magnitude 8's limit: the columns' largest sums.
        let most = at_limit(MAX_FACTOR_MAGNITUDE);
        let expected = value(&most);
        assert_eq!(value(&(most * most)), expected.square().normalize());
        assert_eq!(value(&most.square()), expected.square().normalize());
        assert!(within_magnitude(&(most * most), 1) && within_magnitude(&most.square(), 1));
        let one = FieldElement26::ONE;
        assert_eq!(value(&(most * one)), expected);
    }

    #[test]
    fn the_largest_limbs_normalize_as_k256_does() {
        // Up to k256's largest magnitude for ten 26-bit limbs in 32 bits.
        for m in [1, 2, 8, 10, 31] {
            let limit = at_limit(m);
            // The limit, and with its lowest limbs emptied (other carries).
            let mut emptied = limit;
            emptied.0[..3].fill(0);
            for x in [limit, emptied] {
                let weak = x.normalize_weak();
                assert!(within_magnitude(&weak, 1), "{m}: {weak:?}");
                assert_eq!(value(&weak), value(&x));
                assert_eq!(x.normalize().to_bytes(), value(&x).to_bytes(), "{m}");
                assert_eq!(
                    bool::from(x.normalizes_to_zero()),
                    bool::from(value(&x).is_zero())
                );
            }
        }
    }

    #[test]
    fn multiples_of_p_normalize_to_zero_and_nothing_else_does() {
        let p = FieldElement26(PRIME);
        let zero = FieldElement26::ZERO;
        for multiple in [zero, p, p + p, zero.negate(1), zero.negate(7)] {
            assert!(bool::from(multiple.normalizes_to_zero()), "{multiple:?}");
            assert_eq!(multiple.normalize(), zero);
        }
        // The last two share limb 0 with 0 (and, added to p, with p): a multiple by that
        // limb alone, which the full check then refuses.
        for small in [1, 2, 0x3D1, 0x1000003D1, 1 << 26, 1 << 52] {
            let x = FieldElement26::from_u64(small);
            assert!(!bool::from(x.normalizes_to_zero()));
            assert!(!bool::from((p + x).normalizes_to_zero()));
            assert_eq!((p + x).normalize(), x);
            assert_eq!(at_magnitude(x, 8).normalize(), x);
        }
    }

    #[test]
    fn encodings_round_trip_and_p_and_above_are_refused() {
        for bytes in edges() {
            assert_eq!(element(bytes).to_bytes(), bytes.into());
            assert_eq!(
                value(&element(bytes)),
                K256::from_bytes(&bytes.into()).unwrap()
            );
        }
        let mut above = PRIME_BYTES;
        for last in [0x2f, 0x30, 0xff] {
            above[31] = last;
            assert!(bool::from(
                FieldElement26::from_bytes(&above.into()).is_none()
            ));
        }
        assert!(bool::from(
            FieldElement26::from_bytes(&[0xff; 32].into()).is_none()
        ));
    }

    #[test]
    fn square_roots_are_k256s_and_non_residues_have_none() {
        for x in 0..40u64 {
            let ours = FieldElement26::from_u64(x).sqrt();
            let theirs = K256::from_u64(x).sqrt();
            assert_eq!(
                bool::from(ours.is_some()),
                bool::from(theirs.is_some()),
                "{x}"
            );
            if let (Some(ours), Some(theirs)) = (Option::from(ours), Option::from(theirs)) {
                let (ours, theirs): (FieldElement26, K256) = (ours, theirs);
                assert_eq!(value(&ours), theirs.normalize(), "√{x}");
            }
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        #[test]
        fn agrees_with_k256_on_random_values(
            a in proptest::array::uniform32(proptest::num::u8::ANY),
            b in proptest::array::uniform32(proptest::num::u8::ANY),
            magnitude in 1u32..=8,
        ) {
            let read = |bytes: [u8; 32]| Option::<FieldElement26>::from(FieldElement26::from_bytes(&bytes.into()));
            // Read and written as k256 reads and writes them; none where k256 has none.
            let theirs = Option::<K256>::from(K256::from_bytes(&a.into()));
            proptest::prop_assert_eq!(read(a).map(|e| value(&e)), theirs);
            proptest::prop_assert_eq!(read(a).map(|e| e.to_bytes()), theirs.map(|e| e.to_bytes()));
            if let (Some(a), Some(b)) = (read(a), read(b)) {
                check_arithmetic(a, b);
                let (am, bm) = (at_magnitude(a, magnitude), at_magnitude(b, magnitude));
                proptest::prop_assert_eq!(value(&(am * bm)), value(&(a * b)));
                proptest::prop_assert_eq!(value(&am.square()), value(&a.square()));
                let root = Option::<FieldElement26>::from(a.square().sqrt()).expect("a square");
                let root = value(&root);
                let ka = value(&a);
                proptest::prop_assert!(root == ka || root == (-ka).normalize());
            }
        }
    }
}
