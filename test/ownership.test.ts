/** Thread ownership on every surface: user B cannot reach user A's threads, runs, tasks or chats; an admin key sees both. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { HttpAgent } from '@ag-ui/client';
import { TaskState } from '@a2a-js/sdk';
import { TaskNotFoundError } from '@a2a-js/sdk/errors';
import { ClientFactory, ClientFactoryOptions, JsonRpcTransportFactory, type Client } from '@a2a-js/sdk/client';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import { DefaultChatTransport, type UIMessage } from 'ai';
import createClient from 'openapi-fetch';
import type { AppRouter } from '../src/trpc/router.js';
import { signHs256 } from './fixtures/jwks-server.js';
import type { paths } from './generated/openapi.js';
import { message, send } from './helpers/a2a.js';
import { TestChat, textOf } from './helpers/ai-chat.js';
import { call } from './helpers/api.js';
import { dialects } from './helpers/databases.js';
import { waitFor } from './helpers/http.js';
import { useServer } from './helpers/setup.js';

const ADMIN_KEY = `admin-${randomBytes(16).toString('hex')}`;
const SECRET = randomBytes(32).toString('hex');
const AGENTS = { agents: { assistant: { system: 'You help.', tools: { current_time: 'ask' } } } };
const askTime = { content: [{ type: 'tool_use' as const, id: 'toolu_time', name: 'current_time', input: {} }] };
const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] });

type H = Record<string, string>;

for (const dialect of dialects()) describe(`ownership on every surface [${dialect}]`, () => {
  const app = useServer({ dialect, agents: AGENTS, env: { AGENTSDK_API_KEYS: ADMIN_KEY, AGENTSDK_JWT_SECRET: SECRET } });
  let alice: H;
  let bob: H;
  const admin: H = { authorization: `Bearer ${ADMIN_KEY}` };
  /** Alice's: a REST thread with a waiting run (approval pending), an AI SDK chat, an AG-UI thread, an A2A task. */
  const a = { thread: 'alice-rest', waitingRun: '', chat: 'alice-chat', agUiThread: 'alice-agui', task: '', taskContext: '' };

  const trpc = (headers: H) => createTRPCClient<AppRouter>({ links: [httpLink({ url: `${app.url}/trpc`, headers })] });
  const a2a = (headers: H): Promise<Client> =>
    new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { transports: [new JsonRpcTransportFactory({ fetchImpl: (u, init) => fetch(u, { ...init, headers: { ...(init?.headers as H), ...headers } }) })] })).createFromUrl(
      app.url,
    );
  const is404 = (res: { status: number; body: any }, what: string) => {
    assert.equal(res.status, 404, `${what}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.code, 'not_found', what);
  };

  before(async () => {
    alice = { authorization: `Bearer ${await signHs256(SECRET, { sub: 'alice' })}` };
    bob = { authorization: `Bearer ${await signHs256(SECRET, { sub: 'bob' })}` };

    app.fake.enqueue(askTime);
    const res = await fetch(`${app.url}/v1/runs`, { method: 'POST', headers: { ...alice, 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'what time is it?', thread_id: a.thread }) });
    assert.equal(res.status, 200);
    const body = await res.text();
    a.waitingRun = /"run_id":"([^"]+)"/.exec(body)![1];
    assert.equal((await call(`${app.url}/v1/runs/${a.waitingRun}`, 'GET', undefined, alice)).body.status, 'waiting');

    app.fake.enqueue(text('hello alice'));
    const chat = new TestChat({ id: a.chat, transport: new DefaultChatTransport<UIMessage>({ api: `${app.url}/v1/ai-sdk/agents/assistant/runs`, headers: alice }) });
    await chat.sendMessage({ text: 'hi' });
    assert.equal(textOf(chat.messages[1]), 'hello alice');

    app.fake.enqueue(text('ag-ui alice'));
    const agent = new HttpAgent({ url: `${app.url}/v1/ag-ui/agents/assistant/runs`, threadId: a.agUiThread, headers: alice });
    agent.addMessage({ id: 'alice-agui-1', role: 'user', content: 'hi' });
    await agent.runAgent();

    app.fake.enqueue(text('a2a alice'));
    const task = (await (await a2a(alice)).sendMessage(send(message('hi over a2a')))) as { id: string; contextId: string };
    a.task = task.id;
    a.taskContext = task.contextId;
    await waitFor(async () => (await call(`${app.url}/v1/runs/${a.task}`, 'GET', undefined, alice)).body.status === 'completed', 5000, 'the task to be stored');
  });

  it('threads and runs carry their owner; lists are filtered to it; an admin sees both and filters by owner', async () => {
    assert.equal((await call(`${app.url}/v1/threads/${a.thread}`, 'GET', undefined, alice)).body.owner, 'user:alice');
    assert.equal((await call(`${app.url}/v1/runs/${a.waitingRun}`, 'GET', undefined, alice)).body.owner, 'user:alice');
    app.fake.enqueue(text('hello bob'));
    assert.equal((await call(`${app.url}/v1/run`, 'POST', { prompt: 'hi', session_id: 'bob-lean' }, bob)).status, 200);

    const ids = async (path: string, h: H) => ((await call(`${app.url}${path}`, 'GET', undefined, h)).body.items as Array<{ id: string }>).map((t) => t.id);
    const aliceThreads = await ids('/v1/threads?limit=200', alice);
    const bobThreads = await ids('/v1/threads?limit=200', bob);
    assert.ok(aliceThreads.includes(a.thread) && aliceThreads.includes(a.chat) && aliceThreads.includes(a.agUiThread) && aliceThreads.includes(a.taskContext));
    assert.deepEqual(bobThreads, ['bob-lean']);
    assert.deepEqual(await ids('/v1/threads/summaries?limit=200', bob), ['bob-lean']);
    assert.ok(!(await ids('/v1/runs?limit=200', bob)).some((id) => id === a.waitingRun || id === a.task));
    const all = await ids('/v1/threads?limit=200', admin);
    assert.ok(all.includes(a.thread) && all.includes('bob-lean'));
    assert.deepEqual(await ids('/v1/threads?limit=200&owner=user:bob', admin), ['bob-lean']);
    // A non-admin's owner filter cannot widen what it sees.
    assert.deepEqual(await ids('/v1/threads?limit=200&owner=user:alice', bob), ['bob-lean']);
    // The typed clients see the same.
    const rest = createClient<paths>({ baseUrl: app.url, headers: bob });
    const { data } = await rest.GET('/v1/threads', { params: { query: { limit: 200 } } });
    assert.deepEqual(data?.items.map((t) => t.id), ['bob-lean']);
    assert.deepEqual((await trpc(bob).threads.list.query({ limit: 200 })).items.map((t) => t.id), ['bob-lean']);
  });

  it('REST and the event stream: every read and write of alice\'s thread or run is 404 for bob, as for an unknown id', async () => {
    const u = app.url;
    const unknown = await call(`${u}/v1/threads/no-such-thread`, 'GET', undefined, bob);
    for (const [what, res] of [
      ['GET thread', await call(`${u}/v1/threads/${a.thread}`, 'GET', undefined, bob)],
      ['GET messages', await call(`${u}/v1/threads/${a.thread}/messages`, 'GET', undefined, bob)],
      ['PATCH metadata', await call(`${u}/v1/threads/${a.thread}/metadata`, 'PATCH', { title: 'mine now' }, bob)],
      ['DELETE thread', await call(`${u}/v1/threads/${a.thread}`, 'DELETE', undefined, bob)],
      ['GET run', await call(`${u}/v1/runs/${a.waitingRun}`, 'GET', undefined, bob)],
      ['cancel', await call(`${u}/v1/runs/${a.waitingRun}/cancel`, 'POST', undefined, bob)],
      ['approve', await call(`${u}/v1/runs/${a.waitingRun}/inputs`, 'POST', { decisions: [{ approval_id: 'toolu_time', approved: true }] }, bob)],
      ['follow events', await call(`${u}/v1/runs/${a.waitingRun}/events`, 'GET', undefined, bob)],
    ] as const) {
      is404(res, what);
      assert.equal(res.body.error.replace(a.thread, 'no-such-thread').replace(a.waitingRun, 'no-such-thread').replace('run "', 'thread "'), unknown.body.error, `${what}: same answer as an unknown id`);
    }
    // Continuing alice's thread id over the lean API and POST /v1/runs is 404 too, and stores nothing.
    is404(await call(`${u}/v1/run`, 'POST', { prompt: 'let me in', session_id: a.thread }, bob), 'lean continue');
    is404(await call(`${u}/v1/runs`, 'POST', { prompt: 'let me in', thread_id: a.thread }, bob), 'POST /v1/runs continue');
    // Still alice's, still waiting, untouched.
    const run = await call(`${u}/v1/runs/${a.waitingRun}`, 'GET', undefined, alice);
    assert.equal(run.body.status, 'waiting');
    assert.equal((await call(`${u}/v1/threads/${a.thread}`, 'GET', undefined, alice)).body.title, null);
  });

  it('tRPC: bob gets NOT_FOUND for alice\'s thread and run on every procedure', async () => {
    const t = trpc(bob);
    const notFound = (e: unknown) => e instanceof TRPCClientError && e.data?.code === 'not_found';
    await assert.rejects(t.threads.get.query({ id: a.thread }), notFound);
    await assert.rejects(t.threads.messages.query({ id: a.thread, limit: 10 }), notFound);
    await assert.rejects(t.threads.delete.mutate({ id: a.thread }), notFound);
    await assert.rejects(t.runs.get.query({ id: a.waitingRun }), notFound);
    await assert.rejects(t.runs.cancel.mutate({ id: a.waitingRun }), notFound);
    await assert.rejects(t.runs.inputs.mutate({ id: a.waitingRun, decisions: [{ approval_id: 'toolu_time', approved: true }] }), notFound);
    await assert.rejects(t.run.mutate({ prompt: 'let me in', session_id: a.thread }), notFound);
  });

  it('AI SDK: bob can neither read, resume nor continue alice\'s chat', async () => {
    const base = `${app.url}/v1/ai-sdk/agents/assistant`;
    is404(await call(`${base}/chats/${a.chat}/messages`, 'GET', undefined, bob), 'messages');
    // Resume has no active run to offer a stranger: the same 204 as for a chat that does not exist.
    assert.equal((await fetch(`${base}/chats/${a.chat}/stream`, { headers: bob })).status, 204);
    const chat = new TestChat({ id: a.chat, transport: new DefaultChatTransport<UIMessage>({ api: `${base}/runs`, headers: bob }) });
    await chat.sendMessage({ text: 'let me in' });
    assert.ok(chat.error, 'the chat engine shows the refusal');
    assert.match(chat.error.message, /unknown thread/);
    const stored = (await call(`${base}/chats/${a.chat}/messages`, 'GET', undefined, alice)).body.messages;
    assert.equal(stored.length, 2, 'nothing was added to alice\'s chat');
  });

  it('AG-UI: bob can neither read nor continue alice\'s thread', async () => {
    is404(await call(`${app.url}/v1/ag-ui/threads/${a.agUiThread}/messages`, 'GET', undefined, bob), 'messages');
    const agent = new HttpAgent({ url: `${app.url}/v1/ag-ui/agents/assistant/runs`, threadId: a.agUiThread, headers: bob });
    agent.addMessage({ id: 'bob-agui-1', role: 'user', content: 'let me in' });
    await assert.rejects(agent.runAgent(), /404|unknown thread/);
    const stored = (await call(`${app.url}/v1/ag-ui/threads/${a.agUiThread}/messages`, 'GET', undefined, alice)).body.items;
    assert.ok(!stored.some((m: { id: string }) => m.id === 'bob-agui-1'));
  });

  it('A2A: bob gets TaskNotFound for alice\'s task and cannot write into her context; ListTasks is filtered', async () => {
    const c = await a2a(bob);
    await assert.rejects(c.getTask({ tenant: '', id: a.task }), (e) => e instanceof TaskNotFoundError);
    await assert.rejects(c.cancelTask({ tenant: '', id: a.waitingRun, metadata: undefined }), (e) => e instanceof TaskNotFoundError);
    await assert.rejects(
      (async () => {
        for await (const _ of c.resubscribeTask({ tenant: '', id: a.waitingRun })) break;
      })(),
      (e) => e instanceof TaskNotFoundError,
    );
    await assert.rejects(c.sendMessage(send(message('approve', { taskId: a.waitingRun }))), (e) => e instanceof TaskNotFoundError);
    const listed = await c.listTasks({ tenant: '', contextId: '', status: TaskState.TASK_STATE_UNSPECIFIED, pageSize: 100, pageToken: '', statusTimestampAfter: undefined });
    assert.ok(!listed.tasks.some((t) => t.id === a.task || t.id === a.waitingRun));
    // A message into alice's context is refused and stores nothing.
    app.fake.enqueue(text('should not run'));
    const refused = await c.sendMessage(send(message('let me in', { contextId: a.taskContext }))).then(
      (r) => r as { status?: { state: TaskState } },
      (e: Error) => e,
    );
    assert.ok(refused instanceof Error || refused.status?.state === TaskState.TASK_STATE_FAILED, 'refused');
    const messages = (await call(`${app.url}/v1/threads/${a.taskContext}/messages`, 'GET', undefined, alice)).body.items;
    assert.equal(messages.length, 2);
    // Alice herself still reads her task.
    assert.equal((await (await a2a(alice)).getTask({ tenant: '', id: a.task })).status?.state, TaskState.TASK_STATE_COMPLETED);
  });

  it('an admin key reads, follows and approves alice\'s run; the run stays alice\'s', async () => {
    assert.equal((await call(`${app.url}/v1/threads/${a.thread}`, 'GET', undefined, admin)).status, 200);
    app.fake.enqueue(text('It is late.'));
    const pending = (await call(`${app.url}/v1/runs/${a.waitingRun}`, 'GET', undefined, admin)).body.pending;
    const res = await call(`${app.url}/v1/runs/${a.waitingRun}/inputs`, 'POST', { decisions: [{ approval_id: pending.approvals[0].approval_id, approved: true }] }, admin);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    await waitFor(async () => (await call(`${app.url}/v1/runs/${a.waitingRun}`, 'GET', undefined, alice)).body.status === 'completed', 5000, 'the run to finish');
    assert.equal((await call(`${app.url}/v1/runs/${a.waitingRun}`, 'GET', undefined, admin)).body.owner, 'user:alice');
  });
});
