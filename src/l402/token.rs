//! L402 tokens: root keys, minting as aperture does, and verifying a credential.

use core::fmt;

use super::caveat::{
    capabilities_caveat, check_caveats, services_caveat, valid_until_caveat, CaveatError, Grant,
    Service,
};
use super::header::Credential;
use super::identifier::{Identifier, IdentifierError};
use super::macaroon::{hmac_sha256, Macaroon, SignatureError};

/// The location aperture writes into every token (a hint; not signed).
pub const L402_LOCATION: &str = "lsat";

/// The root key of one token: the macaroon signature chain starts from it.
#[derive(Clone, PartialEq, Eq)]
pub struct RootKey(pub [u8; 32]);

/// The gateway's secret, from which every token's root key is derived, so no per-token
/// state is stored:
/// ```text
/// root_key = HMAC-SHA256(key = secret, msg = identifier)      identifier: its 66 bytes
/// ```
/// (aperture instead stores a random root key per token, keyed by `sha256(identifier)`.)
/// Rotating the secret invalidates every token issued under it. Revoking one token is a
/// separate list keyed by its [`super::TokenId`], kept by the Worker.
#[derive(Clone)]
pub struct RootKeySecret(Vec<u8>);

/// A secret shorter than [`RootKeySecret::MIN_LEN`] bytes: a configuration error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecretTooShort {
    pub len: usize,
}

/// A credential that passed every check, and what it grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The token's payment hash and id.
    pub identifier: Identifier,
    /// The service, expiry and capabilities its caveats grant.
    pub grant: Grant,
}

/// Why a credential does not verify: the first failing check, in the order of
/// [`verify_credential`]. The sender caused every variant; aperture answers each with a
/// fresh 402 challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum L402Error {
    /// The token's identifier is not an L402 identifier.
    Identifier(IdentifierError),
    /// `sha256(preimage)` is not the token's payment hash: the invoice was not paid (or the
    /// preimage belongs to another token).
    WrongPreimage,
    /// The signature chain does not verify under the token's root key.
    Signature(SignatureError),
    /// The credential carries discharge macaroons; no third-party caveat is ever satisfied
    /// here, so none can be used.
    UnusedDischarges { count: usize },
    /// The caveats do not grant the target service now.
    Caveat(CaveatError),
}

impl RootKeySecret {
    /// The shortest secret accepted: 32 bytes, the strength of the HMAC.
    pub const MIN_LEN: usize = 32;

    /// A secret of at least [`Self::MIN_LEN`] bytes.
    pub fn new(secret: &[u8]) -> Result<Self, SecretTooShort> {
        if secret.len() < Self::MIN_LEN {
            return Err(SecretTooShort { len: secret.len() });
        }
        Ok(Self(secret.to_vec()))
    }

    /// `HMAC-SHA256(key = secret, msg = identifier.to_bytes())`.
    pub fn root_key(&self, identifier: &Identifier) -> RootKey {
        RootKey(hmac_sha256(&self.0, &identifier.to_bytes()))
    }
}

/// Mints a token as aperture does: location [`L402_LOCATION`], the identifier, then the
/// caveats `services=<name>:<tier>`, `<name>_capabilities=<csv>` and, if given,
/// `<name>_valid_until=<unix>`.
pub fn mint_token(
    root_key: &RootKey,
    identifier: &Identifier,
    service: &Service,
    capabilities: &[&str],
    valid_until: Option<u64>,
) -> Macaroon {
    let mut macaroon = Macaroon::mint(
        &root_key.0,
        identifier.to_bytes().to_vec(),
        Some(L402_LOCATION),
    );
    macaroon.add_first_party_caveat(services_caveat(core::slice::from_ref(service)));
    macaroon.add_first_party_caveat(capabilities_caveat(service, capabilities));
    if let Some(valid_until) = valid_until {
        macaroon.add_first_party_caveat(valid_until_caveat(service, valid_until));
    }
    macaroon
}

/// Verifies a credential for `service` at unix time `now` (seconds), with the root key
/// `root_key_for` gives the token's identifier (usually [`RootKeySecret::root_key`]).
///
/// The checks, in order (aperture's, cheapest and least secret first):
/// 1. the identifier is an L402 identifier (version 0, 66 bytes);
/// 2. `sha256(preimage) == payment_hash` (constant time);
/// 3. the HMAC chain, recomputed over every caveat present (a client may have appended
///    some, such as `preimage=<hex>`), equals the signature (constant time); a third-party
///    caveat fails here;
/// 4. no discharge macaroons;
/// 5. the caveats grant `service` at `now` ([`check_caveats`]).
pub fn verify_credential(
    credential: &Credential,
    root_key_for: impl FnOnce(&Identifier) -> RootKey,
    service: &str,
    now: u64,
) -> Result<VerifiedToken, L402Error> {
    let macaroon = &credential.macaroon;
    let identifier =
        Identifier::from_bytes(macaroon.identifier()).map_err(L402Error::Identifier)?;
    if !credential.preimage.pays(&identifier.payment_hash) {
        return Err(L402Error::WrongPreimage);
    }
    let root_key = root_key_for(&identifier);
    macaroon
        .verify_signature(&root_key.0)
        .map_err(L402Error::Signature)?;
    if !credential.discharges.is_empty() {
        return Err(L402Error::UnusedDischarges {
            count: credential.discharges.len(),
        });
    }
    let grant = check_caveats(macaroon.caveats(), service, now).map_err(L402Error::Caveat)?;
    Ok(VerifiedToken { identifier, grant })
}

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RootKey(..)")
    }
}

impl fmt::Debug for RootKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RootKeySecret(..)")
    }
}

impl fmt::Display for SecretTooShort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "L402 secret is {} bytes, fewer than the {} required",
            self.len,
            RootKeySecret::MIN_LEN
        )
    }
}

impl std::error::Error for SecretTooShort {}

impl fmt::Display for L402Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Identifier(error) => error.fmt(f),
            Self::WrongPreimage => f.write_str("preimage does not match the payment hash"),
            Self::Signature(error) => error.fmt(f),
            Self::UnusedDischarges { count } => {
                write!(f, "{count} discharge macaroons were sent; none is used")
            }
            Self::Caveat(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for L402Error {}
