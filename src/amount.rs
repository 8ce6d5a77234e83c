//! Unsigned 256-bit integers as they travel in x402: decimal strings.
//!
//! Token amounts and EIP-3009 times are `uint256` on chain. JSON numbers lose precision past
//! 2^53 in JavaScript, so x402 writes them as decimal strings; here they are [`U256`] values
//! wrapped in [`Uint256`], whose serde form is that string.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A full-width unsigned 256-bit integer (the EVM's `uint256`).
pub type U256 = ruint::aliases::U256;

/// The longest decimal string a `uint256` can need (2^256 - 1 has 78 digits).
const MAX_DECIMAL_DIGITS: usize = 78;

/// A `uint256` that serialises as a decimal string, as x402 writes amounts and times.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uint256(pub U256);

/// Why a decimal string is not a `uint256`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Uint256Error {
    /// The string was empty.
    Empty,
    /// A character other than `0`-`9` (signs, spaces, exponents, separators are all refused).
    NotDecimal,
    /// The number is 2^256 or more.
    Overflow,
}

impl fmt::Display for Uint256Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "empty number",
            Self::NotDecimal => "not a plain decimal integer",
            Self::Overflow => "does not fit in 256 bits",
        })
    }
}

impl std::error::Error for Uint256Error {}

impl Uint256 {
    /// Zero.
    pub const ZERO: Self = Self(U256::ZERO);

    /// Parses a plain decimal string: ASCII digits only, at most 2^256 - 1.
    pub fn from_decimal(text: &str) -> Result<Self, Uint256Error> {
        if text.is_empty() {
            return Err(Uint256Error::Empty);
        }
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Uint256Error::NotDecimal);
        }
        let digits = text.trim_start_matches('0');
        if digits.len() > MAX_DECIMAL_DIGITS {
            return Err(Uint256Error::Overflow);
        }
        if digits.is_empty() {
            return Ok(Self::ZERO);
        }
        U256::from_str_radix(digits, 10)
            .map(Self)
            .map_err(|_| Uint256Error::Overflow)
    }

    /// The value in whole units of a token with `decimals` decimal places, as people write
    /// it: `1000` with 6 decimals is `0.001`, `3000000` is `3`.
    pub fn to_units(&self, decimals: u8) -> String {
        let atomic = self.to_string();
        let decimals = usize::from(decimals);
        if decimals == 0 {
            return atomic;
        }
        let padded = format!("{atomic:0>width$}", width = decimals + 1);
        let (whole, fraction) = padded.split_at(padded.len() - decimals);
        let fraction = fraction.trim_end_matches('0');
        if fraction.is_empty() {
            whole.to_owned()
        } else {
            format!("{whole}.{fraction}")
        }
    }

    /// The value as big-endian bytes, the EVM's ABI encoding of a `uint256`.
    pub fn to_be_bytes(&self) -> [u8; 32] {
        self.0.to_be_bytes()
    }
}

impl From<u64> for Uint256 {
    fn from(value: u64) -> Self {
        Self(U256::from(value))
    }
}

impl From<U256> for Uint256 {
    fn from(value: U256) -> Self {
        Self(value)
    }
}

impl FromStr for Uint256 {
    type Err = Uint256Error;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_decimal(text)
    }
}

impl fmt::Display for Uint256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Serialize for Uint256 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Uint256 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::from_decimal(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn parses_the_full_range_and_no_more() {
        let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        assert_eq!(Uint256::from_decimal(max).unwrap().0, U256::MAX);
        let over = "115792089237316195423570985008687907853269984665640564039457584007913129639936";
        assert_eq!(Uint256::from_decimal(over), Err(Uint256Error::Overflow));
        assert_eq!(
            Uint256::from_decimal(&"9".repeat(79)),
            Err(Uint256Error::Overflow)
        );
        assert_eq!(Uint256::from_decimal("000123").unwrap(), Uint256::from(123));
        assert_eq!(Uint256::from_decimal("0").unwrap(), Uint256::ZERO);
    }

    #[test]
    fn refuses_anything_but_digits() {
        for bad in ["+1", "-1", " 1", "1 ", "1_000", "1e3", "0x10", "1.0", "١"] {
            assert_eq!(
                Uint256::from_decimal(bad),
                Err(Uint256Error::NotDecimal),
                "{bad}"
            );
        }
        assert_eq!(Uint256::from_decimal(""), Err(Uint256Error::Empty));
    }

    #[test]
    fn serde_form_is_a_decimal_string() {
        let v: Uint256 = serde_json::from_str("\"10000\"").unwrap();
        assert_eq!(v, Uint256::from(10_000));
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"10000\"");
        assert!(
            serde_json::from_str::<Uint256>("10000").is_err(),
            "numbers are not accepted"
        );
    }

    #[test]
    fn whole_units_as_people_write_them() {
        let units = |atomic: u64, decimals| Uint256::from(atomic).to_units(decimals);
        assert_eq!(units(1000, 6), "0.001");
        assert_eq!(units(1, 6), "0.000001");
        assert_eq!(units(2_500_000, 6), "2.5");
        assert_eq!(units(3_000_000, 6), "3");
        assert_eq!(units(0, 6), "0");
        assert_eq!(units(42, 0), "42");
        assert_eq!(
            units(1_000_000_000_000_000_000, 18),
            "1",
            "18-decimal tokens"
        );
    }
}
