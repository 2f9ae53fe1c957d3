import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { openDb } from '../src/db/dialect.js';
import { Store } from '../src/store/store.js';
import { startFakeAnthropic, type FakeAnthropic } from './fixtures/fake-anthropic.js';
import { postJson, sseFrames, waitFor } from './helpers/http.js';
import { spawnServer, tempDir } from './helpers/server.js';
import { useServer } from './helpers/setup.js';
import { words } from './helpers/text.js';

describe('client disconnect', () => {
  const app = useServer();

  it('a client that leaves mid-stream does not stop its run: it completes and is stored', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: words(40) }], chunkDelayMs: 10 });
    const ac = new AbortController();
    const res = await fetch(`${app.url}/v1/run/stream`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'long', session_id: 'leaver' }), signal: ac.signal });
    let runId = '';
    let deltas = 0;
    try {
      for await (const f of sseFrames(res.body!)) {
        if (f.json?.type === 'run.started') runId = f.json.run_id;
        if (f.json?.type === 'text.delta' && ++deltas === 5) ac.abort();
      }
    } catch (err) {
      assert.equal((err as Error).name, 'AbortError');
    }
    assert.ok(runId);
    const run = await waitFor(async () => {
      const r = await app.server.store.runs.get(runId);
      return r?.status === 'completed' && r;
    });
    assert.equal(run.output, words(40));
    const msgs = await app.server.store.messages.list('leaver');
    assert.equal((msgs[1].content[0] as { text: string }).text, words(40));
    const events = await app.server.store.eventLog.list(runId);
    assert.equal(events.filter((e) => e.event.type === 'text.delta').length, 40);
    assert.equal(events.at(-1)!.event.type, 'run.finished');
  });
});

describe('process lifecycle (spawned server)', () => {
  let fake: FakeAnthropic;
  let tmp: ReturnType<typeof tempDir>;
  before(async () => {
    fake = await startFakeAnthropic();
  });
  beforeEach(() => {
    fake.reset();
    tmp = tempDir();
  });
  after(async () => {
    await fake.close();
  });

  const readRuns = async (dir: string) => {
    const store = await Store.open(await openDb(`sqlite:${dir}/db.sqlite`));
    try {
      const runs = await store.db.kysely.selectFrom('runs').selectAll().orderBy('created_at').execute();
      const records = runs.map((r) => store.runs.toRecord(r));
      const messages = await store.db.kysely.selectFrom('messages').selectAll().orderBy('position').execute();
      return { runs: records, messages };
    } finally {
      await store.close();
    }
  };

  it('SIGTERM: refuses new runs, lets active runs finish within the grace period, exits 0', async () => {
    const srv = await spawnServer({ dir: tmp.dir, modelUrl: fake.url, env: { AGENTSDK_SHUTDOWN_GRACE_MS: '5000' } });
    fake.enqueue({ content: [{ type: 'text', text: 'finished in time' }], delayMs: 800 });
    const running = postJson(`${srv.url}/v1/run`, { prompt: 'slow', session_id: 'drain' });
    await waitFor(() => fake.inflight() === 1);
    srv.proc.kill('SIGTERM');
    const done = await running;
    assert.equal(done.status, 200);
    assert.equal(done.body.output, 'finished in time');
    const { code } = await srv.exited;
    assert.equal(code, 0);
    const { runs } = await readRuns(tmp.dir);
    assert.equal(runs[0].status, 'completed');
    tmp.cleanup();
  });

  it('SIGTERM: a run that outlives the grace period is interrupted, its stream ends with run.error', async () => {
    const srv = await spawnServer({ dir: tmp.dir, modelUrl: fake.url, env: { AGENTSDK_SHUTDOWN_GRACE_MS: '300' } });
    fake.enqueue({ hang: true });
    const res = await fetch(`${srv.url}/v1/run/stream`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'forever' }) });
    const frames: any[] = [];
    const reading = (async () => {
      for await (const f of sseFrames(res.body!)) frames.push(f.json);
    })();
    await waitFor(() => fake.inflight() === 1);
    srv.proc.kill('SIGTERM');
    await reading;
    assert.deepEqual([frames.at(-1).type, frames.at(-1).status, frames.at(-1).code], ['run.error', 'interrupted', 'interrupted']);
    assert.equal((await srv.exited).code, 0);
    const { runs } = await readRuns(tmp.dir);
    assert.equal(runs[0].status, 'interrupted');
    tmp.cleanup();
  });

  it('kill -9 mid-run, then restart: the run is marked interrupted and stored messages are intact', async () => {
    let srv = await spawnServer({ dir: tmp.dir, modelUrl: fake.url });
    fake.enqueue({ content: [{ type: 'text', text: 'first answer' }] });
    assert.equal((await postJson(`${srv.url}/v1/run`, { prompt: 'first', session_id: 'crash' })).status, 200);
    fake.enqueue({ hang: true });
    const doomed = postJson(`${srv.url}/v1/run`, { prompt: 'second', session_id: 'crash' }).catch((e) => e);
    await waitFor(() => fake.inflight() === 1);
    srv.proc.kill('SIGKILL');
    await srv.exited;
    await doomed;

    srv = await spawnServer({ dir: tmp.dir, modelUrl: fake.url });
    const { runs, messages } = await readRuns(tmp.dir);
    assert.deepEqual(runs.map((r) => r.status), ['completed', 'interrupted']);
    assert.deepEqual(messages.map((m) => JSON.parse(m.content as string)[0].text), ['first', 'first answer', 'second']);
    // The thread goes on after the crash, with its history.
    fake.enqueue({ content: [{ type: 'text', text: 'third answer' }] });
    const third = await postJson(`${srv.url}/v1/run`, { prompt: 'third', session_id: 'crash' });
    assert.equal(third.status, 200);
    // The unanswered prompt and the new one reach the model as one user turn.
    assert.deepEqual(fake.requests.at(-1)!.body.messages.map((m: any) => m.content.map((b: any) => b.text)), [['first'], ['first answer'], ['second', 'third']]);
    srv.proc.kill('SIGTERM');
    await srv.exited;
    tmp.cleanup();
  });

  it('refuses to start with a clear message for each bad setting', async () => {
    await assert.rejects(
      spawnServer({ dir: tmp.dir, env: { AGENTSDK_HTTP_ADDR: 'nonsense', AGENTSDK_SHUTDOWN_GRACE_MS: 'soon', ANTHROPIC_BASE_URL: 'ftp://x' } }),
      (err: Error) => /AGENTSDK_HTTP_ADDR "nonsense"/.test(err.message) && /AGENTSDK_SHUTDOWN_GRACE_MS "soon"/.test(err.message) && /ANTHROPIC_BASE_URL/.test(err.message),
    );
    tmp.cleanup();
  });
});
