/** A run's timeout can be set on every protocol, and per agent; a hung model never holds a thread for the default hour. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpAgent } from '@ag-ui/client';
import { ClientFactory } from '@a2a-js/sdk/client';
import { RequestMalformedError } from '@a2a-js/sdk/errors';
import { DefaultChatTransport, type UIMessage } from 'ai';
import { message, send } from './helpers/a2a.js';
import { TestChat } from './helpers/ai-chat.js';
import { call } from './helpers/api.js';
import { dialects } from './helpers/databases.js';
import { waitFor } from './helpers/http.js';
import { useServer } from './helpers/setup.js';

const AGENTS = { agents: { assistant: { system: 'You help.' }, quick: { system: 'You are quick.', timeout_ms: 300 } } };

for (const dialect of dialects()) describe(`run timeouts on every protocol [${dialect}]`, () => {
  const app = useServer({ dialect, agents: AGENTS });

  /** The run's stored record once it has ended. */
  const ended = (runId: string) =>
    waitFor(async () => {
      const r = await call(`${app.url}/v1/runs/${runId}`, 'GET');
      return r.status === 200 && !['queued', 'running'].includes(r.body.status) ? r.body : undefined;
    }, 10_000, `run ${runId} to end`);

  it('AG-UI: forwardedProps.timeout_ms ends a hung run timed_out; a bad value is 400 before anything is stored', async () => {
    app.fake.enqueue({ hang: true });
    const agent = new HttpAgent({ url: `${app.url}/v1/ag-ui/agents/assistant/runs`, threadId: 'to-agui' });
    agent.addMessage({ id: 'to-agui-1', role: 'user', content: 'hang' });
    const started = Date.now();
    await agent.runAgent({ runId: 'to-agui-run', forwardedProps: { timeout_ms: 300 } }).catch(() => undefined);
    const run = await ended('to-agui-run');
    assert.equal(run.status, 'timed_out');
    assert.equal(run.timeout_ms, 300);
    assert.ok(Date.now() - started < 5000);
    const bad = await call(`${app.url}/v1/ag-ui/agents/assistant/runs`, 'POST', { threadId: 'to-agui-bad', runId: 'r', messages: [{ id: 'x1', role: 'user', content: 'hi' }], forwardedProps: { timeout_ms: -1 } });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.issues[0].path, ['forwardedProps', 'timeout_ms']);
    assert.equal((await call(`${app.url}/v1/threads/to-agui-bad`, 'GET')).status, 404);
  });

  it('AI SDK: a body timeout_ms ends a hung run timed_out', async () => {
    app.fake.enqueue({ hang: true });
    const chat = new TestChat({ id: 'to-aisdk', transport: new DefaultChatTransport<UIMessage>({ api: `${app.url}/v1/ai-sdk/agents/assistant/runs`, body: { timeout_ms: 300, runId: 'to-aisdk-run' } }) });
    await chat.sendMessage({ text: 'hang' });
    const run = await ended('to-aisdk-run');
    assert.equal(run.status, 'timed_out');
    assert.ok(chat.error, 'the chat shows the timeout');
    const bad = await call(`${app.url}/v1/ai-sdk/agents/assistant/runs`, 'POST', { id: 'to-aisdk-bad', messages: [{ id: 'm', role: 'user', parts: [{ type: 'text', text: 'hi' }] }], timeout_ms: 'soon' });
    assert.equal(bad.status, 400);
  });

  it('A2A: message metadata timeout_ms ends a hung task; a bad value is invalid params', async () => {
    const client = await new ClientFactory().createFromUrl(app.url);
    app.fake.enqueue({ hang: true });
    const task = (await client.sendMessage(send(message('hang', { metadata: { timeout_ms: 300 } })))) as { id: string };
    const run = await ended(task.id);
    assert.equal(run.status, 'timed_out');
    await assert.rejects(client.sendMessage(send(message('hang', { metadata: { timeout_ms: 0 } }))), (e) => e instanceof RequestMalformedError && /timeout_ms/.test(e.message));
  });

  it("an agent's timeout_ms is the default of its runs; a request's own wins", async () => {
    app.fake.enqueue({ hang: true });
    const res = await call(`${app.url}/v1/run`, 'POST', { prompt: 'hang', agent_id: 'quick' });
    assert.equal(res.status, 504);
    assert.equal((await call(`${app.url}/v1/runs/${res.body.run_id}`, 'GET')).body.timeout_ms, 300);
    app.fake.enqueue({ content: [{ type: 'text', text: 'ok' }] });
    const own = await call(`${app.url}/v1/run`, 'POST', { prompt: 'hi', agent_id: 'quick', timeout_ms: 60_000 });
    assert.equal(own.status, 200);
    assert.equal((await call(`${app.url}/v1/runs/${own.body.run_id}`, 'GET')).body.timeout_ms, 60_000);
  });
});
