//! How a request ends: the decision carried out against the remote services, which are
//! traits here so that the same flow runs in the Worker (Fetch, KV) and in tests (fakes).
//!
//! Nothing is released before a successful settlement or a matching receipt. Every branch
//! returns an [`Outcome`] and one [`LogRecord`]; refusals carry their [`Refusal`], which the
//! transport renders.

use core::fmt;

use futures_util::future::join;
use serde::Serialize;

use super::clients::{identify, KeyDirectories};
use super::coordinator::{Coordinator, CoordinatorError};
use super::dynamic_price::Pricing;
use super::http::{Answer, Release};
use super::l402::InvoiceSource;
use super::ledger::{
    has_code, ChainError, ChainReader, Claim, Conclusion, PaymentRecord, PaymentState,
};
use super::limits::{Allowance, Allowances, Ask};
use super::receipt::Receipt;
use super::refusal::SmartWalletRefusal;
use super::refusal::{is_error_status, LogOutcome};
use super::settlement::{check_settlement, Expected};
use super::{Decision, Gate, PaymentPlan, Refusal, Refused, Replay, RequestFacts};
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
    /// The request could not be sent to any facilitator (connection refused, no such host):
    /// nothing can have happened.
    NotSent {
        /// What happened, for the log.
        detail: String,
    },
    /// No answer in time: a settlement's outcome is unknown (it may still happen).
    Timeout,
    /// The connection failed after the request may have arrived, or a 5xx status.
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
            Self::NotSent { detail } => write!(f, "facilitator not reached: {detail}"),
            Self::Timeout => f.write_str("facilitator timed out"),
            Self::Unavailable { detail } => write!(f, "facilitator unavailable: {detail}"),
            Self::Malformed { detail } => write!(f, "facilitator answer malformed: {detail}"),
        }
    }
}

impl FacilitatorError {
    /// The refusal a client gets when `/verify` failed so: nothing was settled.
    pub fn verify_refusal(&self) -> Refusal {
        Refusal::FacilitatorUnavailable {
            may_have_settled: false,
        }
    }

    /// The refusal a client gets when `/settle` failed so: unless it was never sent, the
    /// payment may have settled.
    pub fn settle_refusal(&self) -> Refusal {
        match self {
            Self::NotSent { .. } => Refusal::FacilitatorUnavailable {
                may_have_settled: false,
            },
            Self::Timeout => Refusal::FacilitatorTimeout,
            Self::Unavailable { .. } | Self::Malformed { .. } => Refusal::FacilitatorUnavailable {
                may_have_settled: true,
            },
        }
    }
}

/// The receipt cache (Workers KV in the Worker), the fast read path for retries. Receipts are
/// written by the payment coordinator ([`Coordinator`]), which owns payments' states.
#[allow(async_fn_in_trait)]
pub trait ReceiptStore {
    /// Looks a receipt up; a failed or unreadable lookup is a miss (and the shell logs it).
    async fn get(&self, key: &str) -> Option<Receipt>;
    /// Whether an L402 token was revoked (an entry at [`super::receipt::revocation_key`]).
    /// A failed lookup is an error, and nothing is served then.
    async fn is_revoked(&self, token_id: &crate::l402::TokenId) -> Result<bool, String>;
    /// The reason the facilitator's `/verify` refused the payment of this
    /// [`PaymentPlan::verify_key`], when it did so recently (a failed lookup is a miss).
    async fn verify_refused(&self, verify_key: &str) -> Option<String>;
    /// Remembers that `/verify` refused the payment of this key (best effort: a failed write
    /// only costs a `/verify` the next time).
    async fn remember_verify_refusal(&self, verify_key: &str, reason: &str);
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
    /// Fetches `target` (canonical path and query) with the client's method and headers, and
    /// its body, or `body` instead (an MCP call without its payment).
    async fn fetch(&self, target: &str, body: Option<&[u8]>) -> Result<Self::Response, String>;
    /// The response's status.
    fn status(response: &Self::Response) -> u16;
    /// Whether the response is to be paid for when the route settles after the origin: any
    /// that is not an error (status 4xx or 5xx), which passes through uncharged.
    fn chargeable(response: &Self::Response) -> bool {
        !is_error_status(Self::status(response))
    }
}

/// What the flow reads of whole messages where a route needs more than the request's
/// facts: the client's request body (`mcp` routes) and every header and Cloudflare's bot
/// signals (`clients` routes), and the origin's answer, which it may change (`mcp`).
#[allow(async_fn_in_trait)]
pub trait ClientMessages: Origin {
    /// Reads the client's request body whole, `None` when it is over `limit` bytes; the
    /// request is then fetched with these bytes.
    async fn request_body(&self, limit: usize) -> Result<Option<Vec<u8>>, String>;
    /// Every header of the client's request, as `(name, value)` in the order received.
    fn request_headers(&self) -> Vec<(String, String)>;
    /// Cloudflare Bot Management's verdict on the request (`request.cf.botManagement`),
    /// where the zone has it.
    fn bot_management(&self) -> Option<super::clients::BotManagement>;
    /// The response's `Content-Type`.
    fn content_type(response: &Self::Response) -> Option<String>;
    /// Reads the response's body, handing each part to `take` until it returns `false` or
    /// the body ends.
    async fn read_body(
        &self,
        response: &mut Self::Response,
        take: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<(), String>;
    /// `response` (whose body was read) with `body` instead, and no `Content-Length`.
    fn with_body(&self, response: Self::Response, body: Vec<u8>) -> Result<Self::Response, String>;
}

/// What the shell sends back.
#[derive(Debug)]
pub enum Outcome<R> {
    /// An answer of the gateway's own: a CORS preflight, the discovery document.
    Answered(Answer),
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
    /// The payment nonce (with the payer, what finds the payment in the coordinator's
    /// listing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Details for operators (facilitator errors, long facilitator reasons).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// On a route with `clients`: the kind of client it was taken for
    /// ([`super::clients::ClientKind::as_str`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// A verified agent's origin (its key directory's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

impl LogRecord {
    /// Whether this request is logged under `policy`: with `"payments"`, not the routine
    /// ones that carried no payment, sign-in or credential (a free pass-through, a plain
    /// challenge, a preflight, the discovery document).
    pub fn is_logged(&self, policy: crate::config::LogRequests) -> bool {
        let routine = match self.outcome {
            LogOutcome::Free | LogOutcome::Preflight | LogOutcome::Discovery => true,
            LogOutcome::Challenge => {
                self.reason.as_deref() == Some(Reason::PaymentRequired.as_str())
                    && self.detail.is_none()
            }
            _ => false,
        };
        policy == crate::config::LogRequests::All || !routine
    }

    /// The request's log line: this record with the request's method and path.
    pub fn line(&self, method: &str, path: &str) -> serde_json::Value {
        // Strings and numbers only: serialising cannot fail.
        let mut line = serde_json::to_value(self).unwrap_or_default();
        if let Some(fields) = line.as_object_mut() {
            fields.insert("method".into(), method.into());
            fields.insert("path".into(), path.into());
        }
        line
    }
}

/// The longest facilitator reason passed to clients as is; longer or multi-line texts (some
/// facilitators send a whole error dump) become `unexpected_settle_error` and go to the log.
const MAX_PASSED_REASON_LEN: usize = 80;
/// How much of a long facilitator reason the log keeps.
const MAX_LOGGED_REASON_CHARS: usize = 500;

/// The remote services a request may need.
pub struct Services<'a, F, S, O, I, C, A, H, P = (), D = ()> {
    /// The x402 facilitator.
    pub facilitator: &'a F,
    /// Receipts and revocations (KV).
    pub store: &'a S,
    /// Where content comes from.
    pub origin: &'a O,
    /// The Lightning node, for L402 invoices.
    pub invoices: &'a I,
    /// The payment coordinator, which settles each payment at most once.
    pub coordinator: &'a C,
    /// Allowances across isolates (invoices, smart-wallet verifications).
    pub allowances: &'a A,
    /// The chains' JSON-RPC endpoints (a smart-wallet payer's code).
    pub chain: &'a H,
    /// Prices of routes priced per request (`()`: none).
    pub pricing: &'a P,
    /// Web Bot Auth agents' key directories, for routes with `clients` (`()`: none, and
    /// no signature verifies).
    pub directories: &'a D,
}

impl<'a, F, S, O, I, C, A, H, P, D> Services<'a, F, S, O, I, C, A, H, P, D> {
    /// The same services with `origin` as the origin.
    pub fn with_origin<'b, Q>(&self, origin: &'b Q) -> Services<'b, F, S, Q, I, C, A, H, P, D>
    where
        'a: 'b,
    {
        Services {
            facilitator: self.facilitator,
            store: self.store,
            origin,
            invoices: self.invoices,
            coordinator: self.coordinator,
            allowances: self.allowances,
            chain: self.chain,
            pricing: self.pricing,
            directories: self.directories,
        }
    }
}

/// Handles one request: decides, then performs the decision with the given services.
pub async fn handle<F, S, O, I, C, A, H, P, D>(
    gate: &Gate,
    request: &RequestFacts<'_>,
    now: u64,
    services: Services<'_, F, S, O, I, C, A, H, P, D>,
) -> (Outcome<O::Response>, LogRecord)
where
    F: Facilitator,
    S: ReceiptStore,
    O: ClientMessages,
    I: InvoiceSource,
    C: Coordinator,
    A: Allowances,
    H: ChainReader,
    P: Pricing,
    D: KeyDirectories,
{
    let decision = gate.decide(request, now);
    carry_out(gate, request, decision, now, services).await
}

/// The answer to a decision that needs no remote service (a refusal or challenge, a CORS
/// preflight, the discovery document), which a shell may give at once, without waiting for
/// anything; the decision back when it needs one.
pub fn answered_at_once<R>(decision: Decision) -> Result<(Outcome<R>, LogRecord), Decision> {
    match decision {
        Decision::Preflight => Ok(preflight_answered()),
        Decision::Discovery(document) => Ok(discovery_answered(&document)),
        Decision::Refuse(refused) => Ok(refused_with(*refused, LogRecord::default())),
        other => Err(other),
    }
}

/// Performs `decision` (the gate's, for `request` at `now`) with the given services.
pub async fn carry_out<F, S, O, I, C, A, H, P, D>(
    gate: &Gate,
    request: &RequestFacts<'_>,
    decision: Decision,
    now: u64,
    services: Services<'_, F, S, O, I, C, A, H, P, D>,
) -> (Outcome<O::Response>, LogRecord)
where
    F: Facilitator,
    S: ReceiptStore,
    O: ClientMessages,
    I: InvoiceSource,
    C: Coordinator,
    A: Allowances,
    H: ChainReader,
    P: Pricing,
    D: KeyDirectories,
{
    let (store, origin, invoices) = (services.store, services.origin, services.invoices);
    let allowances = services.allowances;
    let (body, evidence);
    let more;
    // Who asked, on a route with `clients`: for the log line, whatever the outcome.
    let mut client = None;
    let (request, decision) = match decision {
        Decision::ReadBody => match origin.request_body(super::mcp::MAX_REQUEST_BYTES).await {
            Ok(Some(read)) => {
                body = read;
                more = RequestFacts {
                    body: Some(&body),
                    ..request.clone()
                };
                (&more, gate.decide(&more, now))
            }
            Ok(None) => {
                let refusal = Refusal::RequestTooLarge {
                    limit: super::mcp::MAX_REQUEST_BYTES,
                };
                return refused_with(Refused::bare(refusal, None), LogRecord::default());
            }
            Err(detail) => {
                let log = LogRecord {
                    detail: Some(detail),
                    ..LogRecord::default()
                };
                return refused_with(Refused::bare(UNREAD_BODY, None), log);
            }
        },
        Decision::IdentifyClient(ask) => {
            let config = &gate.config().web_bot_auth;
            let directories = services.directories;
            evidence = identify(request, origin, directories, &ask, config, now).await;
            client = Some(evidence.named(config));
            more = RequestFacts {
                identified: Some(&evidence),
                ..request.clone()
            };
            (&more, gate.decide(&more, now))
        }
        decision => (request, decision),
    };
    let (outcome, mut record) = 'answered: {
        let decision = match decision {
            Decision::Price(ask) => match services.pricing.price(&ask).await {
                Ok(price) => gate.decide_priced(request, now, Some(&price)),
                Err(detail) => {
                    let refused =
                        Refused::bare(Refusal::PricingUnavailable { detail }, Some(ask.route));
                    break 'answered refused_with(refused, LogRecord::default());
                }
            },
            decision => decision,
        };
        match decision {
            // Asked with a price, the gate does not ask for one again.
            Decision::Price(ask) => {
                let detail = "the price given was not used".to_owned();
                let refused =
                    Refused::bare(Refusal::PricingUnavailable { detail }, Some(ask.route));
                refused_with(refused, LogRecord::default())
            }
            Decision::Preflight => preflight_answered(),
            Decision::Discovery(document) => discovery_answered(&document),
            Decision::Free { target } => {
                let log = LogRecord::default();
                fetch_released(origin, &target, Release::Free, LogOutcome::Free, log).await
            }
            Decision::Waived { target } => {
                let log = LogRecord::default();
                fetch_released(origin, &target, Release::Waived, LogOutcome::Free, log).await
            }
            Decision::Refuse(refused) => refused_with(*refused, LogRecord::default()),
            Decision::Pay(plan) => match &plan.mcp {
                Some(call) => super::mcp::served::pay_call(gate, &plan, call, now, &services).await,
                None => pay(gate, &plan, now, &services).await,
            },
            Decision::ToolList(list) => super::mcp::served::tool_list(origin, &list).await,
            // Asked with the body, or the client's identity, the gate does not ask again.
            Decision::ReadBody | Decision::IdentifyClient(_) => {
                refused_with(Refused::bare(asked_again(), None), LogRecord::default())
            }
            Decision::L402Invoice(plan) => {
                super::l402::challenge(&plan, now, invoices, allowances).await
            }
            Decision::L402Access(plan) => {
                let services = (store, origin, invoices, allowances);
                super::l402::access(&plan, now, services).await
            }
            Decision::SignIn(plan) => {
                let services = (origin, services.coordinator, allowances, services.chain);
                super::sign_in::sign_in(gate, &plan, now, services).await
            }
        }
    };
    if let Some((kind, agent)) = client {
        record.client = Some(kind.as_str().to_owned());
        record.agent = agent;
    }
    (outcome, record)
}

/// Content that settles nothing now (free, or paid for already): the origin's answer to
/// `target`, released as `release_as` and logged as `outcome`; nothing when the origin
/// cannot be reached.
pub(super) async fn fetch_released<O: Origin>(
    origin: &O,
    target: &str,
    release_as: Release,
    outcome: LogOutcome,
    log: LogRecord,
) -> (Outcome<O::Response>, LogRecord) {
    match origin.fetch(target, None).await {
        Ok(response) => release::<O>(response, release_as, outcome, log),
        Err(detail) => origin_failed(None, log, detail),
    }
}

/// A request whose body could not be read (the client went away): nothing is forwarded.
const UNREAD_BODY: Refusal = Refusal::InvalidMcpRequest {
    code: super::mcp::wire::PARSE_ERROR,
    detail: "the body could not be read",
};

/// What answers a decision asking, a second time, for what the flow gave it (the body, the
/// client's identity): a fault of the gate, which fails closed.
fn asked_again() -> Refusal {
    Refusal::Configuration(crate::config::ConfigError {
        key: "routes".into(),
        problem: "a route asked twice for the request's body or client".into(),
    })
}

/// The answer to a CORS preflight on a priced path.
fn preflight_answered<R>() -> (Outcome<R>, LogRecord) {
    let log = LogRecord {
        outcome: LogOutcome::Preflight,
        status: super::refusal::PREFLIGHT_STATUS,
        ..LogRecord::default()
    };
    (Outcome::Answered(super::http::preflight()), log)
}

/// The discovery document, answered.
fn discovery_answered<R>(document: &serde_json::Value) -> (Outcome<R>, LogRecord) {
    let log = LogRecord {
        outcome: LogOutcome::Discovery,
        status: 200,
        ..LogRecord::default()
    };
    (Outcome::Answered(super::http::document(document)), log)
}

/// A payment, on its own or under its `payment-identifier`. The id is coordinated as a payment of its own
/// (its entry holds the record of the payment attempting under it, and the receipt of the one
/// that settled): the first payment to claim it settles as usual, and the id's entry
/// concludes as that payment did; a later payment under the id by the same payer for the same
/// resource, whatever its signature, is served with the settled one's receipt, or waits for
/// it, and is never settled itself. Another payer's or resource's payment under a settled
/// id is refused. A payment under an id whose payment was refused may settle.
pub(super) async fn pay<F, S, O, I, C, A, H, P, D>(
    gate: &Gate,
    plan: &PaymentPlan,
    now: u64,
    services: &Services<'_, F, S, O, I, C, A, H, P, D>,
) -> (Outcome<O::Response>, LogRecord)
where
    F: Facilitator,
    S: ReceiptStore,
    O: Origin,
    C: Coordinator,
    A: Allowances,
    H: ChainReader,
{
    let record = plan.record(gate.config().receipt_ttl_s);
    let Some(id) = &plan.payment_id else {
        return pay_once(gate, plan, &record, now, services).await;
    };
    let Services {
        store,
        origin,
        coordinator,
        ..
    } = *services;
    let serving = Serving {
        origin,
        coordinator,
        now,
    };
    let log = payment_log(plan);
    let id_record = PaymentRecord {
        key: super::receipt::payment_id_key(id),
        ..record.clone()
    };
    let claim = match store.get(&id_record.key).await {
        Some(receipt) => Ok(Claim::Settled {
            receipt: Box::new(receipt),
        }),
        None => {
            let lease_s = gate.config().facilitator.claim_lease_s();
            coordinator.claim(&id_record, Some(lease_s), now).await
        }
    };
    match claim {
        Ok(Claim::Settle { .. }) => {
            let answer = pay_once(gate, plan, &record, now, services).await;
            // The id's claim ends as this payment's attempt did.
            let conclusion = match coordinator.claim(&record, None, now).await {
                Ok(Claim::Settled { receipt }) => Conclusion::Settled { receipt },
                Ok(Claim::Refused { reason }) => Conclusion::Refused { reason },
                Ok(Claim::Unclaimed) => Conclusion::Released,
                other => Conclusion::Unknown {
                    detail: format!("the payment under the id was left {other:?}"),
                    transaction: None,
                },
            };
            if let Err(error) = coordinator.conclude(&id_record, conclusion, now).await {
                // The id's lease runs out, and the chain decides it as it does the payment.
                let (outcome, log) = answer;
                return (outcome, noting(log, Some(error)));
            }
            answer
        }
        Ok(Claim::Settled { receipt })
            if receipt.payer != plan.payer || receipt.resource != plan.resource =>
        {
            let log = LogRecord {
                detail: Some(format!(
                    "payment-identifier first used by {} for {}",
                    receipt.payer, receipt.resource
                )),
                ..log
            };
            refused_with(plan.refused_bare(Refusal::PaymentIdentifierConflict), log)
        }
        Ok(Claim::Settled { receipt }) => {
            let log = LogRecord {
                detail: Some("served under its payment-identifier's settled payment".into()),
                ..log
            };
            let settled = (receipt.settlement.clone(), receipt.settled_at);
            serve_paid(plan, settled, None, serving, LogOutcome::Receipt, log).await
        }
        other => {
            let unclaimed = plan.refused_bare(Refusal::CoordinatorUnavailable);
            answer_claim(plan, other, unclaimed, serving, log).await
        }
    }
}

/// The log line of a payment, before anything happened to it.
fn payment_log(plan: &PaymentPlan) -> LogRecord {
    LogRecord {
        route: Some(plan.route.clone()),
        payer: Some(plan.payer.to_string()),
        nonce: Some(plan.nonce.to_hex()),
        ..LogRecord::default()
    }
}

/// A payment on its own (`record`: its coordinator record).
async fn pay_once<F, S, O, I, C, A, H, P, D>(
    gate: &Gate,
    plan: &PaymentPlan,
    record: &PaymentRecord,
    now: u64,
    services: &Services<'_, F, S, O, I, C, A, H, P, D>,
) -> (Outcome<O::Response>, LogRecord)
where
    F: Facilitator,
    S: ReceiptStore,
    O: Origin,
    C: Coordinator,
    A: Allowances,
    H: ChainReader,
{
    let Services {
        facilitator,
        store,
        origin,
        coordinator,
        ..
    } = *services;
    let serving = Serving {
        origin,
        coordinator,
        now,
    };
    let mut log = payment_log(plan);
    let unclaimed = || plan.refused_bare(Refusal::CoordinatorUnavailable);
    // Every way this request does not get to settle ends in one `answer_claim`.
    let (claim, otherwise) = 'claim: {
        // A retry of a settled payment is answered from its receipt, whatever the time now.
        if let Some(receipt) = store.get(&plan.receipt_key).await {
            let receipt = Box::new(receipt);
            break 'claim (Ok(Claim::Settled { receipt }), unclaimed());
        }
        if let Some(refusal) = &plan.receipt_only {
            // Not to be settled now (too late, too early, a price no longer offered); but it
            // may have been settled before, and a buyer whose transfer was mined gets the
            // content.
            let looked = coordinator.claim(record, None, now).await;
            break 'claim (looked, plan.refused(refusal.clone()));
        }
        if plan.needs_facilitator_verify {
            // A settled (or settling) payment is answered from the coordinator before
            // `/verify`, which would refuse its used nonce.
            match coordinator.claim(record, None, now).await {
                Ok(Claim::Unclaimed) => {}
                looked => break 'claim (looked, unclaimed()),
            }
            match screen_smart_wallet(gate, plan, now, services).await {
                Ok(detail) => log.detail = detail,
                Err((refusal, detail)) => {
                    let log = LogRecord { detail, ..log };
                    return refused_with(plan.refused(refusal), log);
                }
            }
            match facilitator.verify(&plan.facilitator_request()).await {
                Ok(VerifyResponse { is_valid: true, .. }) => {}
                Ok(answer) => {
                    let (reason, detail) = pass_reason(answer.invalid_reason.as_deref());
                    // The same payment sent again gets the same answer without a call.
                    store
                        .remember_verify_refusal(&plan.verify_key(), &reason)
                        .await;
                    let log = LogRecord { detail, ..log };
                    return refused_with(plan.refused(Refusal::VerifyRefused { reason }), log);
                }
                Err(error) => {
                    let log = LogRecord {
                        detail: Some(error.to_string()),
                        ..log
                    };
                    return refused_with(plan.refused_bare(error.verify_refusal()), log);
                }
            }
        }
        let lease_s = gate.config().facilitator.claim_lease_s();
        match coordinator.claim(record, Some(lease_s), now).await {
            Ok(Claim::Settle { .. }) => {
                return settle_claimed(gate, plan, record, now, services, log).await
            }
            other => (other, unclaimed()),
        }
    };
    answer_claim(plan, claim, otherwise, serving, log).await
}

/// The checks a smart-wallet payment passes before it may cost a facilitator `/verify`, in
/// order: the facilitator has not refused this exact payment already (a KV read); the client
/// is within its smart-wallet allowance, which bounds everything after it; the payer has
/// contract code (when the network has an `rpc_url` and the signature is not an ERC-6492
/// wrapper, which deploys the wallet). An error is the refusal and the log's detail; a pass
/// may have a detail too (a check that could not be made).
async fn screen_smart_wallet<F, S, O, I, C, A, H, P, D>(
    gate: &Gate,
    plan: &PaymentPlan,
    now: u64,
    services: &Services<'_, F, S, O, I, C, A, H, P, D>,
) -> Result<Option<String>, (Refusal, Option<String>)>
where
    S: ReceiptStore,
    A: Allowances,
    H: ChainReader,
{
    let refused = |why| Err((Refusal::SmartWalletRefused { why }, None));
    if let Some(reason) = services.store.verify_refused(&plan.verify_key()).await {
        let detail = Some("refused by /verify before (remembered)".to_owned());
        return Err((Refusal::VerifyRefused { reason }, detail));
    }
    let ask = Ask::one_of(
        format!("smart-wallet {}", plan.client),
        gate.config().smart_wallets.per_client_per_minute,
    );
    match services.allowances.ask(&ask, now).await {
        Ok(Allowance::Granted | Allowance::Reuse(_)) => {}
        Ok(Allowance::Limited) => return refused(SmartWalletRefusal::TooMany),
        // Fail closed: the allowance is what bounds the chain's and the facilitator's cost.
        Err(error) => return Err((Refusal::AllowanceUnavailable, Some(error))),
    }
    if plan.erc6492 {
        return Ok(None);
    }
    match has_code(services.chain, plan.chain_id, &plan.payer).await {
        Ok(true) | Err(ChainError::NoEndpoint { .. }) => Ok(None),
        Ok(false) => refused(SmartWalletRefusal::NoContract),
        // The facilitator checks it anyway; the allowance above bounds the cost.
        Err(error) => Ok(Some(format!("payer code not checked: {error}"))),
    }
}

/// Answers a claim that did not give this request the settlement: from the receipt of a
/// settled payment, or with what stops it (`unclaimed` when nothing does).
async fn answer_claim<O: Origin, C: Coordinator>(
    plan: &PaymentPlan,
    claim: Result<Claim, CoordinatorError>,
    unclaimed: Refused,
    serving: Serving<'_, O, C>,
    log: LogRecord,
) -> (Outcome<O::Response>, LogRecord) {
    match claim {
        Ok(Claim::Settled { receipt }) => from_receipt(plan, &receipt, serving, log).await,
        // The attempt this request waited for could not reach a facilitator.
        Ok(Claim::Refused { reason })
            if Reason::from_wire(&reason) == Some(Reason::FacilitatorUnavailable) =>
        {
            let refusal = Refusal::FacilitatorUnavailable {
                may_have_settled: false,
            };
            refused_with(plan.refused_bare(refusal), log)
        }
        Ok(Claim::Refused { reason }) => {
            refused_with(plan.refused(Refusal::SettlementRefused { reason }), log)
        }
        Ok(Claim::Wait { .. } | Claim::Unknown { .. }) => {
            refused_with(plan.refused_bare(Refusal::SettlementPending), log)
        }
        Ok(Claim::Unclaimed | Claim::Settle { .. }) => refused_with(unclaimed, log),
        Err(error) => {
            let log = LogRecord {
                detail: Some(error.to_string()),
                ..log
            };
            refused_with(plan.refused_bare(Refusal::CoordinatorUnavailable), log)
        }
    }
}

/// This request holds the payment's claim: it fetches the origin as the route's order says,
/// calls `/settle` once, tells the coordinator how that ended, and answers from what is then
/// known. A response already fetched is the one served (a proxied request can be sent once).
async fn settle_claimed<F, S, O, I, C, A, H, P, D>(
    gate: &Gate,
    plan: &PaymentPlan,
    record: &PaymentRecord,
    now: u64,
    services: &Services<'_, F, S, O, I, C, A, H, P, D>,
    log: LogRecord,
) -> (Outcome<O::Response>, LogRecord)
where
    F: Facilitator,
    C: Coordinator,
    O: Origin,
{
    let Services {
        facilitator,
        origin,
        coordinator,
        ..
    } = *services;
    let request = plan.facilitator_request();
    let (settled, fetched) = match plan.order {
        SettleOrder::AfterOrigin => {
            let fetched = origin.fetch(&plan.target, None).await;
            // The origin failed: its answer passes through and the buyer is not charged.
            let uncharged = fetched
                .as_ref()
                .map_or(true, |response| !O::chargeable(response));
            if uncharged {
                let released = coordinator
                    .conclude(record, Conclusion::Released, now)
                    .await;
                let log = noting(log, released.err());
                return match fetched {
                    Ok(response) => {
                        release::<O>(response, Release::Uncharged, LogOutcome::OriginError, log)
                    }
                    Err(detail) => origin_failed(Some(plan), log, detail),
                };
            }
            (facilitator.settle(&request).await, Some(fetched))
        }
        SettleOrder::BeforeOrigin => (facilitator.settle(&request).await, None),
        SettleOrder::Parallel => {
            let (settled, fetched) = join(
                facilitator.settle(&request),
                origin.fetch(&plan.target, None),
            )
            .await;
            (settled, Some(fetched))
        }
    };
    let attempt = judge(gate, plan, settled);
    let conclusion = attempt.conclusion(plan, now);
    let concluded = match &attempt {
        // The answer does not depend on the coordinator's: the shell may finish it later.
        Attempt::Settled(_) => coordinator
            .conclude_settled(record, conclusion, now)
            .await
            .map(|()| None),
        _ => coordinator.conclude(record, conclusion, now).await,
    };
    let (state, log) = match concluded {
        Ok(state) => (state, log),
        Err(error) => (None, noting(log, Some(error))),
    };
    let settled = match (attempt, state) {
        // A settlement the facilitator reports and we believe is served even if the
        // coordinator did not hear of it: its lease then runs out, and the chain proves it.
        (Attempt::Settled(settlement), _) => (settlement, now),
        // The chain proved what the facilitator left open.
        (_, Some(PaymentState::Settled { receipt })) => (receipt.settlement, receipt.settled_at),
        (
            Attempt::Refused {
                response,
                reason,
                detail,
            },
            _,
        ) => {
            let mut refused = plan.refused(Refusal::SettlementRefused {
                reason: reason.clone(),
            });
            refused.settlement = Some(plan.settlement(SettleResponse {
                error_reason: Some(reason),
                ..response
            }));
            return refused_with(refused, LogRecord { detail, ..log });
        }
        (Attempt::NotSent { detail }, _) => {
            let refusal = Refusal::FacilitatorUnavailable {
                may_have_settled: false,
            };
            let log = LogRecord {
                detail: Some(detail),
                ..log
            };
            return refused_with(plan.refused_bare(refusal), log);
        }
        // The chain decided against it: spent elsewhere, cancelled, or expired unsettled.
        (Attempt::Open { detail, .. }, Some(PaymentState::Refused { reason, .. })) => {
            let log = LogRecord {
                detail: Some(detail),
                ..log
            };
            return refused_with(plan.refused(Refusal::SettlementRefused { reason }), log);
        }
        (
            Attempt::Open {
                refusal, detail, ..
            },
            _,
        ) => {
            let log = LogRecord {
                detail: Some(detail),
                ..log
            };
            return refused_with(plan.refused_bare(refusal), log);
        }
    };
    let serving = Serving {
        origin,
        coordinator,
        now,
    };
    serve_paid(plan, settled, fetched, serving, LogOutcome::Paid, log).await
}

/// What one `/settle` call came to.
enum Attempt {
    /// Settled, and believed.
    Settled(SettleResponse),
    /// The facilitator refused it: the reason is passed on (and the payment may be tried
    /// again).
    Refused {
        response: SettleResponse,
        reason: String,
        detail: Option<String>,
    },
    /// The request never left: nothing can have settled.
    NotSent { detail: String },
    /// The request may have reached the facilitator, and no outcome came that can be acted
    /// on: the transfer may be mined, and the chain decides.
    Open {
        refusal: Refusal,
        detail: String,
        transaction: Option<String>,
    },
}

impl Attempt {
    /// What the coordinator records of it.
    fn conclusion(&self, plan: &PaymentPlan, now: u64) -> Conclusion {
        match self {
            Self::Settled(settlement) => Conclusion::Settled {
                receipt: Box::new(plan.receipt(settlement, now)),
            },
            Self::Refused { reason, .. } => Conclusion::Refused {
                reason: reason.clone(),
            },
            // Kept (not released) so that a retry after the payment's deadline still asks the
            // chain: "not sent" is inferred from a connection test, not observed.
            Self::NotSent { .. } => Conclusion::Refused {
                reason: Reason::FacilitatorUnavailable.as_str().into(),
            },
            Self::Open {
                detail,
                transaction,
                ..
            } => Conclusion::Unknown {
                detail: detail.clone(),
                transaction: transaction.clone(),
            },
        }
    }
}

/// Reads a `/settle` result. "Nonce already used" is not taken as anyone's success or
/// failure: the payment may have been settled by this very request's earlier attempt, and
/// only the chain can tell; nor is any refusal that may follow a broadcast transaction.
fn judge(
    gate: &Gate,
    plan: &PaymentPlan,
    settled: Result<SettleResponse, FacilitatorError>,
) -> Attempt {
    let response = match settled {
        Ok(response) => response,
        Err(FacilitatorError::NotSent { detail }) => return Attempt::NotSent { detail },
        Err(error) => {
            return Attempt::Open {
                refusal: error.settle_refusal(),
                detail: error.to_string(),
                transaction: None,
            }
        }
    };
    let expected = Expected {
        chain_id: Some(plan.chain_id),
        payer: Some(plan.payer),
    };
    if let Err(disbelief) = check_settlement(&response, &expected, &gate.config().networks) {
        return Attempt::Open {
            refusal: Refusal::FacilitatorUnavailable {
                may_have_settled: true,
            },
            detail: format!("settlement not believed: {disbelief}"),
            transaction: None,
        };
    }
    if response.success {
        return Attempt::Settled(response);
    }
    let transaction = Some(response.transaction.clone()).filter(|t| is_transaction_hash(t));
    match response.reason() {
        Some(reason) if reason.decided_before_broadcast() && transaction.is_none() => {
            let (reason, detail) = pass_reason(response.error_reason.as_deref());
            Attempt::Refused {
                response,
                reason,
                detail,
            }
        }
        // Pending, a used nonce, an unexpected error, a code not known here, or a refusal
        // naming a transaction: a transfer may be on chain.
        _ => {
            let (reason, long) = pass_reason(response.error_reason.as_deref());
            Attempt::Open {
                refusal: Refusal::SettlementPending,
                detail: format!("the facilitator answered {}", long.unwrap_or(reason)),
                transaction,
            }
        }
    }
}

/// `0x` and 32 bytes of hex: what a transaction hash a facilitator names must look like
/// before the chain is asked about it.
fn is_transaction_hash(text: &str) -> bool {
    text.strip_prefix("0x")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

async fn from_receipt<O: Origin, C: Coordinator>(
    plan: &PaymentPlan,
    receipt: &Receipt,
    serving: Serving<'_, O, C>,
    log: LogRecord,
) -> (Outcome<O::Response>, LogRecord) {
    // A receipt serves again only the same payment, for the same resource, where serving
    // again is allowed; anything else is a payment already used.
    let replays = match plan.replay {
        Replay::Always => true,
        Replay::IfUnanswered => !receipt.answered,
        Replay::Never => false,
    };
    if receipt.resource != plan.resource
        || receipt.payment_digest != plan.payment_digest
        || !replays
    {
        let log = LogRecord {
            transaction: Some(receipt.transaction.clone()),
            ..log
        };
        return refused_with(plan.refused(Refusal::PaymentAlreadyUsed), log);
    }
    let settled = (receipt.settlement.clone(), receipt.settled_at);
    serve_paid(plan, settled, None, serving, LogOutcome::Receipt, log).await
}

/// What serving a paid request needs: the origin, and the coordinator to record the access
/// the payment gives.
struct Serving<'a, O, C> {
    origin: &'a O,
    coordinator: &'a C,
    now: u64,
}

impl<O, C> Clone for Serving<'_, O, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<O, C> Copy for Serving<'_, O, C> {}

/// Serves a paid request whose settlement (`settled`: its answer, and when it settled) is
/// known: the response already fetched, or the origin's now. A route with `access_s`
/// records the access the payment gives its payer first.
async fn serve_paid<O: Origin, C: Coordinator>(
    plan: &PaymentPlan,
    (response, settled_at): (SettleResponse, u64),
    fetched: Option<Result<O::Response, String>>,
    serving: Serving<'_, O, C>,
    outcome: LogOutcome,
    log: LogRecord,
) -> (Outcome<O::Response>, LogRecord) {
    let settlement = plan.settled(response, settled_at);
    let granted =
        super::sign_in::grant_access(plan, settled_at, serving.coordinator, serving.now).await;
    let log = LogRecord {
        transaction: Some(settlement.response.transaction.clone()),
        detail: match (log.detail, granted) {
            (Some(detail), Some(failed)) => Some(format!("{detail}; {failed}")),
            (detail, failed) => detail.or(failed),
        },
        ..log
    };
    let fetched = match fetched {
        Some(fetched) => fetched,
        None => serving.origin.fetch(&plan.target, None).await,
    };
    match fetched {
        Ok(response) => {
            // A crawler is told what this request charged it (a receipt's charges nothing).
            let released = match (plan.crawler_charge, outcome) {
                (Some(charged), LogOutcome::Paid) => Release::Crawled {
                    settlement,
                    charged,
                },
                _ => Release::Paid(Some(settlement)),
            };
            release::<O>(response, released, outcome, log)
        }
        // Paid but not served: the receipt lets the client's retry get the content.
        Err(detail) => origin_failed(Some(plan), log, detail),
    }
}

/// The log line with a coordinator's failure added to its detail.
fn noting(log: LogRecord, error: Option<CoordinatorError>) -> LogRecord {
    match error {
        None => log,
        Some(error) => LogRecord {
            detail: Some(match log.detail {
                Some(detail) => format!("{detail}; {error}"),
                None => error.to_string(),
            }),
            ..log
        },
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
pub fn refused_with<R>(refused: Refused, log: LogRecord) -> (Outcome<R>, LogRecord) {
    let disposition = refused.refusal.disposition();
    let log = LogRecord {
        route: log.route.or_else(|| refused.route.clone()),
        outcome: disposition.outcome,
        status: refused.presentation.status(disposition.status),
        reason: Some(disposition.reason),
        detail: log.detail.or_else(|| refused.refusal.detail()),
        ..log
    };
    (Outcome::Refused(Box::new(refused)), log)
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

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::config::LogRequests;

    #[test]
    fn routine_requests_are_logged_only_when_all_are() {
        let record = |outcome, reason: Option<Reason>, detail: Option<&str>| LogRecord {
            outcome,
            reason: reason.map(|r| r.as_str().to_owned()),
            detail: detail.map(str::to_owned),
            ..LogRecord::default()
        };
        let routine = [
            record(LogOutcome::Free, None, None),
            record(LogOutcome::Preflight, None, None),
            record(LogOutcome::Discovery, None, None),
            record(LogOutcome::Challenge, Some(Reason::PaymentRequired), None),
        ];
        let notable = [
            record(LogOutcome::Rejected, Some(Reason::InvalidPayload), None),
            record(
                LogOutcome::Challenge,
                Some(Reason::InvalidL402Credential),
                None,
            ),
            // A challenge with something to say (an L402 token that was refused, say).
            record(
                LogOutcome::Challenge,
                Some(Reason::PaymentRequired),
                Some("token revoked"),
            ),
            record(LogOutcome::Paid, None, None),
            record(LogOutcome::SignedIn, None, None),
            record(
                LogOutcome::FacilitatorError,
                Some(Reason::FacilitatorUnavailable),
                None,
            ),
        ];
        for line in &routine {
            assert!(!line.is_logged(LogRequests::Payments), "{line:?}");
            assert!(line.is_logged(LogRequests::All), "{line:?}");
        }
        for line in &notable {
            assert!(line.is_logged(LogRequests::Payments), "{line:?}");
        }
    }
}
