//! The Cloudflare Worker shell (feature `worker`, wasm32 only): reads the request, the
//! bindings and the clock, performs what [`crate::gate`] decides with `Fetch` and KV, and
//! writes one JSON log line per request. Everything it decides is decided by the core.
//!
//! Bindings: `EDGE402_CONFIG` (a var: a table in `wrangler.toml`, or JSON text), `RECEIPTS`
//! (a KV namespace), `PAYMENTS` (the payment coordinator's Durable Objects), `ALLOWANCES`
//! (invoice and smart-wallet allowances), `TOKEN_BUDGET` (L402 request budgets), the optional
//! secrets `FACILITATOR_AUTHORIZATION` (sent as the facilitator's `Authorization` header),
//! `ORIGIN_AUTHORIZATION` (sent to the origin in `origin.secret_header`) and `ADMIN_TOKEN`
//! (opens the operator's listing, [`admin`]), and for L402 routes the secrets
//! `L402_ROOT_SECRET` (root keys are derived from it) and `LND_MACAROON` (hex, for invoices).

mod admin;
mod budget;
mod chain;
mod facilitator;
mod lightning;
mod objects;
mod origin;
mod outbound;
mod payments;

use std::cell::Cell;
use std::sync::OnceLock;

use serde_json::json;
use worker::{
    console_error, console_log, event, Context, Date, Env, Headers, Method, Request, Response,
    Result,
};

use crate::config::{ConfigError, GatewayConfig};
use crate::gate::flow::{handle, LogRecord, Outcome, ReceiptStore, Services};
use crate::gate::forward::same_header_name;
use crate::gate::http::{self as answers, Answer};
use crate::gate::receipt::{revocation_key, verify_refusal_key, Receipt, VERIFY_REFUSAL_TTL_S};
use crate::gate::{
    Gate, Refusal, Refused, RequestFacts, Secrets, L402_ROOT_SECRET, METHOD_OVERRIDE_HEADERS,
};
use crate::l402::{RootKeySecret, TokenId};
use crate::protocol::{PAYMENT_SIGNATURE, X_PAYMENT};
use crate::routes::UrlParts;
use chain::RpcChains;
use facilitator::FetchFacilitator;
use lightning::Lnd;
use objects::ObjectAllowances;
use origin::{ContentSource, DemoOrigin, ProxyOrigin};
use payments::ObjectCoordinator;

/// The configuration variable.
const CONFIG_VAR: &str = "EDGE402_CONFIG";
/// The KV namespace of receipts.
const RECEIPTS_KV: &str = "RECEIPTS";
/// The optional secret sent as the facilitator's `Authorization` header.
const FACILITATOR_AUTH_SECRET: &str = "FACILITATOR_AUTHORIZATION";
/// The optional secret sent to the origin in `origin.secret_header`, so that it can refuse
/// traffic that did not come through the gateway.
const ORIGIN_AUTH_SECRET: &str = "ORIGIN_AUTHORIZATION";
/// LND's invoice macaroon, hex.
const LND_MACAROON_SECRET: &str = "LND_MACAROON";

#[event(fetch)]
async fn fetch(request: Request, env: Env, ctx: Context) -> Result<Response> {
    if let Some(answer) = admin::settlements(&request, &env).await {
        return answer;
    }
    let now = Date::now().as_millis() / 1000;
    // The runtime hands over a WHATWG-normalised absolute URL; splitting it by hand keeps the
    // `url` crate's parser and its Unicode tables (about 100 KB) out of the build.
    let url = request.inner().url();
    let parts = UrlParts::split(&url);
    let method = request.method().to_string();
    let gate = match gate(&env) {
        Ok(gate) => gate,
        Err(error) => {
            let refused = Refused::bare(Refusal::Configuration(error.clone()), None);
            let disposition = refused.refusal.disposition();
            log(
                &LogRecord {
                    outcome: disposition.outcome,
                    status: disposition.status,
                    reason: Some(disposition.reason),
                    detail: Some(error.to_string()),
                    ..LogRecord::default()
                },
                &method,
                parts.path,
                None,
            );
            return respond(answers::answer(
                &refused,
                &crate::networks::Networks::builtin(),
            ));
        }
    };
    check_supported_once(gate, &env, &ctx);
    let store = KvReceipts {
        kv: env.kv(RECEIPTS_KV).ok(),
        budgets: env.durable_object(budget::BUDGET_BINDING).ok(),
    };
    let coordinator = ObjectCoordinator::new(&env);
    let facilitator = facilitator(gate, &env);
    let header = |name: &str| request.headers().get(name).ok().flatten();
    let (payment_signature, x_payment) = (header(PAYMENT_SIGNATURE), header(X_PAYMENT));
    let (authorization, client) = (header("Authorization"), header("CF-Connecting-IP"));
    let accept = header("Accept");
    let method_override = request.headers().keys().find_map(|sent| {
        METHOD_OVERRIDE_HEADERS
            .into_iter()
            .find(|name| same_header_name(&sent, name))
    });
    let facts = RequestFacts {
        method: &method,
        path: parts.path,
        query: parts.query,
        base_url: parts.origin,
        payment_signature: payment_signature.as_deref(),
        x_payment: x_payment.as_deref(),
        preflight: request.method() == Method::Options
            && header("Access-Control-Request-Method").is_some(),
        authorization: authorization.as_deref(),
        client: client.as_deref(),
        accept: accept.as_deref(),
        method_override,
    };
    let origin = match &gate.config().origin {
        Some(config) => {
            let secret = env.secret(ORIGIN_AUTH_SECRET).ok().map(|s| s.to_string());
            ContentSource::Proxy(ProxyOrigin::new(config, secret, parts.origin, &request))
        }
        None => ContentSource::Demo(DemoOrigin::new(&method, gate)),
    };
    let lnd_macaroon = env.secret(LND_MACAROON_SECRET).ok().map(|s| s.to_string());
    let invoices = gate
        .config()
        .lightning
        .as_ref()
        .map(|ln| Lnd::new(ln, lnd_macaroon));
    let allowances = ObjectAllowances::new(&env);
    let chain = RpcChains::in_request(&gate.config().networks);
    let services = Services {
        facilitator: &facilitator,
        store: &store,
        origin: &origin,
        invoices: &invoices,
        coordinator: &coordinator,
        allowances: &allowances,
        chain: &chain,
    };
    let (outcome, record) = handle(gate, &facts, now, services).await;
    log(&record, &method, parts.path, coordinator.spent_ms());
    finish(gate, outcome)
}

/// Turns an outcome into the Worker's response.
fn finish(gate: &Gate, outcome: Outcome<Response>) -> Result<Response> {
    match outcome {
        Outcome::Preflight => respond(answers::preflight()),
        Outcome::Refused(refused) => respond(answers::answer(&refused, &gate.config().networks)),
        Outcome::Origin { response, release } => {
            with_headers(response, &answers::release_headers(&release))
        }
    }
}

/// The gate of this isolate, built from the configuration and its secrets on first use.
fn gate(env: &Env) -> std::result::Result<&'static Gate, ConfigError> {
    static GATE: OnceLock<std::result::Result<Gate, ConfigError>> = OnceLock::new();
    GATE.get_or_init(|| {
        let config = read_config(env)?;
        let secrets = read_secrets(env, &config)?;
        Gate::new(config, secrets)
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// The secrets the configuration uses, as `wrangler secret` bindings: one that is needed and
/// set must be usable; whether a missing one is needed is the gate's to say.
fn read_secrets(env: &Env, config: &GatewayConfig) -> std::result::Result<Secrets, ConfigError> {
    let l402_root = match env.secret(L402_ROOT_SECRET) {
        Err(_) => None,
        Ok(_) if !config.sells_l402() => None,
        Ok(secret) => Some(
            RootKeySecret::new(secret.to_string().as_bytes()).map_err(|_| ConfigError {
                key: L402_ROOT_SECRET.into(),
                problem: "must be at least 32 bytes".into(),
            })?,
        ),
    };
    Ok(Secrets { l402_root })
}

/// `EDGE402_CONFIG` as a table (a `[vars.EDGE402_CONFIG]` section) or as JSON text.
fn read_config(env: &Env) -> std::result::Result<GatewayConfig, ConfigError> {
    let missing = || ConfigError {
        key: CONFIG_VAR.into(),
        problem: "is not set (see README.md, Configuration)".into(),
    };
    // JSON text first: `object_var` accepts only a binding whose constructor is `Object`, so a
    // string var (`--var`, `[vars]` as text, a secret) would otherwise read as missing.
    if let Ok(text) = env.var(CONFIG_VAR) {
        return GatewayConfig::from_json_text(&text.to_string());
    }
    match env.object_var::<serde_json::Value>(CONFIG_VAR) {
        Ok(serde_json::Value::Null) | Err(_) => Err(missing()),
        Ok(value) => GatewayConfig::from_json(&value),
    }
}

/// Once per isolate, after answering, asks the facilitator what it supports and logs any
/// configured network it does not settle. Never delays a request.
fn check_supported_once(gate: &'static Gate, env: &Env, ctx: &Context) {
    thread_local!(static CHECKED: Cell<bool> = const { Cell::new(false) });
    if CHECKED.with(|c| c.replace(true)) {
        return;
    }
    for warning in gate.config().warnings() {
        console_error!("{}", json!({"event": "config_warning", "detail": warning}));
    }
    let facilitator = facilitator(gate, env);
    ctx.wait_until(async move {
        match facilitator.supported().await {
            Ok(supported) => {
                let missing = gate.config().unsupported_offers(&supported);
                if !missing.is_empty() {
                    console_error!("{}", json!({"event": "config_error", "reason": "facilitator_unsupported", "offers": missing}));
                }
            }
            Err(error) => console_error!("{}", json!({"event": "supported_check_failed", "detail": error.to_string()})),
        }
    });
}

/// The facilitator client of the configuration, with its optional credential secret.
fn facilitator(gate: &Gate, env: &Env) -> FetchFacilitator {
    let authorization = env
        .secret(FACILITATOR_AUTH_SECRET)
        .ok()
        .map(|s| s.to_string());
    FetchFacilitator::new(&gate.config().facilitator, authorization)
}

/// The gateway's state as the flow reads it: receipts and revocations in Workers KV (a failed
/// read is a miss; the payment coordinator writes the receipts), L402 request budgets in
/// Durable Objects.
struct KvReceipts {
    kv: Option<worker::kv::KvStore>,
    /// L402 request budgets (Durable Objects), when bound.
    budgets: Option<worker::ObjectNamespace>,
}

impl ReceiptStore for KvReceipts {
    async fn get(&self, key: &str) -> Option<Receipt> {
        let kv = self.kv.as_ref()?;
        match kv.get(key).json::<Receipt>().await {
            Ok(found) => found,
            Err(error) => {
                console_error!(
                    "{}",
                    json!({"event": "receipt_read_failed", "detail": error.to_string()})
                );
                None
            }
        }
    }

    async fn consume_token_request(
        &self,
        token_id: &TokenId,
        limit: u32,
    ) -> std::result::Result<bool, String> {
        let namespace = self
            .budgets
            .as_ref()
            .ok_or("no TOKEN_BUDGET Durable Object binding")?;
        budget::consume(namespace, token_id, limit).await
    }

    async fn verify_refused(&self, verify_key: &str) -> Option<String> {
        let kv = self.kv.as_ref()?;
        kv.get(&verify_refusal_key(verify_key))
            .text()
            .await
            .ok()
            .flatten()
    }

    async fn remember_verify_refusal(&self, verify_key: &str, reason: &str) {
        let Some(kv) = self.kv.as_ref() else {
            return;
        };
        let put = kv
            .put(&verify_refusal_key(verify_key), reason)
            .map(|put| put.expiration_ttl(VERIFY_REFUSAL_TTL_S));
        let written = match put {
            Ok(put) => put.execute().await,
            Err(error) => Err(error),
        };
        if let Err(error) = written {
            console_error!(
                "{}",
                json!({"event": "verify_refusal_not_kept", "detail": error.to_string()})
            );
        }
    }

    async fn is_revoked(&self, token_id: &TokenId) -> std::result::Result<bool, String> {
        let kv = self.kv.as_ref().ok_or("no RECEIPTS binding")?;
        let entry = kv
            .get(&revocation_key(token_id))
            .text()
            .await
            .map_err(|e| e.to_string())?;
        Ok(entry.is_some())
    }
}

fn respond(answer: Answer) -> Result<Response> {
    let headers = Headers::new();
    // `append`, not `set`: an L402 challenge has two `WWW-Authenticate` values (LSAT, L402).
    for (name, value) in &answer.headers {
        headers.append(name, value)?;
    }
    let response = match answer.body.is_empty() {
        true => Response::empty()?,
        false => Response::ok(answer.body)?,
    };
    Ok(response.with_status(answer.status).with_headers(headers))
}

/// The origin's response with our headers set (fetched headers are immutable, so they are
/// copied into a fresh set).
fn with_headers(response: Response, extra: &[(&'static str, String)]) -> Result<Response> {
    if response.status_code() == 101 {
        // A WebSocket upgrade: a rebuilt response would lose its socket (and the runtime
        // refuses a 101 without one), so it passes as the origin sent it.
        return Ok(response);
    }
    let headers = Headers::new();
    for (name, value) in response.headers().entries() {
        headers.append(&name, &value)?;
    }
    for (name, value) in extra {
        headers.set(name, value)?;
    }
    let status = response.status_code();
    let (_, body) = response.into_parts();
    Ok(Response::builder()
        .with_status(status)
        .with_headers(headers)
        .body(body))
}

/// The request's log line: the flow's record, with the method, the path and the time spent
/// waiting for the payment coordinator, when it was asked.
fn log(record: &LogRecord, method: &str, path: &str, coordinator_ms: Option<u64>) {
    let mut line = serde_json::to_value(record).unwrap_or_default();
    if let Some(fields) = line.as_object_mut() {
        fields.insert("method".into(), method.into());
        fields.insert("path".into(), path.into());
        if let Some(ms) = coordinator_ms {
            fields.insert("coordinator_ms".into(), ms.into());
        }
    }
    console_log!("{line}");
}
