// Test doubles for benches/worker-load.sh, in their own process so that they do not share a
// CPU-bound event loop with the load generator. Neither is a real service:
//
//   origin double       any path: 200 with a small JSON body.
//   facilitator double  POST /settle: success with a fake transaction hash, echoing the payer
//                       (it checks nothing and moves no money); POST /verify: valid;
//                       GET /supported: exact on eip155:84532 (v2) and base-sepolia (v1);
//                       GET /_count: how many /settle and /verify calls it has answered.
//
// Both listen on 127.0.0.1, on ports the OS picks; the process prints one JSON line
// {"origin": port, "facilitator": port} when both are listening.
import http from "node:http";

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
      let payer;
      try {
        payer = JSON.parse(Buffer.concat(chunks).toString()).paymentPayload.payload.authorization.from;
      } catch {
        return json(response, 400, { error: "facilitator double: unreadable request" });
      }
      if (path === "/verify") {
        counts.verify += 1;
        return json(response, 200, { isValid: true, payer });
      }
      counts.settle += 1;
      return json(response, 200, {
        success: true,
        transaction: `0x${counts.settle.toString(16).padStart(64, "0")}`,
        network: "eip155:84532",
        payer,
      });
    }
    json(response, 404, { error: "facilitator double: no such endpoint" });
  });
});

const listen = (server) =>
  new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server.address().port)));

const ports = { origin: await listen(origin), facilitator: await listen(facilitator) };
process.stdout.write(`${JSON.stringify(ports)}\n`);
// Ends with its parent: stdin closes when the bench exits, however it exits.
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
