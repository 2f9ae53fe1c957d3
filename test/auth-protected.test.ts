import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { dialects } from './helpers/databases.js';
import { nodeRequest as raw } from './helpers/http.js';
import { useServer } from './helpers/setup.js';

/** This machine's own non-loopback address (never an outside one): connecting to it is not loopback. */
function ownAddress(): string | undefined {
  const all = Object.values(networkInterfaces()).flatMap((a) => a ?? []);
  return all.find((a) => !a.internal && a.family === 'IPv4')?.address;
}
const own = ownAddress();
const skip = own ? undefined : 'this machine has no non-loopback IPv4 address';
if (skip) console.log(`# protected-mode test from a non-loopback address skipped: ${skip}`);

const logs: string[] = [];
const capture = pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => (logs.push(String(c)), cb()) }));

for (const dialect of dialects()) describe(`protected mode: no credentials configured [${dialect}]`, { skip }, () => {
  const app = useServer({ dialect, env: { AGENTSDK_HTTP_ADDR: '0.0.0.0:0' } });
  const remote = (path: string) => `http://${own}:${new URL(app.url).port}${path}`;

  it('a non-loopback client is refused 403 with what to set; nothing runs, nothing is stored', async () => {
    for (const [method, path] of [
      ['GET', '/v1/threads'],
      ['POST', '/v1/run'],
      ['GET', '/trpc/threads.list'],
      ['POST', '/v1/a2a'],
    ]) {
      const res = await raw(remote(path), { method, localAddress: own, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{"prompt":"no"}' : undefined });
      assert.equal(res.status, 403, `${method} ${path}: ${res.body}`);
      const body = JSON.parse(res.body);
      assert.equal(body.code, 'forbidden');
      assert.match(body.error, /AGENTSDK_API_KEYS/);
    }
    assert.equal(app.fake.requests.length, 0, 'no model call');
    const threads = await raw(`${app.url}/v1/threads`);
    assert.deepEqual(JSON.parse(threads.body).items, []);
  });

  it('public routes still answer the non-loopback client', async () => {
    for (const path of ['/health', '/ready', '/openapi.json', '/.well-known/agent-card.json']) assert.equal((await raw(remote(path), { localAddress: own })).status, 200, path);
  });

  it('loopback clients are the local admin; a proxied request (X-Forwarded-For) is not', async () => {
    assert.equal((await raw(`${app.url}/v1/threads`)).status, 200);
    assert.equal((await raw(`${app.url}/v1/threads`, { headers: { 'x-forwarded-for': '203.0.113.9' } })).status, 403);
  });
});

for (const dialect of dialects()) describe(`AGENTSDK_AUTH=none [${dialect}]`, { skip }, () => {
  const app = useServer({ dialect, logger: capture, env: { AGENTSDK_HTTP_ADDR: '0.0.0.0:0', AGENTSDK_AUTH: 'none' } });

  it('accepts every address, after a loud warning at start-up', async () => {
    const res = await raw(`http://${own}:${new URL(app.url).port}/v1/threads`, { localAddress: own });
    assert.equal(res.status, 200, res.body);
    const warning = logs.map((l) => JSON.parse(l)).find((r) => r.level === 40 && /AUTHENTICATION IS OFF/.test(r.msg));
    assert.ok(warning, 'start-up warned');
  });
});
