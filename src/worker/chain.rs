//! The chains' JSON-RPC APIs over `Fetch` (the URL of each network's `rpc_url`), for the
//! payment coordinator's reconciliation and the smart-wallet code check: one call at a time,
//! with a timeout and a bounded answer.

use serde_json::{json, Value};
use worker::Method;

use super::outbound::exchange;
use crate::gate::ledger::{ChainError, ChainReader};
use crate::networks::Networks;

/// How long one JSON-RPC call of the coordinator may take (it runs beside a waiting client
/// only for a retry, and from an alarm otherwise).
const RPC_TIMEOUT_MS: u64 = 10_000;
/// How long a JSON-RPC call in a client's request path (a smart-wallet payer's code) may
/// take: past it the check is skipped, and the facilitator decides.
const REQUEST_RPC_TIMEOUT_MS: u64 = 2_000;
/// The largest answer read: the filters asked for match a handful of logs.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// The JSON-RPC endpoints of the configured networks.
pub struct RpcChains<'a> {
    networks: &'a Networks,
    timeout_ms: u64,
}

impl<'a> RpcChains<'a> {
    /// For the payment coordinator.
    pub fn new(networks: &'a Networks) -> Self {
        Self {
            networks,
            timeout_ms: RPC_TIMEOUT_MS,
        }
    }

    /// For checks made while a client waits, with a shorter timeout.
    pub fn in_request(networks: &'a Networks) -> Self {
        Self {
            networks,
            timeout_ms: REQUEST_RPC_TIMEOUT_MS,
        }
    }
}

impl ChainReader for RpcChains<'_> {
    async fn call(&self, chain_id: u64, method: &str, params: Value) -> Result<Value, ChainError> {
        let failed = |detail: String| ChainError::Failed { detail };
        let url = self
            .networks
            .by_chain_id(chain_id)
            .and_then(|network| network.rpc_url.as_deref())
            .ok_or(ChainError::NoEndpoint { chain_id })?;
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let (status, bytes) = exchange(
            Method::Post,
            url,
            &[],
            Some(body.to_string()),
            self.timeout_ms,
            MAX_ANSWER_BYTES,
        )
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
