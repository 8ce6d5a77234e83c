//! The L402 side of the gate: a route priced in satoshis answers unpaid requests with an
//! invoice and a macaroon (beside its x402 challenge when it sells both), and serves
//! requests whose `Authorization: L402 <macaroon>:<preimage>` verifies.
//!
//! L402 credentials are bearer tokens: reusable until their caveats expire (the protocol's
//! design, as in aperture). Revoking one is a KV entry keyed by its token id.

use core::fmt;
use std::collections::HashMap;

use super::flow::{origin_failed, refused, serve, LogRecord, Origin, Outcome, ReceiptStore};
use super::{refusal, Answer, Challenge, Decision, Gate};
use crate::config::L402Route;
use crate::l402::{
    challenge_values, mint_token, verify_credential, Credential, Grant, Identifier, PaymentHash,
    Scheme, TokenId,
};
use crate::protocol::Reason;

/// The response header of an L402 challenge.
pub const WWW_AUTHENTICATE: &str = "WWW-Authenticate";

/// A Lightning node that issues invoices (LND's REST API in the Worker).
#[allow(async_fn_in_trait)] // Workers futures are not Send; no bound is wanted.
pub trait InvoiceSource {
    /// Creates an invoice of `sats` for `client` (its address, when known, for rate limits).
    async fn create_invoice(
        &self,
        client: Option<&str>,
        sats: u64,
        memo: &str,
    ) -> Result<Invoice, InvoiceError>;
}

/// No Lightning node configured: every invoice fails (routes with `l402` require one, so
/// this is reached only by a misconfiguration the configuration check already refuses).
impl<I: InvoiceSource> InvoiceSource for Option<I> {
    async fn create_invoice(
        &self,
        client: Option<&str>,
        sats: u64,
        memo: &str,
    ) -> Result<Invoice, InvoiceError> {
        match self {
            Some(source) => source.create_invoice(client, sats, memo).await,
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
    /// This client created its allowance of invoices in the current minute.
    RateLimited,
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
            Self::RateLimited => f.write_str("invoice rate limit reached for this client"),
            Self::Timeout => f.write_str("the Lightning node timed out"),
            Self::Unavailable { detail } => {
                write!(f, "the Lightning node is unavailable: {detail}")
            }
        }
    }
}

/// A 402 that needs an invoice before it can be sent.
#[derive(Clone, Debug)]
pub struct L402Challenge {
    /// The route pattern.
    pub route: String,
    /// The route's x402 challenge (with no requirements when it sells over L402 only).
    pub x402: Challenge,
    /// The `error` to answer with.
    pub reason: Reason,
    /// The route's L402 price and token terms.
    pub offer: L402Route,
    /// The invoice memo.
    pub memo: String,
    /// The client's address, for the invoice rate limit.
    pub client: Option<String>,
    /// Why the request did not pass, for the log.
    pub detail: Option<String>,
}

impl L402Challenge {
    /// Whether the route also sells over x402 (then a Lightning failure degrades to that).
    pub fn x402_offered(&self) -> bool {
        !self.x402.v2.accepts.is_empty()
    }

    /// The answer without the L402 challenge: the x402 one, or a plain JSON error.
    pub fn answer(&self) -> Answer {
        self.x402.answer(402, self.reason.as_str(), None)
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
    pub challenge: Box<L402Challenge>,
}

/// Per-client invoice counts in one-minute windows. The Worker keeps one per isolate: an
/// approximate limit (a client spread over isolates gets more), which is enough to stop one
/// client from making a node issue invoices in a loop.
#[derive(Clone, Debug)]
pub struct InvoiceLimiter {
    per_minute: u32,
    minute: u64,
    counts: HashMap<String, u32>,
}

impl InvoiceLimiter {
    /// A limiter allowing `per_minute` invoices per client and minute.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            minute: 0,
            counts: HashMap::new(),
        }
    }

    /// Counts one invoice for `client` at unix time `now`; `false` when over the limit.
    pub fn allow(&mut self, client: &str, now: u64) -> bool {
        let minute = now / 60;
        if minute != self.minute {
            self.minute = minute;
            self.counts.clear();
        }
        let count = self.counts.entry(client.to_owned()).or_insert(0);
        if *count >= self.per_minute {
            return false;
        }
        *count += 1;
        true
    }
}

impl Gate {
    /// The L402 part of [`Gate::decide`] for a route with an L402 price: a credential to
    /// check, or a challenge to issue. `None` leaves the request to x402.
    pub(super) fn decide_l402(
        &self,
        request: &super::RequestFacts<'_>,
        offer: &L402Route,
        challenge: &Challenge,
        route: &str,
        target: &str,
        now: u64,
    ) -> Option<Decision> {
        let x402_offered = !challenge.v2.accepts.is_empty();
        let l402_challenge = |reason: Reason, detail: Option<String>| {
            Box::new(L402Challenge {
                route: route.to_owned(),
                x402: challenge.clone(),
                reason,
                offer: offer.clone(),
                memo: format!("edge402 {}", challenge.v2.resource.url),
                client: request.client.map(str::to_owned),
                detail,
            })
        };
        let credential = request
            .authorization
            .filter(|value| is_l402_credential(value));
        let Some(credential) = credential else {
            let paying_x402 = request.payment_signature.is_some() || request.x_payment.is_some();
            return (!(paying_x402 && x402_offered))
                .then(|| Decision::Challenge(l402_challenge(Reason::PaymentRequired, None)));
        };
        let Some(secret) = &self.l402_secret else {
            let refused = refusal(
                500,
                Reason::InvalidConfiguration,
                "L402_ROOT_SECRET is not set",
            );
            return Some(Decision::Answer {
                answer: refused,
                route: Some(route.to_owned()),
            });
        };
        let verified = Credential::from_header(credential)
            .map_err(|e| e.to_string())
            .and_then(|credential| {
                verify_credential(
                    &credential,
                    |id| secret.root_key(id),
                    offer.service.name(),
                    now,
                )
                .map_err(|e| e.to_string())
            })
            .and_then(|token| grants_offer(&token.grant, offer).map(|()| token));
        Some(match verified {
            Ok(token) => Decision::L402(Box::new(L402Access {
                route: route.to_owned(),
                target: target.to_owned(),
                token_id: token.identifier.token_id,
                max_requests: offer.max_requests,
                challenge: l402_challenge(
                    Reason::InvalidL402Credential,
                    Some("token revoked".into()),
                ),
            })),
            Err(detail) => {
                Decision::Challenge(l402_challenge(Reason::InvalidL402Credential, Some(detail)))
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

/// Answers with a fresh challenge: an invoice from the node and a token minted for it.
pub(super) async fn challenge<R, I: InvoiceSource>(
    gate: &Gate,
    plan: &L402Challenge,
    now: u64,
    invoices: &I,
) -> (Outcome<R>, LogRecord) {
    let log = LogRecord {
        route: Some(plan.route.clone()),
        detail: plan.detail.clone(),
        ..LogRecord::default()
    };
    let invoice = invoices
        .create_invoice(plan.client.as_deref(), plan.offer.price_sats, &plan.memo)
        .await;
    let (invoice, secret) = match (invoice, &gate.l402_secret) {
        (Ok(invoice), Some(secret)) => (invoice, secret),
        (Ok(_), None) => {
            let answer = refusal(
                500,
                Reason::InvalidConfiguration,
                "L402_ROOT_SECRET is not set",
            );
            return refused(answer, "config_error", log);
        }
        (Err(error), _) => {
            let log = LogRecord {
                detail: Some(error.to_string()),
                ..log
            };
            if plan.x402_offered() {
                // The route also sells over x402: that challenge alone still works.
                return refused(plan.answer(), "challenge_x402_only", log);
            }
            let answer = match error {
                InvoiceError::RateLimited => {
                    let mut answer = refusal(
                        429,
                        Reason::TooManyInvoices,
                        "too many invoices; retry in a minute",
                    );
                    answer.headers.push(("Retry-After", "60".into()));
                    answer
                }
                _ => refusal(
                    502,
                    Reason::LightningUnavailable,
                    "the Lightning node could not issue an invoice",
                ),
            };
            return refused(answer, "lightning_error", log);
        }
    };
    let Some(token_id) = random_token_id() else {
        let answer = refusal(
            500,
            Reason::InvalidConfiguration,
            "no secure random numbers on this platform",
        );
        return refused(answer, "config_error", log);
    };
    let identifier = Identifier {
        payment_hash: invoice.payment_hash,
        token_id,
    };
    let capabilities: Vec<&str> = plan.offer.capabilities.iter().map(String::as_str).collect();
    let valid_until = now.saturating_add(plan.offer.valid_for_s);
    let macaroon = mint_token(
        &secret.root_key(&identifier),
        &identifier,
        &plan.offer.service,
        &capabilities,
        Some(valid_until),
    );
    let mut answer = plan.answer();
    for value in challenge_values(&macaroon, &invoice.payment_request) {
        answer.headers.push((WWW_AUTHENTICATE, value));
    }
    refused(answer, "challenge", log)
}

/// Serves a verified credential unless its token was revoked.
pub(super) async fn access<S: ReceiptStore, O: Origin, I: InvoiceSource>(
    gate: &Gate,
    plan: &L402Access,
    now: u64,
    store: &S,
    origin: &O,
    invoices: &I,
) -> (Outcome<O::Response>, LogRecord) {
    let log = LogRecord {
        route: Some(plan.route.clone()),
        nonce: Some(format!("0x{}", hex::encode(plan.token_id.0))),
        ..LogRecord::default()
    };
    match store.is_revoked(&plan.token_id).await {
        Ok(false) => {}
        Ok(true) => return challenge(gate, &plan.challenge, now, invoices).await,
        Err(detail) => {
            // Fail closed: a token whose revocation cannot be checked is not served.
            let message = "the token's revocation could not be checked";
            let answer = refusal(502, Reason::L402RevocationUnavailable, message);
            return refused(
                answer,
                "revocation_error",
                LogRecord {
                    detail: Some(detail),
                    ..log
                },
            );
        }
    }
    if let Some(limit) = plan.max_requests {
        match store.consume_token_request(&plan.token_id, limit).await {
            Ok(true) => {}
            Ok(false) => {
                let exhausted = L402Challenge {
                    reason: Reason::L402BudgetExhausted,
                    detail: Some(format!("all {limit} requests of this token are used")),
                    ..(*plan.challenge).clone()
                };
                return challenge(gate, &exhausted, now, invoices).await;
            }
            Err(detail) => {
                // Fail closed: without the count, nothing is served.
                let message = "the token's request budget could not be checked";
                let answer = refusal(502, Reason::TokenBudgetUnavailable, message);
                return refused(
                    answer,
                    "budget_error",
                    LogRecord {
                        detail: Some(detail),
                        ..log
                    },
                );
            }
        }
    }
    match origin.fetch(&plan.target).await {
        Ok(response) => serve::<O>(response, None, "l402", log),
        Err(detail) => origin_failed(Some(log), detail),
    }
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
    fn limiter_counts_per_client_and_minute() {
        let mut limiter = InvoiceLimiter::new(2);
        assert!(limiter.allow("a", 600) && limiter.allow("a", 601));
        assert!(!limiter.allow("a", 659), "third in the same minute");
        assert!(
            limiter.allow("b", 659),
            "another client has its own allowance"
        );
        assert!(limiter.allow("a", 660), "a new minute");
    }

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
