//! Where content comes from: the application's handler ([`HandlerOrigin`]; in the zero-code
//! Worker, the proxy to `origin` or the demo content of `proxy.rs`).

use std::cell::RefCell;
use std::future::Future;

use worker::worker_sys::web_sys;
use worker::{Headers, Method, Request, RequestInit, RequestRedirect, Response};

use crate::config::{GatewayConfig, DEFAULT_ORIGIN_SECRET_HEADER};
use crate::gate::flow::Origin;
use crate::gate::forward::forwards_header;

/// The application's handler as the flow's origin: called at most once, with the client's
/// request at its canonical path (`scheme://host` of the gateway, then the target) and only
/// the headers [`forwards_header`] passes.
pub struct HandlerOrigin<'a, H> {
    /// `scheme://host[:port]` of the gateway, as the client reached it.
    gateway_base: &'a str,
    /// The header that carries the origin secret, which no client may set.
    secret_header: &'a str,
    request: RefCell<Option<web_sys::Request>>,
    handler: RefCell<Option<H>>,
}

impl<'a, H> HandlerOrigin<'a, H> {
    /// The origin of `request` (whose body is consumed when it is passed on).
    pub fn new(
        request: web_sys::Request,
        gateway_base: &'a str,
        config: &'a GatewayConfig,
        handler: H,
    ) -> Self {
        let secret_header = config
            .origin
            .as_ref()
            .map_or(DEFAULT_ORIGIN_SECRET_HEADER, |origin| &origin.secret_header);
        Self {
            gateway_base,
            secret_header,
            request: RefCell::new(Some(request)),
            handler: RefCell::new(Some(handler)),
        }
    }
}

impl<H, F> Origin for HandlerOrigin<'_, H>
where
    H: FnOnce(Request) -> F,
    F: Future<Output = worker::Result<Response>>,
{
    type Response = Response;

    async fn fetch(&self, target: &str) -> Result<Response, String> {
        let used = || "the request was already passed on".to_owned();
        let original = self.request.borrow_mut().take().ok_or_else(used)?;
        let handler = self.handler.borrow_mut().take().ok_or_else(used)?;
        let url = format!("{}{target}", self.gateway_base);
        let forwarded =
            forwarded(&original, &url, self.secret_header, None).map_err(|e| e.to_string())?;
        handler(forwarded).await.map_err(|e| e.to_string())
    }

    fn status(response: &Response) -> u16 {
        response.status_code()
    }
}

/// `original` sent to `url`: its method and body, the headers [`forwards_header`] passes, and
/// `secret` in `secret_header` when given; redirects are not followed.
pub(super) fn forwarded(
    original: &web_sys::Request,
    url: &str,
    secret_header: &str,
    secret: Option<&str>,
) -> worker::Result<Request> {
    let headers = Headers::new();
    for (name, value) in Headers(original.headers()).entries() {
        if forwards_header(&name, &value, secret_header) {
            headers.append(&name, &value)?;
        }
    }
    if let Some(secret) = secret {
        headers.set(secret_header, secret)?;
    }
    let method = Method::from(original.method());
    let mut init = RequestInit::new();
    init.with_method(method)
        .with_headers(headers)
        .with_redirect(RequestRedirect::Manual);
    init.with_body(original.body().map(Into::into));
    Request::new_with_init(url, &init)
}
