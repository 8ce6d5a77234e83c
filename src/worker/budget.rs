//! Per-token request budgets for L402 (`l402.max_requests`), counted in a Durable Object:
//! one object per token id, whose storage operations run one event at a time, so a
//! read-increment-write is atomic (KV, eventually consistent and without increments, cannot
//! count).

use worker::{
    durable_object, DurableObject, Env, ObjectNamespace, Request, Response, Result, State,
};

use crate::l402::TokenId;

/// The Durable Object binding (`wrangler.toml`, class `TokenBudget`).
pub const BUDGET_BINDING: &str = "TOKEN_BUDGET";
/// The storage key of the count.
const USED: &str = "used";

/// The count of one token.
#[durable_object]
pub struct TokenBudget {
    state: State,
}

impl DurableObject for TokenBudget {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    /// `POST /consume?limit=N`: 200 when one more request fits (and counts it), 429 when the
    /// budget is used up.
    async fn fetch(&self, request: Request) -> Result<Response> {
        let url = request.inner().url();
        let limit = url
            .split_once("limit=")
            .and_then(|(_, rest)| rest.split('&').next())
            .and_then(|n| n.parse::<u32>().ok())
            .ok_or("limit is missing")?;
        let storage = self.state.storage();
        let used: u32 = storage.get(USED).await?.unwrap_or(0);
        if used >= limit {
            return Response::error("request budget used up", 429);
        }
        storage.put(USED, used + 1).await?;
        Response::ok("counted")
    }
}

/// Counts one request of `token_id` in its object.
pub async fn consume(
    namespace: &ObjectNamespace,
    token_id: &TokenId,
    limit: u32,
) -> std::result::Result<bool, String> {
    let stub = namespace
        .id_from_name(&hex::encode(token_id.0))
        .and_then(|id| id.get_stub())
        .map_err(|e| e.to_string())?;
    let response = stub
        .fetch_with_str(&format!("https://token-budget/consume?limit={limit}"))
        .await
        .map_err(|e| e.to_string())?;
    match response.status_code() {
        200 => Ok(true),
        429 => Ok(false),
        status => Err(format!("token budget answered HTTP {status}")),
    }
}
