//! Outbound HTTP with a deadline and a size bound: workers-rs `Fetch` has neither, so the
//! whole exchange (status and body) is raced against a `Delay` and aborted when the delay
//! wins, and the body is read chunk by chunk up to its bound.
//!
//! A failed `fetch` does not say whether the request left: workerd reports a refused
//! connection and one reset after the request was written with the same error. Whoever must
//! know (a `/settle` is never to be sent twice) asks [`reachable`], which opens a bare TCP
//! connection to the same host and port.

use std::time::Duration;

use futures_util::future::{select, Either};
use futures_util::StreamExt;
use worker::wasm_bindgen::JsCast;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{
    AbortController, Delay, Fetch, Fetcher, Headers, Method, Request, RequestInit, RequestRedirect,
    Socket,
};

use crate::gate::remote::{Exchange, Outbound};
use crate::routes::{host_and_port, split_authority};

pub use crate::gate::remote::ExchangeError;

/// The core's HTTP clients' [`Exchange`] in the Worker: [`exchange`] and [`reachable`].
#[derive(Clone, Copy)]
pub struct FetchExchange;

impl Exchange for FetchExchange {
    async fn exchange(&self, request: Outbound<'_>) -> Result<(u16, Vec<u8>), ExchangeError> {
        let method = match request.method {
            "GET" => Method::Get,
            _ => Method::Post,
        };
        let Outbound {
            url,
            headers,
            body,
            timeout_ms,
            max_bytes,
            ..
        } = request;
        exchange(method, url, headers, body, timeout_ms, max_bytes).await
    }

    async fn exchange_cacheable(
        &self,
        request: Outbound<'_>,
    ) -> Result<(u16, Vec<u8>, Option<String>), ExchangeError> {
        let Outbound {
            url,
            headers,
            timeout_ms,
            max_bytes,
            ..
        } = request;
        let answer =
            exchange_through(None, Method::Get, url, headers, None, timeout_ms, max_bytes).await?;
        Ok((answer.status, answer.body, answer.cache_control))
    }

    async fn reachable(&self, url: &str) -> bool {
        reachable(url).await
    }
}

/// An answer read whole.
pub struct Answered {
    /// The status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
    /// Its `Cache-Control`.
    pub cache_control: Option<String>,
}

/// Sends `method url` with `headers` and an optional JSON `body`, and returns the status and
/// the whole body (at most `max_bytes`), or gives up after `timeout_ms`.
pub async fn exchange(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
    timeout_ms: u64,
    max_bytes: usize,
) -> Result<(u16, Vec<u8>), ExchangeError> {
    let answer = exchange_through(None, method, url, headers, body, timeout_ms, max_bytes).await?;
    Ok((answer.status, answer.body))
}

/// [`exchange`], sent to a service binding (another Worker) when `service` is given (`url`
/// is then the URL that Worker sees), with the answer's `Cache-Control`.
pub async fn exchange_through(
    service: Option<&Fetcher>,
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
    timeout_ms: u64,
    max_bytes: usize,
) -> Result<Answered, ExchangeError> {
    let unsent = |e: worker::Error| ExchangeError::Unsent(e.to_string());
    let header_set = Headers::new();
    for (name, value) in headers {
        header_set.set(name, value).map_err(unsent)?;
    }
    let mut init = RequestInit::new();
    if let Some(body) = body {
        header_set
            .set("Content-Type", "application/json")
            .map_err(unsent)?;
        init.with_body(Some(body.into()));
    }
    // Redirects are not followed: a secret header (a facilitator credential, an LND
    // macaroon) must not go to wherever a 3xx points; the 3xx is the answer.
    init.with_method(method)
        .with_headers(header_set)
        .with_redirect(RequestRedirect::Manual);
    let request = Request::new_with_init(url, &init).map_err(unsent)?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let exchange = async {
        let sent = match service {
            None => Fetch::Request(request).send_with_signal(&signal).await,
            Some(service) => send_to_service(service, &request).await,
        };
        let mut response = sent.map_err(|e| ExchangeError::Connection(e.to_string()))?;
        let cache_control = response.headers().get("Cache-Control").ok().flatten();
        Ok(Answered {
            status: response.status_code(),
            body: read_bounded(&mut response, max_bytes).await?,
            cache_control,
        })
    };
    futures_util::pin_mut!(exchange);
    match select(exchange, Delay::from(Duration::from_millis(timeout_ms))).await {
        Either::Left((answer, _)) => answer,
        Either::Right(_) => {
            controller.abort();
            Err(ExchangeError::Timeout)
        }
    }
}

/// Sends `request` to a service binding through its JavaScript `fetch`, whose answer is a
/// `Response` whichever workers-rs features the application turned on (its `Fetcher`
/// methods answer `http` types under the `http` feature).
async fn send_to_service(service: &Fetcher, request: &Request) -> worker::Result<worker::Response> {
    let service: worker::worker_sys::Fetcher = service.clone().into_rpc();
    let answer = JsFuture::from(service.fetch(request.inner())?).await?;
    Ok(worker::Response::from(
        answer.dyn_into::<worker::web_sys::Response>()?,
    ))
}

/// The body, refused as soon as it is known to exceed `max_bytes` (from `Content-Length`, or
/// while reading).
async fn read_bounded(
    response: &mut worker::Response,
    max_bytes: usize,
) -> Result<Vec<u8>, ExchangeError> {
    let too_large = || ExchangeError::Broken(format!("answer larger than {max_bytes} bytes"));
    let declared = response
        .headers()
        .get("Content-Length")
        .ok()
        .flatten()
        .and_then(|n| n.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_bytes as u64) {
        return Err(too_large());
    }
    let broken = |e: worker::Error| ExchangeError::Broken(e.to_string());
    let mut stream = response.stream().map_err(broken)?;
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(broken)?;
        if body.len() + chunk.len() > max_bytes {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// How long [`reachable`] waits for a connection.
const PROBE_TIMEOUT_MS: u64 = 2_000;

/// Whether `url`'s host accepts TCP connections on its port now: `false` when the connection
/// fails (refused, the name does not resolve), so a request that failed to connect a moment
/// ago did not arrive. Anything it cannot tell (a probe not allowed, no answer in time) is
/// `true`: the request may have arrived. A wrong `false` (a host that took the request, then
/// went down) costs nothing: the next facilitator's `/settle` of the same authorisation
/// cannot move tokens twice, the chain refuses its nonce, and the payment becomes unknown.
pub async fn reachable(url: &str) -> bool {
    let Some((host, port)) = socket_address(url) else {
        return true;
    };
    let Ok(mut socket) = Socket::builder().connect(host, port) else {
        return true;
    };
    let opened = {
        let opened = socket.opened();
        futures_util::pin_mut!(opened);
        match select(opened, Delay::from(Duration::from_millis(PROBE_TIMEOUT_MS))).await {
            Either::Left((opened, _)) => Some(opened.map(|_| ())),
            Either::Right(_) => None,
        }
    };
    let _ = socket.close().await;
    // workerd says "proxy request failed, cannot connect to the specified address" for a
    // refused connection, and the same for an address Workers may not open sockets to
    // (Cloudflare's own): there the probe cannot tell, and says "not reachable"; the nonce
    // rule above keeps that safe.
    matches!(opened, Some(Ok(())) | None)
}

/// Host and port of an `http(s)://` URL (the default port of its scheme when none is given).
fn socket_address(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let default = match scheme {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    let (authority, _) = split_authority(rest);
    let authority = authority.rsplit('@').next()?;
    let (host, port) = host_and_port(authority)?;
    let port = match port {
        Some(port) => port.parse().ok()?,
        None => default,
    };
    Some((host.to_owned(), port))
}
