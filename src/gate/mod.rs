//! The gateway's decisions, without I/O: what a request is ([`Gate::decide`]), and how a
//! paid request ends ([`flow::handle`], generic over the facilitator, receipt store and
//! origin, which the Worker shell implements with `Fetch` and KV and tests with fakes).
//!
//! A [`Gate`] is built once from a configuration and its secrets; everything a request needs
//! (typed offers, prepared challenges, the L402 root secret) is ready then, so nothing in the
//! request path parses configuration or can fail because of it. Answers without content are
//! [`Refusal`]s, mapped to HTTP in one place ([`Refusal::disposition`], rendered by
//! [`http`]).

pub mod access;
pub mod challenge;
pub mod clients;
pub mod coordinator;
pub mod crawl;
pub mod dynamic_price;
pub mod expiring;
pub mod extensions;
pub mod flow;
pub mod forward;
pub mod http;
pub mod l402;
pub mod ledger;
pub mod limits;
pub mod mcp;
pub mod presentation;
pub mod quote;
pub mod receipt;
pub mod refusal;
pub mod remote;
pub mod settlement;
pub mod sign_in;

use std::borrow::Cow;
use std::sync::Arc;

use crate::config::{
    Accept, Access, ConfigError, GatewayConfig, MethodOverride, PaidRoute, RoutePrice, SettleOrder,
};
use crate::evm::{Address, Bytes32, SignatureKind};
use crate::l402::RootKeySecret;
use crate::protocol::facilitator::{FacilitatorRequest, SettleResponse};
use crate::protocol::{HeaderError, PaymentPayload, PaymentRequirements};
use crate::routes::{is_safe_method, price_class, CanonicalPath};
use crate::verify::{verify_resolved, SignatureCheck, VerifyError};
pub use challenge::{ChallengeTemplate, X402Challenge};
pub use dynamic_price::{DynamicPrice, PriceAsk};
use extensions::{OfferSigner, OFFER_RECEIPT, OFFER_RECEIPT_KEY};
pub use http::Answer;
use ledger::PaymentRecord;
pub use presentation::Presentation;
use quote::{QuoteError, QuoteKey, QUOTE_FIELD, QUOTE_SECRET};
use receipt::{receipt_key, Receipt, RECEIPT_FORMAT};
pub use refusal::{Disposition, LogOutcome, Next, Refusal, SmartWalletRefusal};
pub use settlement::Settlement;

/// What the shell knows about a request, as plain values.
#[derive(Clone, Debug, Default)]
pub struct RequestFacts<'a> {
    /// The method, as sent.
    pub method: &'a str,
    /// The URL's path, as received (not yet canonical).
    pub path: &'a str,
    /// The URL's query, without `?`.
    pub query: Option<&'a str>,
    /// `scheme://host[:port]` of the request URL: what resource URLs start with.
    pub base_url: &'a str,
    /// `PAYMENT-SIGNATURE` (v2).
    pub payment_signature: Option<&'a str>,
    /// `X-PAYMENT` (v1).
    pub x_payment: Option<&'a str>,
    /// An `OPTIONS` request with `Access-Control-Request-Method`: a CORS preflight.
    pub preflight: bool,
    /// `Authorization`, for L402 credentials.
    pub authorization: Option<&'a str>,
    /// The client's address (`CF-Connecting-IP`), for the invoice rate limit.
    pub client: Option<&'a str>,
    /// `Accept`: a browser asking for HTML gets the paywall page.
    pub accept: Option<&'a str>,
    /// The first method-override header the request carries ([`METHOD_OVERRIDE_HEADERS`]),
    /// if any.
    pub method_override: Option<&'static str>,
    /// `SIGN-IN-WITH-X`: a wallet that paid signs in instead of paying again.
    pub sign_in: Option<&'a str>,
    /// The body, once read: only a route that prices by body (`mcp`) asks for it
    /// ([`Decision::ReadBody`]).
    pub body: Option<&'a [u8]>,
    /// Who is asking, once found out: only a route that prices by client (`clients`) asks
    /// ([`Decision::IdentifyClient`]).
    pub identified: Option<&'a clients::ClientEvidence>,
    /// `Content-Type` and `Content-Encoding`: how a body that is read is to be read.
    pub content_type: Option<&'a str>,
    /// See [`RequestFacts::content_type`].
    pub content_encoding: Option<&'a str>,
}

impl RequestFacts<'_> {
    /// The payment header: `PAYMENT-SIGNATURE` (v2), else `X-PAYMENT` (v1).
    pub fn payment_header(&self) -> Option<&str> {
        self.payment_signature.or(self.x_payment)
    }
}

/// The request headers the gate reads, taken once from all of a request's headers (names in
/// any case), as every shell hands them over.
#[derive(Clone, Debug, Default)]
pub struct RequestHeaders {
    payment_signature: Option<String>,
    x_payment: Option<String>,
    authorization: Option<String>,
    client: Option<String>,
    accept: Option<String>,
    cors_request_method: bool,
    method_override: Option<&'static str>,
    sign_in: Option<String>,
    content_type: Option<String>,
    content_encoding: Option<String>,
}

impl RequestHeaders {
    /// Reads `(name, value)` pairs; the first of a name counts.
    pub fn read<N: AsRef<str>, V: AsRef<str>>(headers: impl IntoIterator<Item = (N, V)>) -> Self {
        let mut read = Self::default();
        for (name, value) in headers {
            let (name, value) = (name.as_ref(), value.as_ref());
            let slot = match () {
                _ if name.eq_ignore_ascii_case(crate::protocol::PAYMENT_SIGNATURE) => {
                    &mut read.payment_signature
                }
                _ if name.eq_ignore_ascii_case(crate::protocol::X_PAYMENT) => &mut read.x_payment,
                _ if name.eq_ignore_ascii_case("authorization") => &mut read.authorization,
                _ if name.eq_ignore_ascii_case("cf-connecting-ip") => &mut read.client,
                _ if name.eq_ignore_ascii_case("accept") => &mut read.accept,
                _ if name.eq_ignore_ascii_case(crate::siwx::SIGN_IN_WITH_X_HEADER) => {
                    &mut read.sign_in
                }
                _ if name.eq_ignore_ascii_case("content-type") => &mut read.content_type,
                _ if name.eq_ignore_ascii_case("content-encoding") => &mut read.content_encoding,
                _ => {
                    read.cors_request_method |=
                        name.eq_ignore_ascii_case("access-control-request-method");
                    let found = METHOD_OVERRIDE_HEADERS
                        .into_iter()
                        .find(|known| forward::same_header_name(name, known));
                    read.method_override = read.method_override.or(found);
                    continue;
                }
            };
            slot.get_or_insert_with(|| value.to_owned());
        }
        read
    }

    /// The facts of a request with these headers, its `method` and its URL's parts.
    pub fn facts<'a>(
        &'a self,
        method: &'a str,
        url: &crate::routes::UrlParts<'a>,
    ) -> RequestFacts<'a> {
        RequestFacts {
            method,
            path: url.path,
            query: url.query,
            base_url: url.origin,
            payment_signature: self.payment_signature.as_deref(),
            x_payment: self.x_payment.as_deref(),
            preflight: method.eq_ignore_ascii_case("OPTIONS") && self.cors_request_method,
            authorization: self.authorization.as_deref(),
            client: self.client.as_deref(),
            accept: self.accept.as_deref(),
            method_override: self.method_override,
            sign_in: self.sign_in.as_deref(),
            body: None,
            identified: None,
            content_type: self.content_type.as_deref(),
            content_encoding: self.content_encoding.as_deref(),
        }
    }
}

/// Headers that make some origin frameworks (Express `method-override`, Symfony, ASP.NET) run
/// a request as another method than the one sent. The proxy never forwards them; with
/// `origin.method_override = "refuse"` a request carrying one is refused.
pub const METHOD_OVERRIDE_HEADERS: [&str; 3] = [
    "X-HTTP-Method-Override",
    "X-HTTP-Method",
    "X-Method-Override",
];

/// Headers that make some origins (IIS URL Rewrite, older Symfony and Zend) serve another
/// path than the request line's, which the gateway priced. The proxy never forwards them.
pub const PATH_OVERRIDE_HEADERS: [&str; 2] = ["X-Original-URL", "X-Rewrite-URL"];

/// The secrets a gate needs, read by the shell (`wrangler secret`), never configuration.
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    /// `L402_ROOT_SECRET`: every L402 token's root key is derived from it. Required when a
    /// route sells over L402.
    pub l402_root: Option<RootKeySecret>,
    /// `QUOTE_SECRET`: signs the prices quoted by routes priced per request. Required when a
    /// route's price is `"dynamic"`.
    pub quote_key: Option<QuoteKey>,
    /// `OFFER_RECEIPT_KEY`: signs offers and receipts. Required with `offer_receipt`.
    pub offer_signer: Option<OfferSigner>,
}

/// The name of the L402 root-key secret, for configuration errors.
pub const L402_ROOT_SECRET: &str = "L402_ROOT_SECRET";

/// What to do with a request.
#[derive(Clone, Debug)]
pub enum Decision {
    /// A CORS preflight on a priced path: answer it, never charge. (Preflights elsewhere are
    /// the origin's, [`Decision::Free`].)
    Preflight,
    /// Not priced: forward the canonical path to the origin.
    Free {
        /// Canonical path and query for the origin.
        target: String,
    },
    /// Priced, but free for this request (a kind of client the route's `clients` lets in
    /// free, a per-request price of nothing): forward the canonical path to the origin, and
    /// keep the answer from shared caches, which would hand it to clients who pay.
    Waived {
        /// Canonical path and query for the origin.
        target: String,
    },
    /// Answer without calling anything: a challenge or a refusal.
    Refuse(Box<Refused>),
    /// A payment that passed local verification (or failed only its time window, which a
    /// receipt can still cover).
    Pay(Box<PaymentPlan>),
    /// A 402 that needs an L402 invoice first.
    L402Invoice(Box<l402::L402Invoice>),
    /// A verified L402 credential: serve unless revoked or over its budget.
    L402Access(Box<l402::L402Access>),
    /// A route priced per request: ask its pricing service, then decide again with the
    /// answer ([`Gate::decide_priced`]).
    Price(Box<PriceAsk>),
    /// `GET` of the discovery document ([`extensions::DISCOVERY_PATH`]), when configured.
    Discovery(Box<serde_json::Value>),
    /// A wallet's sign-in that passed the gate's checks: spend its nonce, serve if a payment
    /// of the wallet gives access now.
    SignIn(Box<sign_in::SignInPlan>),
    /// A request an MCP route prices by what it says: read its body (at most
    /// [`mcp::MAX_REQUEST_BYTES`]), then decide again with it.
    ReadBody,
    /// An MCP `tools/list`: forward it, and annotate the answer with the tools' prices.
    ToolList(Box<mcp::ToolList>),
    /// A request on a route that prices by client (`clients`): find out who is asking
    /// ([`clients::identify`]), then decide again with it.
    IdentifyClient(Box<clients::IdentifyAsk>),
}

/// An answer without content, with what its transport needs to render it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// Why.
    pub refusal: Refusal,
    /// The route pattern, when one matched (for the log).
    pub route: Option<String>,
    /// The route's x402 challenge, attached when the client may pay (see [`Next::Pay`]).
    pub challenge: Option<X402Challenge>,
    /// `WWW-Authenticate` values of an L402 challenge.
    pub l402: Vec<String>,
    /// The failed settlement's answer, passed on.
    pub settlement: Option<Settlement>,
    /// How a challenge is shown.
    pub presentation: Presentation,
    /// The price stated to a crawler (`crawler-price`), with the challenge.
    pub crawler_price: Option<crawl::CrawlerPrice>,
}

impl Refused {
    /// A refusal with nothing attached.
    pub fn bare(refusal: Refusal, route: Option<String>) -> Self {
        Self {
            refusal,
            route,
            challenge: None,
            l402: Vec::new(),
            settlement: None,
            presentation: Presentation::Protocol,
            crawler_price: None,
        }
    }

    /// A refusal with the route's x402 challenge (the client may pay).
    pub fn with_challenge(refusal: Refusal, route: &str, challenge: &X402Challenge) -> Self {
        Self {
            challenge: Some(challenge.clone()),
            ..Self::bare(refusal, Some(route.to_owned()))
        }
    }
}

/// A paid request that passed the local checks: what the flow needs to settle it.
#[derive(Clone, Debug)]
pub struct PaymentPlan {
    /// The route pattern.
    pub route: String,
    /// `METHOD /canonical/path?query`, what receipts are bound to.
    pub resource: String,
    /// sha256 of the exact payment (`payload` as JSON): a receipt serves only the payment it
    /// was written for, not another one claiming the same payer and nonce.
    pub payment_digest: String,
    /// When a receipt may serve this request again.
    pub replay: Replay,
    /// Canonical path and query for the origin.
    pub target: String,
    /// The payment as the client sent it.
    pub payment: PaymentPayload,
    /// Our requirement it matched, in the payment's version shape (for the facilitator).
    pub requirements: PaymentRequirements,
    /// The CAIP-2 network of the requirement.
    pub network: String,
    /// The chain of the requirement.
    pub chain_id: u64,
    /// The token.
    pub asset: Address,
    /// The payer.
    pub payer: Address,
    /// The EIP-3009 nonce.
    pub nonce: Bytes32,
    /// The amount.
    pub amount: crate::amount::Uint256,
    /// The recipient it pays (the route's, checked).
    pub pay_to: Address,
    /// `validBefore` of the authorisation, unix seconds (clamped to u64).
    pub valid_before: u64,
    /// The payment's signature bytes (what binds an on-chain transfer to this payment).
    pub signature: Vec<u8>,
    /// Where the receipt of this payment lives.
    pub receipt_key: String,
    /// `Some` when the payment cannot be settled now but may have been before (outside its
    /// time window; a dynamic route's expired quote or earlier price): only a receipt, or
    /// the coordinator's settled state, can serve it, and this is the answer otherwise.
    pub receipt_only: Option<Refusal>,
    /// A smart-wallet signature: the facilitator's `/verify` must accept it first.
    pub needs_facilitator_verify: bool,
    /// A smart-wallet signature in an ERC-6492 wrapper (its wallet may not be deployed yet).
    pub erc6492: bool,
    /// The client's bucket ([`limits::client_bucket`]), for its smart-wallet allowance.
    pub client: String,
    /// When to settle relative to the origin.
    pub order: SettleOrder,
    /// The challenge to answer with when settlement fails.
    pub challenge: X402Challenge,
    /// Signs the receipt of a settled payment (`offer_receipt`).
    pub receipt_signer: Option<OfferSigner>,
    /// The payment's `payment-identifier` (with `payment_identifier` configured): every
    /// payment under it by the same payer for the same resource settles at most once.
    pub payment_id: Option<String>,
    /// The access the payment gives its payer once settled (a route with `access_s`).
    pub access: Option<sign_in::PlannedAccess>,
    /// The MCP tool call it pays for (a route with `mcp`).
    pub mcp: Option<Box<mcp::McpCall>>,
    /// What a crawler is told it was charged once the payment settles (`crawler-charged`).
    pub crawler_charge: Option<crawl::CrawlerPrice>,
}

/// When a receipt serves the same payment for the same resource again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replay {
    /// Always: the safe methods, whose repeat has no side effect.
    Always,
    /// Only when the request that settled it was not answered with the content (the chain
    /// proved the settlement later): an MCP tool call, which runs again when served again.
    IfUnanswered,
    /// Never: other methods (a body may differ between two requests with one payment).
    Never,
}

/// The gateway's decision logic over one configuration, built once.
#[derive(Clone, Debug)]
pub struct Gate {
    config: GatewayConfig,
    /// How each priced route offers x402 (`None` for free routes), by route index.
    offerings: Vec<Option<Offering>>,
    /// What each route sells over L402, with the root secret, by route index.
    l402: Vec<Option<l402::L402Seller>>,
    /// The key of signed offers and receipts, with `offer_receipt`.
    offer_signer: Option<OfferSigner>,
    /// Each route's extensions of its 402 that do not change per request, by route index.
    extensions: Vec<extensions::RouteExtensions>,
    /// What each route with `access_s` offers for signing in, by route index.
    sign_in: Vec<Option<sign_in::RouteSignIn>>,
    /// How each route with `mcp` offers its tools, by route index.
    mcp: Vec<Option<mcp::McpOffering>>,
    /// What each route with `clients` offers each kind of client, by route index.
    clients: Vec<Option<clients::RouteClientTerms>>,
}

impl Gate {
    /// A gate over a validated configuration and its secrets. Fails when a secret the
    /// configuration needs is missing.
    pub fn new(config: GatewayConfig, secrets: Secrets) -> Result<Self, ConfigError> {
        let offerings = config
            .routes
            .iter()
            .map(|route| match &route.access {
                Access::Paid(paid) if paid.price == RoutePrice::Dynamic => {
                    let key = secrets.quote_key.clone().ok_or_else(|| ConfigError {
                        key: QUOTE_SECRET.into(),
                        problem:
                            "is not set (routes with price \"dynamic\" sign their quotes with it)"
                                .into(),
                    })?;
                    Ok(Some(Offering::Dynamic(key)))
                }
                Access::Paid(paid) => Ok(Some(Offering::Fixed(Arc::new(ChallengeTemplate::new(
                    paid,
                ))))),
                Access::Free => Ok(None),
            })
            .collect::<Result<_, ConfigError>>()?;
        let l402 = config
            .routes
            .iter()
            .map(|route| {
                let Access::Paid(PaidRoute {
                    l402: Some(offer), ..
                }) = &route.access
                else {
                    return Ok(None);
                };
                let root = secrets.l402_root.clone().ok_or_else(|| ConfigError {
                    key: L402_ROOT_SECRET.into(),
                    problem: "is not set (routes with `l402` need it)".into(),
                })?;
                // Routes with `l402` require `lightning`: the configuration check says so.
                let (per_client, per_route) = config.lightning.as_ref().map_or((0, 0), |ln| {
                    (ln.invoices_per_minute, ln.invoices_per_route_per_minute)
                });
                Ok(Some(l402::L402Seller {
                    offer: offer.clone(),
                    root,
                    invoices_per_client: per_client,
                    invoices_per_route: per_route,
                }))
            })
            .collect::<Result<_, ConfigError>>()?;
        let offer_signer = match config.offer_receipt {
            None => None,
            Some(_) => Some(secrets.offer_signer.clone().ok_or_else(|| ConfigError {
                key: OFFER_RECEIPT_KEY.into(),
                problem: "is not set (`offer_receipt` signs offers and receipts with it)".into(),
            })?),
        };
        let extensions = config
            .routes
            .iter()
            .map(|route| match &route.access {
                Access::Paid(paid) => {
                    extensions::RouteExtensions::new(&config, paid, &route.matcher)
                }
                Access::Free => extensions::RouteExtensions::default(),
            })
            .collect();
        let sign_in = config
            .routes
            .iter()
            .map(|route| match (&route.access, &config.sign_in_with_x) {
                (Access::Paid(paid), Some(sign_in)) => sign_in::RouteSignIn::new(sign_in, paid),
                _ => None,
            })
            .collect();
        let mcp = config
            .routes
            .iter()
            .map(|route| match &route.access {
                Access::Paid(paid) => paid
                    .mcp
                    .as_ref()
                    .map(|mcp| mcp::McpOffering::new(paid, mcp, secrets.quote_key.as_ref()))
                    .transpose(),
                Access::Free => Ok(None),
            })
            .collect::<Result<_, ConfigError>>()?;
        let clients = config
            .routes
            .iter()
            .map(|route| match &route.access {
                Access::Paid(paid) => paid
                    .clients
                    .as_deref()
                    .map(|clients| clients::RouteClientTerms::new(paid, clients)),
                Access::Free => None,
            })
            .collect();
        Ok(Self {
            config,
            offerings,
            l402,
            offer_signer,
            extensions,
            sign_in,
            mcp,
            clients,
        })
    }

    /// A gate from a configuration document, for callers holding JSON (and tests).
    pub fn from_json(config: &serde_json::Value, secrets: Secrets) -> Result<Self, ConfigError> {
        Self::new(GatewayConfig::from_json(config)?, secrets)
    }

    /// The configuration.
    pub fn config(&self) -> &GatewayConfig {
        &self.config
    }

    /// Decides what a request is, at unix time `now`. A route priced per request answers
    /// [`Decision::Price`] unless the payment holds a quote of ours.
    pub fn decide(&self, request: &RequestFacts<'_>, now: u64) -> Decision {
        self.decide_priced(request, now, None)
    }

    /// [`Gate::decide`], with the price its pricing service gave for this request.
    pub fn decide_priced(
        &self,
        request: &RequestFacts<'_>,
        now: u64,
        price: Option<&DynamicPrice>,
    ) -> Decision {
        if let (Some(header), Some(origin)) = (request.method_override, &self.config.origin) {
            if origin.method_override == MethodOverride::Refuse {
                return refuse(Refused::bare(Refusal::MethodOverride { header }, None));
            }
        }
        let path = match CanonicalPath::parse(request.path) {
            Ok(path) => path,
            Err(e) => return refuse(Refused::bare(Refusal::InvalidPath(e), None)),
        };
        if path.as_str() == extensions::DISCOVERY_PATH && matches!(request.method, "GET" | "HEAD") {
            if let Some(document) = self.discovery_document(request.base_url) {
                return Decision::Discovery(Box::new(document));
            }
        }
        let target = match request.query {
            Some(query) => format!("{path}?{query}"),
            None => path.to_string(),
        };
        let case_sensitive = self.config.case_sensitive_paths;
        let on_path: Vec<(usize, &crate::config::Route)> = self
            .config
            .routes
            .iter()
            .enumerate()
            .filter(|(_, r)| r.matcher.pattern.matches(&path, case_sensitive))
            .collect();
        if request.preflight {
            // The gateway answers preflights only where it sets the terms (its payment
            // headers must be allowed there); elsewhere the origin keeps its own CORS policy.
            let priced = on_path
                .iter()
                .any(|(_, r)| matches!(r.access, Access::Paid(_)));
            return if priced {
                Decision::Preflight
            } else {
                Decision::Free { target }
            };
        }
        let Some(&(index, route)) = on_path
            .iter()
            .find(|(_, r)| r.matcher.covers_method(request.method))
        else {
            if on_path.is_empty() {
                return Decision::Free { target };
            }
            // The path is configured, but not for this method: fail closed.
            let allowed = on_path
                .iter()
                .flat_map(|(_, r)| r.matcher.methods.iter().cloned())
                .collect();
            let pattern = on_path[0].1.matcher.pattern.to_string();
            return refuse(Refused::bare(
                Refusal::MethodNotAllowed { allowed },
                Some(pattern),
            ));
        };
        let pattern = route.matcher.pattern.to_string();
        let (Access::Paid(paid), Some(offering)) = (&route.access, &self.offerings[index]) else {
            return Decision::Free { target };
        };
        let at = RouteAt {
            index,
            paid,
            pattern,
            path: &path,
            target,
        };
        if let Some(offering) = &self.mcp[index] {
            return self.decide_mcp(request, at, offering, now, price);
        }
        let client = match &self.clients[index] {
            Some(terms) => {
                let web_bot_auth = &self.config.web_bot_auth;
                match terms.terms_for(request, web_bot_auth, &at.pattern, &at.target) {
                    Ok(client) => Some(client),
                    Err(decision) => return decision,
                }
            }
            None => None,
        };
        let method = price_class(request.method).to_ascii_uppercase();
        let url = format!("{}{}", request.base_url, path);
        let payment = request.payment_header().map(PaymentPayload::from_header);
        let RouteAt {
            pattern, target, ..
        } = &at;
        let mut offered = match (client.as_ref().and_then(|c| c.priced), offering) {
            (Some((accepts, template)), _) => Offered {
                offers: Cow::Borrowed(accepts),
                challenge: template.for_resource(&url),
                receipt_only: None,
                dynamic: false,
                refusal: None,
            },
            (None, Offering::Fixed(template)) => Offered {
                offers: Cow::Borrowed(&paid.accepts[..]),
                challenge: template.for_resource(&url),
                receipt_only: None,
                dynamic: false,
                refusal: None,
            },
            (None, Offering::Dynamic(key)) => {
                // Bound to the gateway's own URL too: another deployment under the same
                // secret does not take this one's quotes.
                let quoted_resource = format!(
                    "{method} {url}{}",
                    request.query.map(|q| format!("?{q}")).unwrap_or_default()
                );
                let asked = DynamicRequest {
                    paid,
                    key,
                    resource: &quoted_resource,
                    url: &url,
                    pattern,
                };
                // HEAD is priced as GET, as everywhere else.
                let ask = PriceAsk {
                    route: route.matcher.to_string(),
                    method,
                    path: path.to_string(),
                    query: request.query.map(str::to_owned),
                    tool: None,
                };
                match self.offered_dynamically(&asked, payment.as_ref(), price, now, ask, target) {
                    Ok(offered) => offered,
                    Err(decision) => return decision,
                }
            }
        };
        let Some(client) = client else {
            return self.decide_payment(request, &at, offered, payment, now);
        };
        // Pay-per-crawl's terms, in dollars, for bots and agents.
        let networks = &self.config.networks;
        let crawler_price = client
            .kind
            .crawls()
            .then(|| crawl::CrawlerPrice::of_offers(&offered.offers, networks))
            .flatten();
        offered.refusal = client.price_refusal(crawler_price);
        match (
            self.decide_payment(request, &at, offered, payment, now),
            crawler_price,
        ) {
            (Decision::Refuse(mut refused), Some(price)) => {
                refused.crawler_price = Some(price);
                Decision::Refuse(refused)
            }
            (Decision::Pay(mut plan), Some(price)) => {
                plan.crawler_charge = Some(price);
                Decision::Pay(plan)
            }
            (decision, _) => decision,
        }
    }

    /// Decides a request on a priced route that was made `offered`, carrying `payment` (or
    /// none): a challenge, a sign-in, an L402 credential or invoice, a refusal, or a payment
    /// that passed the local checks.
    fn decide_payment(
        &self,
        request: &RequestFacts<'_>,
        at: &RouteAt<'_>,
        offered: Offered<'_>,
        payment: Option<Result<PaymentPayload, HeaderError>>,
        now: u64,
    ) -> Decision {
        let &RouteAt {
            index,
            paid,
            ref pattern,
            path,
            ref target,
        } = at;
        let pattern = pattern.clone();
        let Offered {
            offers,
            challenge,
            mut receipt_only,
            dynamic,
            refusal,
        } = offered;
        let method = price_class(request.method).to_ascii_uppercase();
        let signing = self
            .offer_signer
            .as_ref()
            .zip(self.config.offer_receipt)
            .map(|(signer, config)| challenge::OfferSigning {
                signer: signer.clone(),
                now,
                valid_s: config.offer_valid_s,
            });
        let mut challenge =
            challenge.with_extensions(self.extensions[index].for_method(request.method), signing);
        if let Some(refusal) = refusal {
            return refuse(Refused::with_challenge(refusal, &pattern, &challenge));
        }
        let route_sign_in = self.sign_in[index].as_ref();
        if let (Some(route), Some(config)) = (route_sign_in, &self.config.sign_in_with_x) {
            challenge = challenge.with_sign_in(sign_in::SignInChallenge {
                offer: route.offer.clone(),
                uri: sign_in::sign_in_uri(config, path.as_str()),
                now,
            });
            if let (Some(header), None) = (request.sign_in, &payment) {
                return self.decide_sign_in(
                    request,
                    path.as_str(),
                    header,
                    route,
                    &challenge,
                    &pattern,
                    target,
                    now,
                );
            }
        }
        if let Some(seller) = &self.l402[index] {
            if let Some(decision) =
                self.decide_l402(request, seller, &challenge, &pattern, target, now)
            {
                return decision;
            }
        }
        let Some(payment) = payment else {
            let mut refused =
                Refused::with_challenge(Refusal::PaymentRequired, &pattern, &challenge);
            if presentation::wants_page(request) && paid.sells_x402() {
                refused.presentation = Presentation::Page;
            }
            return refuse(refused);
        };
        let payment = match payment {
            Ok(payment) => payment,
            Err(error @ HeaderError::UnsupportedVersion { .. }) => {
                return refuse(Refused::with_challenge(
                    Refusal::UnsupportedVersion(error),
                    &pattern,
                    &challenge,
                ))
            }
            Err(error) => {
                return refuse(Refused::with_challenge(
                    Refusal::MalformedPayment(error),
                    &pattern,
                    &challenge,
                ))
            }
        };
        if let PaymentPayload::V2(v2) = &payment {
            // The URL offered, or it with a query (some clients name the URL they asked
            // for); a payment that names no resource is bound to the request's by its receipt.
            let offered = challenge.url();
            if let Some(paid_for) = v2.resource.as_ref().map(|r| &r.url) {
                let same = paid_for
                    .strip_prefix(offered)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('?'));
                if !same {
                    let refusal = Refusal::ResourceMismatch {
                        paid_for: paid_for.clone(),
                    };
                    return refuse(Refused::with_challenge(refusal, &pattern, &challenge));
                }
            }
        }
        let payment_id = match (&payment, &self.config.payment_identifier) {
            (PaymentPayload::V2(v2), Some(config)) => {
                match extensions::payment_id_of(v2.extensions.as_ref()) {
                    Ok(None) if config.required => {
                        let refusal = Refusal::PaymentIdentifierRequired;
                        return refuse(Refused::with_challenge(refusal, &pattern, &challenge));
                    }
                    Ok(id) => id,
                    Err(detail) => {
                        let refusal = Refusal::InvalidPaymentIdentifier { detail };
                        return refuse(Refused::with_challenge(refusal, &pattern, &challenge));
                    }
                }
            }
            _ => None,
        };
        let networks = &self.config.networks;
        let mut offers = offers;
        let verified = match verify_resolved(&payment, &offers, networks, now) {
            // A v1 payment at a dynamic route's earlier price (it carries no quote): only the
            // receipt of its settlement then can serve it.
            Err(error @ VerifyError::ValueMismatch { got, .. })
                if dynamic && payment.version() == 1 =>
            {
                let at_its_amount: Vec<Accept> = offers.iter().map(|a| a.at_amount(got)).collect();
                let verified = verify_resolved(&payment, &at_its_amount, networks, now);
                if verified.is_ok() {
                    receipt_only = Some(Refusal::PaymentInvalid(error.clone()));
                    offers = Cow::Owned(at_its_amount);
                }
                verified.map_err(|_| error)
            }
            Err(error @ (VerifyError::Expired { .. } | VerifyError::NotYetValid { .. })) => {
                // Signature, recipient and network passed (they are checked first); only a
                // receipt of an earlier settlement can still serve this payment.
                let verified =
                    verify_resolved(&payment, &offers, networks, time_inside_window(&error));
                if verified.is_ok() {
                    // Its time window is the first reason it cannot be settled.
                    receipt_only = Some(Refusal::PaymentInvalid(error.clone()));
                }
                // Failing something else too: the time window is still the first failure.
                verified.map_err(|_| error)
            }
            other => other,
        };
        let verified = match verified {
            Ok(verified) => verified,
            Err(error) => return self.rejected(&challenge, error, pattern),
        };
        let needs_facilitator_verify = verified.signature == SignatureCheck::NeedsFacilitator;
        // Classified again only for smart wallets: an ECDSA signature would be parsed twice.
        let erc6492 = needs_facilitator_verify
            && matches!(
                SignatureKind::from_bytes(&verified.signature_bytes),
                Ok(SignatureKind::SmartWallet { erc6492: true })
            );
        if needs_facilitator_verify && !self.config.smart_wallets.enabled {
            let refusal = Refusal::SmartWalletRefused {
                why: refusal::SmartWalletRefusal::Disabled,
            };
            return refuse(Refused::with_challenge(refusal, &pattern, &challenge));
        }
        let accept = &offers[verified.requirement_index];
        let requirements = match &payment {
            PaymentPayload::V2(_) => PaymentRequirements::V2(accept.requirement.clone()),
            // Verification matched the payment's network to this offer's v1 name exactly.
            PaymentPayload::V1(p) => PaymentRequirements::V1(accept.requirement.to_v1(
                accept.v1_network.as_deref().unwrap_or(&p.network),
                &challenge.resource(),
            )),
        };
        let asset = accept.terms.domain.verifying_contract;
        let nonce = verified.authorization.nonce;
        // Receipts bind the canonical path with its letter case: matching ignores case to keep
        // every spelling priced, but an origin may serve `/a` and `/A` as different things.
        let resource = format!(
            "{method} {path}{}",
            request.query.map(|q| format!("?{q}")).unwrap_or_default()
        );
        Decision::Pay(Box::new(PaymentPlan {
            route: pattern,
            resource,
            payment_digest: payment_digest(&payment),
            replay: match is_safe_method(&method) {
                true => Replay::Always,
                false => Replay::Never,
            },
            target: target.clone(),
            receipt_key: receipt_key(&accept.requirement.network, &asset, &verified.payer, &nonce),
            network: accept.requirement.network.clone(),
            chain_id: accept.terms.domain.chain_id,
            asset,
            payer: verified.payer,
            nonce,
            amount: verified.authorization.value,
            pay_to: verified.authorization.to,
            valid_before: clamp_u64(verified.authorization.valid_before),
            signature: verified.signature_bytes,
            requirements,
            payment,
            receipt_only,
            needs_facilitator_verify,
            erc6492,
            client: limits::client_bucket(request.client),
            mcp: None,
            crawler_charge: None,
            order: paid
                .settle
                .unwrap_or_else(|| SettleOrder::default_for(request.method)),
            challenge,
            receipt_signer: self.offer_signer.clone(),
            payment_id,
            access: route_sign_in.map(|route| route.planned_for(&verified.payer)),
        }))
    }

    /// The discovery document served at `base_url` ([`extensions::DISCOVERY_PATH`]), when
    /// `discovery` is configured.
    pub fn discovery_document(&self, base_url: &str) -> Option<serde_json::Value> {
        self.config.discovery.as_ref()?;
        let signer = self.offer_signer.as_ref().map(OfferSigner::address);
        Some(extensions::discovery_document(
            &self.config,
            base_url,
            signer.as_ref(),
        ))
    }

    fn rejected(&self, challenge: &X402Challenge, error: VerifyError, pattern: String) -> Decision {
        refuse(Refused::with_challenge(
            Refusal::PaymentInvalid(error),
            &pattern,
            challenge,
        ))
    }
}

/// The priced route a request matched.
struct RouteAt<'a> {
    /// Its index in the configuration.
    index: usize,
    paid: &'a PaidRoute,
    /// Its pattern, as the log names it.
    pattern: String,
    /// The request's canonical path.
    path: &'a CanonicalPath,
    /// Canonical path and query for the origin.
    target: String,
}

/// What a priced route offers one request.
struct Offered<'a> {
    /// What the payment is verified against.
    offers: Cow<'a, [Accept]>,
    /// The challenge of a refusal.
    challenge: X402Challenge,
    /// Set when only a receipt can serve the payment (see [`PaymentPlan::receipt_only`]).
    receipt_only: Option<Refusal>,
    /// Whether the price is decided per request.
    dynamic: bool,
    /// The refusal the offer comes with whatever the payment (a crawler's price headers
    /// that do not accept the price).
    refusal: Option<Refusal>,
}

/// How a priced route offers x402, prepared when the gate is built.
#[derive(Clone, Debug)]
enum Offering {
    /// At the configured price: the challenge is ready but for its resource URL.
    Fixed(Arc<ChallengeTemplate>),
    /// At a price decided per request, quoted under this key.
    Dynamic(QuoteKey),
}

/// A request on a route priced per request, as its offers are made.
struct DynamicRequest<'a> {
    paid: &'a PaidRoute,
    key: &'a QuoteKey,
    /// `METHOD /canonical/path?query`, what a quote is bound to.
    resource: &'a str,
    /// The resource URL of the challenge.
    url: &'a str,
    pattern: &'a str,
}

/// Why a route priced per request has no offers for this request.
enum PricedOut {
    /// Its price is not known yet: the pricing service is to be asked.
    Ask,
    /// Its price is nothing.
    Free,
    /// A payment's quote is not honoured (with a challenge at the price of now), or the price
    /// cannot be offered.
    Refused(Box<Refused>),
}

/// The offers a dynamic route makes one request.
struct DynamicOffers {
    /// What the payment is verified against.
    offers: Vec<Accept>,
    /// The challenge of a refusal.
    challenge: X402Challenge,
    /// Set when the payment's quote of ours has expired: it is verified at its quoted amount,
    /// and only a receipt of its earlier settlement can serve it; the refusal otherwise.
    receipt_only: Option<Refusal>,
}

impl Gate {
    /// What a route priced per request (or an MCP tool priced per call) offers a request:
    /// [`Gate::dynamic_offers`], or the decision when it offers nothing (ask `ask` of the
    /// pricing service, pass free to `target`, refuse).
    fn offered_dynamically(
        &self,
        asked: &DynamicRequest<'_>,
        payment: Option<&Result<PaymentPayload, HeaderError>>,
        price: Option<&DynamicPrice>,
        now: u64,
        ask: PriceAsk,
        target: &str,
    ) -> Result<Offered<'static>, Decision> {
        match self.dynamic_offers(asked, payment, price, now) {
            Ok(made) => Ok(Offered {
                offers: Cow::Owned(made.offers),
                challenge: made.challenge,
                receipt_only: made.receipt_only,
                dynamic: true,
                refusal: None,
            }),
            Err(PricedOut::Ask) => Err(Decision::Price(Box::new(ask))),
            Err(PricedOut::Free) => Err(Decision::Waived {
                target: target.to_owned(),
            }),
            Err(PricedOut::Refused(refused)) => Err(Decision::Refuse(refused)),
        }
    }

    /// The offers of a dynamic route for one request. A v2 payment echoing an unexpired
    /// quote of ours is verified against the quoted way to pay alone (it is not priced
    /// again); one whose authentic quote expired, against the quoted way too, but only a
    /// receipt can serve it. Otherwise every way at `price`, each quoted until
    /// `quote_valid_s` from `now`, which is also the challenge of any refusal.
    fn dynamic_offers(
        &self,
        asked: &DynamicRequest<'_>,
        payment: Option<&Result<PaymentPayload, HeaderError>>,
        price: Option<&DynamicPrice>,
        now: u64,
    ) -> Result<DynamicOffers, PricedOut> {
        let &DynamicRequest {
            paid,
            key,
            resource,
            url,
            pattern,
        } = asked;
        let (mut quoted, mut refusal) = (None, None);
        if let Some(Ok(PaymentPayload::V2(v2))) = payment {
            // A quoted way that is not one of the route's is verified against the price of
            // now, and fails there as requirements not offered.
            let ours = || {
                paid.accepts
                    .iter()
                    .find(|a| same_way(&a.requirement, &v2.accepted))
            };
            match key.check(resource, &v2.accepted, now) {
                Ok(Some(_)) => {
                    if let Some(ours) = ours() {
                        let offer = quoted_offer(ours, &v2.accepted);
                        let offers = core::slice::from_ref(&offer);
                        let challenge = Arc::new(ChallengeTemplate::with_offers(paid, offers))
                            .for_resource(url);
                        return Ok(DynamicOffers {
                            offers: vec![offer],
                            challenge,
                            receipt_only: None,
                        });
                    }
                }
                Ok(None) => {}
                Err(error @ QuoteError::Expired { .. }) => {
                    quoted = ours().map(|ours| quoted_offer(ours, &v2.accepted));
                    refusal = Some(Refusal::QuoteRefused(error));
                }
                Err(error) => refusal = Some(Refusal::QuoteRefused(error)),
            }
        }
        let price = match price {
            None => return Err(PricedOut::Ask),
            Some(DynamicPrice::Free) => return Err(PricedOut::Free),
            Some(DynamicPrice::Charge(price)) => price,
        };
        let cannot_offer = |detail: String| {
            let refusal = Refusal::PricingUnavailable { detail };
            PricedOut::Refused(Box::new(Refused::bare(refusal, Some(pattern.to_owned()))))
        };
        let expires = now.saturating_add(self.config.pricing.quote_valid_s);
        let mut offers = Vec::with_capacity(paid.accepts.len());
        for accept in &paid.accepts {
            let amount = accept
                .amount_of(price, &self.config.networks)
                .map_err(|error| cannot_offer(format!("the price cannot be offered: {error}")))?;
            if amount == crate::amount::Uint256::ZERO {
                return Err(cannot_offer(
                    "a price of zero (answer {\"free\": true} to serve without payment)".into(),
                ));
            }
            let mut offer = accept.at_amount(amount);
            let quote = key.sign(resource, &offer.requirement, expires);
            set_quote(&mut offer, quote);
            offers.push(offer);
        }
        let challenge = Arc::new(ChallengeTemplate::with_offers(paid, &offers)).for_resource(url);
        match (quoted, refusal) {
            (Some(quoted), receipt_only) => Ok(DynamicOffers {
                offers: vec![quoted],
                challenge,
                receipt_only,
            }),
            (None, Some(refusal)) => Err(PricedOut::Refused(Box::new(Refused::with_challenge(
                refusal, pattern, &challenge,
            )))),
            (None, None) => Ok(DynamicOffers {
                offers,
                challenge,
                receipt_only: None,
            }),
        }
    }
}

/// Whether two requirements are the same way to pay, whatever their amounts and quotes.
fn same_way(
    ours: &crate::protocol::v2::PaymentRequirements,
    theirs: &crate::protocol::v2::PaymentRequirements,
) -> bool {
    ours.scheme == theirs.scheme
        && ours.network == theirs.network
        && ours.asset == theirs.asset
        && ours.pay_to == theirs.pay_to
        && ours.max_timeout_seconds == theirs.max_timeout_seconds
}

/// Our way to pay at the amount of a quote that verified, with that quote: the rest of it
/// (`extra` included) is ours, so a payment that changed anything else does not match it.
fn quoted_offer(ours: &Accept, accepted: &crate::protocol::v2::PaymentRequirements) -> Accept {
    let mut offer = ours.at_amount(accepted.amount);
    let quote = accepted
        .extra
        .as_ref()
        .and_then(|extra| extra.get(QUOTE_FIELD))
        .cloned();
    if let Some(serde_json::Value::String(quote)) = quote {
        set_quote(&mut offer, quote);
    }
    offer
}

/// Writes a quote into a requirement's `extra` (which exact-EVM requirements always have).
fn set_quote(offer: &mut Accept, quote: String) {
    if let Some(serde_json::Value::Object(extra)) = offer.requirement.extra.as_mut() {
        extra.insert(QUOTE_FIELD.into(), quote.into());
    }
}

fn refuse(refused: Refused) -> Decision {
    Decision::Refuse(Box::new(refused))
}

/// sha256 of a payment's scheme payload (signature and authorisation) as JSON with sorted
/// keys, in hex.
fn payment_digest(payment: &PaymentPayload) -> String {
    use sha2::{Digest, Sha256};
    // A JSON value always serialises.
    let json = serde_json::to_vec(payment.payload()).unwrap_or_default();
    hex::encode(Sha256::digest(&json))
}

/// A time at which a payment that failed only its time window would pass it: used to run the
/// other checks, never to accept the payment.
fn time_inside_window(error: &VerifyError) -> u64 {
    match error {
        VerifyError::Expired { valid_before, .. } => {
            clamp_u64(*valid_before).saturating_sub(crate::verify::VALID_BEFORE_BUFFER_SECS)
        }
        VerifyError::NotYetValid { valid_after, .. } => clamp_u64(*valid_after),
        _ => 0,
    }
}

/// A 256-bit time as unix seconds, saturating.
fn clamp_u64(value: crate::amount::Uint256) -> u64 {
    u64::try_from(value.0).unwrap_or(u64::MAX)
}

impl PaymentPlan {
    /// What a `/verify` answer is about: the exact payment under the requirement it was
    /// matched to (its network and token; amount and recipient are in the payment).
    pub fn verify_key(&self) -> String {
        format!("{}:{}:{}", self.payment_digest, self.network, self.asset)
    }

    /// What the payment coordinator keeps about this payment; its receipt serves retries for
    /// `receipt_ttl_s`.
    pub fn record(&self, receipt_ttl_s: u64) -> PaymentRecord {
        PaymentRecord {
            key: self.receipt_key.clone(),
            network: self.network.clone(),
            chain_id: self.chain_id,
            token: self.asset,
            payer: self.payer,
            pay_to: self.pay_to,
            amount: self.amount,
            nonce: self.nonce,
            valid_before: self.valid_before,
            resource: self.resource.clone(),
            route: self.route.clone(),
            payment_digest: self.payment_digest.clone(),
            signature: crate::evm::SignatureHex(self.signature.clone()),
            receipt_ttl_s,
        }
    }

    /// The body of `/verify` and `/settle` for this payment.
    pub fn facilitator_request(&self) -> FacilitatorRequest {
        FacilitatorRequest {
            x402_version: self.payment.version(),
            payment_payload: self.payment.clone(),
            payment_requirements: self.requirements.clone(),
        }
    }

    /// A settlement answer for this payment's version.
    pub fn settlement(&self, response: SettleResponse) -> Settlement {
        Settlement {
            version: self.payment.version(),
            response,
        }
    }

    /// The answer of this payment's successful settlement at `settled_at`, with the
    /// gateway's signed receipt for a v2 client when receipts are signed (`offer_receipt`):
    /// bound to the resource offered, the payer, the network, the transaction and the time.
    pub fn settled(&self, response: SettleResponse, settled_at: u64) -> Settlement {
        let mut settlement = self.settlement(response);
        if let (Some(signer), 2) = (&self.receipt_signer, settlement.version) {
            let receipt = signer.receipt(
                self.challenge.url(),
                &self.payer,
                &self.network,
                &settlement.response.transaction,
                settled_at,
            );
            let mut extensions = match settlement.response.extensions.take() {
                Some(serde_json::Value::Object(map)) => map,
                _ => serde_json::Map::new(),
            };
            extensions.insert(OFFER_RECEIPT.into(), receipt);
            settlement.response.extensions = Some(serde_json::Value::Object(extensions));
        }
        settlement
    }

    /// The receipt of a successful settlement at `now`.
    pub fn receipt(&self, settlement: &SettleResponse, now: u64) -> Receipt {
        Receipt {
            format: RECEIPT_FORMAT,
            resource: self.resource.clone(),
            payment_digest: self.payment_digest.clone(),
            route: self.route.clone(),
            transaction: settlement.transaction.clone(),
            network: self.network.clone(),
            asset: self.asset,
            payer: self.payer,
            nonce: self.nonce,
            amount: self.amount,
            settled_at: now,
            settlement: settlement.clone(),
            answered: true,
        }
    }

    /// A refusal answered with this payment's challenge.
    pub fn refused(&self, refusal: Refusal) -> Refused {
        Refused::with_challenge(refusal, &self.route, &self.challenge)
    }

    /// A refusal on this payment's route without a challenge: the same payment is to be
    /// sent again.
    pub fn refused_bare(&self, refusal: Refusal) -> Refused {
        Refused::bare(refusal, Some(self.route.clone()))
    }
}

/// Names of the request headers that carry payments, as the shell reads them.
pub const PAYMENT_HEADERS: [&str; 2] = [
    crate::protocol::PAYMENT_SIGNATURE,
    crate::protocol::X_PAYMENT,
];
