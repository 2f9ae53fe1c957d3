// A new thread's first model call goes out while the run's start is committed: what a client and the model see when that commit fails.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { HttpAgent } from '@ag-ui/client';
import { sql } from 'kysely';
import { assertError, call } from './helpers/api.js';
import { dialects, type Dialect } from './helpers/databases.js';
import { postJson, waitFor } from './helpers/http.js';
import { pipelined } from './helpers/raw-http.js';
import { useServer } from './helpers/setup.js';

/** Refuses to store any run whose input carries `marker`; with `once`, only the first such run. */
async function refuseRuns(dialect: Dialect, db: { kysely: any }, marker: string, once = false): Promise<void> {
  if (dialect === 'sqlite') {
    assert.ok(!once, 'SQLite triggers keep no state between statements');
    await sql.raw(`create trigger refuse_runs before insert on runs when new.input like '%${marker}%' begin select raise(abort, 'refused by the test'); end`).execute(db.kysely);
    return;
  }
  await sql.raw('create sequence if not exists refused_once').execute(db.kysely);
  const when = once ? `new.input::text like '%${marker}%' and nextval('refused_once') = 1` : `new.input::text like '%${marker}%'`;
  await sql.raw(`create or replace function refuse_runs() returns trigger language plpgsql as $$ begin if ${when} then raise exception 'refused by the test'; end if; return new; end $$`).execute(db.kysely);
  await sql.raw('drop trigger if exists refuse_runs on runs').execute(db.kysely);
  await sql.raw('create trigger refuse_runs before insert on runs for each row execute function refuse_runs()').execute(db.kysely);
}

async function allowRuns(dialect: Dialect, db: { kysely: any }): Promise<void> {
  await sql.raw(dialect === 'sqlite' ? 'drop trigger if exists refuse_runs' : 'drop trigger if exists refuse_runs on runs').execute(db.kysely);
}

for (const dialect of dialects()) {
  describe(`a new thread's first model call, sent while its start is stored [${dialect}]`, () => {
    const app = useServer({ dialect });
    const db = () => app.server.store.db;
    /** Rows of `table` whose `column` holds `text`. */
    const stored = async (table: string, column: string, text: string) => {
      const cast = dialect === 'sqlite' ? column : `${column}::text`;
      return Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(table)} where ${sql.raw(cast)} like ${`%${text}%`}`.execute(db().kysely)).rows[0].n);
    };
    /**
     * The early call reached the model and the server gave it up: none is open any more. On a
     * thread the client named, only where no other instance can start it too (SQLite); on
     * PostgreSQL that call waits for the commit, and the model is never asked.
     */
    const abandoned = (named = false) => {
      const calls = named && dialect === 'postgres' ? 0 : 1;
      return waitFor(() => app.fake.requests.length === calls && app.fake.inflight() === 0, 5000, 'the early model call to be aborted');
    };

    it('lean: the start cannot be stored: a 500 before any stream, the model call aborted, nothing stored', async () => {
      await refuseRuns(dialect, db(), 'refuse me');
      try {
        app.fake.enqueue({ hang: true });
        const res = await fetch(`${app.url}/v1/run/stream`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'refuse me' }) });
        assert.equal(res.status, 500);
        assert.match(res.headers.get('content-type') ?? '', /application\/json/);
        assert.equal((await res.json()).code, 'internal');
        await abandoned();
        assert.equal(app.fake.requests[0].body.messages.at(-1).content[0].text, 'refuse me', 'the early call carried the prompt');
        assert.equal(await stored('runs', 'input', 'refuse me'), 0, 'no run');
        assert.equal(await stored('messages', 'content', 'refuse me'), 0, 'no turn');
      } finally {
        await allowRuns(dialect, db());
      }
    });

    it('AG-UI (HttpAgent) on a thread it names: the start cannot be stored: refused before any stream, the model call aborted, the thread unknown', async () => {
      await refuseRuns(dialect, db(), 'refuse me too');
      try {
        app.fake.enqueue({ hang: true });
        const threadId = randomUUID();
        const agent = new HttpAgent({ url: `${app.url}/v1/ag-ui/agents/assistant/runs`, threadId });
        agent.addMessage({ id: randomUUID(), role: 'user', content: 'refuse me too' });
        await assert.rejects(agent.runAgent({ runId: randomUUID() }), /HTTP 500/);
        await abandoned(true);
        assertError(await call(`${app.url}/v1/threads/${threadId}`, 'GET'), 404, 'not_found');
        assert.equal(await stored('messages', 'content', 'refuse me too'), 0, 'no turn');
      } finally {
        await allowRuns(dialect, db());
      }
    });

    it('the same thread named again once the refusal is gone: its history is the new turn alone, and the run completes', async () => {
      const threadId = randomUUID();
      await refuseRuns(dialect, db(), 'first try');
      // The refused start's call (where there is one) is left unanswered; the next one is answered.
      app.fake.setHandler((body) => (JSON.stringify(body.messages).includes('first try') ? { hang: true } : { content: [{ type: 'text', text: 'stored this time' }] }));
      try {
        const refused = await postJson(`${app.url}/v1/run`, { prompt: 'first try', session_id: threadId });
        assert.equal(refused.status, 500);
        await abandoned(true);
      } finally {
        await allowRuns(dialect, db());
      }
      const res = await postJson(`${app.url}/v1/run`, { prompt: 'second try', session_id: threadId });
      assert.equal(res.status, 200);
      assert.equal(res.body.output, 'stored this time');
      const texts = app.fake.requests.at(-1)!.body.messages.map((m: any) => m.content[0].text);
      assert.deepEqual(texts, ['second try'], 'nothing of the refused start reached the thread');
      const messages = await call(`${app.url}/v1/threads/${threadId}/messages`, 'GET');
      assert.deepEqual(messages.body.items.map((m: any) => m.content[0].text), ['second try', 'stored this time']);
    });

    it('two starts pipelined onto one new thread: the first request owns it and runs, the second (reject) is refused, the model asked once', async () => {
      const threadId = randomUUID();
      // Long enough that the first run is still running when the second is checked.
      app.fake.setHandler(() => ({ content: [{ type: 'text', text: 'first answer' }], delayMs: 200 }));
      const body = (v: unknown) => JSON.stringify(v);
      const [first, second] = await pipelined(app.url, [
        { method: 'POST', path: '/v1/run', body: body({ prompt: 'first', session_id: threadId }) },
        { method: 'POST', path: '/v1/run', body: body({ prompt: 'second', session_id: threadId, multitask_strategy: 'reject' }) },
      ]);
      assert.equal(first.status, 200, first.text);
      assert.equal(first.json.output, 'first answer');
      assert.equal(second.status, 409, second.text);
      assert.equal(second.json.code, 'thread_busy');
      assert.equal(app.fake.requests.length, 1, 'no model call for the refused start');
      const messages = await call(`${app.url}/v1/threads/${threadId}/messages`, 'GET');
      assert.deepEqual(messages.body.items.map((m: any) => m.content[0].text), ['first', 'first answer']);
    });

    if (dialect === 'postgres') {
      it('the batch fails once: the checked start stores the run, one model call answers and the early one is aborted', async () => {
        await refuseRuns(dialect, db(), 'refused once', true);
        try {
          app.fake.setHandler((_body, index) => (index === 0 ? { hang: true } : { content: [{ type: 'text', text: 'answered' }] }));
          const res = await postJson(`${app.url}/v1/run`, { prompt: 'refused once' });
          assert.equal(res.status, 200);
          assert.equal(res.body.output, 'answered');
          await waitFor(() => app.fake.requests.length === 2 && app.fake.inflight() === 0, 5000, 'the early call to be aborted');
          const messages = await call(`${app.url}/v1/threads/${res.body.session_id}/messages`, 'GET');
          assert.deepEqual(messages.body.items.map((m: any) => m.content[0].text), ['refused once', 'answered']);
        } finally {
          await allowRuns(dialect, db());
        }
      });
    }
  });
}
