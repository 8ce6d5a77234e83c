//! The facilitator client over `Fetch`, with timeouts.

use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::Method;

use super::outbound::{exchange, ExchangeError};

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
        let (_, supported) = self
            .call(
                Method::Get,
                "supported",
                None::<&()>,
                self.verify_timeout_ms,
            )
            .await?;
        Ok(supported)
    }

    /// One call. 2xx and 4xx bodies are read as the API's answer (some facilitators answer an
    /// invalid payment with 400 and a regular body); 5xx is unavailability.
    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        timeout_ms: u64,
    ) -> Result<(u16, T), FacilitatorError> {
        let unavailable = |detail: String| FacilitatorError::Unavailable { detail };
        let body = body
            .map(|b| serde_json::to_string(b).map_err(|e| unavailable(e.to_string())))
            .transpose()?;
        let mut headers = Vec::new();
        if let Some(authorization) = &self.authorization {
            headers.push(("Authorization", authorization.as_str()));
        }
        let url = format!("{}/{path}", self.url);
        let (status, bytes) = match exchange(method, &url, &headers, body, timeout_ms).await {
            Ok(answer) => answer,
            Err(ExchangeError::Timeout) => return Err(FacilitatorError::Timeout),
            Err(ExchangeError::Failed(detail)) => return Err(unavailable(detail)),
        };
        if status >= 500 {
            return Err(unavailable(format!("HTTP {status}")));
        }
        if bytes.len() > MAX_ANSWER_BYTES {
            return Err(FacilitatorError::Malformed {
                detail: format!("answer of {} bytes", bytes.len()),
            });
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| FacilitatorError::Malformed {
                detail: format!("HTTP {status}: {e}"),
            })
            .map(|answer| (status, answer))
    }
}

/// Only a 2xx answer can say yes: a 4xx body saying `success: true` or `isValid: true` is not
/// the API's answer.
fn refusal_only(status: u16, says_yes: bool) -> Result<(), FacilitatorError> {
    if says_yes && !(200..300).contains(&status) {
        return Err(FacilitatorError::Malformed {
            detail: format!("HTTP {status} with a positive answer"),
        });
    }
    Ok(())
}

impl Facilitator for FetchFacilitator {
    async fn verify(
        &self,
        request: &FacilitatorRequest,
    ) -> Result<VerifyResponse, FacilitatorError> {
        let (status, answer): (u16, VerifyResponse) = self
            .call(
                Method::Post,
                "verify",
                Some(request),
                self.verify_timeout_ms,
            )
            .await?;
        refusal_only(status, answer.is_valid)?;
        Ok(answer)
    }

    async fn settle(
        &self,
        request: &FacilitatorRequest,
    ) -> Result<SettleResponse, FacilitatorError> {
        let (status, answer): (u16, SettleResponse) = self
            .call(
                Method::Post,
                "settle",
                Some(request),
                self.settle_timeout_ms,
            )
            .await?;
        refusal_only(status, answer.success)?;
        Ok(answer)
    }
}
