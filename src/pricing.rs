//! Prices as people write them → exact atomic token amounts, with integers only.
//!
//! | written | meaning |
//! |---|---|
//! | `"$0.001"` | US dollars, paid in a USD-stable asset (1 token = $1): 1000 units of USDC |
//! | `"0.001"` | whole tokens of the chosen asset, scaled by its decimals |
//! | `"1000"` | atomic units, taken as they are (write `"1.0"` or `"$1"` for one whole token) |

use core::fmt;

use crate::amount::Uint256;
use crate::networks::Asset;

/// A parsed price, not yet tied to an asset. It keeps the text it was written as, so that
/// errors can name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Price {
    text: String,
    amount: PriceAmount,
}

/// What a price's text says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PriceAmount {
    /// `$<decimal>`: US dollars.
    Usd(Decimal),
    /// `<int>.<frac>`: whole tokens of the asset.
    Tokens(Decimal),
    /// `<int>`: atomic units.
    Atomic(Uint256),
}

/// A non-negative decimal number kept as its digits, so no precision is lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decimal {
    integer: String,
    fraction: String,
}

/// Why a price cannot be used. Each variant names the text that was given.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PriceError {
    /// Nothing but white space (or a lone `$`).
    Empty { value: String },
    /// A minus sign: prices are never negative.
    Negative { value: String },
    /// Not a plain decimal number (letters, exponents, separators, several dots …).
    Invalid { value: String },
    /// More fractional digits than the asset has decimals.
    TooManyDecimals { value: String, decimals: u8 },
    /// The amount does not fit in a `uint256`.
    Overflow { value: String },
    /// A `$` price for an asset that is not marked USD-stable.
    NotUsdAsset { value: String },
}

impl fmt::Display for PriceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty { value } => write!(f, "price {value:?} is empty"),
            Self::Negative { value } => write!(f, "price {value:?} is negative"),
            Self::Invalid { value } => write!(
                f,
                "price {value:?} is not a number like \"$0.01\", \"0.01\" or \"10000\""
            ),
            Self::TooManyDecimals { value, decimals } => {
                write!(f, "price {value:?} has more than {decimals} decimal places")
            }
            Self::Overflow { value } => write!(f, "price {value:?} does not fit in 256 bits"),
            Self::NotUsdAsset { value } => write!(
                f,
                "price {value:?} is in dollars but the asset is not marked USD-stable"
            ),
        }
    }
}

impl std::error::Error for PriceError {}

impl Price {
    /// Nothing: zero atomic units.
    pub fn zero() -> Self {
        Self {
            text: "0".into(),
            amount: PriceAmount::Atomic(Uint256::ZERO),
        }
    }

    /// Parses `"$0.001"`, `"0.001"` or `"1000"` (surrounding white space is ignored).
    pub fn parse(text: &str) -> Result<Self, PriceError> {
        let value = || text.to_owned();
        let trimmed = text.trim();
        let (usd, number) = match trimmed.strip_prefix('$') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        if number.is_empty() {
            return Err(PriceError::Empty { value: value() });
        }
        if number.starts_with('-') {
            return Err(PriceError::Negative { value: value() });
        }
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let (integer, fraction) = match number.split_once('.') {
            Some((i, f)) if all_digits(i) && all_digits(f) => (i, Some(f)),
            None if all_digits(number) => (number, None),
            _ => return Err(PriceError::Invalid { value: value() }),
        };
        let decimal = || Decimal {
            integer: integer.to_owned(),
            fraction: fraction.unwrap_or("").to_owned(),
        };
        let amount = match (usd, fraction) {
            (true, _) => PriceAmount::Usd(decimal()),
            (false, Some(_)) => PriceAmount::Tokens(decimal()),
            (false, None) => PriceAmount::Atomic(
                Uint256::from_decimal(integer)
                    .map_err(|_| PriceError::Overflow { value: value() })?,
            ),
        };
        Ok(Self {
            text: value(),
            amount,
        })
    }

    /// The price in US dollars as a number, when it is written in dollars: for displays
    /// (MCP `tools/list` annotations), never for amounts.
    pub fn usd(&self) -> Option<f64> {
        match &self.amount {
            PriceAmount::Usd(decimal) => format!("{}.{}", decimal.integer, decimal.fraction)
                .parse()
                .ok(),
            _ => None,
        }
    }

    /// What the price says, before an asset is chosen.
    pub fn amount(&self) -> &PriceAmount {
        &self.amount
    }

    /// The exact amount in the asset's atomic units.
    pub fn to_atomic(&self, asset: &Asset) -> Result<Uint256, PriceError> {
        let value = || self.text.clone();
        let decimal = match &self.amount {
            PriceAmount::Atomic(units) => return Ok(*units),
            PriceAmount::Usd(_) if !asset.usd_stable => {
                return Err(PriceError::NotUsdAsset { value: value() })
            }
            PriceAmount::Usd(decimal) | PriceAmount::Tokens(decimal) => decimal,
        };
        let decimals = usize::from(asset.decimals);
        if decimal.fraction.len() > decimals {
            return Err(PriceError::TooManyDecimals {
                value: value(),
                decimals: asset.decimals,
            });
        }
        // integer * 10^decimals + fraction * 10^(decimals - len(fraction)), as one digit string.
        let padding = "0".repeat(decimals - decimal.fraction.len());
        let digits = format!("{}{}{padding}", decimal.integer, decimal.fraction);
        Uint256::from_decimal(&digits).map_err(|_| PriceError::Overflow { value: value() })
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::networks::Networks;

    fn usdc() -> Asset {
        Networks::builtin().resolve("base").unwrap().assets[0].clone()
    }

    fn atomic(text: &str, asset: &Asset) -> Result<Uint256, PriceError> {
        Price::parse(text)?.to_atomic(asset)
    }

    #[test]
    fn dollars_tokens_and_atomic_units() {
        let usdc = usdc();
        assert_eq!(atomic("$0.001", &usdc), Ok(Uint256::from(1_000)));
        assert_eq!(atomic("$1", &usdc), Ok(Uint256::from(1_000_000)));
        assert_eq!(atomic(" $0.000001 ", &usdc), Ok(Uint256::from(1)));
        assert_eq!(atomic("0.001", &usdc), Ok(Uint256::from(1_000)));
        assert_eq!(atomic("1000", &usdc), Ok(Uint256::from(1_000)));
        assert_eq!(atomic("0", &usdc), Ok(Uint256::ZERO));
        let eighteen = Asset {
            decimals: 18,
            usd_stable: false,
            ..usdc.clone()
        };
        assert_eq!(
            atomic("1.5", &eighteen),
            Ok(Uint256::from_decimal("1500000000000000000").unwrap())
        );
    }

    #[test]
    fn errors_name_the_bad_value() {
        let usdc = usdc();
        let cases = [
            ("", PriceError::Empty { value: "".into() }),
            ("$", PriceError::Empty { value: "$".into() }),
            ("-1", PriceError::Negative { value: "-1".into() }),
            (
                "$-0.01",
                PriceError::Negative {
                    value: "$-0.01".into(),
                },
            ),
            (
                "1e3",
                PriceError::Invalid {
                    value: "1e3".into(),
                },
            ),
            ("1.", PriceError::Invalid { value: "1.".into() }),
            (
                "1.2.3",
                PriceError::Invalid {
                    value: "1.2.3".into(),
                },
            ),
            (
                "1,000",
                PriceError::Invalid {
                    value: "1,000".into(),
                },
            ),
            (
                "USD 1",
                PriceError::Invalid {
                    value: "USD 1".into(),
                },
            ),
            (
                "$0.0000001",
                PriceError::TooManyDecimals {
                    value: "$0.0000001".into(),
                    decimals: 6,
                },
            ),
        ];
        for (text, expected) in cases {
            let got = atomic(text, &usdc).unwrap_err();
            assert_eq!(got, expected);
            assert!(got.to_string().contains(&format!("{text:?}")), "{got}");
        }
        let huge = "2".repeat(78);
        assert_eq!(
            atomic(&huge, &usdc),
            Err(PriceError::Overflow {
                value: huge.clone()
            })
        );
        let huge_tokens = format!("{}.0", "1".repeat(75));
        assert_eq!(
            atomic(&huge_tokens, &usdc),
            Err(PriceError::Overflow {
                value: huge_tokens.clone()
            })
        );
        let weth = Asset {
            usd_stable: false,
            ..usdc
        };
        assert_eq!(
            atomic("$1", &weth),
            Err(PriceError::NotUsdAsset { value: "$1".into() })
        );
    }
}
