import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createFetchTool, type Resolver } from '../src/runtime/tools/http-fetch.js';
import { useServer } from './helpers/setup.js';
import { callTool } from './helpers/tools.js';

/** A local HTTP server that records the paths it was asked for. */
async function startSite(handler: (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void) {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
type Site = Awaited<ReturnType<typeof startSite>>;

describe('http_fetch', () => {
  /** The "public" site: reachable as `localhost` only where AGENTSDK_FETCH_ALLOW says so. */
  let site: Site | undefined;
  /** A private service on another port that no test may reach. */
  let secret: Site | undefined;
  const agents = { agents: { assistant: { tools: { http_fetch: { timeout_ms: 500 } } } } };
  /** No allowlist. */
  const strict = useServer({ agents });
  /** AGENTSDK_FETCH_ALLOW=localhost, a 1000-byte cap and a 500 ms limit; the same fake model as `strict`. */
  const allowing = useServer({ fake: () => strict.fake, agents, env: { AGENTSDK_FETCH_ALLOW: 'localhost', AGENTSDK_FETCH_MAX_BYTES: '1000' } });

  before(async () => {
    secret = await startSite((_req, _body, res) => res.end('the secret'));
    site = await startSite((req, body, res) => {
      const path = req.url ?? '/';
      if (path === '/hello') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('hello from the site');
      if (path === '/echo') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: req.method, body, type: req.headers['content-type'] ?? null, auth: req.headers.authorization ?? null }));
      if (path === '/big') return void res.writeHead(200).end('y'.repeat(5_000));
      if (path === '/binary') return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from([0, 1, 2, 3]));
      if (path === '/slow') return; // never answers
      if (path === '/to-metadata') return void res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      if (path === '/to-secret') return void res.writeHead(302, { location: `http://127.0.0.1:${secret!.port}/secret` }).end();
      if (path === '/to-hello') return void res.writeHead(301, { location: '/hello' }).end();
      if (path === '/see-other') return void res.writeHead(303, { location: '/echo' }).end();
      res.writeHead(404).end();
    });
  });
  after(async () => {
    await site?.close();
    await secret?.close();
  });

  const fetchVia = async (server: typeof strict, input: Record<string, unknown>) => {
    const r = await callTool(server.url, strict.fake, 'http_fetch', input);
    return { ...r, json: r.is_error ? undefined : JSON.parse(r.output) };
  };

  it('refuses loopback, private and link-local addresses, by IP or after DNS resolution', async () => {
    const port = site!.port;
    const refused: Array<[string, RegExp]> = [
      [`http://127.0.0.1:${port}/hello`, /127\.0\.0\.1/],
      [`http://localhost:${port}/hello`, /localhost resolves to (127\.0\.0\.1|::1)/],
      [`http://[::1]:${port}/hello`, /::1/],
      [`http://[::ffff:127.0.0.1]:${port}/hello`, /refused/],
      [`http://0.0.0.0:${port}/hello`, /0\.0\.0\.0/],
      [`http://2130706433:${port}/hello`, /127\.0\.0\.1/], // 127.0.0.1 as one number
      ['http://10.1.2.3/', /10\.1\.2\.3/],
      ['http://192.168.1.1/', /192\.168\.1\.1/],
      ['http://172.16.0.1/', /172\.16\.0\.1/],
      ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254/],
    ];
    for (const [url, where] of refused) {
      const r = await fetchVia(strict, { url });
      assert.equal(r.is_error, true, url);
      assert.match(r.output, /^refused: /, url);
      assert.match(r.output, where, url);
      assert.match(r.output, /loopback\/private\/link-local/);
      assert.equal(r.modelSaw.is_error, true);
    }
    const file = await fetchVia(strict, { url: 'file:///etc/passwd' });
    assert.deepEqual([file.is_error, file.output], [true, 'only http and https URLs can be fetched: file:///etc/passwd']);
    assert.deepEqual(site!.hits, [], 'nothing reached the site');
  });

  it('the allowlist lets a named host through; GET, POST and redirects within it work', async () => {
    const base = `http://localhost:${site!.port}`;
    const get = await fetchVia(allowing, { url: `${base}/hello` });
    assert.deepEqual(get.json, { url: `${base}/hello`, status: 200, content_type: 'text/plain', body: 'hello from the site' });

    const post = await fetchVia(allowing, { url: `${base}/echo`, method: 'POST', body: '{"q":1}', headers: { 'content-type': 'application/json' } });
    assert.equal(post.json.status, 200);
    assert.deepEqual(JSON.parse(post.json.body), { method: 'POST', body: '{"q":1}', type: 'application/json', auth: null });

    const moved = await fetchVia(allowing, { url: `${base}/to-hello` });
    assert.deepEqual([moved.json.url, moved.json.body], [`${base}/hello`, 'hello from the site']);
    // 303 after POST continues as GET without the body.
    const seeOther = await fetchVia(allowing, { url: `${base}/see-other`, method: 'POST', body: 'x' });
    assert.deepEqual(JSON.parse(seeOther.json.body), { method: 'GET', body: '', type: null, auth: null });

    const binary = await fetchVia(allowing, { url: `${base}/binary` });
    assert.equal(binary.json.body, '[binary body, 4 bytes, not shown]');

    // The allowlist names the host, not the address: 127.0.0.1 itself stays refused.
    const byIp = await fetchVia(allowing, { url: `http://127.0.0.1:${site!.port}/hello` });
    assert.equal(byIp.is_error, true);
    assert.match(byIp.output, /^refused: /);
  });

  it('a redirect from an allowed host to a private address is refused', async () => {
    const base = `http://localhost:${site!.port}`;
    const metadata = await fetchVia(allowing, { url: `${base}/to-metadata` });
    assert.equal(metadata.is_error, true);
    assert.match(metadata.output, /^refused: 169\.254\.169\.254/);
    const other = await fetchVia(allowing, { url: `${base}/to-secret` });
    assert.equal(other.is_error, true);
    assert.match(other.output, /^refused: 127\.0\.0\.1/);
    assert.equal(other.modelSaw.is_error, true);
    assert.deepEqual(secret!.hits, [], 'the private service was never contacted');
    assert.ok(site!.hits.includes('GET /to-secret') && site!.hits.includes('GET /to-metadata'), 'the first hop did happen');
  });

  it('cuts bodies at the size cap, with a marker', async () => {
    const r = await fetchVia(allowing, { url: `http://localhost:${site!.port}/big` });
    assert.equal(r.is_error, false);
    assert.equal(r.json.body, 'y'.repeat(1000));
    assert.equal(r.json.truncated, true);
    assert.equal(r.json.note, '…[body cut at 1000 bytes; the rest was not read]');
  });

  it('a response that never comes hits the time limit and is an error the model sees', async () => {
    const r = await fetchVia(allowing, { url: `http://localhost:${site!.port}/slow` });
    assert.deepEqual([r.is_error, r.output], [true, 'tool timed out after 500 ms']);
    assert.deepEqual([r.modelSaw.is_error, r.modelSaw.content], [true, 'tool timed out after 500 ms']);
  });

  it('bad input is refused before anything is fetched', async () => {
    const r = await fetchVia(allowing, { url: `http://localhost:${site!.port}/hello`, method: 'DELETE' });
    assert.equal(r.is_error, true);
    assert.match(r.output, /^invalid input for http_fetch: \/method must be equal to one of the allowed values/);
    assert.ok(!site!.hits.some((h) => h.startsWith('DELETE')));
  });
});

/**
 * DNS rebinding: the address checked must be the address connected. The tool resolves once per
 * connection, inside the connection's own lookup, so a name that answers differently each time
 * cannot pass the check with one address and connect to another.
 */
describe('http_fetch name resolution', () => {
  let secret: Site | undefined;
  before(async () => {
    secret = await startSite((_req, _body, res) => res.end('the secret'));
  });
  after(async () => {
    await secret?.close();
  });

  const run = (resolve: Resolver, url: string) =>
    createFetchTool({ allow: [], maxBytes: 1000, resolve }).execute({ url }, { signal: AbortSignal.timeout(2_000), runId: 'r', threadId: 't', emit: () => {} });

  it('checks every address a name resolves to', async () => {
    const both: Resolver = (_h, _o, cb) => cb(null, [{ address: '93.184.216.34', family: 4 }, { address: '127.0.0.1', family: 4 }]);
    await assert.rejects(run(both, `http://mixed.test:${secret!.port}/`), /refused: mixed\.test resolves to 127\.0\.0\.1/);
    assert.deepEqual(secret!.hits, []);
  });

  it('a rebinding name cannot reach a private address after the check', async () => {
    const asked: string[] = [];
    // First answer public, every later answer private: a check-then-connect design would connect privately.
    const rebinding: Resolver = (host, _o, cb) => {
      asked.push(host);
      const answer: LookupAddress[] = asked.length === 1 ? [{ address: '192.0.2.10', family: 4 }] : [{ address: '127.0.0.1', family: 4 }];
      cb(null, answer);
    };
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('gave up')), 300);
    const tool = createFetchTool({ allow: [], maxBytes: 1000, resolve: rebinding });
    await assert.rejects(tool.execute({ url: `http://rebind.test:${secret!.port}/` }, { signal: controller.signal, runId: 'r', threadId: 't', emit: () => {} }));
    // One resolution, for the connection itself (to the public answer), and nothing reached the private service.
    assert.deepEqual(asked, ['rebind.test']);
    assert.deepEqual(secret!.hits, []);
    // Asked again now, the name is private: refused.
    await assert.rejects(run(rebinding, `http://rebind.test:${secret!.port}/`), /refused: rebind\.test resolves to 127\.0\.0\.1/);
    assert.deepEqual(secret!.hits, []);
  });
});
