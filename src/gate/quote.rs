//! Signed quotes: a price decided for one request, held for the payment that answers it.
//!
//! A route priced per request may change its price between the 402 and the paid retry. Its
//! challenge therefore quotes each way to pay: `extra.edge402Quote` is
//! `v1.<expires>.<mac>`, where `mac` is HMAC-SHA256 under the gateway's `QUOTE_SECRET`
//! (base64url, unpadded) over the resource (`METHOD /canonical/path?query`), the
//! requirement's scheme, network, asset, recipient, amount and timeout, and the expiry. x402
//! v2 clients echo the requirement they pay, `extra` included, so a payment carrying an
//! unexpired quote of ours is held to the quoted amount, whatever the price is now. Nothing
//! but the key can make a quote, so a client cannot pick its own price; a quote for another
//! resource or amount does not verify. (x402 v1 payments do not carry the requirement, so
//! they are held to the price at the time they arrive.)

use core::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::protocol::v2;

/// The key of `extra` that carries a quote.
pub const QUOTE_FIELD: &str = "edge402Quote";

/// The name of the secret quotes are signed with, for configuration errors.
pub const QUOTE_SECRET: &str = "QUOTE_SECRET";

/// The shortest `QUOTE_SECRET`, in bytes.
pub const MIN_QUOTE_SECRET_LEN: usize = 32;

/// The format tag at the start of a quote, and in what its MAC covers.
const FORMAT: &str = "v1";

/// The key quotes are signed with (from the `QUOTE_SECRET` secret). Its bytes never leave it.
#[derive(Clone)]
pub struct QuoteKey(Vec<u8>);

impl fmt::Debug for QuoteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QuoteKey(…)")
    }
}

/// The secret is too short to sign with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShortQuoteSecret;

impl QuoteKey {
    /// A key from the secret's bytes (at least [`MIN_QUOTE_SECRET_LEN`]).
    pub fn new(secret: &[u8]) -> Result<Self, ShortQuoteSecret> {
        match secret.len() >= MIN_QUOTE_SECRET_LEN {
            true => Ok(Self(secret.to_vec())),
            false => Err(ShortQuoteSecret),
        }
    }

    /// The quote of `requirement` for `resource`, valid until unix time `expires`.
    pub fn sign(
        &self,
        resource: &str,
        requirement: &v2::PaymentRequirements,
        expires: u64,
    ) -> String {
        let mac = URL_SAFE_NO_PAD.encode(self.mac(resource, requirement, expires));
        format!("{FORMAT}.{expires}.{mac}")
    }

    /// Checks the quote a payment's `accepted` requirement carries, for `resource` at unix
    /// time `now`. `Ok(None)`: it carries none.
    pub fn check(
        &self,
        resource: &str,
        accepted: &v2::PaymentRequirements,
        now: u64,
    ) -> Result<Option<Quote>, QuoteError> {
        let Some(quote) = accepted
            .extra
            .as_ref()
            .and_then(|extra| extra.get(QUOTE_FIELD))
        else {
            return Ok(None);
        };
        let (expires, mac) = quote
            .as_str()
            .and_then(|text| {
                text.strip_prefix(FORMAT)?
                    .strip_prefix('.')?
                    .split_once('.')
            })
            .and_then(|(expires, mac)| {
                let canonical = !expires.starts_with('0') || expires == "0";
                let expires = expires.parse::<u64>().ok().filter(|_| canonical)?;
                Some((expires, URL_SAFE_NO_PAD.decode(mac).ok()?))
            })
            .ok_or(QuoteError::Malformed)?;
        let expected = self.mac(resource, accepted, expires);
        if !bool::from(expected.as_slice().ct_eq(&mac)) {
            return Err(QuoteError::Forged);
        }
        if now > expires {
            return Err(QuoteError::Expired { expires });
        }
        Ok(Some(Quote { expires }))
    }

    /// HMAC-SHA256 over the format, the resource, the requirement's terms and the expiry,
    /// one per line (none of them can hold a line break: the resource is a canonical path,
    /// the rest are identifiers and numbers).
    fn mac(&self, resource: &str, requirement: &v2::PaymentRequirements, expires: u64) -> Vec<u8> {
        // HMAC takes keys of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        let v2::PaymentRequirements {
            scheme,
            network,
            amount,
            asset,
            pay_to,
            max_timeout_seconds,
            ..
        } = requirement;
        let text = format!(
            "edge402-quote-{FORMAT}\n{resource}\n{scheme}\n{network}\n{asset}\n{pay_to}\n{amount}\n{max_timeout_seconds}\n{expires}"
        );
        mac.update(text.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

/// A quote that verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quote {
    /// Unix time after which it no longer holds.
    pub expires: u64,
}

/// Why a payment's quote is not honoured. The client gets a fresh challenge at the price of
/// now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum QuoteError {
    /// Not a quote of this gateway's format (the client's).
    Malformed,
    /// Its MAC does not match: changed, made up, or for another resource or amount (the
    /// client's).
    Forged,
    /// It held until `expires`, which has passed (the client's: it waited too long).
    Expired {
        /// Unix time it held until.
        expires: u64,
    },
}

impl fmt::Display for QuoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed => f.write_str("the quote is not one of this gateway's"),
            Self::Forged => f.write_str("the quote does not verify for this resource and amount"),
            Self::Expired { expires } => write!(f, "the quote expired at {expires}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn requirement(amount: u64) -> v2::PaymentRequirements {
        v2::PaymentRequirements {
            scheme: "exact".into(),
            network: "eip155:84532".into(),
            amount: crate::amount::Uint256::from(amount),
            asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e".into(),
            pay_to: "0x209693Bc6afc0C5328bA36FaF03C514EF312287C".into(),
            max_timeout_seconds: 60,
            extra: Some(json!({"name": "USDC", "version": "2"})),
        }
    }

    fn quoted(
        key: &QuoteKey,
        resource: &str,
        amount: u64,
        expires: u64,
    ) -> v2::PaymentRequirements {
        let mut requirement = requirement(amount);
        let quote = key.sign(resource, &requirement, expires);
        requirement.extra.as_mut().unwrap()[QUOTE_FIELD] = quote.into();
        requirement
    }

    fn key(byte: u8) -> QuoteKey {
        QuoteKey::new(&[byte; 32]).unwrap()
    }

    #[test]
    fn a_quote_holds_for_its_resource_and_amount_until_it_expires() {
        let accepted = quoted(&key(1), "GET /api/x", 2000, 1_000);
        assert_eq!(
            key(1).check("GET /api/x", &accepted, 1_000),
            Ok(Some(Quote { expires: 1_000 }))
        );
        assert_eq!(
            key(1).check("GET /api/x", &accepted, 1_001),
            Err(QuoteError::Expired { expires: 1_000 })
        );
    }

    #[test]
    fn a_changed_amount_resource_recipient_or_key_is_forged() {
        let accepted = quoted(&key(1), "GET /api/x", 2000, 1_000);
        let check = |key: &QuoteKey, resource: &str, accepted: &v2::PaymentRequirements| {
            key.check(resource, accepted, 0)
        };
        assert_eq!(
            check(&key(2), "GET /api/x", &accepted),
            Err(QuoteError::Forged)
        );
        assert_eq!(
            check(&key(1), "GET /api/y", &accepted),
            Err(QuoteError::Forged)
        );
        assert_eq!(
            check(&key(1), "POST /api/x", &accepted),
            Err(QuoteError::Forged)
        );
        let mut cheaper = accepted.clone();
        cheaper.amount = crate::amount::Uint256::from(1u64);
        assert_eq!(
            check(&key(1), "GET /api/x", &cheaper),
            Err(QuoteError::Forged)
        );
        let mut elsewhere = accepted.clone();
        elsewhere.pay_to = "0x0000000000000000000000000000000000000001".into();
        assert_eq!(
            check(&key(1), "GET /api/x", &elsewhere),
            Err(QuoteError::Forged)
        );
        // A later expiry under the old MAC.
        let mut later = accepted.clone();
        let text = later.extra.as_ref().unwrap()[QUOTE_FIELD]
            .as_str()
            .unwrap()
            .to_owned();
        let mac = text.rsplit('.').next().unwrap();
        later.extra.as_mut().unwrap()[QUOTE_FIELD] = format!("v1.99999.{mac}").into();
        assert_eq!(
            check(&key(1), "GET /api/x", &later),
            Err(QuoteError::Forged)
        );
    }

    #[test]
    fn malformed_quotes_are_named_so_and_no_quote_is_none() {
        let key = key(1);
        assert_eq!(key.check("GET /", &requirement(1), 0), Ok(None));
        for bad in [
            json!(1),
            json!("v1.x.AAAA"),
            json!("v2.1.AAAA"),
            json!("v1.01.AAAA"),
            json!("v1.1"),
            json!("v1.1.***"),
        ] {
            let mut accepted = requirement(1);
            accepted.extra.as_mut().unwrap()[QUOTE_FIELD] = bad.clone();
            assert_eq!(
                key.check("GET /", &accepted, 0),
                Err(QuoteError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_short_secret_is_refused() {
        assert_eq!(QuoteKey::new(&[1; 31]).unwrap_err(), ShortQuoteSecret);
    }
}
