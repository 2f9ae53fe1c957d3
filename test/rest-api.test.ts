import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { assertError, call, openSse } from './helpers/api.js';
import { postJson, waitFor } from './helpers/http.js';
import { dialects } from './helpers/databases.js';
import { useServer } from './helpers/setup.js';
import { words } from './helpers/text.js';

for (const dialect of dialects()) describe(`REST: threads, runs, agents and the run streams [${dialect}]`, () => {
  const app = useServer({ dialect, env: { AGENTSDK_SSE_PING_MS: '50' } });
  let url: string;

  before(() => {
    url = app.url;
  });

  /** The run id of the thread's only active run, once it is stored. */
  const activeRun = (threadId: string) =>
    waitFor(async () => (await call(`${url}/v1/runs?thread_id=${threadId}&status=running`, 'GET')).body.items[0]?.id as string | undefined, 10_000, 'a running run');

  it('reads threads, summaries, messages; patches metadata', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: 'First answer.' }] }, { content: [{ type: 'text', text: 'Second answer.' }] });
    await postJson(`${url}/v1/run`, { prompt: 'one', session_id: 'rest-1' });
    const second = await postJson(`${url}/v1/run`, { prompt: 'two', session_id: 'rest-1' });

    const thread = await call(`${url}/v1/threads/rest-1`, 'GET');
    assert.equal(thread.status, 200);
    assert.deepEqual(Object.keys(thread.body).sort(), ['agent_id', 'created_at', 'id', 'metadata', 'owner', 'state', 'title', 'updated_at', 'usage']);

    const all = await call(`${url}/v1/threads/rest-1/messages`, 'GET');
    assert.deepEqual(
      all.body.items.map((m: any) => [m.position, m.role]),
      [
        [0, 'user'],
        [1, 'assistant'],
        [2, 'user'],
        [3, 'assistant'],
      ],
    );
    const newest = await call(`${url}/v1/threads/rest-1/messages?order=desc&limit=1`, 'GET');
    assert.equal(newest.body.items[0].content[0].text, 'Second answer.');
    const older = await call(`${url}/v1/threads/rest-1/messages?order=desc&limit=2&before=${newest.body.next_cursor}`, 'GET');
    assert.deepEqual(
      older.body.items.map((m: any) => m.position),
      [2, 1],
    );
    const ofRun = await call(`${url}/v1/threads/rest-1/messages?run_id=${second.body.run_id}`, 'GET');
    assert.deepEqual(
      ofRun.body.items.map((m: any) => m.position),
      [2, 3],
    );

    const summaries = await call(`${url}/v1/threads/summaries?limit=200`, 'GET');
    const s = summaries.body.items.find((t: any) => t.id === 'rest-1');
    assert.equal(s.message_count, 4);
    assert.deepEqual(s.last_message.preview, 'Second answer.');

    const patched = await call(`${url}/v1/threads/rest-1/metadata`, 'PATCH', { title: 'Two turns', project: { name: 'x', tags: ['a'] }, keep: 1 });
    assert.equal(patched.status, 200);
    const again = await call(`${url}/v1/threads/rest-1/metadata`, 'PATCH', { project: { name: null, owner: 'me' }, keep: null });
    assert.equal(again.body.title, 'Two turns');
    assert.deepEqual(again.body.metadata, { project: { tags: ['a'], owner: 'me' } });
    assert.ok(again.body.updated_at > thread.body.updated_at);
    // merge-patch+json is JSON too.
    const typed = await call(`${url}/v1/threads/rest-1/metadata`, 'PATCH', { title: null }, { 'content-type': 'application/merge-patch+json' });
    assert.equal(typed.body.title, null);

    const agents = await call(`${url}/v1/agents`, 'GET');
    assert.deepEqual(agents.body, { items: [{ id: 'assistant', name: 'Assistant', description: 'A helpful general-purpose assistant.', model: 'claude-sonnet-5-5', tools: ['current_time'], tool_policies: { current_time: 'allow' }, mcp_servers: [] }] });
  });

  it('lists threads by title: a case-insensitive substring, % and _ match themselves', async () => {
    const titles = { 'title-a': 'Quarterly Report 50%', 'title-b': 'quarterly_plan', 'title-c': 'Holiday ideas' };
    for (const [id, title] of Object.entries(titles)) {
      app.fake.enqueue({ content: [{ type: 'text', text: 'ok' }] });
      await postJson(`${url}/v1/run`, { prompt: 'hi', session_id: id });
      assert.equal((await call(`${url}/v1/threads/${id}/metadata`, 'PATCH', { title })).status, 200);
    }
    const ids = async (q: string) => (await call(`${url}/v1/threads?title=${encodeURIComponent(q)}`, 'GET')).body.items.map((t: { id: string }) => t.id).sort();
    assert.deepEqual(await ids('QUARTERLY'), ['title-a', 'title-b']);
    assert.deepEqual(await ids('50%'), ['title-a']);
    assert.deepEqual(await ids('%'), ['title-a']);
    assert.deepEqual(await ids('y_p'), ['title-b']);
    assert.deepEqual(await ids('_'), ['title-b']);
    assert.deepEqual(await ids('nothing like it'), []);
    const summaries = await call(`${url}/v1/threads/summaries?title=holiday`, 'GET');
    assert.deepEqual(summaries.body.items.map((t: { id: string }) => t.id), ['title-c']);
    assertError(await call(`${url}/v1/threads?title=${'x'.repeat(201)}`, 'GET'), 400, 'bad_request');
  });

  it('lists runs with filters and reads a run record', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: 'ok' }], usage: { input_tokens: 7, output_tokens: 2 } });
    const t0 = new Date().toISOString();
    const res = await postJson(`${url}/v1/run`, { prompt: 'filtered', session_id: 'rest-runs' });
    const run = await call(`${url}/v1/runs/${res.body.run_id}`, 'GET');
    assert.equal(run.status, 200);
    assert.equal(run.body.thread_id, 'rest-runs');
    assert.equal(run.body.origin, 'api');
    assert.equal(run.body.status, 'completed');
    assert.deepEqual(run.body.usage, { input_tokens: 7, output_tokens: 2, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
    assert.ok(run.body.started_at && run.body.finished_at);
    assert.equal(run.body.input, undefined);

    const q = (s: string) => call(`${url}/v1/runs?${s}`, 'GET').then((r) => r.body.items.map((x: any) => x.id));
    assert.deepEqual(await q('thread_id=rest-runs'), [res.body.run_id]);
    assert.deepEqual(await q(`thread_id=rest-runs&status=completed&origin=api&agent_id=assistant&created_after=${t0}`), [res.body.run_id]);
    assert.deepEqual(await q('thread_id=rest-runs&status=failed'), []);
    assert.deepEqual(await q('thread_id=rest-runs&origin=trpc'), []);
    assert.deepEqual(await q(`thread_id=rest-runs&created_before=${t0}`), []);
  });

  it('POST /v1/runs streams canonical events with id = seq and ends after the terminal event', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: words(4) }] });
    const sse = await openSse(`${url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'go', thread_id: 'rest-stream' }) });
    await sse.done;
    assert.deepEqual(
      sse.frames.map((f) => f.id),
      sse.frames.map((_, i) => String(i + 1)),
    );
    assert.equal(sse.frames[0].json.type, 'run.started');
    assert.equal(sse.frames[0].json.thread_id, 'rest-stream');
    const last = sse.frames[sse.frames.length - 1].json;
    assert.equal(last.type, 'run.finished');
    assert.equal(last.output, words(4));
    const run = await call(`${url}/v1/runs/${sse.frames[0].json.run_id}`, 'GET');
    assert.equal(run.body.origin, 'rest');
  });

  it('GET /v1/runs/:id/events replays from Last-Event-ID or ?after, follows live, and ends', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: words(30) }], chunkDelayMs: 20 });
    const first = await openSse(`${url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'slow' }) });
    await waitFor(() => first.frames.length >= 4, 10_000, 'first frames');
    first.stop(); // the run goes on without its first client
    const runId = first.frames[0].json.run_id;
    const seen = first.frames.map((f) => Number(f.id));
    const lastSeen = seen[seen.length - 1];

    const live = await openSse(`${url}/v1/runs/${runId}/events`, { headers: { 'last-event-id': String(lastSeen) } });
    await live.done;
    assert.ok(!app.server.runtime.get(runId), 'stream ended with the run');
    const all = [...seen, ...live.frames.map((f) => Number(f.id))];
    assert.deepEqual(
      all,
      all.map((_, i) => i + 1),
    );
    assert.equal(live.frames[live.frames.length - 1].json.type, 'run.finished');

    // A finished run replays (from ?after=, or all of it) and ends.
    const replay = await openSse(`${url}/v1/runs/${runId}/events?after=2`);
    await replay.done;
    assert.equal(replay.frames[0].id, '3');
    assert.equal(replay.frames.length, all.length - 2);
    // The header wins over the query.
    const both = await openSse(`${url}/v1/runs/${runId}/events?after=1`, { headers: { 'last-event-id': String(all.length - 1) } });
    await both.done;
    assert.deepEqual(
      both.frames.map((f) => f.id),
      [String(all.length)],
    );
  });

  it('cancels an active run: 202, the stream ends cancelled, /v1/run answers 409 cancelled', async () => {
    app.fake.enqueue({ hang: true });
    const blocking = postJson(`${url}/v1/run`, { prompt: 'never answered', session_id: 'rest-cancel' });
    const runId = await activeRun('rest-cancel');
    const events = await openSse(`${url}/v1/runs/${runId}/events`);
    await waitFor(() => events.frames.length >= 1, 5000, 'run.started');

    const res = await call(`${url}/v1/runs/${runId}/cancel`, 'POST');
    assert.equal(res.status, 202);
    assert.deepEqual(res.body, { run_id: runId, status: 'cancelling' });
    await events.done;
    const last = events.frames[events.frames.length - 1].json;
    assert.equal(last.type, 'run.finished');
    assert.equal(last.status, 'cancelled');
    const answer = await blocking;
    assertError(answer, 409, 'cancelled');
    assert.equal((await call(`${url}/v1/runs/${runId}`, 'GET')).body.status, 'cancelled');

    assertError(await call(`${url}/v1/runs/${runId}/cancel`, 'POST'), 409, 'conflict');
    assertError(await call(`${url}/v1/runs/run_nope/cancel`, 'POST'), 404, 'not_found');
  });

  it('DELETE cancels the active run, then removes the thread with its messages, runs and events', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: 'kept for a moment' }] }, { hang: true });
    const done = await postJson(`${url}/v1/run`, { prompt: 'first', session_id: 'rest-delete' });
    const blocking = postJson(`${url}/v1/run`, { prompt: 'second', session_id: 'rest-delete' });
    const activeId = await activeRun('rest-delete');

    const res = await call(`${url}/v1/threads/rest-delete`, 'DELETE');
    assert.equal(res.status, 204);
    assert.equal(res.body, '');
    assertError(await blocking, 409, 'cancelled');
    assertError(await call(`${url}/v1/threads/rest-delete`, 'GET'), 404, 'not_found');
    assertError(await call(`${url}/v1/threads/rest-delete/messages`, 'GET'), 404, 'not_found');
    for (const id of [done.body.run_id, activeId]) {
      assertError(await call(`${url}/v1/runs/${id}`, 'GET'), 404, 'not_found');
      assert.deepEqual(await app.server.store.eventLog.list(id), []);
    }
    assert.deepEqual(await app.server.store.messages.list('rest-delete'), []);
    assertError(await call(`${url}/v1/threads/rest-delete`, 'DELETE'), 404, 'not_found');
  });
});
