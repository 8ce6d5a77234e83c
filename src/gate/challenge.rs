//! A route's x402 challenge: the requirements of both protocol versions, prepared when the
//! gate is built ([`ChallengeTemplate`]); per request only the resource URL is filled in
//! ([`X402Challenge`]), and the `error` when it is rendered.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::extensions::{OfferSigner, OFFER_RECEIPT};
use super::sign_in::SignInChallenge;
use crate::config::{Accept, PaidRoute};
use crate::protocol::{v1, v2, Version};
use crate::siwx::SIGN_IN_WITH_X;

/// The parts of a route's challenge that do not depend on the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChallengeTemplate {
    /// The v1 requirements (for networks with a v1 name), without their `resource`.
    v1: Vec<v1::PaymentRequirements>,
    /// The v2 challenge, without its resource URL.
    v2: v2::PaymentRequired,
}

/// A route's x402 challenge for one resource URL. A route that sells over L402 only has one
/// with no requirements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct X402Challenge {
    v1: Vec<v1::PaymentRequirements>,
    v2: v2::PaymentRequired,
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
    /// configured amounts are placeholders, and its offers are made per request).
    pub fn new(route: &PaidRoute) -> Self {
        Self::with_offers(route, &route.accepts)
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
        Self { v1, v2 }
    }

    /// The challenge for the resource at `url`.
    pub fn for_resource(&self, url: &str) -> X402Challenge {
        let mut v2 = self.v2.clone();
        v2.resource.url = url.to_owned();
        let v1 = self
            .v1
            .iter()
            .map(|r| v1::PaymentRequirements {
                resource: url.to_owned(),
                ..r.clone()
            })
            .collect();
        X402Challenge {
            v1,
            v2,
            extensions: None,
            signed_offers: None,
            sign_in: None,
        }
    }
}

impl X402Challenge {
    /// The resource it is for.
    pub fn resource(&self) -> &v2::ResourceInfo {
        &self.v2.resource
    }

    /// Whether it offers any x402 requirement (a route may sell over L402 only).
    pub fn offers_x402(&self) -> bool {
        !self.v2.accepts.is_empty()
    }

    /// The v1 JSON body, with `error`.
    pub fn v1_body(&self, error: &str) -> v1::PaymentRequired {
        v1::PaymentRequired {
            x402_version: Version,
            error: error.to_owned(),
            accepts: self.v1.clone(),
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
            ..self.v2.clone()
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
