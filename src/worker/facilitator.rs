//! The facilitator client over `Fetch`, with timeouts, bounded answers and failover: the
//! configured URLs are tried in order, the next one only when a request could not have
//! reached the one before (see [`reachable`]). A request that may have arrived is never sent
//! elsewhere: its outcome is unknown, and the payment coordinator lets the chain decide.

use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::Method;

use super::outbound::{exchange, reachable, ExchangeError};

use crate::config::FacilitatorConfig;
use crate::gate::flow::{Facilitator, FacilitatorError};
use crate::protocol::facilitator::{
    FacilitatorRequest, SettleResponse, SupportedResponse, VerifyResponse,
};

/// Answers larger than this are not a facilitator's (a verify or settle answer is a few
/// hundred bytes; `/supported` a few kilobytes).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// A facilitator reached over HTTP.
pub struct FetchFacilitator {
    urls: Vec<String>,
    verify_timeout_ms: u64,
    settle_timeout_ms: u64,
    authorization: Option<String>,
}

impl FetchFacilitator {
    pub fn new(config: &FacilitatorConfig, authorization: Option<String>) -> Self {
        Self {
            urls: config.urls.clone(),
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

    /// One call, failing over to the next URL while the request could not have been sent.
    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        timeout_ms: u64,
    ) -> Result<(u16, T), FacilitatorError> {
        let body =
            body.map(serde_json::to_string)
                .transpose()
                .map_err(|e| FacilitatorError::NotSent {
                    detail: e.to_string(),
                })?;
        let mut not_sent = Vec::new();
        for base in &self.urls {
            let url = format!("{base}/{path}");
            match self
                .call_one(method.clone(), &url, body.clone(), timeout_ms)
                .await
            {
                Err(FacilitatorError::NotSent { detail }) => {
                    not_sent.push(format!("{url}: {detail}"))
                }
                answer => return answer,
            }
        }
        Err(FacilitatorError::NotSent {
            detail: not_sent.join("; "),
        })
    }

    /// One call to one URL. 2xx and 4xx bodies are read as the API's answer (some
    /// facilitators answer an invalid payment with 400 and a regular body); 5xx is
    /// unavailability.
    async fn call_one<T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: Option<String>,
        timeout_ms: u64,
    ) -> Result<(u16, T), FacilitatorError> {
        let mut headers = Vec::new();
        if let Some(authorization) = &self.authorization {
            headers.push(("Authorization", authorization.as_str()));
        }
        let exchanged = exchange(method, url, &headers, body, timeout_ms, MAX_ANSWER_BYTES).await;
        let (status, bytes) = match exchanged {
            Ok(answer) => answer,
            Err(ExchangeError::Timeout) => return Err(FacilitatorError::Timeout),
            Err(ExchangeError::Unsent(detail)) => return Err(FacilitatorError::NotSent { detail }),
            Err(ExchangeError::Connection(detail)) if !reachable(url).await => {
                return Err(FacilitatorError::NotSent { detail })
            }
            Err(ExchangeError::Broken(detail)) => {
                return Err(FacilitatorError::Malformed { detail })
            }
            Err(ExchangeError::Connection(detail)) => {
                return Err(FacilitatorError::Unavailable { detail })
            }
        };
        if status >= 500 {
            return Err(FacilitatorError::Unavailable {
                detail: format!("HTTP {status}"),
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
