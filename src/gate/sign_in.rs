//! Signing in instead of paying again (x402's `sign-in-with-x`) on routes with `access_s`: the
//! gate checks a `SIGN-IN-WITH-X` proof ([`crate::siwx`]) and decides
//! [`Decision::SignIn`](super::Decision::SignIn); the flow ([`sign_in`]) proves a smart
//! wallet's signature on its chain when it must, spends the nonce in the payer's access entry
//! ([`super::access`]) and serves only when a payment of that payer gives access now.
//!
//! A settled payment on such a route grants its payer access for `access_s` from its
//! settlement ([`grant_access`], called when paid content is served).

use std::sync::Arc;

use serde_json::{json, Value};

use super::access::{access_key, GrantCall, SignInAnswer, SignInCall};
use super::coordinator::Coordinator;
use super::flow::{fetch_released, refused_with, LogRecord, Origin, Outcome};
use super::http::Release;
use super::ledger::{ChainError, ChainReader};
use super::limits::{client_bucket, Allowance, Allowances, Ask};
use super::refusal::{LogOutcome, SmartWalletRefusal};
use super::{Decision, Gate, PaymentPlan, Refusal, Refused, RequestFacts, X402Challenge};
use crate::config::{PaidRoute, RouteAccess, SignInConfig};
use crate::evm::abi::{self, erc6492, Token};
use crate::evm::Address;
use crate::siwx::{Audience, SignInError, SignInOffer, SignInProof, SignerProof};

/// What a route with `access_s` needs per request, built once with the gate.
#[derive(Clone, Debug)]
pub struct RouteSignIn {
    /// How long and where a payment gives access.
    pub access: RouteAccess,
    /// The static part of its 402's `sign-in-with-x` extension.
    pub offer: Arc<SignInOffer>,
    /// The CAIP-2 chains the route is paid on: a sign-in names one of them.
    pub networks: Vec<String>,
}

impl RouteSignIn {
    /// The sign-in part of a priced route with `access_s`, under `sign_in_with_x`.
    pub fn new(config: &SignInConfig, paid: &PaidRoute) -> Option<Self> {
        let access = paid.access.as_deref()?.clone();
        let mut networks: Vec<String> = Vec::new();
        for accept in &paid.accepts {
            if !networks.contains(&accept.requirement.network) {
                networks.push(accept.requirement.network.clone());
            }
        }
        let offer = SignInOffer::new(&config.domain, config.statement.as_deref(), &networks);
        Some(Self {
            access,
            offer: Arc::new(offer),
            networks,
        })
    }
}

/// A sign-in offered in one challenge: rendered with a fresh nonce when the 402 is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInChallenge {
    /// The route's offer.
    pub offer: Arc<SignInOffer>,
    /// The resource URI at the gateway's public origin.
    pub uri: String,
    /// The time of the request.
    pub now: u64,
}

impl SignInChallenge {
    /// The extension, with a fresh nonce; `None` when the platform has no randomness (the
    /// client can still pay).
    pub fn extension(&self) -> Option<Value> {
        let nonce = crate::siwx::fresh_nonce()?;
        Some(self.offer.extension(&self.uri, &nonce, self.now))
    }
}

/// A sign-in that passed the gate's checks: what the flow needs to finish it.
#[derive(Clone, Debug)]
pub struct SignInPlan {
    /// The route pattern.
    pub route: String,
    /// Canonical path and query for the origin.
    pub target: String,
    /// The wallet signed in.
    pub payer: Address,
    /// The payer's access entry in the route's scope.
    pub key: String,
    /// The nonce to spend, and until when it is remembered.
    pub nonce: String,
    /// See [`crate::siwx::SignIn::nonce_until`].
    pub nonce_until: u64,
    /// The chain a smart wallet's signature is checked on.
    pub chain_id: u64,
    /// What is left to prove the signature.
    pub proof: SignerProof,
    /// The client's bucket, for the smart-wallet allowance.
    pub client: String,
    /// The challenge of a refusal (the client may pay instead).
    pub challenge: X402Challenge,
}

impl SignInPlan {
    fn refused(&self, error: SignInError) -> Refused {
        Refused::with_challenge(Refusal::SignIn(error), &self.route, &self.challenge)
    }
}

impl Gate {
    /// The sign-in part of [`Gate::decide`]: a `SIGN-IN-WITH-X` proof on a route with
    /// `access_s`, checked against the gateway's public origin and the resource there.
    #[allow(clippy::too_many_arguments)] // the parts of `decide` it continues from
    pub(super) fn decide_sign_in(
        &self,
        request: &RequestFacts<'_>,
        canonical_path: &str,
        header: &str,
        route: &RouteSignIn,
        challenge: &X402Challenge,
        pattern: &str,
        target: &str,
        now: u64,
    ) -> Decision {
        let refuse = |error| {
            let refused = Refused::with_challenge(Refusal::SignIn(error), pattern, challenge);
            Decision::Refuse(Box::new(refused))
        };
        // Routes with `access_s` exist only under `sign_in_with_x` (the configuration check).
        let Some(config) = &self.config.sign_in_with_x else {
            return refuse(SignInError::NotEntitled);
        };
        let uri = sign_in_uri(config, canonical_path);
        let audience = Audience {
            origin: &config.origin,
            domain: &config.domain,
            uri: &uri,
            networks: &route.networks,
            contracts: self.config.smart_wallets.enabled,
        };
        let checked = match SignInProof::from_header(header).and_then(|p| p.check(&audience, now)) {
            Ok(checked) => checked,
            Err(error) => return refuse(error),
        };
        Decision::SignIn(Box::new(SignInPlan {
            route: pattern.to_owned(),
            target: target.to_owned(),
            key: route.planned_for(&checked.address).key,
            payer: checked.address,
            nonce: checked.nonce,
            nonce_until: checked.nonce_until,
            chain_id: checked.chain_id,
            proof: checked.proof,
            client: client_bucket(request.client),
            challenge: challenge.clone(),
        }))
    }
}

/// The URI a sign-in for `path` names: the resource at the gateway's public origin (the
/// canonical path, without the query, as the challenge's resource URL).
pub fn sign_in_uri(config: &SignInConfig, canonical_path: &str) -> String {
    format!("{}{canonical_path}", config.origin)
}

/// Finishes a sign-in: a smart wallet's signature is proven on its chain (within the client's
/// smart-wallet allowance), then the nonce is spent in the payer's entry, and the origin is
/// fetched only if a payment gives access now.
pub(super) async fn sign_in<O, C, A, H>(
    gate: &Gate,
    plan: &SignInPlan,
    now: u64,
    (origin, coordinator, allowances, chain): (&O, &C, &A, &H),
) -> (Outcome<O::Response>, LogRecord)
where
    O: Origin,
    C: Coordinator,
    A: Allowances,
    H: ChainReader,
{
    let log = LogRecord {
        route: Some(plan.route.clone()),
        payer: Some(plan.payer.to_string()),
        ..LogRecord::default()
    };
    if let SignerProof::Contract { hash, signature } = &plan.proof {
        let ask = Ask::one_of(
            format!("smart-wallet {}", plan.client),
            // The same allowance as smart-wallet payments: it bounds the chain's cost.
            gate.config().smart_wallets.per_client_per_minute,
        );
        match allowances.ask(&ask, now).await {
            Ok(Allowance::Granted | Allowance::Reuse(_)) => {}
            Ok(Allowance::Limited) => {
                let why = SmartWalletRefusal::TooMany;
                let refused = Refused::bare(
                    Refusal::SmartWalletRefused { why },
                    Some(plan.route.clone()),
                );
                return refused_with(refused, log);
            }
            Err(detail) => {
                let log = LogRecord {
                    detail: Some(detail),
                    ..log
                };
                let refused =
                    Refused::bare(Refusal::AllowanceUnavailable, Some(plan.route.clone()));
                return refused_with(refused, log);
            }
        }
        match contract_signed(chain, plan.chain_id, &plan.payer, hash, signature).await {
            Ok(true) => {}
            Ok(false) => return refused_with(plan.refused(SignInError::Signature), log),
            Err(ChainError::NoEndpoint { chain_id }) => {
                let refused = plan.refused(SignInError::NoVerifier { chain_id });
                return refused_with(refused, log);
            }
            Err(error) => {
                // Not the client's fault: no challenge, so it retries rather than pays; the
                // nonce is not spent.
                let detail = error.to_string();
                let refusal = Refusal::SignIn(SignInError::Verifier { detail });
                let refused = Refused::bare(refusal, Some(plan.route.clone()));
                return refused_with(refused, log);
            }
        }
    }
    let call = SignInCall {
        key: plan.key.clone(),
        nonce: plan.nonce.clone(),
        nonce_until: plan.nonce_until,
        contract_chain: match plan.proof {
            SignerProof::Contract { .. } => Some(plan.chain_id),
            SignerProof::Recovered => None,
        },
        now,
    };
    let until = match coordinator.sign_in(&call).await {
        Ok(SignInAnswer::Granted { until }) => until,
        Ok(SignInAnswer::NotEntitled) => {
            return refused_with(plan.refused(SignInError::NotEntitled), log)
        }
        Ok(SignInAnswer::NonceUsed) => {
            return refused_with(plan.refused(SignInError::NonceUsed), log)
        }
        Ok(SignInAnswer::TooMany) => {
            let refused = Refused::bare(
                Refusal::SignIn(SignInError::TooMany),
                Some(plan.route.clone()),
            );
            return refused_with(refused, log);
        }
        Err(error) => {
            let log = LogRecord {
                detail: Some(error.to_string()),
                ..log
            };
            let refused = Refused::bare(Refusal::CoordinatorUnavailable, Some(plan.route.clone()));
            return refused_with(refused, log);
        }
    };
    let log = LogRecord {
        detail: Some(format!("signed in; access until {until}")),
        ..log
    };
    let paid = Release::Paid(None);
    fetch_released(origin, &plan.target, paid, LogOutcome::SignedIn, log).await
}

/// Records the access a served payment gives its payer: until `access_s` after its
/// settlement at `settled_at`. A failure is the log's detail; the payment is served anyway,
/// and its retries (served from the receipt) grant again.
pub(super) async fn grant_access<C: Coordinator>(
    plan: &PaymentPlan,
    settled_at: u64,
    coordinator: &C,
    now: u64,
) -> Option<String> {
    let access = plan.access.as_ref()?;
    let call = GrantCall {
        key: access.key.clone(),
        until: settled_at.saturating_add(access.seconds),
        chain_id: plan.chain_id,
        now,
    };
    coordinator
        .grant_access(&call)
        .await
        .err()
        .map(|error| format!("access not granted: {error}"))
}

/// The access a payment on a route with `access_s` gives its payer.
#[derive(Clone, Debug)]
pub struct PlannedAccess {
    /// The payer's entry in the route's scope.
    pub key: String,
    /// Seconds after the settlement.
    pub seconds: u64,
}

impl RouteSignIn {
    /// The access a payment by `payer` gets here.
    pub fn planned_for(&self, payer: &Address) -> PlannedAccess {
        PlannedAccess {
            key: access_key(&self.access.scope, payer),
            seconds: self.access.seconds,
        }
    }
}

/// Whether `address`'s contract accepts `signature` over `hash` on chain `chain_id`: one
/// `eth_call` of [`SIGN_IN_CHECK`], a contract that is never deployed (its constructor runs
/// and returns one byte), which deploys a counterfactual wallet first when the signature is
/// an ERC-6492 wrapper and asks the wallet's ERC-1271 `isValidSignature`.
async fn contract_signed<H: ChainReader>(
    chain: &H,
    chain_id: u64,
    address: &Address,
    hash: &[u8; 32],
    signature: &[u8],
) -> Result<bool, ChainError> {
    let data = sign_in_check_call(address, hash, signature);
    let answer = chain
        .call(chain_id, "eth_call", json!([{ "data": data }, "latest"]))
        .await?;
    match answer.as_str() {
        Some("0x01") => Ok(true),
        Some("0x00") => Ok(false),
        _ => Err(ChainError::Failed {
            detail: format!("eth_call answered {answer}"),
        }),
    }
}

/// The creation code of `SignInCheck.sol` (beside this file), compiled with solc 0.8.26,
/// optimizer on (200 runs): `stack/test` compiles the source again and compares.
pub const SIGN_IN_CHECK: &str = include_str!("SignInCheck.bin");

/// The `eth_call` data: [`SIGN_IN_CHECK`]'s creation code followed by its constructor's
/// arguments, ABI-encoded: `(address wallet, bytes32 hash, address factory, bytes
/// factoryCall, bytes signature)`, an ERC-6492 wrapper unwrapped into the last three (no
/// factory otherwise).
pub fn sign_in_check_call(wallet: &Address, hash: &[u8; 32], signature: &[u8]) -> String {
    let (factory, factory_call, signature) = match erc6492(signature) {
        Some(wrapped) => (wrapped.factory, wrapped.factory_call, wrapped.signature),
        None => (Address([0; 20]), &[][..], signature),
    };
    let args = abi::encode(&[
        Token::Word(wallet.to_word()),
        Token::Word(*hash),
        Token::Word(factory.to_word()),
        Token::Bytes(factory_call),
        Token::Bytes(signature),
    ]);
    format!("0x{}{}", SIGN_IN_CHECK.trim(), hex::encode(args))
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    /// The arguments of a wrapped and a plain smart-wallet signature as viem's
    /// `encodeAbiParameters` writes them (`[address, bytes32, address, bytes, bytes]`; the
    /// wrapper itself from `encodeAbiParameters([address, bytes, bytes])` and the magic).
    const VIEM_WRAPPED: &str = "00000000000000000000000011111111111111111111111111111111111111112222222222222222222222222222222222222222222222222222222222222222000000000000000000000000333333333333333333333333333333333333333300000000000000000000000000000000000000000000000000000000000000a000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000000024444444444444444444444444444444444444444444444444444444444444444444444444000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000041555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555500000000000000000000000000000000000000000000000000000000000000";
    const VIEM_PLAIN: &str = "00000000000000000000000011111111111111111111111111111111111111112222222222222222222222222222222222222222222222222222222222222222000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000a000000000000000000000000000000000000000000000000000000000000000c000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000042555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555000000000000000000000000000000000000000000000000000000000000";
    const VIEM_WRAPPER: &str = "0000000000000000000000003333333333333333333333333333333333333333000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000c000000000000000000000000000000000000000000000000000000000000000244444444444444444444444444444444444444444444444444444444444444444444444440000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000415555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555000000000000000000000000000000000000000000000000000000000000006492649264926492649264926492649264926492649264926492649264926492";

    #[test]
    fn the_check_is_called_with_the_arguments_viem_encodes() {
        let wallet = Address([0x11; 20]);
        let hash = [0x22; 32];
        let wrapped = hex::decode(VIEM_WRAPPER).unwrap();
        let call = sign_in_check_call(&wallet, &hash, &wrapped);
        assert_eq!(call, format!("0x{}{VIEM_WRAPPED}", SIGN_IN_CHECK.trim()));
        let call = sign_in_check_call(&wallet, &hash, &[0x55; 66]);
        assert_eq!(call, format!("0x{}{VIEM_PLAIN}", SIGN_IN_CHECK.trim()));
    }
}
