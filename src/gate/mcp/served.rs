//! How the flow serves an MCP route: a paid call goes through the payment flow as an HTTP
//! request does ([`flow::pay`](super::super::flow)), with an origin that sends the call
//! without its payment and reads the server's answer ([`CallOrigin`]), so that the answer,
//! not the HTTP status, decides whether the call is paid for; then the settlement is written
//! into the result, and every refusal is answered in JSON-RPC. A `tools/list` answer gets
//! the prices.

use serde_json::Value;

use super::wire::{AnswerReader, CallOutcome, McpAnswer};
use super::{McpCall, ToolList};
use crate::gate::coordinator::Coordinator;
use crate::gate::dynamic_price::Pricing;
use crate::gate::flow::{
    self, origin_failed, ClientMessages, Facilitator, LogRecord, Origin, Outcome, ReceiptStore,
    Services,
};
use crate::gate::http::Release;
use crate::gate::l402::InvoiceSource;
use crate::gate::ledger::ChainReader;
use crate::gate::limits::Allowances;
use crate::gate::refusal::{is_error_status, LogOutcome};
use crate::gate::{Gate, PaymentPlan, Presentation};

/// The origin as a paid call sees it: fetching sends the call without its payment, and reads
/// the server's answer far enough to know how the call ended.
struct CallOrigin<'a, O> {
    origin: &'a O,
    call: &'a McpCall,
}

/// The server's answer to a paid call.
struct Called<R> {
    /// The response, its body read when `answer` is.
    response: R,
    /// The answer; `None` for an HTTP error, which passes as it is.
    answer: Option<McpAnswer>,
    outcome: CallOutcome,
}

impl<O: ClientMessages> Origin for CallOrigin<'_, O> {
    type Response = Called<O::Response>;

    async fn fetch(&self, target: &str, _: Option<&[u8]>) -> Result<Self::Response, String> {
        let mut response = self.origin.fetch(target, Some(&self.call.forward)).await?;
        if is_error_status(O::status(&response)) {
            return Ok(Called {
                response,
                answer: None,
                outcome: CallOutcome::Failed,
            });
        }
        let answer = read_answer(self.origin, &mut response, &self.call.id).await?;
        match answer.outcome(&self.call.id) {
            // Nothing to serve, nothing to charge: the stream broke off, or the server
            // answered something else.
            CallOutcome::Unanswered => {
                Err("the MCP server's answer holds no response to the call".into())
            }
            outcome => Ok(Called {
                response,
                answer: Some(answer),
                outcome,
            }),
        }
    }

    fn status(called: &Self::Response) -> u16 {
        O::status(&called.response)
    }

    fn chargeable(called: &Self::Response) -> bool {
        called.outcome == CallOutcome::Succeeded
    }
}

/// Reads the server's answer to the request `id` from `response`.
async fn read_answer<O: ClientMessages>(
    origin: &O,
    response: &mut O::Response,
    id: &Value,
) -> Result<McpAnswer, String> {
    let mut reader = AnswerReader::new(O::content_type(response), id.clone());
    origin
        .read_body(response, &mut |chunk| reader.take(chunk))
        .await?;
    reader.finish()
}

/// A paid tool call (`plan`, whose call is `call`): paid as an HTTP request is, the tool's
/// answer released with the settlement in its result, every refusal a JSON-RPC answer.
pub(in crate::gate) async fn pay_call<F, S, O, I, C, A, H, P, D>(
    gate: &Gate,
    plan: &PaymentPlan,
    call: &McpCall,
    now: u64,
    services: &Services<'_, F, S, O, I, C, A, H, P, D>,
) -> (Outcome<O::Response>, LogRecord)
where
    F: Facilitator,
    S: ReceiptStore,
    O: ClientMessages,
    I: InvoiceSource,
    C: Coordinator,
    A: Allowances,
    H: ChainReader,
    P: Pricing,
{
    let origin = CallOrigin {
        origin: services.origin,
        call,
    };
    let (outcome, log) = flow::pay(gate, plan, now, &services.with_origin(&origin)).await;
    let (response, answer, release) = match outcome {
        Outcome::Origin {
            response: Called {
                response, answer, ..
            },
            release,
        } => (response, answer, release),
        Outcome::Refused(refused) => {
            return in_json_rpc((Outcome::Refused(refused), log), &call.id)
        }
        Outcome::Answered(answer) => return (Outcome::Answered(answer), log),
    };
    let answer = match (&release, answer) {
        (Release::Paid(Some(settlement)), Some(answer)) => {
            let settlement = serde_json::to_value(&settlement.response).unwrap_or_default();
            Some(answer.with_settlement(&call.id, &settlement))
        }
        (_, answer) => answer,
    };
    let response = match answer {
        None => Ok(response),
        Some(answer) => services.origin.with_body(response, answer.to_bytes()),
    };
    match response {
        Ok(response) => (Outcome::Origin { response, release }, log),
        // Paid but not served: the receipt lets the same call get it again.
        Err(detail) => in_json_rpc(origin_failed(Some(plan), log, detail), &call.id),
    }
}

/// A `tools/list` passed on, its answer annotated with the prices.
pub(in crate::gate) async fn tool_list<O: ClientMessages>(
    origin: &O,
    list: &ToolList,
) -> (Outcome<O::Response>, LogRecord) {
    let failed = |detail| in_json_rpc(origin_failed(None, LogRecord::default(), detail), &list.id);
    let mut response = match origin.fetch(&list.target, None).await {
        Ok(response) => response,
        Err(detail) => return failed(detail),
    };
    if !is_error_status(O::status(&response)) {
        let annotated = read_answer(origin, &mut response, &list.id)
            .await
            .map(|answer| answer.with_prices(&list.id, &list.prices).to_bytes())
            .and_then(|body| origin.with_body(response, body));
        response = match annotated {
            Ok(response) => response,
            Err(detail) => return failed(detail),
        };
    }
    flow::release::<O>(
        response,
        Release::Free,
        LogOutcome::Free,
        LogRecord::default(),
    )
}

/// A refusal answered to the JSON-RPC request `id` (and logged with that answer's status).
fn in_json_rpc<R>((outcome, log): (Outcome<R>, LogRecord), id: &Value) -> (Outcome<R>, LogRecord) {
    match outcome {
        Outcome::Refused(mut refused) => {
            refused.presentation = Presentation::Mcp(id.clone());
            let status = refused.presentation.status(log.status);
            (Outcome::Refused(refused), LogRecord { status, ..log })
        }
        other => (other, log),
    }
}
