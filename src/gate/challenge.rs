//! A route's x402 challenge: the requirements of both protocol versions, prepared when the
//! gate is built ([`ChallengeTemplate`]); per request only the resource URL is filled in
//! ([`X402Challenge`]), and the `error` when it is rendered.
//!
//! A fixed-price route's template also holds both wire forms already rendered, with holes
//! for the URL and the error ([`Rendered`]): a 402 without per-request extensions is then
//! answered by joining strings and encoding the short tail of the v2 header, without
//! serialising anything (the 402 is what every unpaid request, crawler and agent's first
//! call costs).

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{Map, Value};

use super::extensions::{OfferSigner, OFFER_RECEIPT};
use super::sign_in::SignInChallenge;
use crate::config::{Accept, PaidRoute};
use crate::protocol::{encode_header, v1, v2, Version};
use crate::siwx::SIGN_IN_WITH_X;

/// The parts of a route's challenge that do not depend on the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChallengeTemplate {
    /// The v1 requirements (for networks with a v1 name), without their `resource`.
    v1: Vec<v1::PaymentRequirements>,
    /// The v2 challenge, without its resource URL.
    v2: v2::PaymentRequired,
    /// Both wire forms rendered but for the URL and the error (fixed-price routes).
    rendered: Option<Rendered>,
}

/// A challenge's wire forms rendered once, with holes for the resource URL and the error.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rendered {
    /// The v1 body around its holes: `v1[0]`, the error, `v1[1]`, then for each requirement
    /// the URL and the next part.
    v1: Vec<String>,
    /// base64 of the v2 JSON up to the URL, `{"x402Version":2,"accepts":[…],"resource":{…,
    /// "url":"`, padded with spaces between tokens to a whole number of 3-byte groups so
    /// that the tail's base64 can follow it. The tail is the URL, `"},"error":"`, the error
    /// and `"}`: the members are in another order than the type's, which JSON ignores.
    v2_head: String,
}

/// Stand-ins for the holes while rendering: no JSON escaping touches them, and a route's
/// own text is checked not to contain them.
const URL_HOLE: &str = "@@edge402-url@@";
const ERROR_HOLE: &str = "@@edge402-error@@";

/// A route's x402 challenge for one resource URL. A route that sells over L402 only has one
/// with no requirements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct X402Challenge {
    template: Arc<ChallengeTemplate>,
    /// The resource URL.
    url: String,
    /// The route's extensions for this request's method, built with the gate.
    extensions: Option<Arc<Map<String, Value>>>,
    /// Set when the offers are signed (`offer-receipt`): signed when the challenge is
    /// rendered, so a request that pays costs no signature.
    signed_offers: Option<OfferSigning>,
    /// Set on routes with `access_s`: the `sign-in-with-x` extension, made (with a fresh
    /// nonce) when the challenge is rendered.
    sign_in: Option<SignInChallenge>,
}

/// How a challenge's offers are signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferSigning {
    /// The gateway's key.
    pub signer: OfferSigner,
    /// The time of the request (unix seconds).
    pub now: u64,
    /// How long an offer holds (`None`: its `maxTimeoutSeconds`).
    pub valid_s: Option<u64>,
}

impl ChallengeTemplate {
    /// The template of a route at its configured price (a fixed-price route: a dynamic one's
    /// configured amounts are placeholders, and its offers are made per request), with its
    /// wire forms rendered.
    pub fn new(route: &PaidRoute) -> Self {
        let mut template = Self::with_offers(route, &route.accepts);
        template.rendered = Rendered::of(&template);
        template
    }

    /// The template of a priced route offering `offers` (its ways to pay at a price decided
    /// for one request).
    pub fn with_offers(route: &PaidRoute, offers: &[Accept]) -> Self {
        let resource = v2::ResourceInfo {
            url: String::new(),
            description: Some(route.description.clone()),
            mime_type: Some(route.mime_type.clone()),
        };
        let v1 = offers
            .iter()
            .filter_map(|a| Some(a.requirement.to_v1(a.v1_network.as_deref()?, &resource)))
            .collect();
        let v2 = v2::PaymentRequired {
            x402_version: Version,
            error: None,
            resource,
            accepts: offers.iter().map(|a| a.requirement.clone()).collect(),
            extensions: None,
        };
        Self {
            v1,
            v2,
            rendered: None,
        }
    }

    /// The challenge for the resource at `url` (the template is shared, not copied).
    pub fn for_resource(self: &Arc<Self>, url: &str) -> X402Challenge {
        X402Challenge {
            template: Arc::clone(self),
            url: url.to_owned(),
            extensions: None,
            signed_offers: None,
            sign_in: None,
        }
    }

    /// The v1 requirements with `url` as their resource.
    fn v1_for(&self, url: &str) -> Vec<v1::PaymentRequirements> {
        self.v1
            .iter()
            .map(|r| v1::PaymentRequirements {
                resource: url.to_owned(),
                ..r.clone()
            })
            .collect()
    }
}

impl Rendered {
    /// The rendered forms of `template`; `None` if its text holds a hole's stand-in.
    fn of(template: &ChallengeTemplate) -> Option<Self> {
        let v1 = v1::PaymentRequired {
            x402_version: Version,
            error: ERROR_HOLE.into(),
            accepts: template.v1_for(URL_HOLE),
        };
        let v1_text = serde_json::to_string(&v1).ok()?;
        let (head, rest) = v1_text.split_once(ERROR_HOLE)?;
        let mut v1 = vec![head.to_owned()];
        v1.extend(rest.split(URL_HOLE).map(str::to_owned));
        if v1.len() != template.v1.len() + 2 || v1.iter().any(|part| part.contains(ERROR_HOLE)) {
            return None;
        }
        let resource = &template.v2.resource;
        let mut head = format!(
            "{{\"x402Version\":2,\"accepts\":{},\"resource\":{{",
            serde_json::to_string(&template.v2.accepts).ok()?
        );
        for (name, value) in [
            ("description", &resource.description),
            ("mimeType", &resource.mime_type),
        ] {
            if let Some(value) = value {
                let value = serde_json::to_string(value).ok()?;
                head.push_str(&format!("\"{name}\":{value},"));
            }
        }
        if head.contains(URL_HOLE) || head.contains(ERROR_HOLE) {
            return None;
        }
        let url_key = "\"url\":\"";
        let padding = (3 - (head.len() + url_key.len()) % 3) % 3;
        head.push_str(&" ".repeat(padding));
        head.push_str(url_key);
        Some(Self {
            v1,
            v2_head: STANDARD.encode(head),
        })
    }

    /// The `PAYMENT-REQUIRED` value and the v1 body for `url` and `error`.
    fn fill(&self, url: &str, error: &str) -> (String, String) {
        let (url, error) = (json_string_contents(url), json_string_contents(error));
        let tail = format!("{url}\"}},\"error\":\"{error}\"}}");
        let header = format!("{}{}", self.v2_head, STANDARD.encode(tail));
        let mut body = String::with_capacity(self.v1.iter().map(String::len).sum::<usize>() + 128);
        body.push_str(&self.v1[0]);
        body.push_str(&error);
        body.push_str(&self.v1[1]);
        for part in &self.v1[2..] {
            body.push_str(&url);
            body.push_str(part);
        }
        (header, body)
    }
}

/// `text` as the inside of a JSON string (escaped, without the quotes).
fn json_string_contents(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap_or_default();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or_default()
        .to_owned()
}

impl X402Challenge {
    /// The resource URL it is for.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The resource it is for, as v2 describes it.
    pub fn resource(&self) -> v2::ResourceInfo {
        v2::ResourceInfo {
            url: self.url.clone(),
            ..self.template.v2.resource.clone()
        }
    }

    /// Whether it offers any x402 requirement (a route may sell over L402 only).
    pub fn offers_x402(&self) -> bool {
        !self.template.v2.accepts.is_empty()
    }

    /// The v1 JSON body, with `error`.
    pub fn v1_body(&self, error: &str) -> v1::PaymentRequired {
        v1::PaymentRequired {
            x402_version: Version,
            error: error.to_owned(),
            accepts: self.template.v1_for(&self.url),
        }
    }

    /// The `PAYMENT-REQUIRED` header's value and the v1 JSON body, with `error`: filled into
    /// the route's rendered forms when nothing is added per request, serialised otherwise.
    pub fn render(&self, error: &str) -> (String, String) {
        match &self.template.rendered {
            Some(rendered)
                if self.extensions.is_none()
                    && self.signed_offers.is_none()
                    && self.sign_in.is_none() =>
            {
                rendered.fill(&self.url, error)
            }
            _ => {
                let header = encode_header(&self.v2_required(error));
                // The wire types serialise infallibly (see `encode_header`).
                let body = serde_json::to_string(&self.v1_body(error)).unwrap_or_default();
                (header, body)
            }
        }
    }

    /// This challenge with the route's extensions for the request (see
    /// [`super::extensions::RouteExtensions`]), and its offers signed when rendered if
    /// `signing` says so.
    pub fn with_extensions(
        mut self,
        extensions: Option<Arc<Map<String, Value>>>,
        signing: Option<OfferSigning>,
    ) -> Self {
        self.extensions = extensions;
        self.signed_offers = signing;
        self
    }

    /// This challenge offering to sign in instead of paying (a route with `access_s`).
    pub fn with_sign_in(mut self, sign_in: SignInChallenge) -> Self {
        self.sign_in = Some(sign_in);
        self
    }

    /// The v2 `PaymentRequired` (the `PAYMENT-REQUIRED` header), with `error`, its
    /// extensions, and its offers signed if they are to be.
    pub fn v2_required(&self, error: &str) -> v2::PaymentRequired {
        let mut required = v2::PaymentRequired {
            error: Some(error.to_owned()),
            resource: self.resource(),
            ..self.template.v2.clone()
        };
        let mut extensions = self.extensions.as_deref().cloned().unwrap_or_default();
        if let Some(signing) = self.signed_offers.as_ref().filter(|_| self.offers_x402()) {
            let offers = signing.signer.offers(
                &required.accepts,
                &required.resource.url,
                signing.now,
                signing.valid_s,
            );
            extensions.insert(OFFER_RECEIPT.into(), offers);
        }
        if let Some(extension) = self.sign_in.as_ref().and_then(SignInChallenge::extension) {
            extensions.insert(SIGN_IN_WITH_X.into(), extension);
        }
        if !extensions.is_empty() {
            required.extensions = Some(Value::Object(extensions));
        }
        required
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use serde_json::json;

    use super::*;
    use crate::config::{Access, GatewayConfig};
    use crate::protocol::decode_header;

    fn route(description: &str) -> PaidRoute {
        let config = json!({"routes": [{
        "match": "GET /api/*", "price": "$0.001", "description": description,
        "accepts": [
            {"network": "base-sepolia", "pay_to": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C"},
            {"network": "eip155:42161", "pay_to": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C"},
            {"network": "base", "pay_to": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C"}
        ]}]});
        match GatewayConfig::from_json(&config)
            .unwrap()
            .routes
            .remove(0)
            .access
        {
            Access::Paid(paid) => paid,
            Access::Free => unreachable!(),
        }
    }

    #[test]
    fn a_rendered_challenge_reads_as_the_serialised_one() {
        for description in ["", "weather \"today\" \\ 天気", "x".repeat(7).as_str()] {
            let template = Arc::new(ChallengeTemplate::new(&route(description)));
            assert!(template.rendered.is_some());
            for url in [
                "https://edge.example/api/a",
                "https://edge.example/api/%22quoted%22",
                "http://127.0.0.1:8787/api/天",
            ] {
                let challenge = template.for_resource(url);
                for error in ["payment_required", "a \"quoted\" \\ reason"] {
                    let (header, body) = challenge.render(error);
                    let v2: v2::PaymentRequired = decode_header(&header).unwrap();
                    assert_eq!(
                        v2,
                        challenge.v2_required(error),
                        "{description:?} {url} {error}"
                    );
                    let v1: v1::PaymentRequired = serde_json::from_str(&body).unwrap();
                    assert_eq!(v1, challenge.v1_body(error));
                    assert_eq!(v1.accepts.len(), 2, "arbitrum has no v1 name");
                }
            }
        }
    }

    #[test]
    fn text_holding_a_hole_is_serialised_instead() {
        let template = ChallengeTemplate::new(&route(URL_HOLE));
        assert!(template.rendered.is_none());
        let challenge = Arc::new(template).for_resource("https://edge.example/api/a");
        let (header, _) = challenge.render("payment_required");
        let v2: v2::PaymentRequired = decode_header(&header).unwrap();
        assert_eq!(v2.resource.description.as_deref(), Some(URL_HOLE));
    }
}
