//! The README's table of answers is generated from the code: every refusal's status, wire
//! reason and next step come from `Refusal::disposition`, the one mapping. This test renders
//! the table and requires the README to hold exactly it (`EDGE402_BLESS=1 cargo test --test
//! readme` writes it there).
#![cfg(not(target_arch = "wasm32"))]

use edge402::amount::Uint256;
use edge402::config::ConfigError;
use edge402::evm::Address;
use edge402::gate::clients::ClientKind;
use edge402::gate::crawl::CrawlerPriceError;
use edge402::gate::l402::InvoiceError;
use edge402::gate::quote::QuoteError;
use edge402::gate::{Next, Refusal, SmartWalletRefusal};
use edge402::protocol::HeaderError;
use edge402::routes::PathError;
use edge402::siwx::SignInError;
use edge402::verify::VerifyError;

const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
const BEGIN: &str =
    "<!-- answers-table: generated from Refusal::disposition by tests/readme.rs -->\n";
const END: &str = "<!-- answers-table end -->\n";

/// The situations the README names, each with the refusals that stand for it.
fn catalogue() -> Vec<(&'static str, Vec<Refusal>)> {
    let passed = || "the facilitator's reason".to_owned();
    let any = Address([0x11; 20]);
    let value = Uint256::from(1u64);
    vec![
        ("no payment", vec![Refusal::PaymentRequired]),
        (
            "header not base64 / not JSON / wrong shape",
            vec![Refusal::MalformedPayment(HeaderError::Base64)],
        ),
        (
            "x402 version not spoken here",
            vec![Refusal::UnsupportedVersion(HeaderError::UnsupportedVersion {
                found: "3".into(),
            })],
        ),
        (
            "scheme, network, requirements",
            vec![
                Refusal::PaymentInvalid(VerifyError::UnsupportedScheme {
                    scheme: "upto".into(),
                }),
                Refusal::PaymentInvalid(VerifyError::NetworkMismatch {
                    network: "base".into(),
                }),
                Refusal::PaymentInvalid(VerifyError::RequirementsMismatch),
            ],
        ),
        (
            "signature (wrong signer, malformed, high-s)",
            vec![Refusal::PaymentInvalid(VerifyError::SignerMismatch {
                from: any,
                recovered: any,
            })],
        ),
        (
            "recipient, time window, amount",
            vec![
                Refusal::PaymentInvalid(VerifyError::RecipientMismatch {
                    expected: any,
                    got: any,
                }),
                Refusal::PaymentInvalid(VerifyError::Expired {
                    valid_before: value,
                    now: 0,
                }),
                Refusal::PaymentInvalid(VerifyError::NotYetValid {
                    valid_after: value,
                    now: 0,
                }),
                Refusal::PaymentInvalid(VerifyError::ValueMismatch {
                    expected: value,
                    got: value,
                }),
            ],
        ),
        (
            "smart-wallet payment the facilitator's `/verify` refused",
            vec![Refusal::VerifyRefused { reason: passed() }],
        ),
        (
            "payment already settled for another resource",
            vec![Refusal::PaymentAlreadyUsed],
        ),
        (
            "settlement refused (short codes as received, anything else `unexpected_settle_error`; a `success:false` settlement header)",
            vec![Refusal::SettlementRefused { reason: passed() }],
        ),
        (
            "`/settle` timed out: the payment may have settled (kept as unknown until the chain tells)",
            vec![Refusal::FacilitatorTimeout],
        ),
        (
            "`/settle` may have arrived, but its answer was a 5xx, a reset, garbage or not believed (kept as unknown)",
            vec![Refusal::FacilitatorUnavailable {
                may_have_settled: true,
            }],
        ),
        (
            "facilitator not reachable at any configured URL, or `/verify` failed: nothing was settled",
            vec![Refusal::FacilitatorUnavailable {
                may_have_settled: false,
            }],
        ),
        (
            "the payment is settling in another request, or its outcome is still unknown (`settlement_pending` from the facilitator, nonce already used without proof yet)",
            vec![Refusal::SettlementPending],
        ),
        (
            "the payment coordinator (Durable Object) cannot be reached: nothing settled, nothing served",
            vec![Refusal::CoordinatorUnavailable],
        ),
        (
            "a v2 payment whose `resource.url` is not the resource offered",
            vec![Refusal::ResourceMismatch {
                paid_for: "https://other.example/x".into(),
            }],
        ),
        (
            "smart-wallet payment not taken: smart wallets off, or a payer without code and no ERC-6492 wrapper",
            vec![Refusal::SmartWalletRefused {
                why: SmartWalletRefusal::NoContract,
            }],
        ),
        (
            "smart-wallet payments past the client's allowance for the minute",
            vec![Refusal::SmartWalletRefused {
                why: SmartWalletRefusal::TooMany,
            }],
        ),
        (
            "the allowances (Durable Objects) cannot be reached: no smart-wallet verification, no invoice",
            vec![
                Refusal::AllowanceUnavailable,
                Refusal::InvoiceUnavailable {
                    error: InvoiceError::AllowanceUnavailable {
                        detail: "unreachable".into(),
                    },
                    asked: Box::new(Refusal::PaymentRequired),
                    x402_offered: false,
                },
            ],
        ),
        (
            "a v2 payment whose price quote (`extra.edge402Quote`) is not this gateway's for this resource and amount",
            vec![Refusal::QuoteRefused(QuoteError::Forged)],
        ),
        (
            "a v2 payment whose price quote has expired (the answer quotes the price of now)",
            vec![Refusal::QuoteRefused(QuoteError::Expired { expires: 0 })],
        ),
        (
            "a v2 payment whose `payment-identifier` is not 16 to 128 letters, digits, `-` and `_` (with `payment_identifier`)",
            vec![Refusal::InvalidPaymentIdentifier {
                detail: "too short".into(),
            }],
        ),
        (
            "a v2 payment without a `payment-identifier` where `payment_identifier.required`",
            vec![Refusal::PaymentIdentifierRequired],
        ),
        (
            "a `payment-identifier` whose settled payment was another payer's or for another resource",
            vec![Refusal::PaymentIdentifierConflict],
        ),
        (
            "a `SIGN-IN-WITH-X` sign-in that is malformed, for another domain or resource, outside its time, on a chain the route is not paid on, or whose signature is not the address's (a smart wallet's contract refused it, or no `rpc_url` is configured to ask it)",
            vec![
                Refusal::SignIn(SignInError::Malformed { detail: "x".into() }),
                Refusal::SignIn(SignInError::DomainMismatch { got: "x".into() }),
                Refusal::SignIn(SignInError::UriMismatch { got: "x".into() }),
                Refusal::SignIn(SignInError::IssuedAt),
                Refusal::SignIn(SignInError::IssuedAtTooOld { age_s: 301 }),
                Refusal::SignIn(SignInError::IssuedAtInFuture),
                Refusal::SignIn(SignInError::ExpirationTime),
                Refusal::SignIn(SignInError::Expired),
                Refusal::SignIn(SignInError::NotBefore),
                Refusal::SignIn(SignInError::NotYetValid),
                Refusal::SignIn(SignInError::UnsupportedChain { chain_id: "x".into() }),
                Refusal::SignIn(SignInError::ChainId),
                Refusal::SignIn(SignInError::MalformedSignature { detail: "x".into() }),
                Refusal::SignIn(SignInError::Signature),
                Refusal::SignIn(SignInError::NoVerifier { chain_id: 1 }),
            ],
        ),
        (
            "a smart wallet's sign-in whose chain (the network's `rpc_url`) cannot be asked: nothing served, the nonce not spent",
            vec![Refusal::SignIn(SignInError::Verifier { detail: "x".into() })],
        ),
        (
            "a sign-in whose nonce was used before (a replay)",
            vec![Refusal::SignIn(SignInError::NonceUsed)],
        ),
        (
            "a valid sign-in by a wallet without a payment giving it access now",
            vec![Refusal::SignIn(SignInError::NotEntitled)],
        ),
        (
            "a wallet that signed in more than 512 times in five minutes (per route or group)",
            vec![Refusal::SignIn(SignInError::TooMany)],
        ),
        (
            "a route priced per request whose pricing service failed or gave a price that cannot be offered",
            vec![Refusal::PricingUnavailable {
                detail: "timed out".into(),
            }],
        ),
        (
            "origin unreachable, or an MCP server whose answer holds no response to the paid call (a stream that broke off): nothing charged",
            vec![Refusal::OriginUnavailable],
        ),
        (
            "a request to an MCP route that cannot be priced: not JSON, or a priced `tools/call` in a batch or without an `id` (answered as a JSON-RPC error, HTTP 200)",
            vec![Refusal::InvalidMcpRequest {
                code: -32600,
                detail: "a priced tools/call cannot be sent in a batch; send it on its own",
            }],
        ),
        (
            "a request body the gateway reads (an MCP route's) over 1 MiB",
            vec![Refusal::RequestTooLarge { limit: 1 << 20 }],
        ),
        (
            "a browser, where the route's `clients.browsers` is `\"refuse\"`",
            vec![Refusal::ClientRefused {
                kind: ClientKind::Browser,
            }],
        ),
        (
            "an automated client without a valid Web Bot Auth signature, where `clients.unsigned_bots` is `\"refuse\"` (`crawler-error: StrongAuthRequired`)",
            vec![Refusal::ClientRefused {
                kind: ClientKind::Bot,
            }],
        ),
        (
            "a verified agent in `clients.deny_agents`, or where `clients.verified_agents` is `\"refuse\"` (`crawler-error: CrawlerForbidden`)",
            vec![Refusal::ClientRefused {
                kind: ClientKind::Agent,
            }],
        ),
        (
            "an agent's covered `crawler-exact-price` and `crawler-max-price` both, or one not `USD <amount>` (`crawler-error: ConflictingPriceHeaders`, `InvalidCrawlerPriceValue`)",
            vec![
                Refusal::CrawlerPrice(CrawlerPriceError::Conflicting),
                Refusal::CrawlerPrice(CrawlerPriceError::InvalidValue),
            ],
        ),
        (
            "an agent's covered `crawler-exact-price` other than the price, or `crawler-max-price` below it (with `crawler-price`; `crawler-error: InvalidCrawlerExactPrice`, `InvalidCrawlerMaxPrice`)",
            vec![
                Refusal::CrawlerPrice(CrawlerPriceError::ExactMismatch),
                Refusal::CrawlerPrice(CrawlerPriceError::MaxTooLow),
            ],
        ),
        (
            "refused path spelling",
            vec![Refusal::InvalidPath(PathError::EncodedSeparator)],
        ),
        (
            "a method-override header, with `origin.method_override = \"refuse\"`",
            vec![Refusal::MethodOverride {
                header: "X-HTTP-Method-Override",
            }],
        ),
        (
            "path priced for other methods only (`Allow` lists them)",
            vec![Refusal::MethodNotAllowed {
                allowed: vec!["GET".into()],
            }],
        ),
        (
            "broken configuration",
            vec![Refusal::Configuration(ConfigError {
                key: "routes".into(),
                problem: "is required".into(),
            })],
        ),
        (
            "L402 credential that does not verify or was revoked",
            vec![Refusal::L402CredentialInvalid],
        ),
        (
            "L402 token past its request budget",
            vec![Refusal::L402BudgetExhausted],
        ),
        (
            "no invoice, on a route that also sells x402 (the x402 challenge alone)",
            vec![Refusal::InvoiceUnavailable {
                error: InvoiceError::Timeout,
                asked: Box::new(Refusal::PaymentRequired),
                x402_offered: true,
            }],
        ),
        (
            "Lightning node down (L402-only route) / invoice allowance used up",
            vec![
                Refusal::InvoiceUnavailable {
                    error: InvoiceError::Timeout,
                    asked: Box::new(Refusal::PaymentRequired),
                    x402_offered: false,
                },
                Refusal::InvoiceUnavailable {
                    error: InvoiceError::RateLimited,
                    asked: Box::new(Refusal::PaymentRequired),
                    x402_offered: false,
                },
            ],
        ),
        (
            "L402 revocation or request budget cannot be checked",
            vec![
                Refusal::RevocationUnavailable,
                Refusal::TokenBudgetUnavailable,
            ],
        ),
    ]
}

fn next_step(next: Next) -> String {
    match next {
        Next::Pay => "pay: a fresh challenge is attached".into(),
        Next::RetrySamePayment { after_s } => {
            format!("retry with the same payment after {after_s} s (`Retry-After`)")
        }
        Next::RetryLater { after_s } => format!("retry after {after_s} s (`Retry-After`)"),
        Next::ChangeRequest => "change the request".into(),
        Next::ContactOperator => "nothing: the operator must act".into(),
    }
}

/// Joins the distinct items of a column, in order.
fn distinct(items: impl Iterator<Item = String>, separator: &str) -> String {
    let mut seen: Vec<String> = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen.join(separator)
}

fn table() -> String {
    let mut table = String::from(
        "| situation | status | reason (`error` of the challenge or body) | the client may |\n|---|---|---|---|\n",
    );
    for (situation, refusals) in catalogue() {
        let dispositions: Vec<_> = refusals.iter().map(Refusal::disposition).collect();
        let status = distinct(dispositions.iter().map(|d| d.status.to_string()), " / ");
        let reasons = distinct(
            dispositions.iter().map(|d| match d.reason.as_str() {
                "the facilitator's reason" => d.reason.clone(),
                reason => format!("`{reason}`"),
            }),
            ", ",
        );
        let next = distinct(dispositions.iter().map(|d| next_step(d.next)), " / ");
        table.push_str(&format!(
            "| {situation} | {status} | {reasons} | {next} |\n"
        ));
    }
    table
}

#[test]
fn the_readme_answers_table_is_the_codes() {
    let readme = std::fs::read_to_string(README).expect("README.md");
    let expected = format!("{BEGIN}{}{END}", table());
    let (Some(start), Some(end)) = (readme.find(BEGIN), readme.find(END)) else {
        panic!("README.md has no generated answers table; it should hold:\n{expected}");
    };
    let current = &readme[start..end + END.len()];
    if current == expected {
        return;
    }
    if std::env::var_os("EDGE402_BLESS").is_some() {
        let updated = readme.replacen(current, &expected, 1);
        std::fs::write(README, updated).expect("README.md written");
        return;
    }
    panic!("README.md's answers table differs from the code; it should read:\n{expected}");
}

#[test]
fn a_402_always_invites_payment_and_upstream_faults_say_how_to_retry() {
    for (situation, refusals) in catalogue() {
        for refusal in refusals {
            let d = refusal.disposition();
            assert_eq!(
                d.status == 402,
                d.next == Next::Pay && d.status != 400,
                "{situation}"
            );
            if d.status >= 502 {
                assert!(
                    matches!(
                        d.next,
                        Next::RetrySamePayment { .. } | Next::RetryLater { .. }
                    ),
                    "{situation}"
                );
            }
        }
    }
}

/// The README's Rust API example is `examples/hello-paid/src/lib.rs`, which CI compiles.
#[test]
fn the_readme_rust_api_example_is_the_compiled_one() {
    let readme = std::fs::read_to_string(README).unwrap();
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/hello-paid/src/lib.rs"
    );
    let code = std::fs::read_to_string(example).unwrap();
    assert!(
        readme.contains(&format!("```rust\n{code}```\n")),
        "README.md's Rust API example differs from {example}"
    );
}
