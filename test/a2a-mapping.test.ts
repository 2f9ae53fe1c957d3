import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Role, TaskState, type Task } from '@a2a-js/sdk';
import { ContentTypeNotSupportedError, RequestMalformedError } from '@a2a-js/sdk/errors';
import { AgentEvent, InMemoryTaskStore, ResultManager, ServerCallContext } from '@a2a-js/sdk/server';
import type { RunStatus } from '../contracts/common.js';
import type { RunEvent } from '../contracts/events.js';
import {
  A2aEventMapper,
  applyUpdate,
  compactTask,
  dataPart,
  deriveTask,
  isFinalUpdate,
  taskStateOf,
  textPart,
  type A2aUpdate,
  type DeriveInput,
} from '../src/protocols/a2a/mapper.js';
import { contentFromParts } from '../src/protocols/a2a/input.js';
import { userMessageFromContent } from '../src/protocols/a2a/history.js';
import { agentCard, serverCard } from '../src/protocols/a2a/card.js';
import type { Agent } from '../src/agents.js';
import { eventScripts } from './helpers/event-scripts.js';

const ids = { taskId: 'run_1', contextId: 'thread_1' };
const usage = { input_tokens: 1, output_tokens: 1, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };

/** A run that reasons and calls a tool, then answers in two text deltas. */
const EVENTS: RunEvent[] = eventScripts({ runId: 'run_1', threadId: 'thread_1', usage }).toolRun({
  messageId: 'msg_a',
  reasoning: ['hmm'],
  calls: [{ id: 'toolu_1', name: 'current_time', input: {}, argDeltas: ['{}'], output: '{"utc":"x"}' }],
  then: { messageId: 'msg_b', text: ['It is ', 'noon.'] },
});

const mapAll = (events: RunEvent[]) => {
  const m = new A2aEventMapper(ids);
  return events.flatMap((e) => m.map(e));
};

const describeUpdate = (u: A2aUpdate) =>
  u.kind === 'statusUpdate'
    ? `status:${TaskState[u.data.status!.state]}${u.data.status?.message ? `(${u.data.status.message.messageId})` : ''}`
    : `artifact:${u.data.artifact!.artifactId}:${JSON.stringify((u.data.artifact!.parts[0].content as { value: string }).value)}:${u.data.append ? 'append' : 'new'}${u.data.lastChunk ? ':last' : ''}`;

function input(over: Partial<DeriveInput> = {}): DeriveInput {
  return {
    ...ids,
    agentId: 'assistant',
    runStatus: 'completed',
    live: false,
    output: 'It is noon.',
    error: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    startedAt: '2026-01-01T00:00:01.000Z',
    finishedAt: '2026-01-01T00:00:02.000Z',
    userMessages: [userMessageFromContent(ids, 'msg_user', [{ type: 'text', text: 'time?' }])!],
    events: EVENTS,
    ...over,
  };
}

describe('A2A mapping of canonical events', () => {
  it('maps run statuses to task states', () => {
    const table: Record<RunStatus, TaskState> = {
      queued: TaskState.TASK_STATE_SUBMITTED,
      running: TaskState.TASK_STATE_WORKING,
      waiting: TaskState.TASK_STATE_INPUT_REQUIRED,
      completed: TaskState.TASK_STATE_COMPLETED,
      failed: TaskState.TASK_STATE_FAILED,
      cancelled: TaskState.TASK_STATE_CANCELED,
      timed_out: TaskState.TASK_STATE_FAILED,
      interrupted: TaskState.TASK_STATE_FAILED,
    };
    for (const [status, state] of Object.entries(table)) assert.equal(taskStateOf(status as RunStatus), state, status);
  });

  it('working once, tool call/result messages, text as artifact chunks, the answer in the final status', () => {
    assert.deepEqual(mapAll(EVENTS).map(describeUpdate), [
      'status:TASK_STATE_WORKING',
      'status:TASK_STATE_WORKING(toolu_1-call)',
      'status:TASK_STATE_WORKING(toolu_1-result)',
      'artifact:msg_b_0:"It is ":new',
      'artifact:msg_b_0:"noon.":append',
      'artifact:msg_b_0:"":append:last',
      'status:TASK_STATE_COMPLETED(msg_b)',
    ]);
    const updates = mapAll(EVENTS);
    for (const u of updates) {
      const v = u.data as { taskId: string; contextId: string };
      assert.deepEqual([v.taskId, v.contextId], ['run_1', 'thread_1']);
    }
    assert.deepEqual(updates.map(isFinalUpdate), [false, false, false, false, false, false, true]);
    const call = updates[1].kind === 'statusUpdate' ? updates[1].data.status!.message! : undefined;
    assert.equal(call?.role, Role.ROLE_AGENT);
    assert.deepEqual(call?.parts, [dataPart({ type: 'tool_call', id: 'toolu_1', name: 'current_time', input: {} })]);
  });

  it('empty text blocks produce no artifact; separate blocks are separate artifacts', () => {
    const u = mapAll([
      { type: 'text.start', id: 't0' },
      { type: 'text.end', id: 't0' },
      { type: 'text.start', id: 't1' },
      { type: 'text.delta', id: 't1', delta: 'a' },
      { type: 'text.end', id: 't1' },
      { type: 'text.start', id: 't2' },
      { type: 'text.delta', id: 't2', delta: 'b' },
      { type: 'text.end', id: 't2' },
    ]);
    assert.deepEqual(u.map(describeUpdate), ['artifact:t1:"a":new', 'artifact:t1:"":append:last', 'artifact:t2:"b":new', 'artifact:t2:"":append:last']);
  });

  it('final statuses: failed (with code), canceled, input-required (what the run waits on)', () => {
    const failed = mapAll([{ type: 'run.error', status: 'timed_out', code: 'timeout', message: 'the run exceeded its timeout', usage }]);
    assert.equal(describeUpdate(failed[0]), 'status:TASK_STATE_FAILED(run_1-error)');
    const fm = failed[0].kind === 'statusUpdate' ? failed[0].data.status!.message! : undefined;
    assert.deepEqual(fm?.parts, [textPart('the run exceeded its timeout')]);
    assert.deepEqual(fm?.metadata, { code: 'timeout', status: 'timed_out' });

    const cancelled = mapAll([{ type: 'run.finished', status: 'cancelled', output: '', stop_reason: 'cancelled', usage, tool_calls: [] }]);
    assert.equal(describeUpdate(cancelled[0]), 'status:TASK_STATE_CANCELED(run_1-canceled)');

    const waiting = mapAll([
      { type: 'step.started', step: 1, message_id: 'msg_w' },
      { type: 'tool.call.end', id: 'toolu_c', name: 'ask_user', input: { q: 1 } },
      { type: 'tool.approval.requested', id: 'toolu_d', approval_id: 'appr_1', name: 'delete', input: {} },
      { type: 'run.finished', status: 'waiting', output: '', stop_reason: 'tool_use', usage, tool_calls: [] },
    ]);
    const last = waiting.at(-1)!;
    assert.equal(describeUpdate(last), 'status:TASK_STATE_INPUT_REQUIRED(msg_w-input-required)');
    assert.ok(isFinalUpdate(last), 'input-required ends the stream');
    const parts = last.kind === 'statusUpdate' ? last.data.status!.message!.parts : [];
    assert.deepEqual(parts.slice(1), [
      dataPart({ type: 'tool_call', id: 'toolu_c', name: 'ask_user', input: { q: 1 } }),
      dataPart({ type: 'approval_request', id: 'toolu_d', approval_id: 'appr_1', name: 'delete', input: {} }),
    ]);

    const silent = mapAll([{ type: 'run.finished', status: 'completed', output: '', stop_reason: 'end_turn', usage, tool_calls: [] }]);
    assert.equal(describeUpdate(silent[0]), 'status:TASK_STATE_COMPLETED', 'no message without an answer');
  });
});

describe('A2A task derived from a run', () => {
  it('is the fold of the mapped updates over the user turns, with artifact text compacted', async () => {
    const { task } = deriveTask(input());
    assert.equal(task.id, 'run_1');
    assert.equal(task.contextId, 'thread_1');
    assert.deepEqual(task.metadata, { agentId: 'assistant' });
    assert.equal(task.status?.state, TaskState.TASK_STATE_COMPLETED);
    assert.equal(task.status?.timestamp, '2026-01-01T00:00:02.000Z');
    assert.deepEqual(task.artifacts, [{ artifactId: 'msg_b_0', name: 'response', description: '', parts: [textPart('It is noon.')], metadata: undefined, extensions: [] }]);
    assert.deepEqual(task.history.map((m) => [m.role, m.messageId]), [
      [Role.ROLE_USER, 'msg_user'],
      [Role.ROLE_AGENT, 'toolu_1-call'],
      [Role.ROLE_AGENT, 'toolu_1-result'],
      [Role.ROLE_AGENT, 'msg_b'],
    ]);

    // What the SDK's own ResultManager builds from the live updates is the same task.
    const rm = new ResultManager(new InMemoryTaskStore(), new ServerCallContext());
    const initial = deriveTask(input({ live: true, events: EVENTS.slice(0, 1) })).task;
    await rm.processEvent(AgentEvent.task(initial));
    for (const u of mapAll(EVENTS.slice(1))) await rm.processEvent(u.kind === 'statusUpdate' ? AgentEvent.statusUpdate(u.data) : AgentEvent.artifactUpdate(u.data));
    const built = rm.getCurrentTask()!;
    assert.equal(built.artifacts[0].parts.length, 3, 'the SDK keeps each chunk as a part');
    const strip = (t: Task) => ({ ...compactTask(t), status: { ...t.status!, timestamp: undefined } });
    assert.deepEqual(strip(built), strip(task));
  });

  it('a live prefix plus the mapper continuing over the rest equals the whole fold', () => {
    for (let cut = 0; cut <= EVENTS.length; cut++) {
      const { task, mapper } = deriveTask(input({ live: true, events: EVENTS.slice(0, cut) }));
      for (const e of EVENTS.slice(cut)) for (const u of mapper.map(e)) applyUpdate(task, u);
      const whole = deriveTask(input({ live: true })).task;
      assert.deepEqual({ ...task, status: { ...task.status!, timestamp: undefined } }, { ...whole, status: { ...whole.status!, timestamp: undefined } }, `cut at ${cut}`);
    }
  });

  it('while live: submitted, then working; the stored status is not consulted', () => {
    assert.equal(deriveTask(input({ live: true, runStatus: 'completed', events: EVENTS.slice(0, 1) })).task.status?.state, TaskState.TASK_STATE_SUBMITTED);
    assert.equal(deriveTask(input({ live: true, runStatus: 'queued', events: EVENTS.slice(0, 3) })).task.status?.state, TaskState.TASK_STATE_WORKING);
  });

  it('once ended, the stored status wins: an orphan marked interrupted, a waiting run cancelled since', () => {
    const orphan = deriveTask(input({ runStatus: 'interrupted', error: { code: 'interrupted', message: 'the server stopped' }, events: EVENTS.slice(0, 4) })).task;
    assert.equal(orphan.status?.state, TaskState.TASK_STATE_FAILED);
    assert.deepEqual(orphan.status?.message?.parts, [textPart('the server stopped')]);

    const waitingEvents: RunEvent[] = [...EVENTS.slice(0, 2), { type: 'run.finished', status: 'waiting', output: '', stop_reason: 'tool_use', usage, tool_calls: [] }];
    assert.equal(deriveTask(input({ runStatus: 'waiting', events: waitingEvents })).task.status?.state, TaskState.TASK_STATE_INPUT_REQUIRED);
    const cancelled = deriveTask(input({ runStatus: 'cancelled', events: waitingEvents })).task;
    assert.equal(cancelled.status?.state, TaskState.TASK_STATE_CANCELED);
    assert.equal(cancelled.history.at(-1)?.messageId, 'run_1-canceled');
  });
});

describe('A2A message parts ⇄ model content', () => {
  const part = (content: any, mediaType = '', filename = '') => ({ content, metadata: undefined, filename, mediaType });

  it('text, data, images, PDFs and text files become content blocks', () => {
    const png = Buffer.from([137, 80, 78, 71]);
    assert.deepEqual(
      contentFromParts([
        part({ $case: 'text', value: 'hello' }),
        part({ $case: 'text', value: '  ' }),
        part({ $case: 'data', value: { a: 1 } }, 'application/json'),
        part({ $case: 'raw', value: png }, 'image/png'),
        part({ $case: 'raw', value: Buffer.from('%PDF') }, 'application/pdf'),
        part({ $case: 'raw', value: Buffer.from('col\n1') }, 'text/csv', 'a.csv'),
        part({ $case: 'url', value: 'https://x/cat.jpg' }, 'image/jpeg'),
        part({ $case: 'url', value: 'https://x/a.zip' }, 'application/zip', 'a.zip'),
      ]),
      [
        { type: 'text', text: 'hello' },
        { type: 'text', text: '{"a":1}' },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png.toString('base64') } },
        { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: Buffer.from('%PDF').toString('base64') } },
        { type: 'text', text: 'a.csv:\ncol\n1' },
        { type: 'image', source: { type: 'url', url: 'https://x/cat.jpg' } },
        { type: 'text', text: '[file a.zip (application/zip): https://x/a.zip]' },
      ],
    );
  });

  it('refuses unsupported file bytes and empty messages', () => {
    assert.throws(() => contentFromParts([part({ $case: 'raw', value: Buffer.from('x') }, 'application/zip')]), (e) => e instanceof ContentTypeNotSupportedError);
    assert.throws(() => contentFromParts([part({ $case: 'text', value: ' ' })]), (e) => e instanceof RequestMalformedError);
    assert.throws(() => contentFromParts([]), (e) => e instanceof RequestMalformedError);
  });

  it('stored user turns read back as user messages; tool-result-only turns are not user messages', () => {
    const m = userMessageFromContent(ids, 'msg_1', [
      { type: 'text', text: 'look' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAEC' } },
    ])!;
    assert.equal(m.role, Role.ROLE_USER);
    assert.deepEqual([m.messageId, m.taskId, m.contextId], ['msg_1', 'run_1', 'thread_1']);
    assert.deepEqual(m.parts[0], textPart('look'));
    assert.equal(m.parts[1].mediaType, 'image/png');
    assert.deepEqual(m.parts[1].content, { $case: 'raw', value: Buffer.from('AAEC', 'base64') });
    assert.equal(userMessageFromContent(ids, 'msg_2', [{ type: 'tool_result', tool_use_id: 't', content: 'x' }]), null);
  });
});

describe('A2A agent cards', () => {
  const agents: Agent[] = [
    { id: 'assistant', name: 'Assistant', description: 'Helps.', model: 'm', maxSteps: 1, maxTokens: 1, tools: [] },
    { id: 'r&d', name: 'R&D', description: '', model: 'm', maxSteps: 1, maxTokens: 1, tools: [] },
  ];

  it('server card: every agent a skill, streaming, JSON-RPC v1.0 and v0.3 at /v1/a2a', () => {
    const card = serverCard('https://h.example', agents);
    assert.deepEqual(card.skills.map((s) => [s.id, s.name, s.description, s.tags]), [
      ['assistant', 'Assistant', 'Helps.', ['agent']],
      ['r&d', 'R&D', 'R&D', ['agent']],
    ]);
    assert.equal(card.capabilities?.streaming, true);
    assert.equal(card.capabilities?.pushNotifications, false);
    assert.deepEqual(card.supportedInterfaces.map((i) => `${i.protocolBinding} ${i.protocolVersion} ${i.url}`), ['JSONRPC 1.0 https://h.example/v1/a2a', 'JSONRPC 0.3 https://h.example/v1/a2a']);
    assert.match(card.version, /^\d+\.\d+\.\d+/);
  });

  it('agent card: one skill, the agent’s own endpoint (id URL-encoded)', () => {
    const card = agentCard('https://h.example', agents[1]);
    assert.equal(card.name, 'R&D');
    assert.deepEqual(card.skills.map((s) => s.id), ['r&d']);
    assert.equal(card.supportedInterfaces[0].url, 'https://h.example/v1/a2a/agents/r%26d');
  });
});
