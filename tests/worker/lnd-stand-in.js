// A stand-in for LND's REST API, for the L402 tests of the Worker: not LND, not a Lightning
// node, no channels and no payments. It imitates just what the gateway uses, on 127.0.0.1:
//
//   POST /v1/invoices   header Grpc-Metadata-macaroon: <hex>   body {"memo": "…", "value": "<sats>"}
//   → 200 {"r_hash": base64(sha256(preimage)), "payment_request": "lnbcrt<amount>n1…",
//          "add_index": "<n>", "payment_addr": base64(32 random bytes)}
//
// as LND's JSON gateway writes an AddInvoiceResponse (bytes as standard base64, 64-bit
// integers as decimal strings). A missing or different macaroon gets 401, as LND's REST
// proxy answers a bad macaroon; anything else that is not that call gets an LND-style error.
//
// Every invoice gets a fresh random 32-byte preimage. "Paying" an invoice in a test means
// learning its preimage, which the stand-in hands to the test in-process (`preimageFor`),
// never over HTTP: the Worker can only ever see the payment hash, as with a real node.
// The payment request is only shaped like a regtest BOLT 11 string (amount in nano-bitcoin,
// then random bech32 characters); it encodes nothing and carries no valid signature.

import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';

const HOST = '127.0.0.1';
/** The bech32 alphabet, for the filler of the payment request. */
const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

/** Standard base64 of bytes, as LND's REST gateway writes `bytes` fields. */
const base64 = (bytes) => Buffer.from(bytes).toString('base64');

/** A regtest-looking BOLT 11 string for `sats` (1 sat = 10 nano-bitcoin). */
function paymentRequestShape(sats) {
  const filler = Array.from(randomBytes(180), (byte) => BECH32[byte % 32]).join('');
  return `lnbcrt${BigInt(sats) * 10n}n1${filler}`;
}

/** A payment hash given as a Buffer, hex, or (standard or URL-safe) base64: 32 bytes, hex. */
function hashHex(hash) {
  if (Buffer.isBuffer(hash) || hash instanceof Uint8Array) return Buffer.from(hash).toString('hex');
  if (/^[0-9a-f]{64}$/i.test(hash)) return hash.toLowerCase();
  return Buffer.from(hash.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('hex');
}

function reply(response, status, value) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(value));
}

/** LND's REST error body (grpc-gateway): `{code, message, details}`. */
const lndError = (code, message) => ({ code, message, details: [] });

/**
 * Starts the LND stand-in on a free port of 127.0.0.1, accepting `macaroonHex` (what the
 * Worker gets as its LND_MACAROON secret).
 */
export async function startLndStandIn({ macaroonHex }) {
  let expectedMacaroon = macaroonHex.toLowerCase();
  /** Where `POST /v1/invoices` is redirected to (307), when set; and what arrived there. */
  let redirectTo;
  const redirected = [];
  const elsewhere = http.createServer((request, response) => {
    request.resume();
    redirected.push({ method: request.method, path: request.url, macaroon: request.headers['grpc-metadata-macaroon'] });
    reply(response, 200, {});
  });
  await new Promise((resolve) => elsewhere.listen(0, HOST, resolve));
  /** Every invoice made: `{ memo, sats, paymentHash (hex), preimage (hex), paymentRequest }`. */
  const invoices = [];
  /** Every request received: `{ method, path, macaroon, body, status }`. */
  const requests = [];
  const byHash = new Map();

  const server = http.createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const macaroon = request.headers['grpc-metadata-macaroon'];
      const record = { method: request.method, path: request.url, macaroon, body: raw, status: 0 };
      requests.push(record);
      const answer = (status, value) => {
        record.status = status;
        reply(response, status, value);
      };
      if (request.method !== 'POST' || request.url !== '/v1/invoices') {
        return answer(404, lndError(5, 'Not Found'));
      }
      if (redirectTo) {
        record.status = 307;
        response.writeHead(307, { location: redirectTo });
        return response.end();
      }
      if (typeof macaroon !== 'string' || macaroon.toLowerCase() !== expectedMacaroon) {
        return answer(401, lndError(2, 'verification failed: signature mismatch after caveat verification'));
      }
      let body;
      try {
        body = JSON.parse(raw);
      } catch {
        return answer(400, lndError(3, 'invalid character in JSON body'));
      }
      record.body = body;
      // LND takes `value` as an int64, which its JSON gateway reads from a decimal string.
      if (typeof body.value !== 'string' || !/^[1-9][0-9]*$/.test(body.value)) {
        return answer(400, lndError(3, 'value: a positive amount in satoshis is required'));
      }
      const preimage = randomBytes(32);
      const paymentHash = createHash('sha256').update(preimage).digest();
      const invoice = {
        memo: body.memo,
        sats: Number(body.value),
        paymentHash: paymentHash.toString('hex'),
        preimage: preimage.toString('hex'),
        paymentRequest: paymentRequestShape(body.value),
      };
      invoices.push(invoice);
      byHash.set(invoice.paymentHash, invoice);
      answer(200, {
        r_hash: base64(paymentHash),
        payment_request: invoice.paymentRequest,
        add_index: String(invoices.length),
        payment_addr: base64(randomBytes(32)),
      });
    });
  });

  const listen = (port) =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
  const close = () =>
    new Promise((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });

  await listen(0);
  const port = server.address().port;
  return {
    url: `http://${HOST}:${port}`,
    invoices,
    requests,
    /** The invoice whose payment hash this is (Buffer, hex or base64), or `undefined`. */
    invoiceFor: (paymentHash) => byHash.get(hashHex(paymentHash)),
    /**
     * How a test pays: the preimage (hex) of the invoice with this payment hash, as a payer
     * learns it on settlement. Throws for a hash the stand-in never issued.
     */
    preimageFor(paymentHash) {
      const invoice = byHash.get(hashHex(paymentHash));
      if (!invoice) throw new Error(`the LND stand-in issued no invoice with hash ${hashHex(paymentHash)}`);
      return invoice.preimage;
    },
    /**
     * From now on invoices are redirected (307) to another server, as a node behind a
     * misconfigured proxy might; `redirected` records what reaches it.
     */
    redirectElsewhere: () => {
      redirectTo = `http://${HOST}:${elsewhere.address().port}/v1/invoices`;
    },
    redirected,
    /** From now on only this macaroon is accepted (others get 401). */
    expectMacaroon: (hex) => {
      expectedMacaroon = hex.toLowerCase();
    },
    /** Closes the port: connections are refused (the node unreachable) until `listenAgain()`. */
    stopListening: close,
    listenAgain: () => listen(port),
    /** Forgets the requests (invoices stay payable) and accepts the original macaroon again. */
    reset() {
      requests.splice(0);
      redirected.splice(0);
      redirectTo = undefined;
      expectedMacaroon = macaroonHex.toLowerCase();
    },
    async stop() {
      await close();
      await new Promise((resolve) => elsewhere.close(() => resolve()));
    },
  };
}
