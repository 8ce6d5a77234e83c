//! Where paid and free content comes from: a proxied origin, or built-in demo responses.

use std::cell::RefCell;

use serde_json::json;
use worker::{Fetch, Headers, Request, RequestInit, RequestRedirect, Response};

use super::with_headers;
use crate::config::OriginConfig;
use crate::gate::flow::Origin;
use crate::gate::forward::{forwards_header, rewrite_location};
use crate::gate::Gate;

/// Forwards the client's request (method, body, the headers [`forwards_header`] passes) to
/// the origin at the canonical path, with the gateway's secret header when
/// `ORIGIN_AUTHORIZATION` is set, without following redirects; a `Location` into the origin
/// is rewritten to the gateway's URL.
pub struct ProxyOrigin<'a> {
    config: &'a OriginConfig,
    /// `ORIGIN_AUTHORIZATION`.
    secret: Option<String>,
    /// `scheme://host[:port]` of the gateway, as the client reached it.
    gateway_base: &'a str,
    request: RefCell<Option<Request>>,
}

impl<'a> ProxyOrigin<'a> {
    pub fn new(
        config: &'a OriginConfig,
        secret: Option<String>,
        gateway_base: &'a str,
        request: &Request,
    ) -> Self {
        // A clone shares nothing mutable with the original; its body is consumed on fetch.
        Self {
            config,
            secret,
            gateway_base,
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
        let failed = |e: worker::Error| e.to_string();
        for (name, value) in original.headers().entries() {
            if forwards_header(&name, &value, self.config) {
                headers.append(&name, &value).map_err(failed)?;
            }
        }
        if let Some(secret) = &self.secret {
            headers
                .set(&self.config.secret_header, secret)
                .map_err(failed)?;
        }
        let mut init = RequestInit::new();
        init.with_method(original.method())
            .with_headers(headers)
            .with_redirect(RequestRedirect::Manual);
        init.with_body(original.inner().body().map(Into::into));
        let request = Request::new_with_init(&format!("{}{target}", self.config.url), &init)
            .map_err(failed)?;
        let response = Fetch::Request(request).send().await.map_err(failed)?;
        let location = response.headers().get("Location").ok().flatten();
        match location.and_then(|l| rewrite_location(&l, &self.config.url, self.gateway_base)) {
            Some(rewritten) => with_headers(response, &[("Location", rewritten)]).map_err(failed),
            None => Ok(response),
        }
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
