//! x402 over MCP (x402 `specs/transports-v2/mcp.md`): a route in front of an MCP server
//! (Streamable HTTP transport: JSON-RPC over `POST`, answered as JSON or as an SSE stream)
//! prices `tools/call` by tool name (`mcp.tools`).
//!
//! The decisions are the gate's, as for HTTP ([`Gate::decide_mcp`]): a tool's payment is
//! verified locally (a bad one costs no facilitator call), coordinated and settled once, and
//! settled only when the tool's result is not an error (`isError`, or a JSON-RPC error); a
//! failed settlement never releases the result; a receipt answers the same call again
//! ([`served`]). Every other request (`initialize`, `tools/list`, notifications, free
//! tools) passes through, `tools/list` with the prices added.
//!
//! Clients differ in where they look: the spec's put the `PaymentRequired` in
//! `structuredContent` and `content[0].text`, Cloudflare's `agents` in `_meta["x402/error"]`,
//! and its payment comes as base64 text rather than an object. Payment-required results carry
//! all three places, and both forms of payment are read ([`wire`]).

pub mod served;
pub mod wire;

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::Value;

use super::quote::{QuoteKey, QUOTE_SECRET};
use super::{
    ChallengeTemplate, Decision, DynamicPrice, DynamicRequest, Gate, Offered, Presentation,
    PriceAsk, Refusal, Refused, Replay, RequestFacts, RouteAt,
};
use crate::config::{ConfigError, McpRoute, PaidRoute, SettleOrder};
use crate::protocol::PaymentPayload;
pub use wire::{McpPrices, MAX_REQUEST_BYTES};
use wire::{McpRequest, PaidCall};

/// What a route with `mcp` offers, prepared when the gate is built.
#[derive(Clone, Debug)]
pub struct McpOffering {
    /// Each tool's challenge at its price, ready but for its resource URL (`None` for a
    /// price decided per call), in `mcp.tools` order.
    challenges: Vec<Option<Arc<ChallengeTemplate>>>,
    /// The key quotes of prices decided per call are signed with (when a tool has one).
    quote_key: Option<QuoteKey>,
    /// The `tools/list` annotations.
    prices: Arc<McpPrices>,
}

impl McpOffering {
    /// The offering of the route `paid`, whose `mcp` is `mcp`; `QUOTE_SECRET`'s key is
    /// required when a tool's price is `"dynamic"`.
    pub fn new(
        paid: &PaidRoute,
        mcp: &McpRoute,
        quote_key: Option<&QuoteKey>,
    ) -> Result<Self, ConfigError> {
        let dynamic = mcp.tools.iter().any(|tool| tool.price.is_none());
        let quote_key = match (dynamic, quote_key) {
            (false, _) => None,
            (true, Some(key)) => Some(key.clone()),
            (true, None) => {
                return Err(ConfigError {
                    key: QUOTE_SECRET.into(),
                    problem: "is not set (MCP tools priced \"dynamic\" sign their quotes with it)"
                        .into(),
                })
            }
        };
        Ok(Self {
            challenges: mcp
                .tools
                .iter()
                .map(|tool| {
                    let template = ChallengeTemplate::with_offers(paid, &tool.accepts);
                    tool.price.as_ref().map(|_| Arc::new(template))
                })
                .collect(),
            quote_key,
            prices: McpPrices::of_route(mcp),
        })
    }
}

/// The resource URL of a tool's challenge (the x402 MCP transport's form).
pub fn tool_url(name: &str) -> String {
    format!("mcp://tool/{name}")
}

/// A `tools/list` request: passed on to `target`, its answer to `id` annotated with `prices`.
#[derive(Clone, Debug)]
pub struct ToolList {
    /// Canonical path and query for the origin.
    pub target: String,
    /// The JSON-RPC `id`.
    pub id: Value,
    /// The annotations.
    pub prices: Arc<McpPrices>,
}

/// A paid tool call, as the flow forwards and answers it.
#[derive(Clone, Debug, PartialEq)]
pub struct McpCall {
    /// The JSON-RPC `id`.
    pub id: Value,
    /// The request as the server gets it: without the payment.
    pub forward: Vec<u8>,
}

impl Gate {
    /// Decides a request on an MCP route: only a `POST`'s body says what it is (read first,
    /// [`Decision::ReadBody`]); a priced call is decided as a payment on an HTTP route is,
    /// against its tool's offers, and answered in JSON-RPC.
    pub(super) fn decide_mcp(
        &self,
        request: &RequestFacts<'_>,
        at: RouteAt<'_>,
        offering: &McpOffering,
        now: u64,
        price: Option<&DynamicPrice>,
    ) -> Decision {
        // `GET` opens the server's stream of notifications, `DELETE` ends a session; any
        // other method's body is read as a POST's (a server may take JSON-RPC with it).
        if ["GET", "HEAD", "DELETE"]
            .iter()
            .any(|m| request.method.eq_ignore_ascii_case(m))
        {
            return Decision::Free { target: at.target };
        }
        let Some(body) = request.body else {
            return Decision::ReadBody;
        };
        // The body is read as UTF-8 JSON, and must be what the server reads too: a charset
        // it would decode otherwise (body-parser decodes UTF-7, in which `p+AGE-id` is
        // `paid`), or an encoding it would inflate, could hide a priced call.
        if let Some(detail) = unreadable(request) {
            let refusal = Refusal::InvalidMcpRequest {
                code: wire::PARSE_ERROR,
                detail,
            };
            let refused = Refused::bare(refusal, Some(at.pattern));
            return in_json_rpc(Decision::Refuse(Box::new(refused)), Value::Null);
        }
        let Some(route) = at.paid.mcp.as_deref() else {
            return Decision::Free { target: at.target };
        };
        let call = match McpRequest::read(body, route) {
            McpRequest::PassOn => return Decision::Free { target: at.target },
            McpRequest::List { id } => {
                return Decision::ToolList(Box::new(ToolList {
                    target: at.target,
                    id,
                    prices: offering.prices.clone(),
                }))
            }
            McpRequest::Invalid { code, detail } => {
                let refusal = Refusal::InvalidMcpRequest { code, detail };
                let refused = Refused::bare(refusal, Some(at.pattern));
                return in_json_rpc(Decision::Refuse(Box::new(refused)), Value::Null);
            }
            McpRequest::PaidCall(call) => call,
        };
        let PaidCall {
            id,
            tool: index,
            payment,
            forward,
            call_digest,
        } = *call;
        let tool = &route.tools[index];
        // The transport's place for the payment, else the HTTP headers (Cloudflare's server
        // reads them too).
        let payment = payment.or_else(|| request.payment_header().map(PaymentPayload::from_header));
        let url = tool_url(&tool.name);
        let offered = match (&offering.challenges[index], &offering.quote_key) {
            (Some(template), _) => Offered {
                offers: Cow::Borrowed(&tool.accepts),
                challenge: template.for_resource(&url),
                receipt_only: None,
                dynamic: false,
                refusal: None,
            },
            (None, Some(key)) => {
                // A quote is bound to the gateway's URL and the tool (not to the arguments:
                // the client echoes the quote with the call it makes next).
                let quoted = format!(
                    "POST {}{} tools/call {}",
                    request.base_url, at.path, tool.name
                );
                let asked = DynamicRequest {
                    paid: at.paid,
                    key,
                    resource: &quoted,
                    url: &url,
                    pattern: &at.pattern,
                };
                let ask = PriceAsk {
                    route: self.config().routes[at.index].matcher.to_string(),
                    method: "POST".into(),
                    path: at.path.to_string(),
                    query: request.query.map(str::to_owned),
                    tool: Some(tool.name.clone()),
                };
                let made =
                    self.offered_dynamically(&asked, payment.as_ref(), price, now, ask, &at.target);
                match made {
                    Ok(offered) => offered,
                    Err(decision) => return in_json_rpc(decision, id),
                }
            }
            // The gate is not made without the key when a tool's price is dynamic.
            (None, None) => {
                let refusal = Refusal::Configuration(ConfigError {
                    key: QUOTE_SECRET.into(),
                    problem: "is not set".into(),
                });
                let refused = Refused::bare(refusal, Some(at.pattern));
                return in_json_rpc(Decision::Refuse(Box::new(refused)), id);
            }
        };
        match self.decide_payment(request, &at, offered, payment, now) {
            Decision::Pay(mut plan) => {
                // The tool runs before settlement, and a failed tool is not paid for. A
                // receipt serves again only this call (the same tool, the same arguments to
                // the letter), and only if the request that paid went unanswered: a tool
                // call is not run twice for one payment otherwise.
                plan.resource = format!("{} tools/call {} {call_digest}", plan.resource, tool.name);
                plan.replay = Replay::IfUnanswered;
                plan.order = SettleOrder::AfterOrigin;
                plan.mcp = Some(Box::new(McpCall { id, forward }));
                Decision::Pay(plan)
            }
            other => in_json_rpc(other, id),
        }
    }
}

/// Why a request's body cannot be read as the server would read it, if it cannot: a
/// `Content-Encoding` other than `identity`, or a charset other than UTF-8.
fn unreadable(request: &RequestFacts<'_>) -> Option<&'static str> {
    if request
        .content_encoding
        .is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity"))
    {
        return Some("send the body without Content-Encoding");
    }
    let charset = request.content_type.and_then(|t| {
        t.split(';').skip(1).find_map(|param| {
            let (name, value) = param.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("charset")
                .then(|| value.trim().trim_matches('"'))
        })
    });
    match charset {
        Some(c) if !(c.eq_ignore_ascii_case("utf-8") || c.eq_ignore_ascii_case("utf8")) => {
            Some("send the body as JSON in UTF-8")
        }
        _ => None,
    }
}

/// A decision on a call, answered to its JSON-RPC request `id` when it is a refusal.
fn in_json_rpc(decision: Decision, id: Value) -> Decision {
    match decision {
        Decision::Refuse(mut refused) => {
            refused.presentation = Presentation::Mcp(id);
            Decision::Refuse(refused)
        }
        other => other,
    }
}
