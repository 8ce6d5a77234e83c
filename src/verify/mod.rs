//! Local verification of an exact-EVM payment against the requirements a server offered,
//! in the reference facilitator's order. No I/O: `now` is an argument.
//!
//! Two front doors lead to the same checks: [`verify_payment`] takes a payment decoded into
//! the full wire model (what the gateway forwards to its facilitator), and
//! [`light::verify_payment_json`] reads the payment's JSON for the fields verification needs
//! and nothing else (what the size-sensitive WASM builds use).

pub mod light;

use core::fmt;

use serde::Deserialize;

use crate::amount::{Uint256, U256};
use crate::evm::{
    recover_address_from_prehash, Address, ExactEvmPayload, SignatureError, SignatureKind,
    TransferWithAuthorization,
};
use crate::networks::Networks;
use crate::protocol::{v2, PaymentPayload, Reason};
use crate::terms::{ExactEvmTerms, Offer, RequirementError, ResolvedOffer, EXACT};

/// A payment must stay valid this many seconds past `now`, the reference facilitator's
/// allowance for the time a block takes (`validBefore >= now + 6`).
pub const VALID_BEFORE_BUFFER_SECS: u64 = 6;

/// A payment that passed every local check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The paying address (`authorization.from`).
    pub payer: Address,
    /// Index of the matched requirement in the offered list.
    pub requirement_index: usize,
    /// The signed authorisation.
    pub authorization: TransferWithAuthorization,
    /// How far the signature could be checked here.
    pub signature: SignatureCheck,
    /// The signature's bytes, as sent.
    pub signature_bytes: Vec<u8>,
}

/// How far a payment's signature was checked locally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureCheck {
    /// An ECDSA signature that recovers to the payer.
    Recovered,
    /// A smart-wallet signature (ERC-1271 / ERC-6492): only the facilitator can check it.
    /// **Nothing about the signature is proven yet** (any long byte string lands here): the
    /// facilitator's `/verify` must accept the payment before it is settled or served.
    NeedsFacilitator,
}

/// Why a payment fails local verification: the first failing check, in the reference
/// facilitator's order. The client caused every variant except [`Self::Requirement`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// The payment's scheme is not `exact`.
    UnsupportedScheme { scheme: String },
    /// No offered requirement is on the payment's network.
    NetworkMismatch { network: String },
    /// v2: the payment's `accepted` equals none of the offered requirements.
    RequirementsMismatch,
    /// The matched requirement itself is unusable (a server configuration problem).
    Requirement(RequirementError),
    /// The payload is not an exact-EVM payload.
    InvalidPayload { message: String },
    /// The signature is malformed or high-s.
    Signature(SignatureError),
    /// The signature recovers to another address than `from`.
    SignerMismatch { from: Address, recovered: Address },
    /// `to` is not the requirement's `payTo`.
    RecipientMismatch { expected: Address, got: Address },
    /// `validBefore` is less than `now +` [`VALID_BEFORE_BUFFER_SECS`].
    Expired { valid_before: Uint256, now: u64 },
    /// `validAfter` is after `now`.
    NotYetValid { valid_after: Uint256, now: u64 },
    /// `value` is not exactly the required amount.
    ValueMismatch { expected: Uint256, got: Uint256 },
    /// Signer recovery was asked of a smart-wallet signature, which has no recoverable signer.
    SmartWalletSigner,
}

impl VerifyError {
    /// The wire reason for this failure.
    pub fn reason(&self) -> Reason {
        match self {
            Self::UnsupportedScheme { .. } => Reason::UnsupportedScheme,
            Self::NetworkMismatch { .. } => Reason::InvalidExactEvmNetworkMismatch,
            Self::RequirementsMismatch => Reason::InvalidPaymentRequirements,
            Self::Requirement(error) => error.reason(),
            Self::InvalidPayload { .. } => Reason::InvalidPayload,
            Self::Signature(_) | Self::SignerMismatch { .. } | Self::SmartWalletSigner => {
                Reason::InvalidExactEvmSignature
            }
            Self::RecipientMismatch { .. } => Reason::InvalidExactEvmRecipientMismatch,
            Self::Expired { .. } => Reason::InvalidExactEvmPayloadAuthorizationValidBefore,
            Self::NotYetValid { .. } => Reason::InvalidExactEvmPayloadAuthorizationValidAfter,
            Self::ValueMismatch { .. } => Reason::InvalidExactEvmAuthorizationValue,
        }
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedScheme { scheme } => write!(f, "scheme {scheme:?} is not supported"),
            Self::NetworkMismatch { network } => {
                write!(f, "no offered requirement is on network {network:?}")
            }
            Self::RequirementsMismatch => {
                f.write_str("the payment's accepted requirements were not offered")
            }
            Self::Requirement(error) => write!(f, "offered requirement is unusable: {error}"),
            Self::InvalidPayload { message } => write!(f, "not an exact-EVM payload: {message}"),
            Self::Signature(error) => write!(f, "bad signature: {error}"),
            Self::SignerMismatch { from, recovered } => {
                write!(f, "signature recovers to {recovered}, not to from={from}")
            }
            Self::RecipientMismatch { expected, got } => {
                write!(f, "pays {got}, expected {expected}")
            }
            Self::Expired { valid_before, now } => write!(
                f,
                "validBefore {valid_before} is less than now ({now}) + {VALID_BEFORE_BUFFER_SECS}s"
            ),
            Self::NotYetValid { valid_after, now } => {
                write!(f, "validAfter {valid_after} is after now ({now})")
            }
            Self::ValueMismatch { expected, got } => write!(f, "pays {got}, expected {expected}"),
            Self::SmartWalletSigner => {
                f.write_str("a smart-wallet signature has no recoverable signer")
            }
        }
    }
}

impl std::error::Error for VerifyError {}

/// Verifies a payment against the offered requirements at unix time `now` (seconds).
///
/// The checks, in order: scheme; a matching requirement (v1: same network; v2: `accepted`
/// equal to an offered requirement); the payload's shape; the EIP-712 domain; the signature
/// (recovers to `from`, low-s); `to == payTo`; `validBefore >= now + 6`; `validAfter <= now`;
/// `value == amount`. Balance and nonce use are chain state, left to the facilitator.
pub fn verify_payment(
    payment: &PaymentPayload,
    offered: &[v2::PaymentRequirements],
    networks: &Networks,
    now: u64,
) -> Result<Verified, VerifyError> {
    let offers: Vec<Offer<'_>> = offered.iter().map(Offer::from).collect();
    let chain_of = |index: usize| chain_of(networks, offers[index].network);
    let index = find_offer(&claim_of(payment), &offers, chain_of, networks, |i| {
        same_extra(payment, &offered[i])
    })?;
    verify_against(
        index,
        &offers[index],
        || exact_payload(payment.payload()),
        networks,
        now,
    )
}

/// [`verify_payment`] against offers whose terms were resolved beforehand (the gateway's,
/// resolved once when its configuration is read): the same checks in the same order,
/// without reading the offers' strings again.
pub fn verify_resolved<O: ResolvedOffer>(
    payment: &PaymentPayload,
    offered: &[O],
    networks: &Networks,
    now: u64,
) -> Result<Verified, VerifyError> {
    let offers: Vec<Offer<'_>> = offered
        .iter()
        .map(|o| Offer::from(o.requirement()))
        .collect();
    let chain_of = |index: usize| Some(offered[index].terms().domain.chain_id);
    let index = find_offer(&claim_of(payment), &offers, chain_of, networks, |i| {
        same_extra(payment, offered[i].requirement())
    })?;
    check_payload(
        index,
        offered[index].terms(),
        || exact_payload(payment.payload()),
        now,
    )
}

/// The address that signed an exact-EVM payment under `requirement` (a v2 payment's own
/// `accepted` when `None`). Smart-wallet signatures have none; malformed and high-s
/// signatures are refused.
pub fn recover_payment_signer(
    payment: &PaymentPayload,
    requirement: Option<&v2::PaymentRequirements>,
    networks: &Networks,
) -> Result<Address, VerifyError> {
    let requirement = match (payment, requirement) {
        (_, Some(requirement)) => requirement,
        (PaymentPayload::V2(p), None) => &p.accepted,
        (PaymentPayload::V1(_), None) => return Err(VerifyError::RequirementsMismatch),
    };
    let terms = ExactEvmTerms::resolve(requirement, networks).map_err(VerifyError::Requirement)?;
    let exact = exact_payload(payment.payload())
        .map_err(|message| VerifyError::InvalidPayload { message })?;
    match SignatureKind::from_bytes(&exact.signature.0).map_err(VerifyError::Signature)? {
        SignatureKind::Ecdsa(signature) => {
            let digest = exact.authorization.signing_hash(&terms.domain);
            recover_address_from_prehash(&digest, &signature).map_err(VerifyError::Signature)
        }
        SignatureKind::SmartWallet { .. } => Err(VerifyError::SmartWalletSigner),
    }
}

/// What a payment claims about its terms.
fn claim_of(payment: &PaymentPayload) -> Claim<'_> {
    match payment {
        PaymentPayload::V1(p) => Claim::V1 {
            scheme: &p.scheme,
            network: &p.network,
        },
        PaymentPayload::V2(p) => Claim::V2(Offer::from(&p.accepted)),
    }
}

/// `Offer` compares the EIP-712 part of `extra`; the wire model holds all of it.
fn same_extra(payment: &PaymentPayload, offered: &v2::PaymentRequirements) -> bool {
    match payment {
        PaymentPayload::V1(_) => true,
        PaymentPayload::V2(p) => offered.extra == p.accepted.extra,
    }
}

/// The chain a network id names, when the registry knows it.
pub(crate) fn chain_of(networks: &Networks, network: &str) -> Option<u64> {
    networks.resolve(network).ok().map(|n| n.chain_id)
}

/// An exact-EVM payload from its JSON value. Its objects must be objects: serde would also
/// read a struct from an array of its fields, which no client writes and no facilitator reads.
fn exact_payload(payload: &serde_json::Value) -> Result<ExactEvmPayload, String> {
    let authorization = payload.get("authorization");
    if !payload.is_object() || !authorization.is_none_or(serde_json::Value::is_object) {
        return Err("payload and payload.authorization must be JSON objects".into());
    }
    ExactEvmPayload::deserialize(payload).map_err(|e| e.to_string())
}

/// What a payment says about the terms it pays under: enough to find its requirement.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Claim<'a> {
    /// v1 names the scheme and network only.
    V1 { scheme: &'a str, network: &'a str },
    /// v2 echoes the whole requirement it chose (`accepted`).
    V2(Offer<'a>),
}

impl Claim<'_> {
    fn scheme(&self) -> &str {
        match self {
            Self::V1 { scheme, .. } => scheme,
            Self::V2(accepted) => accepted.scheme,
        }
    }

    fn network(&self) -> &str {
        match self {
            Self::V1 { network, .. } => network,
            Self::V2(accepted) => accepted.network,
        }
    }
}

/// The checks after the requirement is found: its terms, the payload's shape (read by
/// `payload`, whose error message is kept), then [`check_exact_evm`].
pub(crate) fn verify_against(
    requirement_index: usize,
    offer: &Offer<'_>,
    payload: impl FnOnce() -> Result<ExactEvmPayload, String>,
    networks: &Networks,
    now: u64,
) -> Result<Verified, VerifyError> {
    let terms = ExactEvmTerms::resolve_offer(offer, networks).map_err(VerifyError::Requirement)?;
    check_payload(requirement_index, &terms, payload, now)
}

/// The payload's shape, then [`check_exact_evm`], under resolved terms.
fn check_payload(
    requirement_index: usize,
    terms: &ExactEvmTerms,
    payload: impl FnOnce() -> Result<ExactEvmPayload, String>,
    now: u64,
) -> Result<Verified, VerifyError> {
    let exact = payload().map_err(|message| VerifyError::InvalidPayload { message })?;
    let signature = check_exact_evm(&exact, terms, now)?;
    Ok(Verified {
        payer: exact.authorization.from,
        requirement_index,
        authorization: exact.authorization,
        signature,
        signature_bytes: exact.signature.0,
    })
}

/// The exact-EVM checks proper, on a parsed payload and resolved terms: signature, recipient,
/// time window, amount.
pub fn check_exact_evm(
    payment: &ExactEvmPayload,
    terms: &ExactEvmTerms,
    now: u64,
) -> Result<SignatureCheck, VerifyError> {
    let authorization = &payment.authorization;
    let signature =
        match SignatureKind::from_bytes(&payment.signature.0).map_err(VerifyError::Signature)? {
            SignatureKind::SmartWallet { .. } => SignatureCheck::NeedsFacilitator,
            SignatureKind::Ecdsa(signature) => {
                let digest = authorization.signing_hash(&terms.domain);
                let recovered = recover_address_from_prehash(&digest, &signature)
                    .map_err(VerifyError::Signature)?;
                if recovered != authorization.from {
                    return Err(VerifyError::SignerMismatch {
                        from: authorization.from,
                        recovered,
                    });
                }
                SignatureCheck::Recovered
            }
        };
    if authorization.to != terms.pay_to {
        return Err(VerifyError::RecipientMismatch {
            expected: terms.pay_to,
            got: authorization.to,
        });
    }
    let now_u256 = U256::from(now);
    if authorization.valid_before.0 < now_u256 + U256::from(VALID_BEFORE_BUFFER_SECS) {
        return Err(VerifyError::Expired {
            valid_before: authorization.valid_before,
            now,
        });
    }
    if authorization.valid_after.0 > now_u256 {
        return Err(VerifyError::NotYetValid {
            valid_after: authorization.valid_after,
            now,
        });
    }
    if authorization.value != terms.amount {
        return Err(VerifyError::ValueMismatch {
            expected: terms.amount,
            got: authorization.value,
        });
    }
    Ok(signature)
}

/// Finds the offered requirement a payment is for: the scheme must be `exact`, and the
/// network the offer's own spelling, exactly (v2: the CAIP-2 id offered; v1: the v1 name of
/// the offer's chain), never another name of the same chain. v1 takes the first offer on its
/// network, v2 the offer equal to its `accepted` (`same_extra` compares whatever of `extra`
/// the caller holds beyond the EIP-712 domain). `offer_chain` gives each offer's chain by
/// index.
pub(crate) fn find_offer(
    claim: &Claim<'_>,
    offers: &[Offer<'_>],
    offer_chain: impl Fn(usize) -> Option<u64>,
    networks: &Networks,
    same_extra: impl Fn(usize) -> bool,
) -> Result<usize, VerifyError> {
    if claim.scheme() != EXACT {
        return Err(VerifyError::UnsupportedScheme {
            scheme: claim.scheme().to_owned(),
        });
    }
    let network_mismatch = || VerifyError::NetworkMismatch {
        network: claim.network().to_owned(),
    };
    let on_network = |index: usize| {
        offers[index].scheme == EXACT
            && match claim {
                Claim::V1 { network, .. } => {
                    let v1_name = offer_chain(index)
                        .and_then(|chain| networks.by_chain_id(chain))
                        .and_then(|n| n.v1_name.as_deref());
                    v1_name == Some(*network)
                }
                Claim::V2(accepted) => offers[index].network == accepted.network,
            }
    };
    let mut indexes = 0..offers.len();
    match claim {
        // v1 payments do not name the asset or amount: the first offer on the network is it.
        Claim::V1 { .. } => indexes
            .find(|&i| on_network(i))
            .ok_or_else(network_mismatch),
        Claim::V2(accepted) => {
            match indexes
                .find(|&i| on_network(i) && same_terms(&offers[i], accepted) && same_extra(i))
            {
                Some(index) => Ok(index),
                None if (0..offers.len()).any(on_network) => Err(VerifyError::RequirementsMismatch),
                None => Err(network_mismatch()),
            }
        }
    }
}

/// Equality of two offers on the same network; addresses compare as values (any letter case),
/// everything else exactly.
fn same_terms(a: &Offer<'_>, b: &Offer<'_>) -> bool {
    let same_address = |x: &str, y: &str| match (x.parse::<Address>(), y.parse::<Address>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => x == y,
    };
    a.scheme == b.scheme
        && a.amount == b.amount
        && same_address(a.asset, b.asset)
        && same_address(a.pay_to, b.pay_to)
        && a.max_timeout_seconds == b.max_timeout_seconds
        && a.eip712 == b.eip712
}
