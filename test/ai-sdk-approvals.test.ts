import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { DefaultChatTransport, lastAssistantMessageIsCompleteWithApprovalResponses, type UIMessage } from 'ai';
import { plain, TestChat, textOf } from './helpers/ai-chat.js';
import { dialects } from './helpers/databases.js';
import { postJson, waitFor } from './helpers/http.js';
import { useServer } from './helpers/setup.js';

const AGENTS = { agents: { assistant: { system: 'You help.', tools: { current_time: 'ask' } } } };

for (const dialect of dialects()) describe(`AI SDK tool approvals (real ai@6 chat engine, addToolApprovalResponse) [${dialect}]`, () => {
  const app = useServer({ dialect, agents: AGENTS });
  let base: string;
  let n = 0;

  before(() => {
    base = `${app.url}/v1/ai-sdk/agents/assistant`;
  });

  const newChat = () =>
    new TestChat({
      id: `appr-chat-${++n}-${Date.now()}`,
      transport: new DefaultChatTransport<UIMessage>({ api: `${base}/runs` }),
      sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithApprovalResponses,
    });
  /** The stream ends with the terminal event and the run is committed just after it: wait until the chat has no queued or running run. */
  const settled = (chatId: string) => waitFor(async () => (await app.server.store.runs.latestActive(chatId)) === undefined, 10_000, 'the run to be stored');
  const toolPart = (m: UIMessage | undefined) => plain(m?.parts.find((p) => p.type === 'tool-current_time'));

  for (const approved of [true, false]) {
    it(approved ? 'approve: the tool runs and the same assistant message goes on' : 'deny: the model is told and the part ends output-denied', async () => {
      app.fake.enqueue({ content: [{ type: 'tool_use', id: `toolu_ai_${approved}`, name: 'current_time', input: {} }] }, { content: [{ type: 'text', text: approved ? 'It is noon.' : 'Fine, no clock.' }] });
      const chat = newChat();
      await chat.sendMessage({ text: 'what time is it?' });
      await waitFor(() => chat.status === 'ready' && toolPart(chat.messages.at(-1))?.state === 'approval-requested', 10_000, 'the approval request');
      await settled(chat.id);
      const asked = toolPart(chat.messages.at(-1));
      assert.equal(asked.toolCallId, `toolu_ai_${approved}`);
      const run = await app.server.store.runs.latestWaiting(chat.id);
      assert.equal(run?.status, 'waiting');
      assert.equal(asked.approval.id, run!.pending!.approvals[0].approval_id, 'the client got the server approval id');
      assert.equal(app.fake.requests.length, 1);
      // A reloaded page gets the same part back, still asking.
      const hydrated = await (await fetch(`${base}/chats/${chat.id}/messages`)).json();
      const again = hydrated.messages.at(-1).parts.find((p: any) => p.type === 'tool-current_time');
      assert.deepEqual([again.state, again.approval], ['approval-requested', { id: asked.approval.id }]);

      await chat.addToolApprovalResponse({ id: asked.approval.id, approved, ...(approved ? {} : { reason: 'no clocks today' }) });
      await waitFor(() => chat.status === 'ready' && app.fake.requests.length === 2 && textOf(chat.messages.at(-1)) !== '', 10_000, 'the continued answer');

      assert.equal(chat.messages.length, 2, 'one assistant message across the pause');
      const answer = chat.messages[1];
      assert.equal(textOf(answer), approved ? 'It is noon.' : 'Fine, no clock.');
      const part = toolPart(answer);
      assert.equal(part.state, approved ? 'output-available' : 'output-denied');
      if (approved) assert.match(JSON.stringify(part.output), /\d{4}-\d{2}-\d{2}T/);
      assert.equal(chat.error, undefined);

      const seen = app.fake.requests[1].body.messages.at(-1).content[0];
      assert.equal(seen.tool_use_id, `toolu_ai_${approved}`);
      if (approved) assert.ok(!seen.is_error);
      else assert.deepEqual([seen.is_error, seen.content], [true, 'The user denied this tool call: no clocks today']);

      await settled(chat.id);
      const after = await app.server.store.runs.get(run!.id);
      assert.equal(after?.status, 'completed', 'the same run continued and completed');
      assert.equal(after?.pending, null);
    });
  }

  it('a request that answers only some approvals is a 400 and changes nothing', async () => {
    app.fake.enqueue({
      content: [
        { type: 'tool_use', id: 'toolu_p1', name: 'current_time', input: {} },
        { type: 'tool_use', id: 'toolu_p2', name: 'current_time', input: { timezone: 'UTC' } },
      ],
    });
    const chat = newChat();
    await chat.sendMessage({ text: 'two clocks' });
    await waitFor(() => chat.status === 'ready' && chat.messages.at(-1)?.parts.filter((p: any) => p.state === 'approval-requested').length === 2, 10_000, 'two approval requests');
    await settled(chat.id);
    const msg = plain(chat.messages.at(-1));
    const first = msg.parts.find((p: any) => p.toolCallId === 'toolu_p1');
    first.state = 'approval-responded';
    first.approval = { ...first.approval, approved: true };
    const res = await postJson(`${base}/runs`, { id: chat.id, trigger: 'submit-message', messages: [plain(chat.messages[0]), msg] });
    assert.equal(res.status, 400);
    assert.match(res.body.error, /every pending approval needs a response/);
    const run = await app.server.store.runs.latestWaiting(chat.id);
    assert.ok(run!.pending!.approvals.every((a) => !a.decision), 'no decision was stored');
    assert.equal(app.fake.requests.length, 1);
  });
});
