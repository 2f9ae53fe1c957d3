/** Rules that hold the same on every surface (one service layer), and conformance details of outside clients. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TaskState } from '@a2a-js/sdk';
import { TaskNotCancelableError } from '@a2a-js/sdk/errors';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import { DefaultChatTransport, type UIMessage } from 'ai';
import { RunEvent } from '../contracts/events.js';
import type { AppRouter } from '../src/trpc/router.js';
import { ClientFactory } from '@a2a-js/sdk/client';
import { TestChat, textOf } from './helpers/ai-chat.js';
import { call, openSse } from './helpers/api.js';
import { dialects } from './helpers/databases.js';
import { postSse, waitFor } from './helpers/http.js';
import { useServer } from './helpers/setup.js';
import { words } from './helpers/text.js';

const AGENTS = { agents: { assistant: { system: 'You help.', tools: { current_time: 'ask' } } } };
const askTime = { content: [{ type: 'tool_use' as const, id: 'toolu_time', name: 'current_time', input: {} }] };

for (const dialect of dialects()) describe(`one rule on every surface [${dialect}]`, () => {
  const app = useServer({ dialect, agents: AGENTS });

  /** A run that asked for an approval and now waits (status `waiting`). */
  async function waitingRun(): Promise<string> {
    app.fake.enqueue(askTime);
    const res = await postSse(`${app.url}/v1/runs`, { prompt: 'what time is it?' });
    const events = res.frames.filter((f) => f.json).map((f) => RunEvent.parse(f.json));
    const runId = (events[0] as { run_id: string }).run_id;
    assert.equal((await call(`${app.url}/v1/runs/${runId}`, 'GET')).body.status, 'waiting');
    return runId;
  }

  /** The run's stored event stream ends with a cancelled run.finished, and the record says cancelled. */
  async function assertCancelled(runId: string): Promise<void> {
    const run = (await call(`${app.url}/v1/runs/${runId}`, 'GET')).body;
    assert.equal(run.status, 'cancelled');
    assert.equal(run.stop_reason, 'cancelled');
    assert.equal(run.pending, null);
    const sse = await openSse(`${app.url}/v1/runs/${runId}/events`);
    await sse.done;
    const last = RunEvent.parse(sse.frames.at(-1)!.json);
    assert.equal(last.type, 'run.finished');
    assert.equal((last as { status: string }).status, 'cancelled');
    // A follower resuming after the waiting stretch gets exactly the terminal event.
    const waitedAt = sse.frames.findIndex((f) => f.json?.type === 'run.finished' && f.json.status === 'waiting');
    const resumed = await openSse(`${app.url}/v1/runs/${runId}/events`, { headers: { 'last-event-id': String(sse.frames[waitedAt].id) } });
    await resumed.done;
    assert.deepEqual(
      resumed.frames.map((f) => f.json.type),
      ['run.finished'],
    );
  }

  it('REST: cancelling a waiting run ends it cancelled at once; a second cancel is 409', async () => {
    const runId = await waitingRun();
    const res = await call(`${app.url}/v1/runs/${runId}/cancel`, 'POST');
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual(res.body, { run_id: runId, status: 'cancelled' });
    await assertCancelled(runId);
    const again = await call(`${app.url}/v1/runs/${runId}/cancel`, 'POST');
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'conflict');
    // Its approval can no longer be answered.
    const late = await call(`${app.url}/v1/runs/${runId}/inputs`, 'POST', { decisions: [{ approval_id: 'toolu_time', approved: true }] });
    assert.equal(late.status, 409);
  });

  it('tRPC: runs.cancel of a waiting run answers the same; a second cancel is CONFLICT', async () => {
    const trpc = createTRPCClient<AppRouter>({ links: [httpLink({ url: `${app.url}/trpc` })] });
    const runId = await waitingRun();
    assert.deepEqual(await trpc.runs.cancel.mutate({ id: runId }), { run_id: runId, status: 'cancelled' });
    await assertCancelled(runId);
    await assert.rejects(trpc.runs.cancel.mutate({ id: runId }), (e) => e instanceof TRPCClientError && e.data?.code === 'conflict' && e.data?.httpStatus === 409);
  });

  it('A2A: tasks/cancel of an input-required task cancels it; cancelling a canceled task is TaskNotCancelable', async () => {
    const client = await new ClientFactory().createFromUrl(app.url);
    const runId = await waitingRun();
    assert.equal((await client.getTask({ tenant: '', id: runId })).status?.state, TaskState.TASK_STATE_INPUT_REQUIRED);
    const task = await client.cancelTask({ tenant: '', id: runId, metadata: undefined });
    assert.equal(task.status?.state, TaskState.TASK_STATE_CANCELED);
    await assertCancelled(runId);
    await assert.rejects(client.cancelTask({ tenant: '', id: runId, metadata: undefined }), (e) => e instanceof TaskNotCancelableError);
  });

  it('a message id another thread holds is refused with one wording on AG-UI and the AI SDK', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: 'hi' }] });
    const first = await postSse(`${app.url}/v1/ai-sdk/agents/assistant/runs`, { id: 'chat-a', messages: [{ id: 'msg-shared', role: 'user', parts: [{ type: 'text', text: 'hi' }] }] });
    assert.equal(first.status, 200);
    await waitFor(async () => (await call(`${app.url}/v1/threads/chat-a`, 'GET')).status === 200, 5000, 'the chat is stored');
    const aiSdk = await call(`${app.url}/v1/ai-sdk/agents/assistant/runs`, 'POST', { id: 'chat-b', messages: [{ id: 'msg-shared', role: 'user', parts: [{ type: 'text', text: 'hi' }] }] });
    const agUi = await call(`${app.url}/v1/ag-ui/agents/assistant/runs`, 'POST', {
      threadId: 'thread-c',
      runId: 'run-c',
      messages: [{ id: 'msg-shared', role: 'user', content: 'hi' }],
      tools: [],
      context: [],
      state: {},
      forwardedProps: {},
    });
    for (const res of [aiSdk, agUi]) {
      assert.equal(res.status, 409, JSON.stringify(res.body));
      assert.equal(res.body.code, 'conflict');
      assert.equal(res.body.error, 'message id(s) already used in another thread: msg-shared; message ids must be unique');
    }
    // Nothing was stored for the refused requests.
    assert.equal((await call(`${app.url}/v1/threads/chat-b`, 'GET')).status, 404);
    assert.equal((await call(`${app.url}/v1/threads/thread-c`, 'GET')).status, 404);
  });
});

describe('conformance details of outside clients', () => {
  const app = useServer({});

  it('A2A cards revalidate with a plain fetch: If-None-Match without A2A-Version (or with it) is 304', async () => {
    for (const path of ['/.well-known/agent-card.json', '/v1/a2a/.well-known/agent-card.json', '/v1/a2a/agents/assistant/.well-known/agent-card.json']) {
      for (const version of [{}, { 'A2A-Version': '1.0' }] as Record<string, string>[]) {
        const first = await fetch(`${app.url}${path}`, { headers: version });
        assert.equal(first.status, 200, path);
        const etag = first.headers.get('etag');
        assert.ok(etag, `${path}: an ETag`);
        await first.arrayBuffer();
        // fetch() itself adds `cache-control: no-cache` to this conditional request.
        const again = await fetch(`${app.url}${path}`, { headers: { ...version, 'If-None-Match': etag } });
        assert.equal(again.status, 304, `${path} ${JSON.stringify(version)}`);
        assert.equal(await again.text(), '');
      }
    }
  });

  it('AI SDK: useChat resume works with a DefaultChatTransport left at its defaults ({api}/{id}/stream)', async () => {
    const text = words(40);
    app.fake.enqueue({ content: [{ type: 'text', text }], chunkDelayMs: 25 });
    const api = `${app.url}/v1/ai-sdk/agents/assistant/runs`;
    const first = new TestChat({ transport: new DefaultChatTransport<UIMessage>({ api }) });
    const sending = first.sendMessage({ text: 'go' });
    await waitFor(() => textOf(first.messages[1]).length > 0, 10_000, 'streaming');
    await first.stop();
    await sending;
    assert.ok(textOf(first.messages[1]).length < text.length, 'the first connection stopped early');

    const { messages } = await (await fetch(`${app.url}/v1/ai-sdk/agents/assistant/chats/${first.id}/messages`)).json();
    // No prepareReconnectToStreamRequest: the transport reconnects to `${api}/${id}/stream`.
    const reloaded = new TestChat({ id: first.id, messages, transport: new DefaultChatTransport<UIMessage>({ api }) });
    await reloaded.resumeStream();
    assert.equal(reloaded.error, undefined);
    assert.equal(textOf(reloaded.messages[1]), text);
    assert.equal((await fetch(`${api}/never-used/stream`)).status, 204);
  });

  it('GET / sends a browser to the console', async () => {
    const res = await fetch(`${app.url}/`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/console/');
  });
});
