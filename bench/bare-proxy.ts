// The floor: the least work that answers the bench's two routes from the same fake upstream
// (one streaming upstream call per request, no storage, no framework).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const upstreamUrl = `${process.env.ANTHROPIC_BASE_URL ?? 'http://127.0.0.1:9'}/v1/messages`;
const apiKey = process.env.ANTHROPIC_API_KEY ?? 'bench';

async function readPrompt(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { prompt?: unknown };
  return String(body.prompt ?? '');
}

function callUpstream(prompt: string): Promise<Response> {
  return fetch(upstreamUrl, {
    method: 'POST',
    headers: { 'x-api-key': apiKey, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'bench-model', max_tokens: 1024, stream: true, messages: [{ role: 'user', content: prompt }] }),
  });
}

/** The reply text, from the text_delta events of a complete SSE body. */
function collectText(sse: string): string {
  let text = '';
  for (const line of sse.split('\n')) {
    if (!line.startsWith('data: ')) continue;
    const event = JSON.parse(line.slice(6));
    if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
  }
  return text;
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const route = req.method === 'POST' ? req.url : undefined;
  if (route !== '/v1/run' && route !== '/v1/run/stream') {
    req.resume();
    res.writeHead(404).end();
    return;
  }
  const upstream = await callUpstream(await readPrompt(req));
  if (!upstream.ok || !upstream.body) {
    res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `upstream ${upstream.status}` }));
    return;
  }
  if (route === '/v1/run') {
    const output = collectText(await upstream.text());
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ output }));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  for await (const chunk of upstream.body) res.write(chunk);
  res.end();
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    if (res.headersSent) res.destroy();
    else res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(err) }));
  });
});
server.keepAliveTimeout = 65_000; // as the real server, so both keep bench connections alike
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
