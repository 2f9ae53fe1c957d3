import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { startFakeAnthropic, type FakeAnthropic } from './fixtures/fake-anthropic.js';
import { dialects, testDatabase, type Dialect, type TestDatabase } from './helpers/databases.js';
import { postJson, sseFrames, waitFor } from './helpers/http.js';
import { spawnServer, tempDir, type SpawnedServer } from './helpers/server.js';
import { useServer } from './helpers/setup.js';
import { words } from './helpers/text.js';

/**
 * Events are streamed before they are stored, so a kill -9 loses the tail of what clients
 * already saw. The log must still never give one seq to two events, and a client resuming from
 * any id it was sent must get the run's terminal event.
 */

/** PostgreSQL: the killed instance's lease must expire before its runs are recovered. */
const LEASE_MS = 2400;
const TEXT = words(1500);

interface Seen {
  runId: string;
  /** seq → event JSON, as the client saw it before the kill. */
  bySeq: Map<number, string>;
  ids: number[];
}

async function stop(srv: SpawnedServer | undefined): Promise<void> {
  if (srv && srv.proc.exitCode === null && srv.proc.signalCode === null) {
    srv.proc.kill('SIGTERM');
    await srv.exited;
  }
}

/** Every frame of GET /v1/runs/:id/events resumed from `after` (Last-Event-ID). */
async function resume(url: string, runId: string, after: number): Promise<Array<{ seq: number; data: string; json: any }>> {
  const res = await fetch(`${url}/v1/runs/${runId}/events`, { headers: { 'last-event-id': String(after) }, signal: AbortSignal.timeout(15_000) });
  assert.equal(res.status, 200);
  const out: Array<{ seq: number; data: string; json: any }> = [];
  for await (const f of sseFrames(res.body!)) if (f.id !== undefined) out.push({ seq: Number(f.id), data: f.data, json: f.json });
  return out;
}

/** The resume ids to try: all of them for short streams, else the start, a spread, and the tail (likely unstored). */
function sample(ids: number[]): number[] {
  if (ids.length <= 60) return [0, ...ids];
  const spread = Array.from({ length: 15 }, (_, i) => ids[Math.floor((i * ids.length) / 15)]);
  return [...new Set([0, ...spread, ...ids.slice(-25)])].sort((a, b) => a - b);
}

for (const dialect of dialects()) {
  describe(`kill -9 mid-answer, then restart [${dialect}]`, () => {
    let fake: FakeAnthropic;
    let tmp: ReturnType<typeof tempDir>;
    let db: TestDatabase;
    let srv: SpawnedServer | undefined;
    const spawned: SpawnedServer[] = [];
    const start = async () => {
      srv = await spawnServer({ dir: tmp.dir, modelUrl: fake.url, dbUrl: db.url, env });
      spawned.push(srv);
      return srv;
    };
    const env = { AGENTSDK_LEASE_MS: String(LEASE_MS), AGENTSDK_SHUTDOWN_GRACE_MS: '0' };

    before(async () => {
      fake = await startFakeAnthropic();
    });
    beforeEach(async () => {
      fake.reset();
      tmp = tempDir();
      db = await testDatabase(dialect as Dialect, tmp.dir);
    });
    // Also after a failed test: no server outlives its test.
    afterEach(async () => {
      for (const s of spawned.splice(0)) await stop(s);
      await db.drop();
      tmp.cleanup();
    });
    after(async () => {
      await fake.close();
    });

    /**
     * Streams a long answer over `route`, follows it canonically (GET events from 0) on the same
     * server, and kills the server once `killAfter` text deltas arrived.
     */
    async function streamAndKill(route: '/v1/runs' | '/v1/run/stream', threadId: string, killAfter: number): Promise<Seen> {
      fake.enqueue({ content: [{ type: 'text', text: TEXT }], chunkDelayMs: 1 });
      srv = await start();
      const body = route === '/v1/runs' ? { prompt: 'long', thread_id: threadId } : { prompt: 'long', session_id: threadId };
      const res = await fetch(`${srv.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(res.status, 200);
      const seen: Seen = { runId: '', bySeq: new Map(), ids: [] };
      const follower: Array<{ seq: number; data: string }> = [];
      let deltas = 0;
      let following: Promise<void> | undefined;
      try {
        for await (const f of sseFrames(res.body!)) {
          if (f.id === undefined) continue;
          seen.ids.push(Number(f.id));
          if (!seen.runId) {
            seen.runId = f.json.run_id;
            const url = srv.url;
            // A second client on the canonical route, for the seq → event map (the lean stream maps events).
            following = (async () => {
              const r = await fetch(`${url}/v1/runs/${seen.runId}/events?after=0`);
              for await (const g of sseFrames(r.body!)) if (g.id !== undefined) follower.push({ seq: Number(g.id), data: g.data });
            })().catch(() => {});
          }
          if (route === '/v1/runs') seen.bySeq.set(Number(f.id), f.data);
          if ((f.json?.type === 'text.delta' || f.json?.type === 'text') && ++deltas === killAfter) {
            srv.proc.kill('SIGKILL');
            break;
          }
        }
      } catch {
        /* the connection died with the server */
      }
      if (srv.proc.signalCode === null) srv.proc.kill('SIGKILL');
      await srv.exited;
      await following;
      for (const e of follower) {
        const mine = seen.bySeq.get(e.seq);
        if (mine !== undefined) assert.deepEqual(JSON.parse(e.data), JSON.parse(mine), `seq ${e.seq}: the two clients saw different events`);
        seen.bySeq.set(e.seq, e.data);
      }
      assert.ok(seen.runId && deltas >= killAfter, `the stream reached ${killAfter} deltas before the kill (${deltas})`);
      return seen;
    }

    async function checkResumes(url: string, seen: Seen): Promise<void> {
      const maxSeen = Math.max(...seen.ids, ...seen.bySeq.keys());
      let terminalSeq: number | undefined;
      for (const id of sample(seen.ids)) {
        const frames = await resume(url, seen.runId, id);
        assert.ok(frames.length > 0, `resuming after ${id}: no events`);
        const last = frames.at(-1)!.json;
        assert.deepEqual([last.type, last.status, last.code], ['run.error', 'interrupted', 'interrupted'], `resuming after ${id}: ends with ${frames.at(-1)!.data}`);
        let prev = id;
        for (const f of frames) {
          assert.ok(f.seq > prev, `resuming after ${id}: seq ${f.seq} after ${prev}`);
          prev = f.seq;
          const before = seen.bySeq.get(f.seq);
          // Parsed: PostgreSQL's jsonb does not keep key order.
          if (before !== undefined) assert.deepEqual(f.json, JSON.parse(before), `seq ${f.seq} names a different event after the restart`);
        }
        terminalSeq ??= frames.at(-1)!.seq;
        assert.equal(frames.at(-1)!.seq, terminalSeq, 'one terminal event');
      }
      assert.ok(terminalSeq! > maxSeen, `the interrupted event (${terminalSeq}) comes after every seq the client saw (${maxSeen})`);
    }

    const points: Array<{ route: '/v1/runs' | '/v1/run/stream'; killAfter: number }> = [
      { route: '/v1/runs', killAfter: 1 },
      { route: '/v1/runs', killAfter: 40 },
      { route: '/v1/run/stream', killAfter: 300 },
      // Past the first reserved block (1000 seqs): the reservation moved on while streaming.
      { route: '/v1/runs', killAfter: 1100 },
    ];
    for (const { route, killAfter } of points) {
      it(`${route}, killed after ${killAfter} deltas: every resume id gets the interrupted end, no seq reused`, async () => {
        const thread = `crash-${killAfter}`;
        const seen = await streamAndKill(route, thread, killAfter);
        srv = await start();
        // PostgreSQL: resumes sent before the dead lease expires follow the log until recovery closes it.
        await checkResumes(srv.url, seen);
        // The AI SDK resume route: the run has ended, so there is nothing to resume.
        const ai = await fetch(`${srv.url}/v1/ai-sdk/agents/assistant/chats/${thread}/stream`);
        assert.equal(ai.status, 204);
        // The thread goes on.
        fake.enqueue({ content: [{ type: 'text', text: 'after the crash' }] });
        const next = await postJson(`${srv.url}/v1/run`, { prompt: 'again', session_id: thread });
        assert.equal(next.status, 200, JSON.stringify(next.body));
        assert.equal(next.body.output, 'after the crash');
      });
    }

    if (dialect === 'postgres') {
      it('the AI SDK resume route, opened while the dead instance still holds the run, ends with the error and [DONE]', async () => {
        const thread = 'crash-ai-sdk';
        const seen = await streamAndKill('/v1/runs', thread, 60);
        srv = await start();
        const res = await fetch(`${srv.url}/v1/ai-sdk/agents/assistant/chats/${thread}/stream`, { signal: AbortSignal.timeout(20_000) });
        // Recovery may already have run (the lease is short): then there is nothing to resume.
        if (res.status !== 204) {
          assert.equal(res.status, 200);
          const chunks: Array<{ data: string; json: any }> = [];
          for await (const f of sseFrames(res.body!)) if (f.data) chunks.push({ data: f.data, json: f.json });
          assert.equal(chunks.at(-1)!.data, '[DONE]');
          assert.equal(chunks.at(-2)!.json.type, 'error');
          assert.match(chunks.at(-2)!.json.errorText, /stopped before it finished/);
        } else {
          console.log('# the run was recovered before the AI SDK resume connected');
        }
        await checkResumes(srv.url, seen);
      });

      it('an instance stalled past its lease: its run ends on the event the other instance stored, after the reserved seqs', async () => {
        fake.enqueue({ content: [{ type: 'text', text: TEXT }], chunkDelayMs: 2 });
        const a = await start();
        const b = await start();
        const res = await fetch(`${a.url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'long', thread_id: 'crash-stall' }) });
        const frames: Array<{ seq: number; json: any }> = [];
        let stopped = false;
        let runId = '';
        for await (const f of sseFrames(res.body!)) {
          if (f.id === undefined) continue;
          frames.push({ seq: Number(f.id), json: f.json });
          runId ||= f.json.run_id;
          if (!stopped && frames.length === 50) {
            stopped = true;
            a.proc.kill('SIGSTOP');
            const status = async () => (await fetch(`${b.url}/v1/runs/${runId}`).then((r) => r.json())).status;
            await waitFor(async () => (await status()) === 'interrupted', 15_000, 'B to take the run over');
            a.proc.kill('SIGCONT');
          }
        }
        const last = frames.at(-1)!;
        assert.deepEqual([last.json.type, last.json.status], ['run.error', 'interrupted']);
        const log = await resume(b.url, runId, 0);
        assert.equal(log.filter((e) => e.json.type === 'run.error').length, 1, 'one terminal event in the log');
        assert.equal(log.at(-1)!.seq, last.seq, 'A ended its stream on the stored terminal event');
        assert.ok(last.seq > frames.at(-2)!.seq);
        const stored = new Map(log.map((e) => [e.seq, e.json]));
        for (const f of frames) if (stored.has(f.seq)) assert.deepEqual(stored.get(f.seq), f.json, `seq ${f.seq}`);
      });
    }
  });
}

for (const dialect of dialects()) {
  describe(`a dropped model stream [${dialect}]`, () => {
    const app = useServer({ dialect });

    it('stores the text the client saw as the assistant turn; the next run on the thread sends it to the model', async () => {
      const thread = `dropped-${dialect}`;
      // message_start, block start, ping, then 10 words: dropped mid-answer.
      app.fake.enqueue({ content: [{ type: 'text', text: words(30) }], dropAfterEvents: 13, chunkDelayMs: 2 });
      const res = await fetch(`${app.url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'first', thread_id: thread }) });
      let streamed = '';
      let last: any;
      for await (const f of sseFrames(res.body!)) {
        if (f.json?.type === 'text.delta') streamed += f.json.delta;
        last = f.json;
      }
      assert.deepEqual([last.type, last.status, last.code], ['run.error', 'failed', 'upstream_error']);
      assert.equal(streamed, `${words(10)} `);
      // The stream ends once the run's end is stored.
      const stored = await app.server.store.messages.list(thread);
      assert.deepEqual(stored.map((m) => m.role), ['user', 'assistant']);
      assert.deepEqual(stored[1].content, [{ type: 'text', text: streamed }]);

      app.fake.enqueue({ content: [{ type: 'text', text: 'second answer' }] });
      const next = await postJson(`${app.url}/v1/run`, { prompt: 'go on', session_id: thread });
      assert.equal(next.status, 200, JSON.stringify(next.body));
      assert.equal(next.body.output, 'second answer');
      const sent = app.fake.requests.at(-1)!.body.messages;
      assert.deepEqual(sent.map((m: any) => m.role), ['user', 'assistant', 'user']);
      assert.deepEqual(sent[1].content, [{ type: 'text', text: streamed }]);
    });

    it('a tool call cut off mid-input is not stored (its text before it is)', async () => {
      const thread = `dropped-tool-${dialect}`;
      // Text block (start, ping, 3 words, stop), then the tool_use block's start and one input piece.
      app.fake.enqueue({ content: [{ type: 'text', text: words(3) }, { type: 'tool_use', name: 'get_time', input: { zone: 'UTC', detail: 'a long enough input' } }], dropAfterEvents: 9 });
      const res = await postJson(`${app.url}/v1/run`, { prompt: 'tool', session_id: thread });
      assert.equal(res.body.code, 'upstream_error');
      const stored = await app.server.store.messages.list(thread);
      assert.deepEqual(stored.map((m) => m.role), ['user', 'assistant']);
      assert.deepEqual(stored[1].content, [{ type: 'text', text: words(3) }]);
      app.fake.enqueue({ content: [{ type: 'text', text: 'fine' }] });
      const next = await postJson(`${app.url}/v1/run`, { prompt: 'again', session_id: thread });
      assert.equal(next.status, 200, JSON.stringify(next.body));
      assert.ok(!JSON.stringify(app.fake.requests.at(-1)!.body.messages).includes('tool_use'));
    });
  });
}
