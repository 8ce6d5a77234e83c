//! The HTTP transport of the gate's answers: a [`Refused`] becomes a status (from
//! [`Refusal::disposition`], the one mapping), headers and a body; released content gets
//! its settlement header and cache headers. No status is chosen here.

use serde_json::json;

use super::mcp::wire as mcp;
use super::refusal::{Next, PREFLIGHT_STATUS};
use super::{crawl, Presentation, Refused, Settlement};
use crate::networks::Networks;
use crate::protocol::{encode_header, PAYMENT_REQUIRED};

/// Response headers a browser may read: the payment headers of both versions, an MCP
/// server's session id, and pay-per-crawl's.
pub const EXPOSED_HEADERS: &str = "PAYMENT-REQUIRED, PAYMENT-RESPONSE, X-PAYMENT-RESPONSE, \
    WWW-Authenticate, Mcp-Session-Id, crawler-price, crawler-charged, crawler-error";
/// Request headers a browser may send cross-origin: the payment headers, and the MCP
/// transport's (a browser's MCP client sends them on every request).
pub const ALLOWED_REQUEST_HEADERS: &str = "PAYMENT-SIGNATURE, X-PAYMENT, SIGN-IN-WITH-X, \
    Authorization, Content-Type, Accept, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID";
/// The response header of an L402 challenge.
pub const WWW_AUTHENTICATE: &str = "WWW-Authenticate";

/// A complete response the gateway makes itself (no origin involved).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Headers to set, in order (a name may repeat).
    pub headers: Vec<(&'static str, String)>,
    /// Body: JSON, the paywall page's HTML, or empty.
    pub body: String,
}

/// How released content is answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Release {
    /// A free route: the origin's response as it is.
    Free,
    /// A priced route's content this request got free (its kind of client, a price of
    /// nothing): the origin's response, never stored by shared caches.
    Waived,
    /// The origin's error before settlement, passed through uncharged: the gateway's CORS and
    /// `no-store` headers added.
    Uncharged,
    /// Paid content (settled, from a receipt, or an L402 credential): never stored by shared
    /// caches, with the settlement header when there is one.
    Paid(Option<Settlement>),
    /// Paid content a crawler's payment just settled: as [`Release::Paid`], and what it was
    /// charged (`crawler-charged`).
    Crawled {
        /// The settlement.
        settlement: Settlement,
        /// The price charged.
        charged: crawl::CrawlerPrice,
    },
}

/// The answer to a refusal: its disposition's status; the challenge (v1 JSON body and v2
/// header) when the client may pay, or a JSON `{error, message}` body; the L402 and
/// settlement headers; the paywall page when that is the presentation.
pub fn answer(refused: &Refused, networks: &Networks) -> Answer {
    if let Presentation::Mcp(id) = &refused.presentation {
        return mcp_answer(refused, id);
    }
    let disposition = refused.refusal.disposition();
    let reason = disposition.reason.as_str();
    let mut headers = common_headers();
    let challenge = refused
        .challenge
        .as_ref()
        .filter(|c| c.offers_x402() && disposition.next == Next::Pay);
    let body = match (challenge, &refused.presentation) {
        (Some(challenge), Presentation::Page) => {
            let required = challenge.v2_required(reason);
            headers.push(("Content-Type", "text/html; charset=utf-8".into()));
            headers.push((PAYMENT_REQUIRED, encode_header(&required)));
            headers.extend(crate::paywall::page_headers());
            crate::paywall::render(&required, networks)
        }
        (Some(challenge), _) => {
            let (header, body) = challenge.render(reason);
            headers.push(("Content-Type", "application/json".into()));
            headers.push((PAYMENT_REQUIRED, header));
            body
        }
        (None, _) => {
            headers.push(("Content-Type", "application/json".into()));
            if refused.challenge.is_some() || !refused.l402.is_empty() {
                // A challenge without x402 requirements (an L402-only route).
                json!({ "error": reason }).to_string()
            } else {
                json!({ "error": reason, "message": disposition.message }).to_string()
            }
        }
    };
    if let Some(settlement) = &refused.settlement {
        headers.push((settlement.header_name(), settlement.response.to_header()));
    }
    for value in &refused.l402 {
        headers.push((WWW_AUTHENTICATE, value.clone()));
    }
    if let (Some(price), Some(_)) = (&refused.crawler_price, challenge) {
        headers.push((crawl::CRAWLER_PRICE, price.to_string()));
    }
    if let Some(error) = refused.refusal.crawler_error() {
        headers.push((crawl::CRAWLER_ERROR, error.into()));
    }
    if let super::Refusal::MethodNotAllowed { allowed } = &refused.refusal {
        headers.push(("Allow", allowed.join(", ")));
    }
    if let Next::RetryLater { after_s } | Next::RetrySamePayment { after_s } = disposition.next {
        headers.push(("Retry-After", after_s.to_string()));
    }
    Answer {
        status: disposition.status,
        headers,
        body,
    }
}

/// A refusal on an MCP route, as the JSON-RPC answer to `id` with HTTP 200 (MCP clients
/// take no other status): a tool result asking for payment when the client may pay (with
/// the failed settlement's answer, if any), else a JSON-RPC error whose `data` has the wire
/// reason (and `retryAfter`, in seconds, when the same call may be sent again).
fn mcp_answer(refused: &Refused, id: &serde_json::Value) -> Answer {
    let disposition = refused.refusal.disposition();
    let reason = disposition.reason.as_str();
    let challenge = refused
        .challenge
        .as_ref()
        .filter(|c| c.offers_x402() && disposition.next == Next::Pay);
    let message = match challenge {
        Some(challenge) => {
            let settlement = refused
                .settlement
                .as_ref()
                .and_then(|s| serde_json::to_value(&s.response).ok());
            mcp::payment_required_result(id, &challenge.v2_required(reason), settlement)
        }
        None => {
            let code = match &refused.refusal {
                super::Refusal::InvalidMcpRequest { code, .. } => *code,
                _ => mcp::SERVER_ERROR,
            };
            let mut data = json!({ "error": reason });
            if let Next::RetryLater { after_s } | Next::RetrySamePayment { after_s } =
                disposition.next
            {
                data["retryAfter"] = after_s.into();
            }
            mcp::error_response(id, code, disposition.message, data)
        }
    };
    let mut headers = common_headers();
    headers.push(("Content-Type", "application/json".into()));
    Answer {
        status: refused.presentation.status(disposition.status),
        headers,
        body: message.to_string(),
    }
}

/// The headers added to content the gateway releases.
pub fn release_headers(release: &Release) -> Vec<(&'static str, String)> {
    match release {
        Release::Free => Vec::new(),
        Release::Uncharged => common_headers(),
        Release::Waived => vec![("Cache-Control", PRIVATE.into())],
        Release::Paid(settlement) => paid_headers(settlement.as_ref()),
        Release::Crawled {
            settlement,
            charged,
        } => {
            let mut headers = paid_headers(Some(settlement));
            headers.push((crawl::CRAWLER_CHARGED, charged.to_string()));
            headers
        }
    }
}

/// What keeps content that others pay for from shared caches.
const PRIVATE: &str = "private, no-store";

/// The headers of paid content: never cached by shared caches, with the settlement header
/// when there is one.
fn paid_headers(settlement: Option<&Settlement>) -> Vec<(&'static str, String)> {
    let mut headers = common_headers();
    // Paid content is per payment: never cache it in shared caches.
    headers.retain(|(name, _)| *name != "Cache-Control");
    headers.push(("Cache-Control", PRIVATE.into()));
    if let Some(settlement) = settlement {
        headers.push((settlement.header_name(), settlement.response.to_header()));
    }
    headers
}

/// The answer to a CORS preflight: allows the payment headers, never charged.
pub fn preflight() -> Answer {
    let mut headers = common_headers();
    headers.push((
        "Access-Control-Allow-Methods",
        "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS".into(),
    ));
    headers.push((
        "Access-Control-Allow-Headers",
        ALLOWED_REQUEST_HEADERS.into(),
    ));
    headers.push(("Access-Control-Max-Age", "600".into()));
    Answer {
        status: PREFLIGHT_STATUS,
        headers,
        body: String::new(),
    }
}

/// A JSON document of the gateway's own (the discovery document), readable from any origin.
pub fn document(document: &serde_json::Value) -> Answer {
    let mut headers = common_headers();
    headers.push(("Content-Type", "application/json".into()));
    Answer {
        status: 200,
        // A JSON value always serialises.
        body: serde_json::to_string_pretty(document).unwrap_or_default(),
        headers,
    }
}

/// `Cache-Control: no-store` and the CORS headers every gateway answer carries.
pub fn common_headers() -> Vec<(&'static str, String)> {
    vec![
        ("Cache-Control", "no-store".into()),
        ("Access-Control-Allow-Origin", "*".into()),
        ("Access-Control-Expose-Headers", EXPOSED_HEADERS.into()),
    ]
}
