//! The gateway's HTTP clients of remote services, over whatever sends requests in a shell
//! ([`Exchange`]: `Fetch` in the Worker, the runtime's `fetch` in the JavaScript
//! middleware): the facilitator with timeouts, bounded answers and failover
//! ([`HttpFacilitator`]), and the chains' JSON-RPC endpoints ([`RpcChains`]).
//!
//! Failover: the configured facilitator URLs are tried in order, the next one only when a
//! request could not have reached the one before ([`Exchange::reachable`]). A request that
//! may have arrived is never sent elsewhere: its outcome is unknown, and the payment
//! coordinator lets the chain decide.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use super::flow::{Facilitator, FacilitatorError};
use super::ledger::{ChainError, ChainReader};
use crate::config::FacilitatorConfig;
use crate::networks::Networks;
use crate::protocol::facilitator::{
    FacilitatorRequest, SettleResponse, SupportedResponse, VerifyResponse,
};

/// One outbound request.
#[derive(Clone, Debug)]
pub struct Outbound<'a> {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Where.
    pub url: &'a str,
    /// Headers to set (a JSON body gets its `Content-Type` from the sender).
    pub headers: &'a [(&'a str, &'a str)],
    /// A JSON body.
    pub body: Option<String>,
    /// Milliseconds until the request is given up (and aborted).
    pub timeout_ms: u64,
    /// The largest answer read; a larger one is [`ExchangeError::Broken`].
    pub max_bytes: usize,
}

/// Why an exchange produced no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExchangeError {
    /// The deadline passed first (the request was aborted; its effect is unknown).
    Timeout,
    /// The request was not sent (it could not be built, or its connection was refused):
    /// nothing can have arrived.
    Unsent(String),
    /// The connection failed before an answer began: the request may or may not have left.
    Connection(String),
    /// An answer began but could not be read whole, or is larger than allowed: the request
    /// arrived.
    Broken(String),
}

impl ExchangeError {
    /// What happened, for the log.
    pub fn detail(&self) -> String {
        match self {
            Self::Timeout => "timed out".into(),
            Self::Unsent(detail) | Self::Connection(detail) | Self::Broken(detail) => {
                detail.clone()
            }
        }
    }
}

/// What sends a shell's outbound requests. Redirects are never followed: a secret header
/// (a facilitator credential) must not go wherever a 3xx points; the 3xx is the answer.
#[allow(async_fn_in_trait)] // Workers futures are not Send; no bound is wanted.
pub trait Exchange {
    /// Sends `request`; the status and the whole body.
    async fn exchange(&self, request: Outbound<'_>) -> Result<(u16, Vec<u8>), ExchangeError>;
    /// [`Exchange::exchange`], with the answer's `Cache-Control`, for what is kept as long
    /// as its answer says (a shell that cannot read it gives `None`).
    async fn exchange_cacheable(
        &self,
        request: Outbound<'_>,
    ) -> Result<(u16, Vec<u8>, Option<String>), ExchangeError> {
        let (status, body) = self.exchange(request).await?;
        Ok((status, body, None))
    }
    /// Whether `url`'s host accepts connections now: `false` only when a request that failed
    /// to connect a moment ago cannot have arrived (anything it cannot tell is `true`).
    async fn reachable(&self, url: &str) -> bool;
}

/// Answers larger than this are not a facilitator's (a verify or settle answer is a few
/// hundred bytes; `/supported` a few kilobytes).
const MAX_FACILITATOR_ANSWER_BYTES: usize = 64 * 1024;

/// A facilitator reached over HTTP.
pub struct HttpFacilitator<X> {
    exchange: X,
    urls: Vec<String>,
    verify_timeout_ms: u64,
    settle_timeout_ms: u64,
    /// Sent as `Authorization` (the `FACILITATOR_AUTHORIZATION` secret).
    authorization: Option<String>,
}

impl<X: Exchange> HttpFacilitator<X> {
    /// The facilitator of `config`, with its optional credential.
    pub fn new(exchange: X, config: &FacilitatorConfig, authorization: Option<String>) -> Self {
        Self {
            exchange,
            urls: config.urls.clone(),
            verify_timeout_ms: config.verify_timeout_ms,
            settle_timeout_ms: config.settle_timeout_ms,
            authorization,
        }
    }

    /// `GET /supported`.
    pub async fn supported(&self) -> Result<SupportedResponse, FacilitatorError> {
        let timeout_ms = self.verify_timeout_ms;
        let (_, supported) = self
            .call("GET", "supported", None::<&()>, timeout_ms)
            .await?;
        Ok(supported)
    }

    /// One call, failing over to the next URL while the request could not have been sent.
    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: &'static str,
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
            match self.call_one(method, &url, body.clone(), timeout_ms).await {
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
        method: &'static str,
        url: &str,
        body: Option<String>,
        timeout_ms: u64,
    ) -> Result<(u16, T), FacilitatorError> {
        let mut headers = Vec::new();
        if let Some(authorization) = &self.authorization {
            headers.push(("Authorization", authorization.as_str()));
        }
        let request = Outbound {
            method,
            url,
            headers: &headers,
            body,
            timeout_ms,
            max_bytes: MAX_FACILITATOR_ANSWER_BYTES,
        };
        let (status, bytes) = match self.exchange.exchange(request).await {
            Ok(answer) => answer,
            Err(ExchangeError::Timeout) => return Err(FacilitatorError::Timeout),
            Err(ExchangeError::Unsent(detail)) => return Err(FacilitatorError::NotSent { detail }),
            Err(ExchangeError::Connection(detail)) if !self.exchange.reachable(url).await => {
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

impl<X: Exchange> Facilitator for HttpFacilitator<X> {
    async fn verify(
        &self,
        request: &FacilitatorRequest,
    ) -> Result<VerifyResponse, FacilitatorError> {
        let timeout_ms = self.verify_timeout_ms;
        let (status, answer): (u16, VerifyResponse) = self
            .call("POST", "verify", Some(request), timeout_ms)
            .await?;
        refusal_only(status, answer.is_valid)?;
        Ok(answer)
    }

    async fn settle(
        &self,
        request: &FacilitatorRequest,
    ) -> Result<SettleResponse, FacilitatorError> {
        let timeout_ms = self.settle_timeout_ms;
        let (status, answer): (u16, SettleResponse) = self
            .call("POST", "settle", Some(request), timeout_ms)
            .await?;
        refusal_only(status, answer.success)?;
        Ok(answer)
    }
}

/// How long one JSON-RPC call of the coordinator may take (it runs beside a waiting client
/// only for a retry, and from an alarm otherwise).
pub const RPC_TIMEOUT_MS: u64 = 10_000;
/// How long a JSON-RPC call in a client's request path (a smart-wallet payer's code) may
/// take: past it the check is skipped, and the facilitator decides.
pub const REQUEST_RPC_TIMEOUT_MS: u64 = 2_000;
/// The largest JSON-RPC answer read: the filters asked for match a handful of logs.
const MAX_RPC_ANSWER_BYTES: usize = 1024 * 1024;

/// The JSON-RPC endpoints of the configured networks (each network's `rpc_url`): one call at
/// a time, with a timeout and a bounded answer.
pub struct RpcChains<'a, X> {
    exchange: X,
    networks: &'a Networks,
    timeout_ms: u64,
}

impl<'a, X: Exchange> RpcChains<'a, X> {
    /// The endpoints of `networks`, each call given up after `timeout_ms`
    /// ([`RPC_TIMEOUT_MS`] for the coordinator, [`REQUEST_RPC_TIMEOUT_MS`] while a client
    /// waits).
    pub fn new(exchange: X, networks: &'a Networks, timeout_ms: u64) -> Self {
        Self {
            exchange,
            networks,
            timeout_ms,
        }
    }
}

impl<X: Exchange> ChainReader for RpcChains<'_, X> {
    async fn call(&self, chain_id: u64, method: &str, params: Value) -> Result<Value, ChainError> {
        let failed = |detail: String| ChainError::Failed { detail };
        let url = self
            .networks
            .by_chain_id(chain_id)
            .and_then(|network| network.rpc_url.as_deref())
            .ok_or(ChainError::NoEndpoint { chain_id })?;
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let request = Outbound {
            method: "POST",
            url,
            headers: &[],
            body: Some(body.to_string()),
            timeout_ms: self.timeout_ms,
            max_bytes: MAX_RPC_ANSWER_BYTES,
        };
        let (status, bytes) = self
            .exchange
            .exchange(request)
            .await
            .map_err(|e| failed(format!("{method}: {}", e.detail())))?;
        if !(200..300).contains(&status) {
            return Err(failed(format!("{method}: HTTP {status}")));
        }
        let mut answer: Value = serde_json::from_slice(&bytes)
            .map_err(|e| failed(format!("{method}: not JSON: {e}")))?;
        if let Some(error) = answer.get("error") {
            return Err(failed(format!("{method}: {error}")));
        }
        match answer.get_mut("result") {
            Some(result) => Ok(result.take()),
            None => Err(failed(format!("{method}: no result"))),
        }
    }
}
