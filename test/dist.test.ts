// The compiled server (dist/, what `npm start` runs) answers every protocol with its official client:
// each lazily loaded chunk (AG-UI, AI SDK, A2A, REST, docs, tracing) loads and works in the bundle.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ClientFactory } from '@a2a-js/sdk/client';
import { HttpAgent } from '@ag-ui/client';
import { createTRPCClient, httpLink } from '@trpc/client';
import { DefaultChatTransport, type UIMessage } from 'ai';
import createClient from 'openapi-fetch';
import type { AppRouter } from '../src/trpc/router.js';
import type { paths } from './generated/openapi.js';
import { startFakeAnthropic, type FakeAnthropic } from './fixtures/fake-anthropic.js';
import { asTask, artifactText, message, send } from './helpers/a2a.js';
import { TestChat, textOf } from './helpers/ai-chat.js';
import { postJson, waitFor } from './helpers/http.js';
import { startOtlpReceiver, type OtlpReceiver } from './helpers/otlp.js';
import { spawnServer, tempDir, type SpawnedServer } from './helpers/server.js';

describe('the compiled server (node dist/main.js)', () => {
  let fake: FakeAnthropic;
  let server: SpawnedServer;
  let tmp: ReturnType<typeof tempDir>;
  /** Receives the OTLP/HTTP bodies the server posts (the bundle builds OpenTelemetry from its ES module packages). */
  let receiver: OtlpReceiver;

  before(async () => {
    fake = await startFakeAnthropic();
    fake.setHandler(() => ({ content: [{ type: 'text', text: 'compiled answer' }] }));
    receiver = await startOtlpReceiver();
    tmp = tempDir();
    server = await spawnServer({ dir: tmp.dir, modelUrl: fake.url, env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
  });
  after(async () => {
    server?.proc.kill('SIGTERM');
    await server?.exited;
    await fake.close();
    await receiver?.close();
    tmp.cleanup();
  });

  it('lean API and REST (openapi-fetch) run and list threads', async () => {
    const lean = await postJson(`${server.url}/v1/run`, { prompt: 'hi', session_id: 'dist-lean' });
    assert.equal(lean.status, 200);
    assert.equal(lean.body.output, 'compiled answer');
    const api = createClient<paths>({ baseUrl: server.url });
    const { data, response } = await api.GET('/v1/threads/{id}/messages', { params: { path: { id: 'dist-lean' } } });
    assert.equal(response.status, 200);
    assert.deepEqual(data!.items.map((m) => m.role), ['user', 'assistant']);
  });

  it('traces: a run\'s spans reach the OTLP receiver, under its stored trace id', async () => {
    const res = await postJson(`${server.url}/v1/run`, { prompt: 'traced' });
    const run = await (await fetch(`${server.url}/v1/runs/${res.body.run_id}`)).json();
    assert.match(run.trace_id, /^[0-9a-f]{32}$/);
    const spans = await waitFor(() => {
      const mine = receiver.spans.filter((s) => s.traceId === run.trace_id);
      return mine.some((s) => s.name === 'POST /v1/run') && mine.some((s) => s.name === 'invoke_agent assistant') && mine.some((s) => s.name.startsWith('chat ')) && mine;
    });
    assert.ok(spans.every((s) => s.contentType === 'application/x-protobuf'));
    const chat = spans.find((s) => s.name.startsWith('chat '))!;
    assert.equal(typeof chat.attributes['gen_ai.usage.output_tokens'], 'number');
    assert.equal(chat.parentSpanId, spans.find((s) => s.name === 'invoke_agent assistant')!.spanId);
  });

  it('a server tool call (its input checked by Ajv, loaded on first use)', async () => {
    fake.enqueue({ content: [{ type: 'tool_use', id: 'toolu_dist', name: 'current_time', input: {} }] }, { content: [{ type: 'text', text: 'compiled answer' }] });
    const res = await postJson(`${server.url}/v1/run`, { prompt: 'what time is it?' });
    assert.equal(res.status, 200);
    const run = await (await fetch(`${server.url}/v1/runs/${res.body.run_id}`)).json();
    const call = run.tool_calls.find((c: { id: string }) => c.id === 'toolu_dist');
    assert.ok(call && !call.is_error, JSON.stringify(run.tool_calls));
  });

  it('tRPC', async () => {
    const trpc = createTRPCClient<AppRouter>({ links: [httpLink({ url: `${server.url}/trpc` })] });
    const agents = await trpc.agents.list.query();
    assert.ok(agents.items.some((a) => a.id === 'assistant'));
  });

  it('AG-UI HttpAgent', async () => {
    const threadId = randomUUID();
    const agent = new HttpAgent({ url: `${server.url}/v1/ag-ui/agents/assistant/runs`, threadId });
    agent.addMessage({ id: randomUUID(), role: 'user', content: 'hi' });
    const { newMessages } = await agent.runAgent();
    assert.equal(newMessages.at(-1)?.content, 'compiled answer');
  });

  it('AI SDK chat', async () => {
    const base = `${server.url}/v1/ai-sdk/agents/assistant`;
    const chat = new TestChat({ id: `dist-${randomUUID()}`, transport: new DefaultChatTransport<UIMessage>({ api: `${base}/runs` }) });
    await chat.sendMessage({ text: 'hi' });
    await waitFor(() => chat.status === 'ready', 10_000, 'the chat to finish');
    assert.equal(textOf(chat.messages.at(-1)), 'compiled answer');
  });

  it('A2A client from the agent card', async () => {
    const client = await new ClientFactory().createFromUrl(server.url);
    assert.equal((await client.getAgentCard()).name, 'Agent Server');
    const task = asTask(await client.sendMessage(send(message('hi'), { returnImmediately: false })));
    assert.equal(artifactText(task), 'compiled answer');
  });

  it('the OpenAPI document and Swagger UI', async () => {
    const doc = await fetch(`${server.url}/openapi.json`);
    assert.equal(doc.status, 200);
    assert.ok((await doc.json()).paths['/v1/threads']);
    const page = await fetch(`${server.url}/docs/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /swagger-ui/);
  });
});
