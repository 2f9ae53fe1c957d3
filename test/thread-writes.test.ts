import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { assertError, call } from './helpers/api.js';
import { dialects } from './helpers/databases.js';
import { useServer } from './helpers/setup.js';

for (const dialect of dialects()) {
  describe(`thread metadata and deletion [${dialect}]`, () => {
    const app = useServer({ noCredentials: true, dialect });

    before(async () => {
      const { store } = app.server;
      await store.createRun({ id: 'run_w1', thread_id: 'th_w', agent_id: 'assistant', origin: 'api', input: {}, timeout_ms: 1000, owner: null, created_at: new Date().toISOString() }, { id: 'local', admin: true });
      await store.messages.append('th_w', 'run_w1', [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
      store.events.push('run_w1', 1, JSON.stringify({ type: 'run.started', run_id: 'run_w1', thread_id: 'th_w', agent_id: 'assistant' }));
      const usage = { input_tokens: 1, output_tokens: 1, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
      await store.finishRun('run_w1', 'th_w', { status: 'completed', stop_reason: 'end_turn', output: 'hi', usage, tool_calls: [], error: null });
    });

    it('concurrent merge patches all land', async () => {
      const results = await Promise.all(Array.from({ length: 15 }, (_, i) => call(`${app.url}/v1/threads/th_w/metadata`, 'PATCH', { [`k${i}`]: { n: i } })));
      assert.ok(results.every((r) => r.status === 200));
      const thread = await call(`${app.url}/v1/threads/th_w`, 'GET');
      assert.deepEqual(thread.body.metadata, Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`k${i}`, { n: i }])));
    });

    it('DELETE cascades to messages, runs and events', async () => {
      assert.equal((await call(`${app.url}/v1/threads/th_w`, 'DELETE')).status, 204);
      assertError(await call(`${app.url}/v1/runs/run_w1`, 'GET'), 404, 'not_found');
      assert.deepEqual(await app.server.store.eventLog.list('run_w1'), []);
      assert.deepEqual(await app.server.store.messages.list('th_w'), []);
    });
  });
}
