//! secp256k1 points in Jacobian coordinates, doubled and added in variable time on the field
//! elements of `field`: the arithmetic of `glv`'s double multiplication.
//!
//! k256's `ProjectivePoint` uses the complete formulas of Renes, Costello and Batina, which
//! treat every input alike: a doubling costs 6 multiplications and 2 squarings, an addition
//! 11 (of an affine point) or 12 multiplications. Recovery's inputs are public, so the cases
//! those formulas exist to hide (a point added to itself or to its negation, the point at
//! infinity) can be told apart by branches instead, and the classic Jacobian formulas for a
//! curve with `a = 0` apply: a doubling in 2 multiplications and 5 squarings (most of the
//! work: recovery doubles 128 times), an addition of an affine point in 8 and 3, of a
//! Jacobian one in 12 and 4.
//!
//! The field elements (k256's natively, `field`'s own in wasm32, with k256's contract) are
//! lazily reduced: each carries a magnitude (how many multiples of the prime its limbs may
//! hold), which additions grow and which a product (whose inputs may be at most 8) or
//! `normalize_weak` brings back to 1. The formulas below note each value's magnitude in
//! brackets; a point's `x` and `y` are kept at 1 and its `z` at 2 at most. k256's debug
//! builds track every element's magnitude and assert the limits the brackets keep to (a
//! product's inputs at most 8, `negate`'s bound at least its input's), and `field`'s check
//! the limbs themselves, so the tests, run in debug natively and in wasm32, check them on
//! every path they take.

use k256::elliptic_curve::sec1::{EncodedPoint, FromEncodedPoint, ToEncodedPoint};
use k256::{AffinePoint, FieldBytes, Secp256k1};

use crate::field::FieldElement;
use crate::modinv;

/// A point of the curve with affine coordinates, as the tables hold them: `x` at magnitude 1,
/// `y` at 1 (an entry) or 2 (an entry negated), each used only as a factor.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Affine {
    x: FieldElement,
    y: FieldElement,
}

impl Affine {
    /// A placeholder for a table's slot before it is written (not a point of the curve).
    pub(crate) const UNSET: Self = Self {
        x: FieldElement::ZERO,
        y: FieldElement::ZERO,
    };

    /// The point with the x-coordinate `x` whose y-coordinate is odd if `y_odd`; `None` if
    /// `x` is not below `p` or no point has it.
    pub(crate) fn decompress(x: &FieldBytes, y_odd: bool) -> Option<Self> {
        let x = Option::<FieldElement>::from(FieldElement::from_bytes(x))?;
        let y_squared = (x.square() * x + FieldElement::from_u64(7)).normalize_weak(); // [1]
        let y = Option::<FieldElement>::from(y_squared.sqrt())?.normalize();
        let y = if bool::from(y.is_odd()) == y_odd {
            y
        } else {
            y.negate(1).normalize()
        };
        Some(Self { x, y })
    }

    /// The same point from k256's affine form; `None` for the point at infinity.
    pub(crate) fn from_k256(point: &AffinePoint) -> Option<Self> {
        let encoded = point.to_encoded_point(false);
        let coordinate = |bytes: &FieldBytes| Option::from(FieldElement::from_bytes(bytes));
        Some(Self {
            x: coordinate(encoded.x()?)?,
            y: coordinate(encoded.y()?)?,
        })
    }

    /// `-P`, of an entry (`y` at 1) as the tables hold it: never negated twice.
    pub(crate) fn neg(&self) -> Self {
        Self {
            x: self.x,
            y: self.y.negate(1), // [2]
        }
    }

    /// `λ·P = (β·x, y)`, secp256k1's endomorphism.
    pub(crate) fn endomorphism(&self, beta: &FieldElement) -> Self {
        Self {
            x: self.x * beta,
            ..*self
        }
    }
}

/// `(X, Y, Z)` standing for the affine point `(X/Z², Y/Z³)`, or the point at infinity.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Jacobian {
    x: FieldElement,
    y: FieldElement,
    z: FieldElement,
    infinity: bool,
}

impl Jacobian {
    pub(crate) const INFINITY: Self = Self {
        x: FieldElement::ZERO,
        y: FieldElement::ZERO,
        z: FieldElement::ZERO,
        infinity: true,
    };

    pub(crate) fn from_affine(point: &Affine) -> Self {
        Self {
            x: point.x,
            y: point.y.normalize_weak(), // [1 or 2] → [1]
            z: FieldElement::ONE,
            infinity: false,
        }
    }

    /// `2P`: `A = X², B = Y², C = B², D = 2·((X + B)² − A − C), E = 3·A`; `X' = E² − 2D`,
    /// `Y' = E·(D − X') − 8C`, `Z' = 2·Y·Z` ("dbl-2009-l" of the Explicit-Formulas Database:
    /// `D` is `4·X·B` from a squaring instead of a multiplication, 0.8-2.3 % less time per
    /// recovery in WASM in two runs).
    pub(crate) fn double(&self) -> Self {
        // secp256k1 has no point of order 2 (y = 0), so only infinity doubles to infinity.
        if self.infinity {
            return *self;
        }
        let a = self.x.square(); // [1]
        let b = self.y.square(); // [1]
        let c = b.square(); // [1]
        let d = ((self.x + b).square() + a.negate(1) + c.negate(1)).normalize_weak(); // [5] → [1]
        let d = d.double(); // [2]
        let e = a.mul_single(3); // [3]
        let x = (e.square() + d.double().negate(4)).normalize_weak(); // [1 + 5] → [1]
        let y = e * (d + x.negate(1)); // [3]·[2 + 2] → [1]
        let y = (y + c.mul_single(8).negate(8)).normalize_weak(); // [1 + 9] → [1]
        let z = (self.y * self.z).double(); // [2]
        Self {
            x,
            y,
            z,
            infinity: false,
        }
    }

    /// `P + Q` for an affine `Q`.
    pub(crate) fn add_affine(&self, q: &Affine) -> Self {
        if self.infinity {
            return Self::from_affine(q);
        }
        let zz = self.z.square(); // [1]
        let u2 = q.x * zz;
        let s2 = q.y * (self.z * zz);
        self.add_scaled(self.x, self.y, u2, s2, self.z)
    }

    /// `P + Q`.
    pub(crate) fn add(&self, q: &Self) -> Self {
        if q.infinity {
            return *self;
        }
        if self.infinity {
            return *q;
        }
        let (zz1, zz2) = (self.z.square(), q.z.square()); // [1]
        let u1 = self.x * zz2;
        let u2 = q.x * zz1;
        let s1 = self.y * (q.z * zz2);
        let s2 = q.y * (self.z * zz1);
        self.add_scaled(u1, s1, u2, s2, self.z * q.z)
    }

    /// The sum of `P` (`self`, not at infinity) and `Q`, from both brought to one scale:
    /// `u1, s1` are `P`'s `X, Y` times `Q`'s `Z², Z³`, and `u2, s2` `Q`'s times `P`'s (all [1]);
    /// the sum's `Z` is `z·H` with `z` the product of both `Z`s. `H = u2 − u1`, `r = s2 − s1`;
    /// `X' = r² − H³ − 2·u1·H²`, `Y' = r·(u1·H² − X') − s1·H³`.
    fn add_scaled(
        &self,
        u1: FieldElement,
        s1: FieldElement,
        u2: FieldElement,
        s2: FieldElement,
        z: FieldElement,
    ) -> Self {
        let h = u2 + u1.negate(1); // [3]
        let r = s2 + s1.negate(1); // [3]
        if bool::from(h.normalizes_to_zero()) {
            // The same x: the same point (double it) or its negation (the sum is infinity).
            return if bool::from(r.normalizes_to_zero()) {
                self.double()
            } else {
                Self::INFINITY
            };
        }
        let hh = h.square(); // [1]
        let hhh = h * hh; // [1]
        let v = u1 * hh; // [1]
        let x = (r.square() + hhh.negate(1) + v.double().negate(2)).normalize_weak(); // [6] → [1]
        let y = r * (v + x.negate(1)); // [3]·[3] → [1]
        let y = (y + (s1 * hhh).negate(1)).normalize_weak(); // [3] → [1]
        Self {
            x,
            y,
            z: z * h, // [1]
            infinity: false,
        }
    }

    /// The point in k256's affine form; `None` at infinity (or, should the arithmetic ever
    /// be wrong, for a result off the curve: k256 checks it).
    pub(crate) fn to_k256(self) -> Option<AffinePoint> {
        if self.infinity {
            return None;
        }
        let point = self.with_z_inverse(&modinv::invert_field(&self.z)?);
        let encoded = EncodedPoint::<Secp256k1>::from_affine_coordinates(
            &point.x.to_bytes(),
            &point.y.to_bytes(),
            false,
        );
        AffinePoint::from_encoded_point(&encoded).into()
    }

    /// The affine coordinates, given `Z⁻¹`, normalized.
    fn with_z_inverse(&self, z_inv: &FieldElement) -> Affine {
        let zz_inv = z_inv.square();
        Affine {
            x: (self.x * zz_inv).normalize(),
            y: (self.y * (zz_inv * z_inv)).normalize(),
        }
    }
}

/// The affine forms of `points`, written to `out` (as long), with one field inversion for
/// all (Montgomery's trick: invert the product of the `Z`s, then peel each off); `None` if
/// any is at infinity.
pub(crate) fn batch_to_affine(points: &[Jacobian], out: &mut [Affine]) -> Option<()> {
    assert_eq!(points.len(), out.len(), "one affine point for each point");
    if points.iter().any(|p| p.infinity) {
        return None;
    }
    // Z_0·…·Z_i, kept in out[i].x until the pass below writes out[i].
    let mut product = FieldElement::ONE;
    for (slot, point) in out.iter_mut().zip(points) {
        product *= point.z;
        slot.x = product;
    }
    // (Z_0·…·Z_i)⁻¹, from the last i down.
    let mut inverse = modinv::invert_field(&product)?;
    for i in (0..points.len()).rev() {
        let z_inv = match i {
            0 => inverse,
            _ => inverse * out[i - 1].x,
        };
        inverse *= points[i].z;
        out[i] = points[i].with_z_inverse(&z_inv);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use k256::{ProjectivePoint, Scalar};

    use super::*;

    /// `k·G` in both forms, for small and large `k`.
    fn points() -> Vec<(ProjectivePoint, Affine)> {
        let scalars = [1u64, 2, 3, 7, 0x5eed_5eed_5eed_5eed, u64::MAX];
        scalars
            .iter()
            .flat_map(|&k| [Scalar::from(k), -Scalar::from(k).square()])
            .map(|k| {
                let p = ProjectivePoint::GENERATOR * k;
                (p, Affine::from_k256(&p.to_affine()).unwrap())
            })
            .collect()
    }

    /// k256's affine form of `point`, `None` at infinity: what ours must come to.
    fn expected(point: ProjectivePoint) -> Option<AffinePoint> {
        (point != ProjectivePoint::IDENTITY).then(|| point.to_affine())
    }

    #[test]
    fn decompresses_either_parity_and_refuses_an_x_off_the_curve() {
        use k256::elliptic_curve::point::{AffineCoordinates, DecompressPoint};
        for (p, _) in points() {
            let affine = p.to_affine();
            let odd = bool::from(affine.y_is_odd());
            let same = Affine::decompress(&affine.x(), odd).unwrap();
            assert_eq!(Jacobian::from_affine(&same).to_k256(), Some(affine));
            let other = Affine::decompress(&affine.x(), !odd).unwrap();
            assert_eq!(Jacobian::from_affine(&other).to_k256(), Some(-affine));
        }
        // x = 5: 5³ + 7 = 132 is not a square mod p, and k256 agrees that no point has it.
        let five = FieldElement::from_u64(5).to_bytes();
        assert!(Affine::decompress(&five, false).is_none());
        assert!(bool::from(
            AffinePoint::decompress(&five, 0.into()).is_none()
        ));
        // Nor is p + k, for the smallest k that is one: read modulo p, it would be taken.
        let k = (1..)
            .find(|&k| Affine::decompress(&FieldElement::from_u64(k).to_bytes(), false).is_some())
            .unwrap();
        let mut beyond =
            hex_literal::hex!("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f");
        assert!(k < 0xd0, "k = {k} would carry out of the last byte");
        beyond[31] += k as u8;
        assert!(Affine::decompress(&beyond.into(), false).is_none());
        assert!(bool::from(
            AffinePoint::decompress(&beyond.into(), 0.into()).is_none()
        ));
    }

    #[test]
    fn doubles_and_adds_as_k256_does() {
        let points = points();
        for (p, p_affine) in &points {
            let p1 = Jacobian::from_affine(p_affine);
            // Z ≠ 1: the scaling of the affine point to the accumulator's Z is exercised.
            let p2 = p1.double();
            assert_eq!(p2.to_k256(), expected(p.double()));
            for (q, q_affine) in &points {
                assert_eq!(p1.add_affine(q_affine).to_k256(), expected(p + q));
                assert_eq!(p2.add_affine(q_affine).to_k256(), expected(p.double() + q));
                // The negations the tables hand out.
                assert_eq!(p1.add_affine(&q_affine.neg()).to_k256(), expected(p - q));
                assert_eq!(
                    p2.add_affine(&q_affine.neg()).to_k256(),
                    expected(p.double() - q)
                );
                // Both in Jacobian form, with Z ≠ 1 on each side.
                let q2 = Jacobian::from_affine(q_affine).double();
                assert_eq!(p2.add(&q2).to_k256(), expected(p.double() + q.double()));
            }
            // With Z ≠ 1, the sum's exceptional cases: the same point, and its negation.
            let twice = Affine::from_k256(&p.double().to_affine()).unwrap();
            assert_eq!(
                p2.add_affine(&twice).to_k256(),
                expected(p.double().double())
            );
            assert_eq!(p2.add_affine(&twice.neg()).to_k256(), None);
            assert_eq!(p2.add(&p2).to_k256(), expected(p.double().double()));
        }
    }

    #[test]
    fn infinity_is_the_identity() {
        let (p, p_affine) = &points()[3];
        let p1 = Jacobian::from_affine(p_affine);
        let infinity = Jacobian::INFINITY;
        assert_eq!(infinity.to_k256(), None);
        assert_eq!(infinity.double().to_k256(), None);
        assert_eq!(infinity.add_affine(p_affine).to_k256(), expected(*p));
        assert_eq!(infinity.add(&p1.double()).to_k256(), expected(p.double()));
        assert_eq!(p1.add(&infinity).to_k256(), expected(*p));
        assert_eq!(p1.add_affine(&p_affine.neg()).to_k256(), None);
        let back = p1.add_affine(&p_affine.neg()).add_affine(p_affine);
        assert_eq!(back.to_k256(), expected(*p));
    }

    #[test]
    fn brings_many_points_to_affine_at_once() {
        let points = points();
        let jacobian: [Jacobian; 4] =
            core::array::from_fn(|i| Jacobian::from_affine(&points[i].1).double().double());
        let mut affine = [Affine::UNSET; 4];
        batch_to_affine(&jacobian, &mut affine).unwrap();
        for ((p, _), ours) in points.iter().zip(&affine) {
            let quadrupled = p.double().double();
            assert_eq!(Jacobian::from_affine(ours).to_k256(), expected(quadrupled));
        }
        let with_infinity = [jacobian[0], Jacobian::INFINITY];
        assert!(batch_to_affine(&with_infinity, &mut affine[..2]).is_none());
    }
}
