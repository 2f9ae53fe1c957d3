import { systemText } from './fixtures/fake-anthropic.js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, beforeEach, describe, it } from 'node:test';
import { HttpAgent, type AgentSubscriber, type Message, type Tool } from '@ag-ui/client';
import { agUiStreamProblems, teeFetch, type Captured } from './helpers/ag-ui.js';
import { dialects } from './helpers/databases.js';
import { postJson, sseFrames, waitFor } from './helpers/http.js';
import { useServer } from './helpers/setup.js';


const changeBackground: Tool = {
  name: 'change_background',
  description: 'Changes the background color of the page.',
  parameters: { type: 'object', properties: { color: { type: 'string' } }, required: ['color'] },
};
const notify: Tool = { name: 'notify', description: 'Shows a notification.', parameters: { type: 'object', properties: { text: { type: 'string' } } } };

for (const dialect of dialects()) describe(`AG-UI (real @ag-ui/client HttpAgent) [${dialect}]`, () => {
  const app = useServer({ dialect, env: { AGENTSDK_SSE_PING_MS: '50' } });
  let url: string;
  /** Every AG-UI request of the current test, raw stream included. */
  let captured: Captured[];

  before(() => {
    url = `${app.url}/v1/ag-ui/agents/assistant/runs`;
  });
  beforeEach(() => {
    captured = [];
  });

  const tee = (input: string, init: RequestInit) => teeFetch(captured)(input, init);

  /**
   * The stream ends with the terminal event and the run's last turn and status are committed just
   * after it: wait until the thread has no queued or running run.
   */
  const settled = (threadId: string) => waitFor(async () => (await app.server.store.runs.latestActive(threadId)) === undefined, 10_000, 'the run to be stored');
  /** An HttpAgent whose runAgent() resolves once the run is stored, so the next request or read sees it. */
  const newAgent = (threadId = randomUUID(), opts: { initialState?: unknown; messages?: Message[] } = {}) => {
    const agent = new HttpAgent({ url, threadId, fetch: tee, initialState: opts.initialState, initialMessages: opts.messages });
    const runAgent = agent.runAgent.bind(agent);
    agent.runAgent = async (...args) => {
      const result = await runAgent(...args);
      await settled(threadId);
      return result;
    };
    return agent;
  };
  const say = (agent: HttpAgent, text: string) => agent.addMessage({ id: randomUUID(), role: 'user', content: text });

  /** The stream of request `i` is sound, and its frames are exactly `data: <json>\n\n`. */
  function assertSound(i = captured.length - 1): any[] {
    const c = captured[i];
    assert.ok(c, `request ${i} was made`);
    assert.deepEqual(agUiStreamProblems(c.events, { threadId: c.body.threadId, runId: c.body.runId }), []);
    assert.ok(!c.raw.includes('\r'), 'LF line endings only');
    for (const frame of c.raw.split('\n\n').filter(Boolean)) assert.match(frame, /^(data: \{.*\}|: ping)$/s);
    return c.events;
  }
  const types = (events: any[]) => events.map((e) => e.type);

  it('streams a text reply that HttpAgent assembles, with the request ids and run id', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: 'Hello there, friend.' }], usage: { input_tokens: 12, output_tokens: 4 } });
    const agent = newAgent();
    say(agent, 'hi');
    const runId = randomUUID();
    let outcome: unknown;
    const { newMessages } = await agent.runAgent({ runId }, { onRunFinishedEvent: (p) => void (outcome = p.outcome) });

    assert.equal(outcome, 'success');
    assert.equal(newMessages.length, 1);
    assert.equal(newMessages[0].role, 'assistant');
    assert.equal(newMessages[0].content, 'Hello there, friend.');
    const events = assertSound();
    assert.deepEqual(types(events).slice(0, 3), ['RUN_STARTED', 'STEP_STARTED', 'TEXT_MESSAGE_START']);
    assert.equal(events.filter((e) => e.type === 'TEXT_MESSAGE_CONTENT').length, 3, 'streamed word by word');
    assert.equal(events[0].runId, runId);
    // The request's runId is the run's id; the reply is stored under the streamed message id.
    // The run row is final just after the terminal event is sent.
    const run = await waitFor(async () => {
      const r = await app.server.store.runs.get(runId);
      return r?.status === 'completed' && r;
    });
    assert.equal(run.origin, 'ag-ui');
    const stored = await app.server.store.messages.list(agent.threadId);
    assert.deepEqual(stored.map((m) => [m.id, m.role]), agent.messages.map((m) => [m.id, m.role]));
    assert.deepEqual(app.fake.requests[0].body.messages, [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
  });

  it('runs a server tool: the call, its result and the answer reach the client', async () => {
    app.fake.enqueue(
      { content: [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'toolu_time', name: 'current_time', input: { timezone: 'Europe/Paris' } }] },
      { content: [{ type: 'text', text: 'It is noon.' }] },
    );
    const agent = newAgent();
    say(agent, 'time?');
    const results: any[] = [];
    await agent.runAgent({}, { onToolCallResultEvent: ({ event }) => void results.push(event) });

    const events = assertSound();
    assert.equal(results.length, 1);
    assert.equal(JSON.parse(results[0].content).timezone, 'Europe/Paris');
    const start = events.find((e) => e.type === 'TOOL_CALL_START');
    assert.deepEqual(start, { type: 'TOOL_CALL_START', toolCallId: 'toolu_time', toolCallName: 'current_time', parentMessageId: events.find((e) => e.type === 'TEXT_MESSAGE_START').messageId });
    assert.deepEqual(JSON.parse(events.filter((e) => e.type === 'TOOL_CALL_ARGS').map((e) => e.delta).join('')), { timezone: 'Europe/Paris' });
    assert.deepEqual(types(events).filter((t) => t.startsWith('STEP')), ['STEP_STARTED', 'STEP_FINISHED', 'STEP_STARTED', 'STEP_FINISHED']);
    assert.deepEqual(
      agent.messages.map((m) => m.role),
      ['user', 'assistant', 'tool', 'assistant'],
    );
    const assistant = agent.messages[1] as any;
    assert.equal(assistant.content, 'Checking.');
    assert.deepEqual(assistant.toolCalls.map((c: any) => c.function.name), ['current_time']);
    assert.equal(agent.messages[3].content, 'It is noon.');
  });

  it('frontend tool round trip over two requests: waiting → role "tool" result → the model sees it', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: 'Sure.' }, { type: 'tool_use', id: 'toolu_bg', name: 'change_background', input: { color: 'red' } }] });
    const agent = newAgent();
    say(agent, 'make it red');
    let finished: any;
    const toolCalls: any[] = [];
    await agent.runAgent(
      { tools: [changeBackground] },
      { onRunFinishedEvent: (p) => void (finished = p), onToolCallEndEvent: (p) => void toolCalls.push([p.toolCallName, p.toolCallArgs]) },
    );
    assertSound();
    assert.equal(finished.outcome, 'success');
    assert.deepEqual(finished.pendingToolCallIds, ['toolu_bg']);
    assert.deepEqual(captured[0].events.at(-1).outcome, { type: 'success', pendingToolCallIds: ['toolu_bg'] });
    assert.deepEqual(toolCalls, [['change_background', { color: 'red' }]]);
    assert.ok(!captured[0].events.some((e) => e.type === 'TOOL_CALL_RESULT'), 'the server does not run frontend tools');
    // The model was offered the frontend tool, with its schema.
    const offered = app.fake.requests[0].body.tools.find((t: any) => t.name === 'change_background');
    assert.deepEqual(offered, { name: 'change_background', description: changeBackground.description, input_schema: changeBackground.parameters });
    await waitFor(async () => (await app.server.store.runs.get(captured[0].body.runId))?.status === 'waiting', 5000, 'the run to be stored as waiting');

    // The front end runs the tool and sends its result with the whole history.
    agent.addMessage({ id: randomUUID(), role: 'tool', toolCallId: 'toolu_bg', content: 'background is red' });
    app.fake.enqueue({ content: [{ type: 'text', text: 'Done, it is red now.' }] });
    await agent.runAgent({ tools: [changeBackground] });
    assertSound();
    assert.deepEqual(app.fake.requests[1].body.messages, [
      { role: 'user', content: [{ type: 'text', text: 'make it red' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Sure.' }, { type: 'tool_use', id: 'toolu_bg', name: 'change_background', input: { color: 'red' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_bg', content: 'background is red' }] },
    ]);
    assert.equal(agent.messages.at(-1)?.content, 'Done, it is red now.');

    // A third turn: the whole history is sent again and nothing is duplicated.
    say(agent, 'thanks');
    app.fake.enqueue({ content: [{ type: 'text', text: 'You are welcome.' }] });
    await agent.runAgent({ tools: [changeBackground] });
    assertSound();
    const sent = app.fake.requests[2].body.messages;
    assert.equal(sent.length, 5);
    assert.deepEqual(sent.slice(3), [
      { role: 'assistant', content: [{ type: 'text', text: 'Done, it is red now.' }] },
      { role: 'user', content: [{ type: 'text', text: 'thanks' }] },
    ]);
    const stored = await app.server.store.messages.list(agent.threadId);
    assert.deepEqual(stored.map((m) => m.role), ['user', 'assistant', 'user', 'assistant', 'user', 'assistant']);
  });

  it('several frontend tool calls in one turn, answered together', async () => {
    app.fake.enqueue({
      content: [
        { type: 'tool_use', id: 'toolu_a', name: 'change_background', input: { color: 'blue' } },
        { type: 'tool_use', id: 'toolu_b', name: 'notify', input: { text: 'changed' } },
        { type: 'tool_use', id: 'toolu_c', name: 'current_time', input: {} },
      ],
    });
    const agent = newAgent();
    say(agent, 'blue and tell me');
    let pending: string[] = [];
    await agent.runAgent({ tools: [changeBackground, notify] }, { onRunFinishedEvent: (p) => void (pending = (p as any).pendingToolCallIds) });
    const events = assertSound();
    // The server tool ran; the two frontend calls wait for the client.
    assert.deepEqual(events.filter((e) => e.type === 'TOOL_CALL_RESULT').map((e) => e.toolCallId), ['toolu_c']);
    assert.deepEqual(pending, ['toolu_a', 'toolu_b']);

    agent.addMessage({ id: randomUUID(), role: 'tool', toolCallId: 'toolu_b', content: 'shown' });
    agent.addMessage({ id: randomUUID(), role: 'tool', toolCallId: 'toolu_a', content: 'blue' });
    app.fake.enqueue({ content: [{ type: 'text', text: 'All done.' }] });
    await agent.runAgent({ tools: [changeBackground, notify] });
    assertSound();
    const last = app.fake.requests[1].body.messages.at(-1);
    assert.equal(last.role, 'user');
    // Every call answered once, in call order.
    assert.deepEqual(last.content.map((b: any) => [b.tool_use_id, b.content]), [['toolu_a', 'blue'], ['toolu_b', 'shown'], ['toolu_c', last.content[2].content]]);
    assert.ok(!last.content.some((b: any) => b.is_error));
  });

  it('an unanswered frontend call gets an error result when the user just moves on', async () => {
    app.fake.enqueue({ content: [{ type: 'tool_use', id: 'toolu_x', name: 'notify', input: { text: 'hi' } }] });
    const agent = newAgent();
    say(agent, 'notify me');
    await agent.runAgent({ tools: [notify] });
    say(agent, 'never mind');
    app.fake.enqueue({ content: [{ type: 'text', text: 'OK.' }] });
    await agent.runAgent({ tools: [notify] });
    assertSound();
    const last = app.fake.requests[1].body.messages.at(-1);
    assert.deepEqual(last.content.map((b: any) => b.type), ['tool_result', 'text']);
    assert.equal(last.content[0].is_error, true);
  });

  it('shared state: STATE_SNAPSHOT at start, STATE_DELTA on change, stored, restored on the next run', async () => {
    app.fake.enqueue(
      { content: [{ type: 'tool_use', id: 'toolu_s', name: 'update_state', input: { patch: [{ op: 'replace', path: '/count', value: 2 }, { op: 'add', path: '/items/-', value: 'milk' }] } }] },
      { content: [{ type: 'text', text: 'Updated.' }] },
    );
    const threadId = randomUUID();
    const agent = newAgent(threadId, { initialState: { count: 1, items: [] } });
    say(agent, 'add milk');
    await agent.runAgent();
    const events = assertSound();
    assert.deepEqual(types(events).slice(0, 2), ['RUN_STARTED', 'STATE_SNAPSHOT']);
    assert.deepEqual(events[1].snapshot, { count: 1, items: [] });
    const delta = events.find((e) => e.type === 'STATE_DELTA');
    assert.deepEqual(delta.delta, [{ op: 'replace', path: '/count', value: 2 }, { op: 'add', path: '/items/-', value: 'milk' }]);
    // The client applied the delta; the server stored the same state.
    assert.deepEqual(agent.state, { count: 2, items: ['milk'] });
    assert.deepEqual(await app.server.store.threads.getState(threadId), { count: 2, items: ['milk'] });
    // The state tools were offered because the request carried state; the result is the new state.
    assert.deepEqual(app.fake.requests[0].body.tools.map((t: any) => t.name).sort(), ['current_time', 'get_state', 'update_state']);
    assert.deepEqual(JSON.parse(app.fake.requests[1].body.messages.at(-1).content[0].content), { count: 2, items: ['milk'] });

    // A fresh client (state {}) on the same thread gets the stored state as the first snapshot.
    const other = newAgent(threadId, { messages: agent.messages });
    say(other, 'what do I have?');
    app.fake.enqueue(
      { content: [{ type: 'tool_use', id: 'toolu_g', name: 'get_state', input: {} }] },
      { content: [{ type: 'tool_use', id: 'toolu_bad', name: 'update_state', input: { patch: [{ op: 'remove', path: '/nope' }] } }] },
      { content: [{ type: 'text', text: 'Two and milk.' }] },
    );
    await other.runAgent();
    const events2 = assertSound();
    assert.deepEqual(events2[1], { type: 'STATE_SNAPSHOT', snapshot: { count: 2, items: ['milk'] } });
    assert.deepEqual(other.state, { count: 2, items: ['milk'] });
    assert.deepEqual(JSON.parse(app.fake.requests[3].body.messages.at(-1).content[0].content), { count: 2, items: ['milk'] }, 'get_state read it');
    // A patch that does not apply is a tool error: no delta, state unchanged.
    const bad = app.fake.requests[4].body.messages.at(-1).content[0];
    assert.equal(bad.is_error, true);
    assert.match(bad.content, /does not apply/);
    assert.ok(!events2.some((e) => e.type === 'STATE_DELTA'));
    assert.deepEqual(await app.server.store.threads.getState(threadId), { count: 2, items: ['milk'] });
  });

  it('a thread without state gets no snapshot and no state tools; a request state replaces the stored one', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: 'Hi.' }] });
    const agent = newAgent();
    say(agent, 'hi');
    await agent.runAgent();
    assert.ok(!assertSound().some((e) => e.type === 'STATE_SNAPSHOT'));
    assert.deepEqual(app.fake.requests[0].body.tools.map((t: any) => t.name), ['current_time']);

    agent.setState({ theme: 'dark' });
    say(agent, 'again');
    app.fake.enqueue({ content: [{ type: 'text', text: 'Hi again.' }] });
    await agent.runAgent();
    assert.deepEqual(assertSound()[1], { type: 'STATE_SNAPSHOT', snapshot: { theme: 'dark' } });
    assert.deepEqual(await app.server.store.threads.getState(agent.threadId), { theme: 'dark' });
  });

  it('streams reasoning, and the resent reasoning message is not stored again', async () => {
    app.fake.enqueue({ content: [{ type: 'thinking', thinking: 'Let me think about it', signature: 'sig123' }, { type: 'text', text: 'Answer.' }] });
    const agent = newAgent();
    say(agent, 'think');
    const reasoning: string[] = [];
    await agent.runAgent({}, { onReasoningMessageContentEvent: ({ event }) => void reasoning.push(event.delta) });
    const events = assertSound();
    assert.equal(reasoning.join(''), 'Let me think about it');
    assert.deepEqual(
      types(events).filter((t) => t.startsWith('REASONING')),
      ['REASONING_START', 'REASONING_MESSAGE_START', ...reasoning.map(() => 'REASONING_MESSAGE_CONTENT'), 'REASONING_MESSAGE_END', 'REASONING_END'],
    );
    assert.deepEqual(agent.messages.map((m) => m.role), ['user', 'reasoning', 'assistant']);

    say(agent, 'and?');
    app.fake.enqueue({ content: [{ type: 'text', text: 'More.' }] });
    await agent.runAgent();
    assertSound();
    assert.ok(captured[1].body.messages.some((m: any) => m.role === 'reasoning'), 'the client sends its reasoning message back');
    assert.deepEqual(app.fake.requests[1].body.messages.map((m: any) => m.role), ['user', 'assistant', 'user']);
    // The signed thinking block kept by the server goes back to the model as it was.
    assert.deepEqual(app.fake.requests[1].body.messages[1].content[0], { type: 'thinking', thinking: 'Let me think about it', signature: 'sig123' });
  });

  it('a model error ends the stream with RUN_ERROR, seen by onRunErrorEvent', async () => {
    app.fake.enqueue({ error: { status: 529, type: 'overloaded_error', message: 'Overloaded' } });
    const agent = newAgent();
    say(agent, 'hi');
    let error: any;
    await agent.runAgent({}, { onRunErrorEvent: ({ event }) => void (error = event) });
    assert.equal(error.code, 'upstream_error');
    assert.match(error.message, /529.*Overloaded/);
    assert.equal(assertSound().at(-1).type, 'RUN_ERROR');

    // Mid-stream: the open text message and step are closed before RUN_ERROR.
    app.fake.enqueue({ content: [{ type: 'text', text: 'partial answer here' }], streamError: { type: 'overloaded_error', message: 'Overloaded midway' } });
    say(agent, 'again');
    error = undefined;
    await agent.runAgent({}, { onRunErrorEvent: ({ event }) => void (error = event) });
    const events = assertSound();
    assert.match(error.message, /Overloaded midway/);
    assert.deepEqual(types(events).slice(-3), ['TEXT_MESSAGE_END', 'STEP_FINISHED', 'RUN_ERROR']);
  });

  it('gives the model the context entries and system messages as system text', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: 'Hi Ada.' }] });
    const agent = newAgent(randomUUID(), { messages: [{ id: randomUUID(), role: 'system', content: 'Answer in one line.' }] });
    say(agent, 'who am I?');
    await agent.runAgent({ context: [{ description: 'The user name', value: 'Ada' }, { description: 'Current page', value: '/settings' }] });
    assertSound();
    const system = systemText(app.fake.requests[0].body) ?? "";
    assert.match(system, /^You are a helpful assistant\./);
    assert.match(system, /The user name: Ada/);
    assert.match(system, /Current page: \/settings/);
    assert.match(system, /Answer in one line\./);
    // System messages are not stored as turns.
    assert.deepEqual(app.fake.requests[0].body.messages.map((m: any) => m.role), ['user']);
  });

  it('answers 400 (missing/blank ids or messages) and 404 (unknown agent) with the JSON error shape, no stream', async () => {
    const ok = { threadId: 't-400', runId: 'r-400', messages: [{ id: 'u', role: 'user', content: 'hi' }] };
    const cases: Array<[string, unknown, string]> = [
      ['missing threadId', { ...ok, threadId: undefined }, 'threadId'],
      ['blank threadId', { ...ok, threadId: '   ' }, 'threadId'],
      ['missing runId', { ...ok, runId: undefined }, 'runId'],
      ['blank runId', { ...ok, runId: '' }, 'runId'],
      ['missing messages', { ...ok, messages: undefined }, 'messages'],
      ['empty messages', { ...ok, messages: [] }, 'messages'],
      ['bad message', { ...ok, messages: [{ id: 'u', role: 'user' }] }, 'messages'],
      ['bad tool', { ...ok, tools: [{ name: 'has space', description: '' }] }, 'tools'],
    ];
    for (const [what, body, field] of cases) {
      const res = await postJson(url, body);
      assert.equal(res.status, 400, what);
      assert.match(res.headers.get('content-type')!, /application\/json/, what);
      assert.equal(res.body.code, 'bad_request', what);
      assert.equal(typeof res.body.error, 'string', what);
      assert.ok(res.body.issues.some((i: any) => i.path[0] === field), `${what}: ${JSON.stringify(res.body.issues)}`);
    }
    const nf = await postJson(`${app.url}/v1/ag-ui/agents/nobody/runs`, ok);
    assert.equal(nf.status, 404);
    assert.equal(nf.body.code, 'not_found');
    assert.equal(app.fake.requests.length, 0, 'no run started');
    assert.equal(await app.server.store.threads.get('t-400'), undefined);

    // The real client surfaces the status.
    const agent = new HttpAgent({ url: `${app.url}/v1/ag-ui/agents/nobody/runs`, threadId: randomUUID() });
    say(agent, 'hi');
    const origError = console.error;
    console.error = () => {};
    try {
      await assert.rejects(agent.runAgent(), (err: any) => err.status === 404);
    } finally {
      console.error = origError;
    }
  });

  it('answers 409 for a reused runId, and 400 when nothing is new', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: 'one' }] });
    const body = { threadId: randomUUID(), runId: randomUUID(), messages: [{ id: randomUUID(), role: 'user', content: 'hi' }] };
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const frames = [];
    for await (const f of sseFrames(res.body!)) frames.push(f);
    assert.equal(frames.at(-1)?.json.type, 'RUN_FINISHED');
    await settled(body.threadId);
    const again = await postJson(url, { ...body, messages: [...body.messages, { id: randomUUID(), role: 'user', content: 'more' }] });
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'conflict');
    const nothing = await postJson(url, { ...body, runId: randomUUID() });
    assert.equal(nothing.status, 400);
    assert.match(nothing.body.error, /nothing to answer/);
    assert.equal(app.fake.requests.length, 1);
  });

  it('GET /v1/ag-ui/threads/:id/messages restores the conversation the client saw, paginated', async () => {
    app.fake.enqueue(
      { content: [{ type: 'thinking', thinking: 'hm', signature: 's' }, { type: 'text', text: 'Let me see.' }, { type: 'tool_use', id: 'toolu_t', name: 'current_time', input: {} }] },
      { content: [{ type: 'tool_use', id: 'toolu_n', name: 'notify', input: { text: 'x' } }] },
    );
    const agent = newAgent();
    say(agent, 'time and notify');
    await agent.runAgent({ tools: [notify] });
    agent.addMessage({ id: randomUUID(), role: 'tool', toolCallId: 'toolu_n', content: 'notified' });
    app.fake.enqueue({ content: [{ type: 'text', text: 'Done.' }] });
    await agent.runAgent({ tools: [notify] });

    const res = await fetch(`${app.url}/v1/ag-ui/threads/${agent.threadId}/messages`);
    assert.equal(res.status, 200);
    const page = await res.json();
    assert.equal(page.next_cursor, null);
    // The same conversation as the client holds (tool message ids are derived from the call id).
    const shape = (m: any) => ({ ...m, id: m.role === 'tool' ? m.toolCallId : m.id });
    const clientSide = agent.messages.map((m: any) => shape(JSON.parse(JSON.stringify(m))));
    assert.deepEqual(page.items.map(shape), clientSide);

    // Pages of 2 stored turns, ascending and descending.
    const seen: any[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `limit=2${cursor ? `&after=${cursor}` : ''}`;
      const p: any = await (await fetch(`${app.url}/v1/ag-ui/threads/${agent.threadId}/messages?${q}`)).json();
      seen.push(...p.items);
      cursor = p.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, page.items);
    const desc = await (await fetch(`${app.url}/v1/ag-ui/threads/${agent.threadId}/messages?order=desc&limit=200`)).json();
    assert.deepEqual(desc.items, [...page.items].reverse());

    assert.equal((await fetch(`${app.url}/v1/ag-ui/threads/nope/messages`)).status, 404);
    const badLimit = await fetch(`${app.url}/v1/ag-ui/threads/${agent.threadId}/messages?limit=0`);
    assert.equal(badLimit.status, 400);
    assert.equal((await badLimit.json()).code, 'bad_request');
    assert.equal((await fetch(`${app.url}/v1/ag-ui/threads/${agent.threadId}/messages?after=garbage`)).status, 400);
  });

  it('seeds a new thread from client-held history, and refuses message ids of another thread', async () => {
    const history: Message[] = [
      { id: randomUUID(), role: 'user', content: 'earlier question' },
      { id: randomUUID(), role: 'assistant', content: 'earlier answer' },
    ];
    app.fake.enqueue({ content: [{ type: 'text', text: 'Sure.' }] });
    const agent = newAgent(randomUUID(), { messages: history });
    say(agent, 'follow-up');
    await agent.runAgent();
    assertSound();
    assert.deepEqual(app.fake.requests[0].body.messages.map((m: any) => [m.role, m.content[0].text]), [
      ['user', 'earlier question'],
      ['assistant', 'earlier answer'],
      ['user', 'follow-up'],
    ]);

    const res = await postJson(url, { threadId: randomUUID(), runId: randomUUID(), messages: [history[0]] });
    assert.equal(res.status, 409);
  });

  it('accepts a minimal curl body (a message without id, empty tools)', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: 'Hello!' }] });
    const body = { threadId: `thread-${randomUUID()}`, runId: `run-${randomUUID()}`, messages: [{ role: 'user', content: 'hello' }], tools: [] };
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(res.status, 200);
    const raw = await res.text();
    const events = raw.split('\n\n').filter((f) => f.startsWith('data: ')).map((f) => JSON.parse(f.slice(6)));
    assert.deepEqual(agUiStreamProblems(events, body), []);
    assert.deepEqual(events.at(-1).outcome, { type: 'success' });
    assert.deepEqual(app.fake.requests[0].body.messages, [{ role: 'user', content: [{ type: 'text', text: 'hello' }] }]);
  });

  it('keeps the run going when the client disconnects', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: 'slow reply' }], delayMs: 200 });
    const controller = new AbortController();
    const body = { threadId: randomUUID(), runId: randomUUID(), messages: [{ id: randomUUID(), role: 'user', content: 'hi' }] };
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: controller.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/event-stream/);
    controller.abort();
    await app.server.runtime.get(body.runId)?.done;
    assert.equal((await app.server.store.runs.get(body.runId))?.status, 'completed');
  });
});
