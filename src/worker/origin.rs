//! Where paid and free content comes from: a proxied origin, or built-in demo responses.

use std::cell::RefCell;

use serde_json::json;
use worker::{Fetch, Headers, Request, RequestInit, RequestRedirect, Response};

use crate::gate::flow::Origin;
use crate::gate::l402::is_l402_credential;
use crate::gate::Gate;
use crate::protocol::{PAYMENT_SIGNATURE, X_PAYMENT};

/// Forwards the client's request (method, headers but the payment ones, body) to the origin
/// at the canonical path.
pub struct ProxyOrigin<'a> {
    base: &'a str,
    request: RefCell<Option<Request>>,
}

impl<'a> ProxyOrigin<'a> {
    pub fn new(base: &'a str, request: &Request) -> Self {
        // A clone shares nothing mutable with the original; its body is consumed on fetch.
        Self {
            base,
            request: RefCell::new(request.clone().ok()),
        }
    }
}

impl Origin for ProxyOrigin<'_> {
    type Response = Response;

    async fn fetch(&self, target: &str) -> Result<Response, String> {
        let original = self
            .request
            .borrow_mut()
            .take()
            .ok_or("the request body was already used")?;
        let headers = Headers::new();
        for (name, value) in original.headers().entries() {
            // Payments and L402 credentials (bearer tokens, valid until they expire) stay
            // here; any other `Authorization` (the origin's own) is passed on.
            let payment = name.eq_ignore_ascii_case(PAYMENT_SIGNATURE)
                || name.eq_ignore_ascii_case(X_PAYMENT)
                || (name.eq_ignore_ascii_case("authorization") && is_l402_credential(&value));
            if !payment && !name.eq_ignore_ascii_case("host") {
                headers.append(&name, &value).map_err(|e| e.to_string())?;
            }
        }
        let mut init = RequestInit::new();
        init.with_method(original.method())
            .with_headers(headers)
            .with_redirect(RequestRedirect::Manual);
        init.with_body(original.inner().body().map(Into::into));
        let request = Request::new_with_init(&format!("{}{target}", self.base), &init)
            .map_err(|e| e.to_string())?;
        Fetch::Request(request)
            .send()
            .await
            .map_err(|e| e.to_string())
    }

    fn status(response: &Response) -> u16 {
        response.status_code()
    }
}

/// Built-in demo content, served when no `origin` is configured: a small JSON document that
/// says what was bought.
pub struct DemoOrigin<'a> {
    method: &'a str,
    gate: &'a Gate,
}

impl<'a> DemoOrigin<'a> {
    pub fn new(method: &'a str, gate: &'a Gate) -> Self {
        Self { method, gate }
    }
}

impl Origin for DemoOrigin<'_> {
    type Response = Response;

    async fn fetch(&self, target: &str) -> Result<Response, String> {
        let routes = self.gate.config().routes.len();
        Response::from_json(&json!({
            "demo": true,
            "method": self.method,
            "resource": target,
            "message": "edge402 demo content: configure `origin` to proxy a real API",
            "routes": routes,
        }))
        .map_err(|e| e.to_string())
    }

    fn status(response: &Response) -> u16 {
        response.status_code()
    }
}

/// The origin of this configuration: one type, so the flow is compiled once.
pub enum ContentSource<'a> {
    /// `origin` is configured.
    Proxy(ProxyOrigin<'a>),
    /// No `origin`: demo content.
    Demo(DemoOrigin<'a>),
}

impl Origin for ContentSource<'_> {
    type Response = Response;

    async fn fetch(&self, target: &str) -> Result<Response, String> {
        match self {
            Self::Proxy(origin) => origin.fetch(target).await,
            Self::Demo(origin) => origin.fetch(target).await,
        }
    }

    fn status(response: &Response) -> u16 {
        response.status_code()
    }
}
