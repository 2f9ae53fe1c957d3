import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { postJson, postSse } from './helpers/http.js';
import { dialects } from './helpers/databases.js';
import { useServer } from './helpers/setup.js';
import { words } from './helpers/text.js';

for (const dialect of dialects()) describe(`POST /v1/run and /v1/run/stream [${dialect}]`, () => {
  const app = useServer({ dialect, env: { AGENTSDK_SSE_PING_MS: '100' } });

  it('GET /health answers ok', async () => {
    const res = await fetch(`${app.url}/health`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  it('generates a session id and returns the full result', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: 'Hello there, friend.' }], usage: { input_tokens: 12, output_tokens: 4, cache_read_input_tokens: 3, cache_creation_input_tokens: 2 } });
    const { status, body } = await postJson(`${app.url}/v1/run`, { prompt: 'hi' });
    assert.equal(status, 200);
    assert.match(body.session_id, /^thread_/);
    assert.match(body.run_id, /^run_/);
    assert.equal(body.output, 'Hello there, friend.');
    assert.equal(body.stop_reason, 'end_turn');
    assert.deepEqual(body.usage, { input_tokens: 12, output_tokens: 4, cache_read_input_tokens: 3, cache_creation_input_tokens: 2 });
    assert.deepEqual(body.tool_calls, []);
    // The model got the configured system prompt, model and the user's turn.
    const req = app.fake.requests[0].body;
    assert.equal(req.model, 'claude-sonnet-5-5');
    assert.equal(req.stream, true);
    assert.deepEqual(req.messages, [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
    assert.equal(app.fake.requests[0].headers.authorization, 'Bearer sk-test-key');
  });

  it('remembers the thread across runs with the same session_id', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: 'Nice to meet you, Ada.' }] }, { content: [{ type: 'text', text: 'Your name is Ada.' }] });
    const first = await postJson(`${app.url}/v1/run`, { prompt: 'My name is Ada.', session_id: 'memory-1' });
    assert.equal(first.status, 200);
    assert.equal(first.body.session_id, 'memory-1');
    const second = await postJson(`${app.url}/v1/run`, { prompt: 'What is my name?', session_id: 'memory-1' });
    assert.equal(second.body.output, 'Your name is Ada.');
    assert.deepEqual(app.fake.requests[1].body.messages, [
      { role: 'user', content: [{ type: 'text', text: 'My name is Ada.' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Nice to meet you, Ada.' }] },
      { role: 'user', content: [{ type: 'text', text: 'What is my name?' }] },
    ]);
  });

  it('runs tools (concurrently), feeds results back, and sums usage over every call', async () => {
    app.fake.enqueue(
      {
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'toolu_a', name: 'current_time', input: {} },
          { type: 'tool_use', id: 'toolu_b', name: 'current_time', input: { timezone: 'Europe/Paris' } },
        ],
        usage: { input_tokens: 100, output_tokens: 20, cache_read_input_tokens: 50, cache_creation_input_tokens: 7 },
      },
      { content: [{ type: 'text', text: 'It is now.' }], usage: { input_tokens: 150, output_tokens: 5, cache_read_input_tokens: 60, cache_creation_input_tokens: 0 } },
    );
    const { status, body } = await postJson(`${app.url}/v1/run`, { prompt: 'time?' });
    assert.equal(status, 200);
    assert.equal(body.output, 'It is now.');
    assert.deepEqual(body.usage, { input_tokens: 250, output_tokens: 25, cache_read_input_tokens: 110, cache_creation_input_tokens: 7 });
    assert.equal(body.tool_calls.length, 2);
    assert.equal(body.tool_calls[0].id, 'toolu_a');
    assert.equal(body.tool_calls[0].is_error, false);
    assert.ok(!Number.isNaN(Date.parse(JSON.parse(body.tool_calls[0].output).utc)));
    assert.equal(JSON.parse(body.tool_calls[1].output).timezone, 'Europe/Paris');
    // The tool definitions went to the model, and the results came back as one user turn.
    assert.equal(app.fake.requests[0].body.tools[0].name, 'current_time');
    const turn = app.fake.requests[1].body.messages.at(-1);
    assert.equal(turn.role, 'user');
    assert.deepEqual(turn.content.map((b: any) => [b.type, b.tool_use_id]), [['tool_result', 'toolu_a'], ['tool_result', 'toolu_b']]);
  });

  it('turns a failing tool into an is_error result the model sees', async () => {
    app.fake.enqueue(
      { content: [{ type: 'tool_use', id: 'toolu_bad', name: 'current_time', input: { timezone: 'Not/AZone' } }] },
      { content: [{ type: 'tool_use', id: 'toolu_unknown', name: 'rm_rf', input: {} }] },
      { content: [{ type: 'text', text: 'Sorry.' }] },
    );
    const { body } = await postJson(`${app.url}/v1/run`, { prompt: 'time in nowhere' });
    assert.equal(body.output, 'Sorry.');
    assert.equal(body.tool_calls[0].is_error, true);
    assert.match(body.tool_calls[0].output, /time zone/i);
    assert.deepEqual([body.tool_calls[1].is_error, body.tool_calls[1].output], [true, 'unknown tool: rm_rf']);
    assert.equal(app.fake.requests[1].body.messages.at(-1).content[0].is_error, true);
  });

  it('streams events in order: ids first, live deltas, tool events, a terminal result', async () => {
    app.fake.enqueue(
      { content: [{ type: 'tool_use', id: 'toolu_1', name: 'current_time', input: {} }] },
      { content: [{ type: 'text', text: words(20) }], usage: { input_tokens: 5, output_tokens: 20 } },
    );
    const { status, headers, frames } = await postSse(`${app.url}/v1/run/stream`, { prompt: 'go', session_id: 'stream-1' });
    assert.equal(status, 200);
    assert.match(headers.get('content-type')!, /^text\/event-stream/);
    assert.equal(frames[0].json.type, 'ping', 'a ping is sent at once');
    const events = frames.filter((f) => f.json.type !== 'ping').map((f) => f.json);
    assert.equal(events[0].type, 'run.started');
    assert.equal(events[0].session_id, 'stream-1');
    assert.match(events[0].run_id, /^run_/);
    const types = events.map((e) => e.type);
    assert.deepEqual(types.slice(0, 3), ['run.started', 'step.started', 'tool.call.start']);
    assert.ok(types.indexOf('tool.call.delta') > types.indexOf('tool.call.start'));
    assert.ok(types.indexOf('tool.call.end') > types.lastIndexOf('tool.call.delta'));
    assert.ok(types.indexOf('tool.call.end') < types.indexOf('tool.result'));
    assert.ok(types.indexOf('tool.result') < types.indexOf('text.start'));
    assert.equal(types.filter((t) => t === 'text.delta').length, 20, 'one delta per streamed word, not one collected blob');
    assert.equal(types.filter((t) => t === 'step.finished').length, 2);
    const last = events.at(-1);
    assert.equal(last.type, 'run.finished');
    assert.equal(last.status, 'completed');
    assert.equal(last.session_id, 'stream-1');
    assert.equal(last.run_id, events[0].run_id);
    assert.equal(last.output, words(20));
    assert.equal(last.tool_calls.length, 1);
    assert.equal(last.usage.output_tokens, 20 + 1);
    // SSE ids are the per-run seq, 1..n without gaps.
    const ids = frames.filter((f) => f.id).map((f) => Number(f.id));
    assert.deepEqual(ids, ids.map((_, i) => i + 1));
    // Every event is stored with its seq.
    const stored = await app.server.store.eventLog.list(events[0].run_id);
    assert.deepEqual(stored.map((s) => s.event.type), types);
  });

  it('streams reasoning when the model thinks', async () => {
    app.fake.enqueue({ content: [{ type: 'thinking', thinking: 'Let me think about it', signature: 'sig123' }, { type: 'text', text: 'Answer.' }] });
    const { frames } = await postSse(`${app.url}/v1/run/stream`, { prompt: 'think' });
    const events = frames.map((f) => f.json).filter((e) => e.type !== 'ping');
    const reasoning = events.filter((e) => e.type.startsWith('reasoning.'));
    assert.equal(reasoning[0].type, 'reasoning.start');
    assert.equal(reasoning.filter((e) => e.type === 'reasoning.delta').map((e) => e.delta).join(''), 'Let me think about it');
    assert.equal(reasoning.at(-1).signature, 'sig123');
    // The signed thinking block is kept in the thread, as the API requires for tool loops.
    const msgs = await app.server.store.messages.list(events[0].session_id);
    assert.deepEqual(msgs[1].content[0], { type: 'thinking', thinking: 'Let me think about it', signature: 'sig123' });
  });

  it('sends pings while a run is quiet', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: 'slow' }], delayMs: 350 });
    const { frames } = await postSse(`${app.url}/v1/run/stream`, { prompt: 'slow' });
    assert.ok(frames.filter((f) => f.json?.type === 'ping').length >= 3, `pings: ${frames.map((f) => f.json?.type).join(',')}`);
    assert.equal(frames.at(-1)!.json.type, 'run.finished');
  });

  it('answers 502 when the model API fails, and stores the failure', async () => {
    app.fake.enqueue({ error: { status: 529, type: 'overloaded_error', message: 'Overloaded' } });
    const { status, body } = await postJson(`${app.url}/v1/run`, { prompt: 'hi', session_id: 'upstream-1' });
    assert.equal(status, 502);
    assert.equal(body.code, 'upstream_error');
    assert.match(body.error, /529.*Overloaded/);
    assert.equal(body.session_id, 'upstream-1');
    const run = await app.server.store.runs.get(body.run_id);
    assert.equal(run!.status, 'failed');
    assert.equal(run!.error!.code, 'upstream_error');
    // The user's message is kept even though the run failed.
    const msgs = await app.server.store.messages.list('upstream-1');
    assert.deepEqual(msgs.map((m) => m.role), ['user']);
  });

  it('ends the stream with run.error on a model error mid-stream or a dropped stream', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: words(5) }], streamError: { type: 'overloaded_error', message: 'Overloaded midway' } });
    let { frames } = await postSse(`${app.url}/v1/run/stream`, { prompt: 'hi' });
    let last = frames.at(-1)!.json;
    assert.deepEqual([last.type, last.status, last.code], ['run.error', 'failed', 'upstream_error']);
    assert.match(last.message, /Overloaded midway/);

    app.fake.enqueue({ content: [{ type: 'text', text: words(30) }], dropAfterEvents: 8 });
    ({ frames } = await postSse(`${app.url}/v1/run/stream`, { prompt: 'hi' }));
    last = frames.at(-1)!.json;
    assert.deepEqual([last.type, last.code], ['run.error', 'upstream_error']);
    const run = await app.server.store.runs.get(last.run_id);
    assert.equal(run!.status, 'failed');
  });

  it('times out a running run with 504 and status timed_out', async () => {
    app.fake.enqueue({ hang: true });
    const { status, body } = await postJson(`${app.url}/v1/run`, { prompt: 'hang', timeout_ms: 300 });
    assert.equal(status, 504);
    assert.equal(body.code, 'timeout');
    const run = await app.server.store.runs.get(body.run_id);
    assert.equal(run!.status, 'timed_out');
  });

  it('times out a run still queued behind another on the same thread', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: 'slow' }], delayMs: 600 });
    const first = postJson(`${app.url}/v1/run`, { prompt: 'first', session_id: 'queue-timeout' });
    await new Promise((r) => setTimeout(r, 50));
    const second = await postJson(`${app.url}/v1/run`, { prompt: 'second', session_id: 'queue-timeout', timeout_ms: 200 });
    assert.equal(second.status, 504);
    const run = await app.server.store.runs.get(second.body.run_id);
    assert.equal(run!.status, 'timed_out');
    assert.equal(run!.started_at, null, 'it never started');
    assert.equal((await first).status, 200);
    // The timed-out prompt never reached the thread.
    const msgs = await app.server.store.messages.list('queue-timeout');
    assert.deepEqual(msgs.map((m) => m.content[0]), [{ type: 'text', text: 'first' }, { type: 'text', text: 'slow' }]);
    assert.equal(app.fake.requests.length, 1);
  });

  it('runs an agent chosen by agent_id; unknown agent is 404', async () => {
    const res = await postJson(`${app.url}/v1/run`, { prompt: 'hi', agent_id: 'nobody' });
    assert.equal(res.status, 404);
    assert.equal(res.body.code, 'not_found');
  });
});
