/** multitask_strategy on every way to start a run, with each protocol's own client; the per-agent default; across instances. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { HttpAgent } from '@ag-ui/client';
import { ClientFactory } from '@a2a-js/sdk/client';
import { TaskState } from '@a2a-js/sdk';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import { DefaultChatTransport, type UIMessage } from 'ai';
import type { AppRouter } from '../src/trpc/router.js';
import { startFakeAnthropic, type FakeAnthropic } from './fixtures/fake-anthropic.js';
import { asTask, message, send } from './helpers/a2a.js';
import { TestChat, textOf } from './helpers/ai-chat.js';
import { assertError, call } from './helpers/api.js';
import { dialects, testDatabase, type TestDatabase } from './helpers/databases.js';
import { postJson, waitFor } from './helpers/http.js';
import { startTestServer, tempDir, type TestServer } from './helpers/server.js';
import { useServer } from './helpers/setup.js';

type Strategy = 'reject' | 'interrupt' | 'rollback';
const FIRST = 'the first answer goes on for quite a few words before it ends';
const SECOND = 'the second answer';

/** Starts a run that way on `thread` with `strategy`; resolves when the protocol's client has its answer (or throws its error). */
type Driver = (url: string, thread: string, strategy: Strategy) => Promise<string>;

const drivers: Record<string, Driver> = {
  lean: async (url, thread, strategy) => {
    const res = await postJson(`${url}/v1/run`, { prompt: 'second', session_id: thread, multitask_strategy: strategy });
    if (res.status !== 200) throw Object.assign(new Error(res.body.code), { res });
    return res.body.output;
  },
  rest: async (url, thread, strategy) => {
    const res = await postJson(`${url}/v1/runs`, { prompt: 'second', thread_id: thread, multitask_strategy: strategy, background: true });
    if (res.status !== 202) throw Object.assign(new Error(res.body.code), { res });
    return (await call(`${url}/v1/runs/${res.body.id}/wait`, 'GET')).body.output;
  },
  trpc: async (url, thread, strategy) => {
    const client = createTRPCClient<AppRouter>({ links: [httpLink({ url: `${url}/trpc` })] });
    return (await client.run.mutate({ prompt: 'second', session_id: thread, multitask_strategy: strategy })).output;
  },
  'ag-ui': async (url, thread, strategy) => {
    const agent = new HttpAgent({ url: `${url}/v1/ag-ui/agents/assistant/runs`, threadId: thread });
    agent.addMessage({ id: randomUUID(), role: 'user', content: 'second' });
    const { newMessages } = await agent.runAgent({ forwardedProps: { multitask_strategy: strategy } });
    return newMessages.map((m) => (typeof m.content === 'string' ? m.content : '')).join('');
  },
  'ai-sdk': async (url, thread, strategy) => {
    const chat = new TestChat({ id: thread, transport: new DefaultChatTransport<UIMessage>({ api: `${url}/v1/ai-sdk/agents/assistant/runs`, body: { multitask_strategy: strategy } }) });
    await chat.sendMessage({ text: 'second' });
    if (chat.error) throw chat.error;
    return textOf(chat.messages.at(-1));
  },
  a2a: async (url, thread, strategy) => {
    const client = await new ClientFactory().createFromUrl(url);
    const task = asTask(await client.sendMessage(send(message('second', { contextId: thread, metadata: { multitask_strategy: strategy } }))));
    assert.equal(task.status?.state, TaskState.TASK_STATE_COMPLETED);
    return task.artifacts.flatMap((a) => a.parts.map((p) => (p.content?.$case === 'text' ? String(p.content.value) : ''))).join('');
  },
};

/** The error each client surfaces for a refused start carries `thread_busy`. */
function assertThreadBusy(err: unknown, protocol: string): void {
  if (protocol === 'lean' || protocol === 'rest') return assertError((err as { res: { status: number; body: unknown } }).res, 409, 'thread_busy');
  if (protocol === 'trpc') {
    assert.ok(err instanceof TRPCClientError);
    assert.equal((err.data as { code?: string }).code, 'thread_busy');
    assert.equal(err.data?.httpStatus, 409);
    return;
  }
  assert.match(String((err as Error)?.message ?? err), /thread_busy|409/, `${protocol} error`);
}

/** A first run on a new thread, streaming slowly; resolves once it has streamed some text on `on`. */
async function startFirst(base: string, runtimeOf: () => TestServer, fake: FakeAnthropic, thread: string): Promise<string> {
  fake.enqueue({ content: [{ type: 'text', text: FIRST }], chunkDelayMs: 80 });
  const res = await postJson(`${base}/v1/runs`, { prompt: 'first', thread_id: thread, background: true });
  assert.equal(res.status, 202);
  await waitFor(() => (runtimeOf().runtime.get(res.body.id)?.events.filter((e) => e.event.type === 'text.delta').length ?? 0) >= 2, 10_000, 'the first run streams');
  return res.body.id;
}

async function checkOutcome(url: string, store: TestServer['store'], thread: string, firstId: string, strategy: Strategy, answer: string): Promise<void> {
  assert.equal(answer, SECOND);
  if (strategy === 'interrupt') {
    const first = (await call(`${url}/v1/runs/${firstId}`, 'GET')).body;
    assert.equal(first.status, 'cancelled');
    assert.equal(first.stop_reason, 'interrupted');
    assert.ok(first.output.length > 0 && FIRST.startsWith(first.output) && first.output !== FIRST, `a partial answer is kept: ${JSON.stringify(first.output)}`);
    const turns = await store.messages.ofRun(thread, firstId);
    assert.deepEqual(turns.map((t) => t.role), ['user', 'assistant']);
    assert.equal((turns[1].content as Array<{ text: string }>)[0].text, first.output);
  } else {
    assertError(await call(`${url}/v1/runs/${firstId}`, 'GET'), 404, 'not_found');
    assert.deepEqual(await store.messages.ofRun(thread, firstId), []);
    assert.deepEqual(await store.eventLog.list(firstId), []);
  }
  const messages = await store.messages.list(thread);
  assert.equal(messages.at(-1)!.role, 'assistant');
  assert.equal(messages.filter((m) => m.run_id === firstId).length, strategy === 'interrupt' ? 2 : 0);
}

for (const dialect of dialects()) {
  describe(`multitask_strategy [${dialect}]`, () => {
    const app = useServer({ dialect, agents: { agents: { assistant: {}, strict: { multitask_strategy: 'reject' } } } });

    for (const protocol of Object.keys(drivers)) {
      it(`${protocol}: reject refuses with thread_busy while the thread has a running run, and stores nothing`, async () => {
        const thread = `mt-reject-${protocol}`;
        const firstId = await startFirst(app.url, () => app.server, app.fake, thread);
        const before = (await app.server.store.messages.list(thread)).length;
        const err = await drivers[protocol](app.url, thread, 'reject').then(
          () => assert.fail('the start was not refused'),
          (e: unknown) => e,
        );
        assertThreadBusy(err, protocol);
        const runs = (await call(`${app.url}/v1/runs?thread_id=${thread}`, 'GET')).body.items;
        assert.deepEqual(runs.map((r: { id: string }) => r.id), [firstId]);
        assert.equal((await app.server.store.messages.list(thread)).length, before);
        const ended = await call(`${app.url}/v1/runs/${firstId}/wait`, 'GET');
        assert.equal(ended.body.status, 'completed');
        // Once the thread is free, reject lets the run through.
        app.fake.enqueue({ content: [{ type: 'text', text: SECOND }] });
        assert.equal(await drivers[protocol](app.url, thread, 'reject'), SECOND);
      });

      for (const strategy of ['interrupt', 'rollback'] as const) {
        it(`${protocol}: ${strategy} cancels the running run and the new one completes`, async () => {
          const thread = `mt-${strategy}-${protocol}`;
          const firstId = await startFirst(app.url, () => app.server, app.fake, thread);
          app.fake.enqueue({ content: [{ type: 'text', text: SECOND }] });
          const answer = await drivers[protocol](app.url, thread, strategy);
          await checkOutcome(app.url, app.server.store, thread, firstId, strategy, answer);
        });
      }
    }

    it("the agent's default applies when the request names none, and the request's own choice wins", async () => {
      app.fake.enqueue({ content: [{ type: 'text', text: FIRST }], chunkDelayMs: 80 });
      const first = await postJson(`${app.url}/v1/runs`, { prompt: 'first', agent_id: 'strict', thread_id: 'mt-default', background: true });
      await waitFor(() => app.server.runtime.get(first.body.id), 5000, 'live');
      assertError(await postJson(`${app.url}/v1/run`, { prompt: 'second', agent_id: 'strict', session_id: 'mt-default' }), 409, 'thread_busy');
      app.fake.enqueue({ content: [{ type: 'text', text: SECOND }] });
      const queued = await postJson(`${app.url}/v1/run`, { prompt: 'second', agent_id: 'strict', session_id: 'mt-default', multitask_strategy: 'enqueue' });
      assert.equal(queued.body.output, SECOND);
      assert.equal((await call(`${app.url}/v1/runs/${first.body.id}`, 'GET')).body.status, 'completed');
    });

    it('enqueue (the default) waits in arrival order, and a bad strategy is 400', async () => {
      app.fake.enqueue({ content: [{ type: 'text', text: FIRST }], chunkDelayMs: 20 }, { content: [{ type: 'text', text: SECOND }] });
      const first = await postJson(`${app.url}/v1/runs`, { prompt: 'first', thread_id: 'mt-enqueue', background: true });
      const second = await postJson(`${app.url}/v1/run`, { prompt: 'second', session_id: 'mt-enqueue' });
      assert.equal(second.body.output, SECOND);
      assert.equal((await call(`${app.url}/v1/runs/${first.body.id}`, 'GET')).body.output, FIRST);
      assertError(await postJson(`${app.url}/v1/run`, { prompt: 'x', multitask_strategy: 'replace' }), 400, 'bad_request');
      assertError(await postJson(`${app.url}/v1/runs`, { prompt: 'x', multitask_strategy: 7 }), 400, 'bad_request');
    });
  });
}

describe('multitask_strategy across two instances on one PostgreSQL database', { skip: !process.env.TEST_DATABASE_URL && 'TEST_DATABASE_URL is not set' }, () => {
  let fake: FakeAnthropic;
  let tmp: ReturnType<typeof tempDir>;
  let db: TestDatabase;
  let a: TestServer;
  let b: TestServer;

  before(async () => {
    fake = await startFakeAnthropic();
    tmp = tempDir();
    db = await testDatabase('postgres', tmp.dir);
    const env = { AGENTSDK_LEASE_MS: '1500' };
    a = await startTestServer({ modelUrl: fake.url, dbUrl: db.url, env });
    b = await startTestServer({ modelUrl: fake.url, dbUrl: db.url, env });
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
    await fake?.close();
    await db?.drop();
    tmp?.cleanup();
  });

  for (const strategy of ['interrupt', 'rollback'] as const) {
    it(`${strategy} sent to instance B stops the run on instance A`, async () => {
      const thread = `mt-cross-${strategy}`;
      const firstId = await startFirst(a.url, () => a, fake, thread);
      assert.ok(!b.runtime.get(firstId), 'the first run executes on A');
      fake.enqueue({ content: [{ type: 'text', text: SECOND }] });
      const answer = await drivers.lean(b.url, thread, strategy);
      await checkOutcome(b.url, b.store, thread, firstId, strategy, answer);
    });
  }

  it('reject sent at once to A and B on one new thread: exactly one run is stored', async () => {
    const thread = 'mt-cross-reject-burst';
    fake.setHandler(() => ({ content: [{ type: 'text', text: 'slow' }], delayMs: 500 }));
    try {
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => postJson(`${(i % 2 ? b : a).url}/v1/run`, { prompt: `burst ${i}`, session_id: thread, multitask_strategy: 'reject' })),
      );
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 409, 409, 409, 409, 409, 409, 409], JSON.stringify(results.map((r) => [r.status, r.body?.error?.code])));
      for (const r of results.filter((x) => x.status === 409)) assertError(r, 409, 'thread_busy');
      const runs = await call(`${a.url}/v1/runs?thread_id=${thread}`, 'GET');
      assert.equal(runs.body.items.length, 1);
    } finally {
      fake.setHandler(null);
    }
  });

  it('reject on instance B sees the run on instance A', async () => {
    const thread = 'mt-cross-reject';
    const firstId = await startFirst(a.url, () => a, fake, thread);
    assertError(await postJson(`${b.url}/v1/run`, { prompt: 'second', session_id: thread, multitask_strategy: 'reject' }), 409, 'thread_busy');
    assert.equal((await call(`${b.url}/v1/runs/${firstId}/wait`, 'GET')).body.status, 'completed');
  });
});
