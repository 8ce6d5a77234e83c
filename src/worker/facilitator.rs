//! The facilitator client over `Fetch`, with a timeout (workers-rs `Fetch` has none: the call
//! is raced against a `Delay` and aborted when the delay wins).

use std::time::Duration;

use futures_util::future::{select, Either};
use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit};

use crate::config::FacilitatorConfig;
use crate::gate::flow::{Facilitator, FacilitatorError};
use crate::protocol::facilitator::{
    FacilitatorRequest, SettleResponse, SupportedResponse, VerifyResponse,
};

/// Answers larger than this are not a facilitator's (a verify or settle answer is a few
/// hundred bytes).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// A facilitator reached over HTTP.
pub struct FetchFacilitator {
    url: String,
    verify_timeout_ms: u64,
    settle_timeout_ms: u64,
    authorization: Option<String>,
}

impl FetchFacilitator {
    pub fn new(config: &FacilitatorConfig, authorization: Option<String>) -> Self {
        Self {
            url: config.url.clone(),
            verify_timeout_ms: config.verify_timeout_ms,
            settle_timeout_ms: config.settle_timeout_ms,
            authorization,
        }
    }

    /// `GET /supported`.
    pub async fn supported(&self) -> Result<SupportedResponse, FacilitatorError> {
        self.call(
            Method::Get,
            "supported",
            None::<&()>,
            self.verify_timeout_ms,
        )
        .await
    }

    /// One call: the status and the whole body are raced against the timeout. 2xx and 4xx
    /// bodies are read as the API's answer (some facilitators answer an invalid payment with
    /// 400 and a regular body); 5xx is unavailability.
    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        timeout_ms: u64,
    ) -> Result<T, FacilitatorError> {
        let unavailable = |detail: String| FacilitatorError::Unavailable { detail };
        let headers = Headers::new();
        let mut init = RequestInit::new();
        if let Some(body) = body {
            let json = serde_json::to_string(body).map_err(|e| unavailable(e.to_string()))?;
            headers
                .set("Content-Type", "application/json")
                .map_err(|e| unavailable(e.to_string()))?;
            init.with_body(Some(json.into()));
        }
        if let Some(authorization) = &self.authorization {
            headers
                .set("Authorization", authorization)
                .map_err(|e| unavailable(e.to_string()))?;
        }
        init.with_method(method).with_headers(headers);
        let request = Request::new_with_init(&format!("{}/{path}", self.url), &init)
            .map_err(|e| unavailable(e.to_string()))?;
        let controller = AbortController::default();
        let signal = controller.signal();
        let fetch = Fetch::Request(request);
        let exchange = async {
            let mut response = fetch.send_with_signal(&signal).await?;
            let status = response.status_code();
            Ok::<_, worker::Error>((status, response.bytes().await?))
        };
        futures_util::pin_mut!(exchange);
        let (status, bytes) =
            match select(exchange, Delay::from(Duration::from_millis(timeout_ms))).await {
                Either::Left((Ok(answer), _)) => answer,
                Either::Left((Err(error), _)) => return Err(unavailable(error.to_string())),
                Either::Right(_) => {
                    controller.abort();
                    return Err(FacilitatorError::Timeout);
                }
            };
        if status >= 500 {
            return Err(unavailable(format!("HTTP {status}")));
        }
        if bytes.len() > MAX_ANSWER_BYTES {
            return Err(FacilitatorError::Malformed {
                detail: format!("answer of {} bytes", bytes.len()),
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| FacilitatorError::Malformed {
            detail: format!("HTTP {status}: {e}"),
        })
    }
}

impl Facilitator for FetchFacilitator {
    async fn verify(
        &self,
        request: &FacilitatorRequest,
    ) -> Result<VerifyResponse, FacilitatorError> {
        self.call(
            Method::Post,
            "verify",
            Some(request),
            self.verify_timeout_ms,
        )
        .await
    }

    async fn settle(
        &self,
        request: &FacilitatorRequest,
    ) -> Result<SettleResponse, FacilitatorError> {
        self.call(
            Method::Post,
            "settle",
            Some(request),
            self.settle_timeout_ms,
        )
        .await
    }
}
