//! Why the gateway answers without content, and the one place where that becomes an HTTP
//! status, a wire reason and a log outcome ([`Refusal::disposition`], as rustls maps its
//! `Error` to an alert in one `TryFrom`).
//!
//! Every refusal says what the client may do next ([`Next`]): pay (a fresh challenge comes
//! with it), send the same payment again later (it may have settled), try later, change the
//! request, or nothing (the operator must act). Transports (HTTP headers, later MCP) turn a
//! refusal into their wire form; none of them chooses a status itself.

use core::fmt;

use serde::Serialize;

use super::clients::ClientKind;
use super::crawl::CrawlerPriceError;
use super::l402::InvoiceError;
use super::quote::QuoteError;
use crate::config::ConfigError;
use crate::protocol::{HeaderError, Reason};
use crate::routes::PathError;
use crate::siwx::SignInError;
use crate::verify::VerifyError;

/// The status of a CORS preflight answer (no content, never charged).
pub const PREFLIGHT_STATUS: u16 = 204;

/// Whether an origin's status is an error (4xx or 5xx): under `after-origin` such an answer
/// passes through and the buyer is not charged.
pub fn is_error_status(status: u16) -> bool {
    status >= 400
}

/// Seconds a client over an allowance (invoices, smart-wallet payments) is told to wait.
pub const ALLOWANCE_RETRY_AFTER_S: u32 = 60;
/// Seconds a client whose payment's outcome is not known yet is told to wait before sending
/// it again (a settlement in flight or on chain takes a few seconds to show).
pub const SETTLEMENT_RETRY_AFTER_S: u32 = 5;
/// Seconds before a request that failed upstream without charging may be sent again.
pub const UPSTREAM_RETRY_AFTER_S: u32 = 2;

/// The gateway answers without content. Each variant says what happened and who caused it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// A priced route was asked for without a payment (the client's next step is to pay).
    PaymentRequired,
    /// The payment header is not base64, not JSON, or not a payment (the client's fault).
    MalformedPayment(HeaderError),
    /// The payment is in an x402 version this gateway does not speak (the client's).
    UnsupportedVersion(HeaderError),
    /// The payment failed a local check: terms, signature, recipient, time window, amount
    /// (the client's).
    PaymentInvalid(VerifyError),
    /// The facilitator's `/verify` refused the payment, with its reason (the client's,
    /// as far as the facilitator can tell).
    VerifyRefused {
        /// The facilitator's reason, when it is a short code; otherwise
        /// `unexpected_settle_error`.
        reason: String,
    },
    /// The facilitator refused to settle (balance, nonce, …), with its reason.
    SettlementRefused {
        /// The facilitator's reason, as passed on.
        reason: String,
    },
    /// The payment was already settled, and its receipt cannot serve this request (another
    /// resource, another payment with the same nonce, or a method that is not replayed).
    PaymentAlreadyUsed,
    /// The facilitator did not answer `/settle` in time: the payment may have settled, and the
    /// coordinator keeps it as unknown until the chain tells (upstream).
    FacilitatorTimeout,
    /// The facilitator could not be used: unreachable, 5xx, or an answer that is not the
    /// API's or is not believed (upstream).
    FacilitatorUnavailable {
        /// Whether the payment may have settled (a `/settle` request that may have reached
        /// it): then the coordinator keeps it as unknown until the chain tells.
        may_have_settled: bool,
    },
    /// The payment's settlement is under way in another request, or its outcome is not known
    /// yet (a pending or unknown settlement the chain has not decided): served once it is
    /// proven, never settled twice (upstream).
    SettlementPending,
    /// The payment coordinator could not be reached, so nothing was settled or served
    /// (upstream).
    CoordinatorUnavailable,
    /// The origin could not be reached, or (an MCP server) its answer held no response to
    /// the call (upstream).
    OriginUnavailable,
    /// A request to an MCP route refused whole, before the server is asked: its body is not
    /// JSON, or a priced `tools/call` is in a batch or has no `id` (the client's).
    InvalidMcpRequest {
        /// The JSON-RPC error code of the answer.
        code: i64,
        /// What is wrong.
        detail: &'static str,
    },
    /// The request's body, which the gateway reads (an MCP route's), is over `limit` bytes
    /// (the client's).
    RequestTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The route's `clients` refuses this kind of client, or (an agent) its agent is in
    /// `deny_agents` (the client's).
    ClientRefused {
        /// Who asked.
        kind: ClientKind,
    },
    /// An agent's crawler price headers that cannot be honoured (the client's).
    CrawlerPrice(CrawlerPriceError),
    /// The request path is a spelling that is refused (the client's).
    InvalidPath(PathError),
    /// A v2 payment names another resource than the one offered here (the client's): the
    /// client signed believing it paid for something else, so it is not settled.
    ResourceMismatch {
        /// The payment's `resource.url`.
        paid_for: String,
    },
    /// The request carries a method-override header (`X-HTTP-Method-Override`, …) and the
    /// configuration refuses those (the client's).
    MethodOverride {
        /// The header's name.
        header: &'static str,
    },
    /// A smart-wallet signature the gateway does not take, decided before any facilitator
    /// call (the client's).
    SmartWalletRefused {
        /// Why.
        why: SmartWalletRefusal,
    },
    /// The allowances (Durable Objects) that bound smart-wallet verifications and L402
    /// invoices could not be asked, so neither is made (upstream).
    AllowanceUnavailable,
    /// A v2 payment's quote is not honoured: not ours, changed, or expired (the client's). A
    /// challenge at the price of now comes with it.
    QuoteRefused(QuoteError),
    /// A v2 payment's `payment-identifier` is malformed (the client's).
    InvalidPaymentIdentifier {
        /// What is wrong with it.
        detail: String,
    },
    /// Payment identifiers are required (`payment_identifier.required`), and the payment has
    /// none (the client's).
    PaymentIdentifierRequired,
    /// The payment's identifier was first used by another payer or for another resource (the
    /// client's: another id is to be chosen). Nothing was charged.
    PaymentIdentifierConflict,
    /// The route's price is decided per request, and its pricing service failed or gave a
    /// price that cannot be offered: nothing is served (upstream).
    PricingUnavailable {
        /// What happened, for the log.
        detail: String,
    },
    /// The path is configured, for other methods only (the client's).
    MethodNotAllowed {
        /// The methods the path is configured for.
        allowed: Vec<String>,
    },
    /// The gateway's configuration is broken (the operator's).
    Configuration(ConfigError),
    /// The platform offers no secure random numbers, so no L402 token can be minted (the
    /// platform's).
    NoRandomness,
    /// An L402 credential that does not verify or was revoked (the client's): a fresh L402
    /// challenge comes with it.
    L402CredentialInvalid,
    /// The L402 token has made all the requests its budget allows: a fresh challenge comes
    /// with it.
    L402BudgetExhausted,
    /// No invoice could be made for an L402 challenge. When the route also sells over x402,
    /// the x402 challenge alone still lets the client pay.
    InvoiceUnavailable {
        /// Why (the node, or this client's allowance).
        error: InvoiceError,
        /// The refusal the challenge was going to carry.
        asked: Box<Refusal>,
        /// Whether the route also sells over x402.
        x402_offered: bool,
    },
    /// Whether an L402 token is revoked could not be checked, so it is not served (upstream).
    RevocationUnavailable,
    /// An L402 token's request budget could not be checked, so it is not served (upstream).
    TokenBudgetUnavailable,
    /// A `SIGN-IN-WITH-X` sign-in that is refused: malformed, for another site or resource,
    /// outside its time, replayed, not the wallet's signature, or by a wallet without access
    /// now (the client's). A fresh challenge comes with it, to pay or sign again.
    SignIn(SignInError),
}

/// Why a smart-wallet payment is refused before the facilitator sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SmartWalletRefusal {
    /// The configuration takes ECDSA signatures only (`smart_wallets.enabled = false`).
    Disabled,
    /// The payer's account has no code on chain and the signature is not an ERC-6492 wrapper
    /// (which would deploy it): no contract can accept it.
    NoContract,
    /// This client sent more smart-wallet payments than it may in a minute.
    TooMany,
}

impl fmt::Display for SmartWalletRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Disabled => "smart-wallet signatures are not accepted here",
            Self::NoContract => "the payer has no contract code and the signature is not ERC-6492",
            Self::TooMany => "too many smart-wallet payments from this client; retry in a minute",
        })
    }
}

/// What a client may do after a refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Pay (again): the answer carries a fresh challenge.
    Pay,
    /// Send the same request again with the same payment after `after_s` seconds: it is
    /// never charged twice, and is served once it has settled.
    RetrySamePayment {
        /// Seconds to wait (`Retry-After`).
        after_s: u32,
    },
    /// Send the request again after `after_s` seconds.
    RetryLater {
        /// Seconds to wait (`Retry-After`).
        after_s: u32,
    },
    /// Change the request (its path or method).
    ChangeRequest,
    /// Nothing: the gateway's operator must act.
    ContactOperator,
}

/// How a refusal is answered: derived from it by [`Refusal::disposition`] only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disposition {
    /// The HTTP status.
    pub status: u16,
    /// The wire reason (`error` of the challenge, or of the JSON body).
    pub reason: String,
    /// What the log line says happened.
    pub outcome: LogOutcome,
    /// What the client may do next.
    pub next: Next,
    /// A human-readable sentence for the JSON body.
    pub message: &'static str,
}

impl Refusal {
    /// The one mapping from a refusal to its HTTP status, wire reason, log outcome and next
    /// step. Challenges ride on 402, malformed requests on 400 (with a challenge, so a client
    /// can recover), the operator's faults on 500, upstream faults on 502/504 saying whether
    /// a retry is safe.
    pub fn disposition(&self) -> Disposition {
        use LogOutcome as O;
        use Next::*;
        let (status, reason, outcome, next, message): (u16, Reason, _, _, _) = match self {
            Self::PaymentRequired => (402, Reason::PaymentRequired, O::Challenge, Pay, "payment required"),
            Self::MalformedPayment(_) => (400, Reason::InvalidPayload, O::Rejected, Pay, "the payment header cannot be read"),
            Self::UnsupportedVersion(_) => (402, Reason::InvalidX402Version, O::Rejected, Pay, "this x402 version is not supported"),
            Self::PaymentInvalid(error) => (402, error.reason(), O::Rejected, Pay, "the payment failed a check"),
            Self::VerifyRefused { reason } => {
                return self.passed(402, reason, O::Rejected, Pay, "the facilitator refused the payment")
            }
            Self::SettlementRefused { reason } => {
                return self.passed(402, reason, O::SettleFailed, Pay, "the facilitator refused to settle the payment")
            }
            Self::PaymentAlreadyUsed => (402, Reason::PaymentAlreadyUsed, O::Rejected, Pay, "this payment was already used"),
            Self::FacilitatorTimeout => (
                504,
                Reason::FacilitatorTimeout,
                O::SettlementUnknown,
                RetrySamePayment { after_s: SETTLEMENT_RETRY_AFTER_S },
                "the facilitator did not answer in time; the payment may have settled. Retry with the same payment: it is never charged twice, and is served once settled",
            ),
            Self::FacilitatorUnavailable { may_have_settled: true } => (
                502,
                Reason::FacilitatorUnavailable,
                O::SettlementUnknown,
                RetrySamePayment { after_s: SETTLEMENT_RETRY_AFTER_S },
                "the facilitator's answer could not be used; the payment may have settled. Retry with the same payment: it is never charged twice, and is served once settled",
            ),
            Self::FacilitatorUnavailable { may_have_settled: false } => (
                502,
                Reason::FacilitatorUnavailable,
                O::FacilitatorError,
                RetrySamePayment { after_s: UPSTREAM_RETRY_AFTER_S },
                "the facilitator could not be used; nothing was settled, retry with the same payment",
            ),
            Self::SettlementPending => (
                504,
                Reason::SettlementPending,
                O::SettlementUnknown,
                RetrySamePayment { after_s: SETTLEMENT_RETRY_AFTER_S },
                "this payment's settlement is not concluded yet; it may have settled. Retry with the same payment: it is never charged twice, and is served once settled",
            ),
            Self::CoordinatorUnavailable => (
                502,
                Reason::CoordinatorUnavailable,
                O::CoordinatorError,
                RetrySamePayment { after_s: UPSTREAM_RETRY_AFTER_S },
                "the payment coordinator could not be reached; nothing was settled, retry with the same payment",
            ),
            Self::OriginUnavailable => (
                502,
                Reason::OriginUnavailable,
                O::OriginUnavailable,
                RetrySamePayment { after_s: UPSTREAM_RETRY_AFTER_S },
                "the origin could not be reached",
            ),
            Self::InvalidMcpRequest { .. } => (400, Reason::InvalidMcpRequest, O::Rejected, ChangeRequest, "this MCP request cannot be priced: send JSON, and each priced tools/call on its own with an id"),
            Self::RequestTooLarge { .. } => (413, Reason::RequestTooLarge, O::Rejected, ChangeRequest, "the request body is too large"),
            Self::ClientRefused { kind: ClientKind::Browser } => (403, Reason::ClientRefused, O::Rejected, ChangeRequest, "this route does not serve browsers"),
            Self::ClientRefused { kind: ClientKind::Bot } => (403, Reason::SignatureRequired, O::Rejected, ChangeRequest, "automated clients are served here only with a valid Web Bot Auth signature"),
            Self::ClientRefused { kind: ClientKind::Agent } => (403, Reason::AgentForbidden, O::Rejected, ChangeRequest, "this agent is not served here"),
            Self::CrawlerPrice(CrawlerPriceError::Conflicting) => (400, Reason::ConflictingCrawlerPriceHeaders, O::Rejected, ChangeRequest, "send crawler-exact-price or crawler-max-price, not both"),
            Self::CrawlerPrice(CrawlerPriceError::InvalidValue) => (400, Reason::InvalidCrawlerPriceValue, O::Rejected, ChangeRequest, "a crawler price is written \"USD 0.01\", once"),
            Self::CrawlerPrice(CrawlerPriceError::ExactMismatch) => (402, Reason::InvalidCrawlerExactPrice, O::Rejected, Pay, "crawler-exact-price is not the price (crawler-price)"),
            Self::CrawlerPrice(CrawlerPriceError::MaxTooLow) => (402, Reason::InvalidCrawlerMaxPrice, O::Rejected, Pay, "crawler-max-price is below the price (crawler-price)"),
            Self::InvalidPath(_) => (400, Reason::InvalidPath, O::Rejected, ChangeRequest, "this path spelling is refused"),
            Self::ResourceMismatch { .. } => (402, Reason::ResourceMismatch, O::Rejected, Pay, "the payment is for another resource"),
            Self::MethodOverride { .. } => (400, Reason::MethodOverrideRefused, O::Rejected, ChangeRequest, "method-override headers are refused; send the method itself"),
            Self::SmartWalletRefused { why: SmartWalletRefusal::TooMany } => (
                429,
                Reason::TooManySmartWalletPayments,
                O::Rejected,
                RetryLater { after_s: ALLOWANCE_RETRY_AFTER_S },
                "too many smart-wallet payments from this client; retry in a minute",
            ),
            Self::SmartWalletRefused { .. } => (402, Reason::SmartWalletRefused, O::Rejected, Pay, "this smart-wallet payment is not taken"),
            Self::AllowanceUnavailable => (
                502,
                Reason::AllowanceUnavailable,
                O::AllowanceError,
                RetrySamePayment { after_s: UPSTREAM_RETRY_AFTER_S },
                "the gateway's allowances could not be checked; nothing was settled",
            ),
            Self::QuoteRefused(QuoteError::Expired { .. }) => (402, Reason::QuoteExpired, O::Rejected, Pay, "the quoted price has expired; pay the price quoted now"),
            Self::QuoteRefused(_) => (402, Reason::InvalidQuote, O::Rejected, Pay, "the payment's quote is not one this gateway made for this resource and amount"),
            Self::InvalidPaymentIdentifier { .. } => (402, Reason::InvalidPaymentIdentifier, O::Rejected, Pay, "the payment-identifier must be 16 to 128 letters, digits, - and _"),
            Self::PaymentIdentifierRequired => (402, Reason::PaymentIdentifierRequired, O::Rejected, Pay, "this gateway requires a payment-identifier in every payment"),
            Self::PaymentIdentifierConflict => (409, Reason::PaymentIdentifierConflict, O::Rejected, ChangeRequest, "this payment-identifier belongs to another payer's or another resource's payment; choose a new one"),
            Self::PricingUnavailable { .. } => (
                502,
                Reason::PricingUnavailable,
                O::PricingError,
                RetryLater { after_s: UPSTREAM_RETRY_AFTER_S },
                "the price of this request could not be had; nothing was charged",
            ),
            Self::MethodNotAllowed { .. } => (
                405,
                Reason::MethodNotAllowed,
                O::MethodNotAllowed,
                ChangeRequest,
                "this path is configured for other methods",
            ),
            Self::Configuration(_) => (500, Reason::InvalidConfiguration, O::ConfigError, ContactOperator, "the gateway's configuration is broken"),
            Self::NoRandomness => (500, Reason::InvalidConfiguration, O::ConfigError, ContactOperator, "no secure random numbers on this platform"),
            Self::L402CredentialInvalid => (402, Reason::InvalidL402Credential, O::Challenge, Pay, "the L402 credential does not verify"),
            Self::L402BudgetExhausted => (402, Reason::L402BudgetExhausted, O::Challenge, Pay, "this token's requests are used up"),
            Self::InvoiceUnavailable { x402_offered: true, asked, .. } => {
                let reason = asked.disposition().reason;
                return self.passed(402, &reason, O::ChallengeX402Only, Pay, "payment required (x402 only: no invoice could be made)");
            }
            Self::InvoiceUnavailable { error: InvoiceError::RateLimited, .. } => (
                429,
                Reason::TooManyInvoices,
                O::LightningError,
                RetryLater { after_s: ALLOWANCE_RETRY_AFTER_S },
                "too many invoices; retry in a minute",
            ),
            Self::InvoiceUnavailable { error: InvoiceError::AllowanceUnavailable { .. }, .. } => (
                502,
                Reason::AllowanceUnavailable,
                O::AllowanceError,
                RetryLater { after_s: UPSTREAM_RETRY_AFTER_S },
                "the invoice allowance could not be checked, so no invoice was made",
            ),
            Self::InvoiceUnavailable { .. } => (
                502,
                Reason::LightningUnavailable,
                O::LightningError,
                RetryLater { after_s: ALLOWANCE_RETRY_AFTER_S },
                "the Lightning node could not issue an invoice",
            ),
            Self::RevocationUnavailable => (
                502,
                Reason::L402RevocationUnavailable,
                O::RevocationError,
                RetrySamePayment { after_s: UPSTREAM_RETRY_AFTER_S },
                "the token's revocation could not be checked",
            ),
            Self::SignIn(SignInError::TooMany) => (
                429,
                Reason::TooManySignIns,
                O::Rejected,
                RetryLater { after_s: ALLOWANCE_RETRY_AFTER_S },
                "too many sign-ins by this wallet; retry in a minute",
            ),
            // The gateway's own failure: a 402 would have the client pay for access it has.
            Self::SignIn(error @ SignInError::Verifier { .. }) => (
                502,
                error.reason(),
                O::ChainError,
                RetryLater { after_s: UPSTREAM_RETRY_AFTER_S },
                "the smart wallet's signature could not be checked (its chain did not answer); nothing was served",
            ),
            Self::SignIn(error) => (402, error.reason(), O::Rejected, Pay, "the sign-in is refused; pay, or sign the fresh challenge"),
            Self::TokenBudgetUnavailable => (
                502,
                Reason::TokenBudgetUnavailable,
                O::BudgetError,
                RetrySamePayment { after_s: UPSTREAM_RETRY_AFTER_S },
                "the token's request budget could not be checked",
            ),
        };
        Disposition {
            status,
            reason: reason.as_str().to_owned(),
            outcome,
            next,
            message,
        }
    }

    /// A disposition whose reason is a facilitator's, passed on.
    fn passed(
        &self,
        status: u16,
        reason: &str,
        outcome: LogOutcome,
        next: Next,
        message: &'static str,
    ) -> Disposition {
        Disposition {
            status,
            reason: reason.to_owned(),
            outcome,
            next,
            message,
        }
    }

    /// The `crawler-error` of the refusal, in pay-per-crawl's names, where it has one.
    pub fn crawler_error(&self) -> Option<&'static str> {
        match self {
            Self::ClientRefused {
                kind: ClientKind::Bot,
            } => Some("StrongAuthRequired"),
            Self::ClientRefused {
                kind: ClientKind::Agent,
            } => Some("CrawlerForbidden"),
            Self::CrawlerPrice(error) => Some(error.crawler_error()),
            _ => None,
        }
    }

    /// What the log line adds about the refusal (never a secret or a payment header).
    pub fn detail(&self) -> Option<String> {
        match self {
            Self::MalformedPayment(e) | Self::UnsupportedVersion(e) => Some(e.to_string()),
            Self::PaymentInvalid(e) => Some(e.to_string()),
            Self::InvalidPath(e) => Some(e.to_string()),
            Self::InvalidMcpRequest { detail, .. } => Some((*detail).to_owned()),
            Self::CrawlerPrice(error) => Some(error.to_string()),
            Self::RequestTooLarge { limit } => Some(format!("over {limit} bytes")),
            Self::ResourceMismatch { paid_for } => Some(format!("the payment is for {paid_for:?}")),
            Self::MethodOverride { header } => Some(format!("{header} is refused")),
            Self::SmartWalletRefused { why } => Some(why.to_string()),
            Self::QuoteRefused(e) => Some(e.to_string()),
            Self::InvalidPaymentIdentifier { detail } => Some(detail.clone()),
            Self::PricingUnavailable { detail } => Some(detail.clone()),
            Self::Configuration(e) => Some(e.to_string()),
            Self::InvoiceUnavailable { error, .. } => Some(error.to_string()),
            Self::SignIn(error) => Some(error.to_string()),
            _ => None,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let disposition = self.disposition();
        match self.detail() {
            Some(detail) => write!(f, "{}: {detail}", disposition.reason),
            None => f.write_str(&disposition.reason),
        }
    }
}

/// What happened to a request, as its log line says it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LogOutcome {
    /// A free route, passed to the origin.
    #[default]
    Free,
    /// A CORS preflight, answered here.
    Preflight,
    /// The discovery document, served here.
    Discovery,
    /// A 402 challenge (x402, L402 or both).
    Challenge,
    /// A 402 with the x402 challenge alone, because no L402 invoice could be made.
    ChallengeX402Only,
    /// A payment or request refused by a local check or by the facilitator's `/verify`.
    Rejected,
    /// Paid: settled and served.
    Paid,
    /// Served again from a receipt.
    Receipt,
    /// Served by a valid L402 credential.
    L402,
    /// Served to a wallet that signed in with access from an earlier payment.
    SignedIn,
    /// The origin answered an error (status ≥ 400) before settlement, passed through
    /// uncharged.
    OriginError,
    /// The facilitator refused to settle.
    SettleFailed,
    /// The settlement's outcome is not known (a timeout, an answer not believed, a pending
    /// settlement, or another request's settlement not concluded): the coordinator keeps it.
    SettlementUnknown,
    /// The facilitator could not be used, and nothing was settled.
    FacilitatorError,
    /// The payment coordinator could not be reached.
    CoordinatorError,
    /// The origin could not be reached.
    OriginUnavailable,
    /// A path configured for other methods.
    MethodNotAllowed,
    /// The gateway's configuration (or platform) is broken.
    ConfigError,
    /// The Lightning node could not make an invoice, or the client's allowance is used up.
    LightningError,
    /// The allowances (Durable Objects) could not be asked.
    AllowanceError,
    /// A route priced per request could not be priced.
    PricingError,
    /// An L402 revocation could not be checked.
    RevocationError,
    /// An L402 request budget could not be checked.
    BudgetError,
    /// A network's `rpc_url` could not be asked (a smart wallet's sign-in).
    ChainError,
}

impl LogOutcome {
    /// The log's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Preflight => "preflight",
            Self::Discovery => "discovery",
            Self::Challenge => "challenge",
            Self::ChallengeX402Only => "challenge_x402_only",
            Self::Rejected => "rejected",
            Self::Paid => "paid",
            Self::Receipt => "receipt",
            Self::L402 => "l402",
            Self::SignedIn => "signed_in",
            Self::OriginError => "origin_error",
            Self::SettleFailed => "settle_failed",
            Self::SettlementUnknown => "settlement_unknown",
            Self::FacilitatorError => "facilitator_error",
            Self::CoordinatorError => "coordinator_error",
            Self::OriginUnavailable => "origin_unavailable",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::ConfigError => "config_error",
            Self::LightningError => "lightning_error",
            Self::AllowanceError => "allowance_error",
            Self::PricingError => "pricing_error",
            Self::RevocationError => "revocation_error",
            Self::BudgetError => "budget_error",
            Self::ChainError => "chain_error",
        }
    }
}
