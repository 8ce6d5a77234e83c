//! How a request ends: the decision carried out against the remote services, which are
//! traits here so that the same flow runs in the Worker (Fetch, KV) and in tests (fakes).
//!
//! Nothing is released before a successful settlement or a matching receipt. Every branch
//! returns an [`Outcome`] and one [`LogRecord`]; refusals carry their [`Refusal`], which the
//! transport renders.

use core::fmt;

use futures_util::future::join;
use serde::Serialize;

use super::http::Release;
use super::l402::InvoiceSource;
use super::receipt::Receipt;
use super::refusal::{is_error_status, LogOutcome};
use super::settlement::{check_settlement, Expected};
use super::{Decision, Gate, PaymentPlan, Refusal, Refused, RequestFacts};
use crate::config::SettleOrder;
use crate::protocol::facilitator::{FacilitatorRequest, SettleResponse, VerifyResponse};
use crate::protocol::Reason;

/// A facilitator's HTTP API (`/verify`, `/settle`).
#[allow(async_fn_in_trait)] // Workers futures are not Send; no bound is wanted.
pub trait Facilitator {
    /// `POST /verify`.
    async fn verify(
        &self,
        request: &FacilitatorRequest,
    ) -> Result<VerifyResponse, FacilitatorError>;
    /// `POST /settle`.
    async fn settle(
        &self,
        request: &FacilitatorRequest,
    ) -> Result<SettleResponse, FacilitatorError>;
}

/// Why a facilitator call produced no answer to act on.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FacilitatorError {
    /// No answer in time: a settlement's outcome is unknown (it may still happen).
    Timeout,
    /// Connection failed, or a 5xx status.
    Unavailable {
        /// What happened, for the log.
        detail: String,
    },
    /// An answer that is not the API's (not JSON of the expected shape).
    Malformed {
        /// What was wrong, for the log.
        detail: String,
    },
}

impl fmt::Display for FacilitatorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout => f.write_str("facilitator timed out"),
            Self::Unavailable { detail } => write!(f, "facilitator unavailable: {detail}"),
            Self::Malformed { detail } => write!(f, "facilitator answer malformed: {detail}"),
        }
    }
}

impl FacilitatorError {
    /// The refusal a client gets for it.
    pub fn refusal(&self) -> Refusal {
        match self {
            Self::Timeout => Refusal::FacilitatorTimeout,
            Self::Unavailable { .. } | Self::Malformed { .. } => Refusal::FacilitatorUnavailable,
        }
    }
}

/// The receipt cache (Workers KV in the Worker).
#[allow(async_fn_in_trait)]
pub trait ReceiptStore {
    /// Looks a receipt up; a failed or unreadable lookup is a miss (and the shell logs it).
    async fn get(&self, key: &str) -> Option<Receipt>;
    /// Stores a receipt for `ttl_s` seconds. The shell finishes the write even if the client
    /// hangs up (`ctx.wait_until`), so this does not wait for it.
    fn put(&self, key: &str, receipt: &Receipt, ttl_s: u64);
    /// Whether an L402 token was revoked (an entry at [`super::receipt::revocation_key`]).
    /// A failed lookup is an error, and nothing is served then.
    async fn is_revoked(&self, token_id: &crate::l402::TokenId) -> Result<bool, String>;
    /// Counts one request of an L402 token against its budget of `limit` requests,
    /// atomically; `Ok(false)` once the budget is used up. (A Durable Object in the Worker:
    /// KV has no atomic increment.)
    async fn consume_token_request(
        &self,
        token_id: &crate::l402::TokenId,
        limit: u32,
    ) -> Result<bool, String>;
}

/// Where content comes from. Called at most once per request.
#[allow(async_fn_in_trait)]
pub trait Origin {
    /// The origin's response, opaque to the flow.
    type Response;
    /// Fetches `target` (canonical path and query) with the client's method, headers, body.
    async fn fetch(&self, target: &str) -> Result<Self::Response, String>;
    /// The response's status.
    fn status(response: &Self::Response) -> u16;
}

/// What the shell sends back.
#[derive(Debug)]
pub enum Outcome<R> {
    /// A CORS preflight, answered by the gateway.
    Preflight,
    /// The origin's response, released as `release` says.
    Origin {
        /// The origin's response.
        response: R,
        /// How it is released (free, uncharged, paid with its settlement).
        release: Release,
    },
    /// No content: a challenge or a refusal.
    Refused(Box<Refused>),
}

/// The one structured log line of a request. No secrets, no payment headers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LogRecord {
    /// Route pattern, when one matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// What happened.
    pub outcome: LogOutcome,
    /// HTTP status answered.
    pub status: u16,
    /// Wire reason, when refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The payer, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payer: Option<String>,
    /// The settlement transaction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction: Option<String>,
    /// The payment nonce, kept for reconciliation when settlement's outcome is unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Details for operators (facilitator errors, long facilitator reasons).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The longest facilitator reason passed to clients as is; longer or multi-line texts (some
/// facilitators send a whole error dump) become `unexpected_settle_error` and go to the log.
const MAX_PASSED_REASON_LEN: usize = 80;
/// How much of a long facilitator reason the log keeps.
const MAX_LOGGED_REASON_CHARS: usize = 500;

/// The remote services a request may need.
pub struct Services<'a, F, S, O, I> {
    /// The x402 facilitator.
    pub facilitator: &'a F,
    /// Receipts and revocations (KV).
    pub store: &'a S,
    /// Where content comes from.
    pub origin: &'a O,
    /// The Lightning node, for L402 invoices.
    pub invoices: &'a I,
}

/// Handles one request: decides, then performs the decision with the given services.
pub async fn handle<F, S, O, I>(
    gate: &Gate,
    request: &RequestFacts<'_>,
    now: u64,
    services: Services<'_, F, S, O, I>,
) -> (Outcome<O::Response>, LogRecord)
where
    F: Facilitator,
    S: ReceiptStore,
    O: Origin,
    I: InvoiceSource,
{
    let Services {
        facilitator,
        store,
        origin,
        invoices,
    } = services;
    match gate.decide(request, now) {
        Decision::Preflight => {
            let log = LogRecord {
                outcome: LogOutcome::Preflight,
                status: super::refusal::PREFLIGHT_STATUS,
                ..LogRecord::default()
            };
            (Outcome::Preflight, log)
        }
        Decision::Free { target } => match origin.fetch(&target).await {
            Ok(response) => release::<O>(
                response,
                Release::Free,
                LogOutcome::Free,
                LogRecord::default(),
            ),
            Err(detail) => origin_failed(None, LogRecord::default(), detail),
        },
        Decision::Refuse(refused) => refused_with(*refused, LogRecord::default()),
        Decision::Pay(plan) => pay(gate, &plan, now, facilitator, store, origin).await,
        Decision::L402Invoice(plan) => super::l402::challenge(&plan, now, invoices).await,
        Decision::L402Access(plan) => {
            super::l402::access(&plan, now, store, origin, invoices).await
        }
    }
}

async fn pay<F: Facilitator, S: ReceiptStore, O: Origin>(
    gate: &Gate,
    plan: &PaymentPlan,
    now: u64,
    facilitator: &F,
    store: &S,
    origin: &O,
) -> (Outcome<O::Response>, LogRecord) {
    let log = LogRecord {
        route: Some(plan.route.clone()),
        payer: Some(plan.payer.to_string()),
        ..LogRecord::default()
    };
    // A retry of a settled payment is answered from its receipt, whatever the time now.
    if let Some(receipt) = store.get(&plan.receipt_key).await {
        return from_receipt(plan, &receipt, origin, log).await;
    }
    if let Some(error) = &plan.time_error {
        return refused_with(plan.refused(Refusal::PaymentInvalid(error.clone())), log);
    }
    let request = plan.facilitator_request();
    if plan.needs_facilitator_verify {
        match facilitator.verify(&request).await {
            Ok(VerifyResponse { is_valid: true, .. }) => {}
            Ok(answer) => {
                let (reason, detail) = pass_reason(answer.invalid_reason.as_deref());
                let log = LogRecord { detail, ..log };
                return refused_with(plan.refused(Refusal::VerifyRefused { reason }), log);
            }
            Err(error) => return facilitator_failed(plan, error, log),
        }
    }
    match plan.order {
        SettleOrder::AfterOrigin => {
            let response = match origin.fetch(&plan.target).await {
                Ok(response) => response,
                Err(detail) => return origin_failed(Some(plan), log, detail),
            };
            if is_error_status(O::status(&response)) {
                // The origin failed: its answer passes through and the buyer is not charged.
                return release::<O>(response, Release::Uncharged, LogOutcome::OriginError, log);
            }
            let settled = facilitator.settle(&request).await;
            conclude(gate, plan, now, settled, Some(response), store, origin, log).await
        }
        SettleOrder::BeforeOrigin => {
            let settled = facilitator.settle(&request).await;
            conclude(gate, plan, now, settled, None, store, origin, log).await
        }
        SettleOrder::Parallel => {
            let (settled, fetched) =
                join(facilitator.settle(&request), origin.fetch(&plan.target)).await;
            match fetched {
                Ok(response) => {
                    conclude(gate, plan, now, settled, Some(response), store, origin, log).await
                }
                Err(detail) => {
                    // Settled but nothing to serve: keep the receipt so a retry is served.
                    if let Ok(settlement) = &settled {
                        if settlement.success {
                            store.put(
                                &plan.receipt_key,
                                &plan.receipt(settlement, now),
                                gate.config().receipt_ttl_s,
                            );
                        }
                    }
                    origin_failed(Some(plan), log, detail)
                }
            }
        }
    }
}

/// After `/settle`: release on success (fetching the origin now if it has not run), or refuse.
#[allow(clippy::too_many_arguments)]
async fn conclude<S: ReceiptStore, O: Origin>(
    gate: &Gate,
    plan: &PaymentPlan,
    now: u64,
    settled: Result<SettleResponse, FacilitatorError>,
    response: Option<O::Response>,
    store: &S,
    origin: &O,
    log: LogRecord,
) -> (Outcome<O::Response>, LogRecord) {
    let expected = Expected {
        chain_id: Some(plan.chain_id),
        payer: Some(plan.payer),
    };
    let believed = settled.and_then(|s| {
        check_settlement(&s, &expected, &gate.config().networks)
            .map(|()| s)
            .map_err(|disbelief| FacilitatorError::Malformed {
                detail: disbelief.to_string(),
            })
    });
    let settlement = match believed {
        Ok(settlement) => settlement,
        Err(error) => return facilitator_failed(plan, error, log),
    };
    if !settlement.success {
        // A concurrent request with the same payment may have settled it first.
        if settlement.reason() == Some(Reason::InvalidExactEvmNonceAlreadyUsed) {
            if let Some(receipt) = store.get(&plan.receipt_key).await {
                return from_receipt(plan, &receipt, origin, log).await;
            }
        }
        let (reason, detail) = pass_reason(settlement.error_reason.as_deref());
        let mut refused = plan.refused(Refusal::SettlementRefused {
            reason: reason.clone(),
        });
        refused.settlement = Some(plan.settlement(SettleResponse {
            error_reason: Some(reason),
            ..settlement
        }));
        return refused_with(refused, LogRecord { detail, ..log });
    }
    store.put(
        &plan.receipt_key,
        &plan.receipt(&settlement, now),
        gate.config().receipt_ttl_s,
    );
    let log = LogRecord {
        transaction: Some(settlement.transaction.clone()),
        ..log
    };
    let response = match response {
        Some(response) => response,
        None => match origin.fetch(&plan.target).await {
            Ok(response) => response,
            // Paid but not served: the receipt lets the client's retry get the content.
            Err(detail) => return origin_failed(Some(plan), log, detail),
        },
    };
    let release_as = Release::Paid(Some(plan.settlement(settlement)));
    release::<O>(response, release_as, LogOutcome::Paid, log)
}

async fn from_receipt<O: Origin>(
    plan: &PaymentPlan,
    receipt: &Receipt,
    origin: &O,
    log: LogRecord,
) -> (Outcome<O::Response>, LogRecord) {
    let log = LogRecord {
        transaction: Some(receipt.transaction.clone()),
        ..log
    };
    // A receipt serves again only the same payment, for the same resource, without side
    // effects; anything else is a payment already used.
    if receipt.resource != plan.resource
        || receipt.payment_digest != plan.payment_digest
        || !plan.replayable
    {
        return refused_with(plan.refused(Refusal::PaymentAlreadyUsed), log);
    }
    match origin.fetch(&plan.target).await {
        Ok(response) => {
            let release_as = Release::Paid(Some(plan.settlement(receipt.settlement.clone())));
            release::<O>(response, release_as, LogOutcome::Receipt, log)
        }
        Err(detail) => origin_failed(Some(plan), log, detail),
    }
}

/// Releases the origin's response as `release_as` says, logging its status.
pub(super) fn release<O: Origin>(
    response: O::Response,
    release_as: Release,
    outcome: LogOutcome,
    log: LogRecord,
) -> (Outcome<O::Response>, LogRecord) {
    let status = O::status(&response);
    (
        Outcome::Origin {
            response,
            release: release_as,
        },
        LogRecord {
            outcome,
            status,
            ..log
        },
    )
}

/// Answers without content, logging the refusal's outcome, status and reason.
pub(super) fn refused_with<R>(refused: Refused, log: LogRecord) -> (Outcome<R>, LogRecord) {
    let disposition = refused.refusal.disposition();
    let log = LogRecord {
        route: log.route.or_else(|| refused.route.clone()),
        outcome: disposition.outcome,
        status: disposition.status,
        reason: Some(disposition.reason),
        detail: log.detail.or_else(|| refused.refusal.detail()),
        ..log
    };
    (Outcome::Refused(Box::new(refused)), log)
}

fn facilitator_failed<R>(
    plan: &PaymentPlan,
    error: FacilitatorError,
    log: LogRecord,
) -> (Outcome<R>, LogRecord) {
    let log = LogRecord {
        nonce: Some(plan.nonce.to_hex()),
        detail: Some(error.to_string()),
        ..log
    };
    refused_with(
        Refused::bare(error.refusal(), Some(plan.route.clone())),
        log,
    )
}

/// The origin could not be reached: nothing served.
pub(super) fn origin_failed<R>(
    plan: Option<&PaymentPlan>,
    log: LogRecord,
    detail: String,
) -> (Outcome<R>, LogRecord) {
    let log = LogRecord {
        detail: Some(detail),
        ..log
    };
    let route = plan.map(|p| p.route.clone());
    refused_with(Refused::bare(Refusal::OriginUnavailable, route), log)
}

/// A facilitator's reason as passed to the client, and what goes to the log instead when it
/// is not a short code.
fn pass_reason(reason: Option<&str>) -> (String, Option<String>) {
    match reason {
        Some(r)
            if !r.is_empty()
                && r.len() <= MAX_PASSED_REASON_LEN
                && r.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            (r.to_owned(), None)
        }
        Some(r) => (
            Reason::UnexpectedSettleError.as_str().to_owned(),
            Some(r.chars().take(MAX_LOGGED_REASON_CHARS).collect()),
        ),
        None => (Reason::UnexpectedSettleError.as_str().to_owned(), None),
    }
}
