//! Verification straight from a payment's JSON, reading only the fields the checks need.
//!
//! This is the path of the size-sensitive WASM builds (the paywall page, the npm package's
//! `verifyPayment`). It decodes with `serde-json-core`, which keeps numbers as integers and
//! has no dynamic JSON value, so neither float parsing nor `serde_json` is linked into them.
//! A strict syntax check (the private `syntax` module) runs first, so the decoder only ever
//! sees well-formed, shallow JSON. The checks themselves are those of
//! [`super::verify_payment`], in the same order, and `tests/light.rs` holds the two paths to
//! the same verdicts.
//!
//! Where the verdicts may differ, by design (each is tested in `tests/light.rs`):
//! - A v2 `accepted` is compared with the offer on `extra.name` and `extra.version`, not on
//!   the rest of `extra`: an `accepted` whose other `extra` members differ still matches here
//!   (the gateway, which holds the whole value, refuses it).
//! - Stricter here, where the gateway's `serde_json` is lenient: arrays and objects nest at
//!   most [`MAX_DEPTH`] levels; a lone surrogate escape (`"\ud800"`) is refused even in a
//!   member that is skipped; a member repeated inside `payload` is refused (the gateway keeps
//!   the last); and `accepted` must be an object (`serde_json` also reads a struct from an
//!   array of its fields).
//! - An `x402Version` written as a number too large for JSON parsers (`1e400`) is an
//!   unsupported version here and malformed JSON on the gateway.
//! - JSON errors say what was being read, not the line and column.

mod syntax;

use std::borrow::Cow;

use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::{find_offer, verify_against, Claim, Verified, VerifyError};
use crate::amount::Uint256;
use crate::evm::ExactEvmPayload;
use crate::networks::Networks;
use crate::protocol::HeaderError;
use crate::terms::Offer;

/// The deepest nesting of arrays and objects read; deeper input is refused before decoding.
/// The wire shapes need four levels.
pub const MAX_DEPTH: usize = 32;

/// Why [`verify_payment_json`] refused a payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LightError {
    /// The JSON is not a payment (malformed, no or an unsupported `x402Version`, missing
    /// members): what header decoding would have refused.
    Header(HeaderError),
    /// A readable payment that fails verification.
    Verify(VerifyError),
}

/// Verifies a payment's JSON (a decoded `X-PAYMENT` or `PAYMENT-SIGNATURE` value) against
/// the offered requirements at unix time `now` (seconds), with the checks of
/// [`super::verify_payment`] in the same order.
pub fn verify_payment_json(
    json: &[u8],
    offers: &[Offer<'_>],
    networks: &Networks,
    now: u64,
) -> Result<Verified, LightError> {
    let json = checked(json, "payment").map_err(LightError::Header)?;
    let envelope = read_envelope(&json).map_err(LightError::Header)?;
    let claim = envelope.claim().map_err(LightError::Header)?;
    let chain_of = |index: usize| super::chain_of(networks, offers[index].network);
    let index =
        find_offer(&claim, offers, chain_of, networks, |_| true).map_err(LightError::Verify)?;
    let payload = || {
        read::<PayloadMember>(&json, "payload")
            .map(|member| member.payload)
            .map_err(|e| e.to_string())
    };
    verify_against(index, &offers[index], payload, networks, now).map_err(LightError::Verify)
}

/// Appends `text` to `out` as a JSON string, quoted and escaped: how the builds without
/// `serde_json` write text into JSON (the verdict of the JavaScript `verifyPayment`).
#[cfg(any(test, feature = "js-verify"))]
pub(crate) fn push_json_string(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(c as u8 >> 4)]));
                out.push(char::from(HEX[usize::from(c as u8 & 0xf)]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Reads a JSON array of offered requirements, v1 (`maxAmountRequired`) or v2 (`amount`)
/// shaped; [`OfferFields::offer`] turns each into an [`Offer`].
pub fn read_requirements(json: &[u8]) -> Result<Vec<OfferFields<'_>>, HeaderError> {
    match checked(json, "requirements")? {
        Cow::Borrowed(json) => read(json, "requirements"),
        Cow::Owned(rewritten) => Ok(read::<Vec<OfferFields<'_>>>(&rewritten, "requirements")?
            .into_iter()
            .map(OfferFields::into_owned)
            .collect()),
    }
}

/// The fields of one offered requirement (or of a v2 `accepted`), as written.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferFields<'a> {
    #[serde(borrow)]
    scheme: Cow<'a, str>,
    #[serde(borrow)]
    network: Cow<'a, str>,
    /// v2's price.
    amount: Option<Uint256>,
    /// v1's price. Read leniently: a v2 `accepted` does not define it, so there it is an
    /// unknown member whatever it holds; [`Self::offer`] refuses one that is not a price.
    #[serde(borrow, default)]
    max_amount_required: Option<Text<'a>>,
    #[serde(borrow)]
    asset: Cow<'a, str>,
    #[serde(borrow)]
    pay_to: Cow<'a, str>,
    max_timeout_seconds: u64,
    #[serde(borrow, default)]
    extra: Eip712Fields<'a>,
}

impl OfferFields<'_> {
    /// The offer, priced by `amount` (v2) or `maxAmountRequired` (v1): exactly one of them.
    pub fn offer(&self) -> Result<Offer<'_>, HeaderError> {
        let v1_price = match &self.max_amount_required {
            None => None,
            Some(text) => Some(
                text.as_str()
                    .and_then(|text| Uint256::from_decimal(text).ok())
                    .ok_or_else(|| shape("maxAmountRequired is not a decimal string"))?,
            ),
        };
        match (self.amount, v1_price) {
            (Some(amount), None) | (None, Some(amount)) => Ok(self.priced(amount)),
            (None, None) => Err(shape(
                "a requirement has neither amount nor maxAmountRequired",
            )),
            (Some(_), Some(_)) => Err(shape("a requirement has both amount and maxAmountRequired")),
        }
    }

    fn priced(&self, amount: Uint256) -> Offer<'_> {
        Offer {
            scheme: &self.scheme,
            network: &self.network,
            amount,
            asset: &self.asset,
            pay_to: &self.pay_to,
            max_timeout_seconds: self.max_timeout_seconds,
            eip712: self.extra.name_and_version(),
        }
    }

    fn into_owned(self) -> OfferFields<'static> {
        let own = |text: Cow<'_, str>| Cow::Owned(text.into_owned());
        OfferFields {
            scheme: own(self.scheme),
            network: own(self.network),
            amount: self.amount,
            max_amount_required: self.max_amount_required.map(Text::into_owned),
            asset: own(self.asset),
            pay_to: own(self.pay_to),
            max_timeout_seconds: self.max_timeout_seconds,
            extra: Eip712Fields {
                name: self.extra.name.map(Text::into_owned),
                version: self.extra.version.map(Text::into_owned),
            },
        }
    }
}

/// The EIP-712 part of `extra`: its `name` and `version` members when `extra` is an object.
/// Anything else is read (and compared) as having neither, as the gateway compares it.
#[derive(Debug, Default)]
struct Eip712Fields<'a> {
    name: Option<Text<'a>>,
    version: Option<Text<'a>>,
}

impl Eip712Fields<'_> {
    fn name_and_version(&self) -> Option<(&str, &str)> {
        Some((
            self.name.as_ref()?.as_str()?,
            self.version.as_ref()?.as_str()?,
        ))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Eip712Fields<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = Eip712Fields<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields = Eip712Fields::default();
                // A repeated member counts as its last value, as in a JSON object value.
                // (Keys are read as `Text`: serde-json-core reads keys as `str` only.)
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    match key.as_str().unwrap_or_default() {
                        "name" => fields.name = Some(map.next_value()?),
                        "version" => fields.version = Some(map.next_value()?),
                        _ => drop(map.next_value::<IgnoredAny>()?),
                    }
                }
                Ok(fields)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                skip_seq(seq).map(|()| Eip712Fields::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Eip712Fields::default())
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Eip712Fields::default())
            }
        }
        deserializer.deserialize_ignored_any(Members)
    }
}

/// A JSON value read as text when it is a string, and as "not text" whatever else it is.
#[derive(Debug)]
struct Text<'a>(Option<Cow<'a, str>>);

impl Text<'_> {
    fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }

    fn into_owned(self) -> Text<'static> {
        Text(self.0.map(|text| Cow::Owned(text.into_owned())))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AnyValue;
        impl<'de> Visitor<'de> for AnyValue {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Borrowed(text))))
            }
            fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(text.to_owned()))))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                skip_seq(seq).map(|()| Text(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
        }
        deserializer.deserialize_ignored_any(AnyValue)
    }
}

fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// What a payment claims, as its version defines it. Members of the other version are
/// unknown members and skipped, as the gateway skips them.
enum Envelope<'a> {
    /// v1: `scheme` and `network`.
    V1 {
        scheme: Cow<'a, str>,
        network: Cow<'a, str>,
    },
    /// v2: the echoed requirement.
    V2 { accepted: OfferFields<'a> },
}

impl Envelope<'_> {
    fn claim(&self) -> Result<Claim<'_>, HeaderError> {
        match self {
            Self::V1 { scheme, network } => Ok(Claim::V1 { scheme, network }),
            Self::V2 { accepted } => {
                let amount = accepted.amount.ok_or_else(|| missing("accepted.amount"))?;
                Ok(Claim::V2(accepted.priced(amount)))
            }
        }
    }
}

/// The payload, read once a requirement matches.
#[derive(Deserialize)]
struct PayloadMember {
    payload: ExactEvmPayload,
}

/// Reads `x402Version` first, as header decoding does (a missing or unsupported version is
/// reported as such whatever else is wrong), then the members of that version. `payload`
/// must be present (`null` included) but is not read yet.
fn read_envelope(json: &[u8]) -> Result<Envelope<'_>, HeaderError> {
    #[derive(Deserialize)]
    struct VersionMember {
        #[serde(rename = "x402Version")]
        version: Option<u64>,
    }
    #[derive(Deserialize)]
    struct V1Members<'a> {
        #[serde(borrow)]
        scheme: Cow<'a, str>,
        #[serde(borrow)]
        network: Cow<'a, str>,
        #[allow(dead_code)] // present, read later
        payload: IgnoredAny,
    }
    /// v2's members. `resource` and `extensions` are read for their shape only, as the
    /// gateway's wire model reads them.
    #[derive(Deserialize)]
    struct V2Members<'a> {
        #[serde(borrow)]
        accepted: OfferFields<'a>,
        #[allow(dead_code)] // present, read later
        payload: IgnoredAny,
        #[allow(dead_code)] // shape only
        #[serde(borrow, default)]
        resource: Option<ResourceFields<'a>>,
        #[allow(dead_code)] // shape only
        #[serde(default)]
        extensions: Option<IgnoredAny>,
    }
    #[allow(dead_code)] // shape only
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ResourceFields<'a> {
        #[serde(borrow)]
        url: Cow<'a, str>,
        #[serde(borrow, default)]
        description: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        mime_type: Option<Cow<'a, str>>,
    }
    if json.trim_ascii_start().first() != Some(&b'{') {
        return Err(shape("a payment is a JSON object"));
    }
    // The input is a well-formed object, so reading the version fails on its value, or on a
    // repeated `x402Version` (serde's custom "duplicate field" error), which is malformed.
    let version = match decode::<VersionMember>(json) {
        Ok(version) => version,
        Err(e @ serde_json_core::de::Error::CustomError) => {
            return Err(shape(&format!("payment: {e}")))
        }
        Err(_) => {
            return Err(HeaderError::UnsupportedVersion {
                found: "that is not a whole number".into(),
            })
        }
    };
    match version.version {
        None => Err(HeaderError::MissingVersion),
        Some(1) => read::<V1Members<'_>>(json, "payment").map(|m| Envelope::V1 {
            scheme: m.scheme,
            network: m.network,
        }),
        Some(2) => read::<V2Members<'_>>(json, "payment").map(|m| Envelope::V2 {
            accepted: m.accepted,
        }),
        Some(found) => Err(HeaderError::UnsupportedVersion {
            found: found.to_string(),
        }),
    }
}

/// `json` after the strict syntax check (rewritten where it holds escaped surrogate pairs);
/// `what` names it in errors.
fn checked<'a>(json: &'a [u8], what: &str) -> Result<Cow<'a, [u8]>, HeaderError> {
    syntax::check(json, MAX_DEPTH).map_err(|problem| shape(&format!("{what}: {problem}")))
}

/// Decodes checked JSON as a `T`; `what` names it in errors.
fn read<'a, T: Deserialize<'a>>(json: &'a [u8], what: &str) -> Result<T, HeaderError> {
    decode(json).map_err(|e| shape(&format!("{what}: {e}")))
}

fn decode<'a, T: Deserialize<'a>>(json: &'a [u8]) -> Result<T, serde_json_core::de::Error> {
    // Escaped strings are written here one at a time; none is longer than the input.
    let mut scratch = vec![0; json.len()];
    serde_json_core::from_slice_escaped(json, &mut scratch).map(|(value, _)| value)
}

fn shape(message: &str) -> HeaderError {
    HeaderError::Json {
        message: message.to_owned(),
    }
}

fn missing(member: &str) -> HeaderError {
    shape(&format!("missing field `{member}`"))
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn json_strings_are_written_escaped_and_read_back_the_same() {
        let every_control: String = (0u8..0x20).map(char::from).collect();
        for text in [
            "",
            "plain",
            "a quote \" a backslash \\ a slash / a brace }",
            "\\u0041 is not an escape here",
            "\n\r\t\u{7f}",
            &every_control,
            "é ☃ 😀",
        ] {
            let mut json = String::new();
            push_json_string(&mut json, text);
            assert_eq!(
                serde_json::from_str::<String>(&json).unwrap(),
                text,
                "{json}"
            );
            assert!(syntax::check(json.as_bytes(), 1).is_ok(), "{json}");
        }
    }
}
