import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { HttpAgent } from '@ag-ui/client';
import { startFakeAnthropic, type FakeAnthropic } from './fixtures/fake-anthropic.js';
import { agUiStreamProblems, teeFetch, type Captured } from './helpers/ag-ui.js';
import { postJson } from './helpers/http.js';
import { startTestServer } from './helpers/server.js';

const AGENTS = { agents: { assistant: { system: 'You help.', tools: { current_time: 'ask' } } } };

describe('AG-UI tool approvals (real @ag-ui/client HttpAgent)', () => {
  let fake: FakeAnthropic;
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let url: string;
  let captured: Captured[];

  before(async () => {
    fake = await startFakeAnthropic();
    server = await startTestServer({ modelUrl: fake.url, agents: AGENTS });
    url = `${server.url}/v1/ag-ui/agents/assistant/runs`;
  });
  after(async () => {
    await server?.stop();
    await fake?.close();
  });
  beforeEach(() => {
    fake.reset();
    captured = [];
  });

  const newAgent = () => new HttpAgent({ url, threadId: randomUUID(), fetch: (i: string, init: RequestInit) => teeFetch(captured)(i, init) });
  const sound = (i = captured.length - 1) => {
    const c = captured[i];
    assert.deepEqual(agUiStreamProblems(c.events, { threadId: c.body.threadId, runId: c.body.runId }), []);
    return c.events;
  };

  /** First request: the model calls current_time (ask); returns the approval request the stream announced. */
  async function askForTime(agent: HttpAgent, toolCallId: string): Promise<{ approvalId: string; pending: string[] }> {
    fake.enqueue({ content: [{ type: 'tool_use', id: toolCallId, name: 'current_time', input: {} }] });
    agent.addMessage({ id: randomUUID(), role: 'user', content: 'what time is it?' });
    let pending: string[] = [];
    await agent.runAgent({}, { onRunFinishedEvent: (p) => void (pending = (p as any).outcome?.pendingToolCallIds ?? (p as any).pendingToolCallIds ?? []) });
    const events = sound();
    const custom = events.find((e) => e.type === 'CUSTOM' && e.name === 'tool_approval_requested');
    assert.ok(custom, 'the approval request is announced');
    assert.equal(custom.value.toolCallId, toolCallId);
    assert.equal(custom.value.toolName, 'current_time');
    assert.ok(!events.some((e) => e.type === 'TOOL_CALL_RESULT'), 'the tool did not run');
    const finished = events.at(-1);
    assert.equal(finished.type, 'RUN_FINISHED');
    assert.deepEqual(finished.outcome?.pendingToolCallIds, [toolCallId]);
    return { approvalId: custom.value.approvalId, pending };
  }

  it('approve with a tool message: the tool runs and the run goes on in the next request', async () => {
    const agent = newAgent();
    await askForTime(agent, 'toolu_ag_yes');
    const waiting = await server.store.runs.latestWaiting(agent.threadId);
    assert.equal(waiting?.status, 'waiting');

    agent.addMessage({ id: randomUUID(), role: 'tool', toolCallId: 'toolu_ag_yes', content: JSON.stringify({ approved: true }) });
    fake.enqueue({ content: [{ type: 'text', text: 'It is noon.' }] });
    const { newMessages } = await agent.runAgent();
    const events = sound();
    const result = events.find((e) => e.type === 'TOOL_CALL_RESULT');
    assert.equal(result.toolCallId, 'toolu_ag_yes');
    assert.match(result.content, /\d{4}-\d{2}-\d{2}T/);
    assert.equal(events.at(-1).type, 'RUN_FINISHED');
    assert.ok(newMessages.some((m) => m.role === 'assistant' && m.content === 'It is noon.'));

    const seen = fake.requests[1].body.messages.at(-1).content[0];
    assert.equal(seen.tool_use_id, 'toolu_ag_yes');
    assert.ok(!seen.is_error);
    const run = await server.store.runs.get(waiting!.id);
    assert.equal(run?.status, 'completed', 'the waiting run continued');
  });

  it('deny with a reason ("deny: …"): the model is told and the tool never runs', async () => {
    const agent = newAgent();
    await askForTime(agent, 'toolu_ag_no');
    agent.addMessage({ id: randomUUID(), role: 'tool', toolCallId: 'toolu_ag_no', content: 'deny: not now' });
    fake.enqueue({ content: [{ type: 'text', text: 'Okay.' }] });
    await agent.runAgent();
    const events = sound();
    assert.equal(events.find((e) => e.type === 'TOOL_CALL_RESULT').content, 'The user denied this tool call: not now');
    const seen = fake.requests[1].body.messages.at(-1).content[0];
    assert.deepEqual([seen.tool_use_id, seen.is_error, seen.content], ['toolu_ag_no', true, 'The user denied this tool call: not now']);

    // The conversation goes on normally afterwards (the decision message is not taken again).
    agent.addMessage({ id: randomUUID(), role: 'user', content: 'thanks' });
    fake.enqueue({ content: [{ type: 'text', text: 'Welcome.' }] });
    await agent.runAgent();
    sound();
    const last = fake.requests[2].body.messages;
    assert.equal(last.filter((m: any) => m.role === 'user' && m.content.some((b: any) => b.type === 'tool_result')).length, 1, 'one tool result for the call');
  });

  it('an unreadable decision is a 400 and the run keeps waiting', async () => {
    const agent = newAgent();
    await askForTime(agent, 'toolu_ag_bad');
    const res = await postJson(url, {
      threadId: agent.threadId,
      runId: randomUUID(),
      messages: [...agent.messages, { id: randomUUID(), role: 'tool', toolCallId: 'toolu_ag_bad', content: 'maybe later?' }],
      tools: [],
      context: [],
      state: {},
      forwardedProps: {},
    });
    assert.equal(res.status, 400);
    assert.match(res.body.error, /approved/);
    const waiting = await server.store.runs.latestWaiting(agent.threadId);
    assert.equal(waiting?.status, 'waiting');
    assert.ok(waiting!.pending!.approvals.every((a) => !a.decision));
  });
});
