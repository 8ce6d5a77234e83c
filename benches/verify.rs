//! Native benchmarks of the verification path.
//!
//! - `verify/full`: `PaymentPayload::from_header` + `verify::verify_payment` on 64 signed v2
//!   payments from 64 distinct keys, cycled so no one input stays hot in the caches.
//! - `verify/verify_payment`: the same without the header decode (payments decoded up front).
//! - `recover/*`: signature recovery alone, the one-pass recovery against k256's
//!   recover-then-verify, on the same digests and signatures.
//! - `decode/payment_header`: header decoding alone.
//!
//! Run with `cargo bench --bench verify`. These numbers are native; the shipped WebAssembly is
//! slower by a factor that depends on the engine.

use std::collections::BTreeSet;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;

use edge402::evm::signer::PaymentSigner;
use edge402::evm::{
    keccak256, recover_address_from_prehash, recover_address_from_prehash_with_k256, Address,
    Bytes32, ExactEvmPayload, RecoverableSignature, SignatureKind,
};
use edge402::networks::Networks;
use edge402::pay::pay_v2;
use edge402::protocol::{v2, PaymentPayload};
use edge402::terms::ExactEvmTerms;
use edge402::verify::{verify_payment, SignatureCheck};
use edge402::Uint256;

/// How many distinct payers (and payments) the benchmarks cycle through.
const PAYMENTS: usize = 64;

/// The fixed clock: payments are signed and verified at this unix time.
const NOW: u64 = 1_750_000_000;

/// The one requirement every payment is for: 0.01 USDC on Base Sepolia.
fn requirement() -> v2::PaymentRequirements {
    v2::PaymentRequirements {
        scheme: "exact".into(),
        network: "eip155:84532".into(),
        amount: Uint256::from(10_000),
        asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e".into(),
        pay_to: "0x209693Bc6afc0C5328bA36FaF03C514EF312287C".into(),
        max_timeout_seconds: 60,
        extra: Some(json!({"name": "USDC", "version": "2"})),
    }
}

/// Deterministic 32 bytes for index `i` under a label (a private key or a nonce).
fn derived(label: &str, i: usize) -> [u8; 32] {
    keccak256(&[label.as_bytes(), &(i as u64).to_be_bytes()])
}

/// Everything the benchmarks share, built once.
struct Fixture {
    networks: Networks,
    offered: Vec<v2::PaymentRequirements>,
    /// `PAYMENT-SIGNATURE` header values.
    headers: Vec<String>,
    /// The same payments, decoded.
    payments: Vec<PaymentPayload>,
    /// Each payment's EIP-712 signing hash and ECDSA signature.
    signed_digests: Vec<([u8; 32], RecoverableSignature)>,
}

fn fixture() -> Fixture {
    let networks = Networks::builtin();
    let offered = vec![requirement()];
    let terms = ExactEvmTerms::resolve(&offered[0], &networks).expect("the requirement resolves");

    let mut headers = Vec::with_capacity(PAYMENTS);
    let mut payments = Vec::with_capacity(PAYMENTS);
    let mut signed_digests = Vec::with_capacity(PAYMENTS);
    let mut payers = Vec::with_capacity(PAYMENTS);
    for i in 0..PAYMENTS {
        // A keccak output is a valid secp256k1 key except with negligible probability; the
        // expect below would say so.
        let signer =
            PaymentSigner::from_bytes(&derived("edge402 bench key", i)).expect("valid key");
        let nonce = Bytes32(derived("edge402 bench nonce", i));
        let payment = pay_v2(&signer, &offered[0], None, &networks, NOW, nonce).expect("signs");

        let exact: ExactEvmPayload =
            serde_json::from_value(payment.payload().clone()).expect("exact-EVM payload");
        let signature =
            match SignatureKind::from_bytes(&exact.signature.0).expect("valid signature") {
                SignatureKind::Ecdsa(signature) => signature,
                SignatureKind::SmartWallet { .. } => unreachable!("a local key signs ECDSA"),
            };
        let digest = exact.authorization.signing_hash(&terms.domain);

        let header = payment.to_header();
        let decoded = PaymentPayload::from_header(&header).expect("own header decodes");
        assert_eq!(decoded, payment, "header round trip");
        let verified =
            verify_payment(&decoded, &offered, &networks, NOW).expect("own payment verifies");
        assert_eq!(verified.payer, signer.address());
        assert_eq!(verified.signature, SignatureCheck::Recovered);
        assert_eq!(
            recover_address_from_prehash(&digest, &signature),
            Ok(signer.address())
        );
        assert_eq!(
            recover_address_from_prehash_with_k256(&digest, &signature),
            Ok(signer.address())
        );

        headers.push(header);
        payments.push(decoded);
        signed_digests.push((digest, signature));
        payers.push(signer.address());
    }
    let distinct: BTreeSet<Address> = payers.into_iter().collect();
    assert_eq!(distinct.len(), PAYMENTS, "every payment has its own payer");
    Fixture {
        networks,
        offered,
        headers,
        payments,
        signed_digests,
    }
}

fn benches(c: &mut Criterion) {
    let f = fixture();

    let mut group = c.benchmark_group("verify");
    group.bench_function("full", |b| {
        let mut i = 0;
        b.iter(|| {
            let header = &f.headers[i % PAYMENTS];
            i += 1;
            let payment = PaymentPayload::from_header(black_box(header)).expect("decodes");
            let verified =
                verify_payment(&payment, black_box(&f.offered), &f.networks, black_box(NOW));
            black_box(verified.expect("verifies"))
        })
    });
    group.bench_function("verify_payment", |b| {
        let mut i = 0;
        b.iter(|| {
            let payment = &f.payments[i % PAYMENTS];
            i += 1;
            let verified = verify_payment(
                black_box(payment),
                black_box(&f.offered),
                &f.networks,
                black_box(NOW),
            );
            black_box(verified.expect("verifies"))
        })
    });
    group.finish();

    let mut group = c.benchmark_group("recover");
    group.bench_function("one_pass", |b| {
        let mut i = 0;
        b.iter(|| {
            let (digest, signature) = &f.signed_digests[i % PAYMENTS];
            i += 1;
            black_box(recover_address_from_prehash(
                black_box(digest),
                black_box(signature),
            ))
        })
    });
    group.bench_function("k256_recover_then_verify", |b| {
        let mut i = 0;
        b.iter(|| {
            let (digest, signature) = &f.signed_digests[i % PAYMENTS];
            i += 1;
            black_box(recover_address_from_prehash_with_k256(
                black_box(digest),
                black_box(signature),
            ))
        })
    });
    group.finish();

    let mut group = c.benchmark_group("decode");
    group.bench_function("payment_header", |b| {
        let mut i = 0;
        b.iter(|| {
            let header = &f.headers[i % PAYMENTS];
            i += 1;
            black_box(PaymentPayload::from_header(black_box(header)).expect("decodes"))
        })
    });
    group.finish();
}

criterion_group! {
    name = verify;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(verify);
