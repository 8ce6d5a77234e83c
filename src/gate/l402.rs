//! The L402 side of the gate: a route priced in satoshis answers unpaid requests with an
//! invoice and a macaroon (beside its x402 challenge when it sells both), and serves
//! requests whose `Authorization: L402 <macaroon>:<preimage>` verifies.
//!
//! L402 credentials are bearer tokens: reusable until their caveats expire (the protocol's
//! design, as in aperture). Revoking one is a KV entry keyed by its token id.

use core::fmt;

use super::flow::{fetch_released, refused_with, LogRecord, Origin, Outcome, ReceiptStore};
use super::http::Release;
use super::limits::{client_bucket, Allowance, Allowances, Ask};
use super::refusal::LogOutcome;
use super::{Decision, Gate, Refusal, Refused, X402Challenge};
use crate::config::L402Route;
use crate::l402::{
    challenge_values, mint_token, verify_credential, Credential, Grant, Identifier, PaymentHash,
    RootKeySecret, Scheme, TokenId,
};

/// A Lightning node that issues invoices (LND's REST API in the Worker).
#[allow(async_fn_in_trait)] // Workers futures are not Send; no bound is wanted.
pub trait InvoiceSource {
    /// Creates an invoice of `sats` (the caller has checked the allowances).
    async fn create_invoice(&self, sats: u64, memo: &str) -> Result<Invoice, InvoiceError>;
}

/// No Lightning node configured: every invoice fails (routes with `l402` require one, so
/// this is reached only by a misconfiguration the configuration check already refuses).
impl<I: InvoiceSource> InvoiceSource for Option<I> {
    async fn create_invoice(&self, sats: u64, memo: &str) -> Result<Invoice, InvoiceError> {
        match self {
            Some(source) => source.create_invoice(sats, memo).await,
            None => Err(InvoiceError::Unavailable {
                detail: "no lightning node configured".into(),
            }),
        }
    }
}

/// An invoice: what the client pays, and the hash its preimage must match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invoice {
    /// `sha256(preimage)`.
    pub payment_hash: PaymentHash,
    /// The BOLT 11 payment request.
    pub payment_request: String,
}

/// Why no invoice was issued.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvoiceError {
    /// This client (or the route, from all clients) created its allowance of invoices in the
    /// current minute.
    RateLimited,
    /// The allowance could not be checked, so no invoice is made.
    AllowanceUnavailable {
        /// What happened, for the log.
        detail: String,
    },
    /// The node did not answer in time.
    Timeout,
    /// The node was unreachable or answered something that is not its API.
    Unavailable {
        /// What happened, for the log.
        detail: String,
    },
}

impl fmt::Display for InvoiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RateLimited => f.write_str("invoice rate limit reached for this client or route"),
            Self::AllowanceUnavailable { detail } => {
                write!(f, "the invoice allowance could not be checked: {detail}")
            }
            Self::Timeout => f.write_str("the Lightning node timed out"),
            Self::Unavailable { detail } => {
                write!(f, "the Lightning node is unavailable: {detail}")
            }
        }
    }
}

/// What a route sells over L402, with the secret its tokens' root keys come from: built with
/// the gate, so a route with an L402 price always has its secret.
#[derive(Clone, Debug)]
pub struct L402Seller {
    /// The route's L402 price and token terms.
    pub offer: L402Route,
    /// `L402_ROOT_SECRET`.
    pub root: RootKeySecret,
    /// Fresh invoices one client may cause per minute (`lightning.invoices_per_minute`).
    pub invoices_per_client: u32,
    /// Fresh invoices this route may make per minute from all clients
    /// (`lightning.invoices_per_route_per_minute`).
    pub invoices_per_route: u32,
}

/// A 402 that needs an invoice before it can be sent.
#[derive(Clone, Debug)]
pub struct L402Invoice {
    /// The route pattern.
    pub route: String,
    /// The route's x402 challenge (with no requirements when it sells over L402 only).
    pub x402: X402Challenge,
    /// Why the challenge is sent: no credential, a bad one, a revoked one, a spent budget.
    pub refusal: Refusal,
    /// What is sold, and the root secret to mint the token with.
    pub seller: L402Seller,
    /// The invoice memo.
    pub memo: String,
    /// The client's bucket ([`client_bucket`]), for the invoice allowance.
    pub client: String,
    /// Why the request did not pass, for the log.
    pub detail: Option<String>,
}

impl L402Invoice {
    /// The refusal, answered with the route's x402 challenge (alone, or beside the L402 one).
    fn refused(&self, refusal: Refusal) -> Refused {
        Refused::with_challenge(refusal, &self.route, &self.x402)
    }
}

/// A request whose L402 credential verified: served unless its token was revoked.
#[derive(Clone, Debug)]
pub struct L402Access {
    /// The route pattern.
    pub route: String,
    /// Canonical path and query for the origin.
    pub target: String,
    /// The token, for the revocation check, the budget and the log.
    pub token_id: TokenId,
    /// The route's per-token request budget, if it has one.
    pub max_requests: Option<u32>,
    /// The fresh challenge to answer a revoked token with.
    pub challenge: Box<L402Invoice>,
}

impl Gate {
    /// The L402 part of [`Gate::decide`] for a route with an L402 price: a credential to
    /// check, or a challenge to issue. `None` leaves the request to x402.
    pub(super) fn decide_l402(
        &self,
        request: &super::RequestFacts<'_>,
        seller: &L402Seller,
        challenge: &X402Challenge,
        route: &str,
        target: &str,
        now: u64,
    ) -> Option<Decision> {
        let invoice = |refusal: Refusal, detail: Option<String>| {
            Box::new(L402Invoice {
                route: route.to_owned(),
                x402: challenge.clone(),
                refusal,
                seller: seller.clone(),
                memo: format!("edge402 {}", challenge.url()),
                client: client_bucket(request.client),
                detail,
            })
        };
        let credential = request
            .authorization
            .filter(|value| is_l402_credential(value));
        let Some(credential) = credential else {
            let paying_x402 = request.payment_signature.is_some() || request.x_payment.is_some();
            return (!(paying_x402 && challenge.offers_x402()))
                .then(|| Decision::L402Invoice(invoice(Refusal::PaymentRequired, None)));
        };
        let offer = &seller.offer;
        let verified = Credential::from_header(credential)
            .map_err(|e| e.to_string())
            .and_then(|credential| {
                verify_credential(
                    &credential,
                    |id| seller.root.root_key(id),
                    offer.service.name(),
                    now,
                )
                .map_err(|e| e.to_string())
            })
            .and_then(|token| grants_offer(&token.grant, offer).map(|()| token));
        Some(match verified {
            Ok(token) => Decision::L402Access(Box::new(L402Access {
                route: route.to_owned(),
                target: target.to_owned(),
                token_id: token.identifier.token_id,
                max_requests: offer.max_requests,
                challenge: invoice(Refusal::L402CredentialInvalid, Some("token revoked".into())),
            })),
            Err(detail) => {
                Decision::L402Invoice(invoice(Refusal::L402CredentialInvalid, Some(detail)))
            }
        })
    }
}

/// Whether a verified token's grant covers the route's terms: the same tier, and every
/// capability the route's tokens are minted with (a token without a capabilities caveat is
/// unrestricted). Tokens of one service name are interchangeable otherwise, since all share
/// one root secret.
fn grants_offer(grant: &Grant, offer: &L402Route) -> Result<(), String> {
    if grant.service.tier() != offer.service.tier() {
        return Err(format!(
            "token is for tier {}, the route sells tier {}",
            grant.service.tier(),
            offer.service.tier()
        ));
    }
    if let Some(granted) = &grant.capabilities {
        if let Some(missing) = offer.capabilities.iter().find(|c| !granted.contains(c)) {
            return Err(format!("token lacks the capability {missing:?}"));
        }
    }
    Ok(())
}

/// Whether an `Authorization` value uses the `L402` or `LSAT` scheme.
pub fn is_l402_credential(value: &str) -> bool {
    let scheme = value.trim_start().split(' ').next().unwrap_or("");
    Scheme::from_name(scheme).is_some()
}

/// Seconds an invoice challenge is sent again to the client that asked for it, instead of a
/// new one (at most the token's lifetime): a client asking in a loop costs the node one
/// invoice a minute.
pub const INVOICE_REUSE_S: u64 = 60;

/// Answers with a challenge: an invoice from the node and a token minted for it, or the one
/// this client was sent in the last [`INVOICE_REUSE_S`] (a plain request only: a client whose
/// token was refused or spent gets a fresh one), within the client's and the route's
/// allowances.
pub(super) async fn challenge<R, I: InvoiceSource, A: Allowances>(
    plan: &L402Invoice,
    now: u64,
    invoices: &I,
    allowances: &A,
) -> (Outcome<R>, LogRecord) {
    let log = LogRecord {
        route: Some(plan.route.clone()),
        detail: plan.detail.clone(),
        ..LogRecord::default()
    };
    let offer = &plan.seller.offer;
    // The client's book, per route: its invoice to reuse, and its fresh invoices in all; then
    // the route's book: its fresh invoices from all clients. (A use the client's book counted
    // stays counted when the route's refuses: both are upper bounds.)
    let client_scope = format!("l402-client {}", plan.client);
    let from_client = Ask {
        scope: client_scope.clone(),
        key: plan.route.clone(),
        per_key: u32::MAX,
        overall: Some(plan.seller.invoices_per_client),
        reuse: plan.refusal == Refusal::PaymentRequired,
    };
    let allowed = match allowances.ask(&from_client, now).await {
        Ok(Allowance::Granted) => {
            let route_scope = format!("l402-route {}", plan.route);
            let for_route = Ask::one_of(route_scope, plan.seller.invoices_per_route);
            allowances.ask(&for_route, now).await
        }
        other => other,
    };
    let allowed = match allowed {
        Ok(Allowance::Granted) => Ok(()),
        Ok(Allowance::Reuse(values)) => {
            let mut refused = plan.refused(plan.refusal.clone());
            refused.l402 = values.lines().map(str::to_owned).collect();
            return refused_with(refused, log);
        }
        Ok(Allowance::Limited) => Err(InvoiceError::RateLimited),
        Err(detail) => Err(InvoiceError::AllowanceUnavailable { detail }),
    };
    let invoice = match allowed {
        Ok(()) => invoices.create_invoice(offer.price_sats, &plan.memo).await,
        Err(error) => Err(error),
    };
    let invoice = match invoice {
        Ok(invoice) => invoice,
        Err(error) => {
            let log = LogRecord {
                detail: Some(error.to_string()),
                ..log
            };
            let refusal = Refusal::InvoiceUnavailable {
                error,
                asked: Box::new(plan.refusal.clone()),
                x402_offered: plan.x402.offers_x402(),
            };
            // When the route also sells over x402, that challenge alone still works.
            return refused_with(plan.refused(refusal), log);
        }
    };
    let Some(token_id) = random_token_id() else {
        return refused_with(
            Refused::bare(Refusal::NoRandomness, Some(plan.route.clone())),
            log,
        );
    };
    let identifier = Identifier {
        payment_hash: invoice.payment_hash,
        token_id,
    };
    let capabilities: Vec<&str> = offer.capabilities.iter().map(String::as_str).collect();
    let valid_until = now.saturating_add(offer.valid_for_s);
    let macaroon = mint_token(
        &plan.seller.root.root_key(&identifier),
        &identifier,
        &offer.service,
        &capabilities,
        Some(valid_until),
    );
    let mut refused = plan.refused(plan.refusal.clone());
    refused.l402 = challenge_values(&macaroon, &invoice.payment_request).to_vec();
    let reuse_until = now.saturating_add(INVOICE_REUSE_S.min(offer.valid_for_s));
    let kept = allowances
        .keep(
            &client_scope,
            &plan.route,
            refused.l402.join("\n"),
            reuse_until,
            now,
        )
        .await;
    // Not kept: the next request makes another invoice, within the allowance.
    let log = match kept {
        Ok(()) => log,
        Err(error) => LogRecord {
            detail: Some(format!("invoice not kept for reuse: {error}")),
            ..log
        },
    };
    refused_with(refused, log)
}

/// Serves a verified credential unless its token was revoked.
pub(super) async fn access<S, O, I, A>(
    plan: &L402Access,
    now: u64,
    (store, origin, invoices, allowances): (&S, &O, &I, &A),
) -> (Outcome<O::Response>, LogRecord)
where
    S: ReceiptStore,
    O: Origin,
    I: InvoiceSource,
    A: Allowances,
{
    let log = LogRecord {
        route: Some(plan.route.clone()),
        nonce: Some(format!("0x{}", hex::encode(plan.token_id.0))),
        ..LogRecord::default()
    };
    let route = Some(plan.route.clone());
    match store.is_revoked(&plan.token_id).await {
        Ok(false) => {}
        Ok(true) => return challenge(&plan.challenge, now, invoices, allowances).await,
        Err(detail) => {
            // Fail closed: a token whose revocation cannot be checked is not served.
            let log = LogRecord {
                detail: Some(detail),
                ..log
            };
            return refused_with(Refused::bare(Refusal::RevocationUnavailable, route), log);
        }
    }
    if let Some(limit) = plan.max_requests {
        match store.consume_token_request(&plan.token_id, limit).await {
            Ok(true) => {}
            Ok(false) => {
                let exhausted = L402Invoice {
                    refusal: Refusal::L402BudgetExhausted,
                    detail: Some(format!("all {limit} requests of this token are used")),
                    ..(*plan.challenge).clone()
                };
                return challenge(&exhausted, now, invoices, allowances).await;
            }
            Err(detail) => {
                // Fail closed: without the count, nothing is served.
                let log = LogRecord {
                    detail: Some(detail),
                    ..log
                };
                return refused_with(Refused::bare(Refusal::TokenBudgetUnavailable, route), log);
            }
        }
    }
    let paid = Release::Paid(None);
    fetch_released(origin, &plan.target, paid, LogOutcome::L402, log).await
}

/// 32 random bytes for a token id, or `None` if the platform has no secure generator.
fn random_token_id() -> Option<TokenId> {
    let mut id = [0u8; 32];
    getrandom::getrandom(&mut id).ok()?;
    Some(TokenId(id))
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn l402_schemes_are_recognised_in_any_case() {
        for value in ["L402 abc:def", "LSAT abc:def", "l402 x", " lsat x"] {
            assert!(is_l402_credential(value), "{value}");
        }
        for value in ["Bearer x", "Basic x", "", "L402x"] {
            assert!(!is_l402_credential(value), "{value}");
        }
    }
}
