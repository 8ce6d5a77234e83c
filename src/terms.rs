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

impl ExactEvmTerms {
    /// Resolves a requirement against the network registry.
    pub fn resolve(
        requirement: &v2::PaymentRequirements,
        networks: &Networks,
    ) -> Result<Self, RequirementError> {
        if requirement.scheme != EXACT {
            return Err(RequirementError::Scheme {
                scheme: requirement.scheme.clone(),
            });
        }
        let network = networks.resolve(&requirement.network).map_err(|_| {
            RequirementError::UnknownNetwork {
                network: requirement.network.clone(),
            }
        })?;
        let address = |text: &str, field| {
            text.parse::<Address>()
                .map_err(|_| RequirementError::BadAddress { field })
        };
        let verifying_contract = address(&requirement.asset, "asset")?;
        let pay_to = address(&requirement.pay_to, "payTo")?;
        let (name, version) = eip712_name_and_version(requirement.extra.as_ref())
            .ok_or(RequirementError::MissingEip712Domain)?;
        Ok(Self {
            domain: Eip712Domain {
                name: name.to_owned(),
                version: version.to_owned(),
                chain_id: network.chain_id,
                verifying_contract,
            },
            pay_to,
            amount: requirement.amount,
            max_timeout_seconds: requirement.max_timeout_seconds,
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
