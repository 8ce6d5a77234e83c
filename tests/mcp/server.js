// The origin of the MCP tests: a real MCP server made with the official SDK
// (@modelcontextprotocol/sdk's McpServer over its Streamable HTTP transport, stateless: a
// new server and transport per request, as the SDK's stateless example does), on 127.0.0.1.
// `/mcp` answers with SSE streams (the SDK's default), `/mcp-json` with JSON bodies.
//
// Tools: `forecast` (structured output with an outputSchema), `echo` (free), `fail` (answers
// an error result), `broken` (sends a progress notification, then the connection is cut
// in the middle of the stream), `lookup` (priced per call by the gateway's pricing
// endpoint). Every tool run is recorded in `runs`.
//
// The same server is the gateway's pricing endpoint (`POST /price`, edge402's pricing
// protocol): it prices `lookup` at `lookupPrice` and records what it was asked in `asks`.

import http from 'node:http';

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

/** Starts the server; `stop()` closes it. */
export async function startMcpServer() {
  const runs = [];
  const pricing = { lookupPrice: '$0.002', asks: [] };
  const server = http.createServer(async (req, res) => {
    if (req.url === '/price' && req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      pricing.asks.push(JSON.parse(body));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ price: pricing.lookupPrice }));
      return;
    }
    if (req.method !== 'POST') {
      // Stateless: no standalone stream and no session to end (as the SDK's example answers).
      res.writeHead(405, { Allow: 'POST' }).end();
      return;
    }
    const mcp = weatherServer(runs, res);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: req.url.startsWith('/mcp-json'),
    });
    res.on('close', () => {
      transport.close();
      mcp.close();
    });
    try {
      await mcp.connect(transport);
      await transport.handleRequest(req, res);
    } catch (error) {
      if (!res.headersSent) res.writeHead(500).end(String(error));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    runs,
    pricing,
    stop: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    }),
  };
}

/** The tools, for one request whose response is `res`. */
function weatherServer(runs, res) {
  const mcp = new McpServer({ name: 'weather', version: '1.0.0' });
  mcp.registerTool('forecast', {
    description: 'The forecast for a city',
    inputSchema: { city: z.string() },
    outputSchema: { city: z.string(), celsius: z.number() },
  }, async ({ city }) => {
    runs.push({ tool: 'forecast', city });
    const forecast = { city, celsius: 21 };
    return { content: [{ type: 'text', text: JSON.stringify(forecast) }], structuredContent: forecast };
  });
  mcp.registerTool('echo', {
    description: 'Says it back (free)',
    inputSchema: { text: z.string() },
  }, async ({ text }) => {
    runs.push({ tool: 'echo', text });
    return { content: [{ type: 'text', text }] };
  });
  mcp.registerTool('fail', {
    description: 'Always fails',
    inputSchema: {},
  }, async () => {
    runs.push({ tool: 'fail' });
    return { isError: true, content: [{ type: 'text', text: 'the tool failed' }] };
  });
  mcp.registerTool('lookup', {
    description: 'Looks a word up (priced per call)',
    inputSchema: { word: z.string() },
  }, async ({ word }) => {
    runs.push({ tool: 'lookup', word });
    return { content: [{ type: 'text', text: `${word}: a word` }] };
  });
  mcp.registerTool('broken', {
    description: 'Breaks its stream off',
    inputSchema: {},
  }, async (_args, extra) => {
    runs.push({ tool: 'broken' });
    await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: 'broken', progress: 1 } });
    // The progress event is out; the connection goes before the response does.
    setTimeout(() => res.socket?.destroy(), 50);
    return new Promise(() => {});
  });
  return mcp;
}
