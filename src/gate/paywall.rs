//! The paywall page: what a browser navigating to a route sold over x402 gets instead of the
//! 402 JSON (an `Accept` that prefers `text/html`, a `GET` or `HEAD`, no payment header).
//!
//! The page is rendered here, without I/O, from the route's v2 `PaymentRequired` (and its
//! `error`): what is sold, the price in whole tokens, and the same `PaymentRequired` embedded
//! as JSON for the script. The script and the verify-only WASM are static assets under
//! [`ASSETS_PREFIX`] (built by `paywall/build.sh`, served by Workers Static Assets); they talk
//! to the visitor's wallet, sign an EIP-3009 authorisation, check it with `verifyPayment` and
//! retry the request with `PAYMENT-SIGNATURE`. Without JavaScript the page still says what
//! is sold, for how much, and that a wallet is needed.
//!
//! Every interpolated text is HTML-escaped, and the embedded JSON has `<`, `>` and `&`
//! written as `\u00XX` escapes, so nothing in a configuration or a URL can close the
//! `<script>` element or open a tag.

use std::fmt::Write as _;
use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::{common_headers, Answer, Challenge, RequestFacts};
use crate::evm::Address;
use crate::networks::Networks;
use crate::protocol::{encode_header, v2, PAYMENT_REQUIRED};

/// Where the page's script and WASM are served from (Workers Static Assets: a request for a
/// path that exists in `paywall/dist/` never reaches the Worker).
pub const ASSETS_PREFIX: &str = "/__edge402/";
/// The page's script (an ES module).
const SCRIPT_PATH: &str = "/__edge402/paywall.js";
/// The `id` of the `<script type="application/json">` holding the `PaymentRequired`.
pub const DATA_ELEMENT_ID: &str = "edge402-payment-required";

/// Decimal places assumed for a token the network table does not know (USDC-like).
const FALLBACK_DECIMALS: u8 = 6;

/// The page's style sheet, inline (allowed by its hash in the CSP).
const STYLE: &str = r#"
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--muted:#57606a;--line:#d0d7de;--accent:#0b57d0;--ok:#116329;--bad:#a40e26}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#9da7b3;--line:#30363d;--accent:#7cacf8;--ok:#56d364;--bad:#ff7b72}}
*{box-sizing:border-box}
body{margin:0;font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:40rem;margin:0 auto;padding:2rem 1.25rem}
h1{font-size:1.6rem;margin:0 0 .5rem}
h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
.lead{font-size:1.1rem;margin:0 0 1.25rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.4rem 1rem;margin:0 0 1.25rem}
dt{color:var(--muted)}
dd{margin:0;overflow-wrap:anywhere}
ul{margin:0;padding-left:1.2rem}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
.price{font-weight:600}
.note{color:var(--muted)}
button{font:inherit;font-weight:600;padding:.7rem 1.3rem;border-radius:.5rem;border:2px solid var(--accent);background:var(--accent);color:var(--bg);cursor:pointer}
button:disabled{opacity:.55;cursor:not-allowed}
button:focus-visible{outline:3px solid var(--fg);outline-offset:3px}
#edge402-status{min-height:1.5em;margin:1rem 0;overflow-wrap:anywhere}
h2:focus{outline:none}
#edge402-status[data-kind=error]{color:var(--bad);font-weight:600}
#edge402-status[data-kind=ok]{color:var(--ok);font-weight:600}
pre{white-space:pre-wrap;overflow-wrap:anywhere;padding:1rem;border:1px solid var(--line);border-radius:.5rem;max-height:60vh;overflow:auto}
iframe{width:100%;min-height:60vh;border:1px solid var(--line);border-radius:.5rem;background:#fff}
"#;

/// Whether a request gets the paywall page rather than the 402 JSON: a `GET` or `HEAD` (the
/// page retries with `GET`) whose `Accept` prefers HTML. API clients (`application/json`,
/// `*/*`, no `Accept`) keep the JSON.
pub fn wants_page(request: &RequestFacts<'_>) -> bool {
    let method = request.method;
    (method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD"))
        && request.accept.is_some_and(accepts_html)
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

impl Challenge {
    /// The paywall page as an answer: 402, HTML, still with `PAYMENT-REQUIRED` (so an x402
    /// client that sent a browser's `Accept` can pay anyway), `no-store` and a strict CSP.
    pub fn paywall(&self, error: &str, networks: &Networks) -> Answer {
        let required = v2::PaymentRequired {
            error: Some(error.to_owned()),
            ..self.v2.clone()
        };
        let mut headers = common_headers();
        headers.push(("Content-Type", "text/html; charset=utf-8".into()));
        headers.push((PAYMENT_REQUIRED, encode_header(&required)));
        headers.push(("Content-Security-Policy", content_security_policy().into()));
        headers.push(("X-Content-Type-Options", "nosniff".into()));
        headers.push(("Referrer-Policy", "no-referrer".into()));
        headers.push(("Vary", "Accept".into()));
        Answer {
            status: 402,
            headers,
            body: render(&required, networks),
            reason: Some(error.to_owned()),
        }
    }
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
struct Offer {
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
    let offers: Vec<Offer> = required
        .accepts
        .iter()
        .map(|r| offer(r, networks))
        .collect();
    let mut page = String::with_capacity(8 * 1024);
    let e = escape;
    // Writing to a String cannot fail.
    let _ = write!(
        page,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n\
         <title>Payment required: {title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <main>\n<h1>Payment required</h1>\n<p class=\"lead\">{title}</p>\n<dl>\n\
         <dt>Resource</dt><dd><code>{url}</code></dd>\n",
        title = e(description),
        url = e(&resource.url),
    );
    if let Some(mime) = resource.mime_type.as_deref().filter(|m| !m.is_empty()) {
        let _ = writeln!(page, "<dt>Format</dt><dd><code>{}</code></dd>", e(mime));
    }
    match offers.as_slice() {
        [one] => {
            let _ = writeln!(
                page,
                "<dt>Price</dt><dd><span class=\"price\" id=\"edge402-offer-0\" \
                 data-price=\"{p}\" data-network=\"{n}\">{p}</span> on {n} \
                 <span class=\"note\">({id})</span></dd>",
                p = e(&one.price),
                n = e(&one.network),
                id = e(&one.network_id),
            );
        }
        many => {
            page.push_str("<dt>Price</dt><dd><ul>\n");
            for (i, o) in many.iter().enumerate() {
                let _ = writeln!(
                    page,
                    "<li><span class=\"price\" id=\"edge402-offer-{i}\" data-price=\"{p}\" \
                     data-network=\"{n}\">{p}</span> on {n} <span class=\"note\">({id})</span></li>",
                    p = e(&o.price),
                    n = e(&o.network),
                    id = e(&o.network_id),
                );
            }
            page.push_str("</ul></dd>\n");
        }
    }
    let _ = writeln!(
        page,
        "<dt>Paid to</dt><dd><code>{}</code></dd>\n</dl>",
        e(required.accepts.first().map_or("", |r| r.pay_to.as_str()))
    );
    if let Some(error) = required
        .error
        .as_deref()
        .filter(|e| *e != crate::protocol::Reason::PaymentRequired.as_str())
    {
        let _ = writeln!(
            page,
            "<p class=\"note\">The last payment was refused: <code>{}</code></p>",
            e(error)
        );
    }
    let first = offers.first();
    let _ = write!(
        page,
        "<p>Paying needs a browser wallet (an Ethereum wallet extension such as MetaMask) \
         holding {what}. The wallet signs a one-time transfer authorisation; no transaction \
         fee is asked of you.</p>\n\
         <noscript><p><strong>This page needs JavaScript to talk to your wallet.</strong> \
         Programs can pay with an x402 client: the <code>PAYMENT-REQUIRED</code> header of \
         this response holds the terms.</p></noscript>\n\
         <p><button type=\"button\" id=\"edge402-pay\" disabled>Pay {price} with your wallet\
         </button></p>\n\
         <p id=\"edge402-status\" role=\"status\" aria-live=\"polite\"></p>\n\
         <section id=\"edge402-content\" hidden aria-labelledby=\"edge402-content-title\">\n\
         <h2 id=\"edge402-content-title\" tabindex=\"-1\">Your content</h2>\n\
         <div id=\"edge402-content-body\"></div>\n</section>\n</main>\n\
         <script type=\"application/json\" id=\"{DATA_ELEMENT_ID}\">{json}</script>\n\
         <script type=\"module\" src=\"{SCRIPT_PATH}\"></script>\n</body>\n</html>\n",
        what = first.map_or_else(
            || "the token asked for".to_owned(),
            |o| format!("{} on {}", e(&o.price), e(&o.network))
        ),
        price = e(first.map_or("", |o| o.price.as_str())),
        json = script_json(required),
    );
    page
}

/// How a requirement reads: the amount in whole tokens (the network table's decimals, or 6
/// for a token it does not know) and the network's name.
fn offer(requirement: &v2::PaymentRequirements, networks: &Networks) -> Offer {
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
    let chain_id = network.map(|n| n.chain_id);
    Offer {
        price: format!(
            "{} {symbol}",
            whole_units(&requirement.amount.to_string(), decimals)
        ),
        network: chain_id
            .and_then(chain_name)
            .map_or_else(|| requirement.network.clone(), str::to_owned),
        network_id: chain_id
            .map_or_else(|| requirement.network.clone(), |id| format!("eip155:{id}")),
    }
}

/// `1000` atomic units with 6 decimals is `0.001`.
fn whole_units(atomic: &str, decimals: u8) -> String {
    let decimals = usize::from(decimals);
    if decimals == 0 {
        return atomic.to_owned();
    }
    let padded = format!("{atomic:0>width$}", width = decimals + 1);
    let (whole, fraction) = padded.split_at(padded.len() - decimals);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        whole.to_owned()
    } else {
        format!("{whole}.{fraction}")
    }
}

/// People's names of the chains x402 is used on.
fn chain_name(chain_id: u64) -> Option<&'static str> {
    Some(match chain_id {
        1 => "Ethereum",
        8453 => "Base",
        84532 => "Base Sepolia",
        137 => "Polygon",
        80002 => "Polygon Amoy",
        43114 => "Avalanche",
        43113 => "Avalanche Fuji",
        42161 => "Arbitrum One",
        421614 => "Arbitrum Sepolia",
        _ => return None,
    })
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
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::GatewayConfig;
    use crate::gate::{Decision, Gate};

    const PAY_TO: &str = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";

    fn gate(description: &str) -> Gate {
        let config = json!({
            "routes": [
                {"match": "/", "free": true},
                {"match": "GET /api/*", "price": "$0.001", "description": description,
                 "accepts": [{"network": "base-sepolia", "pay_to": PAY_TO}]},
                {"match": "POST /orders", "price": "$0.01",
                 "accepts": [{"network": "base-sepolia", "pay_to": PAY_TO}]},
            ]
        });
        Gate::new(GatewayConfig::from_json(&config).expect("valid configuration"))
    }

    fn facts<'a>(method: &'a str, path: &'a str, accept: Option<&'a str>) -> RequestFacts<'a> {
        RequestFacts {
            method,
            path,
            origin: "https://edge.example",
            accept,
            ..RequestFacts::default()
        }
    }

    fn answer_of(decision: Decision) -> Answer {
        match decision {
            Decision::Answer { answer, .. } => answer,
            other => panic!("expected an answer, got {other:?}"),
        }
    }

    fn header<'a>(answer: &'a Answer, name: &str) -> Option<&'a str> {
        answer
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    const BROWSER: &str =
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

    #[test]
    fn browsers_get_the_page_and_api_clients_keep_the_json() {
        let gate = gate("Demo data");
        let page = answer_of(gate.decide(&facts("GET", "/api/x", Some(BROWSER)), 0));
        assert_eq!(page.status, 402);
        assert_eq!(
            header(&page, "Content-Type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(header(&page, "Cache-Control"), Some("no-store"));
        assert!(header(&page, "PAYMENT-REQUIRED").is_some());
        assert!(header(&page, "Content-Security-Policy")
            .unwrap()
            .contains("script-src 'self' 'wasm-unsafe-eval'"));
        assert_eq!(page.reason.as_deref(), Some("payment_required"));
        assert!(page.body.starts_with("<!doctype html>"));
        assert!(page.body.contains("<h1>Payment required</h1>"));
        assert!(page.body.contains("0.001 USDC"));
        assert!(page.body.contains("Base Sepolia"));
        assert!(page
            .body
            .contains("<button type=\"button\" id=\"edge402-pay\""));
        assert!(page.body.contains("aria-live=\"polite\""));

        for accept in [
            None,
            Some("application/json"),
            Some("*/*"),
            Some("application/json, text/html;q=0.5"),
            Some("application/json, text/html"),
            Some("text/html;q=0"),
            Some("text/*"),
        ] {
            let json = answer_of(gate.decide(&facts("GET", "/api/x", accept), 0));
            assert_eq!(json.status, 402, "{accept:?}");
            assert_eq!(
                header(&json, "Content-Type"),
                Some("application/json"),
                "{accept:?}"
            );
            assert!(json.body.starts_with('{'), "{accept:?}");
        }
    }

    #[test]
    fn the_page_is_only_for_unpaid_gets_of_paid_routes() {
        let gate = gate("Demo data");
        // A payment header, even a broken one, is answered as the protocol says.
        let paying = RequestFacts {
            payment_signature: Some("not base64"),
            ..facts("GET", "/api/x", Some(BROWSER))
        };
        let refused = answer_of(gate.decide(&paying, 0));
        assert_eq!(
            (refused.status, header(&refused, "Content-Type")),
            (400, Some("application/json"))
        );
        // The page retries with GET: a POST-only route keeps the JSON.
        let post = answer_of(gate.decide(&facts("POST", "/orders", Some(BROWSER)), 0));
        assert_eq!(header(&post, "Content-Type"), Some("application/json"));
        let head = answer_of(gate.decide(&facts("HEAD", "/api/x", Some(BROWSER)), 0));
        assert_eq!(
            header(&head, "Content-Type"),
            Some("text/html; charset=utf-8")
        );
        // Free routes are free for browsers too.
        assert!(matches!(
            gate.decide(&facts("GET", "/", Some(BROWSER)), 0),
            Decision::Free { .. }
        ));
    }

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

    #[test]
    fn every_interpolated_text_is_escaped() {
        let hostile = "</script><script>alert(1)</script>\"'&<b>";
        let gate = gate(hostile);
        let path = "/api/%3Cimg%20src=x%3E";
        let page = answer_of(gate.decide(&facts("GET", path, Some(BROWSER)), 0)).body;
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(!page.contains("<b>"), "{page}");
        assert!(page.contains(
            "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;&lt;b&gt;"
        ));
        // Only the page's own two script elements, each closed once.
        assert_eq!(page.matches("<script").count(), 2, "{page}");
        assert_eq!(page.matches("</script>").count(), 2, "{page}");
        // The embedded JSON reads back as the exact PaymentRequired of the header.
        let start = page
            .find("application/json\" id=\"edge402-payment-required\">")
            .unwrap();
        let json = &page[start..];
        let json = &json[json.find('>').unwrap() + 1..json.find("</script>").unwrap()];
        assert!(!json.contains('<') && !json.contains('>') && !json.contains('&'));
        let embedded: v2::PaymentRequired = serde_json::from_str(json).unwrap();
        assert_eq!(embedded.resource.description.as_deref(), Some(hostile));
        let answer = answer_of(gate.decide(&facts("GET", path, Some(BROWSER)), 0));
        let header: v2::PaymentRequired =
            crate::protocol::decode_header(header(&answer, "PAYMENT-REQUIRED").unwrap()).unwrap();
        assert_eq!(embedded, header);
    }

    #[test]
    fn escaping_helpers() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
        assert_eq!(escape("plain ü"), "plain ü");
        let required = v2::PaymentRequired {
            x402_version: crate::protocol::Version,
            error: None,
            resource: v2::ResourceInfo {
                url: "https://x.example/a?b=<c>&d=\u{2028}".into(),
                description: Some("</SCRIPT><!--".into()),
                mime_type: None,
            },
            accepts: vec![],
            extensions: None,
        };
        let json = script_json(&required);
        assert!(!json.contains('<') && !json.contains('\u{2028}'), "{json}");
        assert!(json.contains("\\u003c/SCRIPT\\u003e\\u003c!--"));
        let back: v2::PaymentRequired = serde_json::from_str(&json).unwrap();
        assert_eq!(back, required);
    }

    #[test]
    fn prices_in_whole_units() {
        assert_eq!(whole_units("1000", 6), "0.001");
        assert_eq!(whole_units("1", 6), "0.000001");
        assert_eq!(whole_units("2500000", 6), "2.5");
        assert_eq!(whole_units("3000000", 6), "3");
        assert_eq!(whole_units("0", 6), "0");
        assert_eq!(whole_units("42", 0), "42");
        assert_eq!(
            whole_units("1000000000000000000", 18),
            "1",
            "18-decimal tokens"
        );
    }
}
