import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { Role, TaskState, type StreamResponse, type Task } from '@a2a-js/sdk';
import { ClientFactory, type Client } from '@a2a-js/sdk/client';
import { ContentTypeNotSupportedError, RequestMalformedError, TaskNotCancelableError, TaskNotFoundError, UnsupportedOperationError } from '@a2a-js/sdk/errors';
import { startFakeAnthropic, systemText } from './fixtures/fake-anthropic.js';
import { artifactText, asTask, collect, message, send, streamedText, textOf } from './helpers/a2a.js';
import { dialects, testDatabase } from './helpers/databases.js';
import { postJson, waitFor } from './helpers/http.js';
import { startTestServer, tempDir } from './helpers/server.js';
import { useServer } from './helpers/setup.js';
import { words } from './helpers/text.js';

const AGENTS = {
  agents: {
    assistant: { name: 'Assistant', description: 'General help.', system: 'You help.' },
    researcher: { name: 'Researcher', description: 'Finds facts.', system: 'You research.', model: 'claude-research' },
  },
};

/** POST a raw JSON-RPC request (protocol-level checks the client cannot make). */
async function rpc(url: string, body: unknown, headers: Record<string, string> = { 'A2A-Version': '1.0' }) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, json };
}

for (const dialect of dialects()) describe(`A2A with the @a2a-js/sdk client [${dialect}]`, () => {
  const app = useServer({ dialect, agents: AGENTS });
  let client: Client;

  before(async () => {
    client = await new ClientFactory().createFromUrl(app.url);
  });

  describe('agent cards', () => {
    it('resolves the server card: skills are the agents, streaming, JSON-RPC endpoint on this host, v1.0 and v0.3', async () => {
      const card = await client.getAgentCard();
      assert.equal(card.name, 'Agent Server');
      assert.deepEqual(
        card.skills.map((s) => [s.id, s.name, s.description]),
        [
          ['assistant', 'Assistant', 'General help.'],
          ['researcher', 'Researcher', 'Finds facts.'],
        ],
      );
      assert.equal(card.capabilities?.streaming, true);
      assert.deepEqual(card.defaultInputModes, ['text/plain', 'application/json']);
      assert.deepEqual(card.defaultOutputModes, ['text/plain', 'application/json']);
      assert.deepEqual(
        card.supportedInterfaces.map((i) => [i.url, i.protocolBinding, i.protocolVersion]),
        [
          [`${app.url}/v1/a2a`, 'JSONRPC', '1.0'],
          [`${app.url}/v1/a2a`, 'JSONRPC', '0.3'],
        ],
      );
      assert.equal(client.protocolVersion, '1.0');
    });

    it('serves a per-agent card whose endpoint runs that agent', async () => {
      const researcher = await new ClientFactory().createFromUrl(`${app.url}/v1/a2a/agents/researcher/`);
      const card = await researcher.getAgentCard();
      assert.equal(card.name, 'Researcher');
      assert.deepEqual(card.skills.map((s) => s.id), ['researcher']);
      assert.equal(card.supportedInterfaces[0].url, `${app.url}/v1/a2a/agents/researcher`);
      app.fake.enqueue({ content: [{ type: 'text', text: 'Found it.' }] });
      const task = asTask(await researcher.sendMessage(send(message('look it up'))));
      assert.equal(task.status?.state, TaskState.TASK_STATE_COMPLETED);
      assert.equal(task.metadata?.agentId, 'researcher');
      assert.equal(app.fake.requests[0].body.model, 'claude-research');
      assert.equal(systemText(app.fake.requests[0].body), 'You research.');
      // A task of another agent is not visible on this agent's endpoint.
      app.fake.enqueue({ content: [{ type: 'text', text: 'hi' }] });
      const other = asTask(await client.sendMessage(send(message('hi'))));
      await assert.rejects(researcher.getTask({ tenant: '', id: other.id }), (e) => e instanceof TaskNotFoundError);
    });

    it('answers ETag / If-None-Match with 304, gives v0.3 clients a v0.3 card, and 404 for an unknown agent', async () => {
      for (const path of ['/.well-known/agent-card.json', '/v1/a2a/.well-known/agent-card.json', '/v1/a2a/agents/assistant/.well-known/agent-card.json']) {
        const first = await fetch(`${app.url}${path}`, { headers: { 'A2A-Version': '1.0' } });
        assert.equal(first.status, 200, path);
        const etag = first.headers.get('etag');
        assert.ok(etag, 'an ETag');
        await first.arrayBuffer();
        // fetch() adds `Cache-Control: no-cache` to conditional requests unless told otherwise (curl does not).
        const again = await fetch(`${app.url}${path}`, { headers: { 'A2A-Version': '1.0', 'If-None-Match': etag, 'Cache-Control': 'max-age=0' } });
        assert.equal(again.status, 304, path);
      }
      const legacy = await (await fetch(`${app.url}/.well-known/agent-card.json`)).json();
      assert.equal(legacy.url, `${app.url}/v1/a2a`);
      assert.equal(legacy.protocolVersion, '0.3');
      assert.equal(legacy.preferredTransport, 'JSONRPC');
      assert.equal(legacy.capabilities.streaming, true);
      assert.deepEqual(legacy.skills.map((s: { id: string }) => s.id), ['assistant', 'researcher']);
      const missing = await fetch(`${app.url}/v1/a2a/agents/nobody/.well-known/agent-card.json`);
      assert.equal(missing.status, 404);
      assert.equal((await missing.json()).code, 'not_found');
    });

    it('advertises AGENTSDK_PUBLIC_URL when it is configured', async () => {
      const other = await startTestServer({ dialect, modelUrl: app.fake.url, env: { AGENTSDK_PUBLIC_URL: 'https://agents.example.com/' } });
      try {
        const card = await (await fetch(`${other.url}/.well-known/agent-card.json`, { headers: { 'A2A-Version': '1.0' } })).json();
        assert.equal(card.supportedInterfaces[0].url, 'https://agents.example.com/v1/a2a');
      } finally {
        await other.stop();
      }
    });
  });

  describe('messages and tasks', () => {
    it('send blocks until the task ends: completed, the answer as artifact and status message, history', async () => {
      app.fake.enqueue({ content: [{ type: 'text', text: 'Hello there, friend.' }] });
      const m = message('hi', { contextId: 'a2a-ctx-send' });
      const task = asTask(await client.sendMessage(send(m)));
      assert.equal(task.contextId, 'a2a-ctx-send');
      assert.equal(task.status?.state, TaskState.TASK_STATE_COMPLETED);
      assert.equal(textOf(task.status?.message?.parts), 'Hello there, friend.');
      assert.equal(artifactText(task), 'Hello there, friend.');
      assert.equal(task.artifacts.length, 1);
      assert.equal(task.artifacts[0].parts.length, 1, 'streamed chunks read back as one part');
      assert.deepEqual(
        task.history.map((h) => [h.role, textOf(h.parts)]),
        [
          [Role.ROLE_USER, 'hi'],
          [Role.ROLE_AGENT, 'Hello there, friend.'],
        ],
      );
      assert.equal(task.history[0].messageId, m.messageId);
      // The task is the run, the context is the thread.
      const run = await app.server.store.runs.get(task.id);
      assert.equal(run?.status, 'completed');
      assert.equal(run?.thread_id, 'a2a-ctx-send');
      assert.equal(run?.origin, 'a2a');
      assert.deepEqual(app.fake.requests[0].body.messages, [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
    });

    it('returns at once when asked (returnImmediately), and the task completes later', async () => {
      app.fake.enqueue({ content: [{ type: 'text', text: 'Later.' }], delayMs: 300 });
      const first = asTask(await client.sendMessage(send(message('go'), { returnImmediately: true })));
      assert.ok([TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING].includes(first.status!.state), `not ended yet (${first.status?.state})`);
      const done = await waitFor(async () => {
        const t = await client.getTask({ tenant: '', id: first.id });
        return t.status?.state === TaskState.TASK_STATE_COMPLETED && t;
      });
      assert.equal(artifactText(done), 'Later.');
    });

    it('streams: the task first, then working, the answer as artifact chunks, then completed; ids match the request', async () => {
      app.fake.enqueue({ content: [{ type: 'text', text: words(12) }] });
      const m = message('stream please', { contextId: 'a2a-ctx-stream' });
      const events = await collect(client.sendMessageStream(send(m)));
      const first = events[0].payload;
      assert.equal(first?.$case, 'task');
      const task = first.value as Task;
      assert.equal(task.contextId, 'a2a-ctx-stream');
      assert.equal(task.status?.state, TaskState.TASK_STATE_SUBMITTED);
      assert.equal(task.history[0].messageId, m.messageId);
      for (const e of events.slice(1)) {
        const v = e.payload!.value as { taskId: string; contextId: string };
        assert.equal(v.taskId, task.id);
        assert.equal(v.contextId, 'a2a-ctx-stream');
      }
      const kinds = events.map((e) => (e.payload?.$case === 'statusUpdate' ? `status:${TaskState[e.payload.value.status!.state]}` : e.payload!.$case));
      assert.equal(kinds[1], 'status:TASK_STATE_WORKING');
      assert.equal(kinds.at(-1), 'status:TASK_STATE_COMPLETED');
      const chunks = events.flatMap((e) => (e.payload?.$case === 'artifactUpdate' ? [e.payload.value] : []));
      assert.equal(chunks.length, 12 + 1, 'one chunk per streamed word, then the last chunk');
      assert.deepEqual(chunks.map((c) => c.append), [false, ...Array(12).fill(true)]);
      assert.deepEqual(chunks.map((c) => c.lastChunk), [...Array(12).fill(false), true]);
      assert.equal(new Set(chunks.map((c) => c.artifact!.artifactId)).size, 1);
      assert.equal(chunks.map((c) => textOf(c.artifact!.parts)).join(''), words(12));
      // Read back, the task is the same.
      const got = await client.getTask({ tenant: '', id: task.id });
      assert.equal(got.status?.state, TaskState.TASK_STATE_COMPLETED);
      assert.equal(artifactText(got), words(12));
    });

    it('streams tool calls and results as working status messages', async () => {
      app.fake.enqueue({ content: [{ type: 'tool_use', id: 'toolu_a2a', name: 'current_time', input: { timezone: 'UTC' } }] }, { content: [{ type: 'text', text: 'It is noon.' }] });
      const events = await collect(client.sendMessageStream(send(message('time?'))));
      const messages = events.flatMap((e) => (e.payload?.$case === 'statusUpdate' && e.payload.value.status?.message ? [e.payload.value.status.message] : []));
      const data = messages.flatMap((m) => m.parts.flatMap((p) => (p.content?.$case === 'data' ? [p.content.value] : [])));
      assert.deepEqual(data.map((d: any) => [d.type, d.id, d.name]), [
        ['tool_call', 'toolu_a2a', 'current_time'],
        ['tool_result', 'toolu_a2a', 'current_time'],
      ]);
      assert.deepEqual((data[0] as any).input, { timezone: 'UTC' });
      const task = await client.getTask({ tenant: '', id: (events[0].payload!.value as Task).id });
      assert.equal(artifactText(task), 'It is noon.');
      assert.deepEqual(task.history.map((h) => h.messageId).slice(1, 3), ['toolu_a2a-call', 'toolu_a2a-result']);
    });

    it('get returns status, artifacts and history (historyLength limits it)', async () => {
      app.fake.enqueue({ content: [{ type: 'text', text: 'Answer.' }] });
      const sent = asTask(await client.sendMessage(send(message('question'))));
      const got = await client.getTask({ tenant: '', id: sent.id });
      assert.deepEqual(got, sent);
      const short = await client.getTask({ tenant: '', id: sent.id, historyLength: 1 });
      assert.deepEqual(short.history.map((h) => textOf(h.parts)), ['Answer.']);
    });

    it('multi-turn: messages in one contextId share the thread, so the model remembers', async () => {
      app.fake.enqueue({ content: [{ type: 'text', text: 'Nice to meet you, Ada.' }] }, { content: [{ type: 'text', text: 'Your name is Ada.' }] });
      const first = asTask(await client.sendMessage(send(message('My name is Ada.', { contextId: 'a2a-memory' }))));
      const second = asTask(await client.sendMessage(send(message('What is my name?', { contextId: 'a2a-memory' }))));
      assert.notEqual(first.id, second.id, 'each message is a new task');
      assert.equal(second.contextId, 'a2a-memory');
      assert.equal(artifactText(second), 'Your name is Ada.');
      assert.deepEqual(app.fake.requests[1].body.messages, [
        { role: 'user', content: [{ type: 'text', text: 'My name is Ada.' }] },
        { role: 'assistant', content: [{ type: 'text', text: 'Nice to meet you, Ada.' }] },
        { role: 'user', content: [{ type: 'text', text: 'What is my name?' }] },
      ]);
    });

    it('the server-level endpoint runs the agent named in metadata, or the context’s agent', async () => {
      app.fake.enqueue({ content: [{ type: 'text', text: 'Researched.' }] }, { content: [{ type: 'text', text: 'Again.' }] });
      const t = asTask(await client.sendMessage(send(message('dig', { contextId: 'a2a-routed' }), {}, { agentId: 'researcher' })));
      assert.equal(t.metadata?.agentId, 'researcher');
      assert.equal(systemText(app.fake.requests[0].body), 'You research.');
      const again = asTask(await client.sendMessage(send(message('more', { contextId: 'a2a-routed' }))));
      assert.equal(again.metadata?.agentId, 'researcher', 'the context keeps its agent');
      await assert.rejects(client.sendMessage(send(message('x'), {}, { agentId: 'nobody' })), (e) => e instanceof RequestMalformedError && /nobody/.test(e.message));
    });

    it('a model failure is a failed task with the error as status message', async () => {
      app.fake.enqueue({ error: { status: 500, type: 'api_error', message: 'boom' } });
      const task = asTask(await client.sendMessage(send(message('fail'))));
      assert.equal(task.status?.state, TaskState.TASK_STATE_FAILED);
      assert.match(textOf(task.status?.message?.parts), /boom/);
      assert.equal(task.status?.message?.metadata?.code, 'upstream_error');
    });
  });

  describe('cancel and resubscribe', () => {
    /** A streamed answer (`text`, a chunk every 15 ms), read until `artifacts` chunks have come. */
    const streamUntil = async (text: string, prompt: string, artifacts: number) => {
      app.fake.enqueue({ content: [{ type: 'text', text }], chunkDelayMs: 15 });
      const stream = client.sendMessageStream(send(message(prompt)))[Symbol.asyncIterator]();
      const seen: StreamResponse[] = [];
      while (seen.filter((e) => e.payload?.$case === 'artifactUpdate').length < artifacts) seen.push((await stream.next()).value as StreamResponse);
      return { stream, seen, taskId: (seen[0].payload!.value as Task).id };
    };

    it('cancel ends a running task (the run is cancelled); a task that has ended, canceled included, is not cancelable', async () => {
      app.fake.enqueue({ hang: true });
      const started = asTask(await client.sendMessage(send(message('hang'), { returnImmediately: true })));
      await waitFor(() => app.fake.inflight() > 0, 5000, 'the model call');
      const cancelled = await client.cancelTask({ tenant: '', id: started.id, metadata: undefined });
      assert.equal(cancelled.status?.state, TaskState.TASK_STATE_CANCELED);
      assert.equal((await app.server.store.runs.get(started.id))?.status, 'cancelled');
      // A canceled task is terminal: cancelling it again is TaskNotCancelable (it stays canceled).
      await assert.rejects(client.cancelTask({ tenant: '', id: started.id, metadata: undefined }), (e) => e instanceof TaskNotCancelableError);
      assert.equal((await client.getTask({ tenant: '', id: started.id })).status?.state, TaskState.TASK_STATE_CANCELED);

      app.fake.enqueue({ content: [{ type: 'text', text: 'done' }] });
      const finished = asTask(await client.sendMessage(send(message('quick'))));
      await assert.rejects(client.cancelTask({ tenant: '', id: finished.id, metadata: undefined }), (e) => e instanceof TaskNotCancelableError);
    });

    it('a streaming client sees the cancellation as the final status', async () => {
      app.fake.enqueue({ hang: true });
      const events: StreamResponse[] = [];
      for await (const e of client.sendMessageStream(send(message('hang on')))) {
        events.push(e);
        if (e.payload?.$case === 'statusUpdate' && e.payload.value.status?.state === TaskState.TASK_STATE_WORKING) {
          await client.cancelTask({ tenant: '', id: e.payload.value.taskId, metadata: undefined });
        }
      }
      const last = events.at(-1)!.payload!;
      assert.equal(last.$case, 'statusUpdate');
      assert.equal((last.value as { status: { state: TaskState } }).status.state, TaskState.TASK_STATE_CANCELED);
    });

    it('resubscribe mid-run: the task so far, then the rest live, with nothing lost or repeated', async () => {
      const { stream, seen, taskId } = await streamUntil(words(30), 'long answer', 5);

      const resumed = await collect(client.resubscribeTask({ tenant: '', id: taskId }));
      const snapshot = resumed[0].payload;
      assert.equal(snapshot?.$case, 'task');
      const snap = snapshot.value as Task;
      assert.equal(snap.id, taskId);
      assert.equal(snap.status?.state, TaskState.TASK_STATE_WORKING);
      const before = artifactText(snap);
      assert.ok(before.length > 0 && before.length < words(30).length, 'the snapshot has part of the answer');
      assert.equal(before + streamedText(resumed.slice(1)), words(30), 'snapshot + live chunks = the answer, exactly');
      const last = resumed.at(-1)!.payload!;
      assert.equal(last.$case, 'statusUpdate');
      assert.equal((last.value as { status: { state: TaskState } }).status.state, TaskState.TASK_STATE_COMPLETED);
      // The original stream also runs to the end.
      for (let r = await stream.next(); !r.done; r = await stream.next()) seen.push(r.value);
      assert.equal(streamedText(seen), words(30));
    });

    it('a live task read with historyLength leaves the task whole for the next read and the stream', async () => {
      // While a run is live here, reads come from the view the SDK builds from published updates;
      // the SDK trims a loaded task's history in place for historyLength, so a read must get a copy.
      const { stream, seen, taskId } = await streamUntil(words(20), 'a live question', 3);
      const none = await client.getTask({ tenant: '', id: taskId, historyLength: 0 });
      assert.equal(none.status?.state, TaskState.TASK_STATE_WORKING, 'read while the run is live');
      assert.deepEqual(none.history, []);
      const whole = await client.getTask({ tenant: '', id: taskId });
      assert.ok(whole.history.some((h) => h.role === Role.ROLE_USER && textOf(h.parts) === 'a live question'), 'the user turn is still in the task');
      const partial = artifactText(whole);
      assert.ok(partial.length > 0 && words(20).startsWith(partial), 'the artifact so far, once');
      for (let r = await stream.next(); !r.done; r = await stream.next()) seen.push(r.value);
      assert.equal(streamedText(seen), words(20));
      const done = await client.getTask({ tenant: '', id: taskId });
      assert.equal(artifactText(done), words(20));
      assert.ok(done.history.some((h) => h.role === Role.ROLE_USER && textOf(h.parts) === 'a live question'));
    });

    it('resubscribing to an ended task is refused as the protocol says', async () => {
      app.fake.enqueue({ content: [{ type: 'text', text: 'over' }] });
      const t = asTask(await client.sendMessage(send(message('end'))));
      await assert.rejects(collect(client.resubscribeTask({ tenant: '', id: t.id })), (e) => e instanceof UnsupportedOperationError);
    });

    it('unknown tasks are TaskNotFound for get, cancel and resubscribe', async () => {
      await assert.rejects(client.getTask({ tenant: '', id: 'no-such-task' }), (e) => e instanceof TaskNotFoundError);
      await assert.rejects(client.cancelTask({ tenant: '', id: 'no-such-task', metadata: undefined }), (e) => e instanceof TaskNotFoundError);
      await assert.rejects(collect(client.resubscribeTask({ tenant: '', id: 'no-such-task' })), (e) => e instanceof TaskNotFoundError);
      await assert.rejects(client.sendMessage(send(message('x', { taskId: 'no-such-task' }))), (e) => e instanceof TaskNotFoundError);
    });
  });

  describe('tasks are runs', () => {
    it('a run started over another protocol is a task; a waiting run is input-required and can be cancelled', async () => {
      app.fake.enqueue({ content: [{ type: 'tool_use', id: 'toolu_client', name: 'ask_user', input: { question: 'Which city?' } }] });
      const run = await app.server.runtime.start({
        agentId: 'assistant',
        prompt: 'weather?',
        clientTools: [{ name: 'ask_user', input_schema: { type: 'object' } }],
        origin: 'test',
        access: { id: 'local', admin: true },
      });
      await run.done;
      const task = await client.getTask({ tenant: '', id: run.runId });
      assert.equal(task.contextId, run.threadId);
      assert.equal(task.status?.state, TaskState.TASK_STATE_INPUT_REQUIRED);
      const waitingOn = task.status?.message?.parts.flatMap((p) => (p.content?.$case === 'data' ? [p.content.value] : []));
      assert.deepEqual(waitingOn, [{ type: 'tool_call', id: 'toolu_client', name: 'ask_user', input: { question: 'Which city?' } }]);
      // Client tool results cannot travel over A2A: continuing such a task is refused clearly (approvals can; see a2a-approvals).
      await assert.rejects(client.sendMessage(send(message('Paris', { taskId: run.runId }))), (e) => e instanceof UnsupportedOperationError);
      const cancelled = await client.cancelTask({ tenant: '', id: run.runId, metadata: undefined });
      assert.equal(cancelled.status?.state, TaskState.TASK_STATE_CANCELED);
      assert.equal((await app.server.store.runs.get(run.runId))?.status, 'cancelled');
    });

    it('a lean /v1/run result reads back as a completed task', async () => {
      app.fake.enqueue({ content: [{ type: 'text', text: 'Lean answer.' }] });
      const { body } = await postJson(`${app.url}/v1/run`, { prompt: 'lean', session_id: 'lean-thread' });
      const task = await client.getTask({ tenant: '', id: body.run_id });
      assert.equal(task.contextId, 'lean-thread');
      assert.equal(task.status?.state, TaskState.TASK_STATE_COMPLETED);
      assert.equal(artifactText(task), 'Lean answer.');
      assert.deepEqual(task.history.map((h) => textOf(h.parts)), ['lean', 'Lean answer.']);
    });

    it('ListTasks filters by context', async () => {
      app.fake.enqueue({ content: [{ type: 'text', text: 'one' }] }, { content: [{ type: 'text', text: 'two' }] });
      await client.sendMessage(send(message('1', { contextId: 'a2a-list' })));
      await client.sendMessage(send(message('2', { contextId: 'a2a-list' })));
      const page = await client.listTasks({ tenant: '', contextId: 'a2a-list', status: TaskState.TASK_STATE_UNSPECIFIED, pageSize: 1, pageToken: '', statusTimestampAfter: undefined });
      assert.equal(page.totalSize, 2);
      assert.equal(page.tasks.length, 1);
      assert.equal(page.tasks[0].history[0] && textOf(page.tasks[0].history[0].parts), '2', 'newest first');
      const next = await client.listTasks({ tenant: '', contextId: 'a2a-list', status: TaskState.TASK_STATE_UNSPECIFIED, pageSize: 1, pageToken: page.nextPageToken, statusTimestampAfter: undefined });
      assert.equal(textOf(next.tasks[0].history[0].parts), '1');
      assert.equal(next.nextPageToken, '');
    });
  });

  describe('protocol errors', () => {
    it('bad input is invalid params: no content, a reused messageId, an agent-role message, a bad contextId', async () => {
      const empty = message('   ');
      await assert.rejects(client.sendMessage(send(empty)), (e) => e instanceof RequestMalformedError);
      app.fake.enqueue({ content: [{ type: 'text', text: 'ok' }] });
      const m = message('once');
      await client.sendMessage(send(m));
      await assert.rejects(client.sendMessage(send(m)), (e) => e instanceof RequestMalformedError && /already used/.test(e.message));
      await assert.rejects(client.sendMessage(send({ ...message('x'), role: Role.ROLE_AGENT })), (e) => e instanceof RequestMalformedError);
      await assert.rejects(client.sendMessage(send(message('x', { contextId: 'has spaces' }))), (e) => e instanceof RequestMalformedError);
      const file = { ...message('x'), parts: [{ content: { $case: 'raw' as const, value: Buffer.from('zip') }, metadata: undefined, filename: 'a.zip', mediaType: 'application/zip' }] };
      await assert.rejects(client.sendMessage(send(file)), (e) => e instanceof ContentTypeNotSupportedError);
      assert.equal(app.fake.requests.length, 1, 'nothing bad reached the model');
    });

    it('raw JSON-RPC: parse error, method not found, invalid params, not found; JSON, never HTML or 500', async () => {
      const url = `${app.url}/v1/a2a`;
      const parse = await rpc(url, '{"jsonrpc":"2.0",');
      assert.equal(parse.status, 200);
      assert.equal(parse.json.error.code, -32700);
      const method = await rpc(url, { jsonrpc: '2.0', id: 7, method: 'NoSuchMethod', params: {} });
      assert.deepEqual([method.json.id, method.json.error.code], [7, -32601]);
      const params = await rpc(url, { jsonrpc: '2.0', id: 'x', method: 'SendMessage', params: {} });
      assert.deepEqual([params.json.id, params.json.error.code], ['x', -32602]);
      const notFound = await rpc(url, { jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: 'nope' } });
      assert.equal(notFound.json.error.code, -32001);
      const legacyNotFound = await rpc(url, { jsonrpc: '2.0', id: 2, method: 'tasks/get', params: { id: 'nope' } }, {});
      assert.equal(legacyNotFound.json.error.code, -32001);
      const wrongType = await rpc(url, 'hello', { 'content-type': 'text/plain', 'A2A-Version': '1.0' });
      assert.equal(wrongType.json.error.code, -32005);
      const tooBig = await rpc(url, JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'SendMessage', params: { pad: 'x'.repeat(9 * 1024 * 1024) } }));
      assert.deepEqual([tooBig.status, tooBig.json.error.code], [413, -32600]);
      const get = await fetch(url);
      assert.equal(get.status, 404);
      assert.match(get.headers.get('content-type') ?? '', /json/);
      const unknownAgent = await rpc(`${app.url}/v1/a2a/agents/nobody`, { jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: 'x' } });
      assert.equal(unknownAgent.status, 404);
      for (const r of [parse, method, params, notFound, legacyNotFound, wrongType, tooBig]) {
        assert.match(r.type, /application\/json/);
        assert.notEqual(r.status, 500);
      }
    });

    it('v0.3 clients (no A2A-Version header) can send and stream with the v0.3 method names and shapes', async () => {
      app.fake.enqueue({ content: [{ type: 'text', text: 'Legacy hello.' }] });
      const res = await rpc(
        `${app.url}/v1/a2a`,
        { jsonrpc: '2.0', id: 1, method: 'message/send', params: { message: { kind: 'message', messageId: randomUUID(), role: 'user', parts: [{ kind: 'text', text: 'hi' }] }, configuration: { blocking: true } } },
        {},
      );
      assert.equal(res.json.result.kind, 'task');
      assert.equal(res.json.result.status.state, 'completed');
      assert.equal(res.json.result.artifacts[0].parts[0].text, 'Legacy hello.');

      app.fake.enqueue({ content: [{ type: 'text', text: 'one two' }] });
      const stream = await fetch(`${app.url}/v1/a2a`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 'legacy-stream', method: 'message/stream', params: { message: { kind: 'message', messageId: randomUUID(), role: 'user', parts: [{ kind: 'text', text: 'go' }] } } }),
      });
      assert.match(stream.headers.get('content-type') ?? '', /^text\/event-stream/);
      const frames = (await stream.text()).split('\n\n').filter(Boolean).map((f) => JSON.parse(f.replace(/^data: /, '')));
      assert.ok(frames.every((f) => f.jsonrpc === '2.0' && f.id === 'legacy-stream'));
      assert.deepEqual(frames.map((f) => f.result.kind), ['task', 'status-update', 'artifact-update', 'artifact-update', 'artifact-update', 'status-update']);
      assert.equal(frames.at(-1).result.final, true);
      assert.equal(frames.at(-1).result.status.state, 'completed');
    });
  });
});

for (const dialect of dialects()) describe(`A2A tasks survive a restart [${dialect}]`, () => {
  it('reads the task back from storage in a new server process', async () => {
    const fake = await startFakeAnthropic();
    const tmp = tempDir();
    const db = await testDatabase(dialect, tmp.dir);
    const dbUrl = db.url;
    try {
      const first = await startTestServer({ modelUrl: fake.url, dbUrl });
      fake.enqueue({ content: [{ type: 'text', text: 'Remember this.' }] });
      const c1 = await new ClientFactory().createFromUrl(first.url);
      const sent = asTask(await c1.sendMessage(send(message('store it', { contextId: 'a2a-restart' }))));
      await first.stop();

      const second = await startTestServer({ modelUrl: fake.url, dbUrl });
      try {
        const c2 = await new ClientFactory().createFromUrl(second.url);
        const got = await c2.getTask({ tenant: '', id: sent.id });
        assert.equal(got.status?.state, TaskState.TASK_STATE_COMPLETED);
        assert.equal(artifactText(got), 'Remember this.');
        assert.deepEqual(
          got.history.map((h) => h.messageId),
          sent.history.map((h) => h.messageId),
        );
        assert.deepEqual(got.artifacts, sent.artifacts);
      } finally {
        await second.stop();
      }
    } finally {
      await fake.close();
      await db.drop();
      tmp.cleanup();
    }
  });
});
