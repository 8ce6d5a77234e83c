// A fault-injecting HTTP proxy in front of a real service (the stack's reference facilitator,
// or the chain's JSON-RPC endpoint). It forwards every request to its target; for the paths it
// is told to break, it breaks the answer only AFTER the target has answered, so whatever the
// target did (a settlement mined on chain) has happened:
//
//   pass     the target's answer, unchanged
//   drop     the connection is reset instead of answering (the client sees a network error)
//   delay    the answer is held for `delayMs` (past the client's timeout)
//   error500 HTTP 500 instead of the answer
//   garbage  HTTP 200 with a body that is not JSON
//   refuse   the port is closed: connections are refused, nothing is forwarded
//
// Listens on 127.0.0.1 only. `forwarded` records each broken-path request with the target's
// answer (a promise), so a test can wait until the target has acted; `calls(path)` counts
// every request by path.

import http from 'node:http';

const HOST = '127.0.0.1';
/** Bound on one forwarded exchange with the target. */
const TARGET_TIMEOUT_MS = 30_000;
const MODES = ['pass', 'drop', 'delay', 'error500', 'garbage', 'refuse'];

/**
 * Starts a proxy to `target` (a base URL). `paths` are the request paths faults apply to (all
 * paths when omitted). `delayMs` is how long `delay` holds an answer.
 */
export async function startFaultProxy(target, { paths, delayMs = 10_000 } = {}) {
  let mode = 'pass';
  const forwarded = [];
  const seen = new Map();
  const timers = new Set();
  const server = http.createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      seen.set(request.url, (seen.get(request.url) ?? 0) + 1);
      const body = Buffer.concat(chunks);
      const faulted = !paths || paths.includes(request.url);
      const answer = forward(target, request, body);
      if (faulted) forwarded.push({ path: request.url, mode, answer });
      answer.then(
        (reply) => respond(faulted ? mode : 'pass', response, reply),
        (error) => {
          response.writeHead(502, { 'content-type': 'text/plain' });
          response.end(`fault proxy: target failed: ${error.message}`);
        },
      );
    });
  });

  const respond = (how, response, reply) => {
    switch (how) {
      case 'drop':
        response.socket?.destroy();
        return;
      case 'delay': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!response.destroyed) send(response, reply);
        }, delayMs);
        timers.add(timer);
        return;
      }
      case 'error500':
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end('{"error":"internal error (injected after forwarding)"}');
        return;
      case 'garbage':
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{"success": tru<html>injected');
        return;
      default:
        send(response, reply);
    }
  };

  await listen(server, 0);
  const port = server.address().port;
  return {
    url: `http://${HOST}:${port}`,
    /** Broken-path requests since the last `reset`: `{ path, mode, answer }`. */
    forwarded,
    /** How many requests for `path` arrived since the proxy started. */
    calls: (path) => seen.get(path) ?? 0,
    /** Sets the mode; `refuse` closes the port, any other opens it again. */
    async setMode(next) {
      if (!MODES.includes(next)) throw new Error(`no fault proxy mode "${next}"`);
      if (next === 'refuse' && mode !== 'refuse') await close(server);
      if (next !== 'refuse' && mode === 'refuse') await listen(server, port);
      mode = next;
    },
    /** Waits until every recorded forward has its target's answer. */
    settled: () => Promise.allSettled(forwarded.map((f) => f.answer)),
    reset: () => forwarded.splice(0),
    async stop() {
      for (const timer of timers) clearTimeout(timer);
      if (mode !== 'refuse') await close(server);
    },
  };
}

/** Sends `request` (with its read `body`) to `target`; resolves to `{ status, headers, body }`. */
function forward(target, request, body) {
  const url = new URL(request.url, target);
  const headers = { ...request.headers, host: url.host };
  delete headers.connection;
  return new Promise((resolve, reject) => {
    const outgoing = http.request(url, { method: request.method, headers, timeout: TARGET_TIMEOUT_MS }, (reply) => {
      const chunks = [];
      reply.on('data', (chunk) => chunks.push(chunk));
      reply.on('end', () => resolve({ status: reply.statusCode, headers: reply.headers, body: Buffer.concat(chunks) }));
      reply.on('error', reject);
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error('target timed out')));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

function send(response, { status, headers, body }) {
  const kept = { 'content-type': headers['content-type'] ?? 'application/json', 'content-length': body.length };
  response.writeHead(status, kept);
  response.end(body);
}

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function close(server) {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
