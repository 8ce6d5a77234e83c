use core::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The longest header value decoded, in bytes of base64 text (16 KiB).
///
/// A v2 payment with its resource and extensions is a few kilobytes; Cloudflare caps all
/// request headers together at 32 KiB. Longer values are refused before any decoding.
pub const MAX_HEADER_LEN: usize = 16 * 1024;

/// Why a header value could not be decoded. The sender caused it; the gateway answers
/// `invalid_payload` (or `invalid_x402_version`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// Longer than [`MAX_HEADER_LEN`].
    TooLong { len: usize },
    /// Not standard base64.
    Base64,
    /// Not UTF-8 JSON of the expected shape; the message says where.
    Json { message: String },
    /// A payment without `x402Version`.
    MissingVersion,
    /// An `x402Version` other than 1 or 2.
    UnsupportedVersion { found: String },
}

impl HeaderError {
    /// The wire reason a header that does not decode is answered with.
    pub fn reason(&self) -> super::Reason {
        match self {
            Self::UnsupportedVersion { .. } => super::Reason::InvalidX402Version,
            _ => super::Reason::InvalidPayload,
        }
    }

    pub(crate) fn json(error: serde_json::Error) -> Self {
        Self::Json {
            message: error.to_string(),
        }
    }
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong { len } => {
                write!(
                    f,
                    "header is {len} bytes, more than the {MAX_HEADER_LEN} accepted"
                )
            }
            Self::Base64 => f.write_str("header is not standard base64"),
            Self::Json { message } => write!(f, "header JSON is malformed: {message}"),
            Self::MissingVersion => f.write_str("payment has no x402Version"),
            Self::UnsupportedVersion { found } => write!(f, "x402Version {found} is not supported"),
        }
    }
}

impl std::error::Error for HeaderError {}

/// Decodes a header value: base64 (standard, padded; white space around it is ignored) of
/// UTF-8 JSON, at most [`MAX_HEADER_LEN`] bytes.
pub fn decode_header<T: DeserializeOwned>(value: &str) -> Result<T, HeaderError> {
    serde_json::from_slice(&decode_header_bytes(value)?).map_err(HeaderError::json)
}

/// The bytes inside a header value (base64 decoded, size-checked), not yet read as JSON.
pub fn decode_header_bytes(value: &str) -> Result<Vec<u8>, HeaderError> {
    let value = value.trim_ascii();
    if value.len() > MAX_HEADER_LEN {
        return Err(HeaderError::TooLong { len: value.len() });
    }
    STANDARD.decode(value).map_err(|_| HeaderError::Base64)
}

/// Encodes a value as a header: base64 (standard, padded) of compact UTF-8 JSON.
pub fn encode_header<T: Serialize + ?Sized>(value: &T) -> String {
    // Serialising the crate's wire types cannot fail: they hold only strings, numbers,
    // booleans and JSON values, all with string keys.
    let json = serde_json::to_vec(value).expect("wire types serialise to JSON");
    STANDARD.encode(json)
}
