//! The wasm-bindgen API for JavaScript (feature `js`): plain objects in and out, camelCase
//! names, and errors that carry a machine-readable `reason`.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::networks::Networks;
use crate::protocol::{v2, PaymentPayload, PaymentRequirements, Reason};
use crate::verify::{verify_payment, SignatureCheck};

/// The verdict `verifyPayment` returns.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Verdict {
    valid: bool,
    /// The wire reason of the first failing check.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<Reason>,
    /// A sentence for people saying what failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payer: Option<String>,
    /// `true` for smart-wallet signatures, which only a facilitator can check.
    needs_facilitator: bool,
}

/// Verifies a payment header (`X-PAYMENT` or `PAYMENT-SIGNATURE` value) against offered
/// requirements (an array of v1 or v2 requirement objects) at unix time `now` (seconds).
///
/// Returns `{ valid, reason?, detail?, payer?, needsFacilitator }`; throws an `Error` with a
/// `reason` property when the requirements themselves cannot be read.
#[wasm_bindgen(js_name = verifyPayment)]
pub fn verify_payment_js(
    header: &str,
    requirements: JsValue,
    now: f64,
) -> Result<JsValue, JsValue> {
    let offered: Vec<PaymentRequirements> = serde_wasm_bindgen::from_value(requirements)
        .map_err(|e| error(Reason::InvalidPaymentRequirements, &e.to_string()))?;
    let offered: Vec<v2::PaymentRequirements> = offered
        .into_iter()
        .map(|r| match r {
            PaymentRequirements::V1(r) => r.to_v2(),
            PaymentRequirements::V2(r) => r,
        })
        .collect();
    let now = unix_seconds(now)?;
    let verdict = match PaymentPayload::from_header(header) {
        Err(e) => Verdict::invalid(Reason::InvalidPayload, e.to_string()),
        Ok(payment) => match verify_payment(&payment, &offered, networks(), now) {
            Ok(verified) => Verdict {
                valid: true,
                reason: None,
                detail: None,
                payer: Some(verified.payer.to_string()),
                needs_facilitator: verified.signature == SignatureCheck::NeedsFacilitator,
            },
            Err(e) => Verdict::invalid(e.reason(), e.to_string()),
        },
    };
    verdict
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| error(Reason::InvalidPayload, &e.to_string()))
}

/// The built-in network table, built once per instance.
fn networks() -> &'static Networks {
    static NETWORKS: std::sync::OnceLock<Networks> = std::sync::OnceLock::new();
    NETWORKS.get_or_init(Networks::builtin)
}

impl Verdict {
    fn invalid(reason: Reason, detail: String) -> Self {
        Self {
            valid: false,
            reason: Some(reason),
            detail: Some(detail),
            payer: None,
            needs_facilitator: false,
        }
    }
}

/// A JavaScript number of seconds as `u64`, refusing NaN, negatives and fractions.
fn unix_seconds(now: f64) -> Result<u64, JsValue> {
    const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;
    if now.is_finite() && now >= 0.0 && now.fract() == 0.0 && now <= MAX_SAFE_INTEGER {
        // Checked just above: a whole number in 0..=2^53-1 converts exactly.
        Ok(now as u64)
    } else {
        Err(error(
            Reason::InvalidPayload,
            "now must be whole unix seconds",
        ))
    }
}

/// A JavaScript `Error` with a `reason` property.
fn error(reason: Reason, message: &str) -> JsValue {
    let error = js_sys::Error::new(message);
    // Defining a property on a fresh, extensible Error object cannot fail.
    let _ = js_sys::Reflect::set(&error, &"reason".into(), &reason.as_str().into());
    error.into()
}
