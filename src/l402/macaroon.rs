//! Macaroons as go-macaroon and libmacaroons define them: a location hint, an identifier, a
//! list of caveats and a chained HMAC-SHA256 signature over the identifier and the caveats.
//!
//! Signature chain (go-macaroon; the L402 repository's `macaroon-spec.md` gets the key
//! derivation wrong):
//! ```text
//! K     = HMAC-SHA256(key = "macaroons-key-generator", msg = root_key)
//! sig_0 = HMAC-SHA256(K, identifier)
//! sig_i = HMAC-SHA256(sig_{i-1}, caveat_i)          first-party caveats
//! ```
//! The location (of the macaroon and of third-party caveats) is a hint that no signature
//! covers: never base a decision on it.

use core::fmt;

use base64::alphabet;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::v2;

/// The largest serialised macaroon accepted, in bytes of the binary form (4 KiB).
///
/// An aperture token is about 200 bytes; clients append a few caveats (a `preimage=` caveat
/// is 73 bytes). Longer input is refused before any parsing.
pub const MAX_MACAROON_LEN: usize = 4 * 1024;

/// The longest base64 text accepted for one macaroon: padded base64 of
/// [`MAX_MACAROON_LEN`] bytes.
pub const MAX_MACAROON_BASE64_LEN: usize = MAX_MACAROON_LEN.div_ceil(3) * 4;

/// The fixed key of go-macaroon's root key derivation.
pub const KEY_GENERATOR: &[u8] = b"macaroons-key-generator";

/// The length of a macaroon signature (HMAC-SHA256).
pub const SIGNATURE_LEN: usize = 32;

/// A macaroon in go-macaroon's data model. Any value of this type serialises to the V2 binary
/// format and parses back to itself.
#[derive(Clone, PartialEq, Eq)]
pub struct Macaroon {
    pub(super) location: Option<String>,
    pub(super) identifier: Vec<u8>,
    pub(super) caveats: Vec<Caveat>,
    pub(super) signature: [u8; SIGNATURE_LEN],
}

/// One caveat of a macaroon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caveat {
    /// A predicate the verifier checks itself (`services=…`, `…_valid_until=…`).
    FirstParty {
        /// The predicate's bytes.
        id: Vec<u8>,
    },
    /// A predicate a third party discharges. It parses and serialises, but this crate never
    /// satisfies one: verifying a macaroon that holds one fails.
    ThirdParty {
        /// Where to find the third party (a hint, not signed).
        location: Option<String>,
        /// The caveat identifier the third party reads.
        id: Vec<u8>,
        /// The encrypted caveat root key.
        verification_id: Vec<u8>,
    },
}

/// Why bytes or text are not a macaroon in the V2 binary format. The sender caused every
/// variant.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MacaroonError {
    /// More than [`MAX_MACAROON_LEN`] bytes, or base64 text longer than
    /// [`MAX_MACAROON_BASE64_LEN`].
    TooLarge { len: usize },
    /// Not base64 in the standard or the URL-safe alphabet.
    Base64,
    /// The first byte is not `0x02` (V1 text macaroons and JSON are not accepted).
    UnsupportedVersion { version: u8 },
    /// The input ends inside a field, or before the signature.
    UnexpectedEnd,
    /// A length varint longer than its minimal encoding (a trailing `0x00` byte).
    VarintOverlong,
    /// A length varint of more than 10 bytes or above `u64::MAX`.
    VarintTooLong,
    /// A field length larger than the input left after it.
    LengthExceedsInput { len: u64, remaining: usize },
    /// A field type byte the format does not define (only 0, 1, 2, 4 and 6 exist).
    UnknownFieldType { found: u8 },
    /// A field out of order, repeated or missing: `expected` is what the format allows here.
    UnexpectedField {
        expected: FieldType,
        found: FieldType,
    },
    /// A first-party caveat (no verification id) with a location, which go-macaroon refuses.
    FirstPartyCaveatLocation,
    /// A location that is not UTF-8.
    LocationNotUtf8,
    /// A signature field that is not [`SIGNATURE_LEN`] bytes long.
    SignatureLength { len: usize },
    /// Bytes after the signature.
    TrailingBytes { count: usize },
}

/// The field types of the V2 binary format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// `0`: end of a section.
    EndOfSection,
    /// `1`: the location of the macaroon or of a third-party caveat.
    Location,
    /// `2`: the macaroon's or a caveat's identifier.
    Identifier,
    /// `4`: a third-party caveat's verification id.
    VerificationId,
    /// `6`: the signature.
    Signature,
}

/// Why a macaroon's signature chain does not verify.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// The macaroon holds a third-party caveat (at `index`), which needs a discharge macaroon
    /// this crate never accepts. The sender caused it.
    ThirdPartyCaveat { index: usize },
    /// The signature is not the HMAC chain under the root key: the macaroon was forged or
    /// altered, or was minted with another root key.
    Mismatch,
}

impl Macaroon {
    /// Mints a macaroon without caveats (go-macaroon's `New`):
    /// `signature = HMAC(derive_key(root_key), identifier)`.
    pub fn mint(root_key: &[u8], identifier: impl Into<Vec<u8>>, location: Option<&str>) -> Self {
        let identifier = identifier.into();
        let signature = hmac_sha256(&derive_key(root_key), &identifier);
        Self {
            location: location.map(str::to_owned),
            identifier,
            caveats: Vec::new(),
            signature,
        }
    }

    /// Appends a first-party caveat and moves the signature along the chain:
    /// `signature = HMAC(signature, caveat)`. Anyone holding the macaroon can do this
    /// (attenuation); nobody can remove a caveat.
    pub fn add_first_party_caveat(&mut self, caveat: impl Into<Vec<u8>>) {
        let id = caveat.into();
        self.signature = hmac_sha256(&self.signature, &id);
        self.caveats.push(Caveat::FirstParty { id });
    }

    /// Reads the V2 binary format; see [`super::v2`] for the layout and the limits.
    pub fn from_binary(bytes: &[u8]) -> Result<Self, MacaroonError> {
        v2::decode(bytes)
    }

    /// Writes the V2 binary format. Parsing the result gives back `self`, and any input
    /// [`Self::from_binary`] accepts is written back byte for byte.
    pub fn to_binary(&self) -> Vec<u8> {
        v2::encode(self)
    }

    /// Reads base64 of the binary format: standard or URL-safe alphabet, padded or not.
    /// Nothing around the text (white space) is trimmed.
    pub fn from_base64(text: &str) -> Result<Self, MacaroonError> {
        if text.len() > MAX_MACAROON_BASE64_LEN {
            return Err(MacaroonError::TooLarge { len: text.len() });
        }
        let bytes = STANDARD_ANY_PADDING
            .decode(text)
            .or_else(|_| URL_SAFE_ANY_PADDING.decode(text))
            .map_err(|_| MacaroonError::Base64)?;
        Self::from_binary(&bytes)
    }

    /// Standard padded base64 of the binary format, as aperture writes it in challenges and
    /// clients in credentials.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.to_binary())
    }

    /// URL-safe base64 without padding of the binary format, as libmacaroons writes it.
    pub fn to_base64_url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.to_binary())
    }

    /// The location hint, if any. Not covered by the signature.
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    /// The identifier the root key was chosen by.
    pub fn identifier(&self) -> &[u8] {
        &self.identifier
    }

    /// The caveats in the order they were added.
    pub fn caveats(&self) -> &[Caveat] {
        &self.caveats
    }

    /// The signature as carried (not yet verified).
    pub fn signature(&self) -> &[u8; SIGNATURE_LEN] {
        &self.signature
    }

    /// Recomputes the HMAC chain over the identifier and every caveat present under
    /// `root_key`, and compares it with the carried signature in constant time.
    ///
    /// A macaroon with a third-party caveat never verifies (no discharges are accepted).
    pub fn verify_signature(&self, root_key: &[u8]) -> Result<(), SignatureError> {
        let mut expected = hmac_sha256(&derive_key(root_key), &self.identifier);
        for (index, caveat) in self.caveats.iter().enumerate() {
            match caveat {
                Caveat::FirstParty { id } => expected = hmac_sha256(&expected, id),
                Caveat::ThirdParty { .. } => {
                    return Err(SignatureError::ThirdPartyCaveat { index });
                }
            }
        }
        if bool::from(expected.ct_eq(&self.signature)) {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

impl Caveat {
    /// The identifier of the caveat (the predicate of a first-party caveat).
    pub fn id(&self) -> &[u8] {
        match self {
            Self::FirstParty { id } | Self::ThirdParty { id, .. } => id,
        }
    }
}

/// go-macaroon's root key derivation: `HMAC-SHA256(key = "macaroons-key-generator",
/// msg = root_key)`. The chain starts from this key, never from the root key itself.
pub fn derive_key(root_key: &[u8]) -> [u8; 32] {
    hmac_sha256(KEY_GENERATOR, root_key)
}

/// `HMAC-SHA256(key, message)`.
pub(super) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length (long ones are hashed), so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Decoding accepts text with or without padding; the alphabets are tried in turn.
const ANY_PADDING: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, ANY_PADDING);
const URL_SAFE_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, ANY_PADDING);

impl fmt::Debug for Macaroon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Macaroon")
            .field("location", &self.location)
            .field("identifier", &hex::encode(&self.identifier))
            .field("caveats", &self.caveats.len())
            .field("signature", &hex::encode(self.signature))
            .finish()
    }
}

impl FieldType {
    /// The type byte of this field.
    pub fn byte(self) -> u8 {
        match self {
            Self::EndOfSection => 0,
            Self::Location => 1,
            Self::Identifier => 2,
            Self::VerificationId => 4,
            Self::Signature => 6,
        }
    }

    /// The field type of a type byte, if the format defines one.
    pub fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(Self::EndOfSection),
            1 => Some(Self::Location),
            2 => Some(Self::Identifier),
            4 => Some(Self::VerificationId),
            6 => Some(Self::Signature),
            _ => None,
        }
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::EndOfSection => "end of section",
            Self::Location => "location",
            Self::Identifier => "identifier",
            Self::VerificationId => "verification id",
            Self::Signature => "signature",
        };
        write!(f, "{name} ({})", self.byte())
    }
}

impl fmt::Display for MacaroonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { len } => write!(
                f,
                "macaroon is {len} bytes, more than the {MAX_MACAROON_LEN} accepted"
            ),
            Self::Base64 => f.write_str("macaroon is not base64 (standard or URL-safe)"),
            Self::UnsupportedVersion { version } => {
                write!(f, "macaroon format version {version} is not 2")
            }
            Self::UnexpectedEnd => f.write_str("macaroon ends early"),
            Self::VarintOverlong => f.write_str("macaroon has a non-minimal length varint"),
            Self::VarintTooLong => f.write_str("macaroon has a length varint above u64"),
            Self::LengthExceedsInput { len, remaining } => write!(
                f,
                "macaroon field of {len} bytes with only {remaining} bytes left"
            ),
            Self::UnknownFieldType { found } => write!(f, "macaroon field type {found} is unknown"),
            Self::UnexpectedField { expected, found } => {
                write!(f, "macaroon has {found} where {expected} belongs")
            }
            Self::FirstPartyCaveatLocation => {
                f.write_str("macaroon has a first-party caveat with a location")
            }
            Self::LocationNotUtf8 => f.write_str("macaroon location is not UTF-8"),
            Self::SignatureLength { len } => {
                write!(f, "macaroon signature is {len} bytes, not {SIGNATURE_LEN}")
            }
            Self::TrailingBytes { count } => {
                write!(f, "{count} bytes follow the macaroon signature")
            }
        }
    }
}

impl std::error::Error for MacaroonError {}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ThirdPartyCaveat { index } => {
                write!(
                    f,
                    "caveat {index} is a third-party caveat, never satisfied here"
                )
            }
            Self::Mismatch => f.write_str("macaroon signature does not verify"),
        }
    }
}

impl std::error::Error for SignatureError {}
