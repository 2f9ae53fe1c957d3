import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import createClient from 'openapi-fetch';
import type { paths } from './generated/openapi.js';
import { useServer } from './helpers/setup.js';

/** A client generated from openapi/openapi.json (openapi-typescript types, checked by tsc) + openapi-fetch. */
describe('SDK generated from the OpenAPI document', () => {
  const app = useServer();
  let api: ReturnType<typeof createClient<paths>>;

  before(() => {
    api = createClient<paths>({ baseUrl: app.url });
  });

  it('runs an agent, lists threads and reads messages', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: 'Generated clients work.' }] });
    const run = await api.POST('/v1/run', { body: { prompt: 'Do they?', session_id: 'sdk-thread' } });
    assert.equal(run.response.status, 200);
    assert.equal(run.data?.output, 'Generated clients work.');

    const threads = await api.GET('/v1/threads', { params: { query: { limit: 10 } } });
    assert.ok(threads.data?.items.some((t) => t.id === 'sdk-thread'));

    const messages = await api.GET('/v1/threads/{id}/messages', { params: { path: { id: 'sdk-thread' }, query: { order: 'asc' } } });
    assert.deepEqual(
      messages.data?.items.map((m) => [m.role, m.content[0].type]),
      [
        ['user', 'text'],
        ['assistant', 'text'],
      ],
    );
    assert.equal(messages.data?.next_cursor, null);

    // 200 is the result; 202 (a background start) would be the run record.
    assert.ok(run.data && 'run_id' in run.data);
    const runRecord = await api.GET('/v1/runs/{id}', { params: { path: { id: run.data.run_id } } });
    assert.equal(runRecord.data?.status, 'completed');
    const patched = await api.PATCH('/v1/threads/{id}/metadata', { params: { path: { id: 'sdk-thread' } }, body: { title: 'From the SDK' } });
    assert.equal(patched.data?.title, 'From the SDK');
    const agents = await api.GET('/v1/agents');
    assert.equal(agents.data?.items[0].id, 'assistant');
  });

  it('gets typed errors in the shared shape', async () => {
    const missing = await api.GET('/v1/threads/{id}', { params: { path: { id: 'nope' } } });
    assert.equal(missing.response.status, 404);
    assert.equal(missing.error?.code, 'not_found');
    const invalid = await api.GET('/v1/threads', { params: { query: { limit: 500 } } });
    assert.equal(invalid.response.status, 400);
    assert.deepEqual(invalid.error?.issues, [{ path: ['limit'], message: 'limit must be at most 200' }]);
    const cancel = await api.POST('/v1/runs/{id}/cancel', { params: { path: { id: 'nope' } } });
    assert.equal(cancel.error?.code, 'not_found');
  });
});
