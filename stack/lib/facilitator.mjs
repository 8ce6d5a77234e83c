// An x402 facilitator over HTTP, built on the reference libraries (@x402/core's
// x402Facilitator with @x402/evm's exact schemes), for the local chain.
//
//   POST /verify    {x402Version, paymentPayload, paymentRequirements} → VerifyResponse
//   POST /settle    {x402Version, paymentPayload, paymentRequirements} → SettleResponse
//   GET  /supported → {kinds: [{x402Version, scheme, network}], extensions, signers}
//
// What this file adds to the libraries:
//   - request bodies are validated (the library throws TypeErrors on malformed input):
//     400 with {isValid:false, invalidReason, invalidMessage} or
//     {success:false, errorReason, errorMessage, transaction:"", network};
//   - a (version, scheme, network) the facilitator does not serve is answered 200 with
//     invalidReason/errorReason "unsupported_scheme" or "invalid_network" (the library throws);
//   - the v1 scheme puts viem's whole multi-line error text in errorReason when a settlement
//     transaction fails: it is mapped to a reason code, the text kept in errorMessage;
//   - settlements are serialised (one signer key: concurrent transactions would race for
//     nonces);
//   - one log line per request on stderr, with the failure text when there is one.
//
// Any token is accepted: the facilitator schemes take the asset from the payment
// requirements, check that it has code, and simulate transferWithAuthorization on it. (The
// default-asset tables in @x402/evm are used by clients and servers to price in USDC, never
// by the facilitator.)
import http from "node:http";
import { x402Facilitator } from "@x402/core/facilitator";
import { PaymentPayloadSchema, PaymentRequirementsV1Schema, PaymentRequirementsV2Schema, z } from "@x402/core/schemas";
import { toFacilitatorEvmSigner } from "@x402/evm";
import { ExactEvmScheme } from "@x402/evm/exact/facilitator";
import { ExactEvmSchemeV1 } from "@x402/evm/exact/v1/facilitator";
import { localClients } from "./chain.mjs";

const HOST = "127.0.0.1";
const MAX_BODY_BYTES = 256 * 1024;
/** Bound on a receipt wait; blocks are mined instantly here, so this only catches a stuck node. */
const CONFIRMATION_TIMEOUT_MS = 30_000;

/**
 * Starts the facilitator on 127.0.0.1:`port` (0: any free port).
 * @param {object} options
 * @param {string} options.rpcUrl the chain's JSON-RPC URL
 * @param {number} options.chainId the chain's id; the v2 network is `eip155:<chainId>`
 * @param {string} [options.v1Network] the v1 name of the same chain (e.g. "base-sepolia")
 * @param {import("viem").LocalAccount} options.account the signer that submits settlements
 * @param {number} [options.port]
 * @param {(line: string) => void} [options.log]
 * @returns {Promise<{url: string, close(): Promise<void>}>}
 */
export async function startFacilitator({ rpcUrl, chainId, v1Network, account, port = 0, log = logToStderr }) {
  const facilitator = createFacilitator({ rpcUrl, chainId, v1Network, account });
  const settleExclusively = serialised();
  const routes = {
    "GET /supported": async () => ({ status: 200, body: facilitator.getSupported() }),
    "POST /verify": (body) => handlePayment(facilitator, VERIFY, body, log),
    "POST /settle": (body) => settleExclusively(() => handlePayment(facilitator, SETTLE, body, log)),
  };

  const server = http.createServer((req, res) => {
    route(routes, req)
      .catch((error) => {
        log(`${req.method} ${req.url} → 500 ${error?.stack ?? error}`);
        return { status: 500, body: { error: "internal_error", message: String(error?.message ?? error) } };
      })
      .then(({ status, body }) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, HOST, resolve);
  });
  return {
    url: `http://${HOST}:${server.address().port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The reference facilitator with the exact EVM scheme for v2 and, when named, v1. */
function createFacilitator({ rpcUrl, chainId, v1Network, account }) {
  const { publicClient, walletClient } = localClients({ rpcUrl, chainId, account });
  // Reads from the public client, writes from the wallet client; both use the local
  // transport with retryCount 0 (see localClients).
  const signer = toFacilitatorEvmSigner(
    {
      address: account.address,
      readContract: publicClient.readContract,
      verifyTypedData: publicClient.verifyTypedData,
      getCode: publicClient.getCode,
      waitForTransactionReceipt: publicClient.waitForTransactionReceipt,
      writeContract: walletClient.writeContract,
      sendTransaction: walletClient.sendTransaction,
    },
    { confirmationTimeoutMs: CONFIRMATION_TIMEOUT_MS },
  );
  const facilitator = new x402Facilitator();
  facilitator.register(`eip155:${chainId}`, new ExactEvmScheme(signer));
  if (v1Network) facilitator.registerV1(v1Network, new ExactEvmSchemeV1(signer));
  return facilitator;
}

// ------------------------------------------------------------------ verify and settle

/** How /verify and /settle differ: the library call and the names in the response. */
const VERIFY = {
  name: "verify",
  run: (facilitator, payload, requirements) => facilitator.verify(payload, requirements),
  failure: (reason, message) => ({ isValid: false, invalidReason: reason, invalidMessage: message }),
  reasonKey: "invalidReason",
  messageKey: "invalidMessage",
  ok: (result) => result.isValid,
};
const SETTLE = {
  name: "settle",
  run: (facilitator, payload, requirements) => facilitator.settle(payload, requirements),
  failure: (reason, message, network = "") => ({
    success: false,
    errorReason: reason,
    errorMessage: message,
    transaction: "",
    network,
  }),
  reasonKey: "errorReason",
  messageKey: "errorMessage",
  ok: (result) => result.success,
};

async function handlePayment(facilitator, op, body, log) {
  const started = Date.now();
  const request = parsePaymentRequest(body);
  const unsupported = !request.error && unsupportedReason(facilitator, request);
  // Every kind served here is exact EVM, so a supported request must have its formats.
  const error = request.error ?? (unsupported ? undefined : exactEvmFormatError(request));
  if (error) {
    log(`POST /${op.name} → 400 ${error.reason}: ${error.message}`);
    return { status: 400, body: op.failure(error.reason, error.message, error.network) };
  }

  const { version, payload, requirements } = request;
  const what = `v${version} ${requirements.scheme} ${requirements.network}`;
  if (unsupported) {
    log(`POST /${op.name} ${what} → ${unsupported}`);
    return { status: 200, body: op.failure(unsupported, `not served here: ${what}`, requirements.network) };
  }

  const result = withReasonCode(await op.run(facilitator, payload, requirements), op);
  const outcome = op.ok(result)
    ? `ok${result.transaction ? ` ${result.transaction}` : ""}`
    : `${result[op.reasonKey]}${result[op.messageKey] ? `\n${indent(result[op.messageKey])}` : ""}`;
  log(`POST /${op.name} ${what} payer ${result.payer ?? "?"} → ${outcome} (${Date.now() - started} ms)`);
  return { status: 200, body: result };
}

/** "unsupported_scheme" / "invalid_network" when no registered kind matches, else undefined. */
function unsupportedReason(facilitator, { version, requirements: { scheme, network } }) {
  const kinds = facilitator.getSupported().kinds.filter((k) => k.x402Version === version);
  if (kinds.some((k) => k.scheme === scheme && k.network === network)) return undefined;
  return kinds.some((k) => k.scheme === scheme) ? "invalid_network" : "unsupported_scheme";
}

// ------------------------------------------------------------------ reason codes

/** Reason codes are snake_case identifiers; anything else is an error text. */
const REASON_CODE = /^[a-z][a-z0-9_]*$/;

/**
 * Revert strings of the token (see contracts/TestUSDC.sol, the same as FiatToken's) and
 * viem's texts, mapped as @x402/evm's v2 scheme maps them (parseEip3009TransferError, which
 * the package does not export).
 */
const REVERT_TEXT_REASONS = [
  [/authorization.*(expired|valid before)|AuthorizationExpired/i, "invalid_exact_evm_payload_authorization_valid_before"],
  [/authorization.*not.*valid|AuthorizationNotYetValid/i, "invalid_exact_evm_payload_authorization_valid_after"],
  [/authorization.*used|AuthorizationAlreadyUsed|AuthorizationUsedOrCanceled/i, "invalid_exact_evm_nonce_already_used"],
  [/transfer.*exceeds.*balance|insufficient.*balance|ERC20InsufficientBalance/i, "invalid_exact_evm_insufficient_balance"],
  [/invalid.*signature|SignerMismatch|InvalidSignatureV|InvalidSignatureS/i, "invalid_exact_evm_signature"],
];
const FALLBACK_REASON = "invalid_exact_evm_transaction_failed";

/** The reason code for an error text (a revert reason, or viem's error message around one). */
export function reasonFromErrorText(text) {
  return REVERT_TEXT_REASONS.find(([pattern]) => pattern.test(text))?.[1] ?? FALLBACK_REASON;
}

/** Moves an error text found in the reason field to the message field, with a code in its place. */
function withReasonCode(result, op) {
  const reason = result[op.reasonKey];
  if (reason === undefined || REASON_CODE.test(reason)) return result;
  return { ...result, [op.reasonKey]: reasonFromErrorText(reason), [op.messageKey]: result[op.messageKey] ?? reason };
}

// ------------------------------------------------------------------ request validation

const Address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "an 0x-prefixed 20-byte hex address");
const Uint256 = z.string().regex(/^[0-9]{1,78}$/, "a decimal integer string");
const Bytes32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "an 0x-prefixed 32-byte hex string");
const HexBytes = z.string().regex(/^0x(?:[0-9a-fA-F]{2})+$/, "0x-prefixed hex bytes");

/** The top level of a facilitator request; the payment payload is checked by @x402/core. */
const RequestSchema = z.object({
  x402Version: z.union([z.literal(1), z.literal(2)]),
  paymentPayload: PaymentPayloadSchema,
  paymentRequirements: z.record(z.unknown()),
});

/** The `payload` of an exact EVM payment: an EIP-3009 authorization or a Permit2 one. */
const ExactEvmPayloadSchema = z.union([
  z.object({
    signature: HexBytes,
    authorization: z.object({
      from: Address,
      to: Address,
      value: Uint256,
      validAfter: Uint256,
      validBefore: Uint256,
      nonce: Bytes32,
    }),
  }),
  z.object({
    signature: HexBytes,
    permit2Authorization: z.object({
      from: Address,
      spender: Address,
      nonce: Uint256,
      deadline: Uint256,
      permitted: z.object({ token: Address, amount: Uint256 }),
      witness: z.object({ to: Address, validAfter: Uint256 }),
    }),
  }),
]);

/** What the exact EVM scheme reads from requirements beyond @x402/core's schemas. */
const ExactEvmRequirementsSchema = {
  1: z.object({ asset: Address, payTo: Address, maxAmountRequired: Uint256 }),
  2: z.object({ asset: Address, payTo: Address, amount: Uint256 }),
};
const RequirementsSchema = { 1: PaymentRequirementsV1Schema, 2: PaymentRequirementsV2Schema };

/**
 * A facilitator request body checked against @x402/core's schemas: `{version, payload,
 * requirements}` (the objects as received), or `{error: {reason, message, network}}`.
 */
export function parsePaymentRequest(body) {
  if (body === undefined) return { error: problem("invalid_payload", "the request body is not JSON") };
  const envelope = RequestSchema.safeParse(body);
  if (!envelope.success) return { error: problem("invalid_payload", envelope.error) };
  const { x402Version: version, paymentPayload: payload, paymentRequirements: requirements } = body;
  if (payload.x402Version !== version) {
    const message = `x402Version ${version} but paymentPayload.x402Version ${payload.x402Version}`;
    return { error: problem("invalid_x402_version", message) };
  }
  const checked = RequirementsSchema[version].safeParse(requirements);
  if (!checked.success) return { error: problem("invalid_payment_requirements", checked.error, requirements, "paymentRequirements") };
  return { version, payload, requirements };
}

/** The formats the exact EVM scheme relies on (it throws on bad addresses or numbers). */
function exactEvmFormatError({ version, payload, requirements }) {
  const checked = ExactEvmRequirementsSchema[version].safeParse(requirements);
  if (!checked.success) return problem("invalid_payment_requirements", checked.error, requirements, "paymentRequirements");
  const evmPayload = ExactEvmPayloadSchema.safeParse(payload.payload);
  if (!evmPayload.success) return problem("invalid_payload", evmPayload.error, requirements, "paymentPayload.payload");
  return undefined;
}

/** A 400 answer's reason, a readable message (zod issues joined) and the network if known. */
function problem(reason, error, requirements, pathPrefix) {
  const message =
    typeof error === "string"
      ? error
      : error.issues
          .map((i) => `${[pathPrefix, ...i.path].filter((p) => p !== undefined).join(".") || "body"}: ${i.message}`)
          .join("; ");
  const network = typeof requirements?.network === "string" ? requirements.network : "";
  return { reason, message, network };
}

// ------------------------------------------------------------------ HTTP plumbing

async function route(routes, req) {
  const path = new URL(req.url, "http://localhost").pathname.replace(/\/+$/, "");
  const handler = routes[`${req.method} ${path}`];
  if (!handler) {
    const known = Object.keys(routes).some((key) => key.endsWith(` ${path}`));
    return known
      ? { status: 405, body: { error: "method_not_allowed" } }
      : { status: 404, body: { error: "not_found" } };
  }
  if (req.method !== "POST") return handler();

  const text = await readBody(req);
  if (text === undefined) return { status: 413, body: { error: "body_too_large", limit: MAX_BODY_BYTES } };
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined; // reported by validation as a malformed request
  }
  return handler(body);
}

/** The request body as text, or undefined past MAX_BODY_BYTES. */
async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Runs async functions one at a time, in call order. */
function serialised() {
  let tail = Promise.resolve();
  return (fn) => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => {});
    return run;
  };
}

function indent(text) {
  return String(text).replace(/^/gm, "    ");
}

function logToStderr(line) {
  process.stderr.write(`[facilitator] ${line}\n`);
}
