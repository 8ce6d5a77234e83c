//! What an exact-EVM requirement means once its strings are resolved: the EIP-712 domain to
//! sign under, the recipient and the amount. Shared by verification and the payment signer.

use core::fmt;

use serde_json::Value;

use crate::amount::Uint256;
use crate::evm::{Address, Eip712Domain};
use crate::networks::Networks;
use crate::protocol::{v2, Reason};

/// The scheme this crate verifies.
pub const EXACT: &str = "exact";

/// An exact-EVM requirement, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExactEvmTerms {
    /// The token's EIP-712 domain (chain id from the network, contract from `asset`).
    pub domain: Eip712Domain,
    /// The recipient.
    pub pay_to: Address,
    /// The exact amount, in atomic units.
    pub amount: Uint256,
    /// Seconds the payment may take to settle.
    pub max_timeout_seconds: u64,
}

/// Why a requirement cannot be used for an exact-EVM payment. Requirements come from the
/// server's configuration (or a JavaScript caller), so this is the server's fault unless the
/// requirement was taken from a client.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequirementError {
    /// The scheme is not `exact`.
    Scheme { scheme: String },
    /// The network is not in the registry.
    UnknownNetwork { network: String },
    /// `asset` or `payTo` is not an EVM address.
    BadAddress { field: &'static str },
    /// `extra.name` or `extra.version` is missing: the token's EIP-712 domain is unknown.
    MissingEip712Domain,
}

impl fmt::Display for RequirementError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Scheme { scheme } => write!(f, "scheme {scheme:?} is not \"exact\""),
            Self::UnknownNetwork { network } => write!(f, "network {network:?} is not configured"),
            Self::BadAddress { field } => write!(f, "{field} is not an EVM address"),
            Self::MissingEip712Domain => f.write_str("extra.name and extra.version are required"),
        }
    }
}

impl std::error::Error for RequirementError {}

impl RequirementError {
    /// The wire reason.
    pub fn reason(&self) -> Reason {
        match self {
            Self::Scheme { .. } => Reason::UnsupportedScheme,
            Self::UnknownNetwork { .. } => Reason::InvalidNetwork,
            Self::BadAddress { .. } => Reason::InvalidPaymentRequirements,
            Self::MissingEip712Domain => Reason::InvalidExactEvmMissingEip712Domain,
        }
    }
}

/// An offered requirement whose terms were resolved beforehand (the gateway resolves its
/// offers once, when its configuration is read).
pub trait ResolvedOffer {
    /// The requirement as offered.
    fn requirement(&self) -> &v2::PaymentRequirements;
    /// Its resolved terms.
    fn terms(&self) -> &ExactEvmTerms;
}

/// The fields of an offered requirement that exact-EVM terms are made of, borrowed from
/// whichever shape carried them: the wire model ([`v2::PaymentRequirements`]) or the light
/// decoder of [`crate::verify::light`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offer<'a> {
    /// The payment scheme.
    pub scheme: &'a str,
    /// The network, as written (a v1 name or a CAIP-2 id).
    pub network: &'a str,
    /// The price in atomic units.
    pub amount: Uint256,
    /// The token contract, as written.
    pub asset: &'a str,
    /// The recipient, as written.
    pub pay_to: &'a str,
    /// Seconds the payment may take to settle.
    pub max_timeout_seconds: u64,
    /// `extra.name` and `extra.version`, when both are strings: the token's EIP-712 domain.
    pub eip712: Option<(&'a str, &'a str)>,
}

impl<'a> From<&'a v2::PaymentRequirements> for Offer<'a> {
    fn from(requirement: &'a v2::PaymentRequirements) -> Self {
        Self {
            scheme: &requirement.scheme,
            network: &requirement.network,
            amount: requirement.amount,
            asset: &requirement.asset,
            pay_to: &requirement.pay_to,
            max_timeout_seconds: requirement.max_timeout_seconds,
            eip712: eip712_name_and_version(requirement.extra.as_ref()),
        }
    }
}

impl ExactEvmTerms {
    /// Resolves a requirement against the network registry.
    pub fn resolve(
        requirement: &v2::PaymentRequirements,
        networks: &Networks,
    ) -> Result<Self, RequirementError> {
        Self::resolve_offer(&Offer::from(requirement), networks)
    }

    /// Resolves an offer's fields against the network registry.
    pub fn resolve_offer(offer: &Offer<'_>, networks: &Networks) -> Result<Self, RequirementError> {
        if offer.scheme != EXACT {
            return Err(RequirementError::Scheme {
                scheme: offer.scheme.to_owned(),
            });
        }
        let network =
            networks
                .resolve(offer.network)
                .map_err(|_| RequirementError::UnknownNetwork {
                    network: offer.network.to_owned(),
                })?;
        let address = |text: &str, field| {
            text.parse::<Address>()
                .map_err(|_| RequirementError::BadAddress { field })
        };
        let verifying_contract = address(offer.asset, "asset")?;
        let pay_to = address(offer.pay_to, "payTo")?;
        let (name, version) = offer.eip712.ok_or(RequirementError::MissingEip712Domain)?;
        Ok(Self {
            domain: Eip712Domain {
                name: name.to_owned(),
                version: version.to_owned(),
                chain_id: network.chain_id,
                verifying_contract,
            },
            pay_to,
            amount: offer.amount,
            max_timeout_seconds: offer.max_timeout_seconds,
        })
    }
}

/// `extra.name` and `extra.version`, when both are strings.
fn eip712_name_and_version(extra: Option<&Value>) -> Option<(&str, &str)> {
    let extra = extra?;
    Some((
        extra.get("name")?.as_str()?,
        extra.get("version")?.as_str()?,
    ))
}
