import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { assertError, call } from './helpers/api.js';
import { dialects } from './helpers/databases.js';
import { useServer } from './helpers/setup.js';

/** Distinct, increasing creation times (some shared, to exercise the id tie-break). */
const at = (i: number) => new Date(Date.UTC(2020, 0, 1, 0, 0, Math.floor(i / 2))).toISOString();

/** Follows next_cursor to the end, calling `between` after every page. */
async function readAll(first: string, next: (cursor: string) => string, between: (page: number) => Promise<void>): Promise<string[]> {
  const ids: string[] = [];
  let path = first;
  for (let page = 0; ; page++) {
    const res = await call(path, 'GET');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    ids.push(...res.body.items.map((x: any) => x.id));
    await between(page);
    if (!res.body.next_cursor) return ids;
    path = next(res.body.next_cursor);
  }
}

for (const dialect of dialects()) {
  describe(`cursor pagination while rows are inserted [${dialect}]`, () => {
    const app = useServer({ noCredentials: true, dialect });

    before(async () => {
      const { store } = app.server;
      for (let i = 0; i < 25; i++) {
        await store.createRun({ id: `run_${String(i).padStart(3, '0')}`, thread_id: `th_${String(i).padStart(3, '0')}`, agent_id: i % 2 ? 'odd' : 'even', origin: 'api', input: {}, timeout_ms: 1000, owner: null, created_at: at(i) }, { id: 'local', admin: true });
      }
      await store.messages.append('th_000', null, Array.from({ length: 25 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: [{ type: 'text', text: `m${i}` }] })));
    });

    it('threads: newest first, no skip or repeat across pages', async () => {
      const base = `${app.url}/v1/threads`;
      let extra = 0;
      const ids = await readAll(`${base}?limit=4`, (c) => `${base}?limit=4&cursor=${c}`, async () => {
        // Newer threads arrive while the client pages.
        await app.server.store.threads.ensure(`th_new_${extra++}`, 'even', 'local', new Date().toISOString());
      });
      const expected = Array.from({ length: 25 }, (_, i) => `th_${String(24 - i).padStart(3, '0')}`);
      assert.deepEqual(ids, expected);
      const odd = await readAll(`${base}?limit=5&agent_id=odd`, (c) => `${base}?limit=5&agent_id=odd&cursor=${c}`, async () => {});
      assert.deepEqual(
        odd,
        expected.filter((id) => Number(id.slice(3)) % 2 === 1),
      );
      const summaries = await readAll(`${base}/summaries?limit=7`, (c) => `${base}/summaries?limit=7&cursor=${c}`, async () => {});
      assert.equal(summaries.length, 25 + extra, 'summaries page through every thread');
    });

    it('runs: newest first with filters, no skip or repeat', async () => {
      const base = `${app.url}/v1/runs`;
      let n = 0;
      const ids = await readAll(`${base}?limit=3&agent_id=even`, (c) => `${base}?limit=3&agent_id=even&cursor=${c}`, async () => {
        await app.server.store.createRun({ id: `run_new_${n}`, thread_id: `th_new_run_${n++}`, agent_id: 'even', origin: 'api', input: {}, timeout_ms: 1000, owner: null, created_at: new Date().toISOString() }, { id: 'local', admin: true });
      });
      assert.deepEqual(
        ids,
        Array.from({ length: 13 }, (_, i) => `run_${String(24 - 2 * i).padStart(3, '0')}`),
      );
      const window = await call(`${base}?limit=200&created_after=${at(4)}&created_before=${at(8)}`, 'GET');
      assert.deepEqual(
        window.body.items.map((r: any) => r.id),
        ['run_007', 'run_006', 'run_005', 'run_004'],
      );
    });

    it('messages: ascending pages stay whole while the thread grows; descending with before', async () => {
      const base = `${app.url}/v1/threads/th_000/messages`;
      let added = 0;
      const texts: string[] = [];
      let path = `${base}?limit=6`;
      for (;;) {
        const res = await call(path, 'GET');
        texts.push(...res.body.items.map((m: any) => m.content[0].text));
        if (added < 3) await app.server.store.messages.append('th_000', null, [{ role: 'user', content: [{ type: 'text', text: `m${25 + added++}` }] }]);
        if (!res.body.next_cursor) break;
        path = `${base}?limit=6&after=${res.body.next_cursor}`;
      }
      assert.deepEqual(
        texts,
        Array.from({ length: 28 }, (_, i) => `m${i}`),
      );
      const desc = await call(`${base}?limit=5&order=desc`, 'GET');
      const older = await call(`${base}?limit=5&order=desc&before=${desc.body.next_cursor}`, 'GET');
      assert.deepEqual(
        [...desc.body.items, ...older.body.items].map((m: any) => m.position),
        [27, 26, 25, 24, 23, 22, 21, 20, 19, 18],
      );
      assertError(await call(`${base}?after=${desc.body.next_cursor.slice(1)}`, 'GET'), 400, 'bad_request');
    });
  });
}
