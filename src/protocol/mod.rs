//! The x402 wire model, v1 and v2, and the codecs of its HTTP headers.
//!
//! Every header carries base64 (standard alphabet, padded) of UTF-8 JSON. Decoding an
//! untrusted header is bounded by [`MAX_HEADER_LEN`] and never panics; unknown JSON fields
//! are ignored on input.

mod codec;
pub mod facilitator;
mod reason;
pub mod v1;
pub mod v2;
mod version;

pub use codec::{decode_header, decode_header_bytes, encode_header, HeaderError, MAX_HEADER_LEN};

pub use reason::Reason;
pub use version::Version;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Request header of a v1 payment.
pub const X_PAYMENT: &str = "X-PAYMENT";
/// Response header of a v1 settlement.
pub const X_PAYMENT_RESPONSE: &str = "X-PAYMENT-RESPONSE";
/// Request header of a v2 payment.
pub const PAYMENT_SIGNATURE: &str = "PAYMENT-SIGNATURE";
/// Response header of a v2 402 challenge.
pub const PAYMENT_REQUIRED: &str = "PAYMENT-REQUIRED";
/// Response header of a v2 settlement.
pub const PAYMENT_RESPONSE: &str = "PAYMENT-RESPONSE";

/// A payment as a client sends it, in either protocol version.
// One payment is decoded per request and moved rarely; boxing v2 would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum PaymentPayload {
    /// `X-PAYMENT`: `{x402Version: 1, scheme, network, payload}`.
    V1(v1::PaymentPayload),
    /// `PAYMENT-SIGNATURE`: `{x402Version: 2, resource?, accepted, payload, extensions?}`.
    V2(v2::PaymentPayload),
}

/// Payment requirements in either version's shape, as a facilitator request carries them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PaymentRequirements {
    /// v1: with `maxAmountRequired` and the resource fields.
    V1(v1::PaymentRequirements),
    /// v2: with `amount`.
    V2(v2::PaymentRequirements),
}

impl PaymentPayload {
    /// Decodes a payment header (`X-PAYMENT` or `PAYMENT-SIGNATURE`): the shape is chosen by
    /// the JSON's `x402Version`, whichever header carried it.
    pub fn from_header(value: &str) -> Result<Self, HeaderError> {
        Self::from_json_slice(&decode_header_bytes(value)?)
    }

    /// Reads a payment from JSON bytes by its `x402Version`, straight into the typed shape.
    pub fn from_json_slice(bytes: &[u8]) -> Result<Self, HeaderError> {
        /// Only the version is read on the first pass; every other member is skipped.
        #[derive(Deserialize)]
        struct Probe {
            #[serde(rename = "x402Version")]
            version: Option<Value>,
        }
        let probe: Probe = serde_json::from_slice(bytes).map_err(HeaderError::json)?;
        let version = probe.version.ok_or(HeaderError::MissingVersion)?;
        match version.as_u64() {
            Some(1) => serde_json::from_slice(bytes).map(Self::V1),
            Some(2) => serde_json::from_slice(bytes).map(Self::V2),
            _ => {
                return Err(HeaderError::UnsupportedVersion {
                    found: describe_version(&version),
                })
            }
        }
        .map_err(HeaderError::json)
    }

    /// Reads a decoded payment by its `x402Version`.
    pub fn from_json(json: Value) -> Result<Self, HeaderError> {
        if !json.is_object() {
            return Err(HeaderError::Json {
                message: "a payment is a JSON object".into(),
            });
        }
        let version = json.get("x402Version").ok_or(HeaderError::MissingVersion)?;
        match version.as_u64() {
            Some(1) => serde_json::from_value(json).map(Self::V1),
            Some(2) => serde_json::from_value(json).map(Self::V2),
            _ => {
                return Err(HeaderError::UnsupportedVersion {
                    found: describe_version(version),
                })
            }
        }
        .map_err(HeaderError::json)
    }

    /// Encodes the payment as a header value.
    pub fn to_header(&self) -> String {
        encode_header(self)
    }

    /// The protocol version.
    pub fn version(&self) -> u8 {
        match self {
            Self::V1(_) => 1,
            Self::V2(_) => 2,
        }
    }

    /// The payment scheme (`exact`).
    pub fn scheme(&self) -> &str {
        match self {
            Self::V1(p) => &p.scheme,
            Self::V2(p) => &p.accepted.scheme,
        }
    }

    /// The network as the client wrote it (a v1 name or a CAIP-2 id).
    pub fn network(&self) -> &str {
        match self {
            Self::V1(p) => &p.network,
            Self::V2(p) => &p.accepted.network,
        }
    }

    /// The scheme-specific payload.
    pub fn payload(&self) -> &Value {
        match self {
            Self::V1(p) => &p.payload,
            Self::V2(p) => &p.payload,
        }
    }

    /// The header a client sends this payment in.
    pub fn header_name(&self) -> &'static str {
        match self {
            Self::V1(_) => X_PAYMENT,
            Self::V2(_) => PAYMENT_SIGNATURE,
        }
    }

    /// The header a server answers this payment's settlement in.
    pub fn response_header_name(&self) -> &'static str {
        match self {
            Self::V1(_) => X_PAYMENT_RESPONSE,
            Self::V2(_) => PAYMENT_RESPONSE,
        }
    }
}

/// An unsupported `x402Version`, for messages: whole numbers and strings as written, other
/// values by their kind (which keeps float formatting out of the WASM builds).
fn describe_version(version: &Value) -> String {
    match version {
        Value::Number(n) => n.as_u64().map_or_else(
            || "a fractional or negative number".into(),
            |n| n.to_string(),
        ),
        Value::String(s) => format!("{s:?}"),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}
