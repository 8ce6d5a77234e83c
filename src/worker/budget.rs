//! Per-token request budgets for L402 (`l402.max_requests`), counted in a Durable Object:
//! one object per token id, whose storage operations run one event at a time, so a
//! read-increment-write is atomic (KV, eventually consistent and without increments, cannot
//! count).

use serde::{Deserialize, Serialize};
use worker::{
    durable_object, DurableObject, Env, ObjectNamespace, Request, Response, Result, State,
};

use super::objects::{call_object, read_json};
use crate::l402::TokenId;

/// The Durable Object binding (`wrangler.toml`, class `TokenBudget`).
pub const BUDGET_BINDING: &str = "TOKEN_BUDGET";
/// The storage key of the count.
const USED: &str = "used";

/// `POST /consume`.
#[derive(Serialize, Deserialize)]
struct ConsumeCall {
    limit: u32,
}

/// The count of one token.
#[durable_object]
pub struct TokenBudget {
    state: State,
}

impl DurableObject for TokenBudget {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    /// `POST /consume {"limit": N}`: `true` when one more request fits (and counts it),
    /// `false` when the budget is used up.
    async fn fetch(&self, mut request: Request) -> Result<Response> {
        let call: ConsumeCall = read_json(&mut request).await?;
        let storage = self.state.storage();
        let used: u32 = storage.get(USED).await?.unwrap_or(0);
        if used >= call.limit {
            return Response::from_json(&false);
        }
        storage.put(USED, used + 1).await?;
        Response::from_json(&true)
    }
}

/// Counts one request of `token_id` in its object.
pub async fn consume(
    namespace: &ObjectNamespace,
    token_id: &TokenId,
    limit: u32,
) -> std::result::Result<bool, String> {
    let name = hex::encode(token_id.0);
    call_object(namespace, &name, "/consume", &ConsumeCall { limit }).await
}
