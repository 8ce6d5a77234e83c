//! L402 (formerly LSAT): HTTP 402 paid with a Lightning invoice, proven with a macaroon and
//! the invoice's preimage. Sans-IO: invoices come from the shell, `now` is an argument.
//!
//! ```text
//!  server ── 402 WWW-Authenticate: LSAT macaroon="…", invoice="lnbc…"   challenge_values
//!  client pays the invoice, learns the preimage
//!  client ── Authorization: L402 <macaroon>:<preimage> ──►              Credential::from_header
//!                                                                      verify_credential(.., now)
//!            identifier → preimage → signature → discharges → caveats  └─ VerifiedToken | L402Error
//! ```
//!
//! - [`macaroon`]: macaroons (go-macaroon's data model and key derivation), minting,
//!   attenuation, constant-time verification; [`v2`]: their strict binary format.
//! - [`Identifier`]: `version || payment_hash || token_id`; [`Preimage`].
//! - [`caveat`]: `services`, `<service>_valid_until`, `<service>_capabilities`, with
//!   aperture's narrowing rules.
//! - [`Credential`], [`WwwAuthenticate`], [`challenge_values`]: the HTTP headers.
//! - [`verify_credential`], [`mint_token`], [`RootKeySecret`]: tokens whose root keys are
//!   derived from one secret, so verification needs no storage.
//!
//! Every parser is bounded ([`MAX_MACAROON_LEN`], [`MAX_L402_HEADER_LEN`]) and returns
//! errors, never panics, on any input.

pub mod caveat;
mod header;
mod identifier;
pub mod macaroon;
mod token;
pub mod v2;

pub use caveat::{check_caveats, CaveatError, Grant, Service};
pub use header::{
    challenge_values, ChallengeError, Credential, CredentialError, Scheme, WwwAuthenticate,
    MAX_L402_HEADER_LEN,
};
pub use identifier::{Identifier, IdentifierError, PaymentHash, Preimage, TokenId};
pub use macaroon::{Caveat, FieldType, Macaroon, MacaroonError, SignatureError, MAX_MACAROON_LEN};
pub use token::{
    mint_token, verify_credential, L402Error, RootKey, RootKeySecret, SecretTooShort,
    VerifiedToken, L402_LOCATION,
};
