//! Outbound HTTP with a deadline: workers-rs `Fetch` has none, so the whole exchange (status
//! and body) is raced against a `Delay` and aborted when the delay wins.

use std::time::Duration;

use futures_util::future::{select, Either};
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit};

/// Why an exchange produced no answer.
pub enum ExchangeError {
    /// The deadline passed first (the request was aborted; its effect is unknown).
    Timeout,
    /// The request could not be built or the connection failed.
    Failed(String),
}

/// Sends `method url` with `headers` and an optional JSON `body`, and returns the status and
/// the whole body, or gives up after `timeout_ms`.
pub async fn exchange(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
    timeout_ms: u64,
) -> Result<(u16, Vec<u8>), ExchangeError> {
    let failed = |e: worker::Error| ExchangeError::Failed(e.to_string());
    let header_set = Headers::new();
    for (name, value) in headers {
        header_set.set(name, value).map_err(failed)?;
    }
    let mut init = RequestInit::new();
    if let Some(body) = body {
        header_set
            .set("Content-Type", "application/json")
            .map_err(failed)?;
        init.with_body(Some(body.into()));
    }
    init.with_method(method).with_headers(header_set);
    let request = Request::new_with_init(url, &init).map_err(failed)?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Fetch::Request(request);
    let exchange = async {
        let mut response = fetch.send_with_signal(&signal).await?;
        let status = response.status_code();
        Ok::<_, worker::Error>((status, response.bytes().await?))
    };
    futures_util::pin_mut!(exchange);
    match select(exchange, Delay::from(Duration::from_millis(timeout_ms))).await {
        Either::Left((answer, _)) => answer.map_err(failed),
        Either::Right(_) => {
            controller.abort();
            Err(ExchangeError::Timeout)
        }
    }
}
