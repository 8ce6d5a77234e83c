//! Calls between the Worker and its Durable Objects: JSON in, JSON out, one helper each way,
//! so every object speaks the same way; and the allowances object ([`AllowanceBook`]).

use std::cell::RefCell;

use serde::{Deserialize, Serialize};
use worker::{
    durable_object, DurableObject, Env, Method, ObjectNamespace, Request, RequestInit, Response,
    Result, State,
};

use crate::gate::limits::{Allowance, Allowances, Ask, Book};

/// The allowances' Durable Object binding (`wrangler.toml`, class `AllowanceBook`).
pub const ALLOWANCES_BINDING: &str = "ALLOWANCES";

/// Calls `path` of the object named `name` with `body` as JSON, and reads its JSON answer; an
/// answer other than 200 is an error with its text.
pub async fn call_object<B: Serialize, T: for<'de> Deserialize<'de>>(
    namespace: &ObjectNamespace,
    name: &str,
    path: &str,
    body: &B,
) -> std::result::Result<T, String> {
    let body = serde_json::to_string(body).map_err(|e| e.to_string())?;
    let text = exchange_text(namespace, name, path, body).await?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// The exchange of [`call_object`] as text: one copy of the stub's request and response
/// handling for every message type.
async fn exchange_text(
    namespace: &ObjectNamespace,
    name: &str,
    path: &str,
    body: String,
) -> std::result::Result<String, String> {
    let failed = |e: worker::Error| e.to_string();
    let stub = namespace
        .id_from_name(name)
        .and_then(|id| id.get_stub())
        .map_err(failed)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    let request =
        Request::new_with_init(&format!("https://object{path}"), &init).map_err(failed)?;
    let mut response = stub.fetch_with_request(request).await.map_err(failed)?;
    let text = response.text().await.map_err(failed)?;
    match response.status_code() {
        200 => Ok(text),
        status => Err(format!("HTTP {status}: {text}")),
    }
}

/// A request body as JSON, read with `serde_json` (every message and stored value is JSON
/// text, so each type has one deserializer in the build).
pub async fn read_json<T: for<'de> Deserialize<'de>>(request: &mut Request) -> Result<T> {
    Ok(serde_json::from_str(&request.text().await?)?)
}

/// `POST /ask`.
#[derive(Serialize, Deserialize)]
struct AskCall {
    ask: Ask,
    now: u64,
}

/// `POST /keep`.
#[derive(Serialize, Deserialize)]
struct KeepCall {
    key: String,
    answer: String,
    until: u64,
    now: u64,
}

/// One scope's allowances ([`Book`]), in memory: one object per scope, so counts hold across
/// isolates. An evicted object forgets them (it is evicted only after it has been idle,
/// which is when the counts no longer matter).
#[durable_object]
pub struct AllowanceBook {
    book: RefCell<Book>,
}

impl DurableObject for AllowanceBook {
    fn new(_state: State, _env: Env) -> Self {
        Self {
            book: RefCell::default(),
        }
    }

    async fn fetch(&self, mut request: Request) -> Result<Response> {
        match request.path().as_str() {
            "/ask" => {
                let call: AskCall = read_json(&mut request).await?;
                let allowance = self.book.borrow_mut().ask(&call.ask, call.now);
                Response::from_json(&allowance)
            }
            "/keep" => {
                let call: KeepCall = read_json(&mut request).await?;
                let mut book = self.book.borrow_mut();
                book.keep(&call.key, call.answer, call.until, call.now);
                Response::from_json(&())
            }
            _ => Response::error("no such call", 404),
        }
    }
}

/// The allowances as the flow asks them: the scope's object, over its stub (the binding is
/// looked up when an allowance is asked for: most requests ask for none).
pub struct ObjectAllowances<'e> {
    env: &'e Env,
}

impl<'e> ObjectAllowances<'e> {
    pub fn new(env: &'e Env) -> Self {
        Self { env }
    }

    fn namespace(&self) -> std::result::Result<ObjectNamespace, String> {
        self.env
            .durable_object(ALLOWANCES_BINDING)
            .map_err(|_| format!("no {ALLOWANCES_BINDING} Durable Object binding"))
    }
}

impl Allowances for ObjectAllowances<'_> {
    async fn ask(&self, ask: &Ask, now: u64) -> std::result::Result<Allowance, String> {
        let call = AskCall {
            ask: ask.clone(),
            now,
        };
        call_object(&self.namespace()?, &ask.scope, "/ask", &call).await
    }

    async fn keep(
        &self,
        scope: &str,
        key: &str,
        answer: String,
        until: u64,
        now: u64,
    ) -> std::result::Result<(), String> {
        let call = KeepCall {
            key: key.to_owned(),
            answer,
            until,
            now,
        };
        call_object(&self.namespace()?, scope, "/keep", &call).await
    }
}
