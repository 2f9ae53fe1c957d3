import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, beforeEach, describe, it } from 'node:test';
import { HttpAgent } from '@ag-ui/client';
import { agUiStreamProblems, teeFetch, type Captured } from './helpers/ag-ui.js';
import { dialects } from './helpers/databases.js';
import { postJson, waitFor } from './helpers/http.js';
import { useServer } from './helpers/setup.js';

const AGENTS = { agents: { assistant: { system: 'You help.', tools: { current_time: 'ask' } } } };

for (const dialect of dialects()) describe(`AG-UI tool approvals (real @ag-ui/client HttpAgent) [${dialect}]`, () => {
  const app = useServer({ dialect, agents: AGENTS });
  let url: string;
  let captured: Captured[];
  /** The stream ends with the terminal event and the run is committed just after it: wait until the thread has no queued or running run. */
  const settled = (threadId: string) => waitFor(async () => (await app.server.store.runs.latestActive(threadId)) === undefined, 10_000, 'the run to be stored');

  before(() => {
    url = `${app.url}/v1/ag-ui/agents/assistant/runs`;
  });
  beforeEach(() => {
    captured = [];
  });

  /** An HttpAgent whose runAgent() resolves once the run is stored (waiting, completed...), so the next request or read sees it. */
  const newAgent = () => {
    const agent = new HttpAgent({ url, threadId: randomUUID(), fetch: (i: string, init: RequestInit) => teeFetch(captured)(i, init) });
    const runAgent = agent.runAgent.bind(agent);
    agent.runAgent = async (...args) => {
      const result = await runAgent(...args);
      await settled(agent.threadId);
      return result;
    };
    return agent;
  };
  const sound = (i = captured.length - 1) => {
    const c = captured[i];
    assert.deepEqual(agUiStreamProblems(c.events, { threadId: c.body.threadId, runId: c.body.runId }), []);
    return c.events;
  };

  /** First request: the model calls current_time (ask); returns the approval request the stream announced. */
  async function askForTime(agent: HttpAgent, toolCallId: string): Promise<{ approvalId: string; pending: string[] }> {
    app.fake.enqueue({ content: [{ type: 'tool_use', id: toolCallId, name: 'current_time', input: {} }] });
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
    const waiting = await app.server.store.runs.latestWaiting(agent.threadId);
    assert.equal(waiting?.status, 'waiting');

    agent.addMessage({ id: randomUUID(), role: 'tool', toolCallId: 'toolu_ag_yes', content: JSON.stringify({ approved: true }) });
    app.fake.enqueue({ content: [{ type: 'text', text: 'It is noon.' }] });
    const { newMessages } = await agent.runAgent();
    const events = sound();
    const result = events.find((e) => e.type === 'TOOL_CALL_RESULT');
    assert.equal(result.toolCallId, 'toolu_ag_yes');
    assert.match(result.content, /\d{4}-\d{2}-\d{2}T/);
    assert.equal(events.at(-1).type, 'RUN_FINISHED');
    assert.ok(newMessages.some((m) => m.role === 'assistant' && m.content === 'It is noon.'));

    const seen = app.fake.requests[1].body.messages.at(-1).content[0];
    assert.equal(seen.tool_use_id, 'toolu_ag_yes');
    assert.ok(!seen.is_error);
    const run = await app.server.store.runs.get(waiting!.id);
    assert.equal(run?.status, 'completed', 'the waiting run continued');
  });

  it('deny with a reason ("deny: …"): the model is told and the tool never runs', async () => {
    const agent = newAgent();
    await askForTime(agent, 'toolu_ag_no');
    agent.addMessage({ id: randomUUID(), role: 'tool', toolCallId: 'toolu_ag_no', content: 'deny: not now' });
    app.fake.enqueue({ content: [{ type: 'text', text: 'Okay.' }] });
    await agent.runAgent();
    const events = sound();
    assert.equal(events.find((e) => e.type === 'TOOL_CALL_RESULT').content, 'The user denied this tool call: not now');
    const seen = app.fake.requests[1].body.messages.at(-1).content[0];
    assert.deepEqual([seen.tool_use_id, seen.is_error, seen.content], ['toolu_ag_no', true, 'The user denied this tool call: not now']);

    // The conversation goes on normally afterwards (the decision message is not taken again).
    agent.addMessage({ id: randomUUID(), role: 'user', content: 'thanks' });
    app.fake.enqueue({ content: [{ type: 'text', text: 'Welcome.' }] });
    await agent.runAgent();
    sound();
    const last = app.fake.requests[2].body.messages;
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
    const waiting = await app.server.store.runs.latestWaiting(agent.threadId);
    assert.equal(waiting?.status, 'waiting');
    assert.ok(waiting!.pending!.approvals.every((a) => !a.decision));
  });
});
