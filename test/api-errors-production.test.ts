import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { assertError, call } from './helpers/api.js';
import { startTestServer } from './helpers/server.js';

/** An internal failure (the store throws) on REST and tRPC: stack only outside production. */
async function internalFailure(production: boolean) {
  const server = await startTestServer({ noCredentials: true, env: production ? { NODE_ENV: 'production' } : {} });
  server.store.threads.page = async () => {
    throw new Error('secret database detail');
  };
  const rest = await call(`${server.url}/v1/threads`, 'GET');
  const trpc = await call(`${server.url}/trpc/threads.list?input=${encodeURIComponent('{}')}`, 'GET');
  return { server, rest, trpc: { status: trpc.status, body: trpc.body.error.data } };
}

describe('internal errors', () => {
  const servers: Array<{ stop(): Promise<void> }> = [];
  after(() => Promise.all(servers.map((s) => s.stop())));

  it('NODE_ENV=production: a generic message, no stack, no detail', async () => {
    const { server, rest, trpc } = await internalFailure(true);
    servers.push(server);
    assertError(rest, 500, 'internal');
    assert.deepEqual(rest.body, { error: 'internal server error', code: 'internal' });
    assert.equal(trpc.status, 500);
    assert.deepEqual(trpc.body, { error: 'internal server error', code: 'internal', httpStatus: 500, path: 'threads.list' });
  });

  it('in development the stack is there to debug with', async () => {
    const { server, rest, trpc } = await internalFailure(false);
    servers.push(server);
    assert.equal(rest.status, 500);
    assert.match(rest.body.stack, /secret database detail/);
    assert.match(trpc.body.stack, /secret database detail/);
  });
});
