//! What the chain says about an EIP-3009 authorisation, read from its logs over JSON-RPC.
//!
//! The token emits `AuthorizationUsed(authorizer, nonce)` when an authorisation is spent and
//! `AuthorizationCanceled(authorizer, nonce)` when it is cancelled (EIP-3009). Neither alone
//! proves a payment to *us*: `transferWithAuthorization` and `receiveWithAuthorization` both
//! emit `AuthorizationUsed`, for any recipient and amount the payer signed. The proof is that
//! log together with a `Transfer(payer → pay_to, amount)` of the same token in the same
//! transaction. `authorizationState(authorizer, nonce)` says "used or cancelled" and so proves
//! nothing; it is not read.
//!
//! This module builds the JSON-RPC parameters and reads the answers; it performs no I/O.

use serde::Deserialize;
use serde_json::{json, Value};

use super::{keccak256, Address, Bytes32};
use crate::amount::Uint256;

/// `keccak256("AuthorizationUsed(address,bytes32)")`.
pub fn authorization_used_topic() -> [u8; 32] {
    keccak256(&[b"AuthorizationUsed(address,bytes32)"])
}

/// `keccak256("AuthorizationCanceled(address,bytes32)")`.
pub fn authorization_canceled_topic() -> [u8; 32] {
    keccak256(&[b"AuthorizationCanceled(address,bytes32)"])
}

/// `keccak256("Transfer(address,address,uint256)")`.
pub fn transfer_topic() -> [u8; 32] {
    keccak256(&[b"Transfer(address,address,uint256)"])
}

/// The payment an authorisation should have made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedTransfer {
    /// The token contract.
    pub token: Address,
    /// The authorizer (`from`).
    pub payer: Address,
    /// The recipient the payment was for.
    pub pay_to: Address,
    /// The exact amount.
    pub amount: Uint256,
    /// The EIP-3009 nonce.
    pub nonce: Bytes32,
    /// The payment's signature bytes.
    pub signature: Vec<u8>,
}

/// One log of an `eth_getLogs` answer or of a transaction receipt, as JSON-RPC writes it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcLog {
    /// The contract that emitted it.
    pub address: String,
    /// Its topics, `0x`-hex.
    pub topics: Vec<String>,
    /// Its data, `0x`-hex.
    #[serde(default)]
    pub data: String,
    /// The transaction it is in.
    #[serde(default)]
    pub transaction_hash: Option<String>,
    /// Set when a reorganisation removed it.
    #[serde(default)]
    pub removed: bool,
}

/// The part of `eth_getTransactionReceipt` used here.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct RpcReceipt {
    /// `0x1` for a transaction that succeeded.
    #[serde(default)]
    pub status: Option<String>,
    /// Its logs.
    #[serde(default)]
    pub logs: Vec<RpcLog>,
}

/// What the authorisation logs of one `(payer, nonce)` say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthorizationLogs {
    /// Neither used nor cancelled, as far as the logs searched reach.
    None,
    /// Spent, in this transaction (whose transfer still has to be checked).
    Used {
        /// The transaction hash.
        transaction: String,
    },
    /// Cancelled by the payer: it can never move tokens.
    Canceled,
}

impl ExpectedTransfer {
    /// The `eth_getLogs` filter for the authorisation's `AuthorizationUsed` and
    /// `AuthorizationCanceled` logs, in blocks `from_block..=to_block`.
    pub fn logs_filter(&self, from_block: u64, to_block: u64) -> Value {
        json!([{
            "address": self.token.to_string(),
            "fromBlock": format!("0x{from_block:x}"),
            "toBlock": format!("0x{to_block:x}"),
            "topics": [
                [hex32(&authorization_used_topic()), hex32(&authorization_canceled_topic())],
                hex32(&self.payer.to_word()),
                hex32(&self.nonce.0),
            ],
        }])
    }

    /// Reads the logs of [`Self::logs_filter`]: whether the authorisation was used (and in
    /// which transaction) or cancelled. Logs of other contracts, payers or nonces, and
    /// removed ones, are ignored (a node may answer more than was asked).
    pub fn authorization_logs(&self, logs: &[RpcLog]) -> AuthorizationLogs {
        let used = hex32(&authorization_used_topic());
        let canceled = hex32(&authorization_canceled_topic());
        let (payer, nonce) = (hex32(&self.payer.to_word()), hex32(&self.nonce.0));
        let ours = logs.iter().filter(|log| {
            !log.removed
                && same_address(&log.address, &self.token)
                && log.topics.len() == 3
                && log.topics[1].eq_ignore_ascii_case(&payer)
                && log.topics[2].eq_ignore_ascii_case(&nonce)
        });
        let mut outcome = AuthorizationLogs::None;
        for log in ours {
            if log.topics[0].eq_ignore_ascii_case(&canceled) {
                outcome = AuthorizationLogs::Canceled;
            } else if log.topics[0].eq_ignore_ascii_case(&used) {
                if let Some(transaction) = &log.transaction_hash {
                    return AuthorizationLogs::Used {
                        transaction: transaction.to_ascii_lowercase(),
                    };
                }
            }
        }
        outcome
    }

    /// Whether a transaction's receipt proves the payment: it succeeded, and holds this
    /// authorisation's `AuthorizationUsed` and a `Transfer(payer → pay_to, amount)` of the
    /// token.
    pub fn proven_by(&self, receipt: &RpcReceipt) -> bool {
        let succeeded = receipt.status.as_deref().is_none_or(|s| s == "0x1");
        let used = matches!(
            self.authorization_logs(&receipt.logs),
            AuthorizationLogs::Used { .. }
        );
        let transfer = hex32(&transfer_topic());
        let (from, to) = (hex32(&self.payer.to_word()), hex32(&self.pay_to.to_word()));
        let amount = hex32(&self.amount.to_be_bytes());
        let paid = receipt.logs.iter().any(|log| {
            !log.removed
                && same_address(&log.address, &self.token)
                && log.topics.len() == 3
                && log.topics[0].eq_ignore_ascii_case(&transfer)
                && log.topics[1].eq_ignore_ascii_case(&from)
                && log.topics[2].eq_ignore_ascii_case(&to)
                && log.data.eq_ignore_ascii_case(&amount)
        });
        succeeded && used && paid
    }
}

impl ExpectedTransfer {
    /// Whether a transaction's input (`0x`-hex calldata, straight to the token or through a
    /// batching contract) carries this payment's signature: both 32-byte halves `r` and `s`
    /// of an ECDSA signature (in the `v, r, s` and the `bytes` forms alike), or a smart-wallet
    /// signature whole.
    pub fn carried_by(&self, input: &str) -> bool {
        let input = input.to_ascii_lowercase();
        match self.signature.len() {
            65 => [&self.signature[..32], &self.signature[32..64]]
                .iter()
                .all(|half| input.contains(&hex::encode(half))),
            0 => false,
            _ => input.contains(&hex::encode(&self.signature)),
        }
    }
}

/// A JSON-RPC quantity (`0x1a`) as a number.
pub fn parse_quantity(value: &Value) -> Option<u64> {
    let digits = value.as_str()?.strip_prefix("0x")?;
    u64::from_str_radix(digits, 16).ok()
}

fn hex32(bytes: &[u8; 32]) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn same_address(text: &str, address: &Address) -> bool {
    Address::parse_any_case(text).ok().as_ref() == Some(address)
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn event_topics_are_the_eip_3009_and_erc_20_ones() {
        // Known values: Transfer is ERC-20's; the EIP-3009 ones as FiatToken V2 emits them.
        assert_eq!(
            hex32(&transfer_topic()),
            "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
        );
        assert_eq!(
            hex32(&authorization_used_topic()),
            "0x98de503528ee59b575ef0c0a2576a82497bfc029a5685b209e9ec333479b10a5"
        );
        assert_eq!(
            hex32(&authorization_canceled_topic()),
            "0x1cdd46ff242716cdaa72d159d339a485b3438398348d68f09d7c8c0a59353d81"
        );
    }

    fn expected() -> ExpectedTransfer {
        ExpectedTransfer {
            token: Address([0x70; 20]),
            payer: Address([0x11; 20]),
            pay_to: Address([0x22; 20]),
            amount: Uint256::from(1000u64),
            nonce: Bytes32([0x33; 32]),
            signature: [[0x44; 32], [0x55; 32]]
                .concat()
                .into_iter()
                .chain([27])
                .collect(),
        }
    }

    fn log(topics: Vec<String>, data: String) -> RpcLog {
        RpcLog {
            address: Address([0x70; 20]).to_string(),
            topics,
            data,
            transaction_hash: Some(format!("0x{}", "AB".repeat(32))),
            removed: false,
        }
    }

    fn used(e: &ExpectedTransfer) -> RpcLog {
        log(
            vec![
                hex32(&authorization_used_topic()),
                hex32(&e.payer.to_word()),
                hex32(&e.nonce.0),
            ],
            "0x".into(),
        )
    }

    fn transfer(from: Address, to: Address, amount: u64) -> RpcLog {
        log(
            vec![
                hex32(&transfer_topic()),
                hex32(&from.to_word()),
                hex32(&to.to_word()),
            ],
            hex32(&Uint256::from(amount).to_be_bytes()),
        )
    }

    #[test]
    fn a_used_authorisation_with_its_transfer_is_proof() {
        let e = expected();
        let receipt = RpcReceipt {
            status: Some("0x1".into()),
            logs: vec![transfer(e.payer, e.pay_to, 1000), used(&e)],
        };
        assert!(e.proven_by(&receipt));
        assert_eq!(
            e.authorization_logs(&receipt.logs),
            AuthorizationLogs::Used {
                transaction: format!("0x{}", "ab".repeat(32))
            }
        );
    }

    #[test]
    fn a_used_nonce_alone_or_a_transfer_elsewhere_is_not_proof() {
        let e = expected();
        let stranger = Address([0x99; 20]);
        let cases = [
            vec![used(&e)],
            vec![used(&e), transfer(e.payer, stranger, 1000)],
            vec![used(&e), transfer(e.payer, e.pay_to, 999)],
            vec![transfer(e.payer, e.pay_to, 1000)],
        ];
        for logs in cases {
            let receipt = RpcReceipt {
                status: Some("0x1".into()),
                logs,
            };
            assert!(!e.proven_by(&receipt), "{receipt:?}");
        }
        let reverted = RpcReceipt {
            status: Some("0x0".into()),
            logs: vec![used(&e), transfer(e.payer, e.pay_to, 1000)],
        };
        assert!(!e.proven_by(&reverted));
        let mut elsewhere = used(&e);
        elsewhere.address = stranger.to_string();
        assert_eq!(e.authorization_logs(&[elsewhere]), AuthorizationLogs::None);
        let mut removed = used(&e);
        removed.removed = true;
        assert_eq!(e.authorization_logs(&[removed]), AuthorizationLogs::None);
    }

    #[test]
    fn a_cancelled_authorisation_is_seen() {
        let e = expected();
        let mut canceled = used(&e);
        canceled.topics[0] = hex32(&authorization_canceled_topic());
        assert_eq!(
            e.authorization_logs(&[canceled]),
            AuthorizationLogs::Canceled
        );
    }

    #[test]
    fn the_filter_asks_for_both_events_of_this_payer_and_nonce() {
        let filter = expected().logs_filter(0x10, 0x20);
        assert_eq!(filter[0]["fromBlock"], "0x10");
        assert_eq!(filter[0]["toBlock"], "0x20");
        assert_eq!(filter[0]["topics"][0].as_array().unwrap().len(), 2);
        assert_eq!(
            filter[0]["topics"][2],
            format!("0x{}", "33".repeat(32)).as_str()
        );
        assert_eq!(parse_quantity(&json!("0x1a")), Some(26));
        assert_eq!(parse_quantity(&json!("26")), None);
    }

    #[test]
    fn only_a_transaction_that_carries_this_signature_is_this_payment() {
        let e = expected();
        let (r, s) = (hex::encode([0x44; 32]), hex::encode([0x55; 32]));
        // transferWithAuthorization(…, v, r, s): the halves as separate words.
        let vrs = format!("0xe3ee160e{}{}{}", "00".repeat(31) + "1b", r, s);
        assert!(e.carried_by(&vrs));
        // The bytes form, or inside a batching contract's calldata, upper case.
        let bytes = format!("0x82ad56cb{}{}{}1B", "00".repeat(64), r, s).to_ascii_uppercase();
        assert!(e.carried_by(&bytes));
        // The same nonce signed again (another r): not this payment.
        let other = format!("0xe3ee160e{}{}", hex::encode([0x45; 32]), s);
        assert!(!e.carried_by(&other));
        let smart = ExpectedTransfer {
            signature: vec![0x66; 300],
            ..expected()
        };
        assert!(smart.carried_by(&format!("0x00{}00", hex::encode([0x66; 300]))));
        assert!(!smart.carried_by(&format!("0x{}", hex::encode([0x66; 299]))));
    }
}
