//! The gateway's decisions, without I/O: what a request is ([`Gate::decide`]), and how a
//! paid request ends ([`flow::handle`], generic over the facilitator, receipt store and
//! origin, which the Worker shell implements with `Fetch` and KV and tests with fakes).

pub mod flow;
pub mod l402;
pub mod paywall;
pub mod receipt;

use serde_json::json;

use crate::config::{Access, GatewayConfig, PaidRoute, SettleOrder};
use crate::evm::{Address, Bytes32};
use crate::protocol::facilitator::{FacilitatorRequest, SettleResponse};
use crate::protocol::{
    encode_header, v1, v2, HeaderError, PaymentPayload, PaymentRequirements, Reason, Version,
    PAYMENT_REQUIRED, PAYMENT_SIGNATURE, X_PAYMENT,
};
use crate::routes::{price_class, CanonicalPath};
use crate::verify::{verify_payment, SignatureCheck, VerifyError};
use receipt::{receipt_key, Receipt, RECEIPT_FORMAT};

/// Response headers a browser may read: the payment headers of both versions.
pub const EXPOSED_HEADERS: &str =
    "PAYMENT-REQUIRED, PAYMENT-RESPONSE, X-PAYMENT-RESPONSE, WWW-Authenticate";
/// Request headers a browser may send cross-origin.
pub const ALLOWED_REQUEST_HEADERS: &str =
    "PAYMENT-SIGNATURE, X-PAYMENT, Authorization, Content-Type, Accept";

/// What the shell knows about a request, as plain values.
#[derive(Clone, Debug, Default)]
pub struct RequestFacts<'a> {
    /// The method, as sent.
    pub method: &'a str,
    /// The URL's path, as received (not yet canonical).
    pub path: &'a str,
    /// The URL's query, without `?`.
    pub query: Option<&'a str>,
    /// `scheme://host[:port]` of the request, for resource URLs.
    pub origin: &'a str,
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
    /// `Accept`: a browser asking for HTML gets the paywall page ([`paywall`]).
    pub accept: Option<&'a str>,
}

/// A complete response the gateway makes itself (no origin involved).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Headers to set.
    pub headers: Vec<(&'static str, String)>,
    /// Body: JSON, the paywall page's HTML, or empty.
    pub body: String,
    /// The wire reason, for the log.
    pub reason: Option<String>,
}

/// What to do with a request.
#[derive(Clone, Debug)]
pub enum Decision {
    /// A CORS preflight: answer it, never charge.
    Preflight(Answer),
    /// Not priced: forward the canonical path to the origin.
    Free {
        /// Canonical path and query for the origin.
        target: String,
    },
    /// Answer without calling anything (a challenge or a refusal).
    Answer {
        /// The answer.
        answer: Answer,
        /// The route pattern, if one matched.
        route: Option<String>,
    },
    /// A payment that passed local verification (or failed only its time window, which a
    /// receipt can still cover).
    Pay(Box<PaymentPlan>),
    /// A 402 that needs an L402 invoice first.
    Challenge(Box<l402::L402Challenge>),
    /// A verified L402 credential: serve unless revoked.
    L402(Box<l402::L402Access>),
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
    /// Whether a receipt may serve this request again: only for `GET`/`HEAD`, whose repeat has
    /// no side effect; a body may differ between two requests with the same payment.
    pub replayable: bool,
    /// Canonical path and query for the origin.
    pub target: String,
    /// The payment as the client sent it.
    pub payment: PaymentPayload,
    /// Our requirement it matched, in the payment's version shape (for the facilitator).
    pub requirements: PaymentRequirements,
    /// The CAIP-2 network of the requirement.
    pub network: String,
    /// The token.
    pub asset: Address,
    /// The payer.
    pub payer: Address,
    /// The EIP-3009 nonce.
    pub nonce: Bytes32,
    /// The amount.
    pub amount: crate::amount::Uint256,
    /// Where the receipt of this payment lives.
    pub receipt_key: String,
    /// `Some` when the payment is outside its time window: only a receipt can serve it.
    pub time_error: Option<VerifyError>,
    /// A smart-wallet signature: the facilitator's `/verify` must accept it first.
    pub needs_facilitator_verify: bool,
    /// When to settle relative to the origin.
    pub order: SettleOrder,
    /// The challenge to answer with when settlement fails.
    pub challenge: Challenge,
}

/// The pieces of a route's 402 answer, built per request (the resource URL varies).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    v1: Vec<v1::PaymentRequirements>,
    v2: v2::PaymentRequired,
}

/// The gateway's decision logic over one configuration.
#[derive(Clone, Debug)]
pub struct Gate {
    config: GatewayConfig,
    l402_secret: Option<crate::l402::RootKeySecret>,
}

impl Gate {
    /// A gate over a validated configuration.
    pub fn new(config: GatewayConfig) -> Self {
        Self {
            config,
            l402_secret: None,
        }
    }

    /// The gate with the secret L402 root keys are derived from (`L402_ROOT_SECRET`).
    pub fn with_l402_secret(mut self, secret: crate::l402::RootKeySecret) -> Self {
        self.l402_secret = Some(secret);
        self
    }

    /// Whether some route sells over L402 (and so needs the secret and a Lightning node).
    pub fn sells_l402(&self) -> bool {
        self.config
            .routes
            .iter()
            .any(|r| matches!(&r.access, Access::Paid(p) if p.l402.is_some()))
    }

    /// The configuration.
    pub fn config(&self) -> &GatewayConfig {
        &self.config
    }

    /// Decides what a request is, at unix time `now`.
    pub fn decide(&self, request: &RequestFacts<'_>, now: u64) -> Decision {
        if request.preflight {
            return Decision::Preflight(preflight());
        }
        let path = match CanonicalPath::parse(request.path) {
            Ok(path) => path,
            Err(e) => return answer(refusal(400, Reason::InvalidPath, &e.to_string()), None),
        };
        let target = match request.query {
            Some(query) => format!("{path}?{query}"),
            None => path.to_string(),
        };
        let case_sensitive = self.config.case_sensitive_paths;
        let on_path: Vec<_> = self
            .config
            .routes
            .iter()
            .filter(|r| r.matcher.pattern.matches(&path, case_sensitive))
            .collect();
        let Some(route) = on_path
            .iter()
            .find(|r| r.matcher.covers_method(request.method))
        else {
            if on_path.is_empty() {
                return Decision::Free { target };
            }
            // The path is configured, but not for this method: fail closed.
            let allowed: Vec<&str> = on_path
                .iter()
                .flat_map(|r| r.matcher.methods.iter().map(String::as_str))
                .collect();
            let mut refused = refusal(
                405,
                Reason::MethodNotAllowed,
                "this path is configured for other methods",
            );
            refused.headers.push(("Allow", allowed.join(", ")));
            return answer(refused, Some(on_path[0].matcher.pattern.to_string()));
        };
        let pattern = route.matcher.pattern.to_string();
        let Access::Paid(paid) = &route.access else {
            return Decision::Free { target };
        };
        let method = price_class(request.method).to_ascii_uppercase();
        // Receipts bind the canonical path with its letter case: matching ignores case to keep
        // every spelling priced, but an origin may serve `/a` and `/A` as different things.
        let resource_path = path.to_string();
        let resource_url = format!("{}{}", request.origin, path);
        let challenge = Challenge::new(paid, &resource_url);
        if let Some(offer) = &paid.l402 {
            if let Some(decision) =
                self.decide_l402(request, offer, &challenge, &pattern, &target, now)
            {
                return decision;
            }
        }
        let header = request.payment_signature.or(request.x_payment);
        let Some(header) = header else {
            if paywall::wants_page(request) && !challenge.v2.accepts.is_empty() {
                let page =
                    challenge.paywall(Reason::PaymentRequired.as_str(), &self.config.networks);
                return answer(page, Some(pattern));
            }
            return answer(
                challenge.answer(402, Reason::PaymentRequired.as_str(), None),
                Some(pattern),
            );
        };
        let payment = match PaymentPayload::from_header(header) {
            Ok(payment) => payment,
            Err(HeaderError::UnsupportedVersion { .. }) => {
                let reason = Reason::InvalidX402Version.as_str();
                return answer(challenge.answer(402, reason, None), Some(pattern));
            }
            Err(_) => {
                return answer(
                    challenge.answer(400, Reason::InvalidPayload.as_str(), None),
                    Some(pattern),
                );
            }
        };
        let (verified, time_error) =
            match verify_payment(&payment, &paid.requirements, &self.config.networks, now) {
                Ok(verified) => (verified, None),
                Err(error @ (VerifyError::Expired { .. } | VerifyError::NotYetValid { .. })) => {
                    // Signature, recipient and network passed (they are checked first); only a
                    // receipt of an earlier settlement can still serve this payment.
                    match verify_payment(
                        &payment,
                        &paid.requirements,
                        &self.config.networks,
                        time_inside_window(&error),
                    ) {
                        Ok(verified) => (verified, Some(error)),
                        // Failing something else too: the time window is still the first failure.
                        Err(_) => return self.rejected(&challenge, &error, pattern),
                    }
                }
                Err(error) => return self.rejected(&challenge, &error, pattern),
            };
        let requirement = &paid.requirements[verified.requirement_index];
        let requirements = match &payment {
            PaymentPayload::V2(_) => PaymentRequirements::V2(requirement.clone()),
            PaymentPayload::V1(p) => {
                PaymentRequirements::V1(requirement.to_v1(&p.network, &challenge.v2.resource))
            }
        };
        // Requirements were validated when the configuration was read, so they parse.
        let asset: Address = requirement.asset.parse().unwrap_or_default();
        let nonce = verified.authorization.nonce;
        Decision::Pay(Box::new(PaymentPlan {
            route: pattern,
            resource: format!(
                "{method} {resource_path}{}",
                request.query.map(|q| format!("?{q}")).unwrap_or_default()
            ),
            payment_digest: payment_digest(&payment),
            replayable: method == "GET",
            target,
            receipt_key: receipt_key(&requirement.network, &asset, &verified.payer, &nonce),
            network: requirement.network.clone(),
            asset,
            payer: verified.payer,
            nonce,
            amount: verified.authorization.value,
            requirements,
            payment,
            time_error,
            needs_facilitator_verify: verified.signature == SignatureCheck::NeedsFacilitator,
            order: paid
                .settle
                .unwrap_or_else(|| SettleOrder::default_for(request.method)),
            challenge,
        }))
    }

    fn rejected(&self, challenge: &Challenge, error: &VerifyError, pattern: String) -> Decision {
        let status = match error {
            // Our own requirement is unusable: a configuration fault, not the client's.
            VerifyError::Requirement(_) => 500,
            _ => 402,
        };
        let mut refused = challenge.answer(status, error.reason().as_str(), None);
        refused.reason = Some(error.reason().as_str().to_owned());
        answer(refused, Some(pattern))
    }
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
    let clamp = |v: crate::amount::Uint256| u64::try_from(v.0).unwrap_or(u64::MAX);
    match error {
        VerifyError::Expired { valid_before, .. } => {
            clamp(*valid_before).saturating_sub(crate::verify::VALID_BEFORE_BUFFER_SECS)
        }
        VerifyError::NotYetValid { valid_after, .. } => clamp(*valid_after),
        _ => 0,
    }
}

impl PaymentPlan {
    /// The body of `/verify` and `/settle` for this payment.
    pub fn facilitator_request(&self) -> FacilitatorRequest {
        FacilitatorRequest {
            x402_version: self.payment.version(),
            payment_payload: self.payment.clone(),
            payment_requirements: self.requirements.clone(),
        }
    }

    /// The settlement header for this payment's version: (name, value).
    pub fn settlement_header(&self, settlement: &SettleResponse) -> (&'static str, String) {
        (self.payment.response_header_name(), settlement.to_header())
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
        }
    }
}

impl Challenge {
    fn new(route: &PaidRoute, resource_url: &str) -> Self {
        let resource = v2::ResourceInfo {
            url: resource_url.to_owned(),
            description: Some(route.description.clone()),
            mime_type: Some(route.mime_type.clone()),
        };
        let v1 = route
            .requirements
            .iter()
            .zip(&route.v1_networks)
            .filter_map(|(r, name)| Some(r.to_v1(name.as_deref()?, &resource)))
            .collect();
        let v2 = v2::PaymentRequired {
            x402_version: Version,
            error: None,
            resource,
            accepts: route.requirements.clone(),
            extensions: None,
        };
        Self { v1, v2 }
    }

    /// A 402 (or 400) answer both protocol versions understand: the v1 JSON body and the v2
    /// `PAYMENT-REQUIRED` header, with `error`, and a settlement header when there is one.
    pub fn answer(
        &self,
        status: u16,
        error: &str,
        settlement: Option<(&'static str, String)>,
    ) -> Answer {
        let v1 = v1::PaymentRequired {
            x402_version: Version,
            error: error.to_owned(),
            accepts: self.v1.clone(),
        };
        let v2 = v2::PaymentRequired {
            error: Some(error.to_owned()),
            ..self.v2.clone()
        };
        let mut headers = common_headers();
        headers.push(("Content-Type", "application/json".into()));
        if self.v2.accepts.is_empty() {
            // An L402-only route: no x402 challenge, the L402 one is added by the flow.
            return Answer {
                status,
                headers,
                body: json!({ "error": error }).to_string(),
                reason: Some(error.to_owned()),
            };
        }
        headers.push((PAYMENT_REQUIRED, encode_header(&v2)));
        headers.extend(settlement);
        Answer {
            status,
            headers,
            // The wire types serialise infallibly (see `encode_header`).
            body: serde_json::to_string(&v1).unwrap_or_default(),
            reason: Some(error.to_owned()),
        }
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

/// An answer without a challenge (400 for a refused path, 405, 500, 502, 504).
pub fn refusal(status: u16, reason: Reason, message: &str) -> Answer {
    let mut headers = common_headers();
    headers.push(("Content-Type", "application/json".into()));
    Answer {
        status,
        headers,
        body: json!({"error": reason.as_str(), "message": message}).to_string(),
        reason: Some(reason.as_str().to_owned()),
    }
}

fn preflight() -> Answer {
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
        status: 204,
        headers,
        body: String::new(),
        reason: None,
    }
}

fn answer(answer: Answer, route: Option<String>) -> Decision {
    Decision::Answer { answer, route }
}

/// Names of the request headers that carry payments, as the shell reads them.
pub const PAYMENT_HEADERS: [&str; 2] = [PAYMENT_SIGNATURE, X_PAYMENT];
