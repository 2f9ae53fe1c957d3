import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { dialects } from './helpers/databases.js';
import { nodeRequest as raw } from './helpers/http.js';
import { useServer } from './helpers/setup.js';

const KEY = `cors-${randomBytes(16).toString('hex')}`;
const APP = 'https://app.example.com';

/** One path per route family, with a method a browser app would use there. */
const FAMILIES: Array<[string, string]> = [
  ['POST', '/v1/run'],
  ['GET', '/v1/threads'],
  ['POST', '/v1/runs/run_x/cancel'],
  ['GET', '/v1/runs/run_x/events'],
  ['POST', '/trpc/threads.updateMetadata'],
  ['GET', '/trpc/runs.events'],
  ['POST', '/v1/ag-ui/agents/assistant/runs'],
  ['POST', '/v1/ai-sdk/agents/assistant/runs'],
  ['GET', '/v1/ai-sdk/agents/assistant/chats/c1/stream'],
  ['POST', '/v1/a2a'],
  ['POST', '/v1/auth/stream-token'],
];

for (const dialect of dialects()) describe(`CORS and cross-origin requests [${dialect}]`, () => {
  const app = useServer({ dialect, fake: false, noCredentials: true, env: { AGENTSDK_API_KEYS: KEY, AGENTSDK_CORS_ORIGINS: `${APP},*.trusted.example` } });
  const preflight = (path: string, origin: string, method = 'POST') =>
    raw(`${app.url}${path}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization,content-type,x-api-key,last-event-id,a2a-version,x-trpc-source,trpc-accept' } });

  it('a preflight from an allowed origin gets the CORS headers on every route family (no credential needed)', async () => {
    for (const [method, path] of FAMILIES) {
      const res = await preflight(path, APP, method);
      assert.equal(res.status, 204, `${method} ${path}`);
      assert.equal(res.headers['access-control-allow-origin'], APP, path);
      const allowed = String(res.headers['access-control-allow-headers']).split(',');
      for (const h of ['authorization', 'x-api-key', 'content-type', 'last-event-id', 'a2a-version', 'x-trpc-source', 'trpc-accept']) assert.ok(allowed.includes(h), `${path}: ${h} allowed`);
      assert.match(String(res.headers['access-control-allow-methods']), new RegExp(method));
      assert.equal(res.headers['access-control-max-age'], '600');
      assert.equal(res.headers['access-control-allow-credentials'], undefined, 'never credentials mode');
    }
    const sub = await preflight('/v1/threads', 'https://a.trusted.example', 'GET');
    assert.equal(sub.headers['access-control-allow-origin'], 'https://a.trusted.example', '*.domain pattern');
  });

  it('a preflight from another origin gets no CORS header', async () => {
    for (const origin of ['https://evil.example', 'http://app.example.com', 'https://trusted.example.evil', 'null']) {
      const res = await preflight('/v1/run', origin);
      assert.equal(res.headers['access-control-allow-origin'], undefined, origin);
      assert.equal(res.headers['access-control-allow-headers'], undefined, origin);
    }
  });

  it('actual responses to an allowed origin expose the protocol headers', async () => {
    const res = await raw(`${app.url}/v1/threads`, { headers: { origin: APP, authorization: `Bearer ${KEY}` } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['access-control-allow-origin'], APP);
    const exposed = String(res.headers['access-control-expose-headers']).split(',');
    for (const h of ['x-vercel-ai-ui-message-stream', 'etag', 'retry-after', 'www-authenticate']) assert.ok(exposed.includes(h), h);
    // A 401 to an allowed origin carries CORS headers too, so the page can read why.
    const denied = await raw(`${app.url}/v1/threads`, { headers: { origin: APP } });
    assert.equal(denied.status, 401);
    assert.equal(denied.headers['access-control-allow-origin'], APP);
  });

  it('a cross-origin simple POST to cancel is refused (403) before anything runs', async () => {
    const cancel = `${app.url}/v1/runs/run_nope/cancel`;
    for (const [origin, headers] of [
      ['https://evil.example', {}],
      ['https://evil.example', { 'content-type': 'text/plain' }],
      ['https://evil.example', { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }],
      // Even an allowed origin must send a non-simple request, so the browser checks CORS first.
      [APP, { 'content-type': 'application/x-www-form-urlencoded' }],
      [APP, {}],
    ] as Array<[string, Record<string, string>]>) {
      const res = await raw(cancel, { method: 'POST', headers: { origin, ...headers } });
      assert.equal(res.status, 403, `${origin} ${JSON.stringify(headers)}: ${res.body}`);
      assert.equal(JSON.parse(res.body).code, 'forbidden');
    }
    // <img>/<form> navigation without Origin but marked cross-site by the browser.
    assert.equal((await raw(cancel, { method: 'POST', headers: { 'sec-fetch-site': 'cross-site' } })).status, 403);
    // The allowed origin with JSON and a key reaches the route (unknown run: 404).
    const ok = await raw(cancel, { method: 'POST', headers: { origin: APP, 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: '{}' });
    assert.equal(ok.status, 404, ok.body);
    // Non-browser clients (no Origin) are unaffected.
    assert.equal((await raw(cancel, { method: 'POST', headers: { authorization: `Bearer ${KEY}` } })).status, 404);
  });
});

describe('no AGENTSDK_CORS_ORIGINS: no CORS headers at all', () => {
  const app = useServer({ fake: false, noCredentials: true });

  it('preflights and responses carry no Access-Control-* header', async () => {
    const pre = await raw(`${app.url}/v1/threads`, { method: 'OPTIONS', headers: { origin: APP, 'access-control-request-method': 'GET' } });
    const get = await raw(`${app.url}/health`, { headers: { origin: APP } });
    for (const res of [pre, get]) assert.deepEqual(Object.keys(res.headers).filter((h) => h.startsWith('access-control-')), []);
  });

  it('without credentials configured, a cross-origin page cannot use the loopback admin (CSRF, DNS rebinding)', async () => {
    const res = await raw(`${app.url}/v1/run`, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'text/plain' }, body: '{"prompt":"x"}' });
    assert.equal(res.status, 403);
    // A page on a rebound domain is "same origin" to itself, but its Host is not an allowed host.
    const port = new URL(app.url).port;
    const rebound = await raw(`${app.url}/v1/threads`, { headers: { host: `evil.example:${port}`, origin: `http://evil.example:${port}`, 'sec-fetch-site': 'same-origin' } });
    assert.equal(rebound.status, 403, rebound.body);
    // The same-origin page served by this server (Swagger UI at /docs) works.
    const same = await raw(`${app.url}/v1/threads`, { headers: { origin: app.url, 'sec-fetch-site': 'same-origin' } });
    assert.equal(same.status, 200, same.body);
  });
});
