//! Which form a refusal takes: the protocol's own (JSON body and header), the paywall page
//! for a browser navigating to the route (rendered by [`crate::paywall`]), or a JSON-RPC
//! answer for an MCP client.

use super::RequestFacts;
use crate::routes::is_safe_method;

/// How a refusal is shown to the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Presentation {
    /// The protocol's own form: the v1 JSON body and the v2 header.
    Protocol,
    /// The paywall page ([`crate::paywall`]).
    Page,
    /// The answer to the JSON-RPC request with this `id` (`null` when it has none) on an
    /// MCP route ([`super::mcp`]): HTTP 200, as MCP clients take no other status.
    Mcp(serde_json::Value),
}

impl Presentation {
    /// The HTTP status a refusal of `status` is answered with in this form: its own, but
    /// 200 for an MCP client.
    pub fn status(&self, status: u16) -> u16 {
        match self {
            Self::Mcp(_) => 200,
            Self::Protocol | Self::Page => status,
        }
    }
}

/// Whether a request gets the paywall page rather than the 402 JSON: a `GET` or `HEAD` (the
/// page retries with `GET`) whose `Accept` prefers HTML. API clients (`application/json`,
/// `*/*`, no `Accept`) keep the JSON.
pub fn wants_page(request: &RequestFacts<'_>) -> bool {
    is_safe_method(request.method) && request.accept.is_some_and(accepts_html)
}

/// Whether an `Accept` value names `text/html` (or XHTML) with a non-zero quality that
/// `application/json` does not beat (ties go to the one listed first). Wildcards do not count:
/// `*/*` is what programs send.
pub fn accepts_html(accept: &str) -> bool {
    let mut html: Option<(f32, usize)> = None;
    let mut json: Option<(f32, usize)> = None;
    for (index, item) in accept.split(',').enumerate() {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let slot = match media.as_str() {
            "text/html" | "application/xhtml+xml" => &mut html,
            "application/json" => &mut json,
            _ => continue,
        };
        if slot.is_none_or(|(q, _)| quality > q) {
            *slot = Some((quality, index));
        }
    }
    match (html, json) {
        (Some((q, _)), _) if q <= 0.0 => false,
        (Some(_), None) => true,
        (Some((qh, ih)), Some((qj, ij))) => qh > qj || (qh == qj && ih < ij),
        (None, _) => false,
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn accept_values() {
        assert!(accepts_html("text/html"));
        assert!(accepts_html("TEXT/HTML; charset=utf-8"));
        assert!(accepts_html("application/xhtml+xml"));
        assert!(accepts_html("text/html, application/json"));
        assert!(accepts_html("application/json;q=0.5, text/html"));
        assert!(!accepts_html("application/json, text/html"));
        assert!(!accepts_html("text/html;q=0"));
        assert!(!accepts_html("*/*"));
        assert!(!accepts_html(""));
        assert!(!accepts_html("text/plain"));
    }
}
