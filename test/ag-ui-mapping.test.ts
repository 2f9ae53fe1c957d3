import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunEvent } from '../contracts/events.js';
import { AgUiEvent as AgUiEventContract } from '../contracts/ag-ui.js';
import { EventEncoder } from '@ag-ui/encoder';
import { agUiFrame } from '../src/protocols/ag-ui/frame.js';
import { AgUiMapper, toAgUiEvents } from '../src/protocols/ag-ui/mapper.js';
import { toAgUiMessages } from '../src/protocols/ag-ui/history.js';
import { agUiStreamProblems } from './helpers/ag-ui.js';
import { eventScripts } from './helpers/event-scripts.js';

const ids = { threadId: 't-1', runId: 'r-1' };
const usage = { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 3, cache_creation_input_tokens: 2 };
const scripts = eventScripts({ ...ids, usage });
const { started } = scripts;
const finished = (status: 'completed' | 'waiting' | 'cancelled' = 'completed'): RunEvent => scripts.finished({ status });
const map = (events: RunEvent[]) => toAgUiEvents(events, { ...ids, model: 'claude-test' }) as any[];
const types = (events: any[]) => events.map((e) => e.type);

function sound(events: any[]): void {
  assert.deepEqual(agUiStreamProblems(events, ids), []);
  // And each is one of the events the contract documents.
  for (const e of events) assert.ok(AgUiEventContract.safeParse(e).success, `${e.type} is not in contracts/ag-ui.ts AgUiEvent`);
}

describe('AG-UI mapping (canonical → AG-UI events)', () => {
  it('maps a text reply: ids echoed, one assistant message per step with the stored turn id, usage', () => {
    const out = map(scripts.textReply('msg_1', ['Hello ', 'world']));
    sound(out);
    assert.deepEqual(out, [
      { type: 'RUN_STARTED', threadId: 't-1', runId: 'r-1', protocolVersion: '1.0' },
      { type: 'STEP_STARTED', stepName: 'step-1' },
      { type: 'TEXT_MESSAGE_START', messageId: 'msg_1', role: 'assistant' },
      { type: 'TEXT_MESSAGE_CONTENT', messageId: 'msg_1', delta: 'Hello ' },
      { type: 'TEXT_MESSAGE_CONTENT', messageId: 'msg_1', delta: 'world' },
      { type: 'TEXT_MESSAGE_END', messageId: 'msg_1' },
      { type: 'STEP_FINISHED', stepName: 'step-1' },
      {
        type: 'RUN_FINISHED',
        threadId: 't-1',
        runId: 'r-1',
        outcome: { type: 'success' },
        usage: [{ provider: 'anthropic', model: 'claude-test', inputTokens: 15, outputTokens: 5, totalTokens: 20, cachedInputTokens: 3, cacheWriteInputTokens: 2 }],
      },
    ]);
  });

  it('maps server tool calls with results, and lists unanswered (frontend) calls as pending', () => {
    const out = map(
      scripts.toolRun({
        messageId: 'msg_1',
        calls: [
          { id: 'toolu_srv', name: 'current_time', input: { timezone: 'UTC' }, argDeltas: ['{"timezone":', '"UTC"}'], output: '{"utc":"x"}' },
          { id: 'toolu_fe', name: 'change_color', input: { color: 'red' } },
        ],
        finished: { status: 'waiting' },
      }),
    );
    sound(out);
    assert.deepEqual(out.slice(2, 9), [
      { type: 'TOOL_CALL_START', toolCallId: 'toolu_srv', toolCallName: 'current_time', parentMessageId: 'msg_1' },
      { type: 'TOOL_CALL_ARGS', toolCallId: 'toolu_srv', delta: '{"timezone":' },
      { type: 'TOOL_CALL_ARGS', toolCallId: 'toolu_srv', delta: '"UTC"}' },
      { type: 'TOOL_CALL_END', toolCallId: 'toolu_srv' },
      { type: 'TOOL_CALL_START', toolCallId: 'toolu_fe', toolCallName: 'change_color', parentMessageId: 'msg_1' },
      // No argument deltas streamed: the parsed input is sent as one ARGS.
      { type: 'TOOL_CALL_ARGS', toolCallId: 'toolu_fe', delta: '{"color":"red"}' },
      { type: 'TOOL_CALL_END', toolCallId: 'toolu_fe' },
    ]);
    assert.deepEqual(out.find((e) => e.type === 'TOOL_CALL_RESULT'), { type: 'TOOL_CALL_RESULT', messageId: 'toolu_srv_result', toolCallId: 'toolu_srv', content: '{"utc":"x"}', role: 'tool' });
    assert.deepEqual(out.at(-1).outcome, { type: 'success', pendingToolCallIds: ['toolu_fe'] });
  });

  it('frames every event exactly as @ag-ui/encoder does (deltas with quotes, newlines and non-ASCII included)', () => {
    const events = [
      ...map(scripts.textReply('msg_1', ['Hé "quoted" ', 'line\nbreak ☕', '\u2028 end'])),
      ...map(scripts.reasoningReply('msg_2', 'Think "hard"\n', 'sig', 'Done ✓')),
      ...map(scripts.toolRun({ messageId: 'msg_3', calls: [{ id: 'toolu_1', name: 'current_time', input: { tz: 'Europe/Zürich' }, argDeltas: ['{"tz":', '"Europe/Zürich"}'], output: '{"utc":"x"}' }], finished: { status: 'waiting' } })),
    ];
    const encoder = new EventEncoder();
    const deltas = events.filter((e) => ['TEXT_MESSAGE_CONTENT', 'REASONING_MESSAGE_CONTENT', 'TOOL_CALL_ARGS'].includes(e.type));
    assert.ok(deltas.length >= 6, `${deltas.length} deltas`);
    for (const e of events) assert.equal(agUiFrame(e), encoder.encodeSSE(e), e.type);
  });

  it('maps reasoning to a reasoning span with one reasoning message (its own id), signature kept back', () => {
    const out = map(scripts.reasoningReply('msg_1', 'Thinking', 'sig', 'Done'));
    sound(out);
    assert.deepEqual(types(out).slice(2, 7), ['REASONING_START', 'REASONING_MESSAGE_START', 'REASONING_MESSAGE_CONTENT', 'REASONING_MESSAGE_END', 'REASONING_END']);
    assert.deepEqual(out[3], { type: 'REASONING_MESSAGE_START', messageId: 'msg_1_0', role: 'reasoning' });
    assert.ok(!JSON.stringify(out).includes('sig"'), 'the thinking signature is not sent');
  });

  it('reopens the step message for a second text block, after a blank line', () => {
    const out = map([
      started,
      { type: 'step.started', step: 1, message_id: 'm' },
      { type: 'text.start', id: 'm_0' },
      { type: 'text.delta', id: 'm_0', delta: 'One.' },
      { type: 'text.end', id: 'm_0' },
      { type: 'text.start', id: 'm_2' },
      { type: 'text.delta', id: 'm_2', delta: 'Two.' },
      { type: 'text.end', id: 'm_2' },
      { type: 'step.finished', step: 1, stop_reason: 'end_turn', usage },
      finished(),
    ]);
    sound(out);
    const text = out.filter((e) => e.type === 'TEXT_MESSAGE_CONTENT').map((e) => e.delta).join('');
    assert.equal(text, 'One.\n\nTwo.');
    assert.ok(out.filter((e) => e.messageId !== undefined).every((e) => e.messageId === 'm'));
    // The stored turn converts to the same message.
    assert.deepEqual(toAgUiMessages([{ id: 'm', role: 'assistant', content: [{ type: 'text', text: 'One.' }, { type: 'tool_use', id: 'x', name: 'n', input: {} }, { type: 'text', text: 'Two.' }] }])[0], {
      id: 'm',
      role: 'assistant',
      content: 'One.\n\nTwo.',
      toolCalls: [{ id: 'x', type: 'function', function: { name: 'n', arguments: '{}' } }],
    });
  });

  it('closes everything left open before RUN_ERROR, and emits nothing after a terminal event', () => {
    const mapper = new AgUiMapper(ids);
    const out = [
      started,
      { type: 'step.started', step: 1, message_id: 'm' },
      { type: 'reasoning.start', id: 'm_0' },
      { type: 'tool.call.start', id: 'toolu_1', name: 'x' },
      { type: 'text.start', id: 'm_1' },
      { type: 'text.delta', id: 'm_1', delta: 'partial' },
      scripts.modelError(),
    ].flatMap((e) => mapper.map(e as RunEvent)) as any[];
    sound(out);
    assert.equal(mapper.finished, true);
    const last = out.at(-1);
    assert.equal(last.type, 'RUN_ERROR');
    assert.equal(last.code, 'upstream_error');
    assert.match(last.message, /Overloaded/);
    assert.deepEqual(mapper.map(finished()), []);
    assert.deepEqual(mapper.map({ type: 'text.delta', id: 'm_1', delta: 'late' }), []);
  });

  it('maps a cancelled run to the cancelled outcome, closing the open step', () => {
    const out = map([started, { type: 'step.started', step: 1, message_id: 'm' }, { type: 'text.start', id: 'm_0' }, finished('cancelled')]);
    sound(out);
    assert.deepEqual(types(out).slice(-3), ['TEXT_MESSAGE_END', 'STEP_FINISHED', 'RUN_FINISHED']);
    assert.deepEqual(out.at(-1).outcome, { type: 'cancelled' });
  });

  it('maps state snapshots and RFC 6902 deltas', () => {
    const patch = [{ op: 'replace', path: '/count', value: 2 }, { op: 'add', path: '/items/-', value: 'x' }];
    const out = map([started, { type: 'state.snapshot', state: { count: 1, items: [] } }, { type: 'state.delta', patch }, finished()]);
    sound(out);
    assert.deepEqual(out[1], { type: 'STATE_SNAPSHOT', snapshot: { count: 1, items: [] } });
    assert.deepEqual(out[2], { type: 'STATE_DELTA', delta: patch });
  });

  it('announces an approval request as a custom event (tool_approval_requested)', () => {
    const out = map([started, { type: 'tool.approval.requested', id: 'toolu_1', approval_id: 'ap_1', name: 'shell', input: { cmd: 'ls' } }, finished('waiting')]);
    sound(out);
    assert.deepEqual(out[1], { type: 'CUSTOM', name: 'tool_approval_requested', value: { toolCallId: 'toolu_1', approvalId: 'ap_1', toolName: 'shell', input: { cmd: 'ls' } } });
  });
});

describe('AG-UI messages (stored turns → AG-UI)', () => {
  it('converts a conversation with reasoning, tool calls, results and errors in stream order', () => {
    const out = toAgUiMessages([
      { id: 'u1', role: 'user', content: [{ type: 'text', text: 'hi' }] },
      {
        id: 'a1',
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'hmm', signature: 's' },
          { type: 'text', text: 'Let me check.' },
          { type: 'tool_use', id: 'toolu_1', name: 'current_time', input: { timezone: 'UTC' } },
          { type: 'tool_use', id: 'toolu_2', name: 'nope', input: {} },
        ],
      },
      {
        id: 'r1',
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: 'noon' },
          { type: 'tool_result', tool_use_id: 'toolu_2', content: 'unknown tool: nope', is_error: true },
        ],
      },
      { id: 'u2', role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } }] },
    ]);
    assert.deepEqual(out, [
      { id: 'u1', role: 'user', content: 'hi' },
      { id: 'a1_0', role: 'reasoning', content: 'hmm' },
      {
        id: 'a1',
        role: 'assistant',
        content: 'Let me check.',
        toolCalls: [
          { id: 'toolu_1', type: 'function', function: { name: 'current_time', arguments: '{"timezone":"UTC"}' } },
          { id: 'toolu_2', type: 'function', function: { name: 'nope', arguments: '{}' } },
        ],
      },
      { id: 'toolu_1_result', role: 'tool', toolCallId: 'toolu_1', content: 'noon' },
      { id: 'toolu_2_result', role: 'tool', toolCallId: 'toolu_2', content: 'unknown tool: nope', error: 'unknown tool: nope' },
      {
        id: 'u2',
        role: 'user',
        content: [
          { type: 'text', text: 'look' },
          { type: 'image', source: { type: 'data', value: 'AAAA', mimeType: 'image/png' } },
        ],
      },
    ]);
  });
});
