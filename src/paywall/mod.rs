//! The paywall page: what a browser navigating to a route sold over x402 gets instead of the
//! 402 JSON. The gate decides *when* ([`crate::gate::Presentation::Page`]); this module
//! renders it, without I/O, from the route's v2 `PaymentRequired` (and its `error`): what is
//! sold, the price in whole tokens, and the same `PaymentRequired` embedded as JSON for the
//! script. The markup and style are the files beside this one (`page.html`, `page.css`, and
//! the fragments), brought in with `include_str!`.
//!
//! The script and the verify-only WASM are static assets under [`ASSETS_PREFIX`] (built by
//! `paywall/build.sh`, served by Workers Static Assets); they talk to the visitor's wallet,
//! sign an EIP-3009 authorisation, check it with `verifyPayment` and retry the request with
//! `PAYMENT-SIGNATURE`. Without JavaScript the page still says what is sold, for how much,
//! and that a wallet is needed.
//!
//! Every interpolated text is HTML-escaped, and the embedded JSON has `<`, `>` and `&`
//! written as `\u00XX` escapes, so nothing in a configuration or a URL can close the
//! `<script>` element or open a tag.

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::evm::Address;
use crate::networks::Networks;
use crate::protocol::{v2, Reason};

/// Where the page's script and WASM are served from (Workers Static Assets: a request for a
/// path that exists in `paywall/dist/` never reaches the Worker).
pub const ASSETS_PREFIX: &str = "/__edge402/";
/// The page's script (an ES module).
const SCRIPT_PATH: &str = "/__edge402/paywall.js";
/// The `id` of the `<script type="application/json">` holding the `PaymentRequired`.
pub const DATA_ELEMENT_ID: &str = "edge402-payment-required";

/// Decimal places assumed for a token the network table does not know (USDC-like).
const FALLBACK_DECIMALS: u8 = 6;

/// The page, with `{name}` placeholders.
const PAGE: &str = include_str!("page.html");
/// The page's style sheet, inline (allowed by its hash in the CSP).
const STYLE: &str = include_str!("page.css");
/// The `Format` row, when the resource names its media type.
const FORMAT_ROW: &str = include_str!("format.html");
/// One price: amount, network and network id.
const PRICE: &str = include_str!("price.html");
/// Several prices: a list of [`PRICE_ITEM`]s.
const PRICE_LIST: &str = include_str!("price-list.html");
/// One item of [`PRICE_LIST`].
const PRICE_ITEM: &str = include_str!("price-item.html");
/// The note that the last payment was refused, and why.
const REFUSED_NOTE: &str = include_str!("refused.html");

/// The headers of the page besides its type and `PAYMENT-REQUIRED`: a strict CSP, no
/// sniffing, no referrer, and `Vary: Accept` (the same URL answers JSON to API clients).
pub fn page_headers() -> [(&'static str, String); 4] {
    [
        ("Content-Security-Policy", content_security_policy().into()),
        ("X-Content-Type-Options", "nosniff".into()),
        ("Referrer-Policy", "no-referrer".into()),
        ("Vary", "Accept".into()),
    ]
}

/// The CSP of the page: its own script and WASM (`'wasm-unsafe-eval'` lets it compile),
/// requests to its own origin only, the inline style by hash, and nothing else. The paid
/// content, when it is HTML, is shown in a sandboxed `srcdoc` frame under the same policy.
pub fn content_security_policy() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        let style_hash = STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
        format!(
            "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; \
             style-src 'sha256-{style_hash}'; img-src 'self' data:; frame-src 'self'; \
             base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        )
    })
}

/// One way to pay, as people read it.
struct PriceLine {
    /// `0.001 USDC`.
    price: String,
    /// `Base Sepolia`.
    network: String,
    /// `eip155:84532`.
    network_id: String,
}

/// The page for a route's `PaymentRequired` (its `error` included).
pub fn render(required: &v2::PaymentRequired, networks: &Networks) -> String {
    let resource = &required.resource;
    let description = resource
        .description
        .as_deref()
        .filter(|d| !d.trim().is_empty())
        .unwrap_or("Paid content");
    let lines: Vec<PriceLine> = required
        .accepts
        .iter()
        .map(|r| price_line(r, networks))
        .collect();
    let price = |index: usize, line: &PriceLine| {
        fill(
            PRICE,
            &[
                ("index", &index.to_string()),
                ("price", &escape(&line.price)),
                ("network", &escape(&line.network)),
                ("network_id", &escape(&line.network_id)),
            ],
        )
    };
    let prices = match lines.as_slice() {
        [one] => price(0, one),
        many => {
            let items: String = many
                .iter()
                .enumerate()
                .map(|(i, line)| fill(PRICE_ITEM, &[("offer", &price(i, line))]))
                .collect();
            fill(PRICE_LIST, &[("items", &items)])
        }
    };
    let format = resource
        .mime_type
        .as_deref()
        .filter(|m| !m.is_empty())
        .map_or_else(String::new, |mime| {
            fill(FORMAT_ROW, &[("mime", &escape(mime))])
        });
    let refused = required
        .error
        .as_deref()
        .filter(|e| *e != Reason::PaymentRequired.as_str())
        .map_or_else(String::new, |error| {
            fill(REFUSED_NOTE, &[("error", &escape(error))])
        });
    let first = lines.first();
    let what = first.map_or_else(
        || "the token asked for".to_owned(),
        |l| format!("{} on {}", escape(&l.price), escape(&l.network)),
    );
    fill(
        PAGE,
        &[
            ("title", &escape(description)),
            ("style", STYLE),
            ("url", &escape(&resource.url)),
            ("format", &format),
            ("prices", &prices),
            (
                "pay_to",
                &escape(required.accepts.first().map_or("", |r| r.pay_to.as_str())),
            ),
            ("refused", &refused),
            ("what", &what),
            ("price", &escape(first.map_or("", |l| l.price.as_str()))),
            ("data_id", DATA_ELEMENT_ID),
            ("json", &script_json(required)),
            ("script", SCRIPT_PATH),
        ],
    )
}

/// A template with each `{name}` replaced by its value (values are inserted as they are:
/// escape them first). A placeholder without a value is left as written.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let name = &after[..close];
            values
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v, close))
        });
        match value {
            Some((value, close)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// How a requirement reads: the amount in whole tokens (the network table's decimals, or 6
/// for a token it does not know) and the network's name.
fn price_line(requirement: &v2::PaymentRequirements, networks: &Networks) -> PriceLine {
    let network = networks.resolve(&requirement.network).ok();
    let asset = requirement
        .asset
        .parse::<Address>()
        .ok()
        .and_then(|address| network?.asset(&address));
    let decimals = asset.map_or(FALLBACK_DECIMALS, |a| a.decimals);
    let symbol = requirement
        .extra
        .as_ref()
        .and_then(|extra| extra.get("name"))
        .and_then(|name| name.as_str())
        .or(asset.map(|a| a.eip712_name.as_str()))
        .map_or("tokens", |name| match name {
            // Circle's USDC calls itself "USD Coin" in its EIP-712 domain on most chains.
            "USD Coin" => "USDC",
            other => other,
        });
    PriceLine {
        price: format!("{} {symbol}", requirement.amount.to_units(decimals)),
        network: network
            .and_then(|n| n.display_name.as_deref())
            .map_or_else(|| requirement.network.clone(), str::to_owned),
        network_id: network.map_or_else(|| requirement.network.clone(), |n| n.caip2()),
    }
}

/// Text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The `PaymentRequired` as JSON that is safe inside `<script type="application/json">`:
/// `<`, `>` and `&` (which only occur in strings) become `\u003c`, `\u003e`, `\u0026`, which
/// `JSON.parse` reads back as the same characters; U+2028 and U+2029 are escaped as well.
pub fn script_json(required: &v2::PaymentRequired) -> String {
    // The wire types serialise infallibly (see `encode_header`).
    let json = serde_json::to_string(required).unwrap_or_default();
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
