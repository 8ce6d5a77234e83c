//! The payment coordinator's state machine: one entry per payment (network, asset, payer,
//! nonce: the receipt key), owned by one writer (a Durable Object per payment in the Worker),
//! so that a payment is settled at most once and its fate is never forgotten.
//!
//! ```text
//!            claim                      conclude(settled)
//!   (none) ───────► settling ──────────────────────────────► settled(receipt)
//!                     │  │ conclude(refused by the facilitator) ─► refused (retryable)
//!                     │  │ conclude(not sent / released) ─► (none)
//!                     │  └ conclude(timeout, 5xx, garbage, pending, unbelievable)
//!                     │    or the lease runs out ─────────► unknown(since, detail)
//!                     │                                       │ reconcile from the chain:
//!                     │                                       ├ transfer proven ─► settled
//!                     │                                       ├ nonce used without it,
//!                     │                                       │ cancelled, or expired ─► refused (final)
//!                     │                                       └ nothing yet ─► unknown
//!   copies of the payment that claim while it settles wait for the outcome and share it
//! ```
//!
//! Only the request holding the claim calls `/settle`, whatever the concurrency. A refusal by
//! the facilitator (a low balance, say) may be tried again with the same payment; a refusal
//! the chain proves (the nonce spent elsewhere, cancelled, or expired unsettled) is final.
//! "Nonce already used" from a facilitator is never taken as proof of anything: it makes the
//! payment unknown, and the chain decides.
//!
//! Everything here is pure: the caller passes the time and the chain's answers.

use core::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::receipt::{Receipt, RECEIPT_FORMAT};
use crate::amount::Uint256;
use crate::evm::proof::{parse_quantity, AuthorizationLogs, ExpectedTransfer, RpcLog, RpcReceipt};
use crate::evm::{Address, Bytes32, SignatureHex};
use crate::protocol::facilitator::SettleResponse;
use crate::protocol::Reason;

/// How far past `validBefore` an unknown payment is still looked for on chain before it is
/// refused: a transaction submitted just before the deadline may take a few blocks to show.
pub const RECONCILE_MARGIN_S: u64 = 120;
/// How often an unknown payment is looked for on chain.
pub const RECHECK_INTERVAL_S: u64 = 15;
/// How many blocks back the chain's logs are searched for an authorisation (about 5.5 hours
/// of Base's 2-second blocks).
pub const LOG_LOOKBACK_BLOCKS: u64 = 10_000;
/// The block range of one `eth_getLogs` (public endpoints limit it).
pub const LOG_RANGE_BLOCKS: u64 = 2_000;

/// What the coordinator keeps about a payment besides its state: enough to prove it on chain,
/// to write its receipt, and to list it for an operator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRecord {
    /// The payment's key (its receipt key).
    pub key: String,
    /// CAIP-2 network of the requirement.
    pub network: String,
    /// Its chain.
    pub chain_id: u64,
    /// The token.
    #[serde(with = "crate::evm::address::lower_hex")]
    pub token: Address,
    /// The payer.
    #[serde(with = "crate::evm::address::lower_hex")]
    pub payer: Address,
    /// The recipient offered.
    #[serde(with = "crate::evm::address::lower_hex")]
    pub pay_to: Address,
    /// The amount.
    pub amount: Uint256,
    /// The EIP-3009 nonce.
    pub nonce: Bytes32,
    /// `validBefore` of the authorisation (unix seconds, clamped to u64).
    pub valid_before: u64,
    /// `METHOD /path?query` it paid for.
    pub resource: String,
    /// The route pattern.
    pub route: String,
    /// sha256 of the exact payment.
    pub payment_digest: String,
    /// Its signature: a transaction proves this payment only if its input carries it.
    pub signature: SignatureHex,
    /// How long after its settlement the payment serves retries (the gateway's
    /// `receipt_ttl_s`): its signature is public on chain once settled.
    pub receipt_ttl_s: u64,
}

/// Where a payment stands.
// Externally tagged (serde's default), like every type the coordinator stores or sends: an
// internally tagged enum's deserializer buffers its input and costs the Worker kilobytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    /// One request holds the claim: it fetches the origin (under `after-origin`) and calls
    /// `/settle`, until `lease_until`.
    Settling {
        /// When the claim was taken.
        since: u64,
        /// When the claim runs out; an unconcluded claim then makes the payment unknown.
        lease_until: u64,
    },
    /// Settled: the receipt serves retries of the same payment.
    Settled {
        /// The receipt.
        receipt: Box<Receipt>,
    },
    /// Refused.
    Refused {
        /// The wire reason.
        reason: String,
        /// When.
        at: u64,
        /// The facilitator's own refusal (balance, …): the payment may be tried again. A
        /// refusal the chain proves is final.
        retryable: bool,
    },
    /// The outcome is not known: the request may have reached the facilitator, and the
    /// transfer may be mined. The chain decides (see [`reconcile`]).
    Unknown {
        /// Since when.
        since: u64,
        /// What happened, for the operator.
        detail: String,
        /// A transaction the facilitator named (a pending settlement's), if any.
        transaction: Option<String>,
        /// When the chain was last asked.
        checked_at: Option<u64>,
        /// Why the chain could not be asked the last time, if it could not.
        chain_error: Option<String>,
    },
}

impl PaymentState {
    /// The state's name, as the operator's listing filters by it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Settling { .. } => "settling",
            Self::Settled { .. } => "settled",
            Self::Refused { .. } => "refused",
            Self::Unknown { .. } => "unknown",
        }
    }
}

/// A payment and where it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// What is known about the payment.
    pub record: PaymentRecord,
    /// Its state.
    pub state: PaymentState,
}

/// What claiming a payment gives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Claim {
    /// This request holds the claim: it may call `/settle` once, and must conclude before
    /// `lease_until`.
    Settle {
        /// When the claim runs out.
        lease_until: u64,
    },
    /// Another request holds the claim until `until`: wait for its conclusion, then claim
    /// again.
    Wait {
        /// When its claim runs out.
        until: u64,
    },
    /// Settled already.
    Settled {
        /// Its receipt.
        receipt: Box<Receipt>,
    },
    /// Refused for good.
    Refused {
        /// The wire reason.
        reason: String,
    },
    /// The outcome is not known yet.
    Unknown {
        /// Since when.
        since: u64,
    },
    /// Nobody holds or held a claim that counts, and this call only looked (see [`claim`]).
    Unclaimed,
}

/// How a claimed attempt ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    /// Settled, with its receipt.
    Settled {
        /// The receipt.
        receipt: Box<Receipt>,
    },
    /// The facilitator refused it (the payment may be tried again).
    Refused {
        /// The wire reason.
        reason: String,
    },
    /// The request may have reached the facilitator, but no believable answer came.
    Unknown {
        /// What happened.
        detail: String,
        /// A transaction the facilitator named, if any.
        transaction: Option<String>,
    },
    /// The claim is given back: nothing reached a facilitator, or the attempt stopped before
    /// settling (the origin failed under `after-origin`).
    Released,
}

/// Claims `record`'s payment at `now` for a lease of `lease_s` seconds; with `lease_s`
/// `None`, only looks: where a claim would be granted, the entry is left as it is and the
/// answer is [`Claim::Unclaimed`] (a payment outside its time window may not be settled, but
/// may have been settled earlier).
pub fn claim(
    entry: &mut Option<Entry>,
    record: &PaymentRecord,
    now: u64,
    lease_s: Option<u64>,
) -> Claim {
    let settle = |entry: &mut Option<Entry>| {
        let Some(lease_s) = lease_s else {
            return Claim::Unclaimed;
        };
        let lease_until = now.saturating_add(lease_s);
        *entry = Some(Entry {
            record: record.clone(),
            state: PaymentState::Settling {
                since: now,
                lease_until,
            },
        });
        Claim::Settle { lease_until }
    };
    let Some(current) = entry.as_mut() else {
        return settle(entry);
    };
    expire_lease(current, now);
    match &current.state {
        PaymentState::Settling { lease_until, .. } => Claim::Wait {
            until: *lease_until,
        },
        // Past its receipt's time, a settled payment serves no more retries (as its KV
        // receipt has expired): anyone can copy it from the chain.
        PaymentState::Settled { receipt } if now >= serves_until(&current.record, receipt) => {
            Claim::Refused {
                reason: Reason::PaymentAlreadyUsed.as_str().into(),
            }
        }
        PaymentState::Settled { receipt } => Claim::Settled {
            receipt: receipt.clone(),
        },
        // A facilitator's refusal may hide a transfer it broadcast anyway: once the payment can
        // no longer be settled, only the chain may decide it.
        PaymentState::Refused {
            retryable: true,
            reason,
            ..
        } if lease_s.is_none() && expired(&current.record, now) => {
            let since = now;
            current.state = PaymentState::Unknown {
                since,
                detail: format!("refused by the facilitator ({reason}), then expired"),
                transaction: None,
                checked_at: None,
                chain_error: None,
            };
            Claim::Unknown { since }
        }
        PaymentState::Refused {
            retryable: true, ..
        } => settle(entry),
        PaymentState::Refused { reason, .. } => Claim::Refused {
            reason: reason.clone(),
        },
        PaymentState::Unknown { since, .. } => Claim::Unknown { since: *since },
    }
}

/// Whether a payment can no longer be settled at `now` (the verifier's `validBefore` rule).
fn expired(record: &PaymentRecord, now: u64) -> bool {
    now.saturating_add(crate::verify::VALID_BEFORE_BUFFER_SECS) > record.valid_before
}

/// A claim past its lease makes the payment unknown: the request holding it may have sent it
/// to the facilitator and gone away.
pub fn expire_lease(entry: &mut Entry, now: u64) {
    if let PaymentState::Settling { since, lease_until } = entry.state {
        if now >= lease_until {
            entry.state = PaymentState::Unknown {
                since,
                detail: "the request settling it did not conclude in time".into(),
                transaction: None,
                checked_at: None,
                chain_error: None,
            };
        }
    }
}

/// Records how the claimed attempt ended. A settlement is evidence and wins over any state but
/// a settled one; other conclusions apply only while the claim is held (a late conclusion after
/// the lease ran out does not undo what was learnt since).
pub fn conclude(entry: &mut Option<Entry>, conclusion: Conclusion, now: u64) {
    let Some(current) = entry.as_mut() else {
        return;
    };
    let settling = matches!(current.state, PaymentState::Settling { .. });
    match conclusion {
        Conclusion::Settled { receipt } => {
            if !matches!(current.state, PaymentState::Settled { .. }) {
                current.state = PaymentState::Settled { receipt };
            }
        }
        _ if !settling => {}
        Conclusion::Refused { reason } => {
            current.state = PaymentState::Refused {
                reason,
                at: now,
                retryable: true,
            }
        }
        Conclusion::Unknown {
            detail,
            transaction,
        } => {
            current.state = PaymentState::Unknown {
                since: now,
                detail,
                transaction,
                checked_at: None,
                chain_error: None,
            }
        }
        Conclusion::Released => *entry = None,
    }
}

/// What the chain shows about an unknown payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// The transfer to the offered recipient, in this transaction.
    Transferred {
        /// The transaction hash.
        transaction: String,
    },
    /// The authorisation was spent in a transaction without that transfer (paid elsewhere).
    UsedWithoutTransfer,
    /// The payer cancelled the authorisation.
    Canceled,
    /// Nothing yet, as of the chain's latest block at `chain_time`.
    Nothing {
        /// The latest block's timestamp.
        chain_time: u64,
    },
}

/// Applies the chain's evidence to an unknown payment at `now`: proven → settled (its receipt
/// written from the record); spent elsewhere, cancelled, or nothing once the chain itself is
/// past `validBefore` and the margin (a lagging node cannot refuse it) → refused for good;
/// otherwise it stays unknown.
pub fn reconcile(entry: &mut Entry, evidence: Evidence, now: u64) {
    let PaymentState::Unknown { checked_at, .. } = &mut entry.state else {
        return;
    };
    let refused = |reason: Reason| PaymentState::Refused {
        reason: reason.as_str().into(),
        at: now,
        retryable: false,
    };
    entry.state = match evidence {
        Evidence::Transferred { transaction } => PaymentState::Settled {
            receipt: Box::new(receipt_from_chain(&entry.record, transaction, now)),
        },
        Evidence::UsedWithoutTransfer | Evidence::Canceled => {
            refused(Reason::InvalidExactEvmNonceAlreadyUsed)
        }
        Evidence::Nothing { chain_time } if past_deadline(&entry.record, chain_time.min(now)) => {
            refused(Reason::InvalidExactEvmPayloadAuthorizationValidBefore)
        }
        Evidence::Nothing { .. } => {
            *checked_at = Some(now);
            return;
        }
    };
}

/// When the coordinator should look at the payment again without being asked: an unknown
/// payment is looked for on chain every [`RECHECK_INTERVAL_S`] until it is decided; a claim
/// is looked at when its lease runs out; a decided payment when it may be forgotten.
pub fn next_check(entry: &Entry, now: u64) -> Option<u64> {
    match &entry.state {
        PaymentState::Settling { lease_until, .. } => Some(*lease_until),
        PaymentState::Unknown { .. } => Some(now.saturating_add(RECHECK_INTERVAL_S)),
        PaymentState::Settled { .. } | PaymentState::Refused { .. } => forget_at(entry),
    }
}

/// Whether no transaction can carry the payment any more at `time`: `validBefore` and the
/// margin have passed.
fn past_deadline(record: &PaymentRecord, time: u64) -> bool {
    time > record.valid_before.saturating_add(RECONCILE_MARGIN_S)
}

/// When a decided payment may be forgotten: once it can no longer be settled (its
/// `validBefore` and the margin have passed, after which a request with it is only looked
/// up, and refused as expired when nothing is known), and a settled one no longer serves
/// retries.
pub fn forget_at(entry: &Entry) -> Option<u64> {
    let unsettleable = entry.record.valid_before.saturating_add(RECONCILE_MARGIN_S);
    match &entry.state {
        PaymentState::Settled { receipt } => {
            Some(unsettleable.max(serves_until(&entry.record, receipt)))
        }
        PaymentState::Refused { .. } => Some(unsettleable),
        PaymentState::Settling { .. } | PaymentState::Unknown { .. } => None,
    }
}

/// Until when a settled payment serves retries (its receipt's expiry in KV).
pub fn serves_until(record: &PaymentRecord, receipt: &Receipt) -> u64 {
    receipt.settled_at.saturating_add(record.receipt_ttl_s)
}

/// The receipt of a payment the chain proved: the settlement response a facilitator would
/// have given, rebuilt from the record and the transaction.
fn receipt_from_chain(record: &PaymentRecord, transaction: String, now: u64) -> Receipt {
    Receipt {
        format: RECEIPT_FORMAT,
        resource: record.resource.clone(),
        payment_digest: record.payment_digest.clone(),
        route: record.route.clone(),
        transaction: transaction.clone(),
        network: record.network.clone(),
        asset: record.token,
        payer: record.payer,
        nonce: record.nonce,
        amount: record.amount,
        settled_at: now,
        answered: false,
        settlement: SettleResponse {
            success: true,
            error_reason: None,
            transaction,
            network: record.network.clone(),
            payer: Some(record.payer.to_checksum()),
            amount: Some(record.amount.to_string()),
            extensions: None,
        },
    }
}

/// A chain's JSON-RPC API (the shell's client, with its timeout and bounded reads).
#[allow(async_fn_in_trait)] // Workers futures are not Send; no bound is wanted.
pub trait ChainReader {
    /// Calls `method` with `params` on chain `chain_id`; the `result` member of the answer.
    async fn call(&self, chain_id: u64, method: &str, params: Value) -> Result<Value, ChainError>;
}

/// Why the chain could not be asked.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainError {
    /// No JSON-RPC URL is configured for the chain.
    NoEndpoint {
        /// The chain.
        chain_id: u64,
    },
    /// The call failed (transport, timeout, an error answer, or an answer of another shape).
    Failed {
        /// What happened.
        detail: String,
    },
}

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoEndpoint { chain_id } => {
                write!(f, "no rpc_url configured for chain {chain_id}")
            }
            Self::Failed { detail } => write!(f, "JSON-RPC call failed: {detail}"),
        }
    }
}

/// Whether `address` holds contract code on chain `chain_id` now (`eth_getCode` at the
/// latest block): a smart-wallet signature from an account without code and without an
/// ERC-6492 wrapper cannot be valid.
pub async fn has_code<C: ChainReader>(
    chain: &C,
    chain_id: u64,
    address: &Address,
) -> Result<bool, ChainError> {
    let code = chain
        .call(
            chain_id,
            "eth_getCode",
            json!([address.to_checksum(), "latest"]),
        )
        .await?;
    match code.as_str() {
        Some(hex) if hex.starts_with("0x") => Ok(hex.len() > 2),
        _ => Err(ChainError::Failed {
            detail: format!("eth_getCode: not hex data: {code}"),
        }),
    }
}

/// Looks for the payment on chain: a transaction the facilitator named first, then the
/// authorisation's logs over the last [`LOG_LOOKBACK_BLOCKS`] blocks (newest first, in ranges
/// of [`LOG_RANGE_BLOCKS`], which public endpoints accept) and, when it was spent, that
/// transaction. A transaction proves the payment only if its receipt holds the authorisation's
/// `AuthorizationUsed` and the transfer, and its input carries this payment's signature (the
/// same nonce signed again for another payment proves nothing).
pub async fn find_evidence<C: ChainReader>(
    chain: &C,
    record: &PaymentRecord,
    hint: Option<&str>,
) -> Result<Evidence, ChainError> {
    let expected = ExpectedTransfer {
        token: record.token,
        payer: record.payer,
        pay_to: record.pay_to,
        amount: record.amount,
        nonce: record.nonce,
        signature: record.signature.0.clone(),
    };
    let chain_id = record.chain_id;
    let proves = |transaction: String| {
        let expected = &expected;
        async move {
            let receipt = chain
                .call(chain_id, "eth_getTransactionReceipt", json!([transaction]))
                .await?;
            if receipt.is_null() {
                return Ok(None);
            }
            let receipt: RpcReceipt =
                serde_json::from_value(receipt).map_err(|e| failed(&format!("receipt: {e}")))?;
            if !expected.proven_by(&receipt) {
                return Ok(Some(false));
            }
            let sent = chain
                .call(chain_id, "eth_getTransactionByHash", json!([transaction]))
                .await?;
            let input = sent.get("input").and_then(Value::as_str).unwrap_or("");
            Ok(Some(expected.carried_by(input)))
        }
    };
    if let Some(hint) = hint {
        if proves(hint.to_owned()).await? == Some(true) {
            return Ok(Evidence::Transferred {
                transaction: hint.to_ascii_lowercase(),
            });
        }
    }
    let head = chain
        .call(chain_id, "eth_getBlockByNumber", json!(["latest", false]))
        .await?;
    let field = |name: &str| head.get(name).and_then(parse_quantity);
    let (Some(latest), Some(chain_time)) = (field("number"), field("timestamp")) else {
        return Err(failed("eth_getBlockByNumber: no number or timestamp"));
    };
    let oldest = latest.saturating_sub(LOG_LOOKBACK_BLOCKS);
    let mut to = latest;
    loop {
        let from = to.saturating_sub(LOG_RANGE_BLOCKS - 1).max(oldest);
        let logs = chain
            .call(chain_id, "eth_getLogs", expected.logs_filter(from, to))
            .await?;
        let logs: Vec<RpcLog> =
            serde_json::from_value(logs).map_err(|e| failed(&format!("logs: {e}")))?;
        match expected.authorization_logs(&logs) {
            AuthorizationLogs::Canceled => return Ok(Evidence::Canceled),
            AuthorizationLogs::Used { transaction } => {
                return match proves(transaction.clone()).await? {
                    Some(true) => Ok(Evidence::Transferred { transaction }),
                    Some(false) => Ok(Evidence::UsedWithoutTransfer),
                    // A log without its receipt yet: the node is catching up, ask again later.
                    None => Ok(Evidence::Nothing { chain_time: 0 }),
                };
            }
            AuthorizationLogs::None if from <= oldest => {
                return Ok(Evidence::Nothing { chain_time })
            }
            AuthorizationLogs::None => to = from - 1,
        }
    }
}

fn failed(detail: &str) -> ChainError {
    ChainError::Failed {
        detail: detail.to_owned(),
    }
}
