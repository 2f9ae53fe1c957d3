import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { TaskState, type Task } from '@a2a-js/sdk';
import { ClientFactory, type Client } from '@a2a-js/sdk/client';
import { RequestMalformedError } from '@a2a-js/sdk/errors';
import { artifactText, asTask, collect, message, send } from './helpers/a2a.js';
import { dialects } from './helpers/databases.js';
import { useServer } from './helpers/setup.js';

const AGENTS = { agents: { assistant: { system: 'You help.', tools: { current_time: 'ask' } } } };

const dataParts = (t: Task) => (t.status?.message?.parts ?? []).flatMap((p) => (p.content?.$case === 'data' ? [p.content.value as any] : []));

for (const dialect of dialects()) describe(`A2A tool approvals (input-required, @a2a-js/sdk client) [${dialect}]`, () => {
  const app = useServer({ dialect, agents: AGENTS });
  let client: Client;

  before(async () => {
    client = await new ClientFactory().createFromUrl(app.url);
  });

  async function waitingTask(toolCallId: string): Promise<Task> {
    app.fake.enqueue({ content: [{ type: 'tool_use', id: toolCallId, name: 'current_time', input: {} }] });
    const task = asTask(await client.sendMessage(send(message('what time is it?'))));
    assert.equal(task.status?.state, TaskState.TASK_STATE_INPUT_REQUIRED);
    const [request] = dataParts(task);
    assert.equal(request.type, 'approval_request');
    assert.equal(request.id, toolCallId);
    assert.equal(request.name, 'current_time');
    assert.match(request.approval_id, /^appr_/);
    return task;
  }

  it('approve in the next message on the task: the same task works again and completes', async () => {
    const task = await waitingTask('toolu_a2a_yes');
    app.fake.enqueue({ content: [{ type: 'text', text: 'It is noon.' }] });
    const done = asTask(await client.sendMessage(send(message('approve', { taskId: task.id, contextId: task.contextId }))));
    assert.equal(done.id, task.id, 'the same task');
    assert.equal(done.status?.state, TaskState.TASK_STATE_COMPLETED);
    assert.equal(artifactText(done), 'It is noon.');
    const seen = app.fake.requests[1].body.messages.at(-1).content[0];
    assert.equal(seen.tool_use_id, 'toolu_a2a_yes');
    assert.ok(!seen.is_error);
    const got = await client.getTask({ tenant: '', id: task.id });
    assert.equal(got.status?.state, TaskState.TASK_STATE_COMPLETED);
  });

  it('deny with a data part over streaming: working → artifact → completed; the model is told why', async () => {
    const task = await waitingTask('toolu_a2a_no');
    const approvalId = dataParts(task)[0].approval_id;
    app.fake.enqueue({ content: [{ type: 'text', text: 'No clock then.' }] });
    const decision = { ...message(''), taskId: task.id, contextId: task.contextId, parts: [{ content: { $case: 'data' as const, value: { approval_id: approvalId, approved: false, reason: 'privacy' } }, metadata: undefined, filename: '', mediaType: 'application/json' }] };
    const events = await collect(client.sendMessageStream(send(decision)));
    const states = events.flatMap((e) => (e.payload?.$case === 'statusUpdate' ? [e.payload.value.status?.state] : e.payload?.$case === 'task' ? [e.payload.value.status?.state] : []));
    assert.ok(states.includes(TaskState.TASK_STATE_WORKING), `working again (${states.join(',')})`);
    assert.equal(states.at(-1), TaskState.TASK_STATE_COMPLETED);
    assert.ok(events.every((e) => (e.payload?.value as any).taskId === task.id || (e.payload?.value as any).id === task.id), 'every event is about the same task');
    const seen = app.fake.requests[1].body.messages.at(-1).content[0];
    assert.deepEqual([seen.is_error, seen.content], [true, 'The user denied this tool call: privacy']);
  });

  it('a message that is not a decision is invalid params, and the task keeps waiting', async () => {
    const task = await waitingTask('toolu_a2a_bad');
    await assert.rejects(client.sendMessage(send(message('what do you think?', { taskId: task.id, contextId: task.contextId }))), (e) => e instanceof RequestMalformedError);
    const got = await client.getTask({ tenant: '', id: task.id });
    assert.equal(got.status?.state, TaskState.TASK_STATE_INPUT_REQUIRED);
    assert.equal(app.fake.requests.length, 1);
  });
});
