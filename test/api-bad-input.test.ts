import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { assertError, call } from './helpers/api.js';
import { postJson } from './helpers/http.js';
import { useServer } from './helpers/setup.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('bad input: 4xx with the shared error body, nothing changed', () => {
  // No reset: the model request of the run made in `before` (thread bad-1) stays counted in app.fake.requests.
  const app = useServer({ resetFake: false });
  let url: string;
  /** Everything a bad request could have changed. */
  const snapshot = async () => ({
    threads: await app.server.store.db.kysely.selectFrom('threads').selectAll().orderBy('id').execute(),
    runs: await app.server.store.db.kysely.selectFrom('runs').select(['id', 'status']).orderBy('id').execute(),
    messages: await app.server.store.db.kysely.selectFrom('messages').select('id').orderBy('id').execute(),
  });

  before(async () => {
    url = app.url;
    await postJson(`${url}/v1/run`, { prompt: 'seed', session_id: 'bad-1' });
  });

  it('REST bodies: non-objects, bad JSON, unknown fields, wrong types, wrong content type, too large', async () => {
    const before = await snapshot();
    const patch = (body: unknown, headers?: Record<string, string>) => call(`${url}/v1/threads/bad-1/metadata`, 'PATCH', body, headers);
    for (const body of ['[1]', '"text"', 'null', '42', '{"a":', '{} {}', ' ']) assertError(await patch(body), 400, 'bad_request');
    const wrongType = await patch({ title: 5 });
    assertError(wrongType, 400, 'bad_request');
    assert.deepEqual(wrongType.body.issues, [{ path: ['title'], message: 'Invalid input: expected string, received number' }]);
    assertError(await patch({ title: 'x'.repeat(501) }), 400, 'bad_request');
    assertError(await patch({ big: 'x'.repeat(70_000) }), 400, 'bad_request');
    assertError(await patch('{"title":"x"}', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
    assertError(await patch({ title: 'x'.repeat(1024 * 1024) }), 413, 'payload_too_large');

    const start = (body: unknown) => call(`${url}/v1/runs`, 'POST', body);
    for (const body of ['[]', '"go"', { prompt: 'go', extra: 1 }, { prompt: 5 }, { prompt: '   ' }, { prompt: 'go', timeout_ms: -1 }, { prompt: 'go', thread_id: 'has space' }]) {
      assertError(await start(body), 400, 'bad_request');
    }
    const unknown = await start({ prompt: 'go', extra: 1 });
    assert.deepEqual(unknown.body.issues, [{ path: [], message: 'unknown field(s): extra' }]);
    assertError(await start({ prompt: 'go', agent_id: 'nobody' }), 404, 'not_found');
    assertError(await call(`${url}/v1/runs`, 'POST', '{"prompt":"go"}', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');

    assertError(await call(`${url}/v1/runs/run_x/cancel`, 'POST', { force: true }), 400, 'bad_request');
    assertError(await call(`${url}/v1/runs/run_x/cancel`, 'POST', '[1]'), 400, 'bad_request');
    assert.deepEqual(await snapshot(), before);
    assert.equal(app.fake.requests.length, 1, 'no model call for a rejected run');
  });

  it('REST queries: limits, cursors, filters, unknown fields', async () => {
    const get = (path: string) => call(`${url}${path}`, 'GET');
    for (const limit of ['0', '201', 'abc', '1.5', '-1', '1e9']) {
      const res = await get(`/v1/threads?limit=${limit}`);
      assertError(res, 400, 'bad_request');
      assert.deepEqual(res.body.issues[0].path, ['limit']);
    }
    assert.equal((await get('/v1/threads?limit=200')).status, 200);
    assert.equal((await get('/v1/threads?limit=1')).status, 200);
    const runPage = await get('/v1/runs?limit=1');
    for (const cursor of ['garbage', '%%%', b64(['thread', 'not a date', 'x']), b64({ a: 1 }), b64(['message', 1]), runPage.body.next_cursor ?? b64(['run', new Date().toISOString(), 'x'])]) {
      const res = await get(`/v1/threads?cursor=${encodeURIComponent(cursor)}`);
      assertError(res, 400, 'bad_request');
      assert.deepEqual(res.body.issues, [{ path: ['cursor'], message: 'malformed cursor' }]);
    }
    assertError(await get('/v1/threads/bad-1/messages?after=nope'), 400, 'bad_request');
    assertError(await get(`/v1/threads/bad-1/messages?before=${b64(['message', -1])}`), 400, 'bad_request');
    assertError(await get('/v1/threads/bad-1/messages?order=sideways'), 400, 'bad_request');
    assertError(await get('/v1/runs?status=sleeping'), 400, 'bad_request');
    assertError(await get('/v1/runs?created_after=yesterday'), 400, 'bad_request');
    assertError(await get('/v1/threads?sort=asc'), 400, 'bad_request');
    assertError(await get('/v1/runs/run_x/events?after=-1'), 400, 'bad_request');
    assertError(await get('/v1/runs/run_x/events?from=1'), 400, 'bad_request');
    assertError(await call(`${url}/v1/runs/run_x/events`, 'GET', undefined, { 'last-event-id': 'abc' }), 400, 'bad_request');
    assertError(await get('/v1/threads/bad%20id'), 400, 'bad_request');
  });

  it('unknown ids are 404 on every route', async () => {
    const before = await snapshot();
    for (const [method, path] of [
      ['GET', '/v1/threads/nope'],
      ['GET', '/v1/threads/nope/messages'],
      ['PATCH', '/v1/threads/nope/metadata'],
      ['DELETE', '/v1/threads/nope'],
      ['GET', '/v1/runs/nope'],
      ['POST', '/v1/runs/nope/cancel'],
      ['GET', '/v1/runs/nope/events'],
      ['GET', '/v1/nothing/here'],
    ]) {
      assertError(await call(`${url}${path}`, method, method === 'PATCH' ? { title: 'x' } : undefined), 404, 'not_found');
    }
    assert.deepEqual(await snapshot(), before);
  });

  it('tRPC: the same body inside error.data, for inputs and raw requests', async () => {
    const before = await snapshot();
    const trpc = async (path: string, init: RequestInit = {}) => {
      const res = await fetch(`${url}/trpc/${path}`, init);
      const body = (await res.json()) as any;
      return { status: res.status, body: body.error.data };
    };
    const mutate = (path: string, body: string) => trpc(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const query = (path: string, input: unknown) => trpc(`${path}?input=${encodeURIComponent(JSON.stringify(input))}`);
    const shape = (r: { status: number; body: any }, status: number, code: string) => {
      const { httpStatus, path, ...body } = r.body;
      assert.equal(httpStatus, status);
      assertError({ status: r.status, body }, status, code);
    };
    shape(await mutate('threads.updateMetadata', '[1]'), 400, 'bad_request');
    shape(await mutate('threads.updateMetadata', '{"id":"bad-1","title":5}'), 400, 'bad_request');
    shape(await mutate('runs.cancel', '{"id":"run_x","force":true}'), 400, 'bad_request');
    shape(await mutate('run', '{"prompt":"x","extra":1}'), 400, 'bad_request');
    shape(await mutate('threads.delete', '{"id":"nope"}'), 404, 'not_found');
    shape(await mutate('threads.delete', '{not json'), 400, 'bad_request');
    shape(await query('threads.list', { limit: 201 }), 400, 'bad_request');
    shape(await query('threads.list', { cursor: 'garbage' }), 400, 'bad_request');
    shape(await query('runs.get', { id: 'nope' }), 404, 'not_found');
    shape(await trpc('no.such.procedure'), 404, 'not_found');
    assert.deepEqual(await snapshot(), before);
  });
});
