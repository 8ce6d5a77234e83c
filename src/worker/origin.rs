//! Where content comes from: the application's handler ([`HandlerOrigin`]; in the zero-code
//! Worker, the proxy to `origin` or the demo content of `proxy.rs`).

use std::cell::RefCell;
use std::future::Future;

use futures_util::StreamExt;
use worker::js_sys::Uint8Array;
use worker::worker_sys::web_sys;
use worker::{Headers, Method, Request, RequestInit, RequestRedirect, Response};

use super::spent::Spent;
use crate::config::{GatewayConfig, DEFAULT_ORIGIN_SECRET_HEADER};
use crate::gate::clients::BotManagement;
use crate::gate::flow::{ClientMessages, Origin};
use crate::gate::forward::forwards_header;
use worker::js_sys::Reflect;
use worker::wasm_bindgen::JsValue;

/// The application's handler as the flow's origin: called at most once, with the client's
/// request at its canonical path (`scheme://host` of the gateway, then the target) and only
/// the headers [`forwards_header`] passes.
pub struct HandlerOrigin<'a, H> {
    /// `scheme://host[:port]` of the gateway, as the client reached it.
    gateway_base: &'a str,
    /// The header that carries the origin secret, which no client may set.
    secret_header: &'a str,
    request: RefCell<Option<web_sys::Request>>,
    /// The client's body, once the gate read it: what is sent on in its place.
    body: RefCell<Option<Vec<u8>>>,
    handler: RefCell<Option<H>>,
    /// Time spent waiting for the handler's answer (its status and headers: the body
    /// streams after), for the request's log line.
    pub spent: Spent,
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
            body: RefCell::default(),
            handler: RefCell::new(Some(handler)),
            spent: Spent::default(),
        }
    }
}

impl<H, F> Origin for HandlerOrigin<'_, H>
where
    H: FnOnce(Request) -> F,
    F: Future<Output = worker::Result<Response>>,
{
    type Response = Response;

    async fn fetch(&self, target: &str, body: Option<&[u8]>) -> Result<Response, String> {
        let used = || "the request was already passed on".to_owned();
        let original = self.request.borrow_mut().take().ok_or_else(used)?;
        let handler = self.handler.borrow_mut().take().ok_or_else(used)?;
        let url = format!("{}{target}", self.gateway_base);
        let read = self.body.borrow_mut().take();
        let body = body.or(read.as_deref());
        let forwarded = forwarded(&original, &url, self.secret_header, None, body)
            .map_err(|e| e.to_string())?;
        let answered = self.spent.time(handler(forwarded)).await;
        answered.map_err(|e| e.to_string())
    }

    fn status(response: &Response) -> u16 {
        response.status_code()
    }
}

impl<H, F> ClientMessages for HandlerOrigin<'_, H>
where
    H: FnOnce(Request) -> F,
    F: Future<Output = worker::Result<Response>>,
{
    async fn request_body(&self, limit: usize) -> Result<Option<Vec<u8>>, String> {
        let request = self.request.borrow().clone();
        let request = request.ok_or("the request was already passed on")?;
        let declared = request.headers().get("content-length").ok().flatten();
        if declared.and_then(|length| length.trim().parse::<usize>().ok()) > Some(limit) {
            return Ok(None);
        }
        let mut read = Vec::new();
        if request.body().is_some() {
            let mut stream = Request::from(request).stream().map_err(|e| e.to_string())?;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| e.to_string())?;
                if read.len() + chunk.len() > limit {
                    return Ok(None);
                }
                read.extend_from_slice(&chunk);
            }
        }
        *self.body.borrow_mut() = Some(read.clone());
        Ok(Some(read))
    }

    fn request_headers(&self) -> Vec<(String, String)> {
        let request = self.request.borrow();
        request
            .as_ref()
            .map(|request| Headers(request.headers()).entries().collect())
            .unwrap_or_default()
    }

    /// `request.cf.botManagement` (`score`, `verifiedBot`), read from the runtime's object
    /// only here: zones without Bot Management have none.
    fn bot_management(&self) -> Option<BotManagement> {
        let request = self.request.borrow();
        let get = |object: &JsValue, key: &str| {
            Reflect::get(object, &key.into())
                .ok()
                .filter(|v| !v.is_undefined() && !v.is_null())
        };
        let cf = get(request.as_ref()?, "cf")?;
        let verdict = get(&cf, "botManagement")?;
        let score = get(&verdict, "score")
            .and_then(|s| s.as_f64())
            .filter(|s| (1.0..=99.0).contains(s))
            .map(|s| s as u8);
        let verified_bot = get(&verdict, "verifiedBot").and_then(|v| v.as_bool());
        Some(BotManagement {
            score,
            verified_bot: verified_bot.unwrap_or(false),
        })
    }

    fn content_type(response: &Response) -> Option<String> {
        response.headers().get("content-type").ok().flatten()
    }

    async fn read_body(
        &self,
        response: &mut Response,
        take: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<(), String> {
        let mut stream = response.stream().map_err(|e| e.to_string())?;
        while let Some(chunk) = stream.next().await {
            if !take(&chunk.map_err(|e| e.to_string())?) {
                break;
            }
        }
        Ok(())
    }

    fn with_body(&self, response: Response, body: Vec<u8>) -> Result<Response, String> {
        let headers = Headers::new();
        for (name, value) in response.headers().entries() {
            if !name.eq_ignore_ascii_case("content-length") {
                headers.append(&name, &value).map_err(|e| e.to_string())?;
            }
        }
        let status = response.status_code();
        Ok(Response::from_bytes(body)
            .map_err(|e| e.to_string())?
            .with_status(status)
            .with_headers(headers))
    }
}

/// `original` sent to `url`: its method and body (or `body` instead, without the client's
/// `Content-Length`), the headers [`forwards_header`] passes, and `secret` in
/// `secret_header` when given; redirects are not followed.
pub(super) fn forwarded(
    original: &web_sys::Request,
    url: &str,
    secret_header: &str,
    secret: Option<&str>,
    body: Option<&[u8]>,
) -> worker::Result<Request> {
    let headers = Headers::new();
    for (name, value) in Headers(original.headers()).entries() {
        let replaced = body.is_some() && name.eq_ignore_ascii_case("content-length");
        if forwards_header(&name, &value, secret_header) && !replaced {
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
    match body {
        Some(body) => init.with_body(Some(Uint8Array::from(body).into())),
        None => init.with_body(original.body().map(Into::into)),
    };
    Request::new_with_init(url, &init)
}
