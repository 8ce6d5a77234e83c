//! The x402 v2 extensions the gateway sets itself: `bazaar` (a route's input and output, for
//! discovery services), `offer-receipt` (the gateway's EIP-712 signatures over the ways to
//! pay a 402 offers, and over the receipt of each settled payment), and the discovery
//! document of every priced route ([`discovery_document`], OpenAPI 3.1).
//!
//! Extensions a client sends back (the official clients echo the 402's) are never read as
//! terms: a payment is matched on `accepted` alone, and what it echoes passes untouched.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::config::{
    Access, BodyType, GatewayConfig, RouteDiscovery, RoutePrice, BODY_METHODS, QUERY_METHODS,
};
use crate::evm::signer::{PaymentSigner, SignerError};
use crate::evm::{keccak256, Address};
use crate::protocol::v2;
use crate::routes::RouteMatcher;

/// The `bazaar` extension's key.
pub const BAZAAR: &str = "bazaar";
/// The `payment-identifier` extension's key.
pub const PAYMENT_IDENTIFIER: &str = "payment-identifier";
/// The bounds of a payment identifier's length, as the extension sets them.
pub const PAYMENT_ID_LEN: core::ops::RangeInclusive<usize> = 16..=128;
/// The `offer-receipt` extension's key.
pub const OFFER_RECEIPT: &str = "offer-receipt";
/// Where the discovery document is served (`GET`), when `discovery` is configured: under
/// the `/.well-known/x402` name x402's discovery drafts use, so that it never shadows an
/// origin's own `/openapi.json`.
pub const DISCOVERY_PATH: &str = "/.well-known/x402/openapi.json";
/// The secret holding the key that signs offers and receipts (`0x` + 64 hex digits).
pub const OFFER_RECEIPT_KEY: &str = "OFFER_RECEIPT_KEY";
/// The version of the offer and receipt payloads the extension defines.
const OFFER_RECEIPT_VERSION: u64 = 1;
/// The JSON Schema dialect of every schema an extension carries.
const SCHEMA_DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// The extensions of a route's 402 that are the same for every request of one method (its
/// `bazaar` description, the `payment-identifier` declaration), built once with the gate so
/// that a request, paid or not, builds no JSON for them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteExtensions(Vec<(String, Arc<Map<String, Value>>)>);

impl RouteExtensions {
    /// A priced route's, under `config`: one set per method the route names (and `HEAD`,
    /// priced as `GET`), or one for every method when none differs by method.
    pub fn new(
        config: &GatewayConfig,
        paid: &crate::config::PaidRoute,
        matcher: &RouteMatcher,
    ) -> Self {
        let mut common = Map::new();
        if let Some(declared) = &config.payment_identifier {
            common.insert(
                PAYMENT_IDENTIFIER.into(),
                payment_identifier(declared.required),
            );
        }
        let Some(discovery) = &paid.discovery else {
            return match common.is_empty() {
                true => Self::default(),
                false => Self(vec![(String::new(), Arc::new(common))]),
            };
        };
        // A description names its methods (the configuration check says so).
        let mut methods = matcher.methods.clone();
        if methods.iter().any(|m| m == "GET") && !methods.iter().any(|m| m == "HEAD") {
            methods.push("HEAD".into());
        }
        let by_method = methods
            .into_iter()
            .map(|method| {
                let mut set = common.clone();
                set.insert(BAZAAR.into(), bazaar(discovery, &method));
                (method, Arc::new(set))
            })
            .collect();
        Self(by_method)
    }

    /// The set for a request's `method` (any letter case), if the route has one.
    pub fn for_method(&self, method: &str) -> Option<Arc<Map<String, Value>>> {
        self.0
            .iter()
            .find(|(named, _)| named.is_empty() || named.eq_ignore_ascii_case(method))
            .map(|(_, set)| Arc::clone(set))
    }
}

// ---------------------------------------------------------------------------------------------
// bazaar

/// The `bazaar` extension of a route, for a request with `method` (upper case, one of the
/// route's: its `discovery` was checked against them).
pub fn bazaar(discovery: &RouteDiscovery, method: &str) -> Value {
    let mut input = json!({ "type": "http", "method": method });
    let mut input_schema = json!({
        "type": { "type": "string", "const": "http" },
        "method": { "type": "string", "enum": [method] },
    });
    let mut required = vec!["type", "method"];
    let with_type = |schema: &Map<String, Value>| {
        let mut typed = Map::from_iter([("type".to_owned(), Value::from("object"))]);
        typed.extend(schema.clone());
        Value::Object(typed)
    };
    match discovery.body_type {
        None => {
            input["queryParams"] = Value::Object(discovery.input.clone());
            input_schema["queryParams"] = with_type(&discovery.input_schema);
        }
        Some(body_type) => {
            input["bodyType"] = body_type.name().into();
            input["body"] = Value::Object(discovery.input.clone());
            input_schema["bodyType"] = json!({
                "type": "string", "enum": [BodyType::Json.name(), BodyType::FormData.name(), BodyType::Text.name()],
            });
            input_schema["body"] = Value::Object(discovery.input_schema.clone());
            required.extend(["bodyType", "body"]);
        }
    }
    let mut info = json!({ "input": input });
    let mut properties = json!({
        "input": {
            "type": "object",
            "properties": input_schema,
            "required": required,
            "additionalProperties": false,
        },
    });
    if let Some(example) = discovery.output_example.as_ref().filter(|e| is_truthy(e)) {
        info["output"] = json!({ "type": "json", "example": example });
        let example_schema = with_type(discovery.output_schema.as_ref().unwrap_or(&Map::new()));
        properties["output"] = json!({
            "type": "object",
            "properties": { "type": { "type": "string" }, "example": example_schema },
            "required": ["type"],
        });
    }
    json!({
        "info": info,
        "schema": {
            "$schema": SCHEMA_DIALECT,
            "type": "object",
            "properties": properties,
            "required": ["input"],
        },
    })
}

/// Whether the extension's clients take an example as given (they skip `output` for a
/// falsy one: `false`, `0`, `""`, `null`).
fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

// ---------------------------------------------------------------------------------------------
// payment-identifier

/// The `payment-identifier` extension of a 402: whether an id is required, and its schema.
pub fn payment_identifier(required: bool) -> Value {
    json!({
        "info": { "required": required },
        "schema": {
            "$schema": SCHEMA_DIALECT,
            "type": "object",
            "properties": {
                "required": { "type": "boolean" },
                "id": {
                    "type": "string",
                    "minLength": PAYMENT_ID_LEN.start(),
                    "maxLength": PAYMENT_ID_LEN.end(),
                    "pattern": "^[a-zA-Z0-9_-]+$",
                },
            },
            "required": ["required"],
        },
    })
}

/// The id a v2 payment's `extensions` name (`payment-identifier.info.id`): `None` without
/// one (an echo of the 402's declaration has none); an error, saying why, for an extension
/// or an id that is not of the extension's shape.
pub fn payment_id_of(extensions: Option<&Value>) -> Result<Option<String>, String> {
    let Some(extension) = extensions.and_then(|e| e.get(PAYMENT_IDENTIFIER)) else {
        return Ok(None);
    };
    let Some(info) = extension.get("info").filter(|i| i.is_object()) else {
        return Err("the payment-identifier extension has no `info` object".into());
    };
    let id = match info.get("id") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(id)) => id,
        Some(_) => return Err("the payment-identifier's id is not a string".into()),
    };
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if !PAYMENT_ID_LEN.contains(&id.len()) {
        return Err(format!(
            "the payment-identifier's id is {} characters long",
            id.len()
        ));
    }
    if !id.chars().all(allowed) {
        return Err(
            "the payment-identifier's id has characters other than letters, digits, - and _".into(),
        );
    }
    Ok(Some(id.clone()))
}

// ---------------------------------------------------------------------------------------------
// offer-receipt

/// The key that signs offers and receipts (the secret [`OFFER_RECEIPT_KEY`]), as EIP-712
/// typed data under the extension's domains. Clients check the signer's address, which the
/// discovery document publishes.
#[derive(Clone)]
pub struct OfferSigner(Arc<PaymentSigner>);

impl core::fmt::Debug for OfferSigner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The key itself is never printed.
        write!(f, "OfferSigner({})", self.address())
    }
}

impl PartialEq for OfferSigner {
    fn eq(&self, other: &Self) -> bool {
        self.address() == other.address()
    }
}

impl Eq for OfferSigner {}

/// `EIP712Domain(string name,string version,uint256 chainId)`: the extension's domains name
/// no contract.
const DOMAIN_TYPE: &str = "EIP712Domain(string name,string version,uint256 chainId)";
const OFFER_TYPE: &str = "Offer(uint256 version,string resourceUrl,string scheme,string network,string asset,string payTo,string amount,uint256 validUntil)";
const RECEIPT_TYPE: &str = "Receipt(uint256 version,string network,string resourceUrl,string payer,uint256 issuedAt,string transaction)";
/// The domains' names; their version is "1" and chain id 1, whatever chain is paid on.
const OFFER_DOMAIN: &str = "x402 offer";
const RECEIPT_DOMAIN: &str = "x402 receipt";

/// One member of a typed-data struct, as EIP-712 encodes it.
enum Member<'a> {
    Uint(u64),
    Text(&'a str),
}

/// `keccak256(typeHash ‖ encodeData(members))`: numbers as 32-byte words, strings by their
/// hash.
fn hash_struct(type_text: &str, members: &[Member<'_>]) -> [u8; 32] {
    let words: Vec<[u8; 32]> = members
        .iter()
        .map(|member| match member {
            Member::Uint(n) => crate::amount::Uint256::from(*n).to_be_bytes(),
            Member::Text(text) => keccak256(&[text.as_bytes()]),
        })
        .collect();
    let type_hash = keccak256(&[type_text.as_bytes()]);
    let mut parts: Vec<&[u8]> = vec![&type_hash];
    parts.extend(words.iter().map(|w| w.as_slice()));
    keccak256(&parts)
}

/// The digest of a struct under one of the extension's domains.
fn digest(domain: &str, struct_hash: &[u8; 32]) -> [u8; 32] {
    let separator = hash_struct(
        DOMAIN_TYPE,
        &[Member::Text(domain), Member::Text("1"), Member::Uint(1)],
    );
    crate::evm::eip712::signing_hash(&separator, struct_hash)
}

/// A string member of a JSON payload (the payloads here are built with every member).
fn text<'a>(payload: &'a Value, name: &str) -> &'a str {
    payload[name].as_str().unwrap_or_default()
}

/// A number member of a JSON payload.
fn uint(payload: &Value, name: &str) -> u64 {
    payload[name].as_u64().unwrap_or_default()
}

/// The EIP-712 digest of an offer payload.
pub fn offer_digest(offer: &Value) -> [u8; 32] {
    let members = [
        Member::Uint(uint(offer, "version")),
        Member::Text(text(offer, "resourceUrl")),
        Member::Text(text(offer, "scheme")),
        Member::Text(text(offer, "network")),
        Member::Text(text(offer, "asset")),
        Member::Text(text(offer, "payTo")),
        Member::Text(text(offer, "amount")),
        Member::Uint(uint(offer, "validUntil")),
    ];
    digest(OFFER_DOMAIN, &hash_struct(OFFER_TYPE, &members))
}

/// The EIP-712 digest of a receipt payload.
pub fn receipt_digest(receipt: &Value) -> [u8; 32] {
    let members = [
        Member::Uint(uint(receipt, "version")),
        Member::Text(text(receipt, "network")),
        Member::Text(text(receipt, "resourceUrl")),
        Member::Text(text(receipt, "payer")),
        Member::Uint(uint(receipt, "issuedAt")),
        Member::Text(text(receipt, "transaction")),
    ];
    digest(RECEIPT_DOMAIN, &hash_struct(RECEIPT_TYPE, &members))
}

impl OfferSigner {
    /// The signer of `OFFER_RECEIPT_KEY`'s value (`0x` + 64 hex digits).
    pub fn from_hex(secret: &str) -> Result<Self, SignerError> {
        PaymentSigner::from_hex(secret.trim()).map(|s| Self(Arc::new(s)))
    }

    /// The address its signatures recover to.
    pub fn address(&self) -> Address {
        self.0.address()
    }

    fn sign(&self, digest: &[u8; 32]) -> String {
        format!("0x{}", hex::encode(self.0.sign_prehash(digest).to_rsv()))
    }

    /// The `offer-receipt` extension of a 402: each way to pay of `accepts` signed for
    /// `resource_url`, valid until `now` plus `valid_s` (each way's `maxTimeoutSeconds` when
    /// `None`).
    pub fn offers(
        &self,
        accepts: &[v2::PaymentRequirements],
        resource_url: &str,
        now: u64,
        valid_s: Option<u64>,
    ) -> Value {
        let offers: Vec<Value> = accepts
            .iter()
            .enumerate()
            .map(|(index, accept)| {
                // The strings a client compares with its `accepts`, exactly as sent there.
                let wire = serde_json::to_value(accept).unwrap_or_default();
                let valid = valid_s.unwrap_or(accept.max_timeout_seconds);
                let payload = json!({
                    "version": OFFER_RECEIPT_VERSION,
                    "resourceUrl": resource_url,
                    "scheme": wire["scheme"],
                    "network": wire["network"],
                    "asset": wire["asset"],
                    "payTo": wire["payTo"],
                    "amount": wire["amount"],
                    "validUntil": now.saturating_add(valid),
                });
                let signature = self.sign(&offer_digest(&payload));
                json!({ "format": "eip712", "acceptIndex": index, "payload": payload, "signature": signature })
            })
            .collect();
        json!({ "info": { "offers": offers }, "schema": offers_schema() })
    }

    /// The `offer-receipt` extension of a paid answer: the receipt of the payment by `payer`
    /// on `network` for `resource_url`, settled in `transaction` at `issued_at`.
    pub fn receipt(
        &self,
        resource_url: &str,
        payer: &Address,
        network: &str,
        transaction: &str,
        issued_at: u64,
    ) -> Value {
        let payload = json!({
            "version": OFFER_RECEIPT_VERSION,
            "network": network,
            "resourceUrl": resource_url,
            "payer": payer.to_checksum(),
            "issuedAt": issued_at,
            "transaction": transaction,
        });
        let signature = self.sign(&receipt_digest(&payload));
        json!({
            "info": { "receipt": { "format": "eip712", "payload": payload, "signature": signature } },
            "schema": receipt_schema(),
        })
    }
}

/// JSON Schema of a signed payload: `format`, the payload's members, `signature`.
fn signed_schema(members: &[(&str, &str)]) -> Value {
    let properties: Map<String, Value> = members
        .iter()
        .map(|(name, kind)| ((*name).to_owned(), json!({ "type": kind })))
        .collect();
    let required: Vec<&str> = members.iter().map(|(name, _)| *name).collect();
    json!({
        "type": "object",
        "properties": {
            "format": { "type": "string" },
            "payload": { "type": "object", "properties": properties, "required": required },
            "signature": { "type": "string" },
        },
        "required": ["format", "signature"],
    })
}

fn offers_schema() -> Value {
    let mut offer = signed_schema(&[
        ("version", "integer"),
        ("resourceUrl", "string"),
        ("scheme", "string"),
        ("network", "string"),
        ("asset", "string"),
        ("payTo", "string"),
        ("amount", "string"),
        ("validUntil", "integer"),
    ]);
    offer["properties"]["acceptIndex"] = json!({ "type": "integer" });
    json!({
        "$schema": SCHEMA_DIALECT,
        "type": "object",
        "properties": { "offers": { "type": "array", "items": offer } },
        "required": ["offers"],
    })
}

fn receipt_schema() -> Value {
    json!({
        "$schema": SCHEMA_DIALECT,
        "type": "object",
        "properties": {
            "receipt": signed_schema(&[
                ("version", "integer"),
                ("network", "string"),
                ("resourceUrl", "string"),
                ("payer", "string"),
                ("issuedAt", "integer"),
                ("transaction", "string"),
            ]),
        },
        "required": ["receipt"],
    })
}

// ---------------------------------------------------------------------------------------------
// The discovery document

/// The OpenAPI 3.1 document of every priced route of `config`, served at `base_url`: one
/// operation per method a route names (every common one when it names none), each with its
/// payment terms in `x-payment-info` and, where the route describes them, its input and
/// output. `offer_signer` is the address offers and receipts are signed by, if they are.
pub fn discovery_document(
    config: &GatewayConfig,
    base_url: &str,
    offer_signer: Option<&Address>,
) -> Value {
    let Some(document) = &config.discovery else {
        return Value::Null;
    };
    let mut paths = Map::new();
    for route in &config.routes {
        let Access::Paid(paid) = &route.access else {
            continue;
        };
        if paid.mcp.is_some() {
            // Priced per tool: MCP clients find the prices in the server's `tools/list`.
            continue;
        }
        let (path, parameters) = openapi_path(&route.matcher);
        let entry = paths.entry(path).or_insert_with(|| json!({}));
        for method in methods_of(&route.matcher) {
            let key = method.to_ascii_lowercase();
            if entry.get(&key).is_some() {
                continue; // The first route that matches wins, as in the gateway.
            }
            entry[key.as_str()] = operation(paid, route, method, &parameters);
        }
    }
    let mut info = json!({ "title": document.title, "version": document.version });
    if let Some(description) = &document.description {
        info["description"] = description.as_str().into();
    }
    let mut x402 =
        json!({ "x402Version": 2, "paymentRequiredHeader": crate::protocol::PAYMENT_REQUIRED });
    if let Some(signer) = offer_signer {
        x402[OFFER_RECEIPT] = json!({ "format": "eip712", "signer": signer.to_checksum() });
    }
    json!({
        "openapi": "3.1.0",
        "info": info,
        "servers": [{ "url": base_url }],
        "paths": paths,
        "x-x402": x402,
    })
}

/// The methods a route's operations are listed under.
fn methods_of(matcher: &RouteMatcher) -> Vec<&str> {
    match matcher.methods.is_empty() {
        true => QUERY_METHODS
            .iter()
            .chain(&BODY_METHODS)
            .copied()
            .filter(|m| *m != "HEAD")
            .collect(),
        false => matcher.methods.iter().map(String::as_str).collect(),
    }
}

/// A route pattern as an OpenAPI path template, with its path parameters: `:name` is
/// `{name}`; a final `*` (any number of segments) is `{path}`, described as such.
fn openapi_path(matcher: &RouteMatcher) -> (String, Vec<Value>) {
    let mut parameters = Vec::new();
    let mut path = String::new();
    for segment in matcher
        .pattern
        .to_string()
        .split('/')
        .filter(|s| !s.is_empty())
    {
        path.push('/');
        let (name, description) = match segment {
            "*" => (
                "path",
                "The rest of the path: any number of segments, none included",
            ),
            param if param.starts_with(':') => (&param[1..], "One path segment"),
            literal => {
                path.push_str(literal);
                continue;
            }
        };
        path.push_str(&format!("{{{name}}}"));
        parameters.push(json!({
            "name": name, "in": "path", "required": true,
            "description": description, "schema": { "type": "string" },
        }));
    }
    if path.is_empty() {
        path.push('/');
    }
    (path, parameters)
}

/// One operation of the discovery document.
fn operation(
    paid: &crate::config::PaidRoute,
    route: &crate::config::Route,
    method: &str,
    path_parameters: &[Value],
) -> Value {
    let price = match paid.price {
        RoutePrice::Fixed => json!(paid
            .accepts
            .iter()
            .map(|a| &a.requirement)
            .collect::<Vec<_>>()),
        RoutePrice::Dynamic => Value::Null,
    };
    let mut protocols = Vec::new();
    if paid.sells_x402() {
        protocols.push("x402");
    }
    if paid.l402.is_some() {
        protocols.push("l402");
    }
    let mut payment = json!({
        "protocols": protocols,
        "route": route.matcher.to_string(),
        "pricing": if paid.price == RoutePrice::Dynamic { "dynamic" } else { "fixed" },
    });
    if !price.is_null() {
        payment["accepts"] = price;
    }
    if let Some(l402) = &paid.l402 {
        payment["l402"] = json!({ "priceSats": l402.price_sats });
    }
    let mut parameters = path_parameters.to_vec();
    let mut ok =
        json!({ "description": "The paid content; PAYMENT-RESPONSE carries the settlement" });
    let mut op = json!({ "summary": paid.description });
    if let Some(discovery) = &paid.discovery {
        payment[BAZAAR] = bazaar(discovery, method);
        let schema_of = |properties: &Map<String, Value>| {
            let mut schema = Map::from_iter([("type".to_owned(), Value::from("object"))]);
            schema.extend(properties.clone());
            Value::Object(schema)
        };
        match discovery.body_type {
            None => {
                let required: Vec<&str> = discovery.input_schema["required"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let properties = discovery
                    .input_schema
                    .get("properties")
                    .and_then(Value::as_object);
                for (name, schema) in properties.into_iter().flatten() {
                    let mut parameter = json!({
                        "name": name, "in": "query", "required": required.contains(&name.as_str()), "schema": schema,
                    });
                    if let Some(example) = discovery.input.get(name) {
                        parameter["example"] = example.clone();
                    }
                    parameters.push(parameter);
                }
            }
            Some(body_type) => {
                op["requestBody"] = json!({
                    "required": true,
                    "content": { body_type.media_type(): {
                        "schema": schema_of(&discovery.input_schema),
                        "example": discovery.input,
                    } },
                });
            }
        }
        let mut content = json!({});
        if let Some(schema) = &discovery.output_schema {
            content["schema"] = schema_of(schema);
        }
        if let Some(example) = &discovery.output_example {
            content["example"] = example.clone();
        }
        ok["content"] = json!({ paid.mime_type.as_str(): content });
    }
    if !parameters.is_empty() {
        op["parameters"] = Value::Array(parameters);
    }
    op["responses"] = json!({
        "200": ok,
        "402": { "description": "Payment required: the terms are in the PAYMENT-REQUIRED header (x402 v2) and the body (v1)" },
    });
    if let Some(access) = &paid.access {
        // Signing in (sign-in-with-x) instead of paying again, after a payment.
        payment["access"] = json!({ "seconds": access.seconds, "scope": access.scope });
    }
    op["x-payment-info"] = payment;
    op
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn offers_and_receipts_recover_to_the_signer() {
        let signer = OfferSigner::from_hex(&format!("0x{}", "11".repeat(32))).unwrap();
        let payload = json!({
            "version": 1, "resourceUrl": "https://a.example/x", "scheme": "exact",
            "network": "eip155:8453", "asset": "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
            "payTo": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C", "amount": "1000", "validUntil": 1_900_000_000u64,
        });
        let digest = offer_digest(&payload);
        let signature = signer.0.sign_prehash(&digest);
        let recovered = crate::evm::recover_address_from_prehash(&digest, &signature).unwrap();
        assert_eq!(recovered, signer.address());
        // A changed byte is another digest.
        let mut changed = payload.clone();
        changed["amount"] = "1001".into();
        assert_ne!(offer_digest(&changed), digest);
    }

    #[test]
    fn payment_ids_are_read_as_the_extension_bounds_them() {
        let with = |info: Value| Some(json!({ PAYMENT_IDENTIFIER: { "info": info } }));
        let id = "pay_0123456789abcdef";
        assert_eq!(payment_id_of(None), Ok(None));
        assert_eq!(payment_id_of(Some(&json!({"other": 1}))), Ok(None));
        assert_eq!(
            payment_id_of(with(json!({"required": false})).as_ref()),
            Ok(None)
        );
        assert_eq!(
            payment_id_of(with(json!({ "id": id })).as_ref()),
            Ok(Some(id.into()))
        );
        let at_bounds = ["a".repeat(16), "Z".repeat(128)];
        for id in &at_bounds {
            assert_eq!(
                payment_id_of(with(json!({ "id": id })).as_ref()),
                Ok(Some(id.clone()))
            );
        }
        for bad in [
            json!("a".repeat(15)),
            json!("a".repeat(129)),
            json!("has space 0123456"),
            json!("ümlaut_0123456789"),
            json!(12),
        ] {
            assert!(
                payment_id_of(with(json!({ "id": bad })).as_ref()).is_err(),
                "{bad}"
            );
        }
        assert!(payment_id_of(Some(&json!({ PAYMENT_IDENTIFIER: "id" }))).is_err());
    }

    #[test]
    fn a_body_route_is_described_with_its_body_and_method() {
        let discovery = RouteDiscovery {
            body_type: Some(BodyType::Json),
            input: Map::from_iter([("q".to_owned(), json!("x"))]),
            input_schema: Map::from_iter([(
                "properties".to_owned(),
                json!({"q": {"type": "string"}}),
            )]),
            output_example: Some(json!(0)),
            output_schema: None,
        };
        let bazaar = bazaar(&discovery, "POST");
        assert_eq!(
            bazaar["info"]["input"],
            json!({"type": "http", "method": "POST", "bodyType": "json", "body": {"q": "x"}})
        );
        let input = &bazaar["schema"]["properties"]["input"];
        assert_eq!(
            input["required"],
            json!(["type", "method", "bodyType", "body"])
        );
        assert_eq!(input["properties"]["method"]["enum"], json!(["POST"]));
        // A falsy example is not an output, as the extension's clients read it.
        assert!(bazaar["info"].get("output").is_none());
    }
}
