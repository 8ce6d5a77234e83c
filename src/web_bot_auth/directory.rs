//! An agent's keys: the JWKS its HTTP Message Signatures Directory serves, and RFC 7638
//! thumbprints, which are Web Bot Auth's `keyid`s.
//!
//! Only Ed25519 keys (`kty` `OKP`, `crv` `Ed25519`) are kept; others are skipped, as
//! Cloudflare's verifier does. A key is also skipped when its `kid` is not its thumbprint
//! (the draft: "MUST"), when `use` says it is not for signatures, when `x` is not 32 bytes of
//! unpadded base64url, when it is not a point of the curve or is of small order, or when
//! `nbf`/`exp` are not integers. `nbf` and `exp` are kept and checked against the time of
//! each verification ([`super::SignedRequest::verify`]), since a directory is cached longer
//! than one request.
//!
//! Not done here: checking the directory response's own signatures (the draft RECOMMENDS
//! one per key, covering `"@authority";req`); that needs the response's headers, and is the
//! fetching shell's to decide.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{Signature, VerifyingKey};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Largest directory body read, in bytes: a few dozen keys fit in a few KiB.
pub const MAX_DIRECTORY_LEN: usize = 64 * 1024;
/// Most entries a directory's `keys` may have (of any type); more is refused, not cut short.
pub const MAX_KEYS: usize = 64;

/// Thumbprints of the Ed25519 keys published in RFCs as test data: RFC 9421 B.1.4
/// (`test-key-ed25519`, the key of the Web Bot Auth drafts' examples) and RFC 8037 A.1.
/// The protocol draft says verifiers SHOULD refuse them; [`AgentKey::is_published_test_key`]
/// lets a deployment do so while its tests still use them.
pub const PUBLISHED_TEST_KEYS: [&str; 2] = [
    "poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U",
    "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
];

/// An agent's Ed25519 public key, with its thumbprint and the validity its directory gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentKey {
    key: VerifyingKey,
    thumbprint: String,
    not_before: Option<u64>,
    expires: Option<u64>,
}

/// The keys of a directory, by thumbprint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyDirectory {
    keys: Vec<AgentKey>,
}

/// Why a directory body, or a key, is not usable. The agent's (or its host's) doing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DirectoryError {
    /// The body is longer than [`MAX_DIRECTORY_LEN`].
    TooLarge {
        /// Its length in bytes.
        len: usize,
    },
    /// The body is not JSON.
    Json {
        /// The parser's message.
        detail: String,
    },
    /// The body is not an object with a `keys` array (RFC 7517 §5).
    NotJwks,
    /// `keys` has more than [`MAX_KEYS`] entries.
    TooManyKeys {
        /// How many it has.
        count: usize,
    },
    /// No entry is a usable Ed25519 key.
    NoUsableKey,
    /// 32 bytes that are not an Ed25519 public key: not a curve point, or of small order.
    BadKey,
}

impl core::fmt::Display for DirectoryError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::TooLarge { len } => write!(f, "key directory of {len} bytes is too large"),
            Self::Json { detail } => write!(f, "key directory is not JSON: {detail}"),
            Self::NotJwks => f.write_str("key directory is not a JWKS {\"keys\":[…]}"),
            Self::TooManyKeys { count } => write!(f, "key directory lists {count} keys"),
            Self::NoUsableKey => f.write_str("key directory has no usable Ed25519 key"),
            Self::BadKey => f.write_str("not an Ed25519 public key of large order"),
        }
    }
}

impl std::error::Error for DirectoryError {}

/// The RFC 7638 thumbprint of an Ed25519 JWK (RFC 8037 App. A.3): base64url without padding
/// of SHA-256 over `{"crv":"Ed25519","kty":"OKP","x":"<x>"}`, the required members sorted
/// and without whitespace. `x_b64url` is the JWK's `x` as it appears there; base64url
/// needs no JSON escaping, so it is hashed as given.
pub fn jwk_thumbprint(x_b64url: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(br#"{"crv":"Ed25519","kty":"OKP","x":""#);
    hash.update(x_b64url.as_bytes());
    hash.update(br#""}"#);
    URL_SAFE_NO_PAD.encode(hash.finalize())
}

impl AgentKey {
    /// A key from its 32 bytes, with no validity limits. Refuses bytes that are not a curve
    /// point, and small-order points, which `verify_strict` would refuse anyway.
    pub fn from_bytes(x: &[u8; 32]) -> Result<Self, DirectoryError> {
        let key = VerifyingKey::from_bytes(x).map_err(|_| DirectoryError::BadKey)?;
        if key.is_weak() {
            return Err(DirectoryError::BadKey);
        }
        Ok(Self {
            key,
            thumbprint: jwk_thumbprint(&URL_SAFE_NO_PAD.encode(x)),
            not_before: None,
            expires: None,
        })
    }

    /// The key's RFC 7638 thumbprint: the `keyid` its signatures carry.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The key's 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The directory's `nbf` for this key (Unix seconds), if it gave one.
    pub fn not_before(&self) -> Option<u64> {
        self.not_before
    }

    /// The directory's `exp` for this key (Unix seconds), if it gave one.
    pub fn expires(&self) -> Option<u64> {
        self.expires
    }

    /// Whether this is one of the [`PUBLISHED_TEST_KEYS`], whose private halves are public.
    pub fn is_published_test_key(&self) -> bool {
        PUBLISHED_TEST_KEYS.contains(&self.thumbprint.as_str())
    }

    /// RFC 8032 verification of `signature` over `message`, with `verify_strict`'s extra
    /// checks (no small-order `R` or key, canonical `s`), so that one signature has one
    /// verdict everywhere.
    pub(crate) fn verify_strict(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        self.key
            .verify_strict(message, &Signature::from_bytes(signature))
            .is_ok()
    }
}

impl KeyDirectory {
    /// Reads a directory body: a JWKS, `{"keys":[…]}`. Unusable entries are skipped (see
    /// the module's documentation); a body with none usable is refused.
    pub fn from_json(body: &[u8]) -> Result<Self, DirectoryError> {
        if body.len() > MAX_DIRECTORY_LEN {
            return Err(DirectoryError::TooLarge { len: body.len() });
        }
        let value: Value = serde_json::from_slice(body).map_err(|error| DirectoryError::Json {
            detail: error.to_string(),
        })?;
        let entries = value
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(DirectoryError::NotJwks)?;
        if entries.len() > MAX_KEYS {
            return Err(DirectoryError::TooManyKeys {
                count: entries.len(),
            });
        }
        let mut keys: Vec<AgentKey> = Vec::new();
        for key in entries.iter().filter_map(ed25519_key) {
            if !keys.iter().any(|k| k.thumbprint == key.thumbprint) {
                keys.push(key);
            }
        }
        if keys.is_empty() {
            return Err(DirectoryError::NoUsableKey);
        }
        Ok(Self { keys })
    }

    /// The key whose thumbprint is `keyid`.
    pub fn key(&self, keyid: &str) -> Option<&AgentKey> {
        self.keys.iter().find(|key| key.thumbprint == keyid)
    }

    /// Every usable key, in the directory's order.
    pub fn keys(&self) -> &[AgentKey] {
        &self.keys
    }
}

/// One JWK, if it is a usable Ed25519 signature key.
fn ed25519_key(jwk: &Value) -> Option<AgentKey> {
    let text = |name: &str| jwk.get(name).map(Value::as_str);
    if text("kty")? != Some("OKP") || text("crv")? != Some("Ed25519") {
        return None;
    }
    if !matches!(text("use"), None | Some(Some("sig"))) {
        return None;
    }
    let x = text("x")??;
    let bytes: [u8; 32] = URL_SAFE_NO_PAD.decode(x).ok()?.try_into().ok()?;
    let mut key = AgentKey::from_bytes(&bytes).ok()?;
    // Strict base64url decoding means `x` is the canonical encoding the thumbprint uses.
    match text("kid") {
        None => {}
        Some(Some(kid)) if kid == key.thumbprint => {}
        Some(_) => return None,
    }
    let time = |name: &str| match jwk.get(name) {
        None => Some(None),
        Some(value) => value.as_u64().map(Some),
    };
    key.not_before = time("nbf")?;
    key.expires = time("exp")?;
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_without_kid_is_found_by_its_thumbprint() {
        let body = br#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"}]}"#;
        let directory = KeyDirectory::from_json(body).unwrap();
        let key = directory
            .key("poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U")
            .unwrap();
        assert!(key.is_published_test_key());
        assert_eq!(directory.key("test-key-ed25519"), None);
    }

    #[test]
    fn keys_with_odd_members_are_skipped_and_a_directory_of_none_refused() {
        let x = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs";
        for jwk in [
            format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}","use":"enc"}}"#),
            format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}","nbf":"soon"}}"#),
            format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}=="}}"#),
            format!(r#"{{"kty":"OKP","crv":"X25519","x":"{x}"}}"#),
            // 32 zero bytes: a small-order point.
            r#"{"kty":"OKP","crv":"Ed25519","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#
                .into(),
            r#"[]"#.into(),
        ] {
            let body = format!(r#"{{"keys":[{jwk}]}}"#);
            assert_eq!(
                KeyDirectory::from_json(body.as_bytes()),
                Err(DirectoryError::NoUsableKey),
                "{jwk}"
            );
        }
    }
}
