//! Pay-per-crawl's headers (Cloudflare's AI Crawl Control), spoken beside x402: a 402 to a
//! crawler states `crawler-price: USD 0.01`; a crawler states what it accepts to pay with
//! `crawler-exact-price` (equal to the price) or `crawler-max-price` (at least the price);
//! paid content it is served says `crawler-charged`; a refusal names its cause in
//! `crawler-error`, with Cloudflare's names. Payment itself is x402's: a crawler is served in
//! one round trip when it sends an acceptable price header and a valid payment together.
//!
//! The headers speak US dollars only; a route priced in a token that is not USD-stable states
//! no `crawler-price`, and price headers sent to it are not compared.

use core::fmt;

use crate::config::Accept;
use crate::networks::Networks;

/// The response header stating a crawler's price.
pub const CRAWLER_PRICE: &str = "crawler-price";
/// The request header of a crawler that accepts exactly the stated price.
pub const CRAWLER_EXACT_PRICE: &str = "crawler-exact-price";
/// The request header of a crawler that accepts any price up to its value.
pub const CRAWLER_MAX_PRICE: &str = "crawler-max-price";
/// The response header of paid content: what the crawler was charged.
pub const CRAWLER_CHARGED: &str = "crawler-charged";
/// The response header naming why a crawler's request was refused.
pub const CRAWLER_ERROR: &str = "crawler-error";

/// Fractional digits a crawler price may have (a token's, at the most).
const MAX_DECIMALS: u32 = 18;
/// The currency the headers speak.
const CURRENCY: &str = "USD";

/// A price in US dollars as the headers write it (`USD 0.01`), exactly: in units of
/// 10⁻¹⁸ dollars.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CrawlerPrice {
    atto: u128,
}

/// Why a crawler's price headers are refused; [`CrawlerPriceError::crawler_error`] is
/// Cloudflare's name of each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrawlerPriceError {
    /// Both `crawler-exact-price` and `crawler-max-price`.
    Conflicting,
    /// A value that is not `USD <decimal>`, or a header sent twice.
    InvalidValue,
    /// `crawler-exact-price` is not the price.
    ExactMismatch,
    /// `crawler-max-price` is below the price.
    MaxTooLow,
}

impl CrawlerPriceError {
    /// The `crawler-error` value.
    pub fn crawler_error(self) -> &'static str {
        match self {
            Self::Conflicting => "ConflictingPriceHeaders",
            Self::InvalidValue => "InvalidCrawlerPriceValue",
            Self::ExactMismatch => "InvalidCrawlerExactPrice",
            Self::MaxTooLow => "InvalidCrawlerMaxPrice",
        }
    }
}

impl fmt::Display for CrawlerPriceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Conflicting => "both crawler-exact-price and crawler-max-price",
            Self::InvalidValue => "a crawler price header is not \"USD <amount>\", or came twice",
            Self::ExactMismatch => "crawler-exact-price is not the price",
            Self::MaxTooLow => "crawler-max-price is below the price",
        })
    }
}

impl CrawlerPrice {
    /// Reads `USD 0.01` (one space; at most 18 fractional digits).
    pub fn parse(text: &str) -> Option<Self> {
        let amount = text.strip_prefix(CURRENCY)?.strip_prefix(' ')?;
        let (integer, fraction) = amount.split_once('.').unwrap_or((amount, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let fraction_ok = !amount.ends_with('.') && fraction.len() <= MAX_DECIMALS as usize;
        if integer.is_empty() || !digits(integer) || !digits(fraction) || !fraction_ok {
            return None;
        }
        let scale = 10u128.pow(MAX_DECIMALS - fraction.len() as u32);
        let whole: u128 = integer.parse().ok()?;
        let part: u128 = match fraction {
            "" => 0,
            f => f.parse().ok()?,
        };
        let atto = whole
            .checked_mul(10u128.pow(MAX_DECIMALS))?
            .checked_add(part.checked_mul(scale)?)?;
        Some(Self { atto })
    }

    /// The dollar value of the first of `offers` in a USD-stable token (an amount of
    /// `decimals` fractional digits is that many dollars' fractions), if any.
    pub fn of_offers(offers: &[Accept], networks: &Networks) -> Option<Self> {
        offers.iter().find_map(|accept| {
            let domain = &accept.terms.domain;
            let asset = networks
                .by_chain_id(domain.chain_id)?
                .asset(&domain.verifying_contract)?;
            if !asset.usd_stable || u32::from(asset.decimals) > MAX_DECIMALS {
                return None;
            }
            let amount = u128::try_from(accept.requirement.amount.0).ok()?;
            let atto = amount.checked_mul(10u128.pow(MAX_DECIMALS - u32::from(asset.decimals)))?;
            Some(Self { atto })
        })
    }

    /// Checks a crawler's price headers (`exact`, `max`: their values, `None` when absent)
    /// against this price. `Ok(())` when it sent none, or one that accepts the price.
    pub fn agreed(self, exact: Option<&str>, max: Option<&str>) -> Result<(), CrawlerPriceError> {
        let read = |text: &str| Self::parse(text).ok_or(CrawlerPriceError::InvalidValue);
        match (exact, max) {
            (Some(_), Some(_)) => Err(CrawlerPriceError::Conflicting),
            (Some(exact), None) if read(exact)? != self => Err(CrawlerPriceError::ExactMismatch),
            (None, Some(max)) if read(max)? < self => Err(CrawlerPriceError::MaxTooLow),
            _ => Ok(()),
        }
    }
}

/// `USD <integer>.<fraction>`, with at least two fractional digits (`USD 0.01`,
/// `USD 0.001`, `USD 3.10`).
impl fmt::Display for CrawlerPrice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = 10u128.pow(MAX_DECIMALS);
        let fraction = format!("{:018}", self.atto % unit);
        let kept = fraction.trim_end_matches('0').len().max(2);
        write!(f, "{CURRENCY} {}.{}", self.atto / unit, &fraction[..kept])
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn usd(text: &str) -> CrawlerPrice {
        CrawlerPrice::parse(text).unwrap_or_else(|| panic!("{text}"))
    }

    #[test]
    fn prices_read_and_print_as_the_headers_write_them() {
        for (text, printed) in [
            ("USD 0.01", "USD 0.01"),
            ("USD 3.14", "USD 3.14"),
            ("USD 0.001", "USD 0.001"),
            ("USD 1", "USD 1.00"),
            ("USD 1.5", "USD 1.50"),
            ("USD 0.000000000000000001", "USD 0.000000000000000001"),
        ] {
            assert_eq!(usd(text).to_string(), printed);
            assert_eq!(usd(printed), usd(text));
        }
        for bad in [
            "",
            "USD",
            "USD ",
            "usd 0.01",
            "EUR 0.01",
            "USD  0.01",
            "USD 0.01 ",
            "USD -1",
            "USD .5",
            "USD 1.",
            "USD 1e3",
            "USD 0.0000000000000000001",
            "$0.01",
            "USD 99999999999999999999999999",
        ] {
            assert_eq!(CrawlerPrice::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_crawler_agrees_with_an_exact_price_or_a_maximum_at_least_the_price() {
        let price = usd("USD 0.01");
        assert_eq!(price.agreed(None, None), Ok(()));
        assert_eq!(price.agreed(Some("USD 0.010"), None), Ok(()));
        assert_eq!(price.agreed(None, Some("USD 0.01")), Ok(()));
        assert_eq!(price.agreed(None, Some("USD 5")), Ok(()));
        assert_eq!(
            price.agreed(Some("USD 0.02"), None),
            Err(CrawlerPriceError::ExactMismatch)
        );
        assert_eq!(
            price.agreed(None, Some("USD 0.009")),
            Err(CrawlerPriceError::MaxTooLow)
        );
        assert_eq!(
            price.agreed(Some("USD 0.01"), Some("USD 1")),
            Err(CrawlerPriceError::Conflicting)
        );
        assert_eq!(
            price.agreed(None, Some("0.01")),
            Err(CrawlerPriceError::InvalidValue)
        );
    }
}
