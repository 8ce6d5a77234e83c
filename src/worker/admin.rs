//! The operator's view: `GET /__edge402/settlements`, listing the payments the coordinator
//! could not settle or prove (state `unknown`), or that the chain refused after that (state
//! `refused`), from the index the coordinator keeps in KV. Authorised by the secret
//! `ADMIN_TOKEN` (`Authorization: Bearer <token>`, compared in constant time); without the
//! secret the endpoint does not exist.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use worker::worker_sys::web_sys;
use worker::{Env, Response, Result};

use super::RECEIPTS_KV;
use crate::gate::receipt::PAYMENT_INDEX_PREFIX;
use crate::routes::UrlParts;

/// The path of the listing.
pub const SETTLEMENTS_PATH: &str = "/__edge402/settlements";
/// The secret that opens it.
const ADMIN_TOKEN_SECRET: &str = "ADMIN_TOKEN";
/// At most this many payments are answered (the answer says when there are more).
const MAX_LISTED: usize = 100;
/// At most this many KV list pages (of 1000 keys) are read per request.
const MAX_PAGES: usize = 10;

/// Answers the listing, or `None` when the request (`parts`: its URL's) is not for it.
pub async fn settlements(
    request: &web_sys::Request,
    parts: &UrlParts<'_>,
    env: &Env,
) -> Option<Result<Response>> {
    if parts.path != SETTLEMENTS_PATH {
        return None;
    }
    let token = env.secret(ADMIN_TOKEN_SECRET).ok()?.to_string();
    if token.is_empty() {
        return None;
    }
    let presented = request
        .headers()
        .get("Authorization")
        .ok()
        .flatten()
        .and_then(|h| h.strip_prefix("Bearer ").map(str::to_owned))
        .unwrap_or_default();
    if !same_secret(&presented, &token) {
        let body =
            json!({"error": "unauthorized", "message": "send Authorization: Bearer <ADMIN_TOKEN>"});
        return Some(Response::from_json(&body).map(|r| {
            let r = r.with_status(401);
            let _ = r.headers().set("WWW-Authenticate", "Bearer");
            r
        }));
    }
    // The values are names and hex: no percent-decoding is needed.
    let query = parts.query.unwrap_or("");
    let wanted = |name: &str| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_ascii_lowercase())
    };
    let filter = Filter {
        state: wanted("state").unwrap_or_else(|| "unknown".into()),
        payer: wanted("payer"),
        nonce: wanted("nonce"),
    };
    if !["unknown", "refused", "all"].contains(&filter.state.as_str()) {
        let body = json!({"error": "invalid_state", "message": "state is unknown, refused or all"});
        return Some(Response::from_json(&body).map(|r| r.with_status(400)));
    }
    Some(list(env, &filter).await)
}

/// Equal secrets, compared over their digests so that neither length nor content leaks
/// through timing.
fn same_secret(presented: &str, token: &str) -> bool {
    let (a, b) = (Sha256::digest(presented), Sha256::digest(token));
    bool::from(a.ct_eq(&b))
}

struct Filter {
    state: String,
    payer: Option<String>,
    nonce: Option<String>,
}

impl Filter {
    fn admits(&self, metadata: &Value) -> bool {
        let field = |name: &str| metadata.get(name).and_then(Value::as_str).unwrap_or("");
        (self.state == "all" || field("state") == self.state)
            && self.payer.as_deref().is_none_or(|p| field("payer") == p)
            && self.nonce.as_deref().is_none_or(|n| field("nonce") == n)
    }
}

async fn list(env: &Env, filter: &Filter) -> Result<Response> {
    let kv = env.kv(RECEIPTS_KV)?;
    let mut keys = Vec::new();
    let mut cursor = None;
    let mut complete = false;
    for _ in 0..MAX_PAGES {
        let mut listing = kv.list().prefix(PAYMENT_INDEX_PREFIX.to_owned());
        if let Some(cursor) = cursor.take() {
            listing = listing.cursor(cursor);
        }
        let page = listing.execute().await?;
        for key in page.keys {
            if key.metadata.as_ref().is_some_and(|m| filter.admits(m)) {
                keys.push(key.name);
            }
        }
        cursor = page.cursor.filter(|_| !page.list_complete);
        if cursor.is_none() {
            complete = true;
            break;
        }
    }
    let truncated = !complete || keys.len() > MAX_LISTED;
    keys.truncate(MAX_LISTED);
    let mut payments = Vec::new();
    for key in &keys {
        // An entry that cannot be read is shown as such, not allowed to hide the others.
        let text = kv.get(key).text().await.ok().flatten();
        match text.map(|t| serde_json::from_str::<Value>(&t)) {
            Some(Ok(entry)) => payments.push(entry),
            Some(Err(error)) => payments.push(json!({"key": key, "unreadable": error.to_string()})),
            None => {}
        }
    }
    Response::from_json(&json!({ "payments": payments, "truncated": truncated }))
}
