// The event log stores a run's events as batch rows: fewer rows than events, every seq read back in order, resumable from inside a row, and migrated from the one-row-per-event log of earlier versions.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openDb } from '../src/db/dialect.js';
import { migrate } from '../src/db/migrations.js';
import { Store } from '../src/store/store.js';
import { dialects, testDatabase } from './helpers/databases.js';
import { postSse } from './helpers/http.js';
import { useServer } from './helpers/setup.js';
import { words } from './helpers/text.js';

const count = async (app: { server: { store: Store } }, runId: string) =>
  Number((await app.server.store.db.kysely.selectFrom('run_events').select((eb) => eb.fn.countAll().as('n')).where('run_id', '=', runId).executeTakeFirstOrThrow()).n);

for (const dialect of dialects()) {
  describe(`event log rows [${dialect}]`, () => {
    const app = useServer({ dialect });

    it('a run stores a few rows, not one per event, and every event comes back with its seq', async () => {
      // Paced so the run's events span several of the writer's 25 ms flushes.
      app.fake.enqueue({ content: [{ type: 'text', text: words(40) }], chunkDelayMs: 3 });
      const { frames } = await postSse(`${app.url}/v1/runs`, { prompt: 'go' });
      const streamed = frames.filter((f) => f.id).map((f) => ({ seq: Number(f.id), event: f.json }));
      const runId = streamed[0].event.run_id;
      assert.ok(streamed.length > 40, `${streamed.length} events`);
      const stored = await app.server.store.eventLog.list(runId);
      assert.deepEqual(stored, streamed);
      const rows = await count(app, runId);
      assert.ok(rows >= 2 && rows < streamed.length / 4, `${rows} rows for ${streamed.length} events`);
      assert.equal(await app.server.store.eventLog.lastSeq(runId), streamed.length);

      // Resuming from any seq, inside a row too, gives exactly the events after it.
      for (const after of [1, 7, Math.floor(streamed.length / 2), streamed.length - 1, streamed.length]) {
        assert.deepEqual(await app.server.store.eventLog.list(runId, after), streamed.slice(after));
        const res = await fetch(`${app.url}/v1/runs/${runId}/events`, { headers: { 'last-event-id': String(after) } });
        const ids = [...(await res.text()).matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
        assert.deepEqual(ids, streamed.slice(after).map((e) => e.seq), `after ${after}`);
      }
    });

    it('a model call\'s usage row is stored with the run\'s events, by the time its end is', async () => {
      app.fake.enqueue({ content: [{ type: 'text', text: 'ok' }], usage: { input_tokens: 7, output_tokens: 3 } });
      const { frames } = await postSse(`${app.url}/v1/runs`, { prompt: 'go' });
      const runId = frames.find((f) => f.id)!.json.run_id;
      const rows = await app.server.store.db.kysely.selectFrom('usage_records').select(['input_tokens', 'output_tokens', 'step']).where('run_id', '=', runId).execute();
      assert.deepEqual(rows.map((r) => ({ ...r, input_tokens: Number(r.input_tokens), output_tokens: Number(r.output_tokens) })), [{ input_tokens: 7, output_tokens: 3, step: 1 }]);
    });
  });

  describe(`migration 0010: one row per event → batch rows [${dialect}]`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'event-log-'));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('keeps every stored event, and migrating down splits them again', async () => {
      const database = await testDatabase(dialect, dir);
      const db = await openDb(database.url);
      try {
        await migrate(db, '0009_webhooks');
        const now = new Date().toISOString();
        await db.kysely.insertInto('threads' as never).values({ id: 'th_m', agent_id: 'assistant', title: null, metadata: '{}', state: null, created_at: now, updated_at: now } as never).execute();
        await db.kysely.insertInto('runs' as never).values({ id: 'run_m', thread_id: 'th_m', agent_id: 'assistant', origin: 'api', status: 'completed', input: '{}', timeout_ms: 1000, created_at: now } as never).execute();
        const events = [
          { type: 'run.started', run_id: 'run_m', thread_id: 'th_m', agent_id: 'assistant' },
          { type: 'text.delta', id: 't1', delta: 'a "quoted", [bracketed] word' },
          { type: 'run.finished', status: 'completed', output: 'x', stop_reason: 'end_turn', usage: { input_tokens: 1, output_tokens: 1, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 }, tool_calls: [] },
        ];
        for (const [i, e] of events.entries()) {
          await sql`insert into run_events (run_id, seq, type, data, created_at) values ('run_m', ${i + 1}, ${e.type}, ${JSON.stringify(e)}, ${now})`.execute(db.kysely);
        }
        const store = await Store.open(db);
        assert.deepEqual(await store.eventLog.list('run_m'), events.map((event, i) => ({ seq: i + 1, event })));
        assert.deepEqual(await store.eventLog.list('run_m', 2), [{ seq: 3, event: events[2] }]);
        assert.equal(await store.eventLog.lastSeq('run_m'), 3);

        // A batch row written now, then down to 0009: one row per event again, in order.
        store.events.push('run_m', 4, JSON.stringify({ type: 'text.delta', id: 't2', delta: 'b' }));
        store.events.push('run_m', 5, JSON.stringify({ type: 'text.delta', id: 't2', delta: 'c' }));
        await store.events.flush();
        await migrate(db, '0009_webhooks');
        const rows = (await sql<{ seq: number; type: string }>`select seq, type from run_events where run_id = 'run_m' order by seq`.execute(db.kysely)).rows;
        assert.deepEqual(rows.map((r) => [Number(r.seq), r.type]), [[1, 'run.started'], [2, 'text.delta'], [3, 'run.finished'], [4, 'text.delta'], [5, 'text.delta']]);
      } finally {
        await db.close();
        await database.drop();
      }
    });
  });
}
