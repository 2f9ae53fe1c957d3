import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import pg from 'pg';
import { TaskState } from '@a2a-js/sdk';
import { ClientFactory } from '@a2a-js/sdk/client';
import { startFakeAnthropic, type FakeAnthropic } from './fixtures/fake-anthropic.js';
import { testDatabase, type TestDatabase } from './helpers/databases.js';
import { artifactText, collect } from './helpers/a2a.js';
import { postJson, sleep, sseFrames, waitFor } from './helpers/http.js';
import { spawnServer, tempDir, type SpawnedServer } from './helpers/server.js';
import { words } from './helpers/text.js';

/**
 * Two server processes on one PostgreSQL schema behind one fake model: per-thread FIFO across
 * instances, following a run from the other instance, cancel through the other instance, and
 * lease expiry after kill -9. Needs TEST_DATABASE_URL.
 */
const PG_URL = process.env.TEST_DATABASE_URL;
if (!PG_URL) console.log('# multi-instance tests skipped: TEST_DATABASE_URL is not set (two servers need one PostgreSQL database)');

const LEASE_MS = 1500;
const lastUserText = (body: any): string => {
  const content = body.messages.at(-1).content;
  return typeof content === 'string' ? content : content.at(-1).text;
};

interface Frame {
  seq: number;
  json: any;
  at: number;
}

/** Every `id:`-numbered frame of a run stream, with the time it arrived. */
async function readRunStream(res: Response): Promise<Frame[]> {
  const frames: Frame[] = [];
  for await (const f of sseFrames(res.body!)) if (f.id !== undefined) frames.push({ seq: Number(f.id), json: f.json, at: Date.now() });
  return frames;
}

describe('several instances on one PostgreSQL database', { skip: !PG_URL && 'TEST_DATABASE_URL is not set' }, () => {
  let fake: FakeAnthropic;
  let tmp: ReturnType<typeof tempDir>;
  let db: TestDatabase;
  let sql: pg.Client;
  let a: SpawnedServer;
  let b: SpawnedServer;

  const runsOf = async (threadId: string) =>
    (await sql.query('select id, status, owner from runs where thread_id = $1 order by arrival', [threadId])).rows as Array<{ id: string; status: string; owner: string }>;
  const statusOf = async (runId: string) => (await sql.query('select status from runs where id = $1', [runId])).rows[0]?.status as string | undefined;

  before(async () => {
    fake = await startFakeAnthropic();
    tmp = tempDir();
    db = await testDatabase('postgres', tmp.dir);
    const env = { AGENTSDK_LEASE_MS: String(LEASE_MS), AGENTSDK_SHUTDOWN_GRACE_MS: '0' };
    // One after the other: the first one migrates the schema.
    a = await spawnServer({ dir: tmp.dir, modelUrl: fake.url, dbUrl: db.url, env });
    b = await spawnServer({ dir: tmp.dir, modelUrl: fake.url, dbUrl: db.url, env });
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
  });
  after(async () => {
    for (const s of [a, b]) {
      if (s && s.proc.exitCode === null && s.proc.signalCode === null) {
        s.proc.kill('SIGTERM');
        await s.exited;
      }
    }
    await sql?.end();
    await fake?.close();
    await db?.drop();
    tmp?.cleanup();
  });
  beforeEach(() => fake.reset());

  it('same-thread runs sent alternately to A and B run one at a time, in arrival order, each seeing the previous answer', async () => {
    const delayMs = 150;
    const spans: Array<{ prompt: string; start: number; end: number; messages: any[] }> = [];
    let inflight = 0;
    let maxInflight = 0;
    fake.setHandler(async (body) => {
      const prompt = lastUserText(body);
      spans.push({ prompt, start: Date.now(), end: Date.now() + delayMs, messages: body.messages });
      maxInflight = Math.max(maxInflight, ++inflight);
      await sleep(delayMs);
      inflight--;
      return { content: [{ type: 'text', text: `answer to ${prompt}` }] };
    });
    const n = 8;
    const pending: Array<Promise<{ status: number; body: any }>> = [];
    for (let i = 0; i < n; i++) {
      pending.push(postJson(`${(i % 2 ? b : a).url}/v1/run`, { prompt: `p${i}`, session_id: 'mi-fifo' }));
      // Arrival order is the order the runs are stored: send the next once this one is.
      await waitFor(async () => (await runsOf('mi-fifo')).length === i + 1, 5000, `request ${i} to arrive`);
    }
    const results = await Promise.all(pending);
    assert.deepEqual(results.map((r) => r.status), Array(n).fill(200));
    assert.deepEqual(results.map((r) => r.body.output), results.map((_, i) => `answer to p${i}`));
    assert.equal(maxInflight, 1, 'never two model calls at once on the thread');
    assert.deepEqual(spans.map((s) => s.prompt), spans.map((_, i) => `p${i}`));
    for (let i = 1; i < n; i++) {
      assert.ok(spans[i].start >= spans[i - 1].end, `p${i} reached the model before p${i - 1} was answered`);
      // The history sent with each request holds every earlier question and answer.
      const texts = spans[i].messages.flatMap((m: any) => (typeof m.content === 'string' ? [m.content] : m.content.map((c: any) => c.text)));
      assert.deepEqual(texts, [...Array.from({ length: i }, (_, j) => [`p${j}`, `answer to p${j}`]).flat(), `p${i}`]);
    }
    const runs = await runsOf('mi-fifo');
    assert.deepEqual(new Set(runs.map((r) => r.status)), new Set(['completed']));
    assert.equal(new Set(runs.map((r) => r.owner)).size, 2, 'both instances executed runs');
  });

  it('a start on a free thread is stored running, with its thread and turn, in one commit; on a busy thread it is stored queued', async (t) => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // A failed assertion must not leave the first run holding the thread for the tests after it.
    t.after(() => release());
    fake.setHandler(async (body) => {
      if (lastUserText(body) === 'first') await gate;
      return { content: [{ type: 'text', text: `answer to ${lastUserText(body)}` }] };
    });
    const first = await postJson(`${a.url}/v1/run`, { prompt: 'first', session_id: 'mi-one-commit', background: true });
    assert.equal(first.status, 202);
    assert.match(first.body.id, /^run_/);
    assert.equal(first.body.status, 'running', 'stored running at once: the thread was free');
    // Rows written by one transaction carry its id as xmin.
    const xmin = async (q: string, id: string) => (await sql.query(`select xmin::text as x from ${q}`, [id])).rows.map((r) => r.x as string);
    const [runX] = await xmin('runs where id = $1', first.body.id);
    const [threadX] = await xmin('threads where id = $1', 'mi-one-commit');
    const turnX = await xmin("messages where run_id = $1 and role = 'user'", first.body.id);
    assert.deepEqual([threadX, ...turnX], [runX, runX], 'thread, run and first turn in the same commit');

    // The thread is busy (on A): a start on B is stored queued, and runs once the first has ended.
    const second = await postJson(`${b.url}/v1/run`, { prompt: 'second', session_id: 'mi-one-commit', background: true });
    assert.equal(second.status, 202);
    assert.equal(second.body.status, 'queued');
    assert.equal((await xmin("messages where run_id = $1 and role = 'user'", second.body.id)).length, 0, 'its turn waits for the thread');
    release();
    await waitFor(async () => (await statusOf(second.body.id)) === 'completed', 10_000, 'the queued run to complete');
    assert.equal(await statusOf(first.body.id), 'completed');
    const texts = (await sql.query('select role, content from messages where thread_id = $1 order by position', ['mi-one-commit'])).rows.map((r) => r.content[0].text);
    assert.deepEqual(texts, ['first', 'answer to first', 'second', 'answer to second']);
  });

  it('20 simultaneous same-thread requests to A and B: never two at once, in the order the runs were stored', async () => {
    const order: string[] = [];
    let inflight = 0;
    let maxInflight = 0;
    fake.setHandler(async (body) => {
      const prompt = lastUserText(body);
      order.push(prompt);
      maxInflight = Math.max(maxInflight, ++inflight);
      await sleep(30);
      inflight--;
      return { content: [{ type: 'text', text: `answer to ${prompt}` }] };
    });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => postJson(`${(i % 2 ? b : a).url}/v1/run`, { prompt: `s${i}`, session_id: 'mi-burst' })));
    assert.deepEqual(results.map((r) => r.status), Array(20).fill(200));
    assert.equal(maxInflight, 1, 'never two model calls at once on the thread');
    const runs = (await sql.query('select input from runs where thread_id = $1 order by arrival', ['mi-burst'])).rows;
    assert.deepEqual(order, runs.map((r) => r.input.messages[0].content[0].text));
  });

  it('a run streaming on A is followed live from B (Last-Event-ID and the AI SDK resume route): every event once, in order', async () => {
    const text = words(60);
    fake.setHandler(() => ({ content: [{ type: 'text', text }], chunkDelayMs: 15 }));
    const started = await fetch(`${a.url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'stream me', thread_id: 'mi-follow' }) });
    assert.equal(started.status, 200);
    const onA: Frame[] = [];
    const readingA = (async () => {
      for await (const f of sseFrames(started.body!)) if (f.id !== undefined) onA.push({ seq: Number(f.id), json: f.json, at: Date.now() });
    })();
    await waitFor(() => onA.some((f) => f.json.type === 'text.delta') && onA.length >= 6, 5000, 'the run to stream on A');
    const runId = onA[0].json.run_id as string;
    // A has sent at least what is stored; anything well past this is written after B connected.
    const seqAtConnect = onA.at(-1)!.seq;

    const [fromB, fromStart, aiSdk] = await Promise.all([
      fetch(`${b.url}/v1/runs/${runId}/events`, { headers: { 'last-event-id': '3' } }).then(readRunStream),
      fetch(`${b.url}/v1/runs/${runId}/events?after=0`).then(readRunStream),
      (async () => {
        const res = await fetch(`${b.url}/v1/ai-sdk/agents/assistant/chats/mi-follow/stream`);
        assert.equal(res.status, 200);
        const chunks: Array<{ data: string; json: any; at: number }> = [];
        for await (const f of sseFrames(res.body!)) if (f.data) chunks.push({ data: f.data, json: f.json, at: Date.now() });
        return chunks;
      })(),
    ]);
    await readingA;

    const last = onA.at(-1)!;
    assert.equal(last.json.type, 'run.finished');
    assert.deepEqual(onA.map((f) => f.seq), onA.map((_, i) => i + 1));
    // Exactly the run's events after 3, in order, once each; and all of them from 0.
    assert.deepEqual(fromB.map((f) => [f.seq, f.json]), onA.slice(3).map((f) => [f.seq, f.json]));
    assert.deepEqual(fromStart.map((f) => [f.seq, f.json]), onA.map((f) => [f.seq, f.json]));
    // Live, not after the fact: events written after B connected reached B while the run still streamed.
    const laterOnB = fromB.find((f) => f.seq >= seqAtConnect + 10)!;
    assert.ok(last.seq > seqAtConnect + 20, 'the run was still streaming when B connected');
    assert.ok(laterOnB.at < last.at - 100, `B got event ${laterOnB.seq} only ${last.at - laterOnB.at} ms before the run ended`);
    // The AI SDK stream replays the whole message, then ends with finish and [DONE].
    assert.equal(aiSdk.at(-1)!.data, '[DONE]');
    assert.equal(aiSdk[0].json.type, 'start');
    assert.ok(aiSdk.some((c) => c.json?.type === 'finish'));
    assert.equal(aiSdk.filter((c) => c.json?.type === 'text-delta').map((c) => c.json.delta).join(''), text);
    assert.equal(await statusOf(runId), 'completed');
  });

  it('cancel sent to B stops a queued and a running run of A; A\'s stream ends; 409 once nothing is active', async () => {
    fake.setHandler(() => ({ hang: true }));
    const started = await fetch(`${a.url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'hang', thread_id: 'mi-cancel' }) });
    const readingA = readRunStream(started);
    await waitFor(() => fake.inflight() === 1, 5000, 'the model call');
    const queued = postJson(`${a.url}/v1/run`, { prompt: 'behind it', session_id: 'mi-cancel' });
    const [running, waiting] = await waitFor(async () => {
      const runs = await runsOf('mi-cancel');
      return runs.length === 2 && runs;
    });
    assert.deepEqual([running.status, waiting.status], ['running', 'queued']);

    const c1 = await postJson(`${b.url}/v1/runs/${waiting.id}/cancel`, {});
    assert.equal(c1.status, 202);
    assert.deepEqual(c1.body, { run_id: waiting.id, status: 'cancelling' });
    assert.equal((await queued).status, 409);
    assert.equal(await statusOf(waiting.id), 'cancelled');
    assert.equal(await statusOf(running.id), 'running');
    assert.equal(fake.inflight(), 1);

    const c2 = await postJson(`${b.url}/v1/runs/${running.id}/cancel`, {});
    assert.equal(c2.status, 202);
    const frames = await readingA;
    assert.deepEqual([frames.at(-1)!.json.type, frames.at(-1)!.json.status], ['run.finished', 'cancelled']);
    const got = await postJson(`${b.url}/v1/runs/${running.id}/cancel`, {});
    assert.equal(got.status, 409);
    const record = await fetch(`${b.url}/v1/runs/${running.id}`).then((r) => r.json());
    assert.equal(record.status, 'cancelled');
    await waitFor(() => fake.inflight() === 0, 5000, 'the model call to be aborted');
  });

  it('A2A on B: resubscribe follows a task running on A to its end; cancel on B stops a task running on A', async () => {
    const client = await new ClientFactory().createFromUrl(b.url);
    fake.setHandler(() => ({ content: [{ type: 'text', text: words(40) }], chunkDelayMs: 15 }));
    const started = await fetch(`${a.url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'a2a follow', thread_id: 'mi-a2a' }) });
    const onA = readRunStream(started);
    const [run] = await waitFor(async () => {
      const runs = await runsOf('mi-a2a');
      return runs[0]?.status === 'running' && runs;
    });
    const updates = await collect(client.resubscribeTask({ tenant: '', id: run.id }));
    assert.equal(updates[0].payload?.$case, 'task', 'the task first');
    const last = updates.at(-1)!.payload!;
    assert.equal(last.$case, 'statusUpdate');
    assert.equal((last.value as any).status.state, TaskState.TASK_STATE_COMPLETED);
    await onA;
    const task = await client.getTask({ tenant: '', id: run.id });
    assert.equal(artifactText(task), words(40));

    fake.setHandler(() => ({ hang: true }));
    await fetch(`${a.url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'a2a cancel', thread_id: 'mi-a2a-2' }) }).then((r) => void r.body?.cancel());
    const [hanging] = await waitFor(async () => {
      const runs = await runsOf('mi-a2a-2');
      return runs[0]?.status === 'running' && runs;
    });
    const cancelled = await client.cancelTask({ tenant: '', id: hanging.id, metadata: undefined });
    assert.equal(cancelled.status?.state, TaskState.TASK_STATE_CANCELED);
    assert.equal(await statusOf(hanging.id), 'cancelled');
  });

  it('the LISTEN connections come back after they are cut, and B follows A live again', async () => {
    const { channel } = (await sql.query('select agent_server_channel() as channel')).rows[0];
    const listeners = async () => (await sql.query('select pid from pg_stat_activity where application_name = $1', [`listen:${channel}`])).rows.map((r) => r.pid as number);
    const cut = await listeners();
    assert.equal(cut.length, 2, 'one LISTEN connection per instance');
    await sql.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [`listen:${channel}`]);
    await waitFor(async () => {
      const now = await listeners();
      return now.length === 2 && now.every((pid) => !cut.includes(pid));
    }, 10_000, 'both instances to listen again');

    fake.setHandler(() => ({ content: [{ type: 'text', text: words(50) }], chunkDelayMs: 15 }));
    const started = await fetch(`${a.url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'again', thread_id: 'mi-relisten' }) });
    const onA: Frame[] = [];
    const readingA = (async () => {
      for await (const f of sseFrames(started.body!)) if (f.id !== undefined) onA.push({ seq: Number(f.id), json: f.json, at: Date.now() });
    })();
    await waitFor(() => onA.length >= 6, 5000, 'the run to stream on A');
    const seqAtConnect = onA.at(-1)!.seq;
    const fromB = await fetch(`${b.url}/v1/runs/${onA[0].json.run_id}/events`).then(readRunStream);
    await readingA;
    assert.deepEqual(fromB.map((f) => [f.seq, f.json]), onA.map((f) => [f.seq, f.json]));
    const laterOnB = fromB.find((f) => f.seq >= seqAtConnect + 10)!;
    assert.ok(laterOnB.at < onA.at(-1)!.at - 100, `B got event ${laterOnB.seq} only ${onA.at(-1)!.at - laterOnB.at} ms before the run ended`);
  });

  it('kill -9 of A: once its lease runs out B marks A\'s run interrupted (its followers get run.error); B\'s own run goes on', async () => {
    fake.setHandler((body) => (lastUserText(body) === 'on A' ? { hang: true } : { content: [{ type: 'text', text: 'B done' }], delayMs: 6500 }));
    const onA = await fetch(`${a.url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'on A', thread_id: 'mi-crash-a' }) });
    const readingA = readRunStream(onA).catch(() => []);
    const onB = postJson(`${b.url}/v1/run`, { prompt: 'on B', session_id: 'mi-crash-b' });
    await waitFor(() => fake.inflight() === 2, 5000, 'both model calls');
    const [runA] = await runsOf('mi-crash-a');
    const [runB] = await runsOf('mi-crash-b');
    const following = fetch(`${b.url}/v1/runs/${runA.id}/events`).then(readRunStream);

    // Both instances alive for longer than a lease: neither touches the other's run.
    await sleep(LEASE_MS * 1.3);
    assert.deepEqual([await statusOf(runA.id), await statusOf(runB.id)], ['running', 'running']);

    const killedAt = Date.now();
    a.proc.kill('SIGKILL');
    await a.exited;
    await readingA;
    await waitFor(async () => (await statusOf(runA.id)) === 'interrupted', 10_000, "A's run to be interrupted");
    const after = Date.now() - killedAt;
    // A heartbeat renews the lease every LEASE_MS / 3, so it cannot lapse sooner than 2/3 of it.
    assert.ok(after >= (LEASE_MS * 2) / 3 - 100, `interrupted ${after} ms after the kill: before the lease ran out`);
    assert.equal(await statusOf(runB.id), 'running', "B's own run is untouched");

    const followed = await following;
    assert.deepEqual([followed.at(-1)!.json.type, followed.at(-1)!.json.status, followed.at(-1)!.json.code], ['run.error', 'interrupted', 'interrupted']);
    // What A streamed is numbered 1, 2, …; the recovery event comes after A's reserved range, so it can name no event a client saw.
    assert.deepEqual(followed.slice(0, -1).map((f) => f.seq), followed.slice(0, -1).map((_, i) => i + 1));
    assert.ok(followed.at(-1)!.seq > followed.at(-2)!.seq, 'the interrupted end comes after every streamed seq');
    const record = await fetch(`${b.url}/v1/runs/${runA.id}`).then((r) => r.json());
    assert.deepEqual([record.status, record.error?.code], ['interrupted', 'interrupted']);

    const done = await onB;
    assert.equal(done.status, 200);
    assert.equal(done.body.output, 'B done');
    assert.equal(await statusOf(runB.id), 'completed');
    // The thread of the dead instance takes new runs again (on B).
    fake.setHandler(() => ({ content: [{ type: 'text', text: 'after the crash' }] }));
    const next = await postJson(`${b.url}/v1/run`, { prompt: 'again', session_id: 'mi-crash-a' });
    assert.deepEqual([next.status, next.body.output], [200, 'after the crash']);
  });
});
