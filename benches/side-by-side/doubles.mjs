// Test doubles for benches/side-by-side.sh, in their own process so that they do not share a
// CPU-bound event loop with the load generator. Neither is a real service:
//
//   origin double       any path: 200 with a small JSON body.
//   facilitator double  POST /verify and /settle, answered at once: the payment's EIP-3009
//                       signature is checked (viem) against its payer, and its nonce against
//                       those settled, as any facilitator does (a real one simulates the
//                       transfer on chain); /settle then answers success with a fake
//                       transaction hash (it moves no money), /verify valid; a bad signature
//                       or a settled nonce is refused by both;
//                       GET /supported: exact on eip155:84532 (v2) and base-sepolia (v1);
//                       GET /_count: how many /settle and /verify calls it has answered.
//
// With arguments `<facilitator URL> <ms>`, a third: a distance in front of that (real)
// facilitator, which holds every request `ms` before forwarding it and its answer `ms` before
// returning it, as a facilitator one network round trip of 2 x `ms` away would.
//
// All listen on 127.0.0.1, on ports the OS picks; the process prints one JSON line
// {"origin": port, "facilitator": port[, "distant": port]} when they are listening.
import http from "node:http";

import { verifyTypedData } from "viem";

import { authorizationTypedData } from "../../tests/worker/x402-client.js";

const ORIGIN_BODY = JSON.stringify({ ok: true, data: "origin double: a small JSON document" });

const origin = http.createServer((request, response) => {
  request.resume();
  response.writeHead(200, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(ORIGIN_BODY),
  });
  response.end(ORIGIN_BODY);
});

const counts = { settle: 0, verify: 0, supported: 0 };
/** The (payer, nonce) of every payment settled. */
const settled = new Set();

function json(response, status, value) {
  const body = JSON.stringify(value);
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  response.end(body);
}

const facilitator = http.createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const path = new URL(request.url, "http://x").pathname;
    if (request.method === "GET" && path === "/supported") {
      counts.supported += 1;
      return json(response, 200, {
        kinds: [
          { x402Version: 2, scheme: "exact", network: "eip155:84532" },
          { x402Version: 1, scheme: "exact", network: "base-sepolia" },
        ],
        extensions: [],
        signers: {},
      });
    }
    if (request.method === "GET" && path === "/_count") {
      return json(response, 200, counts);
    }
    if (request.method === "POST" && (path === "/settle" || path === "/verify")) {
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString());
      } catch {
        return json(response, 400, { error: "facilitator double: unreadable request" });
      }
      return answer(path, body, response);
    }
    json(response, 404, { error: "facilitator double: no such endpoint" });
  });
});

/** `/verify` or `/settle` of `body`, after its signature check. */
async function answer(path, body, response) {
  const { authorization, signature } = body.paymentPayload?.payload ?? {};
  const payer = authorization?.from;
  const signed = await signedByPayer(body.paymentRequirements ?? {}, authorization, signature);
  const spent = `${payer}:${authorization?.nonce}`.toLowerCase();
  const used = settled.has(spent);
  const valid = signed && !used;
  const reason = used ? "invalid_exact_evm_nonce_already_used" : "invalid_exact_evm_signature";
  if (path === "/verify") {
    counts.verify += 1;
    return json(response, 200, valid ? { isValid: true, payer } : { isValid: false, invalidReason: reason, payer });
  }
  if (!valid) {
    counts.settle += 1;
    return json(response, 200, { success: false, errorReason: reason, transaction: "", network: "eip155:84532", payer });
  }
  counts.settle += 1;
  settled.add(spent);
  return json(response, 200, {
    success: true,
    transaction: `0x${counts.settle.toString(16).padStart(64, "0")}`,
    network: "eip155:84532",
    payer,
  });
}

/** Whether `signature` is `authorization`'s, by its `from`, under the requirement's domain. */
async function signedByPayer(requirements, authorization, signature) {
  try {
        // A requirement without its token's domain cannot verify (the typed data throws).
    return await verifyTypedData({ address: authorization.from, ...authorizationTypedData(requirements, authorization), signature });
  } catch {
    return false;
  }
}

const listen = (server) =>
  new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server.address().port)));

/** The distance of the header comment: `ms` each way between its clients and `target`. */
function distant(target, ms) {
  const agent = new http.Agent({ keepAlive: true });
  return http.createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => setTimeout(() => {
      const headers = { ...request.headers, host: new URL(target).host };
      const forwarded = http.request(new URL(request.url, target), { method: request.method, headers, agent }, (answer) => {
        const body = [];
        answer.on("data", (chunk) => body.push(chunk));
        answer.on("end", () => setTimeout(() => {
          response.writeHead(answer.statusCode, answer.headers);
          response.end(Buffer.concat(body));
        }, ms));
      });
      forwarded.on("error", (error) => {
        response.writeHead(502, { "content-type": "text/plain" });
        response.end(`distance: the facilitator failed: ${error.message}`);
      });
      forwarded.end(Buffer.concat(chunks));
    }, ms));
  });
}

const ports = { origin: await listen(origin), facilitator: await listen(facilitator) };
const [distantTarget, distantMs] = process.argv.slice(2);
if (distantTarget) ports.distant = await listen(distant(distantTarget, Number(distantMs)));
process.stdout.write(`${JSON.stringify(ports)}\n`);
// Ends with its parent: stdin closes when the bench exits, however it exits.
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
