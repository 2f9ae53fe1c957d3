import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RunEvent } from '../contracts/events.js';
import { startFakeAnthropic } from './fixtures/fake-anthropic.js';
import { assertError, call, openSse } from './helpers/api.js';
import { dialects } from './helpers/databases.js';
import { postSse } from './helpers/http.js';
import { startTestServer, tempDir } from './helpers/server.js';
import { useServer } from './helpers/setup.js';

/** current_time needs a human decision; write_file (in a temp workspace) does not. */
const agentsFile = (workspace: string) => ({
  agents: { assistant: { system: 'You help.', workspace, tools: { current_time: 'ask', write_file: 'allow' } } },
});

const askTime = (id = 'toolu_time') => ({ content: [{ type: 'tool_use' as const, id, name: 'current_time', input: {} }] });

/** Starts a run over POST /v1/runs; returns its canonical events (the stream ends when the run waits). */
async function startRun(url: string, prompt: string, thread_id?: string): Promise<{ runId: string; events: RunEvent[] }> {
  const res = await postSse(`${url}/v1/runs`, { prompt, ...(thread_id ? { thread_id } : {}) });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const events = res.frames.filter((f) => f.json).map((f) => RunEvent.parse(f.json));
  return { runId: (events[0] as any).run_id, events };
}

/** Events of a run after `after`, up to its (next) terminal event. */
async function eventsAfter(url: string, runId: string, after: number): Promise<Array<{ seq: number; event: RunEvent }>> {
  const sse = await openSse(`${url}/v1/runs/${runId}/events`, { headers: { 'last-event-id': String(after) } });
  await sse.done;
  return sse.frames.map((f) => ({ seq: Number(f.id), event: RunEvent.parse(f.json) }));
}

const toolResultsSeen = (body: any) => body.messages.flatMap((m: any) => (Array.isArray(m.content) ? m.content.filter((b: any) => b.type === 'tool_result') : []));

for (const dialect of dialects()) describe(`approvals over POST /v1/runs/:id/inputs [${dialect}]`, () => {
  const ws = tempDir();
  const app = useServer({ dialect, agents: agentsFile(ws.dir) });
  let url: string;

  before(() => {
    url = app.url;
  });
  after(() => ws.cleanup());

  it('an ask tool pauses the run; approving runs it and the run goes on under the same id', async () => {
    app.fake.enqueue(askTime(), { content: [{ type: 'text', text: 'It is late.' }] });
    const { runId, events } = await startRun(url, 'what time is it?');
    const requested = events.find((e) => e.type === 'tool.approval.requested') as any;
    assert.ok(requested, 'approval request event');
    assert.equal(requested.id, 'toolu_time');
    assert.equal(requested.name, 'current_time');
    assert.ok(!events.some((e) => e.type === 'tool.result'), 'the tool did not run before the decision');
    const last = events.at(-1) as any;
    assert.equal(last.type, 'run.finished');
    assert.equal(last.status, 'waiting');
    assert.equal(app.fake.requests.length, 1);

    const waiting = await call(`${url}/v1/runs/${runId}`, 'GET');
    assert.equal(waiting.body.status, 'waiting');
    assert.deepEqual(waiting.body.pending, { approvals: [{ approval_id: requested.approval_id, tool_call_id: 'toolu_time', name: 'current_time', input: {} }], client_tool_calls: [] });

    const res = await call(`${url}/v1/runs/${runId}/inputs`, 'POST', { decisions: [{ approval_id: requested.approval_id, approved: true }] });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.status, 'resumed');
    assert.equal(res.body.run_id, runId);

    const rest = await eventsAfter(url, runId, events.length);
    assert.equal(rest[0].seq, events.length + 1, 'seq goes on from the waiting stretch');
    assert.deepEqual(rest[0].event, { type: 'run.started', run_id: runId, thread_id: (events[0] as any).thread_id, agent_id: 'assistant', resumed: true });
    const result = rest.find((e) => e.event.type === 'tool.result')!.event as any;
    assert.equal(result.id, 'toolu_time');
    assert.equal(result.is_error, false);
    assert.match(result.output, /\d{4}-\d{2}-\d{2}T/);
    const end = rest.at(-1)!.event as any;
    assert.equal(end.type, 'run.finished');
    assert.equal(end.status, 'completed');
    assert.equal(end.output, 'It is late.');

    // The model saw the tool's real result for its call.
    assert.equal(app.fake.requests.length, 2);
    const [seen] = toolResultsSeen(app.fake.requests[1].body);
    assert.equal(seen.tool_use_id, 'toolu_time');
    assert.ok(!seen.is_error);
    assert.match(seen.content, /\d{4}-\d{2}-\d{2}T/);

    const done = await call(`${url}/v1/runs/${runId}`, 'GET');
    assert.equal(done.body.status, 'completed');
    assert.equal(done.body.pending, null);
    assert.deepEqual(done.body.tool_calls.map((t: any) => [t.id, t.is_error]), [['toolu_time', false]]);
    // A full replay carries both stretches, in order, each once.
    const all = await eventsAfter(url, runId, 0);
    assert.deepEqual(all.map((e) => e.seq), Array.from({ length: all.length }, (_, i) => i + 1));
    assert.equal(all.filter((e) => e.event.type === 'run.started').length, 2);
  });

  it('denying tells the model, with the reason, and the tool never runs', async () => {
    app.fake.enqueue(askTime(), { content: [{ type: 'text', text: 'Understood.' }] });
    const { runId, events } = await startRun(url, 'time please');
    const approvalId = (events.find((e) => e.type === 'tool.approval.requested') as any).approval_id;
    const res = await call(`${url}/v1/runs/${runId}/inputs`, 'POST', { decisions: [{ approval_id: approvalId, approved: false, reason: 'not now' }] });
    assert.equal(res.status, 202);
    const rest = await eventsAfter(url, runId, events.length);
    const result = rest.find((e) => e.event.type === 'tool.result')!.event as any;
    assert.equal(result.is_error, true);
    assert.equal(result.output, 'The user denied this tool call: not now');
    const [seen] = toolResultsSeen(app.fake.requests[1].body);
    assert.equal(seen.is_error, true);
    assert.equal(seen.content, 'The user denied this tool call: not now');
    assert.equal((await call(`${url}/v1/runs/${runId}`, 'GET')).body.status, 'completed');
  });

  it('allowed tools of the same turn run at once; the run waits for every decision', async () => {
    app.fake.enqueue(
      {
        content: [
          { type: 'tool_use', id: 'toolu_a', name: 'current_time', input: {} },
          { type: 'tool_use', id: 'toolu_w', name: 'write_file', input: { path: 'note.txt', content: 'hi' } },
          { type: 'tool_use', id: 'toolu_b', name: 'current_time', input: { timezone: 'UTC' } },
        ],
      },
      { content: [{ type: 'text', text: 'All done.' }] },
    );
    const { runId, events } = await startRun(url, 'three things');
    const approvals = events.filter((e) => e.type === 'tool.approval.requested') as any[];
    assert.deepEqual(approvals.map((a) => a.id), ['toolu_a', 'toolu_b']);
    const ran = events.filter((e) => e.type === 'tool.result') as any[];
    assert.deepEqual(ran.map((r) => [r.id, r.is_error]), [['toolu_w', false]], 'write_file (allow) ran without waiting');

    const first = await call(`${url}/v1/runs/${runId}/inputs`, 'POST', { decisions: [{ approval_id: approvals[1].approval_id, approved: false }] });
    assert.equal(first.status, 202);
    assert.equal(first.body.status, 'waiting');
    assert.deepEqual(first.body.pending.approvals.map((a: any) => a.decision ?? null), [null, { approved: false }]);
    assert.equal((await call(`${url}/v1/runs/${runId}`, 'GET')).body.status, 'waiting');
    assert.equal(app.fake.requests.length, 1, 'no model call before every decision is in');

    const second = await call(`${url}/v1/runs/${runId}/inputs`, 'POST', { decisions: [{ approval_id: approvals[0].approval_id, approved: true }] });
    assert.equal(second.body.status, 'resumed');
    await eventsAfter(url, runId, events.length);
    // The model gets all three results, in call order, in one user turn.
    const seen = toolResultsSeen(app.fake.requests[1].body);
    assert.deepEqual(seen.map((b: any) => [b.tool_use_id, !!b.is_error]), [['toolu_a', false], ['toolu_w', false], ['toolu_b', true]]);
    const run = (await call(`${url}/v1/runs/${runId}`, 'GET')).body;
    assert.equal(run.status, 'completed');
    assert.deepEqual(run.tool_calls.map((t: any) => t.id).sort(), ['toolu_a', 'toolu_b', 'toolu_w']);
  });

  it('409 for a run that is not waiting, 404 for unknown runs and approval ids, 400 for bad bodies; nothing changes', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: 'plain' }] }, askTime());
    const plain = await startRun(url, 'hello');
    assertError(await call(`${url}/v1/runs/${plain.runId}/inputs`, 'POST', { decisions: [{ approval_id: 'appr_x', approved: true }] }), 409, 'conflict');
    assertError(await call(`${url}/v1/runs/run_nope/inputs`, 'POST', { decisions: [{ approval_id: 'appr_x', approved: true }] }), 404, 'not_found');

    const { runId, events } = await startRun(url, 'time?');
    const approvalId = (events.find((e) => e.type === 'tool.approval.requested') as any).approval_id;
    assertError(await call(`${url}/v1/runs/${runId}/inputs`, 'POST', { decisions: [{ approval_id: 'appr_unknown', approved: true }] }), 404, 'not_found');
    assertError(await call(`${url}/v1/runs/${runId}/inputs`, 'POST', { tool_results: [{ tool_call_id: 'toolu_unknown', output: 'x' }] }), 404, 'not_found');
    assertError(await call(`${url}/v1/runs/${runId}/inputs`, 'POST', {}), 400, 'bad_request');
    assertError(await call(`${url}/v1/runs/${runId}/inputs`, 'POST', { decisions: [{ approval_id: approvalId, approved: 'yes' }] }), 400, 'bad_request');
    assertError(await call(`${url}/v1/runs/${runId}/inputs`, 'POST', { decisions: [{ approval_id: approvalId, approved: true, extra: 1 }] }), 400, 'bad_request');
    const still = (await call(`${url}/v1/runs/${runId}`, 'GET')).body;
    assert.equal(still.status, 'waiting');
    assert.equal(still.pending.approvals[0].decision, undefined);

    // Deciding twice: the second arrives after the run moved on.
    app.fake.enqueue({ content: [{ type: 'text', text: 'ok' }] });
    assert.equal((await call(`${url}/v1/runs/${runId}/inputs`, 'POST', { decisions: [{ approval_id: approvalId, approved: true }] })).status, 202);
    await eventsAfter(url, runId, events.length);
    assertError(await call(`${url}/v1/runs/${runId}/inputs`, 'POST', { decisions: [{ approval_id: approvalId, approved: true }] }), 409, 'conflict');
  });

  it('a new message on the thread supersedes an undecided approval', async () => {
    app.fake.enqueue(askTime('toolu_old'), { content: [{ type: 'text', text: 'Moving on.' }] });
    const first = await startRun(url, 'time?', `appr-thread-${dialect}`);
    const second = await startRun(url, 'never mind', `appr-thread-${dialect}`);
    assert.equal((second.events.at(-1) as any).status, 'completed');
    const old = (await call(`${url}/v1/runs/${first.runId}`, 'GET')).body;
    assert.equal(old.status, 'cancelled');
    assert.equal(old.stop_reason, 'superseded');
    assert.equal(old.pending, null);
    // The unanswered call reaches the model as an error result (the API requires one).
    const [seen] = toolResultsSeen(app.fake.requests[1].body);
    assert.equal(seen.tool_use_id, 'toolu_old');
    assert.equal(seen.is_error, true);
    assertError(await call(`${url}/v1/runs/${first.runId}/inputs`, 'POST', { decisions: [{ approval_id: (first.events.find((e) => e.type === 'tool.approval.requested') as any).approval_id, approved: true }] }), 409, 'conflict');
  });
});

describe('approvals survive a restart', () => {
  it('a decision sent to a new server process continues the waiting run', async () => {
    const fake = await startFakeAnthropic();
    const tmp = tempDir();
    const dbUrl = `sqlite:${join(tmp.dir, 'approvals.sqlite')}`;
    const agents = agentsFile(tmp.dir);
    try {
      const first = await startTestServer({ modelUrl: fake.url, dbUrl, agents });
      fake.enqueue(askTime());
      const { runId, events } = await startRun(first.url, 'time across a restart');
      await first.stop();

      const second = await startTestServer({ modelUrl: fake.url, dbUrl, agents });
      try {
        const waiting = (await call(`${second.url}/v1/runs/${runId}`, 'GET')).body;
        assert.equal(waiting.status, 'waiting', 'start-up recovery leaves waiting runs alone');
        fake.enqueue({ content: [{ type: 'text', text: 'Back again.' }] });
        const approvalId = waiting.pending.approvals[0].approval_id;
        const res = await call(`${second.url}/v1/runs/${runId}/inputs`, 'POST', { decisions: [{ approval_id: approvalId, approved: true }] });
        assert.equal(res.status, 202);
        const rest = await eventsAfter(second.url, runId, events.length);
        assert.equal(rest[0].seq, events.length + 1);
        assert.equal((rest.at(-1)!.event as any).status, 'completed');
        assert.equal((rest.at(-1)!.event as any).output, 'Back again.');
        const [seen] = toolResultsSeen(fake.requests[1].body);
        assert.equal(seen.tool_use_id, 'toolu_time');
        assert.ok(!seen.is_error);
      } finally {
        await second.stop();
      }
    } finally {
      await fake.close();
      tmp.cleanup();
    }
  });
});
