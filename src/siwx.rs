//! Sign-In-With-X for EVM accounts: x402's `sign-in-with-x` extension (CAIP-122), with which a
//! wallet that paid proves it is the same wallet again by signing a message instead of paying.
//!
//! The gateway offers it in a 402 (`extensions["sign-in-with-x"]`: its domain, the resource
//! URI, a nonce, the time, the chains it takes) and the client answers with a
//! `SIGN-IN-WITH-X` header: base64 of the JSON [`SignInProof`], which echoes those fields and
//! adds its address and signature. For `eip155` chains the signed text is EIP-4361's ("Sign-In
//! with Ethereum", [`SignInProof::message`]) and the signature EIP-191's personal-message
//! signature ([`crate::evm::eip191_hash`]): recovered here for an account's 65-byte ECDSA
//! signature, and left to the chain (ERC-1271, ERC-6492) for a smart wallet's
//! ([`SignerProof::Contract`]).
//!
//! [`SignInProof::check`] holds a proof to what the gateway offers, in the order of the
//! extension's reference server: domain, URI, issued-at, expiration, not-before, chain,
//! signature. The nonce is single-use; that is the payment coordinator's to enforce, since
//! only it sees every sign-in (see [`crate::gate::access`]).
//!
//! The domain and origin come from the gateway's configuration (`sign_in_with_x.origin`),
//! never from the request's `Host`, which a caller chooses: a message signed for another site
//! names that site.

use chrono::{DateTime, SecondsFormat};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::evm::{eip191_hash, recover_address_from_prehash, Address, SignatureHex, SignatureKind};
use crate::protocol::Reason;

/// The extension's key in `extensions`.
pub const SIGN_IN_WITH_X: &str = "sign-in-with-x";
/// The request header that carries a proof.
pub const SIGN_IN_WITH_X_HEADER: &str = "SIGN-IN-WITH-X";
/// How old a proof's `issuedAt` may be (the reference server's default, five minutes); the
/// gateway's own challenges expire then too.
pub const MAX_AGE_S: u64 = 300;
/// How far in the future an `issuedAt` may lie: the gateway's locations' clocks differ by
/// less, and a challenge issued at one may be answered at another.
pub const CLOCK_SKEW_S: u64 = 5;
/// The CAIP-122 version every message is in.
pub const VERSION: &str = "1";
/// The signature type of EVM accounts.
pub const EIP191: &str = "eip191";
/// Nonces are letters and digits (EIP-4361), at least this many…
const MIN_NONCE_LEN: usize = 8;
/// …and at most this many.
const MAX_NONCE_LEN: usize = 128;

/// A client's sign-in: the message's fields as the extension sends them, and the signature.
/// Optional fields are kept as sent, since each changes the signed text (an empty statement
/// is not an absent one).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInProof {
    /// The site the message is for (`host[:port]`).
    pub domain: String,
    /// The signing account, as written into the message.
    pub address: String,
    /// What the user agrees to.
    pub statement: Option<String>,
    /// The resource signed in to.
    pub uri: String,
    /// CAIP-122 version, `1`.
    pub version: String,
    /// The CAIP-2 chain (`eip155:84532`).
    pub chain_id: String,
    /// The signature type (`eip191` for EVM accounts).
    #[serde(rename = "type")]
    pub kind: String,
    /// The challenge's nonce.
    pub nonce: String,
    /// When the challenge was made (RFC 3339).
    pub issued_at: String,
    /// When the message stops being valid (RFC 3339).
    pub expiration_time: Option<String>,
    /// When the message starts being valid (RFC 3339).
    pub not_before: Option<String>,
    /// A correlation id.
    pub request_id: Option<String>,
    /// URIs the sign-in names.
    pub resources: Option<Vec<String>>,
    /// How the wallet signed (`eip191`, `eip1271`, `eip6492`): a hint only, the signature's
    /// length decides.
    pub signature_scheme: Option<String>,
    /// `0x` and hex.
    pub signature: String,
}

/// What a proof must be for: this gateway and this request's resource.
#[derive(Clone, Copy, Debug)]
pub struct Audience<'a> {
    /// The gateway's public origin, `scheme://host[:port]`.
    pub origin: &'a str,
    /// Its host and port, as messages name it (`domain`).
    pub domain: &'a str,
    /// The resource URI the 402 offered (the origin and the canonical path).
    pub uri: &'a str,
    /// The CAIP-2 chains the route is paid on; a sign-in names one of them.
    pub networks: &'a [String],
    /// Whether smart wallets may sign in: a signature the address did not make itself (one
    /// longer than 65 bytes, or an ECDSA signature of another key, as a wallet's owner
    /// makes) is then left to the address's contract ([`SignerProof::Contract`]); otherwise
    /// it is refused here.
    pub contracts: bool,
}

/// A proof that passed every check the gateway can make itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignIn {
    /// The account signed in.
    pub address: Address,
    /// The chain named (where a smart wallet's signature is checked).
    pub chain_id: u64,
    /// The nonce to spend.
    pub nonce: String,
    /// Until when the nonce must be remembered: after it, the proof is too old anyway, at
    /// any location whose clock is within [`CLOCK_SKEW_S`] of the caller's.
    pub nonce_until: u64,
    /// What is left to prove the signature.
    pub proof: SignerProof,
}

/// How a sign-in's signature is proven.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignerProof {
    /// An ECDSA signature that recovered to the address here.
    Recovered,
    /// A smart wallet's signature (longer than 65 bytes, or an ECDSA signature of another
    /// key than the address's, as a wallet's owner signs): only the wallet's contract can
    /// judge it (ERC-1271), possibly after its deployment (ERC-6492). For an account without
    /// code that is a refusal.
    Contract {
        /// The EIP-191 hash of the message.
        hash: [u8; 32],
        /// The signature as sent.
        signature: Vec<u8>,
    },
}

/// Why a sign-in is refused. Each is the client's; none changes anything.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignInError {
    /// The header is not base64 of JSON of the proof's shape, or a field is not of its form.
    Malformed {
        /// What is wrong.
        detail: String,
    },
    /// The message is for another site.
    DomainMismatch {
        /// The domain signed.
        got: String,
    },
    /// The message is for another resource.
    UriMismatch {
        /// The URI signed.
        got: String,
    },
    /// `issuedAt` is not an RFC 3339 time.
    IssuedAt,
    /// `issuedAt` is older than [`MAX_AGE_S`].
    IssuedAtTooOld {
        /// Its age in seconds.
        age_s: u64,
    },
    /// `issuedAt` is in the future.
    IssuedAtInFuture,
    /// `expirationTime` is not an RFC 3339 time.
    ExpirationTime,
    /// The message has expired.
    Expired,
    /// `notBefore` is not an RFC 3339 time.
    NotBefore,
    /// The message is not valid yet.
    NotYetValid,
    /// The nonce was used already: a replay.
    NonceUsed,
    /// The chain is not one the route is paid on, or not an EVM chain.
    UnsupportedChain {
        /// The chain named.
        chain_id: String,
    },
    /// `chainId` is not a CAIP-2 `eip155:<n>` id.
    ChainId,
    /// The signature is not hex, or too short.
    MalformedSignature {
        /// What is wrong.
        detail: String,
    },
    /// The signature is not the address's: another wallet signed, or the message was changed.
    Signature,
    /// A smart wallet's signature could not be checked: its chain did not answer (the
    /// gateway's failure, for a retry).
    Verifier {
        /// What happened.
        detail: String,
    },
    /// A smart wallet's signature cannot be checked on this chain: the gateway has no
    /// `rpc_url` for it (the client may pay instead).
    NoVerifier {
        /// The chain.
        chain_id: u64,
    },
    /// The wallet has not paid for this resource within its access window.
    NotEntitled,
    /// The wallet signed in more often than the gateway remembers nonces for (see
    /// [`crate::gate::access::MAX_LIVE_NONCES`]).
    TooMany,
}

impl SignInError {
    /// The wire reason: the extension's reference codes where it has one.
    pub fn reason(&self) -> Reason {
        match self {
            Self::Malformed { .. } => Reason::InvalidSiwxPayload,
            Self::DomainMismatch { .. } => Reason::InvalidSiwxDomainMismatch,
            Self::UriMismatch { .. } => Reason::InvalidSiwxUriMismatch,
            Self::IssuedAt => Reason::InvalidSiwxIssuedAt,
            Self::IssuedAtTooOld { .. } => Reason::InvalidSiwxIssuedAtTooOld,
            Self::IssuedAtInFuture => Reason::InvalidSiwxIssuedAtInFuture,
            Self::ExpirationTime => Reason::InvalidSiwxExpirationTime,
            Self::Expired => Reason::InvalidSiwxExpired,
            Self::NotBefore => Reason::InvalidSiwxNotBefore,
            Self::NotYetValid => Reason::InvalidSiwxNotYetValid,
            Self::NonceUsed => Reason::InvalidSiwxNonce,
            Self::UnsupportedChain { .. } => Reason::InvalidSiwxUnsupportedChain,
            Self::ChainId => Reason::InvalidSiwxChainId,
            Self::MalformedSignature { .. } => Reason::InvalidSiwxMalformedSignature,
            Self::Signature => Reason::InvalidSiwxSignature,
            Self::Verifier { .. } | Self::NoVerifier { .. } => Reason::InvalidSiwxVerifierError,
            Self::NotEntitled => Reason::SiwxNotEntitled,
            Self::TooMany => Reason::TooManySignIns,
        }
    }
}

impl core::fmt::Display for SignInError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Malformed { detail } => write!(f, "sign-in is malformed: {detail}"),
            Self::DomainMismatch { got } => write!(f, "sign-in is for the domain {got:?}"),
            Self::UriMismatch { got } => write!(f, "sign-in is for the URI {got:?}"),
            Self::IssuedAt => f.write_str("issuedAt is not an RFC 3339 time"),
            Self::IssuedAtTooOld { age_s } => write!(f, "sign-in was issued {age_s} s ago"),
            Self::IssuedAtInFuture => f.write_str("issuedAt is in the future"),
            Self::ExpirationTime => f.write_str("expirationTime is not an RFC 3339 time"),
            Self::Expired => f.write_str("sign-in has expired"),
            Self::NotBefore => f.write_str("notBefore is not an RFC 3339 time"),
            Self::NotYetValid => f.write_str("sign-in is not valid yet"),
            Self::NonceUsed => f.write_str("the sign-in's nonce was used already"),
            Self::UnsupportedChain { chain_id } => write!(f, "chain {chain_id:?} is not taken"),
            Self::ChainId => f.write_str("chainId is not eip155:<number>"),
            Self::MalformedSignature { detail } => write!(f, "signature is malformed: {detail}"),
            Self::Signature => f.write_str("the signature is not the address's"),
            Self::Verifier { detail } => write!(f, "smart-wallet signature not checked: {detail}"),
            Self::NoVerifier { chain_id } => write!(
                f,
                "smart-wallet signatures are not checked on chain {chain_id}: no rpc_url"
            ),
            Self::NotEntitled => f.write_str("no payment by this wallet gives access now"),
            Self::TooMany => f.write_str("too many sign-ins by this wallet; retry later"),
        }
    }
}

impl SignInProof {
    /// Reads a `SIGN-IN-WITH-X` header value.
    pub fn from_header(value: &str) -> Result<Self, SignInError> {
        crate::protocol::decode_header(value).map_err(|error| SignInError::Malformed {
            detail: error.to_string(),
        })
    }

    /// Checks the proof against what the gateway offers at unix time `now`: its fields, then
    /// its signature (recovered here for an ECDSA signature). The nonce is not spent here.
    pub fn check(&self, audience: &Audience<'_>, now: u64) -> Result<SignIn, SignInError> {
        self.check_form()?;
        if self.domain != audience.domain {
            return Err(SignInError::DomainMismatch {
                got: self.domain.clone(),
            });
        }
        if self.uri != audience.uri {
            return Err(SignInError::UriMismatch {
                got: self.uri.clone(),
            });
        }
        let issued_at = unix_time(&self.issued_at).ok_or(SignInError::IssuedAt)?;
        let now_i = i64::try_from(now).unwrap_or(i64::MAX);
        if issued_at > now_i.saturating_add(CLOCK_SKEW_S as i64) {
            return Err(SignInError::IssuedAtInFuture);
        }
        let age_s = u64::try_from(now_i.saturating_sub(issued_at)).unwrap_or(0);
        if age_s > MAX_AGE_S {
            return Err(SignInError::IssuedAtTooOld { age_s });
        }
        if let Some(expiration) = &self.expiration_time {
            let expiration = unix_time(expiration).ok_or(SignInError::ExpirationTime)?;
            if expiration < now_i {
                return Err(SignInError::Expired);
            }
        }
        if let Some(not_before) = &self.not_before {
            let not_before = unix_time(not_before).ok_or(SignInError::NotBefore)?;
            if not_before > now_i {
                return Err(SignInError::NotYetValid);
            }
        }
        if self.kind != EIP191 || !audience.networks.contains(&self.chain_id) {
            return Err(SignInError::UnsupportedChain {
                chain_id: self.chain_id.clone(),
            });
        }
        let chain_id = eip155_chain(&self.chain_id).ok_or(SignInError::ChainId)?;
        let address: Address = self.address.parse().map_err(|e| SignInError::Malformed {
            detail: format!("address: {e}"),
        })?;
        let signature = SignatureHex::from_hex(&self.signature).map_err(|detail| {
            SignInError::MalformedSignature {
                detail: detail.into(),
            }
        })?;
        let hash = eip191_hash(self.message(chain_id).as_bytes());
        let kind = SignatureKind::from_bytes(&signature.0).map_err(|e| {
            SignInError::MalformedSignature {
                detail: e.to_string(),
            }
        })?;
        let proof = match kind {
            SignatureKind::Ecdsa(parsed) => match recover_address_from_prehash(&hash, &parsed) {
                Ok(signer) if signer == address => SignerProof::Recovered,
                _ if audience.contracts => SignerProof::Contract {
                    hash,
                    signature: signature.0,
                },
                _ => return Err(SignInError::Signature),
            },
            SignatureKind::SmartWallet { .. } if !audience.contracts => {
                return Err(SignInError::MalformedSignature {
                    detail: "smart-wallet signatures are not accepted here".into(),
                })
            }
            SignatureKind::SmartWallet { erc6492 } => {
                if erc6492 && crate::evm::abi::erc6492(&signature.0).is_none() {
                    return Err(SignInError::MalformedSignature {
                        detail: "an ERC-6492 wrapper that is not abi.encode(address, bytes, bytes)"
                            .into(),
                    });
                }
                SignerProof::Contract {
                    hash,
                    signature: signature.0,
                }
            }
        };
        // Past this, the proof is refused as too old whatever the nonce, by any location
        // whose clock is within CLOCK_SKEW_S of the one that remembers it.
        let nonce_until = u64::try_from(issued_at)
            .unwrap_or(0)
            .saturating_add(MAX_AGE_S + 2 * CLOCK_SKEW_S + 1);
        Ok(SignIn {
            address,
            chain_id,
            nonce: self.nonce.clone(),
            nonce_until,
            proof,
        })
    }

    /// The EIP-4361 text this proof signs, on chain `chain_id`: the header line, the address,
    /// the statement (a blank line around it, or an empty line without one), then one line per
    /// field present, in the EIP's order.
    pub fn message(&self, chain_id: u64) -> String {
        let mut text = format!(
            "{} wants you to sign in with your Ethereum account:\n{}\n\n",
            self.domain, self.address
        );
        if let Some(statement) = &self.statement {
            text.push_str(statement);
            text.push('\n');
        }
        text.push_str(&format!(
            "\nURI: {}\nVersion: {}\nChain ID: {chain_id}\nNonce: {}\nIssued At: {}",
            self.uri, self.version, self.nonce, self.issued_at
        ));
        let optional = [
            ("Expiration Time", &self.expiration_time),
            ("Not Before", &self.not_before),
            ("Request ID", &self.request_id),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                text.push_str(&format!("\n{name}: {value}"));
            }
        }
        if let Some(resources) = &self.resources {
            text.push_str("\nResources:");
            for resource in resources {
                text.push_str(&format!("\n- {resource}"));
            }
        }
        text
    }

    /// The checks of form that keep the signed text unambiguous: every field on one line, the
    /// nonce of EIP-4361's alphabet, version 1.
    fn check_form(&self) -> Result<(), SignInError> {
        let malformed = |detail: &str| {
            Err(SignInError::Malformed {
                detail: detail.into(),
            })
        };
        let single_line = [
            Some(&self.domain),
            Some(&self.address),
            self.statement.as_ref(),
            Some(&self.uri),
            Some(&self.version),
            Some(&self.chain_id),
            Some(&self.nonce),
            Some(&self.issued_at),
            self.expiration_time.as_ref(),
            self.not_before.as_ref(),
            self.request_id.as_ref(),
        ]
        .into_iter()
        .flatten()
        .chain(self.resources.iter().flatten())
        .all(|field| !field.chars().any(char::is_control));
        if !single_line {
            return malformed("a field holds a control character (a line break)");
        }
        if self.version != VERSION {
            return malformed("version is not 1");
        }
        let nonce_ok = (MIN_NONCE_LEN..=MAX_NONCE_LEN).contains(&self.nonce.len())
            && self.nonce.bytes().all(|b| b.is_ascii_alphanumeric());
        if !nonce_ok {
            return malformed("the nonce is not 8 to 128 letters and digits");
        }
        Ok(())
    }
}

/// What a route's 402 offers for signing in, less what changes per challenge (the nonce and
/// the time): built once per route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInOffer {
    /// `info` without `uri`, `nonce`, `issuedAt`, `expirationTime` and `resources`.
    info: Map<String, Value>,
    /// `supportedChains`.
    chains: Value,
}

impl SignInOffer {
    /// The offer of a gateway at `domain` (`host[:port]`) paid on `networks` (CAIP-2).
    pub fn new(domain: &str, statement: Option<&str>, networks: &[String]) -> Self {
        let mut info = Map::new();
        info.insert("domain".into(), domain.into());
        info.insert("version".into(), VERSION.into());
        if let Some(statement) = statement {
            info.insert("statement".into(), statement.into());
        }
        let chains = networks
            .iter()
            .map(|network| json!({ "chainId": network, "type": EIP191 }))
            .collect();
        Self { info, chains }
    }

    /// The extension for the resource at `uri`, issued at `now` with `nonce`; expires after
    /// [`MAX_AGE_S`].
    pub fn extension(&self, uri: &str, nonce: &str, now: u64) -> Value {
        let mut info = self.info.clone();
        info.insert("uri".into(), uri.into());
        info.insert("nonce".into(), nonce.into());
        info.insert("issuedAt".into(), rfc3339(now).into());
        info.insert(
            "expirationTime".into(),
            rfc3339(now.saturating_add(MAX_AGE_S)).into(),
        );
        info.insert("resources".into(), json!([uri]));
        json!({ "info": info, "supportedChains": self.chains, "schema": proof_schema() })
    }
}

/// A fresh nonce: 16 random bytes in hex (the extension's 32 characters); `None` when the
/// platform has no randomness.
pub fn fresh_nonce() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).ok()?;
    Some(hex::encode(bytes))
}

/// Unix seconds of an RFC 3339 time (any offset; fractions dropped).
fn unix_time(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp())
}

/// A unix time as RFC 3339 in UTC with milliseconds, as JavaScript's `toISOString` writes it.
pub fn rfc3339(unix_s: u64) -> String {
    let seconds = i64::try_from(unix_s).unwrap_or(i64::MAX);
    DateTime::from_timestamp(seconds, 0)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// The number of a CAIP-2 `eip155:<n>` chain id, written without leading zeros.
fn eip155_chain(chain_id: &str) -> Option<u64> {
    let digits = chain_id.strip_prefix("eip155:")?;
    let valid = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    valid.then(|| digits.parse().ok()).flatten()
}

/// The JSON Schema of a proof, as the extension publishes it beside its `info`.
fn proof_schema() -> Value {
    let text = |format: Option<&str>| match format {
        Some(format) => json!({ "type": "string", "format": format }),
        None => json!({ "type": "string" }),
    };
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "domain": text(None),
            "address": text(None),
            "statement": text(None),
            "uri": text(Some("uri")),
            "version": text(None),
            "chainId": text(None),
            "type": text(None),
            "nonce": text(None),
            "issuedAt": text(Some("date-time")),
            "expirationTime": text(Some("date-time")),
            "notBefore": text(Some("date-time")),
            "requestId": text(None),
            "resources": { "type": "array", "items": text(Some("uri")) },
            "signature": text(None),
        },
        "required": ["domain", "address", "uri", "version", "chainId", "type", "nonce", "issuedAt", "signature"],
    })
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn times_are_written_as_javascript_writes_them_and_read_back() {
        assert_eq!(rfc3339(1_705_314_600), "2024-01-15T10:30:00.000Z");
        assert_eq!(unix_time("2024-01-15T10:30:00.000Z"), Some(1_705_314_600));
        assert_eq!(
            unix_time("2024-01-15T12:30:00.999+02:00"),
            Some(1_705_314_600)
        );
        assert_eq!(unix_time("2024-01-15 10:30:00Z"), Some(1_705_314_600));
        assert_eq!(unix_time("2024-01-15T10:30:00"), None, "no offset");
        assert_eq!(unix_time("yesterday"), None);
    }

    #[test]
    fn chain_ids_are_caip2_eip155_numbers() {
        assert_eq!(eip155_chain("eip155:84532"), Some(84532));
        assert_eq!(eip155_chain("eip155:084532"), None);
        assert_eq!(eip155_chain("eip155:"), None);
        assert_eq!(
            eip155_chain("solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"),
            None
        );
        assert_eq!(eip155_chain("eip155:99999999999999999999999"), None);
    }
}
