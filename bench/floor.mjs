// The floor: plain `node` (no TypeScript loader), each request answered by piping one streaming
// upstream call to the client. No SSE parsing, no JSON, no storage: the least a proxy can do.
import http from 'node:http';

const upstream = new URL(`${process.env.ANTHROPIC_BASE_URL ?? 'http://127.0.0.1:9'}/v1/messages`);
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
const headers = { 'x-api-key': process.env.ANTHROPIC_API_KEY ?? 'bench', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' };

const server = http.createServer((req, res) => {
  // The bench sends the floor a Messages API body, passed through unread.
  const up = http.request(upstream, { method: 'POST', agent, headers }, (u) => {
    res.writeHead(u.statusCode ?? 502, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    u.pipe(res);
  });
  up.on('error', () => res.destroy());
  req.pipe(up);
});
server.keepAliveTimeout = 65_000; // as the real server, so both keep bench connections alike
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` })}\n`));
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
