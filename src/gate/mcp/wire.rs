//! The MCP transport's wire forms, without I/O: a JSON-RPC request to an MCP route
//! ([`McpRequest`]) with the payment in `params._meta["x402/payment"]`; the server's answer
//! ([`McpAnswer`], one JSON document or an SSE stream, read as it arrives by
//! [`AnswerReader`]); and what the gateway writes: a payment-required tool result, the
//! settlement in the result's `_meta["x402/payment-response"]`, the prices in `tools/list`.
//!
//! What passes through is edited member by member on its exact text ([`RawValue`]): a
//! tool's arguments and results reach the other side as written (numbers beyond 64 bits
//! included), whatever the gateway adds.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::value::RawValue;
use serde_json::{json, Value};

use crate::config::McpRoute;
use crate::pricing::Price;
use crate::protocol::{v2, HeaderError, PaymentPayload};

/// `params._meta` key of a payment.
pub const PAYMENT_META: &str = "x402/payment";
/// `result._meta` key of a settlement.
pub const PAYMENT_RESPONSE_META: &str = "x402/payment-response";
/// `result._meta` key of a payment-required object (what Cloudflare's client reads).
pub const ERROR_META: &str = "x402/error";
/// `tools/list` annotation Cloudflare's client reads: the tool is paid.
pub const PAID_META: &str = "agents-x402/paymentRequired";
/// `tools/list` annotation Cloudflare's client reads: the price in US dollars, a number.
pub const PRICE_USD_META: &str = "agents-x402/priceUSD";
/// `tools/list` annotation: the ways to pay the tool, as its payment-required result offers
/// them (x402 v2 requirements).
pub const ACCEPTS_META: &str = "x402/accepts";
/// The largest request body an MCP route reads (a `tools/call` is a few kilobytes).
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;
/// The largest answer of the MCP server read (a paid call's, or a `tools/list`'s).
pub const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;
/// JSON-RPC's "parse error" code, for a body that is not JSON.
pub const PARSE_ERROR: i64 = -32700;
/// JSON-RPC's "invalid request" code, for a priced call that cannot be paid for.
pub const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC's server-error code, for the gateway's refusals that carry no challenge.
pub const SERVER_ERROR: i64 = -32000;

/// What a JSON-RPC request to an MCP route is, as far as pricing goes.
#[derive(Clone, Debug, PartialEq)]
pub enum McpRequest {
    /// A `tools/call` of a priced tool.
    PaidCall(Box<PaidCall>),
    /// `tools/list`: passed on, and its answer (to `id`) annotated with the prices.
    List {
        /// The JSON-RPC `id`.
        id: Value,
    },
    /// Refused whole, the server not asked: a body that is not JSON (which a lenient server
    /// might still read as a call of a priced tool), or a priced `tools/call` that cannot be
    /// paid for: in a batch (a JSON array), or sent as a notification (no `id`, so no answer
    /// could carry a challenge or a settlement).
    Invalid {
        /// The JSON-RPC error code.
        code: i64,
        /// What is wrong, for the client.
        detail: &'static str,
    },
    /// Anything else (`initialize`, other methods, free tools, notifications, responses):
    /// passed on as it is; the server answers it.
    PassOn,
}

/// A priced tool call.
#[derive(Clone, Debug, PartialEq)]
pub struct PaidCall {
    /// The JSON-RPC `id`, echoed in every answer.
    pub id: Value,
    /// The tool's index in the route's `mcp.tools`.
    pub tool: usize,
    /// The payment, if one came (decoded, or why it could not be).
    pub payment: Option<Result<PaymentPayload, HeaderError>>,
    /// The request as the server gets it: without the payment.
    pub forward: Vec<u8>,
    /// sha256 of the tool's name and the exact text of its `arguments`: a receipt serves
    /// again only the same call.
    pub call_digest: String,
}

impl McpRequest {
    /// Reads a request body sent to an MCP route priced by `route`.
    pub fn read(body: &[u8], route: &McpRoute) -> Self {
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            return Self::Invalid {
                code: PARSE_ERROR,
                detail: "the body is not JSON",
            };
        };
        let priced = |message: &Value| {
            (message["method"] == "tools/call")
                .then(|| message["params"]["name"].as_str())
                .flatten()
                .and_then(|name| route.tools.iter().position(|tool| tool.name == name))
        };
        match &value {
            Value::Array(batch) if batch.iter().any(|m| priced(m).is_some()) => Self::Invalid {
                code: INVALID_REQUEST,
                detail: "a priced tools/call cannot be sent in a batch; send it on its own",
            },
            Value::Object(_) => {
                let id = value.get("id").filter(|id| !id.is_null()).cloned();
                match (priced(&value), id) {
                    // The answer is found by its id, which must come back as sent: a
                    // server that rewrote it (`1.0` as `1`, a big number rounded) would
                    // leave the call looking unanswered, and free.
                    (Some(_), Some(id)) if !is_plain_id(&id) => Self::Invalid {
                        code: INVALID_REQUEST,
                        detail: "a priced tools/call's id must be a string or an integer of at most 2^53 - 1",
                    },
                    (Some(tool), Some(_)) => {
                        Self::PaidCall(Box::new(PaidCall::read(body, &value, tool)))
                    }
                    (Some(_), None) => Self::Invalid {
                        code: INVALID_REQUEST,
                        detail:
                            "a priced tools/call must have an id (a notification gets no answer)",
                    },
                    (None, Some(id)) if value["method"] == "tools/list" => Self::List { id },
                    _ => Self::PassOn,
                }
            }
            _ => Self::PassOn,
        }
    }
}

/// Whether a JSON-RPC id is one every server echoes as sent: a string, or an integer
/// that JavaScript's numbers hold exactly (written as an integer).
fn is_plain_id(id: &Value) -> bool {
    const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
    match id {
        Value::String(_) => true,
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_i64().map(i64::unsigned_abs))
            .is_some_and(|n| n <= MAX_SAFE_INTEGER),
        _ => false,
    }
}

impl PaidCall {
    /// The call `request` (a JSON object, whose text is `body`) of the route's tool `tool`.
    fn read(body: &[u8], request: &Value, tool: usize) -> Self {
        let (forward, payment) = without_payment(body).unwrap_or_else(|| (body.to_vec(), None));
        let payment = payment.map(|payment| match payment {
            // Cloudflare's client: base64 of the payment's JSON, as in an HTTP header.
            Value::String(text) => PaymentPayload::from_header(&text),
            // The spec's: the payment object itself.
            Value::Object(_) => PaymentPayload::from_json_slice(payment.to_string().as_bytes()),
            _ => Err(HeaderError::Json {
                message: "x402/payment is neither an object nor base64 text".into(),
            }),
        });
        let arguments = serde_json::from_slice::<RawObject>(body)
            .ok()
            .and_then(|message| members(message.get("params")?))
            .and_then(|params| Some(params.get("arguments")?.get().to_owned()))
            .unwrap_or_default();
        let call_digest = {
            use sha2::{Digest, Sha256};
            let mut digest = Sha256::new();
            digest.update(request["params"]["name"].to_string().as_bytes());
            digest.update(b"\n");
            digest.update(arguments.as_bytes());
            hex::encode(digest.finalize())
        };
        Self {
            id: request["id"].clone(),
            tool,
            payment,
            forward,
            call_digest,
        }
    }
}

/// The request `body` without `params._meta["x402/payment"]` (and without a `_meta` left
/// empty), and that payment; the body as it is when it holds none. `None` when the body is
/// not a JSON object.
fn without_payment(body: &[u8]) -> Option<(Vec<u8>, Option<Value>)> {
    let mut message: RawObject = serde_json::from_slice(body).ok()?;
    let unchanged = || Some((body.to_vec(), None));
    let Some(mut params) = message.get("params").and_then(|p| members(p)) else {
        return unchanged();
    };
    let Some(mut meta) = params.get("_meta").and_then(|m| members(m)) else {
        return unchanged();
    };
    let Some(payment) = meta.remove(PAYMENT_META) else {
        return unchanged();
    };
    let payment = serde_json::from_str(payment.get()).ok()?;
    match meta.is_empty() {
        true => params.remove("_meta"),
        false => params.insert("_meta".into(), raw(&meta)?),
    };
    message.insert("params".into(), raw(&params)?);
    Some((serde_json::to_vec(&message).ok()?, Some(payment)))
}

/// The MCP server's answer to one request: a JSON body, or an SSE stream of messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum McpAnswer {
    /// `application/json`: one JSON-RPC message (or a batch), as its text.
    Json(String),
    /// `text/event-stream`: its whole events in order.
    Stream(Vec<SseEvent>),
}

/// One server-sent event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    /// `event:`, when named.
    pub event: Option<String>,
    /// `id:`, when given.
    pub id: Option<String>,
    /// `data:` lines joined by line breaks.
    pub data: String,
}

/// How the server's answer to a paid call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    /// The tool answered a result that is not an error: it is paid for.
    Succeeded,
    /// The tool failed (`isError`) or the server answered a JSON-RPC error: passed on,
    /// uncharged.
    Failed,
    /// No answer to the call in what the server sent (a stream that broke off, a body that
    /// is not JSON-RPC): nothing is charged, nothing served.
    Unanswered,
}

impl McpAnswer {
    /// Reads an answer of the media type `content_type`: an SSE stream or a JSON body.
    /// `None` for a body that is neither.
    pub fn read(content_type: Option<&str>, body: &[u8]) -> Option<Self> {
        let text = core::str::from_utf8(body).ok()?;
        match content_type.is_some_and(is_event_stream) {
            true => Some(Self::Stream(parse_sse(text))),
            false => serde_json::from_str::<&RawValue>(text)
                .ok()
                .map(|_| Self::Json(text.to_owned())),
        }
    }

    /// How the call with `id` ended.
    pub fn outcome(&self, id: &Value) -> CallOutcome {
        let Some(message) = self.response_to(id) else {
            return CallOutcome::Unanswered;
        };
        match message.get("result") {
            Some(result) if result.is_object() && result["isError"] != Value::Bool(true) => {
                CallOutcome::Succeeded
            }
            _ => CallOutcome::Failed,
        }
    }

    /// The JSON-RPC response to `id`, if the answer holds one.
    pub fn response_to(&self, id: &Value) -> Option<Value> {
        self.messages()
            .into_iter()
            .filter_map(|text| serde_json::from_str::<Value>(text).ok())
            .find(|message| is_response_to(message, id))
    }

    /// The answer with `settlement` in the result of the call `id`
    /// (`_meta["x402/payment-response"]`, beside what `_meta` held).
    pub fn with_settlement(self, id: &Value, settlement: &Value) -> Self {
        self.edit_response(id, |message| {
            edit_member(message, "result", |result| {
                // A `_meta` that is not an object (which MCP does not allow) is replaced.
                let meta = result
                    .get("_meta")
                    .map(|m| m.get())
                    .filter(|m| m.starts_with('{'))
                    .unwrap_or("{}")
                    .to_owned();
                let meta = edit_object(&meta, |meta| {
                    meta.insert(PAYMENT_RESPONSE_META.into(), to_raw(settlement)?);
                    Some(())
                })?;
                result.insert("_meta".into(), RawValue::from_string(meta).ok()?);
                Some(())
            })
        })
    }

    /// The `tools/list` answer to `id` with each priced tool's price in its `_meta`, and an
    /// `outputSchema` that also admits the payment-required result (clients check a result's
    /// `structuredContent` against it even when it is an error).
    pub fn with_prices(self, id: &Value, prices: &McpPrices) -> Self {
        self.edit_response(id, |message| {
            edit_member(message, "result", |result| {
                let tools: Vec<Box<RawValue>> =
                    serde_json::from_str(result.get("tools")?.get()).ok()?;
                let tools: Vec<Box<RawValue>> = tools
                    .into_iter()
                    .map(|tool| annotated(&tool, prices).unwrap_or(tool))
                    .collect();
                result.insert("tools".into(), to_raw(&tools)?);
                Some(())
            })
        })
    }

    /// The answer's bytes, in its own form.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Self::Json(text) => text.clone().into_bytes(),
            Self::Stream(events) => write_sse(events).into_bytes(),
        }
    }

    /// The text of each JSON-RPC message in the answer.
    fn messages(&self) -> Vec<&str> {
        match self {
            Self::Json(text) => match serde_json::from_str::<Vec<&RawValue>>(text) {
                Ok(batch) => batch.into_iter().map(RawValue::get).collect(),
                Err(_) => vec![text.as_str()],
            },
            Self::Stream(events) => events.iter().map(|e| e.data.as_str()).collect(),
        }
    }

    /// The answer with the response to `id` edited by `edit` (left as it is where `edit`
    /// finds nothing to change).
    fn edit_response(self, id: &Value, edit: impl Fn(&mut RawObject) -> Option<()>) -> Self {
        let edited = |text: &str| {
            let message: Value = serde_json::from_str(text).ok()?;
            is_response_to(&message, id)
                .then(|| edit_object(text, &edit))
                .flatten()
        };
        match self {
            Self::Json(text) => match serde_json::from_str::<Vec<Box<RawValue>>>(&text) {
                Ok(batch) => {
                    let batch: Option<Vec<Box<RawValue>>> = batch
                        .into_iter()
                        .map(|m| match edited(m.get()) {
                            Some(text) => RawValue::from_string(text).ok(),
                            None => Some(m),
                        })
                        .collect();
                    let text = batch.and_then(|b| serde_json::to_string(&b).ok());
                    Self::Json(text.unwrap_or_default())
                }
                Err(_) => Self::Json(edited(&text).unwrap_or(text)),
            },
            Self::Stream(events) => Self::Stream(
                events
                    .into_iter()
                    .map(|event| match edited(&event.data) {
                        Some(data) => SseEvent { data, ..event },
                        None => event,
                    })
                    .collect(),
            ),
        }
    }
}

/// Whether `message` is the JSON-RPC response (a result or an error) to `id`.
fn is_response_to(message: &Value, id: &Value) -> bool {
    &message["id"] == id && (message.get("result").is_some() || message.get("error").is_some())
}

/// A tool of a `tools/list` result with its price, if it has one.
fn annotated(tool: &RawValue, prices: &McpPrices) -> Option<Box<RawValue>> {
    let text = edit_object(tool.get(), |tool| {
        let name: String = serde_json::from_str(tool.get("name")?.get()).ok()?;
        let price = prices.of(&name)?;
        let meta = tool.get("_meta").map_or("{}", |m| m.get()).to_owned();
        let meta = edit_object(&meta, |meta| {
            meta.insert(PAID_META.into(), to_raw(&true)?);
            if let Some(usd) = price.usd {
                meta.insert(PRICE_USD_META.into(), to_raw(&usd)?);
            }
            if let Some(accepts) = &price.accepts {
                meta.insert(ACCEPTS_META.into(), to_raw(accepts)?);
            }
            Some(())
        })?;
        tool.insert("_meta".into(), RawValue::from_string(meta).ok()?);
        if let Some(schema) = tool.remove("outputSchema") {
            let widened = format!(
                r#"{{"type":"object","anyOf":[{},{}]}}"#,
                schema.get(),
                payment_required_schema()
            );
            tool.insert("outputSchema".into(), RawValue::from_string(widened).ok()?);
        }
        Some(())
    })?;
    RawValue::from_string(text).ok()
}

/// Reads an MCP server's answer to the request `id` as it arrives, and says when it has
/// enough: an SSE stream may stay open after the response (a server SHOULD close it, and
/// need not), so reading stops at the response's event; a JSON body is read to its end.
/// Never more than [`MAX_ANSWER_BYTES`].
#[derive(Debug)]
pub struct AnswerReader {
    id: Value,
    content_type: Option<String>,
    stream: bool,
    body: Vec<u8>,
    /// How much of `body` (whole events) was looked at for the response.
    scanned: usize,
    answered: bool,
    too_large: bool,
}

impl AnswerReader {
    /// A reader of an answer of the media type `content_type` to the request `id`.
    pub fn new(content_type: Option<String>, id: Value) -> Self {
        Self {
            stream: content_type.as_deref().is_some_and(is_event_stream),
            content_type,
            id,
            body: Vec::new(),
            scanned: 0,
            answered: false,
            too_large: false,
        }
    }

    /// Takes the next part of the body; `false` once no more is wanted (the response has
    /// arrived in a stream, or the answer is too large).
    pub fn take(&mut self, chunk: &[u8]) -> bool {
        if self.body.len() + chunk.len() > MAX_ANSWER_BYTES {
            self.too_large = true;
            return false;
        }
        let before = self.body.len();
        self.body.extend_from_slice(chunk);
        if self.stream {
            // Whole events only, up to the last blank line; a blank line may straddle two
            // chunks, so the search starts a few bytes before this one.
            let from = self.scanned.max(before.saturating_sub(3));
            if let Some(end) = last_event_end(&self.body[from..]).map(|end| from + end) {
                let events = core::str::from_utf8(&self.body[self.scanned..end])
                    .map(parse_sse)
                    .unwrap_or_default();
                self.answered |= McpAnswer::Stream(events).response_to(&self.id).is_some();
                self.scanned = end;
            }
        }
        !self.answered
    }

    /// The answer as read: a stream's whole events (up to the response), a JSON document.
    /// An error for an answer that is too large, or neither.
    pub fn finish(self) -> Result<McpAnswer, String> {
        if self.too_large {
            return Err(format!(
                "the MCP server's answer is over {MAX_ANSWER_BYTES} bytes"
            ));
        }
        McpAnswer::read(self.content_type.as_deref(), &self.body)
            .ok_or_else(|| "the MCP server's answer is neither JSON nor an event stream".into())
    }
}

/// The prices a route's `tools/list` answer is annotated with.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct McpPrices(Vec<(String, ToolPrice)>);

/// One tool's annotation.
#[derive(Clone, Debug, PartialEq)]
struct ToolPrice {
    /// US dollars, when the price is written in dollars.
    usd: Option<f64>,
    /// The ways to pay, as a payment-required result offers them (v2 requirements); `None`
    /// for a price decided per call.
    accepts: Option<Value>,
}

impl McpPrices {
    /// The annotations of `route`'s tools.
    pub fn of_route(route: &McpRoute) -> Arc<Self> {
        let prices = route
            .tools
            .iter()
            .map(|tool| {
                let accepts: Vec<&v2::PaymentRequirements> =
                    tool.accepts.iter().map(|a| &a.requirement).collect();
                // A price decided per call is known only from the call's answer.
                let price = ToolPrice {
                    usd: tool.price.as_ref().and_then(Price::usd),
                    accepts: tool
                        .price
                        .as_ref()
                        .map(|_| serde_json::to_value(accepts).unwrap_or_default()),
                };
                (tool.name.clone(), price)
            })
            .collect();
        Arc::new(Self(prices))
    }

    fn of(&self, name: &str) -> Option<&ToolPrice> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, p)| p)
    }
}

/// A tool result that asks for payment: `isError`, the `PaymentRequired` in
/// `structuredContent`, as JSON text in `content[0].text`, and in `_meta["x402/error"]`;
/// with a failed settlement's answer in `_meta["x402/payment-response"]`.
pub fn payment_required_result(
    id: &Value,
    required: &v2::PaymentRequired,
    settlement: Option<Value>,
) -> Value {
    let required = serde_json::to_value(required).unwrap_or_default();
    let mut meta = serde_json::Map::new();
    meta.insert(ERROR_META.into(), required.clone());
    if let Some(settlement) = settlement {
        meta.insert(PAYMENT_RESPONSE_META.into(), settlement);
    }
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "result": {
            "isError": true,
            "content": [{ "type": "text", "text": required.to_string() }],
            "structuredContent": required,
            "_meta": meta,
        },
    })
}

/// A JSON-RPC error answer to `id`: the gateway's refusals that carry no challenge.
pub fn error_response(id: &Value, code: i64, message: &str, data: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message, "data": data } })
}

/// The JSON Schema of a payment-required result's `structuredContent`, for the
/// `outputSchema`s of priced tools.
fn payment_required_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "x402Version": { "type": "integer" },
            "error": { "type": "string" },
            "resource": { "type": "object" },
            "accepts": { "type": "array" },
        },
        "required": ["x402Version", "accepts"],
    })
}

/// Whether a media type is `text/event-stream`, whatever its parameters.
fn is_event_stream(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("text/event-stream"))
}

/// The end of the last whole event in `text` (just past its blank line, whatever its line
/// ends: LF, CRLF or CR), if any.
fn last_event_end(text: &[u8]) -> Option<usize> {
    let ends: [&[u8]; 3] = [b"\n\n", b"\r\n\r\n", b"\r\r"];
    ends.iter()
        .filter_map(|end| {
            text.windows(end.len())
                .rposition(|w| w == *end)
                .map(|i| i + end.len())
        })
        .max()
}

/// The events of an SSE stream (the WHATWG event-stream format: fields per line, lines
/// ended by CRLF, LF or CR, events ended by a blank line, comments ignored). An event not
/// ended before the stream was is dropped: the stream broke off in it.
fn parse_sse(text: &str) -> Vec<SseEvent> {
    let mut events = Vec::new();
    let (mut event, mut id, mut data): (Option<String>, Option<String>, Vec<&str>) =
        (None, None, Vec::new());
    for line in sse_lines(text) {
        if line.is_empty() {
            if !data.is_empty() {
                events.push(SseEvent {
                    event: event.take(),
                    id: id.take(),
                    data: data.join("\n"),
                });
            }
            (event, id, data) = (None, None, Vec::new());
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event = Some(value.to_owned()),
            "id" => id = Some(value.to_owned()),
            "data" => data.push(value),
            _ => {}
        }
    }
    events
}

/// The whole lines of `text`, each without its end (CRLF, LF or CR); a last line without
/// one is left out.
fn sse_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    core::iter::from_fn(move || {
        let end = rest.find(['\r', '\n'])?;
        let line = &rest[..end];
        let skip = match rest[end..].starts_with("\r\n") {
            true => 2,
            false => 1,
        };
        rest = &rest[end + skip..];
        Some(line)
    })
}

/// An SSE stream of `events`.
fn write_sse(events: &[SseEvent]) -> String {
    let mut text = String::new();
    for event in events {
        if let Some(name) = &event.event {
            text.push_str(&format!("event: {name}\n"));
        }
        if let Some(id) = &event.id {
            text.push_str(&format!("id: {id}\n"));
        }
        for line in event.data.split('\n') {
            text.push_str(&format!("data: {line}\n"));
        }
        text.push('\n');
    }
    text
}

/// A JSON object whose members are kept as their exact text.
type RawObject = BTreeMap<String, Box<RawValue>>;

/// The members of the JSON object `value`, if it is one.
fn members(value: &RawValue) -> Option<RawObject> {
    serde_json::from_str(value.get()).ok()
}

/// The JSON object `text` with its members changed by `edit`; `None` when it is not an
/// object or `edit` finds nothing to change.
fn edit_object(text: &str, edit: impl FnOnce(&mut RawObject) -> Option<()>) -> Option<String> {
    let mut object: RawObject = serde_json::from_str(text).ok()?;
    edit(&mut object)?;
    serde_json::to_string(&object).ok()
}

/// `object` with its member `key` (a JSON object) changed by `edit`.
fn edit_member(
    object: &mut RawObject,
    key: &str,
    edit: impl FnOnce(&mut RawObject) -> Option<()>,
) -> Option<()> {
    let member = edit_object(object.get(key)?.get(), edit)?;
    object.insert(key.to_owned(), RawValue::from_string(member).ok()?);
    Some(())
}

/// `value` as JSON text.
fn to_raw(value: &impl serde::Serialize) -> Option<Box<RawValue>> {
    serde_json::value::to_raw_value(value).ok()
}

/// A raw object as JSON text.
fn raw(object: &RawObject) -> Option<Box<RawValue>> {
    to_raw(object)
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    const RESPONSE: &str =
        r#"{"jsonrpc":"2.0","id":1,"result":{"content":[],"n":123456789012345678901234567890}}"#;

    fn stream(line_end: &str) -> String {
        let progress = r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{}}"#;
        [
            ": comment".to_owned(),
            String::new(),
            format!("event: message{line_end}data: {progress}"),
            String::new(),
            format!("id: 7{line_end}data: {RESPONSE}"),
            String::new(),
            "data: {\"partial\":".to_owned(),
        ]
        .join(line_end)
    }

    /// Reads `body` in pieces of `size` bytes; how many bytes were handed over.
    fn read_in_pieces(body: &str, size: usize) -> (Result<McpAnswer, String>, usize) {
        let mut reader =
            AnswerReader::new(Some("text/event-stream; charset=utf-8".into()), json!(1));
        let mut handed = 0;
        for piece in body.as_bytes().chunks(size) {
            handed += piece.len();
            if !reader.take(piece) {
                break;
            }
        }
        (reader.finish(), handed)
    }

    #[test]
    fn a_stream_is_read_up_to_the_response_in_any_pieces_and_line_ends() {
        for line_end in ["\n", "\r\n"] {
            let body = stream(line_end);
            let response_end = body.find(RESPONSE).unwrap() + RESPONSE.len() + 2 * line_end.len();
            for size in [1, 2, 3, 5, 64, body.len()] {
                let (answer, handed) = read_in_pieces(&body, size);
                let answer = answer.unwrap();
                assert_eq!(answer.outcome(&json!(1)), CallOutcome::Succeeded);
                assert!(
                    handed < response_end + size,
                    "stopped at the response ({size})"
                );
                let McpAnswer::Stream(events) = &answer else {
                    panic!("not a stream")
                };
                assert_eq!(events.len(), 2, "{events:?}");
                assert_eq!(events[1].id.as_deref(), Some("7"));
            }
        }
    }

    #[test]
    fn lines_end_with_crlf_lf_or_cr_alone() {
        let text = "data: a\rdata: b\r\rdata: c\r\n\r\ndata: d\n\ndata: e";
        let data: Vec<String> = parse_sse(text).into_iter().map(|e| e.data).collect();
        assert_eq!(data, ["a\nb", "c", "d"], "the last event never ended");
        let events = parse_sse(text);
        assert_eq!(parse_sse(&write_sse(&events)), events);
    }

    #[test]
    fn a_stream_broken_before_the_response_is_unanswered() {
        let body = stream("\n");
        let cut = body.find(RESPONSE).unwrap() + 10;
        let (answer, _) = read_in_pieces(&body[..cut], 4);
        assert_eq!(answer.unwrap().outcome(&json!(1)), CallOutcome::Unanswered);
        let (answer, _) = read_in_pieces(&body, 4);
        assert_eq!(
            answer.unwrap().outcome(&json!(2)),
            CallOutcome::Unanswered,
            "another id"
        );
    }

    #[test]
    fn outcomes() {
        let json = |text: &str| McpAnswer::Json(text.into());
        let id = json!("a");
        let cases = [
            (
                r#"{"jsonrpc":"2.0","id":"a","result":{"content":[]}}"#,
                CallOutcome::Succeeded,
            ),
            (
                r#"{"jsonrpc":"2.0","id":"a","result":{"isError":true}}"#,
                CallOutcome::Failed,
            ),
            (
                r#"{"jsonrpc":"2.0","id":"a","result":null}"#,
                CallOutcome::Failed,
            ),
            (
                r#"{"jsonrpc":"2.0","id":"a","error":{"code":1}}"#,
                CallOutcome::Failed,
            ),
            (
                r#"{"jsonrpc":"2.0","id":"b","result":{}}"#,
                CallOutcome::Unanswered,
            ),
            (
                r#"[{"jsonrpc":"2.0","id":"a","result":{}}]"#,
                CallOutcome::Succeeded,
            ),
            (
                r#"{"jsonrpc":"2.0","id":"a","method":"x"}"#,
                CallOutcome::Unanswered,
            ),
        ];
        for (text, outcome) in cases {
            assert_eq!(json(text).outcome(&id), outcome, "{text}");
        }
        assert_eq!(McpAnswer::read(Some("application/json"), b"not json"), None);
    }

    #[test]
    fn the_settlement_joins_the_result_whose_other_members_keep_their_text() {
        let settlement = json!({"success": true, "transaction": "0xab"});
        let answer = McpAnswer::Json(RESPONSE.into()).with_settlement(&json!(1), &settlement);
        let McpAnswer::Json(text) = &answer else {
            panic!("not JSON")
        };
        assert!(
            text.contains(r#""n":123456789012345678901234567890"#),
            "{text}"
        );
        let value: Value = serde_json::from_str(text).unwrap();
        assert_eq!(value["result"]["_meta"][PAYMENT_RESPONSE_META], settlement);
        // Another id's response is left as it is; so is a stream's notification.
        let other = McpAnswer::Json(RESPONSE.into()).with_settlement(&json!(2), &settlement);
        assert_eq!(other, McpAnswer::Json(RESPONSE.into()));
        let McpAnswer::Stream(events) = read_in_pieces(&stream("\n"), 9).0.unwrap() else {
            panic!("not a stream")
        };
        let streamed = McpAnswer::Stream(events.clone()).with_settlement(&json!(1), &settlement);
        let McpAnswer::Stream(after) = &streamed else {
            panic!("not a stream")
        };
        assert_eq!(after[0], events[0]);
        assert!(after[1].data.contains(PAYMENT_RESPONSE_META));
        assert_eq!(
            McpAnswer::read(Some("text/event-stream"), &streamed.to_bytes()),
            Some(streamed.clone())
        );
    }

    #[test]
    fn the_payment_leaves_the_request_and_the_rest_keeps_its_text() {
        let body = br#"{"id":1,"method":"tools/call","params":{"name":"t","arguments":{"n":1.50},"_meta":{"x402/payment":"abc","progressToken":3}}}"#;
        let (forward, payment) = without_payment(body).unwrap();
        assert_eq!(payment, Some(json!("abc")));
        let forward = String::from_utf8(forward).unwrap();
        assert!(forward.contains(r#""arguments":{"n":1.50}"#), "{forward}");
        assert!(
            forward.contains(r#""_meta":{"progressToken":3}"#),
            "{forward}"
        );
        let alone = br#"{"id":1,"params":{"name":"t","_meta":{"x402/payment":{}}}}"#;
        let forward = String::from_utf8(without_payment(alone).unwrap().0).unwrap();
        assert!(!forward.contains("_meta"), "{forward}");
        let none = br#"{"id":1,"params":{"name":"t"}}"#;
        assert_eq!(without_payment(none), Some((none.to_vec(), None)));
    }
}
